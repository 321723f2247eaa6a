"""Referral abuse signals (SPEC §4.2): a table of suspicious inviters with reasons and counts.

Signals per inviter, all vectorised:

- ``max_burst`` — the largest number of accepted invitees of one inviter whose ``invited_at``
  fall within ``burst_minutes`` (default 30; sliding window, searchsorted on (inviter, time) keys);
  signal ``burst`` when ``max_burst >= burst_size``;
- ``shared_identity`` — invitees that are the same person (OneID ``person_id``) as their
  inviter, or as another invitee of the same inviter (shared device/phone/unionid); signal
  when ``>= min_shared``;
- ``inactive_invitees`` — invitees with no activity after signup (``activity`` frame, e.g.
  ``growthlab.data.referral.user_activity``); signal ``inactive`` when the inviter has at least
  ``min_invitees`` invitees and the inactive share is ``>= inactive_share``;
- ``self_referral`` / ``cycle`` — rows of that inviter quarantined by
  :func:`growthlab.referral.clean_referrals`.

``fraud_like`` = at least ``min_signals`` of the behavioural signals (burst, shared identity,
inactive); ``suspicious`` = fraud_like or any self-referral / cycle row. Thresholds are
parameters; defaults follow common incentive-abuse heuristics (Kavanagh & Stephens style rules
used in referral-program fraud screening: velocity, device linkage, dormant accounts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from growthlab.errors import AnalysisInputError
from growthlab.referral import CleanReferrals, Forest, forest

SIGNALS = ("burst", "shared_identity", "inactive", "self_referral", "cycle")


def max_burst(edges: pd.DataFrame, burst_minutes: float = 10) -> pd.Series:
    """Largest number of invitations by one inviter inside any ``burst_minutes`` window.

    For edge i (sorted by inviter, time), n_i = #{j of the same inviter: t_i − w ≤ t_j ≤ t_i};
    max_burst = max_i n_i per inviter. Index ``inviter_id``.
    """
    if len(edges) == 0:
        return pd.Series(dtype=np.int64, name="max_burst")
    e = edges[["inviter_id", "invited_at"]].sort_values(
        ["inviter_id", "invited_at"], kind="mergesort"
    )
    codes, uniq = pd.factorize(e["inviter_id"], sort=False)
    t = pd.to_datetime(e["invited_at"]).to_numpy(dtype="datetime64[s]").astype(np.int64)
    t = t - t.min()
    w = int(round(burst_minutes * 60))
    span = int(t.max()) + w + 1
    key = codes.astype(np.int64) * span + t
    j = np.searchsorted(key, key - w, side="left")
    n_in = np.arange(key.size) - j + 1
    best = np.zeros(len(uniq), dtype=np.int64)
    np.maximum.at(best, codes, n_in)
    return pd.Series(best, index=pd.Index(uniq, name="inviter_id"), name="max_burst")


def _max_burst_codes(par: np.ndarray, invited_at: pd.Series, burst_minutes: float, n: int):
    """max_burst per node from integer inviter codes (see :func:`max_burst`)."""
    best = np.zeros(n, dtype=np.int64)
    if par.size == 0:
        return best
    t = pd.to_datetime(invited_at).to_numpy(dtype="datetime64[s]").astype(np.int64)
    t = t - t.min()
    w = int(round(burst_minutes * 60))
    span = int(t.max()) + w + 1
    key = np.sort(par.astype(np.int64) * span + t)
    j = np.searchsorted(key, key - w, side="left")
    np.maximum.at(best, key // span, np.arange(key.size) - j + 1)
    return best


def suspicious_inviters(
    referrals: pd.DataFrame | CleanReferrals | Forest,
    persons: pd.DataFrame | None = None,
    activity: pd.DataFrame | None = None,
    *,
    burst_minutes: float = 30,
    burst_size: int = 5,
    min_shared: int = 2,
    min_invitees: int = 3,
    inactive_share: float = 0.8,
    min_signals: int = 2,
    only_flagged: bool = True,
) -> pd.DataFrame:
    """Per inviter: invitees, max_burst, shared_identity, inactive_invitees, self_referral, cycle,
    the boolean signals, ``signals`` (count), ``fraud_like``, ``suspicious`` and ``reasons``.

    ``persons``: ``user_id, person_id`` (OneID); ``activity``: ``user_id`` and ``active``
    (bool) or ``activity`` (count after signup; 0 = inactive). Users absent from ``activity``
    are treated as inactive. Either frame may be None (that signal is then not evaluated).
    Sorted by signals, then invitees, descending; ``only_flagged`` keeps suspicious rows.
    """
    f = referrals if isinstance(referrals, Forest) else forest(referrals)
    edges, quarantined = f.edges, f.quarantined
    ids = pd.Index(f.nodes["user_id"])
    n = len(ids)
    par, child = f.edge_parent, f.edge_child
    invitees = np.bincount(par, minlength=n)
    burst = _max_burst_codes(par, edges["invited_at"], burst_minutes, n)

    shared = np.zeros(n, dtype=np.int64)
    if persons is not None:
        if not {"user_id", "person_id"} <= set(persons.columns):
            raise AnalysisInputError("persons: needs columns user_id and person_id")
        pos = ids.get_indexer(persons["user_id"].astype(str))
        pc, _ = pd.factorize(persons["person_id"].astype(str))
        pcode = np.full(n, -1, dtype=np.int64)
        pcode[pos[pos >= 0]] = pc[pos >= 0]
        p_inv, p_ee = pcode[par], pcode[child]
        same_as_inviter = (p_ee >= 0) & (p_inv == p_ee)
        # twins: two invitees of the same inviter that are one person
        key = par * (int(pcode.max()) + 2) + p_ee
        _, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
        twin = (p_ee >= 0) & (cnt[inv] > 1)
        shared = np.bincount(par, weights=same_as_inviter | twin, minlength=n).astype(np.int64)

    inactive = np.zeros(n, dtype=np.int64)
    if activity is not None:
        if "user_id" not in activity.columns or not (
            "active" in activity.columns or "activity" in activity.columns
        ):
            raise AnalysisInputError("activity: needs user_id and active (bool) or activity")
        col = "active" if "active" in activity.columns else "activity"
        pos = ids.get_indexer(activity["user_id"].astype(str))
        active = np.zeros(n, dtype=bool)
        vals = activity[col].fillna(0).to_numpy(dtype=float) > 0
        active[pos[pos >= 0]] = vals[pos >= 0]
        inactive = np.bincount(par, weights=~active[child], minlength=n).astype(np.int64)

    rows = np.flatnonzero(invitees > 0)
    out = pd.DataFrame(
        {
            "invitees": invitees[rows],
            "max_burst": burst[rows],
            "shared_identity": shared[rows],
            "inactive_invitees": inactive[rows],
        },
        index=pd.Index(ids[rows], name="inviter_id"),
    )

    q = quarantined
    extra: dict[str, pd.Series] = {}
    for rule in ("self_referral", "cycle"):
        cnt = q.loc[q["reason"] == rule].groupby("inviter_id").size() if len(q) else None
        extra[rule] = cnt if cnt is not None else pd.Series(dtype=np.int64)
    # inviters known only from quarantined rows get their own (small) set of rows
    q_ids = pd.Index(extra["self_referral"].index).union(pd.Index(extra["cycle"].index))
    new_ids = q_ids[out.index.get_indexer(q_ids) < 0]
    if len(new_ids):
        add = pd.DataFrame(0, index=pd.Index(new_ids, name="inviter_id"), columns=out.columns)
        out = pd.concat([out, add])
    for rule, cnt in extra.items():
        col = np.zeros(len(out), dtype=np.int64)
        if len(cnt):
            pos = out.index.get_indexer(cnt.index)
            col[pos] = cnt.to_numpy()
        out[rule] = col
    int_cols = ["invitees", "max_burst", "shared_identity", "inactive_invitees", *SIGNALS[3:]]
    out[int_cols] = out[int_cols].astype(np.int64)

    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(out["invitees"] > 0, out["inactive_invitees"] / out["invitees"], 0.0)
    flags = pd.DataFrame(
        {
            "burst": out["max_burst"] >= burst_size,
            "shared_identity": out["shared_identity"] >= min_shared,
            "inactive": (activity is not None)
            & (out["invitees"] >= min_invitees)
            & (share >= inactive_share),
            "self_referral": out["self_referral"] > 0,
            "cycle": out["cycle"] > 0,
        },
        index=out.index,
    )
    behaviour = flags[["burst", "shared_identity", "inactive"]].sum(axis=1)
    out["signals"] = flags.sum(axis=1).astype(np.int64)
    out["fraud_like"] = behaviour >= min_signals
    out["suspicious"] = out["fraud_like"] | flags["self_referral"] | flags["cycle"]
    labels = {
        "burst": ("burst (", f" within {burst_minutes:g} min)", "max_burst"),
        "shared_identity": ("shared identity (", " invitees)", "shared_identity"),
        "inactive": ("inactive invitees (", ")", "inactive_invitees"),
        "self_referral": ("self-referral (", ")", "self_referral"),
        "cycle": ("referral cycle (", ")", "cycle"),
    }
    # reasons string, only for rows with a signal: one vectorised string op per signal
    any_sig = flags.any(axis=1).to_numpy()
    sub, fl = out.loc[any_sig], flags.loc[any_sig]
    reasons = pd.Series("", index=sub.index, dtype=object)
    for sig in SIGNALS:
        pre, post, col = labels[sig]
        text = pre + sub[col].astype(str) + post
        sep = np.where(reasons == "", "", "; ")
        reasons = reasons.where(~fl[sig], reasons + sep + text)
    all_reasons = np.full(len(out), "", dtype=object)
    all_reasons[any_sig] = reasons.to_numpy(dtype=object)
    out["reasons"] = all_reasons
    out = out.rename_axis("inviter_id").reset_index()
    if only_flagged:
        out = out.loc[out["suspicious"]]
    return out.sort_values(
        ["signals", "invitees", "inviter_id"], ascending=[False, False, True], kind="mergesort"
    ).reset_index(drop=True)


def precision_recall(flagged, truth) -> tuple[float, float]:
    """Precision and recall of a flagged id set against a true id set."""
    f, t = set(map(str, flagged)), set(map(str, truth))
    tp = len(f & t)
    precision = tp / len(f) if f else float("nan")
    recall = tp / len(t) if t else float("nan")
    return precision, recall
