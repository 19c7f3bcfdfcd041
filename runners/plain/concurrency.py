"""The plain baseline under many writers: each task runs train.py for one point and writes a JSON file.

Mixed into `PlainRunner`. What a user without a tool writes: one file per task, named by the
array index, in one shared folder; read back by listing that folder. Nothing may be lost.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.checks import concurrency as many
from mlops_compare.runners.context import Context, Outcome

# One point, its metrics into results/<task>.json: the user's four lines around train().
TASK = (
    "import json, sys; from train import train; "
    "metrics = train(float(sys.argv[1]), float(sys.argv[2])); "
    "json.dump({'alpha': float(sys.argv[1]), 'l1_ratio': float(sys.argv[2]), **metrics}, open(sys.argv[3], 'w'))"
)
INPUTS = ("train.py", "common.py", common.EXAM_FILE, common.DATA_FILE)


class ConcurrencyCheck:
    def concurrency(self, ctx: Context) -> Outcome:
        return many.check(ctx, "plain", lambda root: [self._json_files(ctx, root)])

    def _json_files(self, ctx: Context, root: Path) -> many.Variant:
        code = many.fresh(root / "plain")
        many.copy_inputs(ctx, code, INPUTS)
        out = many.fresh(root / "plain-results")
        tasks = [
            many.Task(
                i, p, [sys.executable, "-c", TASK, repr(p["alpha"]), repr(p["l1_ratio"]), str(out / f"{i}.json")], code
            )
            for i, p in enumerate(many.points(ctx))
        ]

        def read_back() -> list[many.Found]:
            found = []
            for path in sorted(out.glob("*.json")):
                try:
                    data = json.loads(path.read_text())
                    metrics = {m: data[m] for m in many.METRICS}
                    key = common.point_key(data["alpha"], data["l1_ratio"])
                except (ValueError, KeyError):
                    found.append(many.Found("?", None, int(path.stem)))
                    continue
                found.append(many.Found(key, metrics, int(path.stem)))
            return found

        return many.Variant(
            "one JSON file per task in a shared folder", True, "<shared>/plain-results/*.json", tasks, read_back
        )
