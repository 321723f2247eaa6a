"""The per-user aggregates that several pages read, built once per validated load (issue #13).

Lifecycle stages and behavioural clusters (03), the referral abuse signals and referred-vs-
organic comparison (02), and ``growthlab lists`` each need per-user summaries of the whole
events table. Each used to derive them in its own kernel: a full pass over the events per
notebook. :func:`build` derives them once, through the same functions the pages call, when a
validated-load cache entry is written; :func:`growthlab.data.shared.persist` stores them with
the entry and every kernel that opens it reads them instead of the events.

What is built (at the Dataset's ``as_of``, with each function's default parameters, which
are the ones the shipped notebooks use):

- :func:`growthlab.data.features.user_day_stats`: last and previous active day, active days
  (lifecycle stages, and the clustering features' active days);
- :func:`growthlab.data.features.user_features_expr`: the (event, channel) mix and the
  per-user event and channel counts;
- :func:`growthlab.data.referral.user_activity_expr`: activity after signup, orders, revenue.

A page that asks with other parameters (another ``as_of``, other event types) misses the
stored tables and builds its own, with the same result as before.
"""

from __future__ import annotations

from typing import Any

from growthlab.data import features, referral

__all__ = ["build"]


def build(ds: Any) -> None:
    """Build the shared per-user tables of ``ds`` (a Dataset) in its engine (see the module
    docstring); each needs ``users`` and ``events`` or ``orders``."""
    if not ds.has("users"):
        return
    if ds.has("events") or ds.has("orders"):
        features.user_day_stats(ds)
        features.user_features_expr(ds)
        referral.user_activity_expr(ds)
