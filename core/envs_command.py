"""`mlops-compare envs`: list the tool environments, build them ahead of a run, delete them.

The machinery (keys, building, locking, finding) is `mlops_compare.envs`; this is its command
line face, apart so that each module has one job.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from mlops_compare.envs import ENV_VAR, Envs, disabled, prepare_requests, root_for, spec_key, usable

# the distributions whose versions the listing shows beside each environment
_TOOLS = ("mlflow", "dvc", "metaflow", "zenml", "wandb", "mlflow-slurm")


def _size(nbytes: int) -> str:
    return f"{nbytes / 1e6:.0f} MB" if nbytes < 1e9 else f"{nbytes / 1e9:.1f} GB"


def _ago(stamp: float) -> str:
    if not stamp:
        return "-"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M")


def command(args) -> int:
    """`mlops-compare envs [--prepare [--fresh]] [--remove KEY|all|unused] [--tool NAME]`: list, build ahead, delete."""
    from mlops_compare import criteria as criteria_mod
    from mlops_compare.errors import UserError
    from mlops_compare.plan import Choices, plan

    criteria = criteria_mod.load(args.criteria)
    root = root_for(criteria.envs or None, criteria.path.parent.resolve())
    where = Envs(root)
    if args.remove:
        keys = args.remove
        if args.remove == ["all"]:
            keys = [env.key for env in where.all()]
        elif args.remove == ["unused"]:  # what none of these criteria's tools would run in
            wanted = {spec_key(r) for r in plan(criteria, Choices()) if usable(r)}
            keys = [env.key for env in where.all() if env.key not in wanted]
        for key in keys:
            try:
                removed = where.remove(key)
            except OSError as exc:
                raise UserError(f"{root / key}: cannot remove it ({exc.strerror or exc})") from None
            print(f"{'removed' if removed else 'no environment'} {key}")
        return 0
    if disabled():
        raise UserError(f"{ENV_VAR}=none: tool environments are switched off; unset it to list or prepare them")
    requests = plan(criteria, Choices(tools=tuple(args.tool)))
    if args.fresh and not args.prepare:
        raise UserError("--fresh says how --prepare builds: mlops-compare envs --prepare --fresh")
    if args.prepare:
        began = time.perf_counter()
        done = prepare_requests(requests, lambda line: print(line, file=sys.stderr, flush=True), fresh=args.fresh)
        failed = [r.tool for r in requests if r.environment and r.environment.get("error")]
        for request in requests:
            env = done.get(f"{root}/{spec_key(request)}") if usable(request) else None
            if env is not None:
                how = f"built in {env.seconds:.1f} s" if env.built else "ready"
                print(f"{request.tool}: {env.key} {how}")
        print(f"{len(done)} environment(s) in {root} ({time.perf_counter() - began:.1f} s)")
        return 1 if failed else 0
    users: dict[str, list[str]] = {}
    for request in requests:
        if usable(request):
            users.setdefault(spec_key(request), []).append(request.tool)
    found = where.all()
    print(f"{root}: {len(found)} environment(s)")
    for env in found:
        tools = ", ".join(users.pop(env.key, [])) or "(no tool of these criteria)"
        versions = env.versions()
        names = [r.split("[")[0].split(">")[0].split("=")[0].split("<")[0] for r in env.meta.get("requirements", [])]
        tool_versions = ", ".join(f"{n}=={versions[n]}" for n in names if n in versions and n in _TOOLS)
        made_from = env.meta.get("python_version", "").removeprefix("cpython-")
        print(
            f"  {env.key}  {_size(env.size()):>8}  last used {_ago(env.last_use())}  {tools}"
            + (f"  [{tool_versions}]" if tool_versions else "")
            + (f"  Python {made_from} ({env.meta.get('python', '?')})" if made_from else "")
        )
    for key, waiting in users.items():
        print(f"  {key}  not built yet: {', '.join(waiting)} (mlops-compare envs --prepare)")
    for request in requests:
        if request.environment is not None and request.environment.get("error"):
            print(f"  {request.tool}: {request.environment['error']}")
    for path in where.leftovers():
        print(f"  {path.name}  an unfinished build (removed by the next build of its key)")
    return 0
