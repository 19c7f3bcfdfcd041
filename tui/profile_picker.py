"""The profile switcher: a list of the criteria's profiles; returns the chosen id or None."""

from __future__ import annotations

from mlops_compare.tui.sanitize import clean
from mlops_compare.tui.session import Session
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class ProfileScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape,p", "cancel", "cancel")]

    def __init__(self, session: Session):
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        options = []
        for pid, profile in self.session.criteria.profiles.items():
            prompt = Text(clean(pid, 60), style="bold")
            if pid == self.session.profile_id:
                prompt.append(" (current)")
            if self.session.dirty(pid):
                prompt.append(" * unsaved changes", style="italic")
            if profile.description:
                prompt.append("\n" + clean(profile.description, 200), style="dim")
            options.append(Option(prompt, id=pid))
        with Vertical(id="profile-dialog", classes="dialog"):
            yield Static(Text("Choose a profile (↑↓, Enter; Esc cancels)", style="bold"))
            yield OptionList(*options, id="profiles")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = list(self.session.criteria.profiles).index(self.session.profile_id)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
