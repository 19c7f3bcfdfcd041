"""A runner's log tail: a bounded, scrolling list of cleaned lines, drawn with Textual's line API.

Textual's `Log` measures the width of every batch of new lines in a thread of its own;
under a runner printing 20,000 lines a second that is a thread per flush per pane. The
lines shown here come through `sanitize.clean` (no tabs, no control characters), so
`len()` is their width and it is measured in the UI thread for nothing. Built only on
Textual's public line API (`ScrollView`, `render_line`, `Strip`) and its text selection
hooks, so a Textual upgrade cannot change it underneath us.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

CACHE_LINES = 1024  # rendered lines kept; a pane shows a few dozen at most


class RunLog(ScrollView, can_focus=True):
    ALLOW_SELECT = True
    DEFAULT_CSS = """
    RunLog {
        background: $surface;
        color: $text;
        overflow: scroll;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """

    def __init__(self, max_lines: int, **kwargs):
        super().__init__(**kwargs)
        self.max_lines = max_lines
        self._lines: list[str] = []
        self._first = 0  # how many lines were dropped from the top: cache keys stay valid across drops
        self._width = 0
        self._cache: dict[int, Strip] = {}

    @property
    def lines(self) -> Sequence[str]:
        return self._lines

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def write_lines(self, lines: Iterable[str]) -> None:
        """Append *lines* (each one line of clean text), keep the newest `max_lines`, follow the end."""
        follow = self.is_vertical_scroll_end and not self.is_vertical_scrollbar_grabbed
        new = list(lines)
        if not new:
            return
        start = len(self._lines)
        self._lines.extend(new)
        self._width = max(self._width, max(map(len, new)))
        if (drop := len(self._lines) - self.max_lines) > 0:
            del self._lines[:drop]
            self._first += drop
            start = 0  # every visible line moved up
        self.virtual_size = Size(self._width, len(self._lines))
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh_lines(start, len(self._lines) - start)

    def clear(self) -> None:
        self._lines.clear()
        self._cache.clear()
        self._first = self._width = 0
        self.virtual_size = Size(0, 0)
        self.refresh()

    # --- drawing ------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        index = scroll_y + y
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        strip = self._strip(index)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style).apply_offsets(scroll_x, index)

    def _strip(self, index: int) -> Strip:
        selection = self.text_selection
        key = self._first + index
        if selection is None and key in self._cache:
            return self._cache[key]
        line = self._lines[index]
        text = Text(line, no_wrap=True)
        text.stylize(self.rich_style)
        if selection is not None and (span := selection.get_span(index)) is not None:
            start, end = span
            style = self.screen.get_component_rich_style("screen--selection")
            text.stylize(style, start, len(line) if end == -1 else end)
        strip = Strip(text.render(self.app.console), len(line))
        if selection is None:
            if len(self._cache) >= CACHE_LINES:
                self._cache.clear()
            self._cache[key] = strip
        return strip

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract("\n".join(self._lines)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._cache.clear()
        self.refresh()
