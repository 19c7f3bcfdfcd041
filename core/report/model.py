"""What the decision report says, computed once for the markdown and the HTML report.

`build` gathers, for a profile and the stored evidence: the scored summary, the SMAA outputs
(`smaa.analyse`, same draws as P(first)), the smallest flip, the contradictions between
expert and measured ratings, each tool's three reasons that move its score most, the
checkpoint matrix (a rating and a phrase of at most `PHRASE_MAX` characters per cell), the
evidence bullets per checkpoint and tool (at most `BULLET_MAX`, figures first, each linking
the appendix), the appendix items (one per check and tool, the full text) and each check's
report section (`report.sections.sections`). Everything here is plain text: the renderers
escape it for where it lands.

A reason's effect is how far a checkpoint moves a tool's score against the average tool:
weight x (the tool's rating - the mean rating of all tools) / the sum of weights. The
effects of one tool add up to its score minus the mean score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_compare.criteria import WEIGHT_MAX, Criteria, Profile
from mlops_compare.events import CHECKS, CHECKS_BY_ID
from mlops_compare.evidence import Cell, Evidence, check_score, run_label, without_workspace
from mlops_compare.report.blocks import Section, anchor, shorten
from mlops_compare.report.sections import phrase, sections
from mlops_compare.scoring import smaa
from mlops_compare.scoring.summary import Summary, summarize

PHRASE_MAX = 60
BULLET_MAX = 300
REASONS = 3


@dataclass(frozen=True)
class Reason:
    checkpoint: str
    title: str
    effect: float  # points of score against the average tool
    rating: float
    mean: float
    weight: float
    why: str


@dataclass(frozen=True)
class Contradiction:
    tool: str
    checkpoint: str
    title: str
    expert: float
    expert_why: str
    measured: float
    measured_why: str


@dataclass(frozen=True)
class MatrixCell:
    cell: Cell
    phrase: str  # <= PHRASE_MAX characters


@dataclass(frozen=True)
class Bullet:
    tool: str
    text: str  # <= BULLET_MAX characters, without the links
    links: list[tuple[str, str]]  # (check id, appendix anchor)


@dataclass(frozen=True)
class AppendixItem:
    check: str
    tool: str
    anchor: str
    status: str
    run: str
    seconds: float | None
    evidence: str  # full text, no machine path
    numbers: dict[str, Any]


@dataclass
class Model:
    criteria: Criteria
    profile: Profile
    evidence: Evidence
    summary: Summary
    smaa: smaa.Smaa
    names: dict[str, str]
    flip: str
    contradictions: list[Contradiction]
    reasons: dict[str, list[Reason]]
    matrix: dict[str, dict[str, MatrixCell]]  # checkpoint -> tool -> cell
    bullets: dict[str, list[Bullet]]  # checkpoint -> bullets
    appendix: list[AppendixItem]
    sections: list[Section] = field(default_factory=list)

    @property
    def tools(self) -> list[str]:
        return self.summary.tools


def _flip_text(summary: Summary, names: dict[str, str]) -> str:
    found = [f for f in summary.flips.values() if f.delta is not None]
    if not found:
        return f"no single weight change within 0..{WEIGHT_MAX:g} changes first place"
    f = min(found, key=lambda f: abs(f.delta or 0.0))
    title = summary.criteria.checkpoint(f.checkpoint).title
    who = names.get(f.challenger or "", f.challenger or "")
    if f.delta == 0:
        return f"first place is shared: any change of the weight of {title} decides it (with {who})"
    return f"changing the weight of {title} by {f.delta:+.2f} (to {f.new_weight:.2f}) lets {who} draw level"


def _reasons(summary: Summary) -> dict[str, list[Reason]]:
    weights = summary.profile.weights
    total = sum(weights.values())
    tools = summary.tools
    out: dict[str, list[Reason]] = {}
    for tool in tools:
        found = []
        for c in summary.criteria.checkpoints:
            w = weights[c.id]
            if w <= 0:
                continue
            cell = summary.cells[tool][c.id]
            mean = sum(summary.cells[t][c.id].value for t in tools) / len(tools)
            effect = w * (cell.value - mean) / total
            found.append(Reason(c.id, c.title, effect, cell.value, mean, w, cell.why))
        found.sort(key=lambda r: -abs(r.effect))
        out[tool] = [r for r in found[:REASONS] if abs(r.effect) > 1e-9]
    return out


def _contradictions(summary: Summary) -> list[Contradiction]:
    out = []
    for c in summary.criteria.checkpoints:
        for tool in summary.tools:
            cell = summary.cells[tool][c.id]
            if cell.contradiction and cell.expert is not None and cell.measured is not None:
                expert_why = summary.criteria.tools[tool].ratings[c.id].why
                out.append(
                    Contradiction(tool, c.id, c.title, cell.expert, expert_why, cell.measured, cell.measured_why)
                )
    return out


def _checkpoint_checks(evidence: Evidence, tool: str, check_ids: tuple[str, ...] | list[str]) -> list[Any]:
    found = evidence.tools.get(tool)
    return [found.checks[cid] for cid in check_ids if found is not None and cid in found.checks]


def _matrix_and_bullets(
    summary: Summary, evidence: Evidence, names: dict[str, str]
) -> tuple[dict[str, dict[str, MatrixCell]], dict[str, list[Bullet]]]:
    matrix: dict[str, dict[str, MatrixCell]] = {}
    bullets: dict[str, list[Bullet]] = {}
    for c in summary.criteria.checkpoints:
        matrix[c.id], bullets[c.id] = {}, []
        for tool in summary.tools:
            cell = summary.cells[tool][c.id]
            ran = [
                m
                for m in _checkpoint_checks(evidence, tool, c.evidence)
                if check_score(m.check_id, m.check) is not None
            ]
            if cell.measured is not None and ran:
                short = ", ".join(f"{m.check_id} {phrase(m.check_id, m.check) or m.status}" for m in ran)
                head = f"{names[tool]} {cell.value:g} ({cell.source}; expert {cell.expert:g}"
                head += f"; measured {cell.measured:g}" if cell.used != "measured" else ""
                head += ")" + (" ⚠ " + ", ".join(cell.flags) if cell.flags else "") + ": "
                body = "; ".join(
                    f"{m.check_id} {m.status} ({check_score(m.check_id, m.check):.2f})"
                    + (f", {figures}," if (figures := phrase(m.check_id, m.check)) else "")
                    + f" on {m.run}: {m.evidence}"
                    for m in ran
                )
                links = [(m.check_id, anchor("ev", m.check_id, tool)) for m in ran]
            else:
                short = cell.why
                head = f"{names[tool]} {cell.value:g} ({cell.source})" + (
                    " ⚠ " + ", ".join(cell.flags) if cell.flags else ""
                )
                head += ": "
                body = cell.why
                links = []
            matrix[c.id][tool] = MatrixCell(cell, shorten(short, PHRASE_MAX))
            bullets[c.id].append(Bullet(tool, shorten(head + body, BULLET_MAX), links))
    return matrix, bullets


def _appendix(evidence: Evidence) -> list[AppendixItem]:
    out = []
    for check in CHECKS:
        for tool, found in evidence.tools.items():
            measured = found.checks.get(check.id)
            if measured is not None:
                seconds = measured.check.get("seconds")
                out.append(
                    AppendixItem(
                        check.id,
                        tool,
                        anchor("ev", check.id, tool),
                        measured.status,
                        measured.run,
                        float(seconds) if isinstance(seconds, int | float) else None,
                        measured.evidence,
                        {
                            k: without_workspace(v, measured.record) if isinstance(v, str) else v
                            for k, v in dict(measured.check.get("numbers") or {}).items()
                        },
                    )
                )
                continue
            latest = found.latest
            skipped = latest.checks.get(check.id) if latest is not None else None
            if (
                latest is not None and skipped and CHECKS_BY_ID[check.id].enabled_by
            ):  # why a configurable check did not run
                text = without_workspace(str(skipped.get("evidence") or ""), latest)
                out.append(
                    AppendixItem(
                        check.id,
                        tool,
                        anchor("ev", check.id, tool),
                        str(skipped.get("status", "-")),
                        run_label(latest.started_at),
                        None,
                        text,
                        {},
                    )
                )
    return out


def build(criteria: Criteria, profile: Profile, evidence: Evidence) -> Model:
    summary = summarize(criteria, profile, evidence)
    names = {t: criteria.tools[t].name for t in summary.tools}
    ratings = {t: {c: cell.value for c, cell in per.items()} for t, per in summary.cells.items()}
    matrix, bullets = _matrix_and_bullets(summary, evidence, names)
    return Model(
        criteria=criteria,
        profile=profile,
        evidence=evidence,
        summary=summary,
        smaa=smaa.analyse(profile.weights, {t: ratings[t] for t in summary.tools}),
        names=names,
        flip=_flip_text(summary, names),
        contradictions=_contradictions(summary),
        reasons=_reasons(summary),
        matrix=matrix,
        bullets=bullets,
        appendix=_appendix(evidence),
        sections=sections(evidence),
    )
