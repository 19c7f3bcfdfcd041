"""The plain baseline of `remote_storage`: the data and a pickled model copied by hand, no tool.

What a user without an MLOps tool writes: ``shutil.copy2`` to the shared folder and back, and
boto3's ``upload_file`` / ``download_file`` for S3 (the endpoint and timeouts in the client,
credentials from the AWS variables). The functions below are that code; their length is
the "lines a user writes" figure, and nothing here keeps an index, versions or checksums:
the round trip is verified by this check, not by the code.
"""

from __future__ import annotations

import inspect
import pickle
import shutil
import time
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.checks import remote_storage as remotes
from mlops_compare.runners.context import Context, Outcome

STEPS = 3  # copy out, copy back, verify
MODEL_FILE = "model.pkl"


def copy_out(files: list[Path], folder: Path) -> None:
    for file in files:
        shutil.copy2(file, folder / file.name)


def copy_back(folder: Path, names: list[str], into: Path) -> None:
    for name in names:
        shutil.copy2(folder / name, into / name)


def upload(client, bucket: str, prefix: str, files: list[Path]) -> None:
    for file in files:
        client.upload_file(str(file), bucket, f"{prefix}/{file.name}")


def download(client, bucket: str, prefix: str, names: list[str], into: Path) -> None:
    for name in names:
        client.download_file(bucket, f"{prefix}/{name}", str(into / name))


def _lines(*functions) -> int:
    return sum(len(inspect.getsource(f).strip().splitlines()) for f in functions)


class StorageCheck:
    def remote_storage(self, ctx: Context) -> Outcome:
        model = ctx.workspace / MODEL_FILE
        if not model.is_file():
            from sklearn.linear_model import ElasticNet

            train_x, _, train_y, _ = common.load_split(ctx.workspace)
            fitted = ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=ctx.exam["random_state"]).fit(train_x, train_y)
            model.write_bytes(pickle.dumps(fitted))
        return remotes.run_check(ctx, "plain", _trip, STEPS, _summary)


def _trip(ctx: Context, remote: remotes.Remote, trip: remotes.Trip, step) -> None:
    files = [ctx.workspace / common.DATA_FILE, ctx.workspace / MODEL_FILE]
    names = [f.name for f in files]
    before = remotes.sha256_files(ctx.workspace, names)
    back = ctx.workspace / "tmp" / f"copied-back-{remote.kind}"
    back.mkdir(parents=True, exist_ok=True)
    step(remote, "copy out")
    start = time.perf_counter()
    if remote.path is not None:
        trip.configured.append("a folder path in the script")
        copy_out(files, remote.path)
        trip.push_seconds = time.perf_counter() - start
        trip.measure()
        step(remote, "copy back")
        start = time.perf_counter()
        copy_back(remote.path, names, back)
    else:
        trip.configured.append("boto3.client('s3', endpoint_url=..., config=timeouts) in the script")
        assert remote.s3 is not None  # not a folder: S3
        client, prefix = remote.client(), remote.s3.prefix
        upload(client, remote.s3.bucket, prefix, files)
        trip.push_seconds = time.perf_counter() - start
        trip.measure()
        step(remote, "download")
        start = time.perf_counter()
        download(client, remote.s3.bucket, prefix, names, back)
    trip.pull_seconds = time.perf_counter() - start
    step(remote, "verify")
    after = remotes.sha256_files(back, names)
    trip.files, trip.identical = len(before), sum(after.get(n) == h for n, h in before.items())
    trip.note(f"{', '.join(names)} copied out and back by hand: sha256 identical for {trip.identical} of {trip.files}")
    trip.verdict()


def _summary(ctx: Context, trips: list[remotes.Trip]) -> tuple[str, dict]:
    shared, s3 = _lines(copy_out, copy_back), _lines(upload, download)
    text = (
        f"no tool: {shared} lines of shutil code for the shared folder, {s3} of boto3 code for S3, written and "
        "kept by the user; no index of what was copied, no versions, no integrity check unless written too"
    )
    return text, {"example_lines_changed": shared + s3}
