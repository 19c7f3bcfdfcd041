"""The floor for `tui_startup.py`: a bare Textual app, a DataTable of 15 rows and a Footer.

About what mlops-compare's first screen shows (15 checkpoints and a key bar), with nothing of
mlops-compare imported: the time Textual itself needs to get such a screen onto a terminal.

    python benchmarks/bare_textual.py    # q quits
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer

ROWS = 15


class Bare(App[None]):
    BINDINGS = [("q", "quit", "quit")]

    def compose(self) -> ComposeResult:
        yield DataTable()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Checkpoint", "Weight", "MLflow", "DVC", "Metaflow")
        for i in range(1, ROWS + 1):
            table.add_row(f"checkpoint {i:02d}", "1", "3", "4", "2" if i < ROWS else "last")


if __name__ == "__main__":
    Bare().run()
