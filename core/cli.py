"""The `mlops-compare` command line: score, check, profiles, run, report, tui.

User mistakes (bad criteria, unknown profile, malformed --weight, unwritable output)
print a clear message on stderr and exit with code 2, never a traceback. Plain
`mlops-compare` starts the TUI. Heavy modules are imported inside the sub-command that
needs them, so `score` stays fast.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from mlops_compare import __version__
from mlops_compare.errors import EXIT_USER_ERROR, UserError
from mlops_compare.executors import EXECUTORS, ExecutorOptions
from mlops_compare.store import DEFAULT_DIR

UI_GROUP = "mlops_compare.ui"


def _add_criteria(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--criteria", metavar="PATH", help="criteria file (default: ./criteria.toml, else the shipped one)"
    )


def _add_profile(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", metavar="NAME", help="use-case profile (default: the file's default_profile)")
    parser.add_argument(
        "--weight",
        metavar="ID=W",
        action="append",
        default=[],
        help="override one checkpoint's weight (repeatable), e.g. --weight hpc=10",
    )


def _add_output(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    parser.add_argument("--format", choices=formats, default=formats[0], help="output format (default: %(default)s)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")


def _add_run_executor(parser: argparse.ArgumentParser) -> None:
    """The executor flags of `mlops-compare run`."""
    group = parser.add_argument_group("executor", "where runners run (Slurm: also [exam.hpc] in criteria.toml)")
    group.add_argument("--executor", choices=EXECUTORS, default="local", help="local processes or Slurm batch jobs")
    _add_slurm(group)
    group.add_argument("--detach", action="store_true", help="slurm: submit, print the job ids and exit")
    group.add_argument(
        "--attach",
        nargs="?",
        const="",
        metavar="RUN",
        help="follow a detached Slurm run again and store its results (default: the newest)",
    )


def _add_tui_executor(parser: argparse.ArgumentParser) -> None:
    """The executor flags of `mlops-compare tui` (runs started with r / R use it)."""
    group = parser.add_argument_group("executor", "where the runs started in the UI run")
    group.add_argument("--executor", choices=EXECUTORS, default="local", help="local processes or Slurm batch jobs")
    _add_slurm(group)
    group.add_argument("--workdir", metavar="DIR", help="slurm: the shared folder for job files (default: the store)")


def _add_slurm(group: argparse._ArgumentGroup) -> None:
    """The sbatch options (they override [exam.hpc]); shared by `run` and `tui`."""
    group.add_argument("--partition", help="Slurm partition")
    group.add_argument("--account", help="Slurm account")
    group.add_argument("--time-limit", metavar="TIME", help="Slurm time limit (default: the runner timeout + 2 min)")
    group.add_argument("--cpus", type=int, metavar="N", help="CPUs per job")
    group.add_argument("--mem", metavar="SIZE", help="memory per job, e.g. 4G")
    group.add_argument(
        "--sbatch-option",
        action="append",
        default=[],
        metavar="OPT",
        help="one more sbatch option, e.g. --sbatch-option=--qos=short (repeatable)",
    )
    group.add_argument(
        "--queue-timeout", type=float, metavar="S", help="seconds a job may wait in the queue (default: 3600)"
    )


def executor_options(args: argparse.Namespace) -> ExecutorOptions:
    """The executor flags of `run` or `tui` as typed options (raises UserError on bad values)."""
    return ExecutorOptions(
        name=args.executor,
        partition=args.partition,
        account=args.account,
        time_limit=args.time_limit,
        cpus=args.cpus,
        mem=args.mem,
        sbatch_options=tuple(args.sbatch_option),
        queue_timeout=args.queue_timeout,
        workdir=args.workdir,
        detach=getattr(args, "detach", False),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlops-compare",
        description=(
            "Compare MLOps tools (MLflow, DVC, Metaflow, DVC+MLflow; ZenML, W&B and others as plugins): "
            "weighted criteria plus the same exam run through each tool."
        ),
        epilog="Without a sub-command, starts the terminal UI.",
    )
    parser.add_argument("--version", action="version", version=f"mlops-compare {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    score = sub.add_parser("score", help="rank the tools under a profile (markdown, CSV or JSON)")
    _add_criteria(score)
    _add_profile(score)
    score.add_argument("--all-profiles", action="store_true", help="rank under every profile plus a Borda compromise")
    score.add_argument(
        "--store",
        metavar="DIR",
        default=DEFAULT_DIR,
        help="results store for measured ratings (default: %(default)s)",
    )
    _add_output(score, ("md", "csv", "json"))

    check = sub.add_parser("check", help="validate the criteria file and report every problem")
    _add_criteria(check)

    profiles = sub.add_parser("profiles", help="list the use-case profiles")
    _add_criteria(profiles)

    run = sub.add_parser("run", help="run the exam through the tools for real (headless)")
    _add_criteria(run)
    run.add_argument(
        "--tool", action="append", default=[], metavar="NAME", help="runner to run (repeatable; default all)"
    )
    run.add_argument("--jobs", type=int, metavar="N", help="runners at once (default: 2; with Slurm: all)")
    run.add_argument("--timeout", type=float, metavar="S", help="seconds per runner (default: exam.timeout)")
    run.add_argument("--data", metavar="CSV", help="data set: a CSV path or sklearn:NAME (default: exam.data)")
    run.add_argument("--target", metavar="COLUMN", help="target column (default: exam.target)")
    run.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="ID",
        help="run only this check, plus setup and the checks it needs (repeatable; default all)",
    )
    run.add_argument("--store", metavar="DIR", default=DEFAULT_DIR, help="results store (default: %(default)s)")
    run.add_argument("--workdir", metavar="DIR", help="where runner workspaces go (default: the system temp dir)")
    run.add_argument(
        "--keep-workspaces",
        action="store_true",
        help="keep each runner's workspace after its run (default: removed once the record is stored)",
    )
    run.add_argument("--json", action="store_true", help="print every event as JSON lines instead of progress")
    _add_run_executor(run)

    report = sub.add_parser("report", help="write the decision report (markdown or one HTML file) from stored results")
    _add_criteria(report)
    _add_profile(report)
    report.add_argument("--store", metavar="DIR", default=DEFAULT_DIR, help="results store (default: %(default)s)")
    report.add_argument(
        "--format", choices=("md", "html"), default="md", help="markdown, or one self-contained HTML file"
    )
    report.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")

    envs = sub.add_parser("envs", help="the tools' environments: list them, build them ahead (--prepare), remove them")
    _add_criteria(envs)
    envs.add_argument(
        "--prepare", action="store_true", help="build every tool's environment now (for compute nodes without network)"
    )
    envs.add_argument(
        "--fresh",
        action="store_true",
        help="with --prepare: build from nothing (each requirement's newest version), not seeded from an environment "
        "that holds part of the set",
    )
    envs.add_argument("--tool", action="append", default=[], metavar="NAME", help="only this tool's (repeatable)")
    envs.add_argument(
        "--remove",
        nargs="+",
        metavar="KEY",
        help="delete these environments (or: all; unused: those no tool of the criteria runs in)",
    )

    clean = sub.add_parser(
        "clean",
        help="remove the data sets the large_data check generated (its cache) and runs' leftover workspaces",
    )
    _add_criteria(clean)
    clean.add_argument(
        "--workdir", metavar="DIR", help="where the leftover workspaces are (default: the system temp dir)"
    )

    tui = sub.add_parser("tui", help="start the terminal UI (the default)")
    _add_criteria(tui)
    tui.add_argument("--profile", metavar="NAME", help="profile to start with")
    tui.add_argument(
        "--store", metavar="DIR", default=DEFAULT_DIR, help="results store to show and run into (default: %(default)s)"
    )
    _add_tui_executor(tui)
    return parser


def parse_weights(items: list[str], known: list[str]) -> dict[str, float]:
    from mlops_compare.criteria import WEIGHT_LIMIT

    changes: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--weight {item!r}: write it as CHECKPOINT=WEIGHT, e.g. --weight hpc=10")
        if key not in known:
            raise UserError(f"--weight {item!r}: unknown checkpoint {key!r} (known: {', '.join(known)})")
        try:
            number = float(value)
        except ValueError:
            raise UserError(f"--weight {item!r}: {value!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise UserError(f"--weight {item!r}: weights must be finite numbers >= 0")
        if number > WEIGHT_LIMIT:
            raise UserError(f"--weight {item!r}: weights must be at most {WEIGHT_LIMIT:g}")
        changes[key] = number
    return changes


def pick_profile(criteria, name: str | None, weight_items: list[str]):
    name = name or criteria.default_profile
    if name not in criteria.profiles:
        raise UserError(f"unknown profile {name!r}; profiles in {criteria.path}: {', '.join(criteria.profiles)}")
    profile = criteria.profiles[name]
    changes = parse_weights(weight_items, [c.id for c in criteria.checkpoints])
    if changes:
        profile = profile.with_weights(changes)
        if not any(profile.weights.values()):
            raise UserError("with these --weight overrides every weight is zero; keep at least one above zero")
    return profile


def emit(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from mlops_compare import atomic

    try:
        atomic.write_text(Path(output), text)
    except OSError as exc:
        raise UserError(f"{output}: cannot write it ({exc.strerror or exc}); choose a writable path with -o") from None
    print(f"wrote {output}", file=sys.stderr)


def cmd_score(args) -> int:
    from mlops_compare import criteria as criteria_mod
    from mlops_compare import export
    from mlops_compare.scoring.summary import all_profiles, summarize
    from mlops_compare.unscored import unscored

    criteria = criteria_mod.load(args.criteria)
    evidence = _stored_evidence(args.store)
    extra = unscored(criteria, evidence)  # runners without ratings: shown with a note, not ranked
    if args.all_profiles:
        if args.weight or args.profile:
            raise UserError("--all-profiles ranks every profile as written; leave out --profile and --weight")
        emit(export.render_all_profiles(criteria, all_profiles(criteria, evidence), args.format, extra), args.output)
        return 0
    profile = pick_profile(criteria, args.profile, args.weight)
    # P(first) remembered with the store (or the user's cache): a repeated score needs no numpy
    emit(export.render(summarize(criteria, profile, evidence, cache=args.store), args.format, extra), args.output)
    return 0


def _stored_evidence(store: str):
    """The store's evidence (`Evidence.from_store`), naming each unreadable record once on stderr."""
    from mlops_compare.evidence import Evidence

    evidence = Evidence.from_store(store)
    for damaged in evidence.damaged:
        print(f"warning: {damaged}", file=sys.stderr)
    return evidence


def cmd_check(args) -> int:
    from mlops_compare import criteria as criteria_mod
    from mlops_compare.unscored import unscored

    criteria = criteria_mod.load(args.criteria)
    data = _check_data_file(criteria)
    print(
        f"{criteria.path}: ok ({len(criteria.checkpoints)} checkpoints, {len(criteria.profiles)} profiles, "
        f"{len(criteria.tools)} tools)"
    )
    if data:
        print(data)
    for tool in unscored(criteria, installed=True):  # a note, not an error: it still runs and is reported
        print(f"note: {tool.note}")
    return 0


def _check_data_file(criteria) -> str:
    """When the criteria name a data file: refuse it as `run` would (UserError), else one line on it."""
    from mlops_compare import data_check
    from mlops_compare.plan import SKLEARN_PREFIX, exam_for

    if criteria.exam.data.startswith(SKLEARN_PREFIX):
        return ""
    exam = exam_for(criteria)
    shape = data_check.check(exam["data"], exam["target"], f"{criteria.path}: exam.data {criteria.exam.data!r}")
    return f"{criteria.exam.data}: {shape['rows']} rows, {len(shape['columns'])} columns, target {exam['target']!r}"


def cmd_profiles(args) -> int:
    from mlops_compare import criteria as criteria_mod

    criteria = criteria_mod.load(args.criteria)
    width = max(len(p) for p in criteria.profiles)
    for pid, profile in criteria.profiles.items():
        mark = "*" if pid == criteria.default_profile else " "
        top = sorted(profile.weights.items(), key=lambda kv: -kv[1])[:3]
        heavy = ", ".join(f"{c}={w:g}" for c, w in top)
        print(f"{mark} {pid:<{width}}  {profile.description}  [heaviest: {heavy}]")
    return 0


def cmd_run(args) -> int:
    from mlops_compare import headless

    return headless.run(args, executor_options(args))


def cmd_report(args) -> int:
    import shlex

    from mlops_compare import criteria as criteria_mod
    from mlops_compare.report import decision_report, shareable_path

    criteria = criteria_mod.load(args.criteria)
    profile = pick_profile(criteria, args.profile, args.weight)
    evidence = _stored_evidence(args.store)
    # the command as it can be shared: paths relative to here, none of this machine's
    argv = ["mlops-compare", "report"]
    argv += ["--criteria", shareable_path(args.criteria)] if args.criteria else []
    argv += ["--profile", args.profile] if args.profile else []
    argv += [part for item in args.weight for part in ("--weight", item)]
    argv += ["--store", shareable_path(args.store)] if args.store != DEFAULT_DIR else []
    argv += ["--format", args.format] if args.format != "md" else []
    argv += ["-o", shareable_path(args.output)] if args.output else []
    if args.format == "html":
        from mlops_compare.report.html_page import html_report

        emit(html_report(criteria, profile, evidence, command=shlex.join(argv)), args.output)
        return 0
    emit(decision_report(criteria, profile, evidence, command=shlex.join(argv)), args.output)
    return 0


def cmd_clean(args) -> int:
    from mlops_compare import criteria as criteria_mod
    from mlops_compare.checks import large_data
    from mlops_compare.plan import exam_for

    settings = exam_for(criteria_mod.load(args.criteria)).get("large_data") or {}
    folder = Path(settings.get("cache") or large_data.default_cache())
    files, nbytes = large_data.clean(folder)
    removed = f"removed {files} generated file(s), {nbytes / 1e6:.1f} MB" if files else "nothing to remove"
    print(f"{folder}: {removed}")
    _clean_leftovers(criteria_mod.load(args.criteria), args.workdir)
    return 0


def _clean_leftovers(criteria, workdir: str | None) -> None:
    """Leftover workspaces and shared folders (`leftovers`), and how much they held."""
    from mlops_compare import leftovers, registry

    given = Path(workdir) if workdir else None
    if given is not None and not given.is_dir():
        raise UserError(f"--workdir {workdir}: not a folder")
    tools = {*registry.available(), *criteria.tools}
    folder, count, nbytes, busy = leftovers.clean(given, tools)
    line = f"removed {count} leftover workspace(s) and shared folder(s), {nbytes / 1e6:.1f} MB" if count else ""
    line = line or "no leftover workspaces"
    if busy:
        line += f"; {busy} left alone: a run is working in them"
    print(f"{folder}: {line}")


def cmd_envs(args) -> int:
    from mlops_compare import envs_command

    return envs_command.command(args)


def cmd_tui(args) -> int:
    from mlops_compare import criteria as criteria_mod
    from mlops_compare import registry

    criteria = criteria_mod.load(getattr(args, "criteria", None))  # invalid: message and exit 2 before any screen
    from mlops_compare import executors

    # --executor slurm: Slurm checked before any screen too
    executor = executors.tui_executor(executor_options(args), criteria)
    # The UI is found by its entry point, not imported: the core never depends on the TUI.
    found = registry.entry_point(UI_GROUP, "tui")
    try:
        if found is None:
            raise ImportError("not installed")
        run_app = found.load()
    except ImportError as exc:
        raise UserError(
            f"the terminal UI is not available ({exc or 'not installed'}): pip install mlops-compare"
        ) from None
    # The criteria as loaded here (reading them again would cost the first frame a few ms).
    return run_app(
        getattr(args, "criteria", None),
        getattr(args, "profile", None),
        executor=executor,
        loaded=criteria,
        store=getattr(args, "store", DEFAULT_DIR),
    )


COMMANDS = {
    "score": cmd_score,
    "check": cmd_check,
    "profiles": cmd_profiles,
    "run": cmd_run,
    "report": cmd_report,
    "clean": cmd_clean,
    "envs": cmd_envs,
    "tui": cmd_tui,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help/--version
        return int(exc.code or 0)
    if args.command is None:  # bare `mlops-compare`: the TUI with its defaults (its executor flags too)
        args = parser.parse_args(["tui"])
    try:
        code = COMMANDS.get(args.command or "tui", cmd_tui)(args)
        sys.stdout.flush()  # a closed pipe shows up here, not at exit
        return code
    except UserError as exc:
        try:
            for problem in exc.problems:
                print(f"error: {problem}", file=sys.stderr)
        except BrokenPipeError:  # `... 2>&1 | head -1`: the reader left; the exit code still says why
            _quiet_closed_pipes()
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `mlops-compare check | head -3`: the reader left; exit quietly as git does, and
        # keep Python from complaining again when it flushes stdout at exit.
        _quiet_closed_pipes()
        return 0


def _quiet_closed_pipes() -> None:
    """Point stdout and stderr at /dev/null, so flushing them at exit raises nothing more."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):  # no real descriptor (a test's capture)
            pass
    os.close(devnull)
