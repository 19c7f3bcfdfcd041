"""How a checkpoint is written on screen, and the detail of the selected one.

The cell texts (weight, rating, flip) shared by the table (`checkpoint_table`) and the
detail below it: the question and each tool's reason for its rating.
"""

from __future__ import annotations

from mlops_compare.criteria import WEIGHT_MAX
from mlops_compare.summary import Cell, Summary
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
    selection or the evidence, not with the weights: those are on the line above)."""

    def show(self, session: Session, cid: str, summary: Summary | None) -> None:
        criteria = session.criteria
        checkpoint = criteria.checkpoint(cid)
        text = Text()
        text.append(clean(checkpoint.question, 1000) + "\n")
        for tool in criteria.tools.values():
            cell = summary.cells[tool.id][cid] if summary else tool.ratings.get(cid)
            if cell is None:
                continue
            text.append(f"{clean(tool.name, 30)} {cell.value:g}", style="bold")
            if isinstance(cell, Cell) and cell.used == "measured" and cell.measured is not None:
                text.append(f" (m: measured by the exam; expert {cell.expert:g})")
            if isinstance(cell, Cell) and cell.flags:
                text.append(" ! " + ", ".join(cell.flags).upper(), style="bold")
            text.append(": ")
            text.append(clean(cell.why, 1000) + "\n")
            if isinstance(cell, Cell) and cell.contradiction:
                expert_why = tool.ratings[cid].why if cid in tool.ratings else ""
                text.append(f"  expert said {cell.expert:g}: {clean(expert_why, 1000)}\n", style="italic")
        if text != getattr(self, "_shown", None):  # Static.update costs a layout: only on a real change
            self._shown = text
            self.update(text)
