"""remote_storage: round trip through a shared folder and an S3 endpoint (``[exam.storage]``).

Settings: ``shared_path`` (a folder; "" a temporary folder next to the workspace; false none),
``s3`` (a table of endpoint_url, bucket, prefix, region; true: a local moto_server with the
defaults; false: no S3 remote), ``timeout`` (seconds per remote operation, default 60).
Credentials never go here: they come from the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_compare.exam_settings import Report, known_keys
from mlops_compare.infra import s3_endpoint

# endpoint_url "": the exam starts its own local S3 server for the run.
S3_DEFAULTS = {
    "endpoint_url": "",
    "bucket": s3_endpoint.DEFAULT_BUCKET,
    "prefix": s3_endpoint.DEFAULT_PREFIX,
    "region": s3_endpoint.DEFAULT_REGION,
}


def parse_settings(table: dict[str, Any], problem: Report) -> dict[str, Any]:
    where = ("exam", "storage")
    known: dict[str, type | tuple[type, ...]] = {
        "shared_path": (str, bool),
        "s3": (dict, bool),
        "timeout": (int, float),
    }
    out = known_keys(table, known, where, problem)
    if out.get("shared_path") is True:
        problem(
            'exam.storage.shared_path is a folder path, "" (a temporary folder) or false (none)', *where, "shared_path"
        )
        out["shared_path"] = ""
    out.setdefault("shared_path", "")  # "": a temporary folder next to the workspace; false: no shared remote
    out["timeout"] = float(out.get("timeout", 60))
    s3 = out.get("s3", True)  # True: a local server with the defaults; False: no S3 remote
    if s3 is True:
        s3 = {}
    if isinstance(s3, dict):
        s3_known: dict[str, type | tuple[type, ...]] = {
            "endpoint_url": str,
            "bucket": str,
            "prefix": str,
            "region": str,
        }
        s3 = {**S3_DEFAULTS, **known_keys(s3, s3_known, (*where, "s3"), problem)}
    out["s3"] = s3
    return out


def resolve_paths(table: dict[str, Any], resolve: Callable[[str], str]) -> None:
    if table.get("shared_path"):
        table["shared_path"] = resolve(table["shared_path"])


# --- the report's section (`mlops_compare.report.sections` asks every check for it) ---------


def endpoint_shown(url: str) -> str:
    """Which endpoint, never who: a URL's ``user:password@`` part is dropped."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url  # "local moto_server"
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"


def report_section(evidence: Any) -> Any:
    """Both remotes per tool: status, push and pull seconds, bytes, objects, identical files, the endpoint."""
    from mlops_compare.report.blocks import CELL_MAX, Section, Table, shorten
    from mlops_compare.report.sections import numbers

    rows, changed = [], []
    for tool, found in evidence.tools.items():
        n = numbers(found, "remote_storage")
        for kind, label in (("shared", "shared folder"), ("s3", "S3")):
            if f"{kind}_status" not in n:
                continue
            where = "-" if kind == "shared" else endpoint_shown(str(n.get("s3_endpoint", "-")))
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
    return Section("Remote storage", blocks)
