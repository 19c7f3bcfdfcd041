"""One runner's pane: status, checks (pass/partial/fail/skip with seconds), metrics and log tail.

The pane folds batches of events into its own `RunRecord` (without the log: log lines go
straight to a bounded `RunLog` widget; the full log is in the results store). Everything a
runner sends is shown through `sanitize`, so markup, escape sequences and huge lines are
displayed as inert text.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from mlops_compare import events as event_schema
from mlops_compare.results import RunRecord
from mlops_compare.tui import status
from mlops_compare.tui.run_log import RunLog
from mlops_compare.tui.sanitize import clean, literal_block
from mlops_compare.tui.textline import TextLine
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.message import Message
from textual.widgets import DataTable

MAX_LOG = 5_000
METRICS = ("alpha", "l1_ratio", "rmse", "mae", "r2")
STATE_CLASSES = tuple(f"-{state}" for state in status.RUN)


def _metric(value: Any, digits: int) -> Text:
    # a NaN metric (R2 on a constant target) is a float too: shown as "nan", like the store says
    text = f"{value:.{digits}f}" if isinstance(value, int | float) else clean(str(value), 12)
    return Text(text, justify="right")


def _pane_line(check_id: str, check: dict[str, Any]) -> str:
    """The check module's ``pane_line(check)`` (e.g. concurrency: returned of submitted per variant), or ""."""
    from mlops_compare.checks import hook

    make = hook(check_id, "pane_line")
    try:
        return str(make(check)) if make is not None and check.get("status") != "skip" else ""
    except (KeyError, TypeError, ValueError):  # a stored record from another version: the evidence suffices
        return ""


class RunnerPane(Vertical):
    @dataclass
    class Ready(Message):
        """The pane is mounted (panes may mount after the first frame): it can take data now."""

        tool: str

    def __init__(self, tool: str, **kwargs):
        super().__init__(**kwargs)
        self.tool = tool
        self.record: RunRecord | None = None
        self.queued = False
        self.stored = False  # showing a result loaded from the store, not a run of this session
        self._metrics_shown = 0
        self.border_title = tool

    def on_mount(self) -> None:
        self.select(self.has_class("-selected"))
        self._show_status()
        self.post_message(self.Ready(self.tool))

    def select(self, selected: bool) -> None:
        """Mark the pane of the selected tab (a border title marker as well as the border style)."""
        if selected != self.has_class("-selected"):
            self.set_class(selected, "-selected")
        self.border_title = f"▸ {self.tool}" if selected else self.tool

    def compose(self) -> ComposeResult:
        yield TextLine(classes="run-status")
        with Container(classes="pane-body"):
            checks: DataTable[Any] = DataTable(classes="checks", cursor_type="row", zebra_stripes=False)
            checks.add_column("Check", key="id", width=15)
            checks.add_column("Status", key="status", width=9)
            checks.add_column("s", key="seconds", width=6)
            for check in event_schema.CHECKS:
                checks.add_row(check.id, status.check_cell(None), "", key=check.id)
            yield checks
            # no cell padding: right-aligned numbers in 36 columns, so four panes fit side by side at 160
            metrics: DataTable[Any] = DataTable(
                classes="metrics", cursor_type="row", zebra_stripes=False, cell_padding=0
            )
            for name, width in zip(METRICS, (6, 6, 8, 8, 8), strict=True):
                label = Text("l1" if name == "l1_ratio" else name, justify="right")
                metrics.add_column(label, key=name, width=width)
            yield metrics
        yield TextLine(classes="evidence")
        yield RunLog(max_lines=MAX_LOG, classes="log")

    # --- what the app calls --------------------------------------------------------
    def load_stored(self, record: RunRecord) -> None:
        """Show the last stored result (marked with its date) before anything runs."""
        self._reset(record, stored=True)
        self.query_one(RunLog).write_lines([clean(line) for line in record.log[-MAX_LOG:]])
        self.record = self._without_log(record)
        self._show_record()

    def begin(self, queued: bool) -> None:
        self._reset(RunRecord(tool=self.tool), stored=False)
        self.queued = queued
        self._show_status()

    def started(self) -> None:
        self.queued = False
        if self.record is None or self.record.finished:
            self.record = RunRecord(tool=self.tool)
        self.record.status = "starting"
        self._show_status()

    def apply(self, batch: list[dict[str, Any] | str]) -> None:
        """Fold a batch of events: one table refresh and one log write per batch."""
        if self.record is None or self.stored or self.record.finished:
            # a new run's first events (the final record of the last one is never folded into)
            self._reset(RunRecord(tool=self.tool, status="starting"), stored=False)
        record = self.record
        assert record is not None  # set by _reset above at the latest
        lines: list[str] = []
        checks_changed = False
        for event in batch:
            if isinstance(event, str):  # a log line's text, as the relay forwards them
                lines.append(event)
                continue
            if event.get("type") == "log":
                lines.append(event.get("line", ""))
                if event.get("stream") == "slurm":  # a Slurm job's state: kept for the status line
                    record.apply({**event, "line": ""})
                continue
            try:
                record.apply(event)
            except (KeyError, TypeError, ValueError):  # a malformed event from a custom starter: shown, not fatal
                lines.append(f"[unreadable event: {event!r}]")
            checks_changed |= event.get("type") == "check"
        if lines:
            self.query_one(RunLog).write_lines([clean(str(line)) for line in lines[-MAX_LOG:]])
        if checks_changed:
            self._show_checks(follow=True)
        if record.metrics and len(record.metrics) != self._metrics_shown:
            self._show_metrics()
        self.queued = False
        self._show_status()

    def finish(self, record: RunRecord) -> None:
        self.queued = False
        self.record = self._without_log(record)
        self._show_record()

    # --- drawing ------------------------------------------------------------------
    @staticmethod
    def _without_log(record: RunRecord) -> RunRecord:
        light = copy.copy(record)
        light.log = []
        return light

    def _reset(self, record: RunRecord, stored: bool) -> None:
        self.record, self.stored, self.queued = record, stored, False
        self.query_one(RunLog).clear()
        self.query_one(".metrics", DataTable).clear()
        self._metrics_shown = 0
        self._show_checks()
        self.query_one(".evidence", TextLine).show("")

    def _show_record(self) -> None:
        self._show_checks()
        self._show_metrics()
        self._show_status()

    def _show_checks(self, follow: bool = False) -> None:
        table = self.query_one(".checks", DataTable)
        checks = self.record.checks if self.record else {}
        latest = None
        for check_id in event_schema.CHECK_IDS:
            check = checks.get(check_id)
            seconds = check.get("seconds") if check else None
            table.update_cell(check_id, "status", status.check_cell(check.get("status") if check else None))
            shown = f"{seconds:.2f}" if isinstance(seconds, int | float) else ""
            table.update_cell(check_id, "seconds", Text(shown, justify="right"))
            if check:
                latest = check_id
        if latest is not None and follow and not table.has_focus:
            table.move_cursor(row=event_schema.CHECK_IDS.index(latest))
        self._show_evidence(event_schema.CHECK_IDS[max(table.cursor_row, 0)])

    def _show_evidence(self, check_id: str) -> None:
        check = (self.record.checks if self.record else {}).get(check_id)
        widget = self.query_one(".evidence", TextLine)
        if not check:
            title = event_schema.CHECKS_BY_ID[check_id].title
            widget.show(Text(f"{check_id}: {title}: not run", style="dim"))
            return
        text = Text(f"{check_id}: ", style="bold")
        if summary := _pane_line(check_id, check):  # a check's one-line figures (its ``pane_line`` hook)
            text.append_text(literal_block(summary))
            text.append(" || ")
        text.append_text(literal_block(str(check.get("evidence") or "")))
        widget.show(text)

    def _show_metrics(self) -> None:
        table = self.query_one(".metrics", DataTable)
        metrics = self.record.metrics if self.record else []
        for point in metrics[self._metrics_shown :]:
            digits = (2, 2, 2, 2, 4)
            table.add_row(*(_metric(point.get(name), d) for name, d in zip(METRICS, digits, strict=True)))
        if len(metrics) > self._metrics_shown and not table.has_focus:
            table.move_cursor(row=len(metrics) - 1)
        self._metrics_shown = len(metrics)

    def _show_status(self) -> None:
        state = status.run_state(self.record, self.queued)
        symbol, word, style = status.RUN[state]
        text = Text(f"{symbol} {word}", style=style, no_wrap=True, overflow="ellipsis")
        record = self.record
        if record is not None:
            if progress := status.progress(record):
                text.append(f" {progress}")
            if self.stored:
                text.append(f"  {status.stored_date(record)}", style="italic")
            if record.finished and record.seconds:
                text.append(f"  {record.seconds:.1f} s")
            if job := record.executor.get("job_id"):  # --executor slurm
                text.append(f"  job {job} {record.executor.get('state', '')}".rstrip(), style="bold")
            counts = {k: v for k, v in record.counts().items() if v}
            if counts:
                text.append("  " + " ".join(f"{n} {'FAIL' if k == 'fail' else k}" for k, n in counts.items()))
            if record.reason:  # a second line, cut to the width (the full text is in the store)
                text.append("\n")
                text.append(clean(record.reason, 300), style="italic")
        self.query_one(".run-status", TextLine).show(text)
        if not self.has_class(f"-{state}"):  # a class change restyles the pane: only on a new state
            self.set_classes({*(c for c in self.classes if c not in STATE_CLASSES), f"-{state}"})

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.has_class("checks") and event.row_key.value is not None:
            self._show_evidence(str(event.row_key.value))
        event.stop()
