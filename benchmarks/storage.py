"""Benchmark: push and pull seconds and bytes per tool, for the wine data and for a 1 GB file.

1. The wine data (../shared/data/wine-quality.csv): every runner's real `remote_storage`
   check (only that check, plus setup), with the exam's own S3 endpoint (moto_server on
   127.0.0.1) and a temporary shared folder; the figures are the check's numbers.
2. One file of --size-mb (default 1024 MB), generated deterministically (seeded random
   bytes) in a temporary folder and removed afterwards, through each tool's own storage
   mechanism, to a shared folder and to S3 (one moto_server), then read back from an empty
   cache and compared by sha256:
   - plain:    shutil.copy2 / boto3 upload_file, download_file
   - dvc:      dvc add; dvc remote add (+ endpointurl); dvc push; cache and file removed; dvc pull
   - mlflow:   mlflow server --artifacts-destination <remote>; mlflow.log_artifact from one
               client, mlflow.artifacts.download_artifacts from a second (no AWS variables)
   - metaflow: a one-step flow with IncludeFile, its datastore on the remote; Run(...).data
               read back by the client API with an empty client cache
   Push and pull seconds exclude interpreter start-up (measured inside the clients) for
   MLflow and Metaflow's read; DVC's are whole commands, as a user waits for them.

    python benchmarks/storage.py [--size-mb 1024] [--skip-wine] [--skip-big] [--tool NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WINE = ROOT.parent / "shared" / "data" / "wine-quality.csv"
TOOLS = ("plain", "dvc", "mlflow", "metaflow")
SEED = 20261127
CHUNK = 64 << 20
BUCKET = "mlops-compare"
FLOW = """from metaflow import FlowSpec, IncludeFile, step


class BigFlow(FlowSpec):
    blob = IncludeFile("blob", is_text=False, default="big.bin")

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    BigFlow()
"""


# --- part 1: the real check on the wine data ------------------------------------------
def wine(tools: list[str], workdir: Path) -> None:
    from mlops_compare.executors.local import RunRequest, run_many

    exam = {
        "data": str(WINE),
        "target": "quality",
        "test_size": 0.25,
        "random_state": 42,
        "grid": {"alpha": [0.0, 0.5, 1.0], "l1_ratio": [0.0, 0.5, 1.0]},
        "checks": ["remote_storage"],
        "storage": {
            "shared_path": "",
            "timeout": 120.0,
            "s3": {"endpoint_url": "", "bucket": BUCKET, "prefix": "exam", "region": "us-east-1"},
        },
    }
    start = time.perf_counter()
    records = asyncio.run(run_many([RunRequest(t, exam, timeout=1800, workdir=workdir) for t in tools], jobs=1))
    print(
        f"\nwine data ({WINE.stat().st_size:,} bytes, 3x3 grid), remote_storage check, {time.perf_counter() - start:.0f} s"
    )
    print(f"{'tool':<10}{'remote':<8}{'status':<9}{'push s':>8}{'pull s':>8}{'bytes':>12}{'objects':>9}  identical")
    for record in records:
        check = record.checks.get("remote_storage") or {}
        n = check.get("numbers") or {}
        if not n:
            print(f"{record.tool:<10}{'-':<8}{check.get('status', record.status):<9}  {record.reason}")
        for kind in ("shared", "s3"):
            if f"{kind}_status" in n:
                push, pull = n.get(f"{kind}_push_seconds"), n.get(f"{kind}_pull_seconds")
                print(
                    f"{record.tool:<10}{kind:<8}{n[f'{kind}_status']:<9}{_f(push):>8}{_f(pull):>8}"
                    f"{n.get(f'{kind}_bytes', 0):>12,}{n.get(f'{kind}_objects', 0):>9}  "
                    f"{n.get(f'{kind}_identical', 0)}/{n.get(f'{kind}_files', 0)}"
                )
        if check.get("status") == "fail":
            print(f"  {record.tool}: {check.get('evidence', '')[-400:]}")


def _f(value) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "-"


# --- part 2: one big file through each tool --------------------------------------------
def make_blob(path: Path, size_mb: int) -> str:
    import numpy as np

    rng = np.random.Generator(np.random.PCG64(SEED))
    digest, left = hashlib.sha256(), size_mb << 20
    with open(path, "wb") as handle:
        while left:
            block = rng.bytes(min(CHUNK, left))
            handle.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class Remote:
    def __init__(self, kind: str, url: str, env: dict[str, str], s3=None, path: Path | None = None):
        self.kind, self.url, self.env, self.s3, self.path = kind, url, env, s3, path

    def usage(self) -> tuple[int, int]:
        if self.path is not None:
            files = [p for p in self.path.rglob("*") if p.is_file()]
            return sum(p.stat().st_size for p in files), len(files)
        objects = self._objects()
        return sum(o["Size"] for o in objects), len(objects)

    def _client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.s3.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def _objects(self) -> list[dict]:
        prefix = self.url.split(f"s3://{BUCKET}/", 1)[1] + "/"
        pages = self._client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [o for page in pages for o in page.get("Contents") or []]

    def clear(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.mkdir()
            return
        client = self._client()
        for obj in self._objects():
            client.delete_object(Bucket=BUCKET, Key=obj["Key"])


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 3600) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise RuntimeError(f"`{' '.join(argv[:4])}` exited with {proc.returncode}: {' | '.join(tail)}")
    return proc.stdout


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    run(argv, cwd, env)
    return time.perf_counter() - start


def last_json(out: str) -> dict:
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def big_plain(blob: Path, remote: Remote, work: Path, env: dict[str, str]) -> dict:
    back = work / "back.bin"
    if remote.path is not None:
        start = time.perf_counter()
        shutil.copy2(blob, remote.path / blob.name)
        push = time.perf_counter() - start
        start = time.perf_counter()
        shutil.copy2(remote.path / blob.name, back)
    else:
        client, key = remote._client(), remote.url.split(f"s3://{BUCKET}/", 1)[1] + "/" + blob.name
        start = time.perf_counter()
        client.upload_file(str(blob), BUCKET, key)
        push = time.perf_counter() - start
        start = time.perf_counter()
        client.download_file(BUCKET, key, str(back))
    return {"push": push, "pull": time.perf_counter() - start, "back": back}


def big_dvc(blob: Path, remote: Remote, work: Path, env: dict[str, str]) -> dict:
    repo = work / "repo"
    repo.mkdir()
    shutil.copyfile(blob, repo / blob.name)
    for argv in (["git", "init", "-q"], ["dvc", "init", "-q"], ["dvc", "config", "core.analytics", "false"]):
        run(argv, repo, env)
    add = timed(["dvc", "add", "-q", blob.name], repo, env)
    run(["dvc", "remote", "add", "r", remote.url], repo, env)
    if remote.s3 is not None:
        run(["dvc", "remote", "modify", "r", "endpointurl", remote.s3.endpoint_url], repo, env)
    push = timed(["dvc", "push", "-r", "r"], repo, env)
    shutil.rmtree(repo / ".dvc" / "cache")
    (repo / blob.name).unlink()
    pull = timed(["dvc", "pull", "-r", "r"], repo, env)
    return {"push": push, "pull": pull, "back": repo / blob.name, "note": f"dvc add {add:.1f} s"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def big_mlflow(blob: Path, remote: Remote, work: Path, env: dict[str, str]) -> dict:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    destination = str(remote.path / "mlartifacts") if remote.path else remote.url
    server_env = {**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    if remote.s3 is not None:
        server_env["MLFLOW_S3_ENDPOINT_URL"] = remote.s3.endpoint_url
    argv = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}"]
    argv += ["--artifacts-destination", destination, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with open(work / "server.log", "wb") as log:
        server = subprocess.Popen(
            argv, cwd=work, env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("mlflow server did not come up") from None
                time.sleep(0.25)
        # clients: the server's URL only, no storage credentials
        client_env = {k: v for k, v in env.items() if not k.startswith("AWS_")} | {"MLFLOW_TRACKING_URI": url}
        log = (
            "import json, time, mlflow\n"
            "with mlflow.start_run() as run:\n"
            f"    t = time.perf_counter(); mlflow.log_artifact({str(blob)!r})\n"
            "    print(json.dumps({'run': run.info.run_id, 'seconds': time.perf_counter() - t}))\n"
        )
        first = last_json(run([sys.executable, "-c", log], work, client_env))
        fresh = work / "second"
        fresh.mkdir()
        read = (
            "import json, time, mlflow.artifacts\n"
            "t = time.perf_counter()\n"
            "p = mlflow.artifacts.download_artifacts(run_id={!r}, artifact_path={!r}, dst_path='.')\n"
            "print(json.dumps({{'path': p, 'seconds': time.perf_counter() - t}}))\n"
        ).format(first["run"], blob.name)
        second = last_json(run([sys.executable, "-c", read], fresh, client_env | {"TMPDIR": str(fresh)}))
        return {"push": first["seconds"], "pull": second["seconds"], "back": Path(second["path"])}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def big_metaflow(blob: Path, remote: Remote, work: Path, env: dict[str, str]) -> dict:
    os.link(blob, work / "big.bin")  # the flow's IncludeFile reads ./big.bin
    (work / "big_flow.py").write_text(FLOW)
    flow_env = {**env, "METAFLOW_DEFAULT_METADATA": "local", "METAFLOW_USER": "bench", "USERNAME": "bench"}
    if remote.path is not None:
        flow_env |= {"METAFLOW_DEFAULT_DATASTORE": "local", "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(remote.path)}
    else:
        flow_env |= {
            "METAFLOW_DEFAULT_DATASTORE": "s3",
            "METAFLOW_DATASTORE_SYSROOT_S3": remote.url,
            "METAFLOW_S3_ENDPOINT_URL": remote.s3.endpoint_url,
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(work),  # the local metadata
        }
    start = time.perf_counter()
    out = run([sys.executable, "big_flow.py", "--no-pylint", "run"], work, flow_env)
    push = time.perf_counter() - start
    run_id = out.split("(run-id ", 1)[1].split(")", 1)[0]
    fresh = work / "second"
    fresh.mkdir()
    read = (
        "import hashlib, json, time\n"
        "from metaflow import Run, namespace\n"
        "namespace(None)\n"
        "t = time.perf_counter()\n"
        f"run = Run('BigFlow/{run_id}')\n"
        "data = run['start'].task.data.blob\n"
        "print(json.dumps({'sha256': hashlib.sha256(data).hexdigest(), 'seconds': time.perf_counter() - t}))\n"
    )
    second = last_json(
        run([sys.executable, "-c", read], fresh, flow_env | {"METAFLOW_CLIENT_CACHE_PATH": str(fresh / "cache")})
    )
    (work / "big.bin").unlink()
    return {"push": push, "pull": second["seconds"], "sha256": second["sha256"]}


BIG = {"plain": big_plain, "dvc": big_dvc, "mlflow": big_mlflow, "metaflow": big_metaflow}


def big(tools: list[str], size_mb: int, workdir: Path) -> None:
    from mlops_compare.infra.s3_endpoint import LocalS3

    blob = workdir / "big.bin"
    start = time.perf_counter()
    digest = make_blob(blob, size_mb)
    print(
        f"\n{size_mb} MB file (seeded random bytes, sha256 {digest[:12]}...) made in {time.perf_counter() - start:.1f} s"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_", "METAFLOW_", "DVC_"))}
    home = workdir / "home"
    home.mkdir()
    env |= {"HOME": str(home), "TMPDIR": str(workdir), "DVC_NO_ANALYTICS": "1", "DO_NOT_TRACK": "1"}
    env |= {
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
    }
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    print(f"{'tool':<10}{'remote':<8}{'push s':>8}{'pull s':>8}{'bytes':>15}{'objects':>9}  round trip")
    with LocalS3(BUCKET, prefix="bench") as s3:
        shared = workdir / "shared"
        shared.mkdir()
        remotes = [
            Remote("shared", str(shared), {}, path=shared),
            Remote("s3", f"s3://{BUCKET}/bench", dict(s3.env), s3=s3),
        ]
        for tool in tools:
            for remote in remotes:
                work = Path(tempfile.mkdtemp(prefix=f"{tool}-{remote.kind}-", dir=workdir))
                try:
                    got = BIG[tool](blob, remote, work, {**env, **remote.env})
                    size, objects = remote.usage()
                    same = got.get("sha256") or sha256(got["back"])
                    verdict = "identical" if same == digest else "DIFFERENT"
                    note = f" ({got['note']})" if got.get("note") else ""
                    print(
                        f"{tool:<10}{remote.kind:<8}{got['push']:>8.1f}{got['pull']:>8.1f}{size:>15,}{objects:>9}  {verdict}{note}"
                    )
                except Exception as exc:
                    print(f"{tool:<10}{remote.kind:<8}  failed: {type(exc).__name__}: {str(exc)[-300:]}")
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                    remote.clear()
    blob.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--skip-wine", action="store_true")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--tool", action="append", default=[], choices=TOOLS)
    args = parser.parse_args()
    tools = args.tool or list(TOOLS)
    with tempfile.TemporaryDirectory(prefix="mlops-compare-storage-bench-") as tmp:
        if not args.skip_wine:
            wine(tools, Path(tmp))
        if not args.skip_big:
            big(tools, args.size_mb, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
