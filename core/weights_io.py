"""Writing changed profile weights back into a criteria file, keeping its comments and layout.

The TUI's "save weights" goes through here; nothing in this module imports Textual. The
file is edited as a TOML document (tomlkit round-trip), so only the changed numbers move:
comments, blank lines, key order and the alignment of trailing comments survive. The
write is atomic (`mlops_compare.atomic.write_text`).

Where the weights go: the criteria file that was loaded, or ``./criteria.toml`` when the
loaded one is the default shipped inside the package (which must never be edited in
place). An existing ``./criteria.toml`` that is a different file is not overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import tomlkit
from mlops_compare import atomic
from mlops_compare.criteria import LOCAL, Criteria
from mlops_compare.errors import Problem, UserError
from tomlkit.exceptions import ParseError
from tomlkit.items import Item

Changes = Mapping[str, Mapping[str, float]]  # profile id -> checkpoint id -> weight


def target(criteria: Criteria) -> Path:
    """The file that saved weights are written to."""
    return LOCAL if criteria.shipped else criteria.path


def _number(value: float) -> int | float:
    value = round(float(value), 6)
    return int(value) if value.is_integer() else value


def apply(text: str, changes: Changes, name: str = "criteria.toml") -> str:
    """Return *text* with the weights in *changes* set; everything else is left as it was."""
    try:
        doc = tomlkit.parse(text)
    except ParseError as exc:
        raise UserError([Problem(name, exc.line, exc.col, f"TOML syntax error: {exc}")]) from None
    profiles = doc.get("profile")
    for pid, weights in changes.items():
        if not weights:
            continue
        if profiles is None or pid not in profiles:
            raise UserError([Problem(name, None, None, f"profile {pid!r} is not in the file; cannot save its weights")])
        profile = profiles[pid]
        if "weights" not in profile:
            profile["weights"] = tomlkit.table()
        table = profile["weights"]
        for cid, weight in weights.items():
            new = _number(weight)
            old = table.get(cid)
            if isinstance(old, int | float) and float(old) == float(new):
                continue  # unchanged: leave its spelling (7 or 7.0) alone
            old_text = old.as_string() if isinstance(old, Item) else None
            old_ws = old.trivia.comment_ws if isinstance(old, Item) else ""
            table[cid] = new
            item = table[cid]
            if old_text is not None and isinstance(item, Item) and item.trivia.comment:
                # keep trailing comments in the column they were aligned to
                shift = len(old_text) + len(old_ws) - len(item.as_string())
                item.trivia.comment_ws = " " * max(1, shift)
    return tomlkit.dumps(doc)


def save(criteria: Criteria, changes: Changes) -> Path:
    """Write *changes* into the criteria file (see `target`); return the path written.

    Raises UserError when the target is another file that already exists, when the source
    cannot be read, or when the result would not load as valid criteria (nothing is written then).
    """
    from mlops_compare import criteria as criteria_module

    path = target(criteria)
    if criteria.shipped and path.exists() and path.resolve() != criteria.path.resolve():
        raise UserError(
            [
                Problem(
                    str(path),
                    None,
                    None,
                    "already exists and is not the criteria file in use; start with --criteria criteria.toml "
                    "to edit it, or move it away to save the shipped default's weights here",
                )
            ]
        )
    try:
        text = criteria.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError([Problem(str(criteria.path), None, None, f"cannot read it: {exc}")]) from None
    new_text = apply(text, changes, str(criteria.path))
    # validate before writing: a save must never leave a file that does not load
    criteria_module.parse(tomlkit.parse(new_text).unwrap(), path)
    atomic.write_text(path, new_text)
    return path
