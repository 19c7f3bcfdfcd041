"""The decision report (markdown): ranking, ratings with their sources, the exam, how to reproduce.

`decision_report` writes what `mlops-compare report` prints, from a profile and the stored
evidence (`evidence.Evidence`). Every measurement names the run (date) it comes from. A
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

from mlops_compare import large_data
from mlops_compare.criteria import WEIGHT_MAX, Criteria, Profile
from mlops_compare.events import CHECKS, CHECKS_BY_ID
from mlops_compare.evidence import (
    TOLERANCE,
    TOLERANCE_TEXT,
    WORKSPACE,
    Cell,
    Evidence,
    ToolEvidence,
    agreement,
    run_label,
    variants,
    without_workspace,
)
from mlops_compare.export import md_cell, md_table, unscored_markdown
from mlops_compare.summary import summarize
from mlops_compare.unscored import unscored

SKLEARN_PREFIX = "sklearn:"
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


def _code(text: Any) -> str:
    """Text for an inline code span (backslash escapes do not work there)."""
    return " ".join(str(text).replace("`", "'").split())


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in LIBRARIES:
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


def decision_report(
    criteria: Criteria, profile: Profile, evidence: Evidence, command: str = "mlops-compare report"
) -> str:
    """The whole report; *command* is the report command shown under "How to reproduce"."""
    summary = summarize(criteria, profile, evidence)
    names = {t: criteria.tools[t].name for t in summary.tools}
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    source = "the shipped criteria.toml" if criteria.shipped else f"`{_code(shareable_path(criteria.path))}`"
    out = [f"# Decision report: {md_cell(profile.id)}", "", f"Generated {now} by mlops-compare from {source}.", ""]
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
        flip_text = f"no single weight change within 0..{WEIGHT_MAX:g} changes first place"
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

    # runners without ratings: their results are in the exam section, their scores nowhere
    out += unscored_markdown(criteria, unscored(criteria, evidence))

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
    if not evidence.tools:
        out += [
            "No exam results are stored yet: every rating above is the expert rating. Run `mlops-compare run` first.",
            "",
        ]
    else:
        out += _exam_section(evidence)

    out += ["## Versions", ""]
    rows = []
    for t in criteria.tools.values():
        found = evidence.tools.get(t.id)
        ran = (found.tool_version or (found.latest.tool_version if found.latest else "")) if found else ""
        stale = any(c.stale for c in summary.cells[t.id].values())
        rows.append([t.name, t.version or "-", ran or "-", "stale" if stale else "ok"])
    out.append(md_table(["tool", "ratings written for", "version that ran", "ratings"], rows))
    out += ["", "Libraries: " + ", ".join(f"{k} {v}" for k, v in _versions().items()) + ".", ""]
    out += ["## How to reproduce", "", "```sh", _run_command(criteria, evidence), command, "```", ""]
    return "\n".join(out)


def _run_command(criteria: Criteria, evidence: Evidence) -> str:
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
    shown = _code(shareable_path(source))
    text = f"`{shown}`, target `{_code(dataset.get('target', '?'))}`, {dataset.get('rows', '?')} rows."
    if dataset.get("source_sha256"):
        text += f" Source file sha256 `{dataset['source_sha256']}` (what `sha256sum {shown}` prints)."
    elif source.startswith(SKLEARN_PREFIX):
        text += " A scikit-learn data set: no source file."
    if dataset.get("normalised_sha256"):
        text += f" Normalised copy (the comma CSV every tool read) sha256 `{dataset['normalised_sha256']}`."
    return text


def _check_cell(found: ToolEvidence, check_id: str) -> str:
    measured = found.checks.get(check_id)
    if measured is not None:
        return f"{measured.status.upper()} {measured.check.get('seconds') or 0:.1f}s, {measured.run}"
    check = found.latest.checks.get(check_id) if found.latest is not None else None
    return str(check.get("status", "-")).upper() if check else "-"


def _numbers(found: ToolEvidence, check_id: str) -> dict[str, Any]:
    measured = found.checks.get(check_id)
    return dict(measured.check.get("numbers") or {}) if measured is not None else {}


def _exam_section(evidence: Evidence) -> list[str]:
    out: list[str] = []
    tools = list(evidence.tools)
    datasets = variants(evidence, "dataset")
    for dataset, used_by in datasets:
        who = "" if len(datasets) == 1 else f" ({', '.join(used_by)})"
        out += [f"Data set{who}: " + dataset_text(dataset), ""]
    grids = variants(evidence, "grid")
    for grid, used_by in grids:
        who = "" if len(grids) == 1 else f" ({', '.join(used_by)})"
        out += [f"Grid{who}: alpha = {grid.get('alpha')}, l1_ratio = {grid.get('l1_ratio')}.", ""]
    if not grids:
        out += ["Grid: not reported.", ""]

    rows = [[check.id] + [_check_cell(evidence.tools[t], check.id) for t in tools] for check in CHECKS]
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
        "### Figures",
        "",
    ]
    rows = []
    for tool, found in evidence.tools.items():
        over, inv = _numbers(found, "overhead"), _numbers(found, "invasiveness")
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
    out += _hpc_section(evidence)
    out += _storage_section(evidence)
    out += _operations_section(evidence)
    out += large_data.markdown(
        {
            t: (f.checks["large_data"].status, _numbers(f, "large_data"))
            for t, f in evidence.tools.items()
            if "large_data" in f.checks
        }
    )
    out += ["", "### Evidence per check", ""]
    rows = []
    for tool, found in evidence.tools.items():
        for check in CHECKS:
            measured = found.checks.get(check.id)
            if measured is not None:
                rows.append([tool, check.id, measured.status, measured.run, measured.evidence])
                continue
            latest = found.latest
            skipped = latest.checks.get(check.id) if latest is not None else None
            if skipped and CHECKS_BY_ID[check.id].enabled_by:  # say why a configurable check did not run
                text = without_workspace(str(skipped.get("evidence") or ""), latest)
                rows.append([tool, check.id, skipped.get("status", "-"), run_label(latest.started_at), text])
    out.append(md_table(["tool", "check", "status", "run", "evidence"], rows))
    out += _agreement_section(evidence, tools)
    out += ["### Reproducibility", ""]
    rows = []
    for tool, found in evidence.tools.items():
        measured = found.checks.get("reproduce")
        if measured is not None:
            rows.append([tool, measured.status, measured.run, measured.evidence])
        else:
            reason = without_workspace(found.latest.reason, found.latest) if found.latest is not None else ""
            rows.append([tool, "-", "-", reason or "not run"])
    out.append(md_table(["tool", "reproduce", "run", "evidence"], rows))
    out.append("")
    return out


def _storage_section(evidence: Evidence) -> list[str]:
    """Both remotes of the `remote_storage` check per tool: status, push and pull seconds, bytes, the endpoint."""
    rows, changed = [], []
    for tool, found in evidence.tools.items():
        n = _numbers(found, "remote_storage")
        for kind, label in (("shared", "shared folder"), ("s3", "S3")):
            if f"{kind}_status" not in n:
                continue
            where = "-" if kind == "shared" else _endpoint(str(n.get("s3_endpoint", "-")))
            seconds = [n.get(f"{kind}_{step}_seconds") for step in ("push", "pull")]
            rows.append(
                [
                    tool,
                    label,
                    where,
                    n[f"{kind}_status"],
                    " / ".join(f"{s:.2f}" if isinstance(s, int | float) else "-" for s in seconds),
                    f"{n.get(f'{kind}_bytes', 0):,}",
                    n.get(f"{kind}_objects", "-"),
                    f"{n.get(f'{kind}_identical', 0)}/{n.get(f'{kind}_files', 0)}",
                ]
            )
        if "example_lines_changed" in n:
            by_hand = " (copy and upload code written by hand)" if tool == "plain" else ""
            changed.append(f"{tool} {n['example_lines_changed']}{by_hand}")
    if not rows:
        return []
    header = ["tool", "remote", "endpoint", "status", "push / pull s", "bytes", "objects", "identical"]
    out = ["", "### Remote storage", "", md_table(header, rows), ""]
    if changed:
        out += [f"Lines of the example changed to switch from local to remote storage: {', '.join(changed)}.", ""]
    return out + ["What each tool needed (commands, variables, what a client must know) is in the evidence below.", ""]


def _endpoint(url: str) -> str:
    """Which endpoint, never who: a URL's ``user:password@`` part is dropped."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url  # "local moto_server"
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"


def _hpc_section(evidence: Evidence) -> list[str]:
    """What each tool needed to run the grid on Slurm (the `hpc` check), when it was measured."""
    rows = []
    for tool, found in evidence.tools.items():
        n = _numbers(found, "hpc")
        if not n:
            continue
        routes = range(1, int(n.get("routes", 0)) + 1)
        failed = [f"{n.get(f'route{i}', '?')}: {n[f'route{i}_error']}" for i in routes if f"route{i}_error" in n]
        rows.append(
            [
                tool,
                found.checks["hpc"].status,
                n.get("route") or "-",
                "yes" if n.get("native") else "no (a wrapper)",
                f"{n.get('completed', 0)}/{n.get('jobs', 0)}",
                f"{n.get('queue_seconds_max', 0):g} / {n.get('run_seconds_max', 0):g}",
                n.get("glue_lines", "-"),
                "; ".join(failed) or "-",
            ]
        )
    if not rows:
        return []
    header = ["tool", "hpc", "route that worked", "tool submits", "jobs done", "max queue / run s", "glue lines"]
    out = ["", "### On Slurm", "", md_table([*header, "what did not work"], rows), ""]
    return out + ["What each route had to install and configure is in the hpc row of the evidence below.", ""]


def _operations_section(evidence: Evidence) -> list[str]:
    """Fan-out speed-up, what a failure left behind, and each tool's own UI with a link to its screenshot
    (in the run's workspace, linked relative to the current folder)."""
    rows, links = [], []
    for tool, found in evidence.tools.items():
        fan, fail, ui = (_numbers(found, c) for c in ("fan_out", "failure", "ui"))
        if not (fan or fail or ui):
            continue
        speed = f"x{fan['speedup']:g} ({fan['seconds_1']:g} s / {fan['seconds_2']:g} s)" if "speedup" in fan else "-"
        failure = (
            f"{'yes' if fail.get('found') else 'no'} / {'yes' if fail.get('traceback') else 'no'} / "
            + (
                f"{fail['redone_points']} redone, {fail['seconds_saved']:g} s saved"
                if fail.get("resume_seconds", -1) >= 0
                else "no resume"
            )
            if fail
            else "-"
        )
        shot = "-"
        if ui.get("screenshot") and found.checks["ui"].record.workspace:
            shot = f"{WORKSPACE}/{ui['screenshot']}"
            full = Path(found.checks["ui"].record.workspace) / str(ui["screenshot"])
            links.append(f"- {tool}: [{md_cell(shot)}]({os.path.relpath(full)})")
        status = {c: found.checks[c].status if c in found.checks else "-" for c in ("fan_out", "failure", "ui")}
        rows.append([tool, status["fan_out"], speed, status["failure"], failure, status["ui"], shot])
    if not rows:
        return []
    header = [
        "tool",
        "fan_out",
        "speed-up (1 / 2 workers)",
        "failure",
        "found / traceback / resume",
        "ui",
        "screenshot",
    ]
    out = ["", "### Fan-out, failure and UI", "", md_table(header, rows), ""]
    return out + (["Screenshots of each tool's own UI or report:", "", *links, ""] if links else [])


def _agreement_section(evidence: Evidence, tools: list[str]) -> list[str]:
    out = ["", "### Cross-tool agreement", ""]
    rows, worst = agreement(evidence)
    table = [
        [f"{row['alpha']:g}", f"{row['l1_ratio']:g}"]
        + [("/".join(f"{v:.6g}" for v in row["tools"][t]) if t in row["tools"] else "-") for t in tools]
        + [f"{row['max_diff']:.2g}" + ("" if row["agrees"] else " ✗")]
        for row in rows
    ]
    out.append(md_table(["alpha", "l1_ratio", *[f"{t} rmse/mae/r2" for t in tools], "max diff"], table))
    if worst is None:
        verdict = "no metrics stored"
    elif worst <= TOLERANCE:
        verdict = f"PASS: all within {TOLERANCE_TEXT}"
    else:
        verdict = f"FAIL: largest difference {worst:.3g} (a NaN counts as a difference)"
    runs = [f"{t} {run_label(r.started_at)}" for t, f in evidence.tools.items() if (r := f.grid_record) is not None]
    out += ["", f"Agreement: {verdict}.", ""]
    if runs:
        out += ["Metrics from each tool's newest run with the grid: " + ", ".join(runs) + ".", ""]
    return out
