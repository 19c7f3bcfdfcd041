"""Metaflow's `ui` check: a card, Metaflow's own HTML report of a task, for the grid run.

Open-source Metaflow's visual output is cards: one HTML report per task (``@card``, or
``--with card`` on a run). The grid ran without cards, so the default card of its ``end``
task is made afterwards with ``python flow.py card create`` (the end task carries the join's
``results``: every point's metrics), saved with ``card get`` and rendered in Chromium. No
view lists or compares runs: the Metaflow UI is a separate service (metadata service and a
database), and the local ``card server`` listens on every interface with no option to bind
127.0.0.1 (read from Metaflow's code below), so it is not started. Hence ``partial`` at best.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from mlops_compare.runners.checks import ui as screenshot
from mlops_compare.runners.checks.operations import metrics_shown, page_text
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.metaflow.flows import FLOW, FLOW_FILE, MetaflowFlows

SIZE = (1280, 1400)  # tall enough for the card's Artifacts section


class UiCheck(MetaflowFlows):
    def ui(self, ctx: Context) -> Outcome:
        from metaflow.plugins.cards import card_server

        if screenshot.find() is None:
            return Outcome("skip", f"no headless browser to look at the card with: {screenshot.INSTALL}")
        end = self._run(self.grid_run)["end"].task
        pathspec = f"{self.grid_run}/end/{end.id}"
        flow = [sys.executable, FLOW_FILE, "--no-pylint", "card"]
        ctx.run([*flow, "create", pathspec, "--type", "default"])
        html = ctx.workspace / "ui" / "metaflow-card.html"
        html.parent.mkdir(exist_ok=True)
        ctx.run([*flow, "get", pathspec, str(html)])
        png = ctx.workspace / "ui" / "metaflow-card.png"
        text = page_text(screenshot.capture(ctx, html.as_uri(), png, SIZE))
        shown, missing = metrics_shown(self.logged, text)
        all_interfaces = '("", port)' in inspect.getsource(card_server.create_card_server)
        numbers: dict[str, Any] = {
            "runs_listed": int(f"{FLOW}/{self.grid_run}" in text),
            "points_shown": shown,
            "points": len(self.logged),
            "card_bytes": html.stat().st_size,
            "screenshot": str(png.relative_to(ctx.workspace)),
            "server_binds_all_interfaces": int(all_interfaces),
        }
        evidence = (
            f"`python flow.py card create {pathspec} --type default` then `card get` wrote "
            f"{html.relative_to(ctx.workspace)} ({numbers['card_bytes'] / 1e6:.1f} MB, scripts inline); rendered in "
            f"Chromium it names run {FLOW}/{self.grid_run} and shows the metrics of {shown} of {len(self.logged)} "
            f"point(s) (the join's results artifact); screenshot {numbers['screenshot']}. A card shows one task: "
            "no view lists or compares runs (the Metaflow UI is a separate service with a database); the local "
            + (
                "`card server` listens on every interface (no --host option), so it was not started"
                if all_interfaces
                else "`card server` was not needed"
            )
        )
        if shown < len(self.logged):  # Metaflow renders artifacts with reprlib: a dict shows 4 entries, then "..."
            evidence += f"; the default card cuts the results dict after 4 entries, so not shown: {', '.join(missing)}"
        if not shown or not numbers["runs_listed"]:
            return Outcome("fail", evidence, numbers)
        return Outcome("partial", evidence, numbers)
