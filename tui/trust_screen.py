"""The trust checks (``t``): what the results were computed on, whether the tools agree, and reproduction.

From the stored (or just finished) records the app holds: the data set (source, rows,
sha256) and the exact grid; `verdict.agreement`, per grid point every tool's rmse, mae
and r2 with the largest difference (PASS when all are within `TOLERANCE`); and each
tool's ``reproduce`` check with its evidence. Runner-supplied text is shown literally.
Cheap (a pass over a few metric rows), so it is built when the screen is composed.
"""

from __future__ import annotations

from typing import Any

from mlops_compare.results import RunRecord
from mlops_compare.tui.sanitize import clean
from mlops_compare.tui.textline import TextLine
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

TOLERANCE = 1e-9
TOLERANCE_TEXT = "1e-9"
EMPTY = "No results are stored yet: run the exam (r on the main screen), then look here again."


def _value(value: Any) -> str:
    return clean(repr(value) if isinstance(value, list | tuple) else str(value), 300)


def grouped(records: dict[str, RunRecord], field: str) -> list[tuple[dict[str, Any], list[str]]]:
    """Distinct values of a record field (dataset or grid) and the tools that reported each."""
    out: list[tuple[dict[str, Any], list[str]]] = []
    for tool, record in records.items():
        value = getattr(record, field) or {}
        if not value:
            continue
        for seen, tools in out:
            if seen == value:
                tools.append(tool)
                break
        else:
            out.append((value, [tool]))
    return out


def inputs_text(records: dict[str, RunRecord]) -> Text:
    """The data set and the grid, once when every tool ran on the same (else once per variant)."""
    text = Text()
    for title, field, keys in (
        ("Data set", "dataset", ("source", "target", "rows", "columns", "sha256")),
        ("Grid", "grid", ("alpha", "l1_ratio")),
    ):
        text.append(title + "\n", style="bold underline")
        variants = grouped(records, field)
        if not variants:
            text.append("  not reported by any run\n")
        for value, tools in variants:
            if len(variants) > 1:
                text.append(f"  reported by {clean(', '.join(tools), 200)}:\n", style="italic")
            for key in (*[k for k in keys if k in value], *[k for k in value if k not in keys]):
                text.append(f"  {clean(str(key), 30):<8} ", style="bold")
                text.append(f"{_value(value[key])}\n")
    return text


def agreement_text(rows: list[dict[str, Any]], worst: float | None) -> Text:
    text = Text("Cross-tool agreement: ", style="bold underline")
    if worst is None:
        text.append("no metrics stored\n")
        return text
    if worst <= TOLERANCE:
        text.append("PASS", style="bold reverse")
        text.append(f" (every rmse, mae and r2 within {TOLERANCE_TEXT}; largest difference {worst:.3g})\n")
    else:
        text.append("FAIL", style="bold reverse")
        text.append(f" (largest difference {worst:.3g}, more than {TOLERANCE_TEXT})\n")
    width = max(len(clean(t, 12)) for row in rows for t in row["tools"])
    for row in rows:
        ok = "ok" if row["max_diff"] <= TOLERANCE else "DIFFERS"
        text.append(f"  alpha {row['alpha']!r}  l1_ratio {row['l1_ratio']!r}", style="bold")
        text.append(f"  largest difference {row['max_diff']:.3g} {ok}\n")
        for tool, (rmse, mae, r2) in row["tools"].items():
            text.append(f"    {clean(tool, 12):<{width}}  rmse {rmse:.12g}  mae {mae:.12g}  r2 {r2:.12g}\n")
    return text


def _reproduce_status(record: RunRecord) -> str:
    return clean(str((record.checks.get("reproduce") or {}).get("status") or "not run"), 20).upper()


def reproduce_text(records: dict[str, RunRecord]) -> Text:
    text = Text("Reproducibility (the reproduce check)\n", style="bold underline")
    width = max(len(clean(t, 12)) for t in records)
    for tool, record in records.items():
        check = record.checks.get("reproduce") or {}
        status = _reproduce_status(record)
        text.append(f"  {clean(tool, 12):<{width}}  ", style="bold")
        text.append(status, style="bold reverse" if status == "FAIL" else "bold")
        text.append(f"  {clean(str(check.get('evidence') or record.reason or ''), 2000)}\n\n")
    return text


def trust_text(records: dict[str, RunRecord]) -> Text:
    """The whole screen's text (also what the tests read)."""
    if not records:
        return Text(EMPTY)
    from mlops_compare.verdict import BASELINE, Evidence, agreement

    records = dict(sorted(records.items(), key=lambda item: (item[0] != BASELINE, item[0])))
    rows, worst = agreement(Evidence(records))
    text = Text("In short: agreement ", style="bold")
    text.append("none stored" if worst is None else ("PASS" if worst <= TOLERANCE else "FAIL"), style="bold")
    text.append("; reproduce " + ", ".join(f"{clean(t, 12)} {_reproduce_status(r)}" for t, r in records.items()))
    text.append("\n\n")
    text.append_text(inputs_text(records))
    text.append("\n")
    text.append_text(agreement_text(rows, worst))
    text.append("\n")
    text.append_text(reproduce_text(records))
    return text


class TrustScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,t,q", "close", "close")]

    def __init__(self, records: dict[str, RunRecord]):
        super().__init__()
        self.records = records

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="trust-dialog", classes="dialog"):
            yield TextLine(Text("Trust checks (Esc closes; ↑↓ scroll)", style="bold"))
            yield TextLine(trust_text(self.records), id="trust-body")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
