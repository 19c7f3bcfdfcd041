"""The exam's per-check report sections, until each moves into its check's module.

The report asks every check of the table for its section: the ``report_section(evidence)``
hook of ``mlops_compare.checks.<check id>`` when that module has one, else the function
registered here under the check's id (`SECTIONS`). Each returns a `report_blocks.Section`
(plain text, tables, images; the renderers escape) or None when the check has nothing to
show. Long texts are cut to `report_blocks.CELL_MAX`; the appendix holds them in full.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops_compare import large_data
from mlops_compare.evidence import (
    TOLERANCE,
    TOLERANCE_TEXT,
    WORKSPACE,
    Evidence,
    ToolEvidence,
    agreement,
    run_label,
    without_workspace,
)
from mlops_compare.report_blocks import CELL_MAX, Image, Section, Table, shorten

SectionHook = Callable[[Evidence], Section | None]


def numbers(found: ToolEvidence, check_id: str) -> dict[str, Any]:
    measured = found.checks.get(check_id)
    return dict(measured.check.get("numbers") or {}) if measured is not None else {}


def _status(found: ToolEvidence, check_id: str) -> str:
    return found.checks[check_id].status if check_id in found.checks else "-"


def endpoint(url: str) -> str:
    """Which endpoint, never who: a URL's ``user:password@`` part is dropped."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url  # "local moto_server"
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"


def grid_section(evidence: Evidence) -> Section | None:
    """Cross-tool agreement: every tool's metrics per grid point and the largest difference."""
    tools = list(evidence.tools)
    rows, worst = agreement(evidence)
    table = [
        [f"{row['alpha']:g}", f"{row['l1_ratio']:g}"]
        + [("/".join(f"{v:.6g}" for v in row["tools"][t]) if t in row["tools"] else "-") for t in tools]
        + [f"{row['max_diff']:.2g}" + ("" if row["agrees"] else " ✗")]
        for row in rows
    ]
    if worst is None:
        verdict = "no metrics stored"
    elif worst <= TOLERANCE:
        verdict = f"PASS: all within {TOLERANCE_TEXT}"
    else:
        verdict = f"FAIL: largest difference {worst:.3g} (a NaN counts as a difference)"
    blocks: list[Any] = [Table(["alpha", "l1_ratio", *[f"{t} rmse/mae/r2" for t in tools], "max diff"], table)]
    blocks.append(f"Agreement: {verdict}.")
    runs = [f"{t} {run_label(r.started_at)}" for t, f in evidence.tools.items() if (r := f.grid_record) is not None]
    if runs:
        blocks.append("Metrics from each tool's newest run with the grid: " + ", ".join(runs) + ".")
    return Section("Cross-tool agreement", blocks, check="grid", data={"worst": worst})


def overhead_section(evidence: Evidence) -> Section | None:
    rows, ratios = [], {}
    for tool, found in evidence.tools.items():
        over = numbers(found, "overhead")
        if not over:
            continue
        if isinstance(over.get("ratio"), int | float):
            ratios[tool] = float(over["ratio"])
        rows.append(
            [
                tool,
                f"{over['tool_seconds']:.2f}" if isinstance(over.get("tool_seconds"), int | float) else "-",
                f"x{over.get('ratio', '-')}",
                over.get("process_setup", "-"),
                f"{over.get('disk_bytes', 0) / 1e6:.2f} MB" if over.get("disk_bytes") is not None else "-",
            ]
        )
    if not rows:
        return None
    header = ["tool", "grid seconds", "overhead vs plain", "run as", "disk used"]
    return Section("Overhead", [Table(header, rows)], check="overhead", data={"ratio": ratios})


def invasiveness_section(evidence: Evidence) -> Section | None:
    rows = []
    for tool, found in evidence.tools.items():
        inv = numbers(found, "invasiveness")
        if inv:
            rows.append([tool, inv.get("lines_added", "-"), inv.get("tool_files", "-")])
    if not rows:
        return None
    return Section("Invasiveness", [Table(["tool", "lines added", "tool files"], rows)], check="invasiveness")


def storage_section(evidence: Evidence) -> Section | None:
    """Both remotes of the `remote_storage` check per tool: status, push and pull seconds, bytes, the endpoint."""
    rows, changed = [], []
    for tool, found in evidence.tools.items():
        n = numbers(found, "remote_storage")
        for kind, label in (("shared", "shared folder"), ("s3", "S3")):
            if f"{kind}_status" not in n:
                continue
            where = "-" if kind == "shared" else endpoint(str(n.get("s3_endpoint", "-")))
            seconds = [n.get(f"{kind}_{step}_seconds") for step in ("push", "pull")]
            rows.append(
                [
                    tool,
                    label,
                    shorten(where, CELL_MAX),
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
        return None
    header = ["tool", "remote", "endpoint", "status", "push / pull s", "bytes", "objects", "identical"]
    blocks: list[Any] = [Table(header, rows)]
    if changed:
        blocks.append(f"Lines of the example changed to switch from local to remote storage: {', '.join(changed)}.")
    blocks.append("What each tool needed (commands, variables, what a client must know) is in the appendix.")
    return Section("Remote storage", blocks, check="remote_storage")


def hpc_section(evidence: Evidence) -> Section | None:
    """What each tool needed to run the grid on Slurm (the `hpc` check), when it was measured."""
    rows = []
    for tool, found in evidence.tools.items():
        n = numbers(found, "hpc")
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
                shorten("; ".join(failed) or "-", CELL_MAX),
            ]
        )
    if not rows:
        return None
    header = ["tool", "hpc", "route that worked", "tool submits", "jobs done", "max queue / run s", "glue lines"]
    return Section(
        "On Slurm",
        [
            Table([*header, "what did not work"], rows),
            "What each route had to install and configure is in the appendix (hpc).",
        ],
        check="hpc",
    )


def fan_out_section(evidence: Evidence) -> Section | None:
    rows, speedups = [], {}
    for tool, found in evidence.tools.items():
        fan = numbers(found, "fan_out")
        if "fan_out" not in found.checks:
            continue
        speed = "-"
        if "speedup" in fan:
            speed = f"x{fan['speedup']:g} ({fan.get('seconds_1', 0):g} s / {fan.get('seconds_2', 0):g} s)"
            speedups[tool] = float(fan["speedup"])
        rows.append([tool, _status(found, "fan_out"), speed])
    if not rows:
        return None
    table = Table(["tool", "fan_out", "speed-up (1 / 2 workers)"], rows)
    return Section("Fan-out", [table], check="fan_out", data={"speedup": speedups})


def failure_section(evidence: Evidence) -> Section | None:
    rows = []
    for tool, found in evidence.tools.items():
        fail = numbers(found, "failure")
        if "failure" not in found.checks:
            continue
        resume = (
            f"{fail.get('redone_points', '?')} redone, {fail.get('seconds_saved', 0):g} s saved"
            if fail.get("resume_seconds", -1) >= 0
            else "no resume"
        )
        rows.append(
            [
                tool,
                _status(found, "failure"),
                "yes" if fail.get("found") else "no",
                "yes" if fail.get("traceback") else "no",
                resume,
            ]
        )
    if not rows:
        return None
    return Section("Failure", [Table(["tool", "failure", "found", "traceback kept", "resume"], rows)], check="failure")


def ui_section(evidence: Evidence) -> Section | None:
    """Each tool's own UI: status and its screenshot (in the run's workspace: linked, or embedded in HTML)."""
    rows: list[list[Any]] = []
    images: list[Any] = []
    for tool, found in evidence.tools.items():
        if "ui" not in found.checks:
            continue
        ui = numbers(found, "ui")
        shot = "-"
        if ui.get("screenshot") and found.checks["ui"].record.workspace:
            shot = f"{WORKSPACE}/{ui['screenshot']}"
            full = Path(found.checks["ui"].record.workspace) / str(ui["screenshot"])
            images.append(Image(f"{tool}: {shot}", full, shot))
        rows.append([tool, _status(found, "ui"), shorten(shot, CELL_MAX)])
    if not rows:
        return None
    return Section("The tools' own UI", [Table(["tool", "ui", "screenshot"], rows), *images], check="ui")


def large_data_section(evidence: Evidence) -> Section | None:
    measured = {
        t: (f.checks["large_data"].status, numbers(f, "large_data"))
        for t, f in evidence.tools.items()
        if "large_data" in f.checks
    }
    return large_data.section(measured)


def reproduce_section(evidence: Evidence) -> Section | None:
    rows = []
    for tool, found in evidence.tools.items():
        measured = found.checks.get("reproduce")
        if measured is not None:
            rows.append([tool, measured.status, measured.run, shorten(measured.evidence, CELL_MAX)])
        else:
            reason = without_workspace(found.latest.reason, found.latest) if found.latest is not None else ""
            rows.append([tool, "-", "-", shorten(reason or "not run", CELL_MAX)])
    if not rows:
        return None
    return Section("Reproducibility", [Table(["tool", "reproduce", "run", "evidence"], rows)], check="reproduce")


SECTIONS: dict[str, SectionHook] = {
    "grid": grid_section,
    "overhead": overhead_section,
    "invasiveness": invasiveness_section,
    "remote_storage": storage_section,
    "hpc": hpc_section,
    "fan_out": fan_out_section,
    "failure": failure_section,
    "ui": ui_section,
    "large_data": large_data_section,
    "reproduce": reproduce_section,
}


def sections(evidence: Evidence) -> list[Section]:
    """Every check's section that has something to show, in the check table's order."""
    from mlops_compare.events import CHECKS

    try:
        from mlops_compare.checks import hook
    except ImportError:  # before the checks package exists

        def hook(check_id: str, name: str) -> Any:
            return None

    out = []
    for check in CHECKS:
        make = hook(check.id, "report_section") or SECTIONS.get(check.id)
        found = make(evidence) if make is not None else None
        if isinstance(found, list):  # markdown lines written by the hook
            found = Section("", check=check.id, markdown=[str(line) for line in found]) if found else None
        if found is not None:
            found.check = found.check or check.id
            out.append(found)
    return out


def relpath(path: Path) -> str:
    """*path* relative to the current folder (how the markdown links a screenshot)."""
    return os.path.relpath(path)


# The matrix cell's phrase for a measured check (the ``phrase(check)`` hook): figures first, short.
def _n(check: Any) -> dict[str, Any]:
    return dict(check.get("numbers") or {})


def _num(value: Any, fmt: str = "g") -> str | None:
    return format(value, fmt) if isinstance(value, int | float) and not isinstance(value, bool) else None


def overhead_phrase(check: Any) -> str | None:
    ratio = _num(_n(check).get("ratio"), ".1f")
    return f"x{ratio} vs plain" if ratio else None


def invasiveness_phrase(check: Any) -> str | None:
    n = _n(check)
    return f"{n['lines_added']} lines, {n.get('tool_files', 0)} files" if "lines_added" in n else None


def fan_out_phrase(check: Any) -> str | None:
    speed = _num(_n(check).get("speedup"), ".2f")
    return f"x{speed} at 2 workers" if speed else None


def license_phrase(check: Any) -> str | None:
    share = _num(_n(check).get("osi_share"), ".0%")
    return f"{share} OSI" if share else None


def failure_phrase(check: Any) -> str | None:
    n = _n(check)
    if "found" not in n:
        return None
    return ("found" if n.get("found") else "not found") + (", resumed" if n.get("resume_seconds", -1) >= 0 else "")


def large_data_phrase(check: Any) -> str | None:
    n = _n(check)
    return f"breaks at {n['breaks_at']:,} rows" if n.get("breaks_at") else None


PHRASES: dict[str, Callable[[Any], str | None]] = {
    "overhead": overhead_phrase,
    "invasiveness": invasiveness_phrase,
    "fan_out": fan_out_phrase,
    "license": license_phrase,
    "failure": failure_phrase,
    "large_data": large_data_phrase,
}
