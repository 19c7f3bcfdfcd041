"""DVC's `remote_storage` check: a DVC remote per kind of storage, push, empty the cache, pull, compare.

What a DVC user does to keep data and models on the institute's storage: ``dvc remote add``
(a folder path for the shared file system, ``s3://bucket/prefix`` plus ``dvc remote modify
... endpointurl`` for a self-hosted S3), then ``dvc push`` / ``dvc pull``; credentials come
from the AWS variables, never from ``.dvc/config``. The round trip pushes every file DVC
tracks in the workspace (the data, the pipeline's model output, the models check's model
when it ran), sets the local cache and the workspace copies aside, pulls them back, compares
sha256 checksums, and asks ``dvc status -c`` whether cache and remote agree. The cache and
files set aside are put back afterwards, whatever happened, so later checks see the
workspace as it was.
"""

from __future__ import annotations

import json
import shutil
import time

from mlops_compare.runners.checks import remote_storage as remotes
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.dvc.repo import DvcRepo, _tool_env
from mlops_compare.runners.measures import diff_lines

STEPS = 5  # configure, push, set aside, pull, verify
EXAMPLE_FILES = ["dvc.yaml", "train.py"]


class StorageCheck(DvcRepo):
    def remote_storage(self, ctx: Context) -> Outcome:
        if not (ctx.workspace / "dvc.lock").is_file():
            # Only this check was chosen: run the pipeline once so there is a model output to push.
            self._dvc(ctx, "repro", "-q")
        self._config_before = self._config_text(ctx)
        return remotes.run_check(ctx, self.name, self._storage_trip, STEPS, self._storage_summary)

    def _storage_trip(self, ctx: Context, remote: remotes.Remote, trip: remotes.Trip, step) -> None:
        name = remote.kind
        timeout = int(max(1, remote.timeout))
        step(remote, "dvc remote add")
        commands = [["remote", "add", "-f", name, remote.url]]
        if remote.s3 is not None:
            options = {"endpointurl": remote.s3.endpoint_url, "connect_timeout": timeout, "read_timeout": timeout}
            if remote.s3.region != "us-east-1":
                options["region"] = remote.s3.region
            commands += [["remote", "modify", name, key, str(value)] for key, value in options.items()]
        for args in commands:
            self._dvc(ctx, *args)
        trip.configured += [f"`dvc {' '.join(args)}`" for args in commands]
        env = {**_tool_env(), **remote.env}

        tracked = self._tracked(ctx)
        before = remotes.sha256_files(ctx.workspace, tracked)
        step(remote, "dvc push")
        start = time.perf_counter()
        out = ctx.run(["dvc", "push", "-r", name], env=env, timeout=remote.timeout * 4)
        trip.push_seconds = time.perf_counter() - start
        trip.note(f"`dvc push -r {name}` of {len(before)} tracked file(s) ({', '.join(before)}): {_last(out)}")
        trip.measure()

        step(remote, "cache and workspace copies set aside")
        aside = ctx.workspace / "tmp" / f"remote-{name}-aside"
        cache = ctx.workspace / ".dvc" / "cache"
        try:
            aside.mkdir(parents=True)
            if cache.exists():
                shutil.move(cache, aside / "cache")
            for file in before:
                (aside / "files" / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(ctx.workspace / file, aside / "files" / file)
            step(remote, "dvc pull")
            start = time.perf_counter()
            out = ctx.run(["dvc", "pull", "-r", name], env=env, timeout=remote.timeout * 4)
            trip.pull_seconds = time.perf_counter() - start
            trip.note(f"empty cache and workspace, `dvc pull -r {name}`: {_last(out)}")
            step(remote, "verify")
            after = remotes.sha256_files(ctx.workspace, list(before))
            trip.files, trip.identical = len(before), sum(after.get(f) == h for f, h in before.items())
            trip.note(f"sha256 identical for {trip.identical} of {trip.files}")
            status = ctx.run(
                ["dvc", "status", "-c", "-r", name, "--json"], env=env, output="capture", timeout=remote.timeout
            )
            in_sync = json.loads(status or "{}") == {}
            trip.note("`dvc status -c`: cache and remote in sync" if in_sync else f"`dvc status -c`: {status.strip()}")
            trip.verdict()
            if not in_sync:
                trip.status, trip.error = "fail", "`dvc status -c` reports differences after the pull"
        finally:
            self._put_back(ctx, aside, cache, before)

    @staticmethod
    def _put_back(ctx: Context, aside, cache, files) -> None:
        """The cache and workspace files as they were before the round trip."""
        if (aside / "cache").exists():
            shutil.rmtree(cache, ignore_errors=True)
            shutil.move(aside / "cache", cache)
        for file in files:
            kept = aside / "files" / file
            if kept.exists():
                (ctx.workspace / file).unlink(missing_ok=True)
                shutil.move(kept, ctx.workspace / file)
        shutil.rmtree(aside, ignore_errors=True)

    def _storage_summary(self, ctx: Context, trips: list[remotes.Trip]) -> tuple[str, dict]:
        added, _ = diff_lines(self._config_before, self._config_text(ctx))
        changed = remotes.example_lines_changed(ctx, self.example, EXAMPLE_FILES)
        text = (
            f"switch local -> remote: {changed} line(s) changed in the example ({', '.join(EXAMPLE_FILES)}), "
            f"{added} line(s) added to .dvc/config (the remotes' URLs, endpointurl and timeouts; no credentials: "
            f"DVC read them from the AWS_* variables)"
        )
        return text, {"example_lines_changed": changed, "config_lines": added}

    # --- helpers ---------------------------------------------------------------------
    def _tracked(self, ctx: Context) -> list[str]:
        """Workspace paths DVC tracks: outs of the *.dvc pointer files and of dvc.lock's stages."""
        import yaml

        names: list[str] = []
        for pointer in sorted(p for p in ctx.workspace.glob("*.dvc") if p.is_file()):
            names += [out["path"] for out in (yaml.safe_load(pointer.read_text()) or {}).get("outs", [])]
        lock, pipeline = ctx.workspace / "dvc.lock", ctx.workspace / "dvc.yaml"
        if lock.is_file():
            # `cache: false` outputs (metrics.json) stay in git, not in DVC's cache or remote;
            # dvc.lock does not say which they are, dvc.yaml does.
            uncached = {
                next(iter(entry))
                for stage in ((yaml.safe_load(pipeline.read_text()) or {}).get("stages") or {}).values()
                for section in ("outs", "metrics", "plots")
                for entry in stage.get(section) or []
                if isinstance(entry, dict)
                and isinstance(options := next(iter(entry.values()), None), dict)
                and options.get("cache") is False
            }
            for stage in ((yaml.safe_load(lock.read_text()) or {}).get("stages") or {}).values():
                names += [out["path"] for out in stage.get("outs", []) if out["path"] not in uncached]
        return list(dict.fromkeys(names))

    @staticmethod
    def _config_text(ctx: Context) -> str:
        path = ctx.workspace / ".dvc" / "config"
        return path.read_text() if path.is_file() else ""


def _last(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
