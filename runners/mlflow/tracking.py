"""MLflow's tracking store and server in the workspace, and the helpers the checks share."""

from __future__ import annotations

import atexit
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

from mlops_compare import events
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


def started_in(server: MlflowServer, check_id: str) -> str:
    """ " (started by retrieve)" when another check started *server*, for the evidence."""
    return f" (started by {server.started_by})" if server.started_by and server.started_by != check_id else ""


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
        # set by `MlflowTracking.tracking_server`: how the start went and which check started it
        self.started: tuple[bool, float, str] = (False, 0.0, "it was not started")
        self.started_by = ""

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
    # The checks that talk to the runner's one `mlflow server` over its store, in exam order:
    # the first of them that runs starts it, the last chosen one stops it (`tracking_server`).
    server_checks: ClassVar[tuple[str, ...]] = ("retrieve", "ui", "share", "languages")
    _server: MlflowServer | None = None

    def tracking_server(self, ctx: Context, check_id: str) -> MlflowServer:
        """The runner's `mlflow server` over its own store, started by the first check that needs it.

        One server for `server_checks` (each start costs about 4 s of CPU: three were paid per
        exam before): `started` (up, seconds, why-not) says how its start went, `started_by`
        which check started it. It stays in the runner's process group and is stopped by
        `release_server` after the last chosen check that needs it, or at the runner's exit.
        """
        server = self._server
        if server is None or server.proc is None or server.proc.poll() is not None:
            server = MlflowServer(ctx, self.tracking_uri(ctx), self.artifacts(ctx))
            self._server = server
            atexit.register(self.stop_server)  # whatever happens, it does not outlive the runner
            server.started_by = check_id
            server.started = server.start()
            if not server.started[0]:
                self.stop_server()
        return server

    def release_server(self, ctx: Context, check_id: str) -> str:
        """After *check_id*: stop the server unless a later chosen check needs it; what happened, for the evidence."""
        server = self._server
        if server is None:
            return ""
        chosen = events.selected(ctx.exam.get("checks"))
        later = events.CHECK_IDS[events.CHECK_IDS.index(check_id) + 1 :]
        needed = [c for c in later if c in chosen and c in self.server_checks]
        if needed:
            return f"kept up for {', '.join(needed)}"
        self.stop_server()
        return f"stopped after this check (exit code {server.exit_code})"

    def stop_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

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
