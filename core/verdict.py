"""Evidence into scores: measured ratings from exam results, flags, and the decision report.

How a measured rating is made (the one place this is defined; the README repeats it):

1. A checkpoint in criteria.toml names exam checks as its ``evidence``.
2. Each of those checks that ran (status other than ``skip``) scores 0..1:
   ``pass`` = 1, ``partial`` = 0.5, ``fail`` = 0, except two checks scored on figures:
   - ``invasiveness``: 1 - (lines added + 5 x tool-specific files) / 60, clipped to 0..1
     (a 10-line change with one config file scores 0.75);
   - ``overhead``: 1 / (1 + log10(ratio)), ratio = tool grid time / plain grid time run
     the same way, floored at 1 (x1 = 1.0, x10 = 0.5, x100 = 0.33).
3. The measured rating is 5 x the mean of those scores, rounded to 0.5.
4. A checkpoint with no check that ran keeps its expert rating.

A profile's ``ratings`` option picks what scores: ``expert``, ``measured`` (a checkpoint
with no measurement scores 0 for that tool: unmeasured is unproven) or
``measured-when-available`` (the default). A measured rating 2 or more away from the
expert one is flagged ``contradiction``; an expert rating written for another
major.minor version of the tool than the one that ran is flagged ``stale``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_compare import export, scoring
from mlops_compare.criteria import Criteria, Profile
from mlops_compare.export import md_cell, md_table
from mlops_compare.results import RunRecord
from mlops_compare.summary import Cell, Summary
from mlops_compare.summary import summarize as summarize_cells

STATUS_SCORE = {"pass": 1.0, "partial": 0.5, "fail": 0.0}
CONTRADICTION = 2.0
BASELINE = "plain"


def check_score(check_id: str, check: Mapping[str, Any]) -> float | None:
    """0..1 for one check that ran, None for a skipped or unknown one."""
    status = check.get("status")
    if status not in STATUS_SCORE:
        return None
    numbers = check.get("numbers") or {}
    if status != "fail" and check_id == "invasiveness" and "lines_added" in numbers:
        cost = float(numbers.get("lines_added", 0)) + 5 * float(numbers.get("tool_files", 0))
        return min(1.0, max(0.0, 1 - cost / 60))
    if status != "fail" and check_id == "overhead" and isinstance(numbers.get("ratio"), int | float):
        return 1 / (1 + math.log10(max(1.0, float(numbers["ratio"]))))
    return STATUS_SCORE[status]


def measure(record: RunRecord, check_ids: tuple[str, ...]) -> tuple[float, str] | None:
    """The measured 0-5 rating from *record*'s checks, with a one-line why; None if nothing ran."""
    parts = []
    for check_id in check_ids:
        check = record.checks.get(check_id)
        if not check:
            continue
        value = check_score(check_id, check)
        if value is not None:
            parts.append((check_id, value, check))
    if not parts:
        return None
    rating = round(5 * sum(v for _, v, _ in parts) / len(parts) * 2) / 2
    why = "; ".join(f"{cid} {c['status']} ({v:.2f}): {c.get('evidence', '')}" for cid, v, c in parts)
    return rating, why


def major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2]) if version else ()


@dataclass
class Evidence:
    """The latest stored run per tool (empty before anything ran)."""

    records: dict[str, RunRecord] = field(default_factory=dict)

    @classmethod
    def from_store(cls, criteria: Criteria, store_dir: str | Path | None) -> Evidence:
        if store_dir is None:
            return cls()
        from mlops_compare.store import Store

        return cls(Store(store_dir).latest())

    def usable(self, tool: str) -> RunRecord | None:
        record = self.records.get(tool)
        return record if record is not None and record.checks else None


def cells(criteria: Criteria, profile: Profile, evidence: Evidence) -> dict[str, dict[str, Cell]]:
    out: dict[str, dict[str, Cell]] = {}
    for tool in criteria.tools.values():
        record = evidence.usable(tool.id)
        stale = bool(
            record
            and record.tool_version
            and tool.version
            and major_minor(record.tool_version) != major_minor(tool.version)
        )
        per: dict[str, Cell] = {}
        for checkpoint in criteria.checkpoints:
            expert = tool.ratings[checkpoint.id]
            measured = measure(record, checkpoint.evidence) if record else None
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
                stale=stale,
            )
        out[tool.id] = per
    return out


def summarize(
    criteria: Criteria, profile: Profile, evidence: Evidence | None = None, with_p_first: bool = True
) -> Summary:
    return summarize_cells(
        criteria, profile, cells(criteria, profile, evidence or Evidence()), with_p_first=with_p_first
    )


# --- cross-tool agreement ----------------------------------------------------------------


def agreement(evidence: Evidence) -> tuple[list[dict[str, Any]], float | None]:
    """Per grid point, every tool's (rmse, mae, r2) and the largest difference between any two."""
    points: dict[tuple[float, float], dict[str, tuple[float, float, float]]] = {}
    for tool, record in evidence.records.items():
        for m in record.metrics:
            points.setdefault((m["alpha"], m["l1_ratio"]), {})[tool] = (m["rmse"], m["mae"], m["r2"])
    rows, worst = [], None
    for (alpha, l1), per_tool in sorted(points.items()):
        diff = 0.0
        triples = list(per_tool.values())
        for i in range(3):
            values = [t[i] for t in triples]
            diff = max(diff, max(values) - min(values))
        worst = diff if worst is None else max(worst, diff)
        rows.append({"alpha": alpha, "l1_ratio": l1, "tools": per_tool, "max_diff": diff})
    return rows, worst


# --- profiles side by side ---------------------------------------------------------------


def all_profiles(criteria: Criteria, evidence: Evidence) -> dict[str, Any]:
    """Ranks under every profile and a Borda compromise (n - rank points per profile)."""
    tools = list(criteria.tools)
    per_profile = {}
    borda = dict.fromkeys(tools, 0)
    for pid, profile in criteria.profiles.items():
        summary = summarize(criteria, profile, evidence)
        per_profile[pid] = {"scores": dict(summary.scores), "ranks": dict(summary.ranks)}
        for tool in tools:
            borda[tool] += len(tools) - summary.ranks[tool]
    compromise = scoring.ranks({t: float(v) for t, v in borda.items()})
    return {"profiles": per_profile, "borda": borda, "compromise": compromise}


def render_all_profiles(criteria: Criteria, evidence: Evidence, fmt: str) -> str:
    data = all_profiles(criteria, evidence)
    tools = sorted(criteria.tools, key=lambda t: (data["compromise"][t], -data["borda"][t]))
    if fmt == "json":
        import json

        return json.dumps(data, indent=2) + "\n"
    if fmt == "csv":
        lines = ["profile,tool,score,rank"]
        for pid, p in data["profiles"].items():
            lines += [f"{pid},{t},{p['scores'][t]:.4f},{p['ranks'][t]}" for t in tools]
        lines += [f"borda,{t},{data['borda'][t]},{data['compromise'][t]}" for t in tools]
        return "\n".join(lines) + "\n"
    names = [criteria.tools[t].name for t in tools]
    rows = [[pid] + [f"{p['scores'][t]:.2f} (#{p['ranks'][t]})" for t in tools] for pid, p in data["profiles"].items()]
    rows.append(["Borda compromise"] + [f"{data['borda'][t]} pts (#{data['compromise'][t]})" for t in tools])
    return (
        "# mlops-compare: every profile\n\n"
        + md_table(["profile", *names], rows, ["l"] + ["r"] * len(tools))
        + "\n\nBorda: each profile gives a tool (number of tools - rank) points; the compromise ranks by the sum.\n"
    )


# --- the decision report -----------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("mlops-compare", "mlflow", "dvc", "metaflow", "scikit-learn", "pandas", "numpy", "textual"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _rating_text(cell: Cell) -> str:
    text = f"{cell.value:g}"
    if cell.measured is not None:
        text += f" (expert {cell.expert:g}, measured {cell.measured:g})"
    flags = cell.flags
    return text + (" ⚠ " + ", ".join(flags) if flags else "")


def report(criteria: Criteria, profile: Profile, evidence: Evidence, command: str = "mlops-compare report") -> str:
    summary = summarize(criteria, profile, evidence)
    names = {t: criteria.tools[t].name for t in summary.tools}
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"# Decision report: {md_cell(profile.id)}",
        "",
        f"Generated {now} by mlops-compare from "
        + ("the shipped criteria.toml." if criteria.shipped else f"`{md_cell(criteria.path)}`."),
        "",
    ]
    if profile.description:
        out += [md_cell(profile.description), ""]
    out += [f"Ratings used: **{profile.ratings}**.", ""]

    # ranking
    out += ["## Ranking", ""]
    top = [t for t in summary.tools if summary.ranks[t] == 1]
    rows = [
        [names[t], f"{summary.scores[t]:.2f}", summary.ranks[t], f"{summary.p_first[t]:.1%}"] for t in summary.tools
    ]
    out.append(md_table(["tool", "score", "rank", "P(first)"], rows, ["l", "r", "r", "r"]))
    flips = [f for f in summary.flips.values() if f.delta is not None]
    if flips:
        f = min(flips, key=lambda f: abs(f.delta))
        title = criteria.checkpoint(f.checkpoint).title
        flip_text = f"changing the weight of {title} by {f.delta:+.2f} (to {f.new_weight:.2f}) lets {names.get(f.challenger, f.challenger)} draw level"
    else:
        flip_text = "no single weight change within 0..10 changes first place"
    out += ["", f"First place: {', '.join(names[t] for t in top)}. Smallest flip: {flip_text}.", ""]
    out += [
        "```mermaid",
        "xychart-beta",
        '    title "Weighted score"',
        "    x-axis [" + ", ".join(f'"{names[t]}"' for t in summary.tools) + "]",
        '    y-axis "score" 0 --> 5',
        "    bar [" + ", ".join(f"{summary.scores[t]:.2f}" for t in summary.tools) + "]",
        "```",
        "",
    ]

    # weights and checkpoints
    out += ["## Checkpoints", ""]
    header = ["checkpoint", "weight"] + [names[t] for t in summary.tools]
    rows = [
        [c.title, f"{profile.weights[c.id]:g}"] + [_rating_text(summary.cells[t][c.id]) for t in summary.tools]
        for c in criteria.checkpoints
    ]
    out.append(md_table(header, rows, ["l", "r"] + ["l"] * len(names)))
    out += ["", "### Sources and reasons", ""]
    rows = []
    for c in criteria.checkpoints:
        for t in summary.tools:
            cell = summary.cells[t][c.id]
            reason = cell.why
            if cell.contradiction:
                expert_why = criteria.tools[t].ratings[c.id].why
                reason = f"CONTRADICTION: expert {cell.expert:g} ({expert_why}) vs measured {cell.measured:g} ({cell.measured_why})"
            rows.append([c.title, names[t], f"{cell.value:g}", cell.source, reason, ", ".join(cell.flags) or "-"])
    out.append(
        md_table(
            ["checkpoint", "tool", "rating used", "source", "reason", "flags"], rows, ["l", "l", "r", "l", "l", "l"]
        )
    )

    # exam
    out += ["", "## The exam", ""]
    if not evidence.records:
        out += [
            "No exam results are stored yet: every rating above is the expert rating. Run `mlops-compare run` first.",
            "",
        ]
    else:
        out += _exam_section(criteria, evidence)

    out += ["## Versions", ""]
    versions = _versions()
    ran = {t: r.tool_version for t, r in evidence.records.items()}
    rows = [
        [
            t.name,
            t.version or "-",
            ran.get(t.id, "-") or "-",
            "stale" if any(c.stale for c in summary.cells[t.id].values()) else "ok",
        ]
        for t in criteria.tools.values()
    ]
    out.append(md_table(["tool", "ratings written for", "version that ran", "ratings"], rows))
    out += ["", "Libraries: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".", ""]
    run = ["mlops-compare", "run"] + ([] if criteria.shipped else ["--criteria", str(criteria.path)])
    dataset = next((r.dataset for r in evidence.records.values() if r.dataset), {})
    if dataset and dataset.get("source") != criteria.exam.data:
        run += ["--data", str(dataset.get("source")), "--target", str(dataset.get("target"))]
    out += ["## How to reproduce", "", "```sh", " ".join(run), command, "```", ""]
    return "\n".join(out)


def _exam_section(criteria: Criteria, evidence: Evidence) -> list[str]:
    out: list[str] = []
    any_record = next(iter(evidence.records.values()))
    dataset = any_record.dataset or {}
    grid = any_record.grid or {}
    out += [
        f"Data set: `{md_cell(dataset.get('source', '?'))}`, target `{md_cell(dataset.get('target', '?'))}`, "
        f"{dataset.get('rows', '?')} rows, sha256 `{dataset.get('sha256', '?')}`. "
        f"Grid: alpha = {grid.get('alpha')}, l1_ratio = {grid.get('l1_ratio')}.",
        "",
    ]
    from mlops_compare.events import CHECK_IDS

    tools = list(evidence.records)
    rows = []
    for check_id in CHECK_IDS:
        row = [check_id]
        for tool in tools:
            check = evidence.records[tool].checks.get(check_id)
            row.append(f"{check['status'].upper()} {check.get('seconds', 0):.1f}s" if check else "-")
        rows.append(row)
    rows.append(
        ["run status"] + [f"{evidence.records[t].status} ({evidence.records[t].started_at or '?'})" for t in tools]
    )
    out.append(md_table(["check", *tools], rows))
    out += ["", "### Figures", ""]
    rows = []
    for tool in tools:
        record = evidence.records[tool]
        over = (record.checks.get("overhead") or {}).get("numbers", {})
        inv = (record.checks.get("invasiveness") or {}).get("numbers", {})
        rows.append(
            [
                tool,
                f"{over['tool_seconds']:.2f}" if isinstance(over.get("tool_seconds"), int | float) else "-",
                f"x{over.get('ratio', '-')}",
                over.get("process_setup", "-"),
                inv.get("lines_added", "-"),
                inv.get("tool_files", "-"),
                f"{over.get('disk_bytes', 0) / 1e6:.2f} MB" if over.get("disk_bytes") is not None else "-",
            ]
        )
    out.append(
        md_table(
            ["tool", "grid seconds", "overhead vs plain", "run as", "lines added", "tool files", "disk used"], rows
        )
    )
    out += ["", "### Evidence per check", ""]
    rows = [
        [t, cid, c["status"], c.get("evidence", "")]
        for t in tools
        for cid, c in evidence.records[t].checks.items()
        if c["status"] != "skip" or cid in ("remote_storage", "large_data", "hpc")
    ]
    out.append(md_table(["tool", "check", "status", "evidence"], rows))
    out += ["", "### Cross-tool agreement", ""]
    rows, worst = agreement(evidence)
    table = []
    for row in rows:
        table.append(
            [f"{row['alpha']:g}", f"{row['l1_ratio']:g}"]
            + [("/".join(f"{v:.6g}" for v in row["tools"][t]) if t in row["tools"] else "-") for t in tools]
            + [f"{row['max_diff']:.2g}"]
        )
    out.append(md_table(["alpha", "l1_ratio", *[f"{t} rmse/mae/r2" for t in tools], "max diff"], table))
    verdict_text = (
        "no metrics stored"
        if worst is None
        else ("PASS: all within 1e-9" if worst <= 1e-9 else f"FAIL: largest difference {worst:.3g}")
    )
    out += ["", f"Agreement: {verdict_text}.", ""]
    out += ["### Reproducibility", ""]
    rows = [
        [t, (r.checks.get("reproduce") or {}).get("status", "-"), (r.checks.get("reproduce") or {}).get("evidence", "")]
        for t, r in evidence.records.items()
    ]
    out.append(md_table(["tool", "reproduce", "evidence"], rows))
    out.append("")
    return out


__all__ = ["Evidence", "summarize", "report", "all_profiles", "render_all_profiles", "agreement", "measure", "export"]
