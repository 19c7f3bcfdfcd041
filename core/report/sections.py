"""The exam's per-check report sections: each check's ``report_section`` hook, in table order.

Every check with something to show in the report has, in its module
``mlops_compare.checks.<check id>``, a ``report_section(evidence)`` hook returning a
`report.blocks.Section` (plain text, tables, images; the renderers escape) or None when it
has nothing to show, and may have a ``phrase(check)`` hook: its figures in a few words for
the checkpoint matrix. `sections` asks every check of the table; the report names no check.
A hook may also return markdown lines it escaped itself (kept as ``Section.markdown``).
"""

from __future__ import annotations

from typing import Any

from mlops_compare.evidence import Evidence, ToolEvidence
from mlops_compare.report.blocks import Section


def numbers(found: ToolEvidence, check_id: str) -> dict[str, Any]:
    """The figures of the tool's newest run of *check_id* ({} when it never ran)."""
    measured = found.checks.get(check_id)
    return dict(measured.check.get("numbers") or {}) if measured is not None else {}


def phrase(check_id: str, check: Any) -> str | None:
    """The check's figures in a few words (its ``phrase`` hook), None when it has none or says nothing."""
    from mlops_compare.checks import hook

    make = hook(check_id, "phrase")
    text = make(check) if make is not None else None
    return str(text) if text else None


def sections(evidence: Evidence) -> list[Section]:
    """Every check's section that has something to show, in the check table's order."""
    from mlops_compare.checks import with_hook

    out = []
    for check, make in with_hook("report_section"):
        found = make(evidence)
        if isinstance(found, list):  # markdown lines written by the hook
            found = Section("", markdown=[str(line) for line in found]) if found else None
        if found is not None:
            found.check = found.check or check.id
            out.append(found)
    return out
