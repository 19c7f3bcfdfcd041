"""DVC's `ui` check: DVC's own reports of the experiments, `dvc exp show` and `dvc plots diff`.

DVC has no UI of its own on the machine (the graphical ones are the VS Code extension and
the hosted Studio). Its reports: ``dvc exp show`` (a table of every experiment with params
and metrics; ``--md`` writes it as markdown) and ``dvc plots diff`` (an HTML page of
vega-lite charts of plot files across revisions). The check writes both into ``ui/``, looks
for the grid's experiments and their metrics in the table, and for the experiments in the
chart; the screenshot is of the table as a browser shows the file. A table that lists every
run with its metrics but no chart of them is ``partial``.
"""

from __future__ import annotations

import re

from mlops_compare.runners.checks import ui as screenshot
from mlops_compare.runners.checks.operations import metrics_shown, page_text
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.dvc.repo import DvcRepo, _tool_env


class UiCheck(DvcRepo):
    def ui(self, ctx: Context) -> Outcome:
        if screenshot.find() is None:
            return Outcome("skip", f"no headless browser to look at DVC's reports with: {screenshot.INSTALL}")
        folder = ctx.workspace / "ui"
        folder.mkdir(exist_ok=True)
        grid = self.experiments  # point key -> the grid's experiment, as `retrieve` read it
        # `dvc exp show` shows the experiments of one commit (HEAD by default): the grid's is older
        baseline = next((exp["baseline"] for exp in grid.values() if exp.get("baseline")), "HEAD")
        table = folder / "dvc-exp-show.md"
        table.write_text(self._dvc_capture(ctx, "exp", "show", "--md", "--rev", baseline))
        rows = {line for line in table.read_text().splitlines() if line.startswith("|")}
        listed = {key: row for key, exp in grid.items() for row in rows if f"[{exp['name']}]" in row}
        shown = sum(metrics_shown({key: grid[key]["metrics"]}, row)[0] for key, row in listed.items())

        plots = folder / "dvc_plots"
        names = [exp["name"] for exp in grid.values()]
        self._dvc_capture(ctx, "plots", "diff", *names, "--targets", "metrics.json", "-o", str(plots))
        page = (plots / "index.html").read_text(errors="replace") if (plots / "index.html").is_file() else ""
        plotted = sum(name in page for name in names)
        hosts = sorted(set(re.findall(r'<script src="https?://([^/"]+)', page)))

        png = folder / "dvc-exp-show.png"
        text = page_text(screenshot.capture(ctx, table.as_uri(), png))
        seen = sum(name in text for name in names)
        n = len(ctx.points)
        numbers = {
            "runs": n,
            "runs_listed": len(listed),
            "points_shown": shown,
            "runs_in_screenshot": seen,
            "runs_plotted": plotted,
            "screenshot": str(png.relative_to(ctx.workspace)),
        }
        evidence = (
            f"`dvc exp show --md --rev <the grid's commit>` ({table.relative_to(ctx.workspace)}) lists {len(listed)} of {n} grid experiments "
            f"with rmse, mae and r2 for {shown} (5 significant digits), {seen} of them readable in the browser's "
            f"screenshot {numbers['screenshot']}; `dvc plots diff <experiments> --targets metrics.json` drew "
            f"{plotted} of them (plots need a file of records, not one dict of scalar metrics)"
            + (f" and its page loads its chart library from {', '.join(hosts)}" if hosts else "")
            + "; no UI on the machine: the graphical ones are the VS Code extension and the hosted Studio"
        )
        if len(listed) < n or shown < n:
            return Outcome("fail", evidence, numbers)
        return Outcome("pass" if plotted == n else "partial", evidence, numbers)

    def _dvc_capture(self, ctx: Context, *args: str) -> str:
        return ctx.run(["dvc", *args], env=_tool_env(), output="capture", timeout=120)
