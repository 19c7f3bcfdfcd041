"""DVC's `languages` check: a shell script and a notebook as two stages of a DVC pipeline.

``languages/dvc.yaml`` (from example/languages/) has a ``stats`` stage running ``sh stats.sh``
and a ``notebook`` stage executing ``notebook.ipynb`` headless with ``jupyter execute``; DVC
hashes their dependencies, parameters and outputs in ``dvc.lock`` and reads their metrics
back with ``dvc metrics show``. The stages are committed like any other.
"""

from __future__ import annotations

import json
import time

from mlops_compare.runners.checks import languages as steps
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.dvc.repo import DvcRepo, _tool_env


class LanguagesCheck(DvcRepo):
    def languages(self, ctx: Context) -> Outcome:
        import yaml

        start = time.perf_counter()
        folder, point = steps.prepare(ctx, "notebook_dvc.ipynb", "dvc.yaml")
        pipeline = f"{steps.FOLDER}/dvc.yaml"
        self._dvc(ctx, "repro", "-q", pipeline)
        shown = json.loads(ctx.run(["dvc", "metrics", "show", "--json"], env=_tool_env(), output="capture"))
        metrics = {}
        for rev in shown.values() if isinstance(shown, dict) else []:
            for path, entry in ((rev or {}).get("data") or {}).items():
                metrics[path] = (entry or {}).get("data")
        stats = metrics.get(f"{steps.FOLDER}/stats.yaml")
        notebook = metrics.get(f"{steps.FOLDER}/notebook_metrics.json")
        lock = yaml.safe_load((folder / "dvc.lock").read_text())["stages"]
        tracked = {name: len(stage.get("deps", [])) + len(stage.get("outs", [])) for name, stage in lock.items()}
        self._git(ctx, "add", steps.FOLDER)
        self._git(ctx, "commit", "-q", "-m", "a shell stage and a notebook stage")
        seconds = time.perf_counter() - start

        expected = steps.expected_stats(ctx)
        shell_ok = "stats" in tracked and steps.stats_match(stats, expected)
        notebook_ok = "notebook" in tracked and steps.metrics_match(ctx, point, notebook)
        numbers = {
            "shell_rows": int((stats or {}).get("rows", -1)),
            "shell_ok": int(shell_ok),
            "notebook_ok": int(notebook_ok),
            "stages_locked": len(tracked),
            "r": 0,
            "seconds": round(seconds, 2),
        }
        evidence = (
            f"`dvc repro {pipeline}`: stage stats (`sh stats.sh`, POSIX sh + awk) wrote rows={numbers['shell_rows']}, "
            f"target_mean={(stats or {}).get('target_mean')} ({'equal to' if shell_ok else 'NOT'} the data's); "
            f"stage notebook (`jupyter execute notebook.ipynb`, params alpha={point['alpha']:g}, "
            f"l1_ratio={point['l1_ratio']:g} from params.yaml) wrote metrics "
            f"{'equal to' if notebook_ok else 'DIFFERENT from'} the plain baseline; both read back with "
            f"`dvc metrics show --json`, dvc.lock hashes {', '.join(f'{k}: {v} deps/outs' for k, v in tracked.items())}, "
            f"committed; {steps.r_step()}; {seconds:.1f} s"
        )
        return Outcome(steps.status(shell_ok, notebook_ok), evidence, numbers)
