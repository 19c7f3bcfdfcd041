"""The ``remote_storage`` check, the same for every tool: the two remotes, what landed there, the verdict.

``[exam.storage]`` (parsed by ``mlops_compare.exam_settings``) names two kinds of remote,
both exercised in one run:

- **shared**: a folder standing in for the shared file system of an HPC centre (NFS,
  Lustre, GPFS): ``shared_path``, or a temporary folder next to the workspace; the check
  works in a fresh sub-folder of it and removes that at the end;
- **s3**: an S3-compatible object store: the user's ``endpoint_url`` (MinIO, Ceph RGW,
  AWS; credentials from the AWS_* variables or AWS_PROFILE, never from criteria.toml), or,
  when it is empty, a ``moto_server`` started for this check on 127.0.0.1 with throwaway
  credentials (`mlops_compare.infra.s3_endpoint.LocalS3`). The check writes under a fresh
  prefix ``<prefix>/<tool>-<token>`` and deletes it at the end.

An endpoint is probed first (`s3_endpoint.probe`: seconds, one line with a hint). A failed
probe does not stop the tool from trying: its own error message is what a user would see,
so it is recorded, followed by the probe's hint.

The whole check for one tool (the probe and every remote's round trip) has `BUDGET` x
``[exam.storage] timeout`` seconds: every tool command gets at most what is left
(`Context.deadline`), the check's own S3 calls too, and a remote not reached in time fails
with "not tried". Then the cleanup (bounded by the timeout per call). An endpoint that
accepts connections but never answers costs a tool at most that, not 5 to 8 timeouts.

A tool's ``runners/<tool>/storage.py`` does the round trip with the tool's own mechanism
(`round_trip(ctx, remote, trip)`, filling a `Trip`); `run_check` opens the remotes, runs
it per remote with every failure turned into the trip's reason, and makes the verdict:

- ``pass``: every remote's round trip verified byte for byte (checksums or identical
  predictions) through the tool;
- ``partial``: it worked with a workaround, or for part of the data;
- ``fail``: a remote did not work (the tool's message, then the probe's hint);

and flat numbers per remote (``shared_*``, ``s3_*``: status, push and pull seconds, bytes
and objects written, files verified), which the report shows per tool.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_compare.infra import s3_endpoint
from mlops_compare.infra.redaction import Redactor
from mlops_compare.runners.context import EXAMPLE_DIR, CommandError, Context, Outcome
from mlops_compare.runners.measures import diff_lines

PROBE_TIMEOUT = 10.0  # seconds for the endpoint probe (each network step)
BUDGET = 6  # the whole check for one tool: at most BUDGET x [exam.storage] timeout (cleanup aside)
MESSAGE_CHARS = 400  # a tool's error message is cut here in the evidence
LOCAL_ENDPOINT = "local moto_server"  # what the numbers say when the exam started its own S3
# Words that mark a line of a tool's output as its error message.
_ERROR_LINE = re.compile(
    r"(error|exception|denied|refused|could not|unable|forbidden|signature|timed out|no such)", re.IGNORECASE
)
_LONG_PATH = re.compile(r"(?:[a-z0-9]+://|/)[^\s\"'()]{60,}")
PATH_CHARS = 48
_NOISE = re.compile(r"^(Having any troubles\?|Traceback \(most recent call last\)|\s*File \")")


class ToolFailure(RuntimeError):
    """A round trip failed with a message already put together from the tool's own words (kept as it is)."""


@dataclass
class Remote:
    """One remote as the tools see it; `env` holds what a client needs for it (never logged)."""

    kind: str  # "shared" or "s3"
    url: str  # as tools spell it: a folder path, or s3://bucket/prefix/<tool>-<token>
    timeout: float  # seconds for each network step
    path: Path | None = None  # the shared folder
    s3: s3_endpoint.S3Settings | None = None  # bucket, the fresh prefix, region, endpoint
    endpoint: str = ""  # for the report: LOCAL_ENDPOINT or the user's URL
    env: dict[str, str] = field(default_factory=dict, repr=False)  # AWS_* for this endpoint
    problem: str | None = None  # the probe's reason when the endpoint is not usable
    deadline: float | None = None  # time.monotonic() by which the check must be done (`BUDGET`)

    def step_timeout(self) -> float:
        """Seconds for one network step: the timeout, or what is left of the check's budget (at least 1)."""
        if self.deadline is None:
            return self.timeout
        return max(1.0, min(self.timeout, self.deadline - time.monotonic()))

    @property
    def label(self) -> str:
        if self.kind == "shared":
            return f"shared folder {self.url}"
        local = f" ({LOCAL_ENDPOINT})" if self.endpoint == LOCAL_ENDPOINT else ""
        return f"S3 {self.url} at {self.s3.endpoint_url if self.s3 else '?'}{local}"

    def usage(self) -> tuple[int, int]:
        """(bytes, objects) the tool left on this remote."""
        if self.path is not None:
            files = [p for p in self.path.rglob("*") if p.is_file() and not p.is_symlink()]
            return sum(p.stat().st_size for p in files), len(files)
        total = count = 0
        for item in self.objects():
            total, count = total + item["Size"], count + 1
        return total, count

    def objects(self) -> list[dict[str, Any]]:
        """Every object under this remote's prefix (S3 only)."""
        assert self.s3 is not None
        paginator = self.client().get_paginator("list_objects_v2")
        out: list[dict[str, Any]] = []
        for page in paginator.paginate(Bucket=self.s3.bucket, Prefix=self.s3.prefix.strip("/") + "/"):
            out.extend(page.get("Contents") or [])
        return out

    def client(self):
        """A boto3 S3 client for this endpoint with the check's timeouts (for measuring, not for the tools)."""
        import boto3
        from botocore.config import Config

        assert self.s3 is not None
        step = self.step_timeout()
        config = Config(
            connect_timeout=step,
            read_timeout=step,
            retries={"total_max_attempts": 2 if self.deadline is None or step >= self.timeout else 1},
            s3={"addressing_style": "path"} if self.s3.endpoint_url else {},
        )
        env = {**os.environ, **self.env}
        kwargs: dict[str, Any] = {}
        if self.env.get("AWS_ACCESS_KEY_ID"):
            kwargs = {
                "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": env.get("AWS_SECRET_ACCESS_KEY"),
            }
        session = boto3.session.Session(**kwargs)
        return session.client(
            "s3", endpoint_url=self.s3.endpoint_url or None, region_name=self.s3.region, config=config
        )


@dataclass
class Trip:
    """One remote's round trip through a tool, as its storage check fills it in."""

    remote: Remote
    last: bool = False  # the check's last remote (a tool may do a once-per-check step there)
    status: str = "fail"
    push_seconds: float | None = None
    pull_seconds: float | None = None
    bytes: int = 0  # written to the remote
    objects: int = 0
    files: int = 0  # files (or models) compared after the round trip
    identical: int = 0  # of those, identical byte for byte (or in their predictions)
    configured: list[str] = field(default_factory=list)  # commands, variables, files a user sets
    notes: list[str] = field(default_factory=list)  # what happened, in order
    error: str = ""  # why it failed: the tool's own message, then a hint

    def note(self, text: str) -> None:
        self.notes.append(text)

    def measure(self) -> None:
        """Bytes and objects now on the remote."""
        self.bytes, self.objects = self.remote.usage()

    def verdict(self, workaround: str = "") -> None:
        """pass when every compared file is identical (partial with a workaround), else fail."""
        if self.files and self.identical == self.files:
            self.status = "partial" if workaround else "pass"
            if workaround:
                self.note(f"workaround: {workaround}")
        else:
            self.status = "fail"
            self.error = self.error or f"only {self.identical} of {self.files} file(s) came back identical"


class Steps:
    """Live sub-steps for the TUI pane: ``ctx.progress(k, n, "s3: push")``."""

    def __init__(self, ctx: Context, per_remote: int, remotes: int):
        self.ctx, self.k, self.n = ctx, 0, per_remote * remotes

    def __call__(self, remote: Remote, label: str) -> None:
        self.k = min(self.k + 1, self.n)
        self.ctx.progress(self.k, self.n, f"{remote.kind}: {label}")


def tool_message(text: str) -> str:
    """The line of a tool's output that says what went wrong (its last error-like line), one line."""
    lines = [line.strip() for part in str(text).splitlines() for line in part.split(" | ")]
    lines = [line for line in lines if line and not _NOISE.match(line)]
    errors = [line for line in lines if _ERROR_LINE.search(line)]
    return cut((errors or lines or [str(text).strip()])[-1])


def cut(message: str) -> str:
    """*message* with long URLs and paths shortened (the error code after them matters more), at most MESSAGE_CHARS."""
    message = _LONG_PATH.sub(lambda m: m.group(0)[:PATH_CHARS] + "...", message)
    return message if len(message) <= MESSAGE_CHARS else message[: MESSAGE_CHARS - 3] + "..."


def failure(remote: Remote, exc: BaseException) -> str:
    """One line: the tool's message (or the exception), then the probe's hint when there is one."""
    if isinstance(exc, ToolFailure):
        message = cut(str(exc))
    elif isinstance(exc, CommandError):
        message = tool_message(str(exc))
        if exc.timed_out:
            message = f"timed out after {remote.timeout:g} s: {message}"
    else:
        message = tool_message(f"{type(exc).__name__}: {exc}")
    if remote.problem:
        message += f" (hint: {remote.problem})"
    return message


def sha256_files(root: Path, names: list[str]) -> dict[str, str]:
    """{name: sha256} of the files under *root* that exist."""
    from mlops_compare.example import common

    return {name: common.sha256_file(root / name) for name in names if (root / name).is_file()}


def example_lines_changed(ctx: Context, folder: str, names: list[str]) -> int:
    """Lines added plus removed between ``example/<folder>/<name>`` and the copy the tool ran from the workspace.

    The switch from local to remote storage should change no code (the study's
    "exchangeable backends"); this measures it instead of assuming it.
    """
    changed = 0
    for name in names:
        example, used = EXAMPLE_DIR / folder / name, ctx.workspace / name
        if example.is_file():
            added, removed = diff_lines(example.read_text(), used.read_text() if used.is_file() else "")
            changed += added + removed
    return changed


def _token() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]


@contextlib.contextmanager
def open_remotes(ctx: Context, tool: str) -> Iterator[list[Remote]]:
    """The configured remotes, ready for one tool; everything is removed or stopped on exit."""
    settings = ctx.exam["storage"]
    timeout = float(settings.get("timeout", 60))
    token = f"{tool}-{_token()}"
    cleanup: list[Callable[[], None]] = []
    remotes: list[Remote] = []
    redactor_before = ctx.emitter.redactor
    deadline_before = ctx.deadline
    ctx.deadline = time.monotonic() + BUDGET * timeout
    try:
        shared = settings.get("shared_path", "")
        if shared is not False:  # "": a temporary folder next to the workspace
            base = Path(shared) if shared else ctx.workspace.parent
            base.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=f"mlops-compare-shared-{token}-", dir=base))
            cleanup.append(lambda: shutil.rmtree(folder, ignore_errors=True))
            remotes.append(Remote("shared", str(folder), timeout, path=folder))
        s3 = settings.get("s3")
        if s3:
            remotes.append(_s3_remote(ctx, s3, token, timeout, cleanup))
        for remote in remotes:
            remote.deadline = ctx.deadline
        yield remotes
    finally:
        ctx.deadline = deadline_before  # the cleanup has the timeout per call, not the spent budget
        for step in reversed(cleanup):
            try:
                step()
            except Exception as exc:  # cleaning up never hides the check's result
                ctx.log(f"remote_storage cleanup: {type(exc).__name__}: {exc}")
        ctx.emitter.redactor = redactor_before


def _s3_remote(ctx: Context, s3: dict[str, Any], token: str, timeout: float, cleanup: list) -> Remote:
    prefix = f"{s3['prefix'].strip('/')}/{token}".strip("/")
    if s3.get("endpoint_url"):
        settings = s3_endpoint.S3Settings(s3["endpoint_url"], s3["bucket"], prefix, s3["region"])
        remote = Remote("s3", settings.url, timeout, s3=settings, endpoint=s3["endpoint_url"])
        remote.env = {"AWS_DEFAULT_REGION": s3["region"]}  # credentials: the AWS_* variables or AWS_PROFILE
    else:
        ctx.log("starting a local S3 endpoint (moto_server) for this check")
        local = s3_endpoint.LocalS3(s3["bucket"], prefix=prefix, region=s3["region"])
        local.start()
        cleanup.append(local.stop)
        settings = s3_endpoint.S3Settings(local.endpoint_url, s3["bucket"], prefix, s3["region"])
        remote = Remote("s3", settings.url, timeout, s3=settings, endpoint=LOCAL_ENDPOINT, env=dict(local.env))
        # The core does not know these throwaway keys: mask them here, in every event.
        ctx.emitter.redactor = Redactor.from_env({**os.environ, **local.env})
        ctx.log(f"local S3 endpoint {local.endpoint_url} up in {local.started_seconds:.1f} s")
    remote.problem = s3_endpoint.probe(settings, {**os.environ, **remote.env}, timeout=min(timeout, PROBE_TIMEOUT))
    if remote.problem:
        ctx.log(f"S3 probe: {remote.problem}")
    elif s3.get("endpoint_url"):
        cleanup.append(lambda: _delete_prefix(ctx, remote))
    return remote


def _delete_prefix(ctx: Context, remote: Remote) -> None:
    """Remove what the check wrote to the user's bucket (its fresh prefix only)."""
    assert remote.s3 is not None  # called for the S3 remote only
    client = remote.client()
    keys = [{"Key": item["Key"]} for item in remote.objects()]
    for start in range(0, len(keys), 1000):
        client.delete_objects(Bucket=remote.s3.bucket, Delete={"Objects": keys[start : start + 1000]})
    ctx.log(f"removed {len(keys)} object(s) under {remote.url}")


def run_check(
    ctx: Context,
    tool: str,
    round_trip: Callable[[Context, Remote, Trip, Steps], None],
    steps: int,
    summary: Callable[[Context, list[Trip]], tuple[str, dict[str, Any]]] | None = None,
    prepare: Callable[[Context, list[Remote]], None] | None = None,
) -> Outcome:
    """Open the remotes, run *round_trip* for each (a failure is that trip's reason), make the verdict.

    *steps*: sub-steps per remote, for live progress. *summary(ctx, trips)* adds the tool's own
    sentence (what a client must know, what changed in the example) and numbers. *prepare(ctx,
    remotes)* runs once before the round trips (e.g. starts a server per remote side by side).
    """
    trips: list[Trip] = []
    with open_remotes(ctx, tool) as remotes:
        if not remotes:
            return Outcome("skip", "[exam.storage] names no remote (shared_path = false and s3 = false)")
        progress = Steps(ctx, steps, len(remotes))
        if prepare is not None:
            prepare(ctx, remotes)
        for remote in remotes:
            trip = Trip(remote, last=remote is remotes[-1])
            trips.append(trip)
            ctx.log(f"remote_storage: {remote.label}")
            started = time.perf_counter()
            try:
                if ctx.deadline is not None and time.monotonic() >= ctx.deadline:
                    raise ToolFailure(
                        f"not tried: the check's budget ({BUDGET} x timeout = {BUDGET * remote.timeout:g} s) was spent"
                    )
                round_trip(ctx, remote, trip, progress)
            except Exception as exc:
                ctx.log(f"remote_storage {remote.kind} failed: {type(exc).__name__}: {exc}")
                trip.status, trip.error = "fail", failure(remote, exc)
            if trip.status == "fail" and not trip.error:
                trip.error = remote.problem or "the round trip did not complete"
            with contextlib.suppress(Exception):  # the remote itself may be what failed
                if not trip.bytes:
                    trip.measure()
            ctx.log(f"remote_storage {remote.kind}: {trip.status} in {time.perf_counter() - started:.1f} s")
        extra, numbers = summary(ctx, trips) if summary else ("", {})
        return outcome(trips, extra, numbers)


def outcome(trips: list[Trip], extra: str = "", numbers: dict[str, Any] | None = None) -> Outcome:
    """The check's status (the worst trip), evidence (one sentence per remote) and flat numbers."""
    order = {"fail": 0, "partial": 1, "pass": 2}
    status = min((t.status for t in trips), key=lambda s: order.get(s, 0)) if trips else "fail"
    out: dict[str, Any] = {"remotes": len(trips)}
    parts = []
    for trip in trips:
        kind = trip.remote.kind
        out[f"{kind}_status"] = trip.status
        out[f"{kind}_bytes"] = trip.bytes
        out[f"{kind}_objects"] = trip.objects
        out[f"{kind}_files"] = trip.files
        out[f"{kind}_identical"] = trip.identical
        for name in ("push_seconds", "pull_seconds"):
            value = getattr(trip, name)
            if value is not None:
                out[f"{kind}_{name}"] = round(value, 3)
        if kind == "s3":
            out["s3_endpoint"] = trip.remote.endpoint
        text = f"{trip.remote.label}: {trip.status.upper()}"
        if trip.configured:
            text += f"; configured: {'; '.join(trip.configured)}"
        if trip.notes:
            text += f"; {'; '.join(trip.notes)}"
        if trip.push_seconds is not None or trip.pull_seconds is not None:
            text += f"; push {_seconds(trip.push_seconds)}, pull {_seconds(trip.pull_seconds)}"
        text += f"; {trip.bytes:,} bytes in {trip.objects} object(s) on the remote"
        if trip.error:
            text += f"; FAILED: {trip.error}"
        parts.append(text)
    out.update(numbers or {})
    evidence = " || ".join(parts) + (f" || {extra}" if extra else "")
    secrets = {**os.environ, **{k: v for t in trips for k, v in t.remote.env.items()}}
    return Outcome(status, Redactor.from_env(secrets).redact(evidence), out)


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"
