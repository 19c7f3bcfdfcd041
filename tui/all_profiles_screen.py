"""Every profile side by side (``P``): each tool's score and rank per profile, and the Borda compromise.

The numbers are `summary.all_profiles` for the criteria with the session's unsaved weight
edits applied (marked ``*``), and the same evidence the scoreboard uses, so the current
profile's row equals the scoreboard. Scoring every profile (with P(first), numpy) runs in
a worker; the result arrives as a `ProfilesRanked` message.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

from mlops_compare.criteria import Criteria
from mlops_compare.tui.messages import ProfilesRanked
from mlops_compare.tui.sanitize import clean
from mlops_compare.tui.session import Session
from mlops_compare.tui.textline import TextLine
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

GAP = "  "


def edited_criteria(session: Session) -> Criteria:
    """The criteria as they would be after a save: every profile with its unsaved edits."""
    criteria = session.criteria
    profiles = {pid: p.with_weights(session.edits.get(pid, {})) for pid, p in criteria.profiles.items()}
    return dataclasses.replace(criteria, profiles=MappingProxyType(profiles))


def ranking_table(session: Session, criteria: Criteria, ranking: dict[str, Any]) -> Text:
    """Profiles as rows, tools as columns (compromise order): "score #rank", then the Borda row."""
    borda, compromise = ranking["borda"], ranking["compromise"]
    order = list(criteria.tools)
    tools = sorted(order, key=lambda t: (compromise[t], -borda[t], order.index(t)))
    labels = {}
    for pid in ranking["profiles"]:
        label = clean(pid, 40) + (" *" if session.dirty(pid) else "")
        labels[pid] = label + (" (current)" if pid == session.profile_id else "")
    rows = [
        (labels[pid], [f"{p['scores'][t]:.2f} #{p['ranks'][t]}" for t in tools])
        for pid, p in ranking["profiles"].items()
    ]
    rows.append(("Borda compromise", [f"{borda[t]} pts #{compromise[t]}" for t in tools]))
    names = [clean(criteria.tools[t].name, 12) for t in tools]
    first = max(len("Profile"), *(len(label) for label, _ in rows))
    widths = [max(len(n), *(len(cells[i]) for _, cells in rows)) for i, n in enumerate(names)]

    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("Profile".ljust(first), style="bold underline")
    for name, width in zip(names, widths, strict=True):
        text.append(GAP)
        text.append(name.rjust(width), style="bold underline")
    for index, (label, cells) in enumerate(rows):
        borda_row = index == len(rows) - 1
        text.append("\n")
        text.append(label.ljust(first), style="bold" if borda_row else "")
        for cell, width in zip(cells, widths, strict=True):
            text.append(GAP)
            text.append(cell.rjust(width), style="bold" if cell.endswith("#1") else "")
    return text


def agreement_line(criteria: Criteria, ranking: dict[str, Any]) -> Text:
    """Where the profiles agree on first place, and where they do not."""
    firsts = {
        pid: [criteria.tools[t].name for t, r in p["ranks"].items() if r == 1] for pid, p in ranking["profiles"].items()
    }
    winners = {" and ".join(names) for names in firsts.values()}
    if len(winners) == 1:
        return Text(f"Every profile puts {clean(winners.pop(), 60)} first.")
    parts = ", ".join(f"{clean(pid, 40)}: {clean(' and '.join(names), 60)}" for pid, names in firsts.items())
    return Text(f"First place differs: {parts}.")


class ProfilesScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,P,q", "close", "close")]

    def __init__(self, session: Session, evidence=None):
        super().__init__()
        self.session = session
        self.evidence = evidence
        self.criteria = edited_criteria(session)
        self.ranking: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="profiles-dialog", classes="dialog"):
            yield TextLine(Text("Every profile side by side (Esc closes)", style="bold"))
            yield TextLine(Text("Scoring every profile…", style="italic"), id="profiles-table")
            yield TextLine(id="profiles-notes")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self._rank(self.criteria, self.evidence)

    @work(thread=True, exclusive=True, group="profiles", exit_on_error=False)
    def _rank(self, criteria: Criteria, evidence) -> None:
        from mlops_compare.summary import all_profiles

        self.post_message(ProfilesRanked(all_profiles(criteria, evidence)))

    def on_profiles_ranked(self, message: ProfilesRanked) -> None:
        self.ranking = message.ranking
        self.query_one("#profiles-table", TextLine).show(ranking_table(self.session, self.criteria, message.ranking))
        notes = agreement_line(self.criteria, message.ranking)
        notes.append(
            "\n\nScore #rank per profile. Borda: each profile gives a tool (number of tools - rank) points;"
            " the compromise ranks by the sum."
        )
        if self.session.dirty():
            notes.append("\n* unsaved weight changes are applied (s saves them).", style="italic")
        self.query_one("#profiles-notes", TextLine).show(notes)

    def action_close(self) -> None:
        self.dismiss(None)
