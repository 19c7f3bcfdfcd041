"""How a checkpoint is written on screen, and the detail of the selected one.

The cell texts (weight, rating, flip) shared by the table (`checkpoint_table`) and the
detail below it: the question and each tool's reason for its rating.
"""

from __future__ import annotations

from mlops_compare.criteria import WEIGHT_MAX
from mlops_compare.evidence import Cell
from mlops_compare.scoring.summary import Summary
from mlops_compare.tui.sanitize import clean
from mlops_compare.tui.session import Session
from rich.text import Text
from textual.widgets import Static

FLIP_WIDTH = 12


def flip_text(summary: Summary, cid: str, width: int = FLIP_WIDTH) -> str:
    flip = summary.flips[cid]
    if flip.delta is None:
        return "-"
    if flip.delta == 0:
        return f"tie {flip.challenger}"[:width]
    name = summary.criteria.tools[flip.challenger].name if flip.challenger in summary.criteria.tools else ""
    return f"{flip.delta:+.1f} {name}"[:width]


def rating_text(cell: Cell) -> str:
    """'4', or '2.5m' when measured by the exam; '!' marks a contradiction, '?' a stale rating."""
    text = f"{cell.value:g}" + ("m" if cell.used == "measured" and cell.measured is not None else "")
    return text + ("!" if cell.contradiction else "") + ("?" if cell.stale else "")


def weight_text(session: Session, cid: str) -> Text:
    text = Text(f"{session.weight(cid):g}")
    if session.is_edited(cid):
        text.append(" *", style="bold")
    return text


def selected_text(session: Session, cid: str, summary: Summary | None) -> Text:
    """One line about the selected checkpoint: its weight (and the file's) and its flip."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(clean(session.criteria.checkpoint(cid).title, 200), style="bold")
    text.append(f"  weight {session.weight(cid):g}")
    if session.is_edited(cid):
        text.append(f" (file: {session.saved_profile.weights[cid]:g})", style="italic")
    if summary is not None:
        text.append("  flip: ", style="bold")
        text.append(summary.flips[cid].describe(WEIGHT_MAX))
    return text


class CheckpointDetail(Static):
    """The selected checkpoint's question and each tool's reason for its rating (changes with the
    selection or the evidence, not with the weights: those are on the line above).

    Where the exam measured a rating, both sides are written out, expert and measured, each
    with its reason, so a CONTRADICTION or a STALE flag can be judged on the spot; the
    measured reason names the run (date) each check comes from ("retrieve pass (1.00) on
    2026-11-27 09:12 UTC: ...")."""

    def show(self, session: Session, cid: str, summary: Summary | None) -> None:
        criteria = session.criteria
        checkpoint = criteria.checkpoint(cid)
        text = Text()
        text.append(clean(checkpoint.question, 1000) + "\n")
        if summary is not None:  # the flags first: the pane is 5 lines high at 80x24
            text.append_text(flags_line(session, cid, summary))
        for tool in criteria.tools.values():
            cell = summary.cells[tool.id][cid] if summary else tool.ratings.get(cid)
            if cell is None:
                continue
            text.append_text(tool_detail(tool, cid, checkpoint.evidence, cell))
        if text != getattr(self, "_shown", None):  # Static.update costs a layout: only on a real change
            self._shown = text
            self.update(text)


def flags_line(session: Session, cid: str, summary: Summary) -> Text:
    """ "Flagged: DVC CONTRADICTION (expert 1, measured 5); Metaflow STALE", or nothing."""
    parts = []
    for tool in session.criteria.tools.values():
        cell = summary.cells[tool.id][cid]
        words = []
        if cell.contradiction:
            words.append(f"CONTRADICTION (expert {cell.expert:g}, measured {cell.measured:g})")
        if cell.stale:
            words.append("STALE")
        if words:
            parts.append(f"{clean(tool.name, 30)} {' '.join(words)}")
    if not parts:
        return Text()
    text = Text("Flagged: ", style="bold")
    text.append("; ".join(parts) + "\n")
    return text


def tool_detail(tool, cid: str, evidence: tuple[str, ...], cell) -> Text:
    """One tool's lines in the detail: the rating used, the flags in words, then the reason(s)."""
    text = Text()
    name = clean(tool.name, 30)
    if not isinstance(cell, Cell):  # no summary yet: the expert rating from the file
        text.append(f"{name} {cell.value:g}", style="bold")
        text.append(": " + clean(cell.why, 1000) + "\n")
        return text
    text.append(f"{name} {rating_text(cell)}", style="bold")
    if cell.used == "measured" and cell.measured is not None:
        text.append(" (measured)")
    if cell.contradiction:
        text.append(" CONTRADICTION", style="bold reverse")
    if cell.stale:
        text.append(" STALE", style="bold reverse")
        text.append(f" (ratings written for {clean(tool.version, 30)})", style="italic")
    if cell.measured is None:
        text.append(": " + clean(cell.why, 1000) + "\n")
        return text
    expert = tool.ratings.get(cid)
    expert_why = expert.why if expert is not None else ""
    checks = ", ".join(evidence) or "exam"
    text.append("\n  expert ")
    text.append(f"{cell.expert:g}", style="bold")
    text.append(f" ({clean(expert_why, 1000)}) / measured ")
    text.append(f"{cell.measured:g}", style="bold")
    text.append(f" ({clean(checks, 200)}: {clean(cell.measured_why, 1000)})\n")
    return text
