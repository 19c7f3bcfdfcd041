"""The decision report (markdown), in layers a committee can stop reading after any of.

`decision_report` writes what `mlops-compare report` prints, from a profile and the stored
evidence (`evidence.Evidence`), with what `report.model.build` computed: page one is the
decision (ranking with P(first), SMAA rank acceptability and confidence factors, the
smallest flip, contradictions, three reasons per tool), then SMAA in full, the checkpoint
matrix (short phrases), the evidence per checkpoint (short bullets linking the appendix),
the exam with each check's own section (`report.sections`), versions, how to reproduce, and
the appendix with every check's full evidence per tool. Every text from criteria.toml or a
tool is escaped for where it lands (`report.blocks`). The HTML version: `report.html_page`.
Every measurement names the run (date) it comes from. A
report is meant to be shared, so it holds no path of the machine it was made on: files are
named relative to the current folder (`shareable_path`) and a run's temporary workspace is
written ``<workspace>``.
"""

from __future__ import annotations

import os
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_compare.criteria import Criteria, Profile
from mlops_compare.events import CHECKS, SKLEARN_PREFIX
from mlops_compare.evidence import Evidence, ToolEvidence, run_label, variants
from mlops_compare.export import md_table, unscored_markdown
from mlops_compare.report import model as report_model
from mlops_compare.report.blocks import Image, Section, Table, md_code, md_fence, md_inline, mermaid_label, shorten
from mlops_compare.scoring import smaa
from mlops_compare.scoring.summary import Summary
from mlops_compare.unscored import unscored

LIBRARIES = ("mlops-compare", "mlflow", "dvc", "metaflow", "scikit-learn", "pandas", "numpy", "textual")


def shareable_path(path: str | Path, cwd: str | Path | None = None) -> str:
    """*path* as it can be shared: a relative path as given; an absolute one relative to *cwd*
    (default: the current folder) when the two share more than the root folder, else
    ``~/...`` under the home folder, else ``…/`` and its last two parts."""
    text = str(path)
    if text.startswith(SKLEARN_PREFIX) or not Path(text).expanduser().is_absolute():
        return text
    full = os.path.normpath(Path(text).expanduser())
    base = os.path.normpath(Path(cwd).resolve() if cwd is not None else Path.cwd())
    if os.path.commonpath([full, base]) != os.sep:
        return os.path.relpath(full, base)
    home = os.path.normpath(Path.home())
    if home != os.sep and os.path.commonpath([full, home]) == home:
        return "~/" + os.path.relpath(full, home)
    return "…/" + "/".join(Path(full).parts[-2:])


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in LIBRARIES:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def decision_report(
    criteria: Criteria, profile: Profile, evidence: Evidence, command: str = "mlops-compare report"
) -> str:
    """The whole report; *command* is the report command shown under "How to reproduce"."""
    model = report_model.build(criteria, profile, evidence)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    source = "the shipped criteria.toml" if criteria.shipped else md_code(shareable_path(criteria.path))
    out = [f"# Decision report: {md_inline(profile.id)}", "", f"Generated {now} by mlops-compare from {source}.", ""]
    if profile.description:
        out += [md_inline(profile.description), ""]
    out += [f"Ratings used: **{md_inline(profile.ratings)}**.", ""]
    out += _decision(model)
    out += unscored_markdown(criteria, unscored(criteria, evidence))
    out += _stability(model)
    out += _matrix(model)
    out += _bullets(model)
    out += ["## The exam", ""]
    if not evidence.tools:
        out += [
            "No exam results are stored yet: every rating above is the expert rating. Run `mlops-compare run` first.",
            "",
        ]
    else:
        out += _exam_section(model)
    out += unreadable_records(evidence)
    out += ["## Versions", ""]
    rows = versions_rows(criteria, evidence, model.summary)
    out.append(md_table(["tool", "ratings written for", "version that ran", "ratings"], rows))
    out += ["", "Libraries: " + ", ".join(f"{k} {v}" for k, v in library_versions().items()) + ".", ""]
    out += ["## How to reproduce", "", *md_fence(run_command(criteria, evidence) + "\n" + command, "sh"), ""]
    out += _appendix(model)
    return "\n".join(out)


def versions_rows(criteria: Criteria, evidence: Evidence, summary: Summary) -> list[list[str]]:
    """Per tool: the version its ratings were written for, the version that ran, stale or ok."""
    rows = []
    for t in criteria.tools.values():
        found = evidence.tools.get(t.id)
        ran = (found.tool_version or (found.latest.tool_version if found.latest else "")) if found else ""
        stale = any(c.stale for c in summary.cells[t.id].values())
        rows.append([t.name, t.version or "-", ran or "-", "stale" if stale else "ok"])
    return rows


REASON_MAX = 100  # characters of the rating's why after each reason


def _acceptability(shares: list[float]) -> str:
    return " / ".join(f"{v:.0%}" for v in shares)


def _decision(model: report_model.Model) -> list[str]:
    """Page one: the ranking with SMAA's rank acceptability, the flip, contradictions, reasons."""
    s, names = model.summary, model.names
    ranks = "/".join(f"{k}." for k in range(1, len(model.tools) + 1))
    rows = [
        [
            names[t],
            f"{s.scores[t]:.2f}",
            s.ranks[t],
            f"{s.p_first[t]:.1%}",
            _acceptability(model.smaa.acceptability[t]),
            "-" if model.smaa.confidence[t] is None else f"{model.smaa.confidence[t]:.0%}",
        ]
        for t in model.tools
    ]
    header = ["tool", "score", "rank", "P(first)", f"rank acceptability ({ranks})", "confidence factor"]
    out = ["## Ranking", "", md_table(header, rows, ["l", "r", "r", "r", "l", "r"]), ""]
    top = [names[t] for t in model.tools if s.ranks[t] == 1]
    out += [
        f"First place: {md_inline(', '.join(top))}. Smallest weight change that flips first place:"
        f" {md_inline(model.flip)}.",
        "",
        f"P(first) and the rank acceptability come from {model.smaa.samples:,} weight vectors drawn around this"
        " profile (SMAA; see [Stability](#stability-smaa)).",
        "",
        "```mermaid",
        "xychart-beta",
        '    title "Weighted score"',
        "    x-axis [" + ", ".join(f'"{mermaid_label(names[t])}"' for t in model.tools) + "]",
        '    y-axis "score" 0 --> 5',
        "    bar [" + ", ".join(f"{s.scores[t]:.2f}" for t in model.tools) + "]",
        "```",
        "",
        "### Contradictions: expert against measured",
        "",
    ]
    if not model.contradictions:
        out += ["None: every measured rating is within 2 of the expert rating (or nothing was measured).", ""]
    for c in model.contradictions:
        out.append(
            f"- {md_inline(names.get(c.tool, c.tool))}, {md_inline(c.title)}: CONTRADICTION: expert {c.expert:g}"
            f" ({md_inline(shorten(c.expert_why, 120))}) vs measured {c.measured:g}"
            f" ({md_inline(shorten(c.measured_why, 120))})"
        )
    out += ["", "### What moves each score most", ""]
    out.append(
        "Per tool, the three checkpoints that move its score most against the average tool"
        " (weight x (its rating - the mean rating) / sum of weights):"
    )
    out.append("")
    for t in model.tools:
        out.append(f"- **{md_inline(names[t])}**" + ("" if model.reasons[t] else ": no checkpoint sets it apart"))
        out += [
            f"  - {r.effect:+.2f} {md_inline(r.title)} (rated {r.rating:g}, mean {r.mean:.1f}, weight {r.weight:g}):"
            f" {md_inline(shorten(r.why, REASON_MAX))}"
            for r in model.reasons[t]
        ]
    return [*out, ""]


def _stability(model: report_model.Model) -> list[str]:
    """SMAA's outputs, named, with how to read each and the reference."""
    m, names = model.smaa, model.names
    out = ["## Stability (SMAA)", ""]
    out += [f"- **{name}**: {md_inline(text)}" for name, text in smaa.EXPLAIN.items()]
    out += ["", f"Method: stochastic multicriteria acceptability analysis (SMAA-2). {md_inline(smaa.REFERENCE)}", ""]
    winners = [t for t in model.tools if m.central_weights[t] is not None]
    if winners:
        out += ["Central weight vectors (each tool's typical winning weights, as shares; the profile's first):", ""]
        total = sum(model.profile.weights.values())
        rows = [
            [model.criteria.checkpoint(c).title, f"{model.profile.weights[c] / total:.2f}"]
            + [f"{(m.central_weights[t] or {}).get(c, 0.0):.2f}" for t in winners]
            for c in m.checkpoints
        ]
        out += [
            md_table(["checkpoint", "profile", *[names[t] for t in winners]], rows, ["l"] + ["r"] * (len(winners) + 1)),
            "",
        ]
    rows = [[names[t]] + [("-" if u == t else f"{m.pairwise[t][u]:.0%}") for u in model.tools] for t in model.tools]
    out += ["Pairwise winning indices (row beats column):", ""]
    out += [md_table(["", *[names[u] for u in model.tools]], rows, ["l"] + ["r"] * len(model.tools)), ""]
    return out


def _rating_text(mc: report_model.MatrixCell) -> str:
    cell = mc.cell
    text = f"{cell.value:g} {'M' if cell.used == 'measured' else 'E'}"
    if cell.measured is not None and cell.used == "expert":
        text += f" (measured {cell.measured:g})"
    elif cell.measured is not None:
        text += f" (expert {cell.expert:g})"
    text += " ⚠" if cell.contradiction else ""
    text += " stale" if cell.stale else ""
    return f"{text}: {mc.phrase}"


def _matrix(model: report_model.Model) -> list[str]:
    names = model.names
    header = ["checkpoint", "weight"] + [names[t] for t in model.tools]
    rows = [
        [c.title, f"{model.profile.weights[c.id]:g}"] + [_rating_text(model.matrix[c.id][t]) for t in model.tools]
        for c in model.criteria.checkpoints
    ]
    return [
        "## Checkpoints",
        "",
        md_table(header, rows, ["l", "r"] + ["l"] * len(names)),
        "",
        "Each cell: the rating used, M (measured by the exam) or E (the expert rating), the other side when both"
        " exist, ⚠ a contradiction (2 or more apart), stale (the expert rated another version), and a short phrase."
        " The evidence follows per checkpoint; the full texts are in the appendix.",
        "",
    ]


def _bullets(model: report_model.Model) -> list[str]:
    out = ["## Evidence per checkpoint", ""]
    for c in model.criteria.checkpoints:
        out += [f"### {md_inline(c.title)}", "", f"Weight {model.profile.weights[c.id]:g}.", ""]
        for b in model.bullets[c.id]:
            links = ", ".join(f"[{md_inline(check)}](#{a})" for check, a in b.links)
            out.append(f"- {md_inline(b.text)}" + (f" (full: {links})" if links else ""))
        out.append("")
    return out


def _appendix(model: report_model.Model) -> list[str]:
    if not model.appendix:
        return []
    out = [
        "## Appendix: full evidence",
        "",
        "One section per check and tool: status, run, the runner's evidence and figures.",
        "",
    ]
    for item in model.appendix:
        seconds = f", {item.seconds:.1f} s" if item.seconds is not None else ""
        out += [
            f'<a id="{item.anchor}"></a>',
            "",
            f"### {md_inline(item.check)}: {md_inline(item.tool)}",
            "",
            f"{md_inline(item.status)} on {md_inline(item.run)}{seconds}.",
            "",
        ]
        if item.evidence:
            out += [*md_fence(item.evidence), ""]
        if item.numbers:
            lines = "\n".join(f"{k} = {v}" for k, v in item.numbers.items())
            out += ["Figures:", "", *md_fence(lines), ""]
    return out


def run_command(criteria: Criteria, evidence: Evidence) -> str:
    from mlops_compare.plan import resolve_data

    run = ["mlops-compare", "run"] + ([] if criteria.shipped else ["--criteria", shareable_path(criteria.path)])
    datasets = variants(evidence, "dataset")
    if datasets:
        dataset = datasets[0][0]
        default = resolve_data(criteria.exam.data, criteria.path.parent.resolve())
        if dataset.get("source") != default:
            run += ["--data", shareable_path(str(dataset.get("source"))), "--target", str(dataset.get("target"))]
    return shlex.join(run)


def dataset_text(dataset: dict[str, Any]) -> str:
    """One data set: where it came from and both checksums, each named."""
    source = str(dataset.get("source", "?"))
    shown = shareable_path(source)
    text = (
        f"{md_code(shown)}, target {md_code(dataset.get('target', '?'))}, {md_inline(dataset.get('rows', '?'))} rows."
    )
    if dataset.get("source_sha256"):
        command = md_code(f"sha256sum {shlex.quote(shown)}")
        text += f" Source file sha256 {md_code(dataset['source_sha256'])} (what {command} prints)."
    elif source.startswith(SKLEARN_PREFIX):
        text += " A scikit-learn data set: no source file."
    if dataset.get("normalised_sha256"):
        text += f" Normalised copy (the comma CSV every tool read) sha256 {md_code(dataset['normalised_sha256'])}."
    return text


def check_cell(found: ToolEvidence, check_id: str) -> str:
    measured = found.checks.get(check_id)
    if measured is not None:
        return f"{measured.status.upper()} {measured.check.get('seconds') or 0:.1f}s, {measured.run}"
    check = found.latest.checks.get(check_id) if found.latest is not None else None
    return str(check.get("status", "-")).upper() if check else "-"


def _exam_section(model: report_model.Model) -> list[str]:
    evidence = model.evidence
    out: list[str] = []
    tools = list(evidence.tools)
    datasets = variants(evidence, "dataset")
    for dataset, used_by in datasets:
        who = "" if len(datasets) == 1 else f" ({md_inline(', '.join(used_by))})"
        out += [f"Data set{who}: " + dataset_text(dataset), ""]
    grids = variants(evidence, "grid")
    for grid, used_by in grids:
        who = "" if len(grids) == 1 else f" ({md_inline(', '.join(used_by))})"
        out += [
            f"Grid{who}: alpha = {md_inline(grid.get('alpha'))}, l1\\_ratio = {md_inline(grid.get('l1_ratio'))}.",
            "",
        ]
    if not grids:
        out += ["Grid: not reported.", ""]

    rows = [[check.id] + [check_cell(evidence.tools[t], check.id) for t in tools] for check in CHECKS]
    rows.append(
        ["newest run"]
        + [
            f"{f.latest.status} ({run_label(f.latest.started_at)})" if f.latest is not None else "-"
            for f in evidence.tools.values()
        ]
    )
    out.append(md_table(["check", *tools], rows))
    out += [
        "",
        "Each check comes from the newest run of that tool in which it ran (dates in UTC); a newer run where"
        " it was skipped or did not get to it does not replace it. The last row is each tool's newest run.",
        "",
    ]
    for section in model.sections:
        out += section_markdown(section)
    return out


def section_markdown(section: Section) -> list[str]:
    """A check's section as markdown: every text escaped, screenshots linked relative to here."""
    if section.markdown:
        return [*section.markdown, ""]
    out = [f"### {md_inline(section.title)}", ""]
    for block in section.blocks:
        if isinstance(block, Table):
            out += [md_table(block.header, block.rows, block.align), ""]
        elif isinstance(block, Image):
            out += [f"- [{md_inline(block.caption)}](<{os.path.relpath(block.path).replace('>', '%3E')}>)", ""]
        else:
            out += [md_inline(block), ""]
    return out


# --- issue 18 (nothing lost): store files that could not be read (`Evidence.damaged`) ---
def unreadable_records(evidence: Evidence) -> list[str]:
    """A section naming each run file of the store that is not a readable record (none: no section)."""
    damaged = getattr(evidence, "damaged", [])
    if not damaged:
        return []
    out = [
        "## Unreadable records",
        "",
        f"{len(damaged)} file(s) in the results store could not be read as records and were left out; "
        "the ratings above come from the other runs:",
        "",
    ]
    out += [f"- {md_code(d.path.name)}: {md_inline(d.reason)}" for d in damaged]
    return [*out, ""]
