"""ui: the tool's own UI or report, rendered in headless Chromium (no settings, scored by status).

The report's section: each tool's status and its screenshot, which stays in the run's
workspace (the markdown report links it, the HTML report embeds it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def report_section(evidence: Any) -> Any:
    from mlops_compare.evidence import WORKSPACE
    from mlops_compare.report.blocks import CELL_MAX, Image, Section, Table, shorten
    from mlops_compare.report.sections import numbers

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
        rows.append([tool, found.checks["ui"].status, shorten(shot, CELL_MAX)])
    if not rows:
        return None
    return Section("The tools' own UI", [Table(["tool", "ui", "screenshot"], rows), *images])
