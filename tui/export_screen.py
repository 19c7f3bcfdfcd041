"""The export dialog: pick md, csv or json and a path; returns an `ExportRequest` or None."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlops_compare.export import FORMATS
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


@dataclass(frozen=True)
class ExportRequest:
    fmt: str
    path: Path


def default_path(profile: str, fmt: str) -> str:
    return f"mlops-compare-{profile}.{fmt}"


class FormatPicker(Static, can_focus=True):
    """md / csv / json; the chosen one is written in brackets, so no colour is needed to see it."""

    BINDINGS = [
        Binding("left,up", "move(-1)", "previous format", show=False),
        Binding("right,down,space", "move(1)", "next format", show=False),
    ]

    class Changed(Message):
        def __init__(self, fmt: str):
            super().__init__()
            self.fmt = fmt

    def __init__(self, fmt: str = "md", **kwargs):
        super().__init__(**kwargs)
        self.fmt = fmt

    def render(self) -> Text:
        text = Text("Format: ")
        for fmt in FORMATS:
            text.append(f"[{fmt}]" if fmt == self.fmt else f" {fmt} ", style="bold reverse" if fmt == self.fmt else "")
            text.append(" ")
        text.append(" (← → to change)", style="dim")
        return text

    def action_move(self, step: int) -> None:
        self.fmt = FORMATS[(FORMATS.index(self.fmt) + step) % len(FORMATS)]
        self.refresh()
        self.post_message(self.Changed(self.fmt))


class ExportScreen(ModalScreen[ExportRequest | None]):
    BINDINGS = [Binding("escape", "cancel", "cancel"), Binding("enter", "submit", "export", show=False)]

    def __init__(self, profile: str, cwd: Path | None = None):
        super().__init__()
        self.profile = profile
        self.cwd = cwd or Path.cwd()
        self.fmt = "md"

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog", classes="dialog"):
            yield Label(Text("Export the score table", style="bold"))
            yield FormatPicker(self.fmt, id="export-format")
            yield Input(value=default_path(self.profile, self.fmt), id="export-path")
            yield Static(id="export-error")
            yield Static(Text("Tab moves · Enter exports · Esc cancels", style="dim"))
            with Horizontal(classes="buttons"):
                yield Button("Export", variant="primary", id="export")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(FormatPicker).focus()

    def on_format_picker_changed(self, event: FormatPicker.Changed) -> None:
        fmt = event.fmt
        path = self.query_one("#export-path", Input)
        if path.value == default_path(self.profile, self.fmt):
            path.value = default_path(self.profile, fmt)
        self.fmt = fmt

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        self._submit()

    def _submit(self) -> None:
        raw = self.query_one("#export-path", Input).value.strip()
        error = self.query_one("#export-error", Static)
        if not raw:
            error.update(Text("give a file name", style="bold red"))
            return
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else self.cwd / path
        if path.is_dir():
            error.update(Text(f"{raw} is a folder; give a file name", style="bold red"))
            return
        if not path.parent.is_dir():
            error.update(Text(f"no folder {path.parent}", style="bold red"))
            return
        self.dismiss(ExportRequest(self.fmt, path))
