"""The large-data curves: seconds and peak memory against rows, log-log, one line per tool.

Drawn from each record's ``large_data`` numbers (`mlops_compare.checks.large_data.curves`): the
seconds a tool took per size (register + train + read back) and the largest process's peak
memory. The thresholds that make a tool "break" are drawn as lines: ``slow_factor`` x the
plain time (the plain runner's own figures, else the baseline every runner measured) and
the memory limit. Axes are log10 of the values with readable tick labels (10k, 1M; 1 s,
100 s, 17 min; 100 MB, 1 GB), so equal steps are equal factors and a slope is a growth exponent.
`series` is the data; `draw_seconds` and `draw_memory` each put one chart on a plotext figure
(textual-plotext's ``widget.plt``), `draw` both side by side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from mlops_compare.checks.large_data import curves
from mlops_compare.results import RunRecord
from mlops_compare.tui.sanitize import clean

MARKERS = ("●", "x", "+", "o", "*", "#")


@dataclass
class ScaleSeries:
    seconds: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # tool -> (rows, seconds)
    memory: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # tool -> (rows, bytes)
    slow_line: list[tuple[int, float]] = field(default_factory=list)  # (rows, slow_factor x plain seconds)
    slow_factor: float = 10.0
    memory_limit: float | None = None
    breaks: dict[str, int] = field(default_factory=dict)  # tool -> the first size where it breaks

    @property
    def empty(self) -> bool:
        return not self.seconds


def _positive(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def series(records: dict[str, RunRecord]) -> ScaleSeries:
    out = ScaleSeries()
    plain: dict[int, list[float]] = {}
    for tool, record in records.items():
        numbers = (record.checks.get("large_data") or {}).get("numbers") or {}
        for size in curves(numbers):
            seconds, rss = _positive(size.get("tool_s")), _positive(size.get("tool_rss"))
            if seconds is None or rss is None:
                continue
            out.seconds.setdefault(tool, []).append((size.rows, seconds))
            out.memory.setdefault(tool, []).append((size.rows, rss))
            base = _positive(size.get("plain_s"))
            if base is not None and (tool == "plain" or "plain" not in records):
                plain.setdefault(size.rows, []).append(base)
        if tool in out.seconds:
            out.slow_factor = _positive(numbers.get("slow_factor")) or out.slow_factor
            out.memory_limit = _positive(numbers.get("memory_limit_bytes")) or out.memory_limit
            if isinstance(numbers.get("breaks_at"), int) and numbers["breaks_at"] > 0:
                out.breaks[tool] = numbers["breaks_at"]
    out.slow_line = [(rows, out.slow_factor * sum(v) / len(v)) for rows, v in sorted(plain.items())]
    return out


def _rows_label(rows: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rows >= size:
            return f"{rows / size:g}{suffix}"
    return f"{rows:g}"


def _seconds_label(seconds: float) -> str:
    if seconds >= 36000:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 1000 else f"{seconds:g} s"


def _bytes_label(nbytes: float) -> str:
    for size, suffix in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if nbytes >= size:
            return f"{nbytes / size:g} {suffix}"
    return f"{nbytes:g} B"


def _log_ticks(values: Sequence[float], label) -> tuple[list[float], list[str]]:
    """Ticks at each power of ten the values span (log10 positions) with readable labels; when they
    span two decades or less, at 1, 2 and 5 times each power inside the range too, so that a
    narrow range still has ticks to read."""
    low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    ticks = [10.0**e for e in range(low, high + 1)]
    if high - low <= 2:
        steps = [m * 10.0**e for e in range(low, high + 1) for m in (1, 2, 5)]
        ticks = [t for t in steps if min(values) / 1.01 <= t <= max(values) * 1.01] or ticks
    return [math.log10(t) for t in ticks], [label(t) for t in ticks]


def _panel(plt, lines: dict[str, list[tuple[int, float]]], threshold, threshold_label: str, title: str, label) -> None:
    xs_all = [r for points in lines.values() for r, _ in points]
    ys_all = [v for points in lines.values() for _, v in points] + [v for _, v in threshold]
    for index, (tool, points) in enumerate(lines.items()):
        plt.plot(
            [math.log10(r) for r, _ in points],
            [math.log10(v) for _, v in points],
            label=clean(tool, 20),
            marker=MARKERS[index % len(MARKERS)],
        )
    if threshold:
        xs, ys = [math.log10(r) for r, _ in threshold], [math.log10(v) for _, v in threshold]
        plt.plot(xs, ys, label=threshold_label, marker="-")
    plt.xticks(*_log_ticks(xs_all, _rows_label))
    plt.yticks(*_log_ticks(ys_all, label))
    plt.xlabel("rows (log scale)")
    plt.title(title)


def draw_seconds(plt, records: dict[str, RunRecord]) -> ScaleSeries:
    """Seconds (register + train + read back) against rows, log-log, one line per tool that measured
    them and the slow threshold; on *plt* (cleared first). Returns what was drawn."""
    data = series(records)
    plt.clear_figure()
    if data.empty:
        plt.title("large data: not measured yet (criteria.toml [exam.large_data], then r)")
    else:
        _seconds(plt, data)
    return data


def draw_memory(plt, records: dict[str, RunRecord]) -> ScaleSeries:
    """Peak memory of the largest process against rows, log-log, one line per tool and the memory limit."""
    data = series(records)
    plt.clear_figure()
    if data.empty:
        plt.title("large data memory: not measured yet")
    else:
        _memory(plt, data)
    return data


def _seconds(plt, data: ScaleSeries) -> None:
    broke = ", ".join(f"{clean(t, 20)} breaks at {_rows_label(r)}" for t, r in data.breaks.items()) or "none breaks"
    title = f"large data: seconds (register+train+read) per rows; {broke}"
    _panel(plt, data.seconds, data.slow_line, f"{data.slow_factor:g}x plain", title, _seconds_label)
    plt.ylabel("seconds (log)")


def _memory(plt, data: ScaleSeries) -> None:
    rows = sorted({r for points in data.seconds.values() for r, _ in points})
    limit = [(r, data.memory_limit) for r in (rows[0], rows[-1])] if data.memory_limit else []
    _panel(plt, data.memory, limit, "memory limit", "large data: peak memory (largest process) per rows", _bytes_label)
    plt.ylabel("bytes (log)")


def draw(plt, records: dict[str, RunRecord]) -> ScaleSeries:
    """Both panels side by side on one figure (what a wide report or a test draws); returns the data."""
    data = series(records)
    plt.clear_figure()
    if data.empty:
        plt.title("large data: not measured yet (criteria.toml [exam.large_data], then r)")
        return data
    plt.subplots(1, 2)
    _seconds(plt.subplot(1, 1), data)
    _memory(plt.subplot(1, 2), data)
    plt.main()  # back to the whole figure: what is built (and sized) is both panels
    return data
