"""The decision report as one self-contained HTML file (``mlops-compare report --format html``).

The same content as the markdown report (`report.model.build`), rendered with Jinja2 from
``report.html.j2`` with autoescape on: CSS inline, charts as inline SVG (`report.svg`), the
ui check's screenshots embedded as data URIs, each evidence item a ``<details>``, print
styles for a PDF, no JavaScript and no request to anything outside the file (a Content
Security Policy says so to the browser as well). Check sections that wrote their own
markdown are rendered with markdown-it, raw HTML off.

PDF: ``chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer
--print-to-pdf=report.pdf report.html``.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from markupsafe import Markup
from mlops_compare import report
from mlops_compare.criteria import Criteria, Profile
from mlops_compare.events import CHECKS
from mlops_compare.evidence import Evidence, run_label, variants
from mlops_compare.report import model as report_model
from mlops_compare.report import svg as report_svg
from mlops_compare.report.blocks import Image, Section, Table, anchor
from mlops_compare.scoring import smaa
from mlops_compare.unscored import unscored

IMAGE_MAX = 8_000_000  # bytes: a larger screenshot is named, not embedded
STEPS = (("tool_register_s", "register"), ("tool_train_s", "train"), ("tool_read_s", "read back"))
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


def _data_uri(image: Image) -> str:
    mime = MIME.get(image.path.suffix.lower())
    try:
        if mime is None or not image.path.is_file() or image.path.stat().st_size > IMAGE_MAX:
            return ""
        return f"data:{mime};base64," + base64.b64encode(image.path.read_bytes()).decode("ascii")
    except OSError:
        return ""


def _markdown_html(lines: list[str]) -> Markup:
    from markdown_it import MarkdownIt

    return Markup(MarkdownIt("commonmark", {"html": False}).enable("table").render("\n".join(lines)))


def _section(section: Section) -> dict[str, Any]:
    if section.markdown:
        return {"check": section.check, "html": _markdown_html(section.markdown)}
    blocks: list[dict[str, Any]] = []
    for block in section.blocks:
        if isinstance(block, Table):
            blocks.append({"kind": "table", "header": block.header, "rows": block.rows})
        elif isinstance(block, Image):
            blocks.append({"kind": "image", "caption": block.caption, "src": _data_uri(block)})
        else:
            blocks.append({"kind": "text", "text": block})
    return {"check": section.check, "title": section.title, "blocks": blocks, "html": None}


def _exam_charts(model: report_model.Model) -> list[Markup]:
    """Overhead and fan-out bars, and the large-data seconds per step against rows (log-log)."""
    charts = []
    data = {s.check: s.data for s in model.sections}
    ratios = data.get("overhead", {}).get("ratio") or {}
    if ratios:
        charts.append(report_svg.bars("Overhead: grid time vs plain (x)", list(ratios.items()), "x"))
    speedups = data.get("fan_out", {}).get("speedup") or {}
    if speedups:
        charts.append(report_svg.bars("Fan-out: speed-up at 2 workers (x)", list(speedups.items()), "x"))
    curves = data.get("large_data", {}).get("curves") or {}
    for key, step in STEPS:
        lines = {
            tool: [(float(s.rows), float(s.get(key))) for s in sizes if isinstance(s.get(key), int | float)]
            for tool, sizes in curves.items()
        }
        lines = {tool: points for tool, points in lines.items() if points}
        if lines:
            charts.append(
                report_svg.loglog(
                    f"Large data: {step} (seconds, log-log)",
                    lines,
                    "rows (log)",
                    "seconds (log)",
                    report_svg.seconds_label,
                )
            )
    return charts


def _dataset_text(dataset: dict[str, Any]) -> str:
    source = report.shareable_path(str(dataset.get("source", "?")))
    text = f"Data set: {source}, target {dataset.get('target', '?')}, {dataset.get('rows', '?')} rows."
    if dataset.get("source_sha256"):
        text += f" Source file sha256 {dataset['source_sha256']}."
    if dataset.get("normalised_sha256"):
        text += f" Normalised copy (the comma CSV every tool read) sha256 {dataset['normalised_sha256']}."
    return text


def html_report(
    criteria: Criteria, profile: Profile, evidence: Evidence, command: str = "mlops-compare report --format html"
) -> str:
    """The whole report as one HTML document."""
    from jinja2 import Environment

    model = report_model.build(criteria, profile, evidence)
    env = Environment(autoescape=True, trim_blocks=False, lstrip_blocks=False)
    env.filters["anchor"] = lambda text: anchor(str(text))
    env.filters["rating_class"] = lambda value: max(0, min(5, int(float(value) + 0.5)))
    template = env.from_string(resources.files("mlops_compare.report").joinpath("report.html.j2").read_text("utf-8"))

    names, summary = model.names, model.summary
    ranks = list(range(1, len(model.tools) + 1))
    charts = {
        "scores": report_svg.bars(
            "Weighted score (0-5)", [(names[t], summary.scores[t]) for t in model.tools], maximum=5.0
        ),
        "acceptability": report_svg.stacked(
            "Rank acceptability (share of weight draws per rank)",
            [(names[t], model.smaa.acceptability[t]) for t in model.tools],
            [f"rank {k}" for k in ranks],
        ),
    }
    total = sum(profile.weights.values())
    tools = list(evidence.tools)
    check_rows = [[check.id] + [report.check_cell(evidence.tools[t], check.id) for t in tools] for check in CHECKS]
    check_rows.append(
        ["newest run"]
        + [
            f"{f.latest.status} ({run_label(f.latest.started_at)})" if f.latest is not None else "-"
            for f in evidence.tools.values()
        ]
    )
    inputs = [_dataset_text(d) for d, _ in variants(evidence, "dataset")]
    inputs += [
        f"Grid: alpha = {g.get('alpha')}, l1_ratio = {g.get('l1_ratio')}." for g, _ in variants(evidence, "grid")
    ]
    source = "the shipped criteria.toml" if criteria.shipped else report.shareable_path(criteria.path)
    return template.render(
        m=model,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        source=source,
        ranks=ranks,
        first=", ".join(names[t] for t in model.tools if summary.ranks[t] == 1),
        charts=charts,
        unscored=unscored(criteria, evidence),
        explain=smaa.EXPLAIN,
        reference=smaa.REFERENCE,
        winners=[t for t in model.tools if model.smaa.central_weights[t] is not None],
        titles={c.id: c.title for c in criteria.checkpoints},
        profile_shares={c: profile.weights[c] / total for c in model.smaa.checkpoints},
        inputs=inputs,
        exam_tools=tools,
        check_rows=check_rows,
        exam_charts=_exam_charts(model),
        sections=[_section(s) for s in model.sections],
        versions=report.versions_rows(criteria, evidence, summary),
        libraries=", ".join(f"{k} {v}" for k, v in report.library_versions().items()),
        reproduce=report.run_command(criteria, evidence) + "\n" + command,
    )
