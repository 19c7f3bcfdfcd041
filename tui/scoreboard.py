"""The scoreboard: per tool the weighted score as a bar, its rank, P(first) and how close a flip is.

Rendered from the latest `Summary`; the bar length follows the pane width. The numbers are
written out next to every bar, so nothing depends on reading a colour or a length.
"""

from __future__ import annotations

from mlops_compare.criteria import WEIGHT_MAX
from mlops_compare.scoring import Flip
from mlops_compare.scoring.summary import Summary
from mlops_compare.tui.sanitize import clean
from mlops_compare.tui.session import Session
from rich.text import Text
from textual.widgets import Static

RATING_MAX = 5.0


def closest_flip(summary: Summary, tool: str | None = None) -> Flip | None:
    """The smallest weight change that changes first place (to *tool*, if given)."""
    flips = [f for f in summary.flips.values() if f.delta is not None and (tool is None or f.challenger == tool)]
    return min(flips, key=lambda f: abs(f.delta or 0.0), default=None)


class Scoreboard(Static):
    def __init__(self, session: Session, summary: Summary | None = None, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.summary = summary
        self.pending = True

    def on_mount(self) -> None:
        # a fixed height (profile line, one per tool, the closest flip): repaints never need a layout
        self.styles.height = 2 + len(self.session.criteria.tools)

    def show(self, summary: Summary | None, pending: bool = False) -> None:
        self.summary = summary if summary is not None else self.summary
        self.pending = pending
        self.refresh()

    def render(self) -> Text:
        session, summary = self.session, self.summary
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("Profile ", style="dim")
        text.append(clean(session.profile_id, 60), style="bold")
        edited = len(session.edits.get(session.profile_id, {}))
        if edited:
            text.append(f"  * {edited} weight{'s' * (edited != 1)} changed, s saves", style="italic")
        if self.pending:
            text.append("  (P(first)…)", style="dim")
        text.append("\n")
        if summary is None:
            return text
        width = max(self.size.width, 40)
        names = {t: clean(summary.criteria.tools[t].name, 12) for t in summary.tools}
        name_width = max(len(n) for n in names.values())
        # "#1 NAME  BAR 4.21  P(1st) 81.2%  flip -4.8 Storage"
        bar_width = max(8, min(30, width - name_width - 52))
        for tool in summary.tools:
            score, rank = summary.scores[tool], summary.ranks[tool]
            filled = round(bar_width * score / RATING_MAX)
            text.append(f"#{rank} ", style="bold" if rank == 1 else "")
            text.append(f"{names[tool]:<{name_width}} ", style="bold" if rank == 1 else "")
            text.append("█" * filled, style="green" if rank == 1 else "blue")
            text.append("░" * (bar_width - filled), style="dim")
            text.append(f" {score:4.2f}", style="bold")
            p_first = summary.p_first.get(tool)
            text.append(f"  P(1st) {p_first:6.1%}" if p_first is not None else "  P(1st)    …  ")
            flip = closest_flip(summary, tool) if rank != 1 else None
            if flip is not None:
                title = clean(summary.criteria.checkpoint(flip.checkpoint).title, 40)
                text.append(f"  flip {flip.delta:+.1f} {title}", style="dim")
            text.append("\n")
        overall = closest_flip(summary)
        text.append("Closest flip: ", style="dim")
        if overall is None:
            text.append(f"none (no single weight within 0..{WEIGHT_MAX:g} changes first place)")
        else:
            title = clean(summary.criteria.checkpoint(overall.checkpoint).title, 60)
            text.append(f"{title} {overall.describe(WEIGHT_MAX)}")
        for tool in self.unscored(summary):
            # As `score` says it: measured but not ranked, rather than silently left out.
            text.append(f"\nNot scored: {clean(tool, 30)} has measurements but no ratings; ", style="italic")
            text.append(f"add [tool.{clean(tool, 30)}] ratings to criteria.toml to rank it", style="dim")
        return text

    def unscored(self, summary: Summary) -> list[str]:
        """Tools with stored measurements (a runner's pane) but no ratings in the criteria."""
        evidence = getattr(self.app, "evidence", None)
        if evidence is None:
            return []
        return [
            tool
            for tool, found in evidence.tools.items()
            if tool not in summary.criteria.tools and tool != "plain" and found.checks
        ]
