"""The DVC runner (a package): the exam as a DVC pipeline in a git repository, the way DVC's docs teach it.

The workspace becomes a git + DVC repository; ``train.py`` is one stage in ``dvc.yaml``
(deps, params from ``params.yaml``, the model as a cached output, ``metrics.json`` as an
uncached metric). The grid is queued as experiments (``dvc exp run --queue -S ...``, one
sweep command) and run by DVC's own queue workers (``dvc queue start -j 2``); results are
read back with ``dvc exp show --json``. Models and data are versioned by DVC's cache and
pointer files in git, and read back with ``dvc.api.open`` / ``dvc checkout``.

DVC's queue workers detach into their own process groups (dvc-task's ``setpgid``), so the
launcher's process-group kill would not reach them: this runner stops them itself and
kills by pid any process still running inside the workspace before it reports a result.

Where to find what: `repo` (the git + DVC repository: commands, experiments, the queue),
`runner` (setup, grid, retrieve), `models` (models as DVC-tracked files), `data` (data
versioning and reproduce).
"""

from mlops_compare.runners.dvc.runner import DvcRunner

__all__ = ["DvcRunner"]
