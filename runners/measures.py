"""Small measurements the checks share: disk used by a tool's store, lines a tool adds to a script."""

from __future__ import annotations

import difflib
from pathlib import Path


def dir_size(*paths: Path) -> int:
    """Bytes used by files under *paths* (missing paths count as 0)."""
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return total


def diff_lines(plain: str, tool: str) -> tuple[int, int]:
    """Lines added and removed going from the plain script's text to the tool's (blank lines not counted)."""
    added = removed = 0
    for line in difflib.unified_diff(plain.splitlines(), tool.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += bool(line[1:].strip())
        elif line.startswith("-") and not line.startswith("---"):
            removed += bool(line[1:].strip())
    return added, removed
