"""MLflow's tracking store and server in the workspace, and the helpers the checks share."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mlops_compare import proctree
from mlops_compare.runners.context import Context

EXPERIMENT = "exam"
SERVER_TIMEOUT = 60.0
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

    def __init__(self, ctx: Context, backend_uri: str, artifacts: Path):
        self.ctx = ctx
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
        self.exit_code: int | None = None

    def start(self, timeout: float | None = None) -> tuple[bool, float, str]:
        """Start and wait for /health; returns (up, seconds, why-not)."""
        timeout = SERVER_TIMEOUT if timeout is None else timeout
        # Job execution would start a huey consumer and a queue folder in /dev/shm (outside the
        # workspace); the exam needs neither.
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.ctx.log("$ " + " ".join(self.argv))
        start = time.perf_counter()
        # Not a new session: the server stays in the runner's process group, so the core's
        # group kill reaches it whatever happens. stdout/stderr are inherited: they are the
        # runner's log pipe.
        self.proc = subprocess.Popen(self.argv, cwd=self.ctx.workspace, env=env, stdin=subprocess.DEVNULL)
        while time.perf_counter() - start < timeout:
            if self.proc.poll() is not None:
                return False, time.perf_counter() - start, f"mlflow server exited with code {self.proc.returncode}"
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return True, time.perf_counter() - start, ""
            except OSError:
                pass
            time.sleep(0.25)
        return False, time.perf_counter() - start, f"no answer on {self.url}/health within {timeout:g} s"

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
