"""The help screen (``?``): every key, read from the bindings themselves so it cannot go stale."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

Section = tuple[str, list[Binding]]


DIGITS = [str(d) for d in range(10)]


def key_names(app, bindings: list[Binding]) -> str:
    keys = [key.strip() for binding in bindings for key in binding.key.split(",")]
    if keys == DIGITS:
        return "0-9"
    return " ".join(dict.fromkeys(app.get_key_display(Binding(key, "")) for key in keys))


def grouped(bindings: list[Binding]) -> dict[str, list[Binding]]:
    """Bindings by description, in order: ten digit keys with one meaning make one line."""
    out: dict[str, list[Binding]] = {}
    for binding in bindings:
        out.setdefault(binding.tooltip or binding.description, []).append(binding)
    return out


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "close")]

    def __init__(self, sections: list[Section], extra: list[tuple[str, str]] | None = None):
        super().__init__()
        self.sections = sections
        self.extra = extra or []
        self.rows: list[tuple[str, str]] = []  # (keys, what they do), as shown

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for title, bindings in self.sections:
            table.add_row(Text(title, style="underline"), "")
            for description, group in grouped(bindings).items():
                self.rows.append((key_names(self.app, group), description))
                table.add_row(*self.rows[-1])
        if self.extra:
            table.add_row(Text("Everywhere", style="underline"), "")
            for keys, what in self.extra:
                self.rows.append((keys, what))
                table.add_row(keys, what)
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Static(Text("Keys (Esc, q or ? closes; ↑↓ scroll)", style="bold"))
            yield Static(table)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
