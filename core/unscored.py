"""Tools with a runner or stored runs but no ratings in criteria.toml: shown, not scored.

A tool is scored only once criteria.toml has a ``[tool.NAME]`` table with a rating, why and
source per checkpoint. A runner without one (a plugin just installed, say) still runs and
its results are stored; `score` and `report` show such a tool that ran with what it measured
and say that it is not scored until ratings are added, and `check` notes every installed
runner without ratings, rather than leaving it out without a word. The plain baseline is not
a candidate and is never listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops_compare import registry
from mlops_compare.criteria import Criteria
from mlops_compare.events import CHECK_IDS
from mlops_compare.evidence import BASELINE, Evidence, ToolEvidence, measure, run_label


@dataclass(frozen=True)
class Unscored:
    tool: str
    has_runner: bool
    found: ToolEvidence | None  # its stored evidence, None before it ran
    measured: dict[str, float]  # checkpoint id -> the measured rating it would get

    @property
    def note(self) -> str:
        has = "has a runner" if self.has_runner else "has stored runs"
        return (
            f"{self.tool} {has} but no ratings: it is not scored until ratings are added (a [tool.{self.tool}] "
            "table in criteria.toml with name, version and a rating, why and source per checkpoint)"
        )

    @property
    def checks(self) -> dict[str, str]:
        """Check id -> status, each from the newest run in which it ran."""
        if self.found is None:
            return {}
        return {c: self.found.checks[c].status for c in CHECK_IDS if c in self.found.checks}

    @property
    def newest(self) -> str:
        latest = self.found.latest if self.found is not None else None
        return f"{latest.status} ({run_label(latest.started_at)})" if latest is not None else "no run stored"


def unscored(criteria: Criteria, evidence: Evidence | None = None, *, installed: bool = False) -> list[Unscored]:
    """Tools with stored runs in *evidence* (and, with *installed*, every registered runner)
    that *criteria* has no ratings for."""
    runners = set(registry.available())
    names = (set(evidence.tools) if evidence is not None else set()) | (runners if installed else set())
    out = []
    for tool in sorted(names - set(criteria.tools) - {BASELINE}):
        found = evidence.measured(tool) if evidence is not None else None
        measured = {}
        for checkpoint in criteria.checkpoints:
            rating = measure(found, checkpoint.evidence) if found is not None else None
            if rating is not None:
                measured[checkpoint.id] = rating[0]
        out.append(Unscored(tool, tool in runners, found, measured))
    return out


def to_data(items: Sequence[Unscored]) -> list[dict[str, Any]]:
    return [
        {
            "tool": u.tool,
            "runner": u.has_runner,
            "newest_run": u.newest,
            "checks": u.checks,
            "measured": u.measured,
            "note": u.note,
        }
        for u in items
    ]
