"""The trust checks (``t``): what the results were computed on, whether the tools agree, and reproduction.

From the evidence the app holds (stored or just finished runs): the data set (source, rows,
the source file's and the normalised copy's sha256) and the exact grid; `evidence.agreement`,
per grid point every tool's rmse, mae and r2 with the largest difference (PASS when all are
within `evidence.TOLERANCE`; a NaN disagrees); and each tool's ``reproduce`` check with its
evidence. Each tool's figures name the run (date) they come from: its newest run in which
that check ran. Runner-supplied text is shown literally. Cheap (a pass over a few metric
rows), so it is built when the screen is composed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_compare.evidence import (
    BASELINE,
    TOLERANCE,
    TOLERANCE_TEXT,
    Evidence,
    ToolEvidence,
    agreement,
    run_label,
    variants,
)
from mlops_compare.results import RunRecord
from mlops_compare.tui.sanitize import clean
from mlops_compare.tui.textline import TextLine
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

EMPTY = "No results are stored yet: run the exam (r on the main screen), then look here again."
DATASET_KEYS = ("source", "target", "rows", "columns", "source_sha256", "normalised_sha256")
LABELS = {"source_sha256": "source file sha256", "normalised_sha256": "normalised copy sha256"}


def _value(value: Any) -> str:
    return clean(repr(value) if isinstance(value, list | tuple) else str(value), 300)


def inputs_text(evidence: Evidence) -> Text:
    """The data set and the grid, once when every tool ran on the same (else once per variant)."""
    text = Text()
    for title, field, keys in (("Data set", "dataset", DATASET_KEYS), ("Grid", "grid", ("alpha", "l1_ratio"))):
        text.append(title + "\n", style="bold underline")
        found = variants(evidence, field)
        if not found:
            text.append("  not reported by any run\n")
        for value, tools in found:
            if len(found) > 1:
                text.append(f"  reported by {clean(', '.join(tools), 200)}:\n", style="italic")
            for key in (*[k for k in keys if k in value], *[k for k in value if k not in keys]):
                text.append(f"  {clean(LABELS.get(key, str(key)), 30):<8} ", style="bold")
                text.append(f"{_value(value[key])}\n")
    return text


def agreement_text(evidence: Evidence, rows: list[dict[str, Any]], worst: float | None) -> Text:
    text = Text("Cross-tool agreement: ", style="bold underline")
    if worst is None:
        text.append("no metrics stored\n")
        return text
    if worst <= TOLERANCE:
        text.append("PASS", style="bold reverse")
        text.append(f" (every rmse, mae and r2 within {TOLERANCE_TEXT}; largest difference {worst:.3g})\n")
    else:
        text.append("FAIL", style="bold reverse")
        text.append(f" (largest difference {worst:.3g}, more than {TOLERANCE_TEXT}; a NaN counts as differing)\n")
    runs = [
        f"{clean(t, 12)} {run_label(r.started_at)}"
        for t, f in evidence.tools.items()
        if (r := f.grid_record) is not None
    ]
    text.append("  metrics from each tool's newest run with the grid: " + ", ".join(runs) + "\n", style="italic")
    width = max(len(clean(t, 12)) for row in rows for t in row["tools"])
    for row in rows:
        ok = "ok" if row["agrees"] else "DIFFERS"
        text.append(f"  alpha {row['alpha']!r}  l1_ratio {row['l1_ratio']!r}", style="bold")
        text.append(f"  largest difference {row['max_diff']:.3g} {ok}\n")
        for tool, (rmse, mae, r2) in row["tools"].items():
            text.append(f"    {clean(tool, 12):<{width}}  rmse {rmse:.12g}  mae {mae:.12g}  r2 {r2:.12g}\n")
    return text


def _reproduce(found: ToolEvidence) -> tuple[str, str]:
    """The reproduce check's status and what to say about it: from the newest run in which it
    ran, else as the newest run reported it (skipped, with why), else "not run"."""
    measured = found.checks.get("reproduce")
    if measured is not None:
        return measured.status.upper(), f"on {measured.run}: {measured.check.get('evidence') or ''}"
    latest = found.latest
    check = (latest.checks.get("reproduce") if latest is not None else None) or {}
    reason = str(check.get("evidence") or (latest.reason if latest is not None else ""))
    return str(check.get("status") or "not run").upper(), reason


def reproduce_text(evidence: Evidence) -> Text:
    text = Text("Reproducibility (the reproduce check)\n", style="bold underline")
    width = max(len(clean(t, 12)) for t in evidence.tools)
    for tool, found in evidence.tools.items():
        status, said = _reproduce(found)
        status = clean(status, 20)
        text.append(f"  {clean(tool, 12):<{width}}  ", style="bold")
        text.append(status, style="bold reverse" if status == "FAIL" else "bold")
        text.append(f"  {clean(said, 2000)}\n\n")
    return text


def damaged_text(evidence: Evidence) -> Text:
    """The store's files that are not readable records (`Evidence.damaged`), each with why; empty if none."""
    damaged = getattr(evidence, "damaged", [])
    text = Text()
    if damaged:
        text.append(f"Unreadable records ({len(damaged)}, not used)\n", style="bold underline")
        for found in damaged:
            text.append(f"  {clean(str(found.path), 300)}", style="bold")
            text.append(f": {clean(found.reason, 300)}\n")
        text.append("\n")
    return text


def trust_text(evidence: Evidence | Mapping[str, RunRecord]) -> Text:
    """The whole screen's text (also what the tests read)."""
    evidence = evidence if isinstance(evidence, Evidence) else Evidence(evidence)
    if not evidence.tools:
        return damaged_text(evidence) + Text(EMPTY)
    ordered = Evidence.from_tools(sorted(evidence.tools.values(), key=lambda t: (t.tool != BASELINE, t.tool)))
    rows, worst = agreement(ordered)
    text = Text("In short: agreement ", style="bold")
    text.append("none stored" if worst is None else ("PASS" if worst <= TOLERANCE else "FAIL"), style="bold")
    text.append(
        "; reproduce " + ", ".join(f"{clean(t, 12)} {clean(_reproduce(f)[0], 20)}" for t, f in ordered.tools.items())
    )
    text.append("\n\n")
    text.append_text(damaged_text(evidence))
    text.append_text(inputs_text(ordered))
    text.append("\n")
    text.append_text(agreement_text(ordered, rows, worst))
    text.append("\n")
    text.append_text(reproduce_text(ordered))
    return text


class TrustScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,t,q", "close", "close")]

    def __init__(self, evidence: Evidence | Mapping[str, RunRecord]):
        super().__init__()
        self.evidence = evidence

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="trust-dialog", classes="dialog"):
            yield TextLine(Text("Trust checks (Esc closes; ↑↓ scroll)", style="bold"))
            yield TextLine(trust_text(self.evidence), id="trust-body")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
