"""Every profile side by side (``P``): each tool's score and rank per profile, the Borda compromise,
and the current profile's rank acceptability indices (SMAA) with confidence factors.

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


def acceptability_table(criteria: Criteria, profile_id: str, evidence=None) -> Text:
    """The current profile's rank acceptability indices (SMAA, `mlops_compare.scoring.smaa`): tools as rows,
    the share of weight draws per rank, and each tool's confidence factor; then how to read it."""
    from mlops_compare.evidence import measured_cells
    from mlops_compare.scoring import smaa

    profile = criteria.profiles[profile_id]
    cells = measured_cells(criteria, profile, evidence)
    ratings = {t: {c: cell.value for c, cell in per.items()} for t, per in cells.items()}
    found = smaa.analyse(profile.weights, ratings)
    tools = sorted(found.tools, key=lambda t: [-share for share in found.acceptability[t]])
    names = {t: clean(criteria.tools[t].name, 12) for t in tools}
    first = max(len("Tool"), *(len(n) for n in names.values()))
    ranks = [f"rank {k}" for k in range(1, len(tools) + 1)]
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"Rank acceptability under {clean(profile_id, 40)}", style="bold")
    text.append(f" (SMAA, {found.samples:,} weight draws)\n")
    text.append("Tool".ljust(first), style="bold underline")
    for label in [*ranks, "confidence"]:
        text.append(GAP)
        text.append(label.rjust(6), style="bold underline")
    for tool in tools:
        text.append("\n" + names[tool].ljust(first))
        for share in found.acceptability[tool]:
            text.append(GAP)
            text.append(f"{share:.0%}".rjust(6), style="bold" if share >= 0.5 else "")
        confidence = found.confidence[tool]
        text.append(GAP + ("-" if confidence is None else f"{confidence:.0%}").rjust(10))
    text.append(
        "\nShare of weight vectors near the profile in which a tool takes each rank (rank 1 = P(first));"
        " confidence: share of rating draws (each ±0.5) in which it still wins at its own central weights."
        " Lahdelma and Salminen (2001), SMAA-2.",
        style="italic",
    )
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
            yield TextLine(id="profiles-smaa")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self._rank(self.criteria, self.evidence)

    @work(thread=True, exclusive=True, group="profiles", exit_on_error=False)
    def _rank(self, criteria: Criteria, evidence) -> None:
        from mlops_compare.scoring.summary import all_profiles

        ranking = all_profiles(criteria, evidence)
        ranking["acceptability"] = acceptability_table(criteria, self.session.profile_id, evidence)
        self.post_message(ProfilesRanked(ranking))

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
        if "acceptability" in message.ranking:
            self.query_one("#profiles-smaa", TextLine).show(Text("\n").append_text(message.ranking["acceptability"]))

    def action_close(self) -> None:
        self.dismiss(None)
