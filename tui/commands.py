"""Command palette entries (ctrl+p) for every action, including one per runner and profile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

if TYPE_CHECKING:
    from mlops_compare.tui.app import MlopsCompareApp


def commands(app: MlopsCompareApp) -> Iterator[SystemCommand]:
    main = app.main
    yield SystemCommand("Run all runners", "Start every runner (r)", app.action_run_all)
    for tool in app.tools:
        yield SystemCommand(f"Run {tool}", f"Start the {tool} runner", lambda t=tool: app.start_run(t))
        yield SystemCommand(f"Cancel {tool}", f"Stop the {tool} runner", lambda t=tool: app.runs.cancel(t))
        yield SystemCommand(
            f"Show {tool}", f"Switch to the {tool} runner pane", lambda t=tool: main.show_view(f"runner:{t}")
        )
    yield SystemCommand("Cancel all runs", "Stop every active runner (c)", app.action_cancel_all)
    yield SystemCommand("Export scores", "Write the score table as md, csv or json (e)", app.action_export)
    yield SystemCommand("Save weights", f"Write the changed weights to {app.session.save_target} (s)", app.action_save)
    yield SystemCommand("Switch profile", "Choose another use-case profile (p)", app.action_profile)
    yield SystemCommand(
        "Profiles side by side", "Every profile's ranking and a Borda compromise (P)", app.action_profiles
    )
    yield SystemCommand("Trust checks", "Data set, grid, cross-tool agreement, reproduce (t)", app.action_trust)
    for pid in app.session.criteria.profiles:
        yield SystemCommand(f"Profile: {pid}", f"Score with the {pid} weights", lambda p=pid: app.switch_profile(p))
    yield SystemCommand("Show scores", "The checkpoints, weights and scoreboard", lambda: main.show_view("scores"))
    yield SystemCommand("Show charts", "Metrics over the grid and overhead", lambda: main.show_view("charts"))
    yield SystemCommand("Next chart metric", "rmse, mae, r2 (m)", main.action_next_metric)
    yield SystemCommand("Keys", "Every key of the app (?)", app.action_help)
    yield SystemCommand("Quit mlops-compare", "Asks first while runs are active (q)", app.action_quit)
