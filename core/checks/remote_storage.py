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
    known = {"shared_path": (str, bool), "s3": (dict, bool), "timeout": (int, float)}
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
