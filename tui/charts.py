"""Charts where a picture says more than a table: each tool's metric over the grid, overhead,
and the large-data curves (seconds and peak memory against rows, `large_data_chart`).

Laid out by width: one chart per row below `TWO_COLUMNS` columns, two side by side from
there, so each chart is at least ~38 columns wide; the rows share the view's height when each
gets `MIN_HEIGHT` lines, else each row is the view's height and the view scrolls. Series are
told apart by marker and legend as well as colour, and every axis names its unit. Values
that are not finite numbers (a NaN R2 on a constant target) are left out of the plot rather
than breaking it; the runner pane lists them as ``nan``. The plots (and plotext) are created
the first time the charts are shown, not at start.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mlops_compare.results import ACTIVE, RunRecord
from mlops_compare.tui.sanitize import clean
from textual.containers import Container

if TYPE_CHECKING:
    from textual_plotext import PlotextPlot

METRIC_NAMES = ("rmse", "mae", "r2")
METRIC_UNITS = {"rmse": "rmse (target's unit)", "mae": "mae (target's unit)", "r2": "r2 (no unit, 1 = perfect)"}
MARKERS = ("●", "x", "+", "o", "*", "#")
TWO_COLUMNS = 120  # columns from which two charts sit side by side (each then >= 60 wide)
MIN_HEIGHT = 14  # lines per chart at least: below that a log axis has no room for its ticks


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def chart_records(evidence, live: dict[str, RunRecord]) -> dict[str, RunRecord]:
    """What the charts draw per tool: each check from the newest run in which it ran and the metrics
    of the newest run with the grid (as scores are made, `evidence.Evidence`), then what the
    runner panes hold now for a tool that is running (*live*) laid over it."""
    import dataclasses

    out: dict[str, RunRecord] = {}
    for tool, found in evidence.tools.items() if evidence is not None else ():
        if found.latest is None:
            continue
        grid = found.grid_record
        checks = {**found.latest.checks, **{cid: m.check for cid, m in found.checks.items()}}
        out[tool] = dataclasses.replace(
            found.latest, checks=checks, metrics=grid.metrics if grid is not None else found.latest.metrics
        )
    for tool, record in live.items():
        if record.status in ACTIVE or tool not in out:
            out[tool] = record
    return out


def layout_for(width: int, height: int, charts: int) -> tuple[int, int]:
    """(columns, lines per chart row) for a view of *width* x *height* holding *charts* charts."""
    columns = 2 if width >= TWO_COLUMNS else 1
    rows = max(1, math.ceil(charts / columns))
    if height // rows >= MIN_HEIGHT:
        return columns, height // rows  # every row fits
    return columns, max(MIN_HEIGHT, height)  # one row per screen, the view scrolls


class ChartsView(Container):
    DEFAULT_CSS = """
    ChartsView {
        layout: grid;
        grid-size: 1;
        grid-rows: 14;
        grid-gutter: 0 1;
        overflow-y: auto;
    }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metric = "rmse"
        self.records: dict[str, RunRecord] = {}
        self._plots_mounted = False

    def on_resize(self) -> None:
        self._lay_out()

    def _lay_out(self) -> None:
        from textual_plotext import PlotextPlot

        columns, lines = layout_for(self.size.width, self.size.height, len(self.query(PlotextPlot)))
        self.styles.grid_size_columns = columns
        self.styles.grid_rows = str(lines)

    def _plots(self) -> bool:
        """Mount the two plots once; True when they are ready to draw on."""
        if not self._plots_mounted:
            from textual_plotext import PlotextPlot

            self._plots_mounted = True
            self.mount(PlotextPlot(classes="metric-chart"), PlotextPlot(classes="overhead-chart"))
            self._lay_out()
            self.call_after_refresh(self.show, self.records)
            return False
        return bool(self.query(".overhead-chart"))

    def next_metric(self) -> str:
        self.metric = METRIC_NAMES[(METRIC_NAMES.index(self.metric) + 1) % len(METRIC_NAMES)]
        self.show(self.records)
        return self.metric

    def show(self, records: dict[str, RunRecord]) -> None:
        self.records = dict(records)
        if self._plots():
            self._metric_chart()
            self._overhead_chart()
            self._scale_chart()

    def _scale_chart(self) -> None:
        """The large-data curves (`tui/large_data_chart.py`): seconds and peak memory, two charts mounted
        once a run has measured them."""
        from mlops_compare.tui import large_data_chart as scale_chart

        if not self.query(".scale-chart"):
            if not scale_chart.series(self.records).empty:
                from textual_plotext import PlotextPlot

                self.mount(
                    PlotextPlot(classes="scale-chart -seconds"),
                    PlotextPlot(classes="scale-chart -memory"),
                )
                self._lay_out()
                self.call_after_refresh(self.show, self.records)
            return
        for widget, draw in (
            (self._plot(".scale-chart.-seconds"), scale_chart.draw_seconds),
            (self._plot(".scale-chart.-memory"), scale_chart.draw_memory),
        ):
            draw(widget.plt, self.records)
            widget.refresh()

    def _plot(self, selector: str) -> PlotextPlot:
        from textual_plotext import PlotextPlot

        return self.query_one(selector, PlotextPlot)

    def _metric_chart(self) -> None:
        widget = self._plot(".metric-chart")
        plt = widget.plt
        plt.clear_figure()
        series: dict[str, dict[tuple[float, float], float]] = {}
        for tool, record in self.records.items():
            for m in record.metrics:
                alpha, l1, value = _number(m.get("alpha")), _number(m.get("l1_ratio")), _number(m.get(self.metric))
                if alpha is not None and l1 is not None and value is not None:
                    series.setdefault(tool, {})[(alpha, l1)] = value
        # x is the grid point, whatever order a tool ran the points in (a foreach may reorder them)
        grid = sorted({point for values in series.values() for point in values})
        for index, (tool, values) in enumerate(series.items()):
            xs = [grid.index(point) + 1 for point in sorted(values)]
            plt.plot(
                xs, [values[p] for p in sorted(values)], label=clean(tool, 20), marker=MARKERS[index % len(MARKERS)]
            )
        if grid:
            plt.xticks(list(range(1, len(grid) + 1)), [f"{a:g}/{r:g}" for a, r in grid])
            plt.xlabel("grid point (alpha/l1_ratio)")
            plt.ylabel(METRIC_UNITS[self.metric])
            plt.title(f"{self.metric} per grid point, one line per tool (m: next metric)")
        else:
            plt.title("no metrics yet: r runs every runner")
        widget.refresh()

    def _overhead_chart(self) -> None:
        widget = self._plot(".overhead-chart")
        plt = widget.plt
        plt.clear_figure()
        names, ratios = [], []
        for tool, record in self.records.items():
            numbers = (record.checks.get("overhead") or {}).get("numbers") or {}
            ratio = _number(numbers.get("ratio"))
            if ratio is not None:
                names.append(clean(tool, 20))
                ratios.append(ratio)
        if names:
            plt.bar([f"{n} x{r:.1f}" for n, r in zip(names, ratios, strict=True)], ratios, width=0.4)
            plt.ylabel("x plain (tool s / plain s)")
            plt.title("overhead: grid time through the tool / plain, same process setup")
        else:
            plt.title("overhead: no finished runs yet")
        widget.refresh()
