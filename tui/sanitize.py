"""Runner output made safe to show: literal text, one line, bounded length.

A runner is untrusted: its lines may hold Rich markup (``[bold red]``), ANSI escape
sequences, control characters, lone surrogates from broken JSON, bidi overrides or a
megabyte of text. `clean` turns any of that into a single printable line of at most
`MAX_LINE` characters; `literal` wraps it in a `rich.text.Text`, which is never parsed as
markup.
"""

from __future__ import annotations

import re

from rich.text import Text

MAX_LINE = 500
# CSI ... final, OSC ... BEL/ST, and two-character escapes
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")
# C0/C1 controls, DEL, lone surrogates, line/paragraph separators, bidi overrides and isolates
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def clean(line: str, limit: int = MAX_LINE) -> str:
    """One display-safe line: escapes removed, controls replaced, cut at *limit* with a marker."""
    total = len(line)
    if total <= limit and line.isprintable():
        return line  # the common case, at C speed (escapes, controls, surrogates, bidi: not printable)
    if total > limit * 4:  # never run the regexes over a megabyte
        line = line[: limit * 4]
    if "\r" in line:  # a progress bar redraws with CR: keep what a terminal would show last
        line = next((part for part in reversed(line.split("\r")) if part), "")
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    line = _UNSAFE.sub(REPLACEMENT, line.expandtabs(4))
    if len(line) > limit or total > limit * 4:
        cut = total - limit if total > limit * 4 else len(line) - limit
        line = f"{line[:limit]} … [{cut:,} more characters]"
    return line


def literal(text: str, limit: int = MAX_LINE, style: str = "") -> Text:
    """*text* as a Text that is displayed exactly (after `clean`), never interpreted."""
    return Text(clean(text, limit), style=style, no_wrap=False)


def literal_block(text: str, limit: int = 4 * MAX_LINE, style: str = "") -> Text:
    """Like `literal` for text that may hold several lines (evidence, reasons): lines kept."""
    lines = str(text).splitlines() or [""]
    return Text("\n").join(Text(clean(line, limit), style=style) for line in lines[:50])
