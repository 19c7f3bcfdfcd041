"""The exam through Metaflow: a FlowSpec with a foreach over the grid, local datastore and metadata.

Everything Metaflow writes stays in the workspace: the datastore and the local metadata
(``.metaflow/``), the IncludeFile blobs (``data/``), the client's file cache and the
(unused) ``METAFLOW_HOME`` config folder. The flow runs as ``python flow.py run`` in a
subprocess whose log lines are streamed as they come; each finished ``train`` task is read
back through the client API (``Task(...).data``) and reported as a live metric.

Where to find what: `flows` (running the flow, the client), `runner` (setup, grid,
retrieve), `models`, `data` (data versioning and reproduce).
"""

from mlops_compare.runners.metaflow.runner import MetaflowRunner

__all__ = ["MetaflowRunner"]
