"""The checkpoint table: one line per checkpoint (title, weight, each tool's rating, the flip).

A small line-rendering widget rather than a DataTable: a weight key changes one row and
the flips, and this repaints exactly those lines from a per-row cache, so a key press is
answered in one cheap frame even while runner panes stream (a DataTable re-renders every
cell through Rich on any change). The table owns the weight keys (``+``/``-``, digits,
``u``): it applies them to the session (which clamps and refuses all-zero) and posts
`WeightChanged` so the app rescores.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_compare.criteria import Criteria
from mlops_compare.scoring.summary import Summary
from mlops_compare.tui.checkpoints import FLIP_WIDTH, flip_text, rating_text, weight_text
from mlops_compare.tui.messages import WeightChanged
from mlops_compare.tui.sanitize import clean
from mlops_compare.tui.session import Session
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

WEIGHT_WIDTH = 4
GAP = 2


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int


class CheckpointTable(Widget, can_focus=True):
    """The cursor row is the checkpoint the weight keys change."""

    COMPONENT_CLASSES = {"checkpoint-table--header", "checkpoint-table--cursor"}
    BINDINGS = [
        Binding("up,k", "move(-1)", "previous checkpoint", show=False),
        Binding("down,j", "move(1)", "next checkpoint", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "jump(0)", "first checkpoint", show=False),
        Binding("end", "jump(-1)", "last checkpoint", show=False),
        Binding("plus,equals_sign", "nudge(1)", "raise the weight by 1", show=False),
        Binding("minus,underscore", "nudge(-1)", "lower the weight by 1", show=False),
        *[Binding(str(d), f"set_weight({d})", "set the weight to the digit", show=False) for d in range(10)],
        Binding("u", "reset", "put the weight back to the file's value", show=False),
    ]

    @dataclass
    class Highlighted(Message):
        checkpoint: str

    def __init__(self, session: Session, summary: Summary | None = None, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.summary = summary
        self.cursor_row = 0
        self._top = 0
        self._columns: list[Column] = []
        self._texts: dict[int, Text] = {}  # row -> its text (without the cursor)
        self._strips: dict[int, Strip] = {}  # row -> rendered line, cursor included
        self._header: Strip | None = None

    # --- reading ------------------------------------------------------------------
    @property
    def criteria(self) -> Criteria:
        return self.session.criteria

    @property
    def row_count(self) -> int:
        return len(self.criteria.checkpoints)

    @property
    def selected(self) -> str:
        return self.criteria.checkpoints[self.cursor_row].id

    def cell(self, checkpoint: str, column: str) -> str:
        """The text shown in one cell (for tests and screen readers of the code)."""
        row = [c.id for c in self.criteria.checkpoints].index(checkpoint)
        return self._cells(row)[column].plain.strip()

    # --- layout -------------------------------------------------------------------
    def _layout(self) -> None:
        tools = list(self.criteria.tools.values())
        rating_widths = [max(5, len(t.name[:10])) for t in tools]
        fixed = WEIGHT_WIDTH + sum(rating_widths) + FLIP_WIDTH + GAP * (len(tools) + 2) + 2
        title = max(16, min(48, self.size.width - fixed))
        self._columns = [Column("title", "Checkpoint", title), Column("weight", "W", WEIGHT_WIDTH)]
        self._columns += [Column(f"tool-{t.id}", t.name[:w], w) for t, w in zip(tools, rating_widths, strict=True)]
        self._columns.append(Column("flip", "Flip", FLIP_WIDTH))
        self._texts.clear()
        self._strips.clear()
        self._header = None

    def on_resize(self) -> None:
        self._layout()
        self._scroll_to_cursor()
        self.refresh()

    @property
    def _visible_rows(self) -> int:
        return max(1, self.size.height - 1)

    def _scroll_to_cursor(self) -> None:
        top = min(self._top, self.cursor_row)
        top = max(top, self.cursor_row - self._visible_rows + 1)
        top = max(0, min(top, self.row_count - self._visible_rows))
        if top != self._top:
            self._top = top
            self._strips.clear()
            self.refresh()

    # --- rendering ----------------------------------------------------------------
    def _cells(self, row: int) -> dict[str, Text]:
        checkpoint = self.criteria.checkpoints[row]
        cells = {"title": Text(clean(checkpoint.title, 200)), "weight": weight_text(self.session, checkpoint.id)}
        for tool in self.criteria.tools.values():
            if self.summary is not None:
                cells[f"tool-{tool.id}"] = Text(rating_text(self.summary.cells[tool.id][checkpoint.id]))
            else:
                rating = tool.ratings.get(checkpoint.id)
                cells[f"tool-{tool.id}"] = Text("" if rating is None else f"{rating.value:g}")
        cells["flip"] = Text(flip_text(self.summary, checkpoint.id) if self.summary else "")
        return cells

    def _line(self, cells: dict[str, Text]) -> Text:
        line = Text(" ", no_wrap=True)
        for index, column in enumerate(self._columns):
            cell = cells[column.key].copy()
            cell.truncate(column.width, overflow="ellipsis", pad=True)
            line.append_text(cell)
            line.append(" " * (GAP if index < len(self._columns) - 1 else 1))
        return line

    def _render_text(self, text: Text, style) -> Strip:
        segments = list(text.render(self.app.console, end=""))
        return Strip(segments).crop_extend(0, self.size.width, self.rich_style).apply_style(style)

    def render_line(self, y: int) -> Strip:
        if not self._columns:
            self._layout()
        width = self.size.width
        if y == 0:
            if self._header is None:
                header = self._line({c.key: Text(c.label) for c in self._columns})
                self._header = self._render_text(header, self.get_component_rich_style("checkpoint-table--header"))
            return self._header
        row = self._top + y - 1
        if row >= self.row_count:
            return Strip([Segment(" " * width, self.rich_style)], width)
        strip = self._strips.get(row)
        if strip is None:
            text = self._texts.get(row)
            if text is None:
                text = self._texts[row] = self._line(self._cells(row))
            style = self.get_component_rich_style("checkpoint-table--cursor") if row == self.cursor_row else None
            strip = self._strips[row] = self._render_text(text, style or self.rich_style)
        return strip

    def _refresh_row(self, row: int) -> None:
        self._strips.pop(row, None)
        y = row - self._top + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    # --- updates from the app -----------------------------------------------------
    def _update_rows(self) -> None:
        """Re-make every row's text; repaint only the rows whose text changed."""
        if not self._columns:
            return
        for row in range(self.row_count):
            text = self._line(self._cells(row))
            if self._texts.get(row) != text:
                self._texts[row] = text
                self._refresh_row(row)

    def show_weights(self) -> None:
        self._update_rows()

    def show_summary(self, summary: Summary) -> None:
        self.summary = summary
        self._update_rows()

    def rebuild(self) -> None:
        """After the criteria were reloaded (a save): same shape, fresh content."""
        self._layout()
        self.refresh()

    # --- cursor -------------------------------------------------------------------
    def move_cursor(self, row: int) -> None:
        row = max(0, min(row, self.row_count - 1))
        if row == self.cursor_row:
            return
        old, self.cursor_row = self.cursor_row, row
        self._refresh_row(old)
        self._refresh_row(row)
        self._scroll_to_cursor()
        self.post_message(self.Highlighted(self.selected))

    def action_move(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step * self._visible_rows)

    def action_jump(self, row: int) -> None:
        self.move_cursor(row if row >= 0 else self.row_count - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.move_cursor(self._top + event.y - 1)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.action_move(1)
        event.stop()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.action_move(-1)
        event.stop()

    # --- weight keys --------------------------------------------------------------
    def _changed(self, refused: str | None) -> None:
        self.post_message(WeightChanged(self.selected, refused))

    def action_nudge(self, step: int) -> None:
        self._changed(self.session.set_weight(self.selected, self.session.weight(self.selected) + step))

    def action_set_weight(self, value: int) -> None:
        self._changed(self.session.set_weight(self.selected, float(value)))

    def action_reset(self) -> None:
        self._changed(self.session.reset_weight(self.selected))
