"""The Textual app: wiring between the session, the runs and the main screen, and `run_app`.

`run_app(criteria_path, profile)` is what the CLI calls (``mlops-compare`` and
``mlops-compare tui``): invalid criteria or an unknown profile are reported on stderr like
the CLI does, exit code 2, before any screen is drawn. Quitting cancels every run and
waits (a few seconds at most) until their records are stored; every runner process group
is killed on the way out, however the app ends.

`MlopsCompareApp` is also the factory the tests use: pass a `store`, a `starter` (see
`mlops_compare.tui.runs`) and the `runners` to show, and nothing real is started.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_compare import atomic, registry
from mlops_compare import criteria as criteria_module
from mlops_compare.criteria import Criteria, Profile
from mlops_compare.errors import EXIT_USER_ERROR, UserError
from mlops_compare.results import RunRecord
from mlops_compare.store import Store
from mlops_compare.tui import commands
from mlops_compare.tui.main_screen import MainScreen
from mlops_compare.tui.messages import (
    EventsArrived,
    RunFinished,
    RunQueued,
    RunStarted,
    ScoresComputed,
    ScreenMounted,
    StoredResultsLoaded,
    WeightChanged,
)
from mlops_compare.tui.runs import DEFAULT_JOBS, RunManager, Starter, launcher_starter
from mlops_compare.tui.session import Session

if TYPE_CHECKING:
    from mlops_compare.evidence import Evidence
    from mlops_compare.tui.export_screen import ExportRequest

# Modal screens, the scoring (numpy) and the export are imported when first used: the
# first frame must come quickly (see benchmarks/tui_startup.py).
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.worker import Worker, WorkerState, get_current_worker

FLUSH_SECONDS = 0.075  # runner events reach the widgets at most ~13 times a second
# Quitting waits this long for cancelled runs to store their records: the launcher gives a
# runner 3 s between SIGTERM and SIGKILL, then 3 s to be reaped.
STOP_SECONDS = 8.0
HELP_EXTRA = [
    ("ctrl+p", "command palette: every action by name"),
    ("tab shift+tab", "move the focus between tab bar, tables and logs"),
    ("↑ ↓ PgUp PgDn", "move in a table, scroll a log"),
    ("← →", "switch views while the tab bar has the focus"),
    ("ctrl+q", "quit (asks first while runs are active)"),
]


class MlopsCompareApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "mlops-compare"

    def __init__(
        self,
        criteria: Criteria,
        profile: str | None = None,
        *,
        store: Store | None = None,
        starter: Starter | None = None,
        runners: list[str] | None = None,
        jobs: int = DEFAULT_JOBS,
        load_stored: bool = True,
        cwd: Path | None = None,
        executor: dict | None = None,  # an `executors` spec: runs as Slurm jobs (`tui --executor slurm`)
    ):
        super().__init__()
        self.session = Session(criteria, profile)
        self.store = store if store is not None else Store()
        self.runs = RunManager(starter or launcher_starter(self.store, executor=executor), jobs, self.store)
        self.tools = list(runners) if runners is not None else _candidates(criteria)
        self.cwd = cwd
        self.evidence: Evidence | None = None  # stored results behind measured ratings, as `score` reads them
        self._load_stored = load_stored
        self._generation = 0
        self._stopping = False  # quit was confirmed: runs are being stopped
        self._exit_code = 0  # 128 + the signal when SIGHUP or SIGTERM stopped the app
        # runs that finished before the store was read: applied again on top of what it holds
        self._finished_early: list[RunRecord] | None = [] if load_stored else None

        self.main = MainScreen(self.session, self.tools, cache=self.store.root)

    def get_default_screen(self) -> MainScreen:
        return self.main

    def _ui(self, method, *args) -> None:
        """Call a screen method from a message handler, unless the screen is not (or no longer) there."""
        if not self.main.is_attached:  # not yet, or the app is exiting
            return
        try:
            method(*args)
        except NoMatches:  # a worker's message arrived while the screen was built or torn down
            pass

    def on_screen_mounted(self, message: ScreenMounted) -> None:
        # everything built so far lives as long as the app: keep the garbage collector off it, so
        # its full passes stay short while runners stream (they would be felt as key latency)
        gc.freeze()
        gc.enable()  # run_app turns it off while the first frame is built
        self.set_interval(FLUSH_SECONDS, self.flush_events)
        self.rescore()
        if self._load_stored:
            self.load_stored()

    # --- scores -------------------------------------------------------------------
    def rescore(self) -> None:
        """New scores at once (pure Python, well under a millisecond), P(first) from the store's cache
        (`sensitivity_cache`: the same inputs computed before) or else from a worker."""
        from mlops_compare.tui.summaries import quick_summary

        criteria, profile = self.session.criteria, self.session.profile
        self._generation += 1  # a worker's result counts only if nothing changed since it started
        self._ui(self.main.show_weights, True)
        quick = quick_summary(criteria, profile, self.evidence, cache=self.store.root)
        self._ui(self.main.show_summary, quick, not quick.p_first)
        if quick.p_first:
            self._warm_numpy()  # the next weight change computes P(first) without the import wait
        else:
            self._score(criteria, profile, self.evidence, self._generation)

    @work(thread=True, exclusive=True, group="score", exit_on_error=False)
    def _score(self, criteria: Criteria, profile: Profile, evidence: Evidence | None, generation: int) -> None:
        from mlops_compare.tui.summaries import summary

        result = summary(criteria, profile, evidence, cache=self.store.root)  # Monte-Carlo P(first): numpy, ~10 ms
        if not get_current_worker().is_cancelled:
            self.post_message(ScoresComputed(result, generation))

    @work(thread=True, exclusive=True, group="warm", exit_on_error=False)
    def _warm_numpy(self) -> None:
        import time

        if "numpy" not in sys.modules:
            time.sleep(1.0)  # after the first frames, not competing with them
            import numpy  # noqa: F401

    def on_scores_computed(self, message: ScoresComputed) -> None:
        if message.generation == self._generation:  # else a newer one is on its way
            self._ui(self.main.show_summary, message.summary)

    def on_weight_changed(self, message: WeightChanged) -> None:
        if message.refused:
            self.notify(message.refused, severity="warning", markup=False)
        else:
            self.rescore()

    def action_profile(self) -> None:
        from mlops_compare.tui.profile_picker import ProfileScreen

        self.push_screen(ProfileScreen(self.session), self.switch_profile)

    def switch_profile(self, profile: str | None) -> None:
        if profile is not None and profile != self.session.profile_id:
            self.session.switch(profile)
            self.rescore()

    def action_profiles(self) -> None:
        from mlops_compare.tui.all_profiles_screen import ProfilesScreen

        self.push_screen(ProfilesScreen(self.session, self.evidence))

    def action_trust(self) -> None:
        from mlops_compare.tui.trust_screen import TrustScreen

        self.push_screen(TrustScreen(self.evidence if self.evidence is not None else {}))

    def action_save(self) -> None:
        if not self.session.dirty():
            self.notify("No changed weights to save.", markup=False)
            return
        try:
            path = self.session.save(criteria_module.load)
        except UserError as exc:
            self.notify("\n".join(map(str, exc.problems)), title="Not saved", severity="error", markup=False)
            return
        self.main.criteria_reloaded()
        self.rescore()
        self.notify(f"Saved the weights to {path}", markup=False)

    def action_export(self) -> None:
        from mlops_compare.tui.export_screen import ExportScreen

        self.push_screen(ExportScreen(self.session.profile_id, self.cwd), self.export)

    def export(self, request: ExportRequest | None) -> None:
        if request is not None:
            self._export(request, self.session.criteria, self.session.profile)

    @work(thread=True, group="export", exit_on_error=False)
    def _export(self, request: ExportRequest, criteria: Criteria, profile: Profile) -> None:
        """Write what ``mlops-compare score --format F`` prints for these weights and this store."""
        from mlops_compare.evidence import Evidence
        from mlops_compare.export import render
        from mlops_compare.scoring.summary import summarize

        evidence = Evidence.from_store(self.store.root)  # fresh: exactly what `score` reads
        try:
            atomic.write_text(request.path, render(summarize(criteria, profile, evidence), request.fmt))
        except OSError as exc:
            message = f"{request.path}: {exc.strerror or exc}"
            self.call_from_thread(self.notify, message, title="Not exported", severity="error", markup=False)
            return
        self.call_from_thread(self.notify, f"Exported {request.fmt} to {request.path}", markup=False)

    # --- runs ---------------------------------------------------------------------
    def action_run_all(self) -> None:
        if self._refused():
            return
        for tool in self._longest_first():
            self.start_run(tool)

    def _longest_first(self) -> list[str]:
        """The runners in the order to queue them: longest first, as `mlops-compare run` starts them."""
        from mlops_compare import registry
        from mlops_compare.executors.local import start_order

        known = registry.available()
        typical = {tool: registry.typical_seconds(known[tool]) for tool in self.tools if tool in known}
        return [self.tools[i] for i in start_order(self.tools, self.store, self.runs.jobs, typical)]

    def action_run_selected(self) -> None:
        if self.main.selected_tool and not self._refused():
            self.start_run(self.main.selected_tool)

    def _refused(self) -> bool:
        """The data and the store checked once before any run is queued (`plan.preflight`); a toast if not."""
        from mlops_compare.plan import preflight

        try:
            preflight(self.session.criteria, self.store)
        except UserError as exc:
            problems = "\n".join(map(str, exc.problems))
            self.notify(problems, title="Not started", severity="error", timeout=15, markup=False)
            return True
        return False

    def start_run(self, tool: str) -> None:
        if self.runs.is_active(tool):
            return
        pending = self.runs.submit(tool, self.session.criteria, on_start=lambda t: self.post_message(RunStarted(t)))
        self.post_message(RunQueued(tool))

        async def run() -> None:
            record = await pending
            # the run's last events, then its record, posted together: the flush timer cannot
            # slip a batch of this run's events in behind the record (order is the contract)
            if late := self.runs.drain(tool).get(tool):
                self.post_message(EventsArrived(tool, late))
            self.post_message(RunFinished(tool, record))

        self.run_worker(run(), name=f"run:{tool}", group="runs", exit_on_error=False)

    def flush_events(self) -> None:
        for tool, events in self.runs.drain().items():
            self.post_message(EventsArrived(tool, events))

    def on_run_queued(self, message: RunQueued) -> None:
        self._ui(self.main.run_queued, message.tool)

    def on_run_started(self, message: RunStarted) -> None:
        self._ui(self.main.run_started, message.tool)

    def on_events_arrived(self, message: EventsArrived) -> None:
        self._ui(self.main.events_arrived, message.tool, message.events)

    def on_run_finished(self, message: RunFinished) -> None:
        self._ui(self.main.run_finished, message.tool, message.record)
        # the run's record is the newest in the store now (saved by the launcher, or by the run
        # manager): its checks that ran replace older measurements, a cancelled run's absent ones
        # do not. Taken as it came, not re-read: the store's files hold whole logs.
        from mlops_compare.evidence import Evidence

        self.evidence = (self.evidence or Evidence()).with_record(message.record)
        if self._finished_early is not None:
            self._finished_early.append(message.record)
        if message.record.checks:
            self.rescore()

    def action_cancel_all(self) -> None:
        if not self.runs.cancel_all():
            self.notify("Nothing is running.", markup=False)

    def action_cancel_selected(self) -> None:
        if not self.runs.cancel(self.main.selected_tool):
            self.notify(f"{self.main.selected_tool} is not running.", markup=False)

    @work(thread=True, group="store", exit_on_error=False)
    def load_stored(self) -> None:
        """Read the store as `score` does: the newest record per tool for the panes (dated), each check's
        newest run in which it ran for the measured ratings."""
        from mlops_compare.evidence import Evidence

        self.post_message(StoredResultsLoaded(Evidence.from_store(self.store.root)))

    def on_stored_results_loaded(self, message: StoredResultsLoaded) -> None:
        evidence, finished = message.evidence, self._finished_early or []
        self._finished_early = None
        for record in finished:  # a run finished meanwhile is newer than the store read
            evidence = evidence.with_record(record)
        self.evidence = evidence
        if evidence.damaged:  # named once, here and in the trust screen (t)
            names = ", ".join(d.path.name for d in evidence.damaged[:3]) + (", …" if len(evidence.damaged) > 3 else "")
            self.notify(
                f"{len(evidence.damaged)} unreadable record(s) in {self.store.runs}, not used: {names} (t: details)",
                title="Damaged records",
                severity="warning",
                timeout=15,
                markup=False,
            )
        known = {record.tool for record in finished}
        self._ui(self.main.show_stored, {t: r for t, r in message.evidence.records.items() if t not in known})
        if any(found.checks for found in evidence.tools.values()):
            self.rescore()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR:
            return
        error = f"{type(worker.error).__name__}: {worker.error}"
        if worker.name.startswith("run:"):  # the run manager makes a result of its runs' errors; this is the backstop
            tool = worker.name.removeprefix("run:")
            self.post_message(RunFinished(tool, self.runs.ended(tool, "error", error)))
        self.notify(error, title=f"{worker.name or worker.group} failed", severity="error", markup=False)

    # --- help, palette, quit ------------------------------------------------------
    def action_help(self) -> None:
        from mlops_compare.tui.checkpoint_table import CheckpointTable
        from mlops_compare.tui.help_screen import HelpScreen

        sections = [
            (title, [b for b in bindings if isinstance(b, Binding)])
            for title, bindings in (
                ("Main screen", MainScreen.BINDINGS),
                ("Checkpoints table", CheckpointTable.BINDINGS),
            )
        ]
        self.push_screen(HelpScreen(sections, HELP_EXTRA))

    def get_system_commands(self, screen) -> list[SystemCommand]:
        return [*super().get_system_commands(screen), *commands.commands(self)]

    async def action_quit(self) -> None:
        active = self.runs.active
        if not active or self._stopping:  # quit again while stopping: at once
            self.shutdown()
            return

        def answered(quit: bool | None) -> None:
            if quit:
                self.shutdown()

        from mlops_compare.tui.quit_screen import QuitScreen

        self.push_screen(QuitScreen(active), answered)

    def shutdown(self) -> None:
        """Stop every run (their whole process groups), let their records be stored, and exit."""
        if self._stopping or not self.runs.cancel_all("mlops-compare was closed"):
            _kill_all()
            self.exit(0)
            return
        self._stopping = True
        self.notify("Stopping the runs and storing their records… (q again: quit at once)", markup=False)
        self.run_worker(self._exit_when_stopped(), group="quit", exit_on_error=False)

    async def _exit_when_stopped(self) -> None:
        await self.runs.wait_idle(STOP_SECONDS)
        _kill_all()  # whatever did not stop in time
        self.exit(self._exit_code)

    def on_unmount(self) -> None:
        _kill_all()

    def on_mount(self) -> None:
        import asyncio
        import signal

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self.stop_on_signal, signum)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread: the host handles signals
                return

    def stop_on_signal(self, signum: int) -> None:
        """SIGHUP (the terminal went away) or SIGTERM: stop every run, store its record with the
        signal as reason (as `mlops-compare run` does) and exit with 128 + the signal. On SIGHUP
        a Slurm job is kept running and its run's state file written, for `run --attach`."""
        import signal

        if self._exit_code:
            return
        self._exit_code = 128 + signum
        hangup = signum == signal.SIGHUP
        name = "SIGHUP: the terminal or SSH session was closed" if hangup else "SIGTERM"
        # SIGHUP leaves Slurm jobs running (`mlops-compare run --attach` collects them); SIGTERM cancels
        stopping = self.runs.detach_all(f"stopped by {name}") if hangup else self.runs.cancel_all(f"stopped by {name}")
        if not stopping:
            _kill_all()
            self.exit(self._exit_code)
            return
        self._stopping = True
        self.run_worker(self._exit_when_stopped(), group="quit", exit_on_error=False)


def _kill_all() -> None:
    """Kill every runner process group this process knows of, directly or through the relay."""
    for module in ("mlops_compare.tui.relay_client", "mlops_compare.executors.local"):
        if module in sys.modules:
            sys.modules[module].kill_all()


def run_app(
    criteria_path: str | None,
    profile: str | None,
    executor: dict | None = None,
    loaded: Criteria | None = None,
    store: str | Path | None = None,
) -> int:
    """Start the explorer; return the exit code (2 for invalid criteria or an unknown profile).

    *loaded* is the criteria file already read from *criteria_path* (the CLI checks it before
    any screen), else it is read here. *store*: the results folder (default ``.mlops-compare``).
    """
    try:
        criteria = loaded if loaded is not None else criteria_module.load(criteria_path)
    except UserError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USER_ERROR
    if profile is not None and profile not in criteria.profiles:
        known = ", ".join(criteria.profiles)
        print(f"{criteria.path}: unknown profile {profile!r} (profiles: {known})", file=sys.stderr)
        return EXIT_USER_ERROR
    gc.disable()  # no collections while the first frame is built; back on (and frozen) once it is up
    app = MlopsCompareApp(criteria, profile, executor=executor, store=Store(store) if store is not None else None)
    try:
        code = app.run()
    finally:
        gc.enable()
        _kill_all()
    return code or 0


def _candidates(criteria: Criteria) -> list[str]:
    """A pane per runner and per version variant of the criteria (``[tool.X] runner = "..."``)."""
    from mlops_compare.errors import UserError
    from mlops_compare.plan import candidates

    try:
        return list(candidates(criteria))
    except UserError:  # a variant naming a runner that is not installed: its run says so
        return list(registry.available())
