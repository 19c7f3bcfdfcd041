"""The main screen: scores and weights, one pane per runner, charts; tabs or side by side.

On a compact terminal (the 80x24 of a login node) the tab bar chooses one view at a time:
Scores, one tab per runner, Charts. On a wide one (`WIDE` and up) the scores stay on top
and the runner panes sit side by side below them (or the charts, on the Charts tab).
The app calls the methods here from its message handlers (runner data reaches the app
only as messages, in one queue, so a run's last events are shown before its final status).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from mlops_compare.scoring.summary import Summary
from mlops_compare.tui import messages, status
from mlops_compare.tui.charts import ChartsView, chart_records
from mlops_compare.tui.checkpoint_table import CheckpointTable
from mlops_compare.tui.checkpoints import CheckpointDetail, selected_text
from mlops_compare.tui.runner_pane import RunnerPane
from mlops_compare.tui.scoreboard import Scoreboard
from mlops_compare.tui.session import Session
from mlops_compare.tui.summaries import quick_summary
from mlops_compare.tui.textline import TextLine
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.events import Resize

if TYPE_CHECKING:
    from mlops_compare.tui.app import MlopsCompareApp
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import Footer, Tab, Tabs

WIDE = (120, 36)  # columns, rows from which the panes sit side by side under the scores
VIEW_CLASSES = ("-view-scores", "-view-runner", "-view-charts")


def dom_id(tool: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", tool)


class MainScreen(Screen):
    BINDINGS = [
        Binding("r", "app.run_all", "run all", tooltip="run every runner (two at a time; the others queue)"),
        Binding("R", "app.run_selected", "run one", show=False, tooltip="run the runner of the selected tab"),
        Binding("c", "app.cancel_all", "cancel", tooltip="cancel every queued or running run"),
        Binding("C", "app.cancel_selected", "cancel one", show=False, tooltip="cancel the selected runner's run"),
        Binding("e", "app.export", "export", tooltip="export the score table as md, csv or json"),
        Binding("s,ctrl+s", "app.save", "save", tooltip="save changed weights to the criteria file"),
        Binding("p", "app.profile", "profile", tooltip="switch the use-case profile"),
        Binding("P", "app.profiles", "profiles", show=False, tooltip="every profile side by side, with a compromise"),
        Binding("t", "app.trust", "trust", show=False, tooltip="trust checks: data set, grid, agreement, reproduce"),
        Binding(
            "right_square_bracket", "view(1)", "view", key_display="]", tooltip="next view: Scores, each runner, Charts"
        ),
        Binding("left_square_bracket", "view(-1)", "back", key_display="[", show=False, tooltip="previous view"),
        Binding("m", "next_metric", "metric", show=False, tooltip="charts: show the next metric (rmse, mae, r2)"),
        Binding("question_mark,f1", "app.help", "help", key_display="?", tooltip="this list of keys"),
        Binding("q", "app.quit", "quit", tooltip="quit (asks first while runs are active; stops them)"),
    ]

    def __init__(self, session: Session, tools: list[str], cache: Path | None = None):
        super().__init__(classes="-view-scores")  # set before mounting: no restyle at start
        self.session = session
        self.tools = tools
        self.cache = cache  # the store's folder: P(first) remembered there goes into the first frame
        self.selected_tool = tools[0] if tools else ""
        self.view = "scores"
        self._waiting: dict[str, list[Callable[[RunnerPane], None]]] = {}

    # --- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        tabs = [Tab("Scores", id="view-scores")]
        tabs += [Tab(status.tab_label(t, None), id=f"view-runner-{dom_id(t)}") for t in self.tools]
        tabs.append(Tab("Charts", id="view-charts"))
        yield Tabs(*tabs, id="views")
        with Container(id="body"):
            # ~1 ms; P(first) from the store's cache when it has these inputs, else from a worker just after
            first = quick_summary(self.session.criteria, self.session.profile, cache=self.cache)
            with Container(id="scores-area"):
                yield Scoreboard(self.session, summary=first, id="scoreboard")
                yield CheckpointTable(self.session, summary=first, id="checkpoints")
                yield TextLine(id="selected-line")
                with VerticalScroll(id="detail-scroll"):
                    yield CheckpointDetail(id="detail")
            panes = [
                RunnerPane(tool, id=f"pane-{dom_id(tool)}", classes="-selected" if tool == self.selected_tool else None)
                for tool in self.tools
            ]
            runs = Horizontal(*panes, id="runs-area")
            # hidden at first on a compact screen: mounted just after the first frame, which then comes sooner
            yield runs if self._wide(self.app.size) else Lazy(runs)
            yield ChartsView(id="charts-area")
        footer = Footer(compact=True)
        # Textual's footer shows no keys until it hears of a bindings update, which comes a frame
        # after mounting, behind the runner panes (~150 ms at 80x24). Told through its public
        # handler now, before it is mounted, it composes its keys into the first frame.
        footer.bindings_changed(self)
        yield footer

    def on_mount(self) -> None:
        self.query_one(CheckpointTable).focus()
        self.show_detail()
        self.post_message(messages.ScreenMounted())

    @staticmethod
    def _wide(size) -> bool:
        return size.width >= WIDE[0] and size.height >= WIDE[1]

    def on_resize(self, event: Resize) -> None:
        wide = self._wide(event.size)
        if wide != self.has_class("-wide"):  # a class change restyles the whole screen: only when needed
            self.set_class(wide, "-wide")

    # --- views --------------------------------------------------------------------
    def _views(self) -> list[str]:
        return ["scores", *(f"runner:{t}" for t in self.tools), "charts"]

    def _tab_id(self, view: str) -> str:
        if view.startswith("runner:"):
            return f"view-runner-{dom_id(view.removeprefix('runner:'))}"
        return f"view-{view}"

    @on(Tabs.TabActivated, "#views")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        tab_id = event.tab.id or "view-scores"
        view = next((v for v in self._views() if self._tab_id(v) == tab_id), "scores")
        if view != self.view:
            self.view = view
            self._apply_view(focus=True)

    def show_view(self, view: str) -> None:
        if view != self.view:
            self.view = view
            self._apply_view(focus=True)
        self.query_one("#views", Tabs).active = self._tab_id(view)

    def action_view(self, step: int) -> None:
        views = self._views()
        self.show_view(views[(views.index(self.view) + step) % len(views)])

    def _apply_view(self, focus: bool = False) -> None:
        kind = self.view.split(":", 1)[0]
        self.set_classes({*(c for c in self.classes if c not in VIEW_CLASSES), f"-view-{kind}"})
        if kind == "runner":
            self.selected_tool = self.view.removeprefix("runner:")
        for pane in self.query(RunnerPane):
            pane.select(pane.tool == self.selected_tool)
        if kind == "charts":
            self.refresh_charts()
        if focus:
            if kind == "scores":
                self.query_one(CheckpointTable).focus()
            elif kind == "runner" and self.tools:
                with contextlib.suppress(NoMatches):  # not mounted yet: the tab bar keeps the focus
                    self.pane(self.selected_tool).query_one(".checks").focus()
            else:
                self.query_one("#views", Tabs).focus()

    def action_next_metric(self) -> None:
        metric = self.query_one(ChartsView).next_metric()
        self.notify(f"chart shows {metric}", timeout=1.5)

    # --- scores -------------------------------------------------------------------
    def pane(self, tool: str) -> RunnerPane:
        return self.query_one(f"#pane-{dom_id(tool)}", RunnerPane)

    def show_summary(self, summary: Summary, pending: bool = False) -> None:
        self.query_one(Scoreboard).show(summary, pending=pending)
        self.query_one(CheckpointTable).show_summary(summary)
        self.show_detail()

    def show_weights(self, pending: bool = True) -> None:
        """After a weight or profile change: weights now, scores when the worker is done."""
        self.query_one(CheckpointTable).show_weights()
        self.query_one(Scoreboard).show(None, pending=pending)
        self.show_detail()

    def criteria_reloaded(self) -> None:
        self.query_one(CheckpointTable).rebuild()
        self.show_weights()

    def show_detail(self) -> None:
        table = self.query_one(CheckpointTable)
        self.query_one("#selected-line", TextLine).show(selected_text(self.session, table.selected, table.summary))
        self.query_one(CheckpointDetail).show(self.session, table.selected, table.summary)

    def on_checkpoint_table_highlighted(self) -> None:
        self.show_detail()

    # --- runs ---------------------------------------------------------------------
    def _update_tab(self, tool: str) -> None:
        try:
            pane = self.pane(tool)
        except NoMatches:
            return
        label = status.tab_label(tool, pane.record, pane.queued)
        tab = self.query_one(f"#view-runner-{dom_id(tool)}", Tab)
        if str(tab.label) != label:
            tab.label = label

    def refresh_charts(self) -> None:
        if self.view != "charts":
            return  # drawn when the charts view is shown
        live = {p.tool: p.record for p in self.query(RunnerPane) if p.record is not None}
        self.query_one(ChartsView).show(chart_records(getattr(self.app, "evidence", None), live))

    def _with_pane(self, tool: str, action: Callable[[RunnerPane], None]) -> None:
        """Do *action* on the tool's pane now, or as soon as it is mounted (panes mount lazily)."""
        try:
            pane = self.pane(tool)
        except NoMatches:
            pane = None
        if pane is None or not pane.is_mounted or tool in self._waiting:
            # not there or not mounted yet (a pane in the DOM has no children before its Mount:
            # a stored log written then was lost), or mounted with earlier actions still queued
            # for its Ready: queue behind them, so a run's events never overtake its start
            # (order matters). Its Ready is handled after it is mounted, and runs the queue.
            self._waiting.setdefault(tool, []).append(action)
            return
        action(pane)
        self._update_tab(tool)

    def on_runner_pane_ready(self, message: RunnerPane.Ready) -> None:
        pane = self.pane(message.tool)
        pane.select(pane.tool == self.selected_tool)
        for action in self._waiting.pop(message.tool, []):
            action(pane)
        self._update_tab(message.tool)

    def show_stored(self, records: dict) -> None:
        """The last stored result per runner, before anything runs in this session."""

        def load(record):
            def action(pane: RunnerPane) -> None:
                if pane.record is None and not cast("MlopsCompareApp", self.app).runs.is_active(pane.tool):
                    pane.load_stored(record)

            return action

        for tool, record in records.items():
            if tool in self.tools:
                self._with_pane(tool, load(record))
        self.refresh_charts()

    def run_queued(self, tool: str) -> None:
        self._with_pane(tool, lambda pane: pane.begin(queued=True))

    def run_started(self, tool: str) -> None:
        self._with_pane(tool, lambda pane: pane.started())

    def events_arrived(self, tool: str, events: list) -> None:
        def action(pane: RunnerPane) -> None:
            metrics_before = len(pane.record.metrics) if pane.record else 0
            pane.apply(events)
            if self.view == "charts" and pane.record and len(pane.record.metrics) != metrics_before:
                self.refresh_charts()

        self._with_pane(tool, action)

    def run_finished(self, tool: str, record) -> None:
        def action(pane: RunnerPane) -> None:
            pane.finish(record)
            self.refresh_charts()

        self._with_pane(tool, action)
