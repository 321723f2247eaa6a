"""The referral graph rules of the data contract (SPEC §3), written once for every layer.

An invitation is a row ``inviter_id → invitee_id`` at ``invited_at``. It is *accepted* unless
one of these rules excludes it, applied in this order:

1. ``self_referral`` — ``inviter_id == invitee_id``;
2. ``inviter_conflict`` — an invitee has one accepted inviter. Among the invitee's remaining
   rows the winner is the row with

   a. the earliest ``invited_at`` (a missing time counts as latest), then
   b. the smallest ``inviter_id`` compared as text (Unicode code points: ``"u10" < "u9"``), then
   c. the lowest row number (the row's position in the source);

   every other row of that invitee — another inviter, or the same inviter again — is an
   ``inviter_conflict``. The tie-break looks at the content before the position, so the same
   invitations give the same forest whatever order the export put them in (multi-file sources,
   Parquet and DuckDB tables have no meaningful row order); the row number only decides
   between copies of one invitation (same inviter, invitee and time);
3. ``cycle`` — after rule 2 every user has at most one inviter, so the graph invitee → inviter
   is functional and each of its components holds at most one cycle. Every accepted row whose
   invitee lies on a directed cycle is excluded, so the cycle's members become seeds; users
   hanging below a cycle keep their inviter.

:func:`graph_rules` applies them; the validator (``growthlab.data.validate``, rows quarantined
at load time) and the analysis of raw frames (``growthlab.referral.clean_referrals``) both call
it, so a loaded dataset and a raw frame accept the same invitations.

This module imports nothing from growthlab, so every layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Rule names in the order they are applied; the reason codes below index this tuple + 1.
RULES = ("self_referral", "inviter_conflict", "cycle")
ACCEPTED, SELF_REFERRAL, INVITER_CONFLICT, CYCLE = 0, 1, 2, 3


@dataclass(frozen=True)
class GraphRules:
    """Result of :func:`graph_rules` for m input rows.

    ``reason[i]`` is :data:`ACCEPTED` (0) or the code of the rule that excludes row i
    (:data:`SELF_REFERRAL`, :data:`INVITER_CONFLICT`, :data:`CYCLE`); ``ids`` are the distinct
    user ids and ``inviter_code``/``invitee_code`` the position of each row's ids in ``ids``
    (so callers can build the forest on integers without factorising again).
    """

    reason: np.ndarray
    ids: pd.Index
    inviter_code: np.ndarray
    invitee_code: np.ndarray

    def rule_names(self) -> np.ndarray:
        """The rule name of every row ('' when accepted)."""
        return np.array(("", *RULES), dtype=object)[self.reason]


def cycle_nodes(parent: np.ndarray) -> np.ndarray:
    """Boolean mask of the nodes on a directed cycle of the functional graph ``i → parent[i]``.

    Roots (``parent == -1``) map to themselves. After M ≥ n steps every node has reached either
    a root (a fixed point) or a cycle, and f^M maps the cycle nodes onto themselves (f is a
    bijection on a cycle), so the image of f^M minus the fixed points is exactly the set of
    cycle nodes. f^(2^k) is built by repeated squaring, k = ⌈log2 n⌉ + 1: O(n log n).
    """
    n = parent.size
    idx = np.arange(n)
    f = np.where(parent >= 0, parent, idx)
    g = f.copy()
    for _ in range(int(np.ceil(np.log2(max(n, 2)))) + 1):
        g = g[g]
    on = np.zeros(n, dtype=bool)
    on[g] = True
    on &= f != idx  # fixed points are roots, not cycles
    return on


def _sortable_times(invited_at) -> np.ndarray:
    """Naive (UTC) times as int64 nanoseconds; missing times sort last."""
    t = pd.to_datetime(pd.Series(invited_at).reset_index(drop=True))
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    ns = t.to_numpy(dtype="datetime64[ns]")
    return np.where(np.isnat(ns), np.iinfo(np.int64).max, ns.view(np.int64))


def graph_rules(inviter, invitee, invited_at, row=None) -> GraphRules:
    """Apply the referral graph rules (module docstring) to m invitation rows.

    ``inviter``/``invitee``: ids (any values; compared as text), ``invited_at``: timestamps,
    ``row``: the row numbers used by tie-break (c) (default: the position, 0..m−1). Vectorised:
    one factorisation of the ids, one sort of the rows of invitees with several rows, pointer
    jumping for the cycles.
    """
    inviter = pd.Series(inviter).astype(str).to_numpy(dtype=object)
    invitee = pd.Series(invitee).astype(str).to_numpy(dtype=object)
    m = inviter.size
    if invitee.size != m:
        raise ValueError("graph_rules: inviter and invitee must have the same length")
    t = _sortable_times(invited_at)
    pos = np.arange(m, dtype=np.int64) if row is None else np.asarray(row, dtype=np.int64)
    codes, uniques = pd.factorize(np.concatenate([invitee, inviter]))
    ee, inv = codes[:m].astype(np.int64), codes[m:].astype(np.int64)
    n = len(uniques)
    reason = np.zeros(m, dtype=np.int8)
    reason[ee == inv] = SELF_REFERRAL

    # rule 2: only rows of invitees with several live rows need ordering
    live = np.flatnonzero(reason == ACCEPTED)
    multi = live[np.bincount(ee[live], minlength=n)[ee[live]] > 1]
    if multi.size:
        name_rank = pd.factorize(inviter[multi], sort=True)[0]  # text order of the inviter ids
        order = multi[np.lexsort((pos[multi], name_rank, t[multi], ee[multi]))]
        first = np.ones(order.size, dtype=bool)
        first[1:] = ee[order][1:] != ee[order][:-1]
        reason[order[~first]] = INVITER_CONFLICT

    # rule 3: cycles of the functional graph invitee -> inviter
    kept = np.flatnonzero(reason == ACCEPTED)
    parent = np.full(n, -1, dtype=np.int64)
    parent[ee[kept]] = inv[kept]
    reason[kept[cycle_nodes(parent)[ee[kept]]]] = CYCLE
    return GraphRules(reason, pd.Index(uniques), inv, ee)


__all__ = [
    "ACCEPTED",
    "CYCLE",
    "INVITER_CONFLICT",
    "RULES",
    "SELF_REFERRAL",
    "GraphRules",
    "cycle_nodes",
    "graph_rules",
]
