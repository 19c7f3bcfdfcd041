"""Metaflow under many writers: each task is `python flow.py run` of one point against one shared local datastore.

Mixed into `MetaflowRunner`. The local datastore and local metadata (``.metaflow/`` under
``METAFLOW_DATASTORE_SYSROOT_LOCAL``) on the shared path, no metadata service: what a user
does without Metaflow's AWS or Kubernetes stack. Metaflow documents no other way for many
independent writers, so there is no workaround variant.

Read back afterwards with the client API (`Flow`, every run in every namespace) in a fresh
Python pointed at the same datastore: a run's ``results`` artifact (written by the join
step) holds each point's metrics.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.checks import concurrency as many
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.metaflow.flows import FLOW, FLOW_FILE

INPUTS = (FLOW_FILE, "common.py", common.EXAM_FILE, common.DATA_FILE)
READ = f"""
import json
from metaflow import Flow, namespace
namespace(None)
out = []
for run in Flow({FLOW!r}):
    item = {{"id": run.id, "successful": run.successful, "results": []}}
    try:
        item["results"] = [[a, l, dict(m)] for (a, l), m in run.data.results.items()]
    except Exception as exc:
        item["error"] = type(exc).__name__ + ": " + str(exc)
    out.append(item)
print("RUNS " + json.dumps(out))
"""


class ConcurrencyCheck:
    def concurrency(self, ctx: Context) -> Outcome:
        return many.check(ctx, "metaflow", lambda root: [self._shared_datastore(ctx, root)])

    def _shared_datastore(self, ctx: Context, root: Path) -> many.Variant:
        code = many.fresh(root / "metaflow")
        many.copy_inputs(ctx, code, INPUTS)
        store = many.fresh(root / "metaflow-store")
        env: dict[str, str | None] = {"METAFLOW_DATASTORE_SYSROOT_LOCAL": str(store)}
        tasks = [
            many.Task(
                i,
                p,
                [sys.executable, FLOW_FILE, "--no-pylint", "run"]
                + ["--alphas", json.dumps([p["alpha"]]), "--l1_ratios", json.dumps([p["l1_ratio"]])],
                code,
                env,
            )
            for i, p in enumerate(many.points(ctx))
        ]

        def read_back() -> list[many.Found]:
            text = ctx.run([sys.executable, "-c", READ], cwd=code, env=env, output="capture", timeout=300)
            line = next(x for x in text.splitlines() if x.startswith("RUNS "))
            found = []
            for run in json.loads(line.removeprefix("RUNS ")):
                if not run["results"]:
                    found.append(many.Found("?", None))
                for a, l1, metrics in run["results"]:
                    found.append(many.Found(common.point_key(a, l1), {m: metrics.get(m) for m in many.METRICS}))
            return found

        return many.Variant(
            "`python flow.py run` against one shared local datastore",
            True,
            "<shared>/metaflow-store/.metaflow (local datastore and metadata)",
            tasks,
            read_back,
        )
