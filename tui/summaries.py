"""The scored summary the TUI shows: the same call as `mlops-compare score`, plus a quick first cut.

`summary` is `summary.summarize` (expert or measured ratings as the profile says, with
P(first)). `quick_summary` is the same without the Monte-Carlo P(first), which needs
numpy: it lets the first frame show scores and ranks while numpy is still loading.
"""

from __future__ import annotations

from mlops_compare.criteria import Criteria, Profile
from mlops_compare.summary import Summary


def summary(criteria: Criteria, profile: Profile, evidence=None) -> Summary:
    from mlops_compare.summary import summarize

    return summarize(criteria, profile, evidence)


def quick_summary(criteria: Criteria, profile: Profile, evidence=None) -> Summary:
    """Scores, ranks and flips as `summary` gives them; P(first) left empty (shown as pending)."""
    from mlops_compare.summary import summarize

    return summarize(criteria, profile, evidence, with_p_first=False)
