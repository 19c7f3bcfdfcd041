"""Exam evidence into measured ratings: which run each check comes from, the rules, the flags.

Which run counts (`Evidence`): for each tool and check, the newest stored run in which that
check actually ran (``pass``, ``partial`` or ``fail``). A newer run where the check was
``skip`` or absent (cancelled, timed out, run with ``--check``) does not replace it, so one
interrupted rerun cannot turn measured ratings back into expert ones. Every measurement
keeps its run, so reports and screens can say which run (date) it comes from.

How a measured rating is made (the one place this is defined; the README repeats it):

1. A checkpoint in criteria.toml names exam checks as its ``evidence``.
2. Each of those checks that ran scores 0..1: ``pass`` = 1, ``partial`` = 0.5, ``fail`` = 0,
   except checks scored on figures: those whose module in core/checks/ has a ``score`` rule
   (`check_score`; each module's docstring states its rule).
3. The measured rating is 5 x the mean of those scores, rounded to 0.5.
4. A checkpoint with no check that ran keeps its expert rating.

A profile's ``ratings`` option picks what scores: ``expert``, ``measured`` (a checkpoint
with no measurement scores 0 for that tool: unmeasured is unproven) or
``measured-when-available`` (the default). A measured rating 2 or more away from the
expert one is flagged ``contradiction``; an expert rating written for another
major.minor version of the tool than the one that ran is flagged ``stale``, and so is a
measurement from a run whose tool version (that of its tool environment, `mlops_compare.envs`)
differs in major.minor from the tool's newest run: a later run with other versions makes the
older rows stale.

Cross-tool agreement (`agreement`): at every grid point, every tool's rmse, mae and r2
must agree within `TOLERANCE`; a NaN or infinite value anywhere at a point makes that
point disagree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_compare import checks
from mlops_compare.criteria import Criteria, Profile
from mlops_compare.events import AGREEMENT_TOLERANCE, CHECK_IDS
from mlops_compare.results import RunRecord

STATUS_SCORE = {"pass": 1.0, "partial": 0.5, "fail": 0.0}
CONTRADICTION = 2.0
BASELINE = "plain"
TOLERANCE = AGREEMENT_TOLERANCE  # metrics of every tool vs each other (baseline_match uses it too)
TOLERANCE_TEXT = "{}e{}".format(*(int(part) for part in f"{AGREEMENT_TOLERANCE:.0e}".split("e")))  # "1e-9"
WORKSPACE = "<workspace>"  # stands for a run's temporary folder in texts that are shared
TOOL_ENV = "<tool env>"  # stands for the run's tool environment (mlops_compare.envs)


def check_score(check_id: str, check: Mapping[str, Any]) -> float | None:
    """0..1 for one check that ran, None for a skipped or unknown one.

    The check's own ``score`` rule (core/checks/<id>.py) when it has one and it applies,
    else the status's score.
    """
    status = check.get("status")
    if status not in STATUS_SCORE:
        return None
    rule = checks.hook(check_id, "score") if check_id in CHECK_IDS else None
    scored = rule(check) if rule is not None else None
    return float(scored) if scored is not None else STATUS_SCORE[status]


def run_label(started_at: str) -> str:
    """'2026-11-27 09:12 UTC' for a record's ISO ``started_at`` (stored in UTC)."""
    if not started_at:
        return "an undated run"
    return started_at[:16].replace("T", " ") + " UTC"


# The temporary "shared file system" folder the storage check makes next to the workspace.
_SHARED_TEMP = re.compile(r"/\S*/mlops-compare-shared-[\w.-]+")


def without_workspace(text: str, record: RunRecord) -> str:
    """*text* with the run's folders written as ``<workspace>``, ``<tool env>`` and ``<shared folder>``.

    No machine paths in shared texts.
    """
    for folder, name in ((record.workspace, WORKSPACE), (record.environment.get("path"), TOOL_ENV)):
        if folder:
            for path in {folder, str(Path(folder).resolve())}:
                text = text.replace(path, name)
    return _SHARED_TEMP.sub("<shared folder>", text)


@dataclass(frozen=True)
class Measurement:
    """One check as it ran, and the run (record) it ran in."""

    check_id: str
    check: Mapping[str, Any]
    record: RunRecord

    @property
    def status(self) -> str:
        return str(self.check.get("status"))

    @property
    def run(self) -> str:
        """The run's date, as reports and screens write it."""
        return run_label(self.record.started_at)

    @property
    def evidence(self) -> str:
        """The runner's evidence text, its workspace path written as ``<workspace>``."""
        return without_workspace(str(self.check.get("evidence") or ""), self.record)


@dataclass
class ToolEvidence:
    """One tool's evidence: per check id the newest run in which it ran, and the newest run overall."""

    tool: str
    latest: RunRecord | None = None  # the newest record, whatever its status (what the panes show)
    checks: dict[str, Measurement] = field(default_factory=dict)
    measured_in: RunRecord | None = None  # the newest record with a check that ran

    @classmethod
    def of(cls, record: RunRecord) -> ToolEvidence:
        """The evidence of a single run."""
        out = cls(record.tool)
        out.add_older(record)
        return out

    def add_older(self, record: RunRecord) -> None:
        """Fold in *record*, older than every record folded in so far: it fills only checks not yet measured."""
        if self.latest is None:
            self.latest = record
        ran = _ran(record)
        if ran and self.measured_in is None:
            self.measured_in = record
        for check_id, check in ran.items():
            self.checks.setdefault(check_id, Measurement(check_id, check, record))

    def with_newer(self, record: RunRecord) -> ToolEvidence:
        """A copy with *record*, newer than every record so far: its checks that ran replace the older ones."""
        ran = _ran(record)
        checks = {**self.checks, **{cid: Measurement(cid, check, record) for cid, check in ran.items()}}
        return ToolEvidence(self.tool, record, checks, record if ran else self.measured_in)

    @property
    def complete(self) -> bool:
        """Every check of the exam has a measurement: older runs cannot change anything."""
        return all(check_id in self.checks for check_id in CHECK_IDS)

    @property
    def tool_version(self) -> str:
        return self.measured_in.tool_version if self.measured_in is not None else ""

    @property
    def grid_record(self) -> RunRecord | None:
        """The run the grid's metrics come from: the newest in which the check giving them ran."""
        grid = self.checks.get(checks.metrics_check())
        return grid.record if grid is not None else None

    @property
    def inputs_record(self) -> RunRecord | None:
        """The run to read the data set and grid from: the one the metrics come from, else the newest."""
        return self.grid_record or self.latest

    def runs(self, check_ids: Iterable[str] | None = None) -> list[str]:
        """The dates of the runs the given checks (default: all measured) come from, newest first."""
        chosen = [self.checks[c] for c in (self.checks if check_ids is None else check_ids) if c in self.checks]
        records = sorted({id(m.record): m.record for m in chosen}.values(), key=lambda r: r.started_at, reverse=True)
        return [run_label(r.started_at) for r in records]


def _ran(record: RunRecord) -> dict[str, Mapping[str, Any]]:
    return {cid: check for cid, check in record.checks.items() if check.get("status") in STATUS_SCORE}


class Evidence:
    """Every tool's evidence (empty before anything ran). Immutable: `with_record` returns a new one.

    ``Evidence({tool: record})`` is the evidence of one run per tool; `from_store` reads the
    store's history so that each check comes from the newest run in which it ran.
    """

    def __init__(self, records: Mapping[str, RunRecord] | None = None):
        self.tools: dict[str, ToolEvidence] = {}
        # store files that could not be read as records (`store.Damaged`: path, reason), oldest first
        self.damaged: list[Any] = []
        for tool, record in (records or {}).items():
            self.tools[tool] = ToolEvidence(tool)
            self.tools[tool].add_older(record)

    @classmethod
    def from_tools(cls, tools: Iterable[ToolEvidence]) -> Evidence:
        out = cls()
        out.tools = {t.tool: t for t in tools}
        return out

    @classmethod
    def from_history(cls, records: Iterable[RunRecord]) -> Evidence:
        """From records given newest first."""
        out = cls()
        for record in records:
            out.tools.setdefault(record.tool, ToolEvidence(record.tool)).add_older(record)
        return out._in_reading_order()

    @classmethod
    def from_store(cls, store_dir: str | Path | None) -> Evidence:
        """The store's runs, newest first, read until every check of a tool is measured (or none is left)."""
        if store_dir is None:
            return cls()
        from mlops_compare.store import Store

        store = Store(store_dir)
        out = cls()
        # The store's index says which checks each run ran: a run is read only when it is a
        # tool's newest or measures a check no newer run of that tool measured.
        complete: set[str] = set()  # tools with every check measured: older runs change nothing
        ran_of: dict[str, frozenset[str]] = {}  # the checks that ran, per distinct index entry
        for entry in reversed(store.entries()):
            if entry.damaged or entry.tool in complete:
                continue
            known = out.tools.get(entry.tool)
            if known is not None:
                ran = ran_of.get(entry.checks_key)
                if ran is None:
                    ran = frozenset(c for c, status in entry.checks.items() if status in STATUS_SCORE)
                    ran_of[entry.checks_key] = ran
                if ran <= known.checks.keys():
                    continue  # every check this run ran is measured by a newer run of the tool
            record = store.read(entry.path)
            if record is None:
                continue  # unreadable: the tool's older runs still count; named in `damaged`
            found = out.tools.setdefault(record.tool, ToolEvidence(record.tool))
            found.add_older(record)
            if found.complete:
                complete.add(record.tool)
        out.damaged = store.damaged()
        return out._in_reading_order()

    def _in_reading_order(self) -> Evidence:
        """Tools in the order people read them (baseline first, the study's order), not by date."""
        from mlops_compare.registry import PREFERRED

        rank = {name: i for i, name in enumerate(PREFERRED)}
        self.tools = dict(sorted(self.tools.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))
        return self

    def with_record(self, record: RunRecord) -> Evidence:
        """A copy with *record* as the newest run of its tool (a run that just finished)."""
        known = self.tools.get(record.tool)
        newer = known.with_newer(record) if known is not None else ToolEvidence.of(record)
        out = Evidence.from_tools({**self.tools, record.tool: newer}.values())
        out.damaged = self.damaged
        return out

    @property
    def records(self) -> dict[str, RunRecord]:
        """The newest record per tool, whatever its status."""
        return {tool: t.latest for tool, t in self.tools.items() if t.latest is not None}

    def measured(self, tool: str) -> ToolEvidence | None:
        """The tool's evidence if any of its checks ran, else None."""
        found = self.tools.get(tool)
        return found if found is not None and found.checks else None


def dataset_of(record: RunRecord) -> dict[str, Any]:
    """The record's data set, its normalised copy's checksum as ``normalised_sha256`` only
    (records before the source file's checksum was added call it ``sha256``)."""
    dataset = dict(record.dataset or {})
    legacy = dataset.pop("sha256", None)
    if legacy and "normalised_sha256" not in dataset:
        dataset["normalised_sha256"] = legacy
    return dataset


def variants(evidence: Evidence, field: str) -> list[tuple[dict[str, Any], list[str]]]:
    """Distinct data sets (*field* "dataset") or grids ("grid") the tools' metrics come from, each with its tools."""
    out: list[tuple[dict[str, Any], list[str]]] = []
    for tool, found in evidence.tools.items():
        record = found.inputs_record
        value = (dataset_of(record) if field == "dataset" else dict(getattr(record, field) or {})) if record else {}
        if not value:
            continue
        for seen, tools in out:
            if seen == value:
                tools.append(tool)
                break
        else:
            out.append((value, [tool]))
    return out


def measure(source: ToolEvidence | RunRecord, check_ids: Iterable[str]) -> tuple[float, str] | None:
    """The measured 0-5 rating from the checks that ran, with a one-line why naming each check's run.

    *source* is a tool's evidence across runs, or a single run. None if none of the checks ran.
    """
    tool = source if isinstance(source, ToolEvidence) else ToolEvidence.of(source)
    parts = []
    for check_id in check_ids:
        found = tool.checks.get(check_id)
        value = check_score(check_id, found.check) if found is not None else None
        if found is not None and value is not None:
            parts.append((found, value))
    if not parts:
        return None
    rating = round(5 * sum(v for _, v in parts) / len(parts) * 2) / 2
    why = "; ".join(f"{m.check_id} {m.status} ({v:.2f}) on {m.run}: {m.evidence}" for m, v in parts)
    return rating, why


def major_minor(version: str) -> tuple[tuple[str, ...], ...]:
    """("3", "67") per tool of *version*: one release, or a combination's "3.67.1 + 3.17.2"."""
    return tuple(tuple(part.strip().split(".")[:2]) for part in version.split(" + ")) if version else ()


def older_version(found: ToolEvidence | None, check_ids: Iterable[str]) -> bool:
    """A measurement of *check_ids* comes from a run whose tool version (the tool environment's,
    major.minor) differs from the tool's newest run: a later run with other versions made it stale."""
    newest = found.latest.tool_version if found is not None and found.latest is not None else ""
    if not newest:
        return False
    for check_id in check_ids:
        measurement = found.checks.get(check_id) if found is not None else None
        ran = measurement.record.tool_version if measurement is not None else ""
        if ran and major_minor(ran) != major_minor(newest):
            return True
    return False


@dataclass(frozen=True)
class Cell:
    """The rating a tool gets on a checkpoint, with where it came from.

    `value` is the rating used for scoring; `expert` and `measured` keep both sides when
    exam evidence exists, with the flags that go with them and the dates of the runs the
    measurement comes from (`measured_runs`, newest first).
    """

    value: float
    why: str
    source: str
    expert: float | None = None
    measured: float | None = None
    measured_why: str = ""
    used: str = "expert"  # "expert" or "measured"
    contradiction: bool = False
    stale: bool = False
    measured_runs: tuple[str, ...] = ()

    @property
    def flags(self) -> list[str]:
        return (["contradiction"] if self.contradiction else []) + (["stale"] if self.stale else [])


def measured_cells(
    criteria: Criteria, profile: Profile, evidence: Evidence | None = None
) -> dict[str, dict[str, Cell]]:
    """tool -> checkpoint -> the Cell scored under *profile*: expert or measured as its ``ratings`` says."""
    evidence = evidence or Evidence()
    out: dict[str, dict[str, Cell]] = {}
    for tool in criteria.tools.values():
        found = evidence.measured(tool.id)
        ran = found.tool_version if found else ""
        stale = bool(ran and tool.version and major_minor(ran) != major_minor(tool.version))
        per: dict[str, Cell] = {}
        for checkpoint in criteria.checkpoints:
            expert = tool.ratings[checkpoint.id]
            measured = measure(found, checkpoint.evidence) if found else None
            value, why, source, used = expert.value, expert.why, expert.source or "expert", "expert"
            if measured is not None and profile.ratings != "expert":
                value, why, used = measured[0], measured[1], "measured"
                source = "measured: " + ", ".join(checkpoint.evidence)
            elif profile.ratings == "measured":
                value, why, source, used = (
                    0.0,
                    "not measured: scores 0 under ratings = measured",
                    "unmeasured",
                    "measured",
                )
            per[checkpoint.id] = Cell(
                value=value,
                why=why,
                source=source,
                expert=expert.value,
                measured=measured[0] if measured else None,
                measured_why=measured[1] if measured else "",
                used=used,
                contradiction=measured is not None and abs(measured[0] - expert.value) >= CONTRADICTION,
                stale=stale or (measured is not None and older_version(found, checkpoint.evidence)),
                measured_runs=tuple(found.runs(checkpoint.evidence)) if measured and found else (),
            )
        out[tool.id] = per
    return out


def agreement(evidence: Evidence) -> tuple[list[dict[str, Any]], float | None]:
    """Per grid point, every tool's (rmse, mae, r2), the largest difference between any two and
    whether they agree (within TOLERANCE; a NaN or infinity anywhere at a point disagrees).

    Each tool's metrics come from its newest run in which the grid check ran. Returns the
    rows and the worst difference (None when no metrics are stored; inf for a NaN).
    """
    points: dict[tuple[float, float], dict[str, tuple[float, float, float]]] = {}
    for tool, found in evidence.tools.items():
        record = found.grid_record
        for m in record.metrics if record is not None else ():
            points.setdefault((m["alpha"], m["l1_ratio"]), {})[tool] = (m["rmse"], m["mae"], m["r2"])
    rows, worst = [], None
    for (alpha, l1), per_tool in sorted(points.items()):
        values = [v for triple in per_tool.values() for v in triple]
        if not all(math.isfinite(v) for v in values):
            diff = math.inf
        else:
            diff = max(max(t[i] for t in per_tool.values()) - min(t[i] for t in per_tool.values()) for i in range(3))
        worst = diff if worst is None else max(worst, diff)
        rows.append({"alpha": alpha, "l1_ratio": l1, "tools": per_tool, "max_diff": diff, "agrees": diff <= TOLERANCE})
    return rows, worst
