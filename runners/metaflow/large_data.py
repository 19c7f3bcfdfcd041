"""Metaflow's `large_data` check: ``IncludeFile``, the example flow, the artifact read back, at every size.

Metaflow versions data as artifacts of runs; its way to put a file into the datastore is an
``IncludeFile`` parameter, so registering is a one-step flow with only that parameter
(`DATA_FLOW`, as the docs write one). Training is the example's ``flow.py`` at one grid
point (which includes the file again: the datastore deduplicates it). Reading back is
``Run(...).data.data`` through the client, written to ``data.csv`` (`READ_BACK`). Each size
has its own local datastore in its folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlops_compare.runners.checks import large_data as scaling
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.measures import dir_size
from mlops_compare.runners.metaflow.flows import MAX_WORKERS, RUN_START, MetaflowFlows

DATA_FLOW = '''"""The data set as a Metaflow IncludeFile: stored in the datastore with the run."""
from metaflow import FlowSpec, IncludeFile, step


class DataFlow(FlowSpec):
    data = IncludeFile("data", default="data.csv", is_text=False, help="the data set, stored with the run")

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DataFlow()
'''

READ_BACK = '''"""The data set of a DataFlow run, read back through Metaflow's client and written to data.csv."""
import sys

from metaflow import Run, namespace

namespace(None)
data = Run(f"DataFlow/{sys.argv[1]}").data.data
with open("data.csv", "wb") as handle:
    handle.write(data)
print(f"read back {len(data)} bytes from DataFlow/{sys.argv[1]}")
'''


class MetaflowScale(scaling.ScaleSteps):
    label = "metaflow"
    describe = (
        "an IncludeFile parameter in a one-step flow, local datastore; the example's flow.py at one grid point; "
        "Run(...).data.data through the client, written back"
    )
    warm = ("metaflow",)

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.run_id = ""

    def prepare(self, folder: Path) -> None:
        self.copy_example("metaflow", folder)
        (folder / "data_flow.py").write_text(DATA_FLOW)
        (folder / "read_back.py").write_text(READ_BACK)

    def _measure(self, folder: Path, *args: str) -> tuple[scaling.Usage, str]:
        return self.measure([sys.executable, *args], folder, env=MetaflowFlows._environment(folder))

    def register(self, folder: Path) -> scaling.Usage:
        usage, text = self._measure(folder, "data_flow.py", "--no-pylint", "run")
        match = RUN_START.search(text)
        if not match:
            raise RuntimeError("`python data_flow.py run` printed no run id")
        self.run_id = match.group(1)
        return usage

    def train(self, folder: Path, point: dict[str, float]) -> tuple[scaling.Usage, dict[str, float]]:
        alphas, ratios = json.dumps([float(point["alpha"])]), json.dumps([float(point["l1_ratio"])])
        args = ["flow.py", "--no-pylint", "run", "--max-workers", str(MAX_WORKERS), "--alphas", alphas]
        usage, text = self._measure(folder, *args, "--l1_ratios", ratios)
        return usage, scaling.printed_metrics(text)

    def read_back(self, folder: Path) -> scaling.Usage:
        return self._measure(folder, "read_back.py", self.run_id)[0]

    def stored(self, folder: Path) -> int:
        return dir_size(folder / ".metaflow", folder / "data")


class LargeDataCheck(MetaflowFlows):
    def large_data(self, ctx: Context) -> Outcome:
        return scaling.run_check(ctx, MetaflowScale(ctx))
