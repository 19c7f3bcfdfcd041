"""The charts view lays out by width: one chart per row below 120 columns, two above, none narrower than ~38."""

from __future__ import annotations

import pytest
from mlops_compare.results import RunRecord
from mlops_compare.tui.charts import ChartsView, layout_for
from textual.app import App
from textual_plotext import PlotextPlot


def test_layout_by_width():
    assert layout_for(80, 20, 4) == (1, 20)  # one per row, the whole height each (the view scrolls)
    assert layout_for(119, 40, 4) == (1, 40)
    assert layout_for(160, 30, 4) == (2, 15)  # two rows of two
    assert layout_for(160, 20, 4) == (2, 20)  # two rows would be under MIN_HEIGHT: one per screen, scrolled
    assert layout_for(120, 30, 2) == (2, 30)


def measured(tool: str, factor: float) -> RunRecord:
    numbers = {"slow_factor": 10.0, "breaks_at": 0, "memory_limit_bytes": 8e9}
    for rows in (10_000, 100_000, 1_000_000):
        numbers |= {
            f"{rows}:tool_s": factor * rows / 1e4,
            f"{rows}:plain_s": rows / 1e4,
            f"{rows}:tool_rss": 1e8 * factor,
        }
    checks = {
        "large_data": {"status": "pass", "numbers": numbers},
        "overhead": {"status": "pass", "numbers": {"ratio": factor}},
    }
    metrics = [{"alpha": a, "l1_ratio": 0.5, "rmse": 0.7 + a / 10, "mae": 0.5, "r2": 0.3} for a in (0.1, 0.5, 1.0)]
    return RunRecord(tool, "passed", checks=checks, metrics=metrics)


class Host(App):
    def compose(self):
        yield ChartsView()


@pytest.mark.parametrize(("size", "columns"), [((80, 24), 1), ((160, 48), 2)])
async def test_every_chart_is_wide_enough_with_a_legend_for_every_tool(size, columns):
    records = {"plain": measured("plain", 1.0), "mlflow": measured("mlflow", 5.0), "dvc": measured("dvc", 2.0)}
    async with Host().run_test(size=size) as pilot:
        view = pilot.app.query_one(ChartsView)
        view.show(records)
        for _ in range(4):
            await pilot.pause()
        plots = list(view.query(PlotextPlot))
        assert len(plots) == 4
        lefts = {p.region.x for p in plots}
        assert len(lefts) == columns
        assert all(p.region.width >= 38 for p in plots), [p.region.width for p in plots]
        assert all(p.region.height >= 14 for p in plots)
        for plot in plots[2:]:  # the large-data charts: every tool in the legend, both axes named
            text = plot.plt.build()
            for tool in records:
                assert tool in text, tool
            assert "rows (log scale)" in text
        assert "seconds (log)" in plots[2].plt.build() and "bytes (log)" in plots[3].plt.build()


def test_charts_take_each_check_from_its_newest_run_and_a_running_pane_over_it():
    from mlops_compare.evidence import Evidence
    from mlops_compare.tui.charts import chart_records

    old = measured("dvc", 2.0)
    old.started_at = "2026-01-01T10:00:00+00:00"
    newer = RunRecord("dvc", "failed", started_at="2026-01-02T10:00:00+00:00", checks={"grid": {"status": "fail"}})
    evidence = Evidence.from_history([newer, old])
    merged = chart_records(evidence, {})
    assert merged["dvc"].checks["large_data"] == old.checks["large_data"]  # from the older run
    assert merged["dvc"].checks["grid"]["status"] == "fail" and merged["dvc"].status == "failed"
    running = RunRecord("dvc", "running")
    assert chart_records(evidence, {"dvc": running, "plain": measured("plain", 1.0)})["dvc"] is running
    assert set(chart_records(None, {"plain": measured("plain", 1.0)})) == {"plain"}
