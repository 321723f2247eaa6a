"""Referral abuse signals (SPEC §4.2): a table of suspicious inviters with reasons and counts.

Signals per inviter, all vectorised, each computed by one named step:

- ``max_burst`` (:func:`max_burst`, the one burst rule) — the largest number of accepted
  invitees of one inviter whose ``invited_at`` fall within ``burst_minutes`` (default
  :data:`BURST_MINUTES` = 30; sliding window, searchsorted on (inviter, time) keys); signal
  ``burst`` when ``max_burst >= burst_size`` (default :data:`BURST_SIZE` = 5);
- ``shared_identity`` (:func:`shared_identity_counts`) — invitees that are the same person
  (OneID ``person_id``) as their inviter, or as another invitee of the same inviter (shared
  device/phone/unionid); signal when ``>= min_shared``;
- ``inactive_invitees`` (:func:`inactive_invitee_counts`) — invitees with no activity after
  signup (``activity`` frame, e.g. ``growthlab.data.referral.user_activity``); signal
  ``inactive`` when the inviter has at least ``min_invitees`` invitees and the inactive share
  is ``>= inactive_share``;
- ``self_referral`` / ``cycle`` — rows of that inviter quarantined by
  :func:`growthlab.referral.clean_referrals` (on a loaded dataset the loader has already
  removed them, so these are 0 there: the data-quality page counts them).

``fraud_like`` = at least ``min_signals`` of the behavioural signals (burst, shared identity,
inactive); ``suspicious`` = fraud_like or any self-referral / cycle row. Thresholds are
parameters; defaults follow common incentive-abuse heuristics used in referral-programme fraud
screening (velocity, device linkage, dormant accounts).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from growthlab import i18n
from growthlab.errors import AnalysisInputError
from growthlab.referral import CleanReferrals, Forest, forest

SIGNALS = ("burst", "shared_identity", "inactive", "self_referral", "cycle")
BEHAVIOUR_SIGNALS = SIGNALS[:3]

#: Burst rule defaults: ``BURST_SIZE`` or more accepted invitees of one inviter within
#: ``BURST_MINUTES`` minutes (the notebook parameters ``burst_minutes``/``burst_size``).
BURST_MINUTES = 30.0
BURST_SIZE = 5
#: Other thresholds: shared-identity invitees, invitees needed to judge inactivity, the
#: inactive share, and the behavioural signals that make an inviter fraud-like.
MIN_SHARED = 2
MIN_INVITEES = 3
INACTIVE_SHARE = 0.8
MIN_SIGNALS = 2


# --------------------------------------------------------------------------------------------
# signals, one step each
# --------------------------------------------------------------------------------------------
def _burst_counts(
    inviter_code: np.ndarray, invited_at, n: int, burst_minutes: float = BURST_MINUTES
) -> np.ndarray:
    """The one burst computation: max_burst per inviter code 0..n−1.

    For edge i (sorted by inviter, time), n_i = #{j of the same inviter: t_i − w ≤ t_j ≤ t_i};
    max_burst = max_i n_i per inviter (0 for codes without edges). Times are compared in whole
    seconds; w = round(60 · burst_minutes) seconds.
    """
    best = np.zeros(n, dtype=np.int64)
    if inviter_code.size == 0:
        return best
    t = pd.to_datetime(pd.Series(invited_at)).to_numpy(dtype="datetime64[s]").astype(np.int64)
    t = t - t.min()
    w = int(round(burst_minutes * 60))
    span = int(t.max()) + w + 1
    key = np.sort(inviter_code.astype(np.int64) * span + t)
    j = np.searchsorted(key, key - w, side="left")
    np.maximum.at(best, key // span, np.arange(key.size) - j + 1)
    return best


def max_burst(edges: pd.DataFrame, burst_minutes: float = BURST_MINUTES) -> pd.Series:
    """Largest number of invitations by one inviter inside any ``burst_minutes`` window.

    ``edges``: ``inviter_id, invited_at`` (one row per invitation). Index ``inviter_id``
    (order of first appearance), name ``max_burst``; see :func:`_burst_counts`.
    """
    if len(edges) == 0:
        return pd.Series(dtype=np.int64, name="max_burst")
    codes, uniq = pd.factorize(edges["inviter_id"], sort=False)
    best = _burst_counts(codes, edges["invited_at"], len(uniq), burst_minutes)
    return pd.Series(best, index=pd.Index(uniq, name="inviter_id"), name="max_burst")


def shared_identity_counts(f: Forest, persons: pd.DataFrame) -> np.ndarray:
    """Per forest node: invitees that are one person with their inviter or with a co-invitee.

    ``persons``: ``user_id, person_id`` (OneID). An invitee counts once even when both hold.
    """
    if not {"user_id", "person_id"} <= set(persons.columns):
        raise AnalysisInputError("persons: needs columns user_id and person_id")
    ids = pd.Index(f.nodes["user_id"])
    n, par, child = len(ids), f.edge_parent, f.edge_child
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
    return np.bincount(par, weights=same_as_inviter | twin, minlength=n).astype(np.int64)


def inactive_invitee_counts(f: Forest, activity: pd.DataFrame) -> np.ndarray:
    """Per forest node: invitees with no activity after signup.

    ``activity``: ``user_id`` and ``active`` (bool) or ``activity`` (count; 0 = inactive);
    invitees absent from it count as inactive.
    """
    if "user_id" not in activity.columns or not (
        "active" in activity.columns or "activity" in activity.columns
    ):
        raise AnalysisInputError("activity: needs user_id and active (bool) or activity")
    ids = pd.Index(f.nodes["user_id"])
    col = "active" if "active" in activity.columns else "activity"
    pos = ids.get_indexer(activity["user_id"].astype(str))
    active = np.zeros(len(ids), dtype=bool)
    vals = activity[col].fillna(0).to_numpy(dtype=float) > 0
    active[pos[pos >= 0]] = vals[pos >= 0]
    inactive = np.bincount(f.edge_parent, weights=~active[f.edge_child], minlength=len(ids))
    return inactive.astype(np.int64)


def _quarantined_counts(quarantined: pd.DataFrame, rule: str) -> pd.Series:
    """Quarantined rows of ``rule`` per inviter (index inviter_id)."""
    if not len(quarantined):
        return pd.Series(dtype=np.int64)
    return quarantined.loc[quarantined["reason"] == rule].groupby("inviter_id").size()


def signal_counts(
    f: Forest,
    persons: pd.DataFrame | None = None,
    activity: pd.DataFrame | None = None,
    burst_minutes: float = BURST_MINUTES,
) -> pd.DataFrame:
    """Per inviter (index ``inviter_id``): ``invitees, max_burst, shared_identity,
    inactive_invitees, self_referral, cycle`` (integers; a signal not evaluated is 0).

    Rows: every user with an accepted invitee, plus inviters known only from quarantined
    self-referral / cycle rows.
    """
    ids = pd.Index(f.nodes["user_id"])
    n = len(ids)
    invitees = np.bincount(f.edge_parent, minlength=n)
    zeros = np.zeros(n, dtype=np.int64)
    cols = {
        "invitees": invitees,
        "max_burst": _burst_counts(f.edge_parent, f.edges["invited_at"], n, burst_minutes),
        "shared_identity": zeros if persons is None else shared_identity_counts(f, persons),
        "inactive_invitees": zeros if activity is None else inactive_invitee_counts(f, activity),
    }
    rows = np.flatnonzero(invitees > 0)
    out = pd.DataFrame(
        {k: v[rows] for k, v in cols.items()}, index=pd.Index(ids[rows], name="inviter_id")
    )
    extra = {rule: _quarantined_counts(f.quarantined, rule) for rule in SIGNALS[3:]}
    q_ids = pd.Index(extra["self_referral"].index).union(pd.Index(extra["cycle"].index))
    new_ids = q_ids[out.index.get_indexer(q_ids) < 0]
    if len(new_ids):
        add = pd.DataFrame(0, index=pd.Index(new_ids, name="inviter_id"), columns=out.columns)
        out = pd.concat([out, add])
    for rule, cnt in extra.items():
        out[rule] = cnt.reindex(out.index).fillna(0).to_numpy(dtype=np.int64)
    return out.astype(np.int64)


def signal_flags(
    counts: pd.DataFrame,
    *,
    burst_size: int = BURST_SIZE,
    min_shared: int = MIN_SHARED,
    min_invitees: int = MIN_INVITEES,
    inactive_share: float = INACTIVE_SHARE,
    activity_known: bool = True,
) -> pd.DataFrame:
    """The boolean signals of :data:`SIGNALS` from :func:`signal_counts` (same index).

    burst: max_burst ≥ burst_size; shared_identity: ≥ min_shared; inactive: activity known,
    invitees ≥ min_invitees and inactive_invitees / invitees ≥ inactive_share;
    self_referral, cycle: any quarantined row.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(
            counts["invitees"] > 0, counts["inactive_invitees"] / counts["invitees"], 0.0
        )
    return pd.DataFrame(
        {
            "burst": counts["max_burst"] >= burst_size,
            "shared_identity": counts["shared_identity"] >= min_shared,
            "inactive": activity_known
            & (counts["invitees"] >= min_invitees)
            & (share >= inactive_share),
            "self_referral": counts["self_referral"] > 0,
            "cycle": counts["cycle"] > 0,
        },
        index=counts.index,
    )


_REASON_COUNT = {
    "burst": "max_burst",
    "shared_identity": "shared_identity",
    "inactive": "inactive_invitees",
    "self_referral": "self_referral",
    "cycle": "cycle",
}


def reasons(
    counts: pd.DataFrame,
    flags: pd.DataFrame,
    burst_minutes: float = BURST_MINUTES,
    lang: str = "en",
) -> np.ndarray:
    """The reasons of each row as text in ``lang``: the raised signals with their counts,
    e.g. "burst (6 within 30 min); shared identity (6 invitees)" (texts ``abuse.<signal>`` of
    :mod:`growthlab.i18n`); '' for rows without a signal. One string operation per signal.
    """
    any_sig = flags.any(axis=1).to_numpy()
    sub, fl = counts.loc[any_sig], flags.loc[any_sig]
    sep = i18n.t("abuse.separator", lang)
    text = pd.Series("", index=sub.index, dtype=object)
    for sig in SIGNALS:
        pre, post = i18n.t(f"abuse.{sig}", lang, n="\0", minutes=f"{burst_minutes:g}").split("\0")
        part = pre + sub[_REASON_COUNT[sig]].astype(str) + post
        joined = text + np.where(text == "", "", sep) + part
        text = text.where(~fl[sig], joined)
    out = np.full(len(counts), "", dtype=object)
    out[any_sig] = text.to_numpy(dtype=object)
    return out


def suspicious_inviters(
    referrals: pd.DataFrame | CleanReferrals | Forest,
    persons: pd.DataFrame | None = None,
    activity: pd.DataFrame | None = None,
    burst_minutes: float = BURST_MINUTES,
    burst_size: int = BURST_SIZE,
    inactive_share: float = INACTIVE_SHARE,
    *,
    min_shared: int = MIN_SHARED,
    min_invitees: int = MIN_INVITEES,
    min_signals: int = MIN_SIGNALS,
    only_flagged: bool = True,
    lang: str = "en",
) -> pd.DataFrame:
    """Per inviter: invitees, max_burst, shared_identity, inactive_invitees, self_referral,
    cycle (:func:`signal_counts`), ``signals`` (number of raised :func:`signal_flags`),
    ``fraud_like``, ``suspicious`` and ``reasons`` (:func:`reasons`, in ``lang``).

    ``persons``: ``user_id, person_id`` (OneID); ``activity``: ``user_id`` and ``active``
    (bool) or ``activity`` (count after signup; 0 = inactive). Users absent from ``activity``
    are treated as inactive. Either frame may be None (that signal is then not evaluated).
    Sorted by signals, then invitees, descending, then inviter_id; ``only_flagged`` keeps the
    suspicious rows.
    """
    f = referrals if isinstance(referrals, Forest) else forest(referrals)
    out = signal_counts(f, persons, activity, burst_minutes)
    flags = signal_flags(
        out,
        burst_size=burst_size,
        min_shared=min_shared,
        min_invitees=min_invitees,
        inactive_share=inactive_share,
        activity_known=activity is not None,
    )
    out["signals"] = flags.sum(axis=1).astype(np.int64)
    out["fraud_like"] = flags[list(BEHAVIOUR_SIGNALS)].sum(axis=1) >= min_signals
    out["suspicious"] = out["fraud_like"] | flags["self_referral"] | flags["cycle"]
    out["reasons"] = reasons(out, flags, burst_minutes, lang)
    out = out.rename_axis("inviter_id").reset_index()
    if only_flagged:
        out = out.loc[out["suspicious"]]
    return out.sort_values(
        ["signals", "invitees", "inviter_id"], ascending=[False, False, True], kind="mergesort"
    ).reset_index(drop=True)


def fraud_like_summary(table: pd.DataFrame, referred_users: int) -> dict[str, float]:
    """Counts behind the abuse section, from :func:`suspicious_inviters`.

    ``suspicious`` (rows flagged), ``fraud_like`` (inviters), ``fraud_like_invitees``
    (their accepted invitees) and ``fraud_like_invitees_share`` = fraud_like_invitees /
    referred_users (0 when there are no referred users).
    """
    fraud = table.loc[table["fraud_like"]]
    n_inv = int(fraud["invitees"].sum())
    return {
        "suspicious": int(table["suspicious"].sum()),
        "fraud_like": len(fraud),
        "fraud_like_invitees": n_inv,
        "fraud_like_invitees_share": n_inv / referred_users if referred_users else 0.0,
    }


def top_suspicious(
    table: pd.DataFrame, n: int, pseudonymise: Callable[[pd.Series], pd.Series]
) -> pd.DataFrame:
    """The first ``n`` suspicious inviters for display: ``inviter`` (pseudonym), invitees,
    max_burst, shared_identity, inactive_invitees, reasons."""
    top = table.head(n)
    return pd.DataFrame(
        {
            "inviter": pseudonymise(top["inviter_id"]).to_numpy(),
            **{
                c: top[c].to_numpy()
                for c in ("invitees", "max_burst", "shared_identity", "inactive_invitees")
            },
            "reasons": top["reasons"].to_numpy(),
        }
    )


def precision_recall(flagged, truth) -> tuple[float, float]:
    """Precision and recall of a flagged id set against a true id set."""
    f, t = set(map(str, flagged)), set(map(str, truth))
    tp = len(f & t)
    precision = tp / len(f) if f else float("nan")
    recall = tp / len(t) if t else float("nan")
    return precision, recall
