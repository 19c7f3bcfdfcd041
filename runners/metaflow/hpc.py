"""Metaflow on Slurm: the `@slurm` extension first, then the flow run inside one allocation.

1. `metaflow-slurm` (`--with slurm`: every step becomes a Slurm job, submitted by Metaflow
   over SSH through a login node). It needs what a site gives its users: an SSH login node
   (asyncssh connects to port 22 unless ~/.ssh/config says otherwise) and an object-store
   datastore (a local datastore is refused). With ``[exam.hpc] login = "host[:port]"`` the
   site's login node is used with the user's own key or agent (~/.ssh of the real home);
   otherwise OpenSSH's sshd is started *as the user* on a free port of 127.0.0.1 for the
   length of the check, its keys and config inside the workspace (an unprivileged sshd takes
   logins as the same user and needs no /run/sshd; sshd run by root does need that folder,
   which only an administrator creates). Either way the login node is reached through a host
   alias in the workspace's ~/.ssh/config, and the exam's S3 endpoint (moto_server) is the
   datastore. Nothing here needs root: no `unshare`, no mount, no file outside the workspace.
2. `sbatch --wrap "python flow.py run --max-workers 2"`: the whole flow inside one
   allocation, its local datastore on the shared path (a wrapper the user writes).
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.infra import s3_endpoint
from mlops_compare.runners.checks import hpc as slurm_jobs
from mlops_compare.runners.context import CommandError, Context, Outcome
from mlops_compare.runners.metaflow.flows import FLOW, FLOW_FILE, MAX_WORKERS, RUN_START, MetaflowFlows, _floats

PLUGIN = "metaflow-slurm"
FLOW_TIMEOUT = 600.0
LOGIN_ALIAS = "slurm-login"
SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
PRIVSEP_DIR = "/run/sshd"  # what sshd needs when root starts it (not when a user does)
# The code package must carry exam.json and data.csv: the train step reads them (default: .py only).
SUFFIXES = ".py,.json,.csv"
READ_BACK = """
import json, sys, metaflow
metaflow.namespace(None)
run = metaflow.Run(sys.argv[1])
tasks = [
    {"alpha": t.data.alpha, "l1_ratio": t.data.l1_ratio, "metrics": t.data.metrics,
     "job": t.metadata_dict.get("slurm-job-id", "")}
    for t in run["train"].tasks()
]
print(json.dumps({"successful": run.successful, "tasks": tasks}))
"""


class LoginNode:
    """OpenSSH's sshd on 127.0.0.1 for the check: key, host key, config and log in *folder*."""

    def __init__(self, ctx: Context, folder: Path, home: Path, extra_env: dict[str, str]):
        self.ctx, self.folder, self.home, self.extra_env = ctx, folder, home, extra_env
        self.port = s3_endpoint.free_port()
        self.key = folder / "id_ed25519"
        self.proc: subprocess.Popen | None = None

    def missing(self) -> str | None:
        for name, package in (("sshd", "openssh-server"), ("ssh-keygen", "openssh-client")):
            if shutil.which(name, path=SBIN) is None:
                return f"{name} is not installed (apt-get install {package})"
        if os.geteuid() == 0 and not Path(PRIVSEP_DIR).is_dir():
            return (
                f"sshd run by root needs its privilege separation folder {PRIVSEP_DIR} (an administrator's "
                f"`mkdir -m 755 {PRIVSEP_DIR}`); as an ordinary user it needs none"
            )
        return None

    def start(self, timeout: float = 15.0) -> str | None:
        """Start sshd; returns why it could not, or None."""
        f = self.folder
        f.mkdir(parents=True, exist_ok=True)
        for key in (self.key, f / "host_ed25519"):
            if not key.exists():
                self.ctx.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], output="capture")
        (f / "authorized_keys").write_text((f / "id_ed25519.pub").read_text())
        (f / "authorized_keys").chmod(0o600)
        # The login node shows the user the same home (the shared file system) and the same cluster.
        setenv = {"HOME": str(self.home), **self.extra_env}
        config = [
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {f / 'host_ed25519'}",
            f"PidFile {f / 'sshd.pid'}",
            f"AuthorizedKeysFile {f / 'authorized_keys'}",
            "StrictModes no",  # the workspace lies below world-writable /tmp
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            "PrintMotd no",
            "PrintLastLog no",
            "SetEnv " + " ".join(f"{k}={v}" for k, v in setenv.items()),
        ]
        (f / "sshd_config").write_text("\n".join(config) + "\n")
        sshd = shutil.which("sshd", path=SBIN)
        # As the user: logins as that same user only, no privilege separation folder needed.
        argv = [str(sshd), "-D", "-e", "-f", str(f / "sshd_config")]
        self.ctx.log("$ " + shlex.join(argv))
        with open(f / "sshd.log", "ab") as log:
            # Not a new session: the runner's process group (and the launcher's kill) includes it.
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (f / "sshd.log").read_text(errors="replace").strip().splitlines()[-2:]
                return f"sshd exited with {self.proc.returncode}: {' | '.join(tail)}"
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.1)
        else:
            return f"sshd did not listen on 127.0.0.1:{self.port} within {timeout:g} s"
        self.alias()
        return None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def describe(self) -> str:
        return f"OpenSSH sshd started as the user on 127.0.0.1:{self.port}, key login"

    def alias(self) -> None:
        ssh = self.home / ".ssh"
        ssh.mkdir(parents=True, exist_ok=True)
        (ssh / "config").write_text(f"Host {LOGIN_ALIAS}\n  HostName 127.0.0.1\n  Port {self.port}\n")


class SiteLogin:
    """The site's own SSH login node (``[exam.hpc] login = "host[:port]"``) with the user's own key.

    metaflow-slurm reads a key file (no agent): ``[exam.hpc] ssh_key``, else the first of
    ~/.ssh/id_ed25519, id_ecdsa, id_rsa in the user's real home (the runner's HOME is its workspace).
    """

    def __init__(self, ctx: Context, login: str, home: Path, key: str | None):
        self.ctx, self.home = ctx, home
        host, _, port = login.partition(":")
        self.host, self.port = host, int(port) if port.isdigit() else 22
        real = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".ssh"
        candidates = [Path(key).expanduser()] if key else [real / n for n in ("id_ed25519", "id_ecdsa", "id_rsa")]
        self.key = next((k for k in candidates if k.is_file()), candidates[0])

    def missing(self) -> str | None:
        if not self.key.is_file():
            return f"no SSH key for {self.host}: {self.key} does not exist ([exam.hpc] ssh_key names another)"
        return None

    def start(self) -> str | None:
        ssh = self.home / ".ssh"
        ssh.mkdir(parents=True, exist_ok=True)
        (ssh / "config").write_text(f"Host {LOGIN_ALIAS}\n  HostName {self.host}\n  Port {self.port}\n")
        return None

    def stop(self) -> None:
        pass

    def describe(self) -> str:
        return f"the site's SSH login node {self.host}:{self.port} with the user's key {self.key}"


class HpcCheck(MetaflowFlows):
    def hpc(self, ctx: Context) -> Outcome:
        if (down := slurm_jobs.unavailable(ctx)) is not None:
            return down
        jobs = slurm_jobs.SlurmJobs(ctx)
        folder = ctx.workspace / "hpc"
        # The user's project folder: what Metaflow packages for the jobs (and nothing else of the workspace).
        (folder / "flow").mkdir(parents=True, exist_ok=True)
        for name in (FLOW_FILE, "common.py", common.EXAM_FILE, common.DATA_FILE):
            shutil.copy2(ctx.workspace / name, folder / "flow" / name)
        with jobs.cancel_on_term():
            routes = [self._plugin(ctx, jobs, folder), self._allocation(ctx, jobs, folder)]
        return slurm_jobs.verdict(routes)

    # --- route 1: @slurm -------------------------------------------------------------------
    def _plugin(self, ctx: Context, jobs: slurm_jobs.SlurmJobs, folder: Path) -> slurm_jobs.Route:
        route = slurm_jobs.Route(f"{PLUGIN} (`--with slurm`: every step a Slurm job)", native=True)
        start = time.perf_counter()
        plugins = folder / "plugins"
        version, route.why = slurm_jobs.install_plugin(ctx, PLUGIN, plugins)
        if version is None:
            return route
        route.name = f"{PLUGIN} {version} (`--with slurm`: every step a Slurm job)"
        try:
            import asyncssh  # noqa: F401  (the plugin's SSH client; installed with DVC here)
        except ImportError:
            route.why = f"{PLUGIN} needs asyncssh (pip install asyncssh)"
            return route
        home = ctx.workspace / "home"
        login: LoginNode | SiteLogin
        if jobs.settings.get("login"):
            login = SiteLogin(ctx, str(jobs.settings["login"]), home, jobs.settings.get("ssh_key"))
        else:
            slurm_env = {k: os.environ[k] for k in ("SLURM_CONF",) if k in os.environ}
            login = LoginNode(ctx, folder / "login", home, slurm_env)
        if (why := login.missing()) is not None:
            route.why = f"needs an SSH login node (asyncssh, port 22 unless ~/.ssh/config says otherwise): {why}"
            return route
        s3 = s3_endpoint.LocalS3(prefix="hpc")
        try:
            why = login.start()
            if why:
                route.why = f"needs an SSH login node: {why}"
                return route
            s3.start()
            aws = home / ".aws"
            aws.mkdir(parents=True, exist_ok=True)
            creds = s3.env
            (aws / "credentials").write_text(
                "[default]\n"
                f"aws_access_key_id = {creds['AWS_ACCESS_KEY_ID']}\naws_secret_access_key = {creds['AWS_SECRET_ACCESS_KEY']}\n"
            )
            (aws / "config").write_text(f"[default]\nregion = {creds['AWS_DEFAULT_REGION']}\n")
            remote = folder / "metaflow-slurm"
            for sub in ("stdout", "stderr"):  # the plugin's job script writes there but does not create them
                (remote / sub).mkdir(parents=True, exist_ok=True)
            env = {
                "HOME": str(home),
                "PYTHONPATH": os.pathsep.join(p for p in (str(plugins), os.environ.get("PYTHONPATH", "")) if p),
                "METAFLOW_DEFAULT_DATASTORE": "s3",
                "METAFLOW_DATASTORE_SYSROOT_S3": s3.settings.url,
                "METAFLOW_S3_ENDPOINT_URL": s3.endpoint_url,
                "METAFLOW_SLURM_ADDRESS": LOGIN_ALIAS,
                "METAFLOW_SLURM_USERNAME": pwd.getpwuid(os.getuid()).pw_name,
                "METAFLOW_SLURM_SSH_KEY_FILE": str(login.key),
                "METAFLOW_SLURM_REMOTE_WORKDIR": str(remote),
            }
            attrs = {"path_to_python3": sys.executable, "partition": jobs.settings.get("partition")}
            attrs |= {"cpus_per_task": jobs.settings.get("cpus"), "memory": jobs.options()["mem"]}
            slurm_with = "slurm:" + ",".join(f"{k}={v}" for k, v in attrs.items() if v is not None)
            skip = 'environment:vars={"METAFLOW_SKIP_INSTALL_DEPENDENCIES": "1"}'
            route.installed = (
                f"{PLUGIN} {version} with `pip install --no-deps --target` into the workspace (needs asyncssh, present)"
                "; from the site: an SSH login node ({login}, reached through a host alias in ~/.ssh/config), "
                "an S3 endpoint (moto_server {url}) and a shared path for the remote workdir; no root".format(
                    login=login.describe(), url=s3.endpoint_url
                )
            )
            route.configured = (
                "6 METAFLOW_* variables (S3 datastore, endpoint, SLURM address, user, key file, remote workdir), "
                f"`--package-suffixes {SUFFIXES}` (the steps read exam.json and data.csv), `--with {slurm_with}` "
                "(a Python the job can run), `--with environment` METAFLOW_SKIP_INSTALL_DEPENDENCIES=1 (else every "
                "job pip-installs boto3), AWS credentials in ~/.aws, and the stdout/ and stderr/ folders of the "
                "remote workdir created by hand (the plugin's job script fails with JobLaunchFailure without them)"
            )
            route.tracked = f"Metaflow's S3 datastore ({s3.settings.url}) and local metadata"
            route.site = f"{login.describe()}, an S3-compatible object store, a shared path for the remote workdir"
            grid = ctx.exam["grid"]
            argv = [sys.executable, FLOW_FILE, "--no-pylint", "--package-suffixes", SUFFIXES, "run"]
            argv += ["--max-workers", str(MAX_WORKERS), "--alphas", _floats(grid["alpha"])]
            argv += ["--l1_ratios", _floats(grid["l1_ratio"]), "--with", slurm_with, "--with", skip]
            steps = 4 + len(ctx.points)  # _parameters runs locally; start, one train per point, join, end
            with jobs.watching("metaflow @slurm steps", steps - 1) as ids:
                try:
                    text = ctx.run(argv, cwd=folder / "flow", env=env, timeout=FLOW_TIMEOUT)
                    run_id = RUN_START.search(text)
                    back = self._read_back(ctx, env, run_id.group(1) if run_id else "")
                except (CommandError, ValueError) as exc:
                    route.why = f"the flow run with @slurm failed: {exc}"
                    back = {}
            route.jobs = jobs.records(ids)
            if back and not route.why:
                retrieved = {common.point_key(t["alpha"], t["l1_ratio"]): t["metrics"] for t in back["tasks"]}
                noted = sorted(str(t["job"]) for t in back["tasks"])
                slurm_jobs.check_metrics(ctx, route, retrieved)
                route.tracked += f" (each train task's metadata names its job: slurm-job-id {', '.join(noted)})"
        except s3_endpoint.S3EndpointError as exc:
            route.why = f"needs an object-store datastore; the local S3 endpoint did not start: {exc}"
        finally:
            login.stop()
            s3.stop()
            route.seconds = time.perf_counter() - start
        return route

    def _read_back(self, ctx: Context, env: dict[str, str], run_id: str) -> dict:
        """The run's train tasks through Metaflow's client, in a process configured like the run."""
        if not run_id:
            raise ValueError("the flow printed no run id")
        out = ctx.run([sys.executable, "-c", READ_BACK, f"{FLOW}/{run_id}"], env=env, output="capture", timeout=120)
        return json.loads(out.strip().splitlines()[-1])

    # --- route 2: the flow inside one allocation ------------------------------------------
    def _allocation(self, ctx: Context, jobs: slurm_jobs.SlurmJobs, folder: Path) -> slurm_jobs.Route:
        grid = ctx.exam["grid"]
        argv = [sys.executable, FLOW_FILE, "--no-pylint", "run", "--max-workers", str(MAX_WORKERS)]
        argv += ["--alphas", _floats(grid["alpha"]), "--l1_ratios", _floats(grid["l1_ratio"])]
        route = slurm_jobs.Route(
            f'`sbatch --wrap "python flow.py run --max-workers {MAX_WORKERS}"`: the flow inside one allocation',
            native=False,
            glue_lines=1,
            configured=f"the local datastore (METAFLOW_DATASTORE_SYSROOT_LOCAL) on the shared path; {MAX_WORKERS} CPUs "
            "for the allocation so the foreach runs in parallel inside it",
            tracked="Metaflow's local datastore and metadata on the shared path",
            site="sbatch on the login node and a shared path for the flow and its local datastore",
        )
        start = time.perf_counter()
        out = folder / "allocation.out"
        with jobs.watching("metaflow flow in one allocation", 1) as ids:
            try:
                cpus = jobs.settings.get("cpus", MAX_WORKERS)
                job_id = jobs.submit(argv, name="mlops-compare-metaflow", chdir=folder / "flow", output=out, cpus=cpus)
                jobs.wait([job_id], timeout=FLOW_TIMEOUT)
            except TimeoutError as exc:
                route.why = str(exc)
        route.seconds = time.perf_counter() - start
        route.jobs = jobs.records(ids)
        if route.why:
            return route
        found = RUN_START.search(out.read_text(errors="replace")) if out.exists() else None
        if found is None:
            route.why = "the job's output has no run id"
            slurm_jobs.check_metrics(ctx, route, {})
            return route
        tasks = self._train_tasks(found.group(1))
        slurm_jobs.check_metrics(ctx, route, {key: dict(task.data.metrics) for key, task in tasks.items()})
        return route
