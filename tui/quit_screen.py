"""Asked before quitting while runs are active: stop them and quit (True) or stay (False)."""

from __future__ import annotations

from mlops_compare.tui.sanitize import literal
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class QuitScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y,q", "answer(True)", "quit"),
        Binding("n,escape", "answer(False)", "stay"),
    ]

    def __init__(self, active: list[str]):
        super().__init__()
        self.active = active

    def compose(self) -> ComposeResult:
        runs = ", ".join(self.active)
        with Vertical(id="quit-dialog", classes="dialog"):
            yield Static(literal(f"{len(self.active)} run(s) still active: {runs}."))
            yield Static("Quit and stop them? They are stored as cancelled. (y / n)")
            with Horizontal(classes="buttons"):
                yield Button("Quit (y)", variant="error", id="quit")
                yield Button("Stay (n)", variant="primary", id="stay")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit")

    def action_answer(self, quit: bool) -> None:
        self.dismiss(quit)
