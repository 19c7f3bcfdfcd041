"""What a report section is made of, and the escaping for each place a text lands.

A check's report section (the ``report_section(evidence)`` hook, `report.sections`) returns
a `Section`: a title and blocks (plain-text paragraphs, `Table`s, `Image`s). Blocks hold
plain, unescaped text; the markdown report (`report.py`) and the HTML report
(`report/html_page.py`) escape it for where it lands, so a check never writes markup. A hook may
instead return markdown lines it escaped itself (``Section.markdown``); the HTML report
renders those with markdown-it, raw HTML off.

Escaping (issue 18 item 8): every text from criteria.toml or a tool's output is untrusted.
`md_inline` is for running markdown text and table cells (backslash escapes, whitespace
collapsed), `md_code` for an inline code span (delimiters longer than any backtick run
inside), `md_fence` for a fenced block (a fence longer than any inside), `mermaid_label`
for a quoted label in a mermaid chart (no quotes, backticks, angle brackets, newlines).
HTML is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_compare.export import md_cell

CELL_MAX = 300  # characters of text in one table cell (the rest is in the appendix)


def shorten(text: Any, limit: int) -> str:
    """*text* on one line, cut to at most *limit* characters with an ellipsis."""
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: max(0, limit - 1)].rstrip() + "…"


def md_inline(text: Any) -> str:
    """Text for running markdown or a table cell: no markup, link, HTML, entity or heading from it survives."""
    out = md_cell(text)
    for char in "&~":  # entities and strikethrough; md_cell escapes the rest (``\\ | * _ ` [ ] < >``)
        out = out.replace(char, "\\" + char)
    return out


def md_code(text: Any) -> str:
    """An inline code span holding *text* exactly (on one line)."""
    one = " ".join(str(text).split())
    longest = max((len(run) for run in re.findall(r"`+", one)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if one.startswith("`") or one.endswith("`") or longest else ""
    return f"{ticks}{pad}{one}{pad}{ticks}"


def md_fence(text: str, info: str = "text") -> list[str]:
    """A fenced code block holding *text*: its fence is longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * max(3, longest + 1)
    return [fence + info, text.rstrip("\n"), fence]


def mermaid_label(text: Any) -> str:
    """Text for a double-quoted mermaid label: one line, no quote, backtick, angle bracket or ampersand."""
    one = " ".join(str(text).split())
    return re.sub(r"[\"`<>&#;{}\[\]\\]", "_", one)


def anchor(*parts: str) -> str:
    """An id for a link target: lower-case letters, digits and hyphens only (safe in markdown and HTML)."""
    return "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") or "x" for p in parts)


@dataclass
class Table:
    header: list[str]
    rows: list[list[Any]]
    align: list[str] | None = None  # "l", "r" per column


@dataclass
class Image:
    caption: str
    path: Path  # a file on this machine (the HTML report embeds it, the markdown links it)
    shown_as: str  # how the report names it (no machine path)


@dataclass
class Section:
    """A report section: *title* and blocks in order (str paragraphs, Tables, Images)."""

    title: str
    blocks: list[str | Table | Image] = field(default_factory=list)
    check: str = ""  # the check it belongs to
    data: dict[str, Any] = field(default_factory=dict)  # figures for charts (the HTML report)
    markdown: list[str] = field(default_factory=list)  # a hook that writes markdown lines itself (escaped by it)
