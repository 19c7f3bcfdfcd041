"""grid: the alpha x l1_ratio grid through the tool.

A tool's metrics, data set and grid are read from the newest run in which this check ran
(`mlops_compare.evidence.ToolEvidence.grid_record`): the cross-tool agreement compares them.
"""

GIVES_METRICS = True
