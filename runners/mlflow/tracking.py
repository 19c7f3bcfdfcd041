"""MLflow's tracking store and server in the workspace, and the helpers the checks share."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from mlops_compare.infra import proctree
from mlops_compare.runners.context import Context

EXPERIMENT = "exam"
# Seconds `mlflow server` gets to answer /health; a loaded login node may need more
# (MLOPS_COMPARE_MLFLOW_SERVER_TIMEOUT; MLflow 2's server took 250 s at load average 50 here).
SERVER_TIMEOUT = float(os.environ.get("MLOPS_COMPARE_MLFLOW_SERVER_TIMEOUT") or 60.0)
TAIL_LINES = 200
# The tree's node storage is not trusted by skops (MLflow 3's default sklearn format) unless named.
TREE_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(float(a[k]) == float(b[k]) for k in ("rmse", "mae", "r2"))


class MlflowServer:
    """`mlflow server` in the runner's own process group; its output goes to the log."""

    def __init__(self, ctx: Context, backend_uri: str, artifacts: Path | str, env: dict[str, str] | None = None):
        self.ctx = ctx
        self.destination = str(artifacts)
        self.env = env or {}  # on top of ours: e.g. MLFLOW_S3_ENDPOINT_URL and credentials for its artifact store
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)  # its last lines, for a failure's reason
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            backend_uri,
            "--artifacts-destination",
            str(artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        self.proc: subprocess.Popen | None = None
        self.launched = 0.0
        self.exit_code: int | None = None

    def start(self, timeout: float | None = None) -> tuple[bool, float, str]:
        """Start and wait for /health; returns (up, seconds, why-not)."""
        self.launch()
        return self.wait(timeout)

    def launch(self) -> None:
        """Start the server without waiting (several can start side by side; then `wait`)."""
        # Job execution would start a huey consumer and a queue folder in /dev/shm (outside the
        # workspace); the exam needs neither.
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **self.env}
        self.ctx.log("$ " + " ".join(self.argv))
        self.launched = time.perf_counter()
        # Not a new session: the server stays in the runner's process group, so the core's
        # group kill reaches it whatever happens. Its output becomes log lines (and `tail`).
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.ctx.workspace,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._pump, args=(self.proc.stdout,), name="mlflow-server-log", daemon=True).start()

    def wait(self, timeout: float | None = None) -> tuple[bool, float, str]:
        """Wait for /health of a launched server; returns (up, seconds since launch, why-not)."""
        assert self.proc is not None
        timeout = SERVER_TIMEOUT if timeout is None else timeout
        start = self.launched
        while True:  # at least one look, however long ago it was launched
            if self.proc.poll() is not None:
                return False, time.perf_counter() - start, f"mlflow server exited with code {self.proc.returncode}"
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return True, time.perf_counter() - start, ""
            except OSError:
                pass
            if time.perf_counter() - start >= timeout:
                return False, time.perf_counter() - start, f"no answer on {self.url}/health within {timeout:g} s"
            time.sleep(0.25)

    def _pump(self, stream) -> None:
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self.tail.append(line)
            self.ctx.emitter.log(line, stream="stdout")

    def error(self) -> str:
        """The server's last error line (e.g. the artifact store's own message), or ""."""
        return next((line for line in reversed(self.tail) if "Error" in line or "Exception" in line), "")

    def stop(self) -> None:
        if self.proc is None:
            return
        descendants = proctree.descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # `mlflow server` forwards it to uvicorn
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.exit_code = self.proc.returncode
        proctree.kill(descendants)  # only what this server started


class MlflowTracking:
    """Helpers every check of this runner uses; mixed into `MlflowRunner`."""

    # The runner's state the checks share (set by `MlflowRunner`) and its class attributes (`Runner`).
    name: ClassVar[str]
    experiment_id: str
    run_ids: dict[str, str]
    logged: dict[str, dict[str, float]]
    retrieved: dict[str, dict[str, float]]
    _train: Callable[[float, float], dict[str, float]] | None = None
    _team_server: MlflowServer | None = None  # `share` starts it, `languages` stops it

    @staticmethod
    def tracking_uri(ctx: Context) -> str:
        return f"sqlite:///{ctx.workspace / 'mlflow.db'}"

    @staticmethod
    def artifacts(ctx: Context) -> Path:
        return ctx.workspace / "mlartifacts"

    def store_paths(self, ctx: Context) -> list[Path]:
        return [ctx.workspace / "mlflow.db", self.artifacts(ctx)]

    def train(self, ctx: Context, point: dict[str, float]) -> tuple[dict[str, float], str]:
        """The example's train() on one point; returns its metrics and the MLflow run id."""
        import mlflow

        if self._train is None:
            self._train = ctx.load_module(ctx.workspace / "train.py", "_mlops_compare_mlflow_train").train
        metrics = self._train(point["alpha"], point["l1_ratio"])
        return metrics, mlflow.last_active_run().info.run_id

    def experiment(self, ctx: Context, name: str) -> str:
        """Create experiment *name* (artifacts under mlartifacts/<name>) and make it active."""
        import mlflow

        experiment_id = mlflow.create_experiment(name, artifact_location=(self.artifacts(ctx) / name).as_uri())
        mlflow.set_experiment(experiment_id=experiment_id)
        return experiment_id
