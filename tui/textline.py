"""A fixed-height text widget that repaints without asking for a new layout.

`Static.update` always requests a layout pass of the whole screen, which is what makes a
busy screen slow to answer a key. Status lines that change often (run status, evidence,
the selected checkpoint's weight) use this instead: the height comes from the stylesheet
(or from the number of lines, with `height: auto`), and a change repaints only this
widget, and only when the text really changed.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class TextLine(Widget):
    DEFAULT_CSS = """
    TextLine {
        height: 1;
    }
    """

    def __init__(self, text: Text | str = "", **kwargs):
        super().__init__(**kwargs)
        self._text = Text(text) if isinstance(text, str) else text

    @property
    def text(self) -> Text:
        return self._text

    def show(self, text: Text | str) -> None:
        text = Text(text) if isinstance(text, str) else text
        if text != self._text:
            # a new layout only if the number of lines changed (matters with `height: auto`)
            layout = text.plain.count("\n") != self._text.plain.count("\n")
            self._text = text
            self.refresh(layout=layout)

    def render(self) -> Text:
        return self._text
