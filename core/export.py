"""The score tables as GitHub-flavoured markdown, CSV or JSON, each with the same content.

`render`: one profile: a ranking table (tool, score, rank, P(first)), a checkpoint table
(checkpoint, weight, one column per tool with its rating) and the sensitivity summary.
`render_all_profiles`: every profile side by side with the Borda compromise
(`summary.all_profiles`). Both carry the tools that ran but have no ratings
(`unscored`): a "Not scored" section, ``unscored`` in JSON, rows in CSV. Every markdown
cell is escaped (`md_cell`), so a ``|`` or a
newline in a reason cannot break a table; all CSV goes through the csv module.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from mlops_compare.criteria import WEIGHT_MAX, Criteria
from mlops_compare.scoring.summary import Summary
from mlops_compare.unscored import Unscored
from mlops_compare.unscored import to_data as unscored_data

FORMATS = ("md", "csv", "json")


def md_cell(value: Any) -> str:
    """Escape text for one GitHub-flavoured markdown table cell."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    text = " ".join(text.split())  # newlines and tabs would end the row
    for char in "*_`[]<>":
        text = text.replace(char, "\\" + char)
    return text


def md_table(header: list[str], rows: list[list[Any]], align: list[str] | None = None) -> str:
    align = align or ["l"] * len(header)
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _num(value: float) -> str:
    return f"{value:g}"


def to_data(summary: Summary) -> dict[str, Any]:
    """Everything the exports show, as plain data (the JSON export)."""
    criteria, profile = summary.criteria, summary.profile
    return {
        "profile": profile.id,
        "description": profile.description,
        "criteria": str(criteria.path),
        "ranking": [
            {
                "tool": t,
                "name": criteria.tools[t].name,
                "score": round(summary.scores[t], 4),
                "rank": summary.ranks[t],
                "p_first": round(summary.p_first[t], 4),
            }
            for t in summary.tools
        ],
        "checkpoints": [
            {
                "id": c.id,
                "title": c.title,
                "weight": profile.weights[c.id],
                "ratings": {t: summary.cells[t][c.id].value for t in summary.tools},
                "why": {t: summary.cells[t][c.id].why for t in summary.tools},
                "source": {t: summary.cells[t][c.id].source for t in summary.tools},
                "flip": _flip_data(summary, c.id),
            }
            for c in criteria.checkpoints
        ],
    }


def _flip_data(summary: Summary, cid: str) -> dict[str, Any]:
    flip = summary.flips[cid]
    return {
        "delta": None if flip.delta is None else round(flip.delta, 4),
        "new_weight": None if flip.new_weight is None else round(flip.new_weight, 4),
        "challenger": flip.challenger,
        "text": flip.describe(WEIGHT_MAX, {t.id: t.name for t in summary.criteria.tools.values()}),
    }


def to_markdown(summary: Summary) -> str:
    data = to_data(summary)
    criteria = summary.criteria
    names = {t: criteria.tools[t].name for t in summary.tools}
    from mlops_compare.report.blocks import md_code  # (it builds on md_cell above)

    out = [f"# mlops-compare: profile {md_code(data['profile'])}", ""]
    if data["description"]:
        out += [md_cell(data["description"]), ""]
    out += ["## Ranking", ""]
    out.append(
        md_table(
            ["tool", "score", "rank", "P(first)"],
            [[r["name"], f"{r['score']:.2f}", r["rank"], f"{r['p_first']:.1%}"] for r in data["ranking"]],
            ["l", "r", "r", "r"],
        )
    )
    out += ["", "## Checkpoints", ""]
    rows = [
        [c["title"], _num(c["weight"])] + [_num(c["ratings"][t]) for t in summary.tools] for c in data["checkpoints"]
    ]
    out.append(md_table(["checkpoint", "weight", *names.values()], rows, ["l", "r"] + ["r"] * len(names)))
    out += ["", "## Sensitivity", ""]
    lead = ", ".join(names[r["tool"]] for r in data["ranking"] if r["rank"] == 1)
    out.append(
        f"First place: {md_cell(lead)}. P(first) comes from 10,000 weight vectors drawn around this profile "
        f"(Dirichlet); the flip is the smallest change of one weight (within 0..{WEIGHT_MAX:g}) that changes first place."
    )
    out.append("")
    flips = [[c["title"], _num(c["weight"]), c["flip"]["text"]] for c in data["checkpoints"]]
    out.append(md_table(["checkpoint", "weight", "smallest flip"], flips))
    out += ["", "## Reasons", ""]
    reasons = [
        [c["title"], names[t], _num(c["ratings"][t]), c["why"][t], c["source"][t]]
        for c in data["checkpoints"]
        for t in summary.tools
    ]
    out.append(md_table(["checkpoint", "tool", "rating", "why", "source"], reasons, ["l", "l", "r", "l", "l"]))
    return "\n".join(out) + "\n"


def unscored_markdown(criteria: Criteria, items: Sequence[Unscored]) -> list[str]:
    """The "Not scored" section: each tool's note, what it ran, the ratings it would get (none: [])."""
    if not items:
        return []
    out = ["## Not scored", ""] + [md_cell(u.note) + "." for u in items]
    rows = [
        [u.tool, "installed" if u.has_runner else "not installed", u.newest]
        + [", ".join(f"{c} {s}" for c, s in u.checks.items()) or "-"]
        for u in items
    ]
    out += ["", md_table(["tool", "runner", "newest run", "checks that ran (newest run each)"], rows), ""]
    measured = [c for c in criteria.checkpoints if any(c.id in u.measured for u in items)]
    if measured:
        header = ["checkpoint", *(f"{u.tool} (measured)" for u in items)]
        table = [[c.title, *(f"{u.measured[c.id]:g}" if c.id in u.measured else "-" for u in items)] for c in measured]
        out += ["Measured ratings it would get (the other checkpoints need expert ratings):", ""]
        out += [md_table(header, table, ["l"] + ["r"] * len(items)), ""]
    return out


def to_csv(summary: Summary) -> str:
    data = to_data(summary)
    rows: list[list[Any]] = [
        ["section", "id", "title", "weight", "tool", "rating", "score", "rank", "p_first", "why", "source", "flip"]
    ]
    for r in data["ranking"]:
        rows.append(["ranking", "", "", "", r["tool"], "", r["score"], r["rank"], r["p_first"], "", "", ""])
    for c in data["checkpoints"]:
        for t in c["ratings"]:
            rows.append(
                ["checkpoint", c["id"], c["title"], c["weight"], t, c["ratings"][t], "", "", ""]
                + [c["why"][t], c["source"][t], c["flip"]["text"]]
            )
    return _csv(rows)


def _unscored_rows(criteria: Criteria, items: Sequence[Unscored]) -> list[list[Any]]:
    """CSV rows (to_csv's columns) per unscored tool and measured checkpoint; the note as the why."""
    rows: list[list[Any]] = []
    for u in items:
        for cid, rating in u.measured.items() or [("", "")]:
            checkpoint = criteria.checkpoint(cid) if cid else None
            title, source = (
                (checkpoint.title, "measured: " + ", ".join(checkpoint.evidence)) if checkpoint else ("", "")
            )
            rows.append(["unscored", cid, title, "", u.tool, rating, "", "", "", u.note, source, ""])
    return rows


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def render(summary: Summary, fmt: str, unscored: Sequence[Unscored] = ()) -> str:
    if fmt == "md":
        return to_markdown(summary) + "".join(f"\n{line}" for line in unscored_markdown(summary.criteria, unscored))
    if fmt == "csv":
        return to_csv(summary) + _csv(_unscored_rows(summary.criteria, unscored))
    if fmt == "json":
        return (
            json.dumps({**to_data(summary), "unscored": unscored_data(unscored)}, indent=2, ensure_ascii=False) + "\n"
        )
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def render_all_profiles(
    criteria: Criteria, ranking: dict[str, Any], fmt: str, unscored: Sequence[Unscored] = ()
) -> str:
    """Every profile side by side (*ranking* is `summary.all_profiles`), best compromise first."""
    tools = sorted(criteria.tools, key=lambda t: (ranking["compromise"][t], -ranking["borda"][t]))
    if fmt == "json":
        return json.dumps({**ranking, "unscored": unscored_data(unscored)}, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        rows: list[list[Any]] = [["profile", "tool", "score", "rank"]]
        for pid, p in ranking["profiles"].items():
            rows += [[pid, t, f"{p['scores'][t]:.4f}", p["ranks"][t]] for t in tools]
        rows += [["borda", t, ranking["borda"][t], ranking["compromise"][t]] for t in tools]
        rows += [["unscored", u.tool, "", ""] for u in unscored]
        return _csv(rows)
    if fmt != "md":
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    names = [criteria.tools[t].name for t in tools]
    rows = [
        [pid] + [f"{p['scores'][t]:.2f} (#{p['ranks'][t]})" for t in tools] for pid, p in ranking["profiles"].items()
    ]
    rows.append(["Borda compromise"] + [f"{ranking['borda'][t]} pts (#{ranking['compromise'][t]})" for t in tools])
    return (
        "# mlops-compare: every profile\n\n"
        + md_table(["profile", *names], rows, ["l"] + ["r"] * len(tools))
        + "\n\nBorda: each profile gives a tool (number of tools - rank) points; the compromise ranks by the sum.\n"
        + "".join(f"\n{line}" for line in unscored_markdown(criteria, unscored))
    )
