"""MLflow's `ui` check: the tracking UI that `mlflow server` serves, on 127.0.0.1.

The runner's server (`MlflowTracking.tracking_server`, the one `retrieve` started) serves
the UI and the API the UI's pages call (``/ajax-api/2.0/mlflow/runs/search``). The check asks
that API for the exam's runs, then opens the UI's compare view of the grid runs (what
"Compare" on the runs table opens: a parallel-coordinates plot, params and metrics side by
side) in headless Chromium, and looks for every run's name and metrics in the page as drawn.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

from mlops_compare.runners.checks import ui as screenshot
from mlops_compare.runners.checks.operations import metrics_shown, page_text
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.mlflow.tracking import MlflowTracking, _same, started_in

SEARCH = "/ajax-api/2.0/mlflow/runs/search"
HEIGHT = 1500  # tall enough for the compare view's metrics table


def _size(runs: int) -> tuple[int, int]:
    """Wide enough for a column per run (about 200 px): the compare view draws only the columns in
    sight, next to the navigation and an assistant panel that takes about a quarter of the width."""
    return min(3840, max(1280, round((440 + 200 * runs) / 0.74))), HEIGHT


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


class UiCheck(MlflowTracking):
    def ui(self, ctx: Context) -> Outcome:
        if screenshot.find() is None:
            self.release_server(ctx, "ui")  # if retrieve kept it up for this check alone
            return Outcome("skip", f"no headless browser to look at the MLflow UI with: {screenshot.INSTALL}")
        try:
            server = self.tracking_server(ctx, "ui")
            up, up_seconds, why = server.started
            if not up:
                return Outcome("fail", f"`mlflow server` (the UI) did not come up: {why}")
            with urllib.request.urlopen(server.url + "/", timeout=30) as response:
                title = "<title>MLflow</title>" in response.read().decode(errors="replace")
            found = _post(server.url + SEARCH, {"experiment_ids": [self.experiment_id], "max_results": 1000})
            runs = {r["info"]["run_id"]: r for r in found.get("runs", [])}
            names, listed = {}, 0
            for key, run_id in self.run_ids.items():
                run = runs.get(run_id)
                if run is not None:
                    names[key] = run["info"]["run_name"]
                    metrics = {m["key"]: m["value"] for m in run["data"].get("metrics", [])}
                    listed += _same(metrics, self.logged[key])
            ids = urllib.parse.quote(json.dumps(list(self.run_ids.values())))
            experiments = urllib.parse.quote(json.dumps([self.experiment_id]))
            url = f"{server.url}/#/compare-runs?runs={ids}&experiments={experiments}"
            png = ctx.workspace / "ui" / "mlflow-ui.png"
            text = page_text(screenshot.capture(ctx, url, png, _size(len(self.run_ids))))
        finally:
            after = self.release_server(ctx, "ui")
        named = sum(name in text for name in names.values())
        shown, missing = metrics_shown(self.logged, text)
        n = len(self.run_ids)
        numbers = {
            "runs": n,
            "runs_listed": listed,
            "runs_named": named,
            "points_shown": shown,
            "server_start_seconds": round(up_seconds, 2),
            "screenshot": str(png.relative_to(ctx.workspace)),
        }
        evidence = (
            f"`mlflow server` on {server.url} served the UI ({'title MLflow' if title else 'no MLflow title'}); it "
            f"answered /health {up_seconds:.1f} s after its start{started_in(server, 'ui')}; the UI's own API "
            f"({SEARCH}) listed {listed} of {n} grid runs with the logged metrics; the compare view of the grid runs, "
            f"rendered in Chromium, names {named} of {n} runs and shows rmse, mae and r2 (rounded) of {shown}, with a "
            f"parallel-coordinates plot; screenshot {numbers['screenshot']}; server {after}"
        )
        if listed < n or named < n or shown < n:
            status = "partial" if listed == n else "fail"
            return Outcome(status, evidence + f"; missing on the page: {', '.join(missing) or 'run names'}", numbers)
        return Outcome("pass", evidence, numbers)
