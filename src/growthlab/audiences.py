"""Audiences (人群包): the people behind the report's numbers, selected by the report's own rules.

Pure selections on the results of the analyses the report pages run (frames in, frames out; no
I/O). Each list is the set of users a number of the report counts, so its size can be checked
against that number (metric ids of :mod:`growthlab.metrics`):

- :func:`top_spreaders` — the top :data:`TOP_SPREADER_FRACTION` of spreaders by direct invitees
  (:func:`growthlab.stats.top_count` rows of :func:`growthlab.referral.spreaders`, in its order),
  i.e. the spreaders whose invitees make ``top10_share``, without the fraud-like inviters among
  them (:func:`growthlab.campaigns.flagged_inviters`, metric ``fraud_like_inviters``): people to
  reward, never abuse;
- :func:`inviters_to_review` — the rows of :func:`growthlab.referral_abuse.suspicious_inviters`
  that are ``suspicious`` (metric ``suspicious_inviters``), with their signals and reasons;
- :func:`valuable_at_risk` — buyers of the value tiers :data:`growthlab.segments.VALUABLE_TIERS`
  whose lifecycle stage is at risk (:func:`growthlab.segments.in_stages`; metric
  ``valuable_buyers_at_risk``), with their predicted value and P(alive) (BG/NBD,
  :func:`growthlab.value.analyse_clv`), most valuable first;
- :func:`segment_members` — the buyers of each named RFM segment
  (:func:`growthlab.segments.rfm_summary`; metrics ``buyers``, ``champions_share``).

User ids stay raw here: these frames are for whoever acts on them. Pages never show them;
:mod:`growthlab.report.lists` writes them as owner-only files outside the reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from growthlab.campaigns import flagged_inviters
from growthlab.errors import require_columns
from growthlab.segments import RFM_SEGMENTS, VALUABLE_TIERS, idle_days, in_stages
from growthlab.stats import top_count

__all__ = [
    "TOP_SPREADER_FRACTION",
    "top_spreaders",
    "inviters_to_review",
    "valuable_at_risk",
    "segment_members",
]

#: The spreaders of metric ``top10_share`` (``referral.concentration``'s ``top_10pct``).
TOP_SPREADER_FRACTION = 0.10

_SPREADER_COLUMNS = ("user_id", "direct_invitees", "descendants", "generation", "root")
_REVIEW_COLUMNS = (
    "signals",
    "fraud_like",
    "reasons",
    "invitees",
    "max_burst",
    "shared_identity",
    "inactive_invitees",
    "self_referral",
    "cycle",
)
_RFM_COLUMNS = ("recency_days", "frequency", "monetary", "segment", "tier")


def top_spreaders(
    spreaders: pd.DataFrame,
    suspicious: pd.DataFrame,
    fraction: float = TOP_SPREADER_FRACTION,
) -> pd.DataFrame:
    """The top ``fraction`` of spreaders to reward: the first k = ⌈fraction · n⌉ rows
    (:func:`growthlab.stats.top_count`) of ``spreaders`` (:func:`growthlab.referral.spreaders`:
    n users with an accepted invitee, most direct invitees first, then most descendants), less
    the inviters flagged ``fraud_like`` in ``suspicious``
    (:func:`growthlab.referral_abuse.suspicious_inviters`).

    With the default fraction these k users bring the share ``top10_share`` of all direct
    invitees. Columns: ``user_id``, ``rank`` (1..k, the place in the spreader ranking, so the
    rows removed leave gaps), ``direct_invitees``, ``descendants``, ``generation``, ``seed_id``
    (the root of the user's cascade).
    """
    require_columns(spreaders, _SPREADER_COLUMNS, "spreaders", kind=pd.DataFrame)
    top = spreaders.head(top_count(len(spreaders), fraction))
    keep = ~top["user_id"].astype(str).isin(flagged_inviters(suspicious)).to_numpy()
    out = pd.DataFrame(
        {
            "user_id": top["user_id"].astype(str).to_numpy(),
            "rank": np.arange(1, len(top) + 1),
            "direct_invitees": top["direct_invitees"].to_numpy(dtype=np.int64),
            "descendants": top["descendants"].to_numpy(dtype=np.int64),
            "generation": top["generation"].to_numpy(dtype=np.int64),
            "seed_id": top["root"].astype(str).to_numpy(),
        }
    )
    return out.loc[keep].reset_index(drop=True)


def inviters_to_review(suspicious: pd.DataFrame) -> pd.DataFrame:
    """The suspicious inviters of ``suspicious`` (:func:`growthlab.referral_abuse.suspicious_inviters`:
    fraud-like = at least ``min_signals`` behavioural signals, or a self-referral / cycle row),
    in its order (most signals, then most invitees). Columns: ``user_id`` (the inviter),
    ``signals``, ``fraud_like``, ``reasons`` (the raised signals with their counts, in the
    language the table was made in), ``invitees``, ``max_burst``, ``shared_identity``,
    ``inactive_invitees``, ``self_referral``, ``cycle``.
    """
    require_columns(
        suspicious, ("inviter_id", "suspicious", *_REVIEW_COLUMNS), "suspicious", kind=pd.DataFrame
    )
    rows = suspicious.loc[suspicious["suspicious"].astype(bool)]
    out = rows[list(_REVIEW_COLUMNS)].copy()
    out.insert(0, "user_id", rows["inviter_id"].astype(str))
    out["fraud_like"] = out["fraud_like"].astype(bool)
    return out.reset_index(drop=True)


def valuable_at_risk(
    stages: pd.Series,
    scored: pd.DataFrame,
    *,
    last_order_at: pd.Series | None = None,
    last_active: pd.Series | None = None,
    as_of=None,
    clv: pd.DataFrame | None = None,
    tiers: Sequence[str] = VALUABLE_TIERS,
    at_risk: Sequence[str] = ("at_risk",),
) -> pd.DataFrame:
    """Buyers to win back: the buyers of ``scored`` (``RfmSummary.scored``, by user) in value
    ``tiers`` whose lifecycle stage (``stages``, by user, :func:`growthlab.segments.lifecycle_stages`)
    is in ``at_risk`` — the same test as :func:`growthlab.segments.at_risk_by_tier`, so the rows
    number :func:`growthlab.segments.valuable_at_risk` of its table.

    Columns: ``user_id``, ``tier``, ``segment``, ``recency_days`` (since the last paid order),
    ``frequency`` (purchase days), ``monetary`` (paid to date); ``last_order_at`` when given
    (by user); ``inactive_days`` = (as_of − last_active) / 1 day when ``last_active`` (by user)
    and ``as_of`` are given (:func:`growthlab.segments.idle_days`, what the stage is decided on);
    ``clv``, ``p_alive`` and ``expected_purchases`` from ``clv`` (``ClvAnalysis.clv``, by user;
    missing for buyers the model did not score). Sorted by clv (missing last), then monetary,
    both descending, then user_id.
    """
    require_columns(scored, _RFM_COLUMNS, "scored", kind=pd.DataFrame)
    mask = (
        in_stages(stages, scored.index, at_risk).to_numpy()
        & scored["tier"].astype(str).isin(list(tiers)).to_numpy()
    )
    rows = scored.loc[mask]
    out = pd.DataFrame(
        {
            "user_id": rows.index.astype(str),
            "tier": rows["tier"].astype(str).to_numpy(),
            "segment": rows["segment"].astype(str).to_numpy(),
            "recency_days": rows["recency_days"].to_numpy(dtype=float),
            "frequency": rows["frequency"].to_numpy(dtype=np.int64),
            "monetary": rows["monetary"].to_numpy(dtype=float),
        }
    )
    if last_order_at is not None:
        out["last_order_at"] = pd.Series(last_order_at).reindex(rows.index).to_numpy()
    if last_active is not None and as_of is not None:
        out["inactive_days"] = idle_days(pd.Series(last_active).reindex(rows.index), as_of)
    for c in ("clv", "p_alive", "expected_purchases"):
        if clv is not None and c in clv.columns:
            out[c] = clv[c].reindex(rows.index).to_numpy(dtype=float)
        else:
            out[c] = np.nan
    return out.sort_values(
        ["clv", "monetary", "user_id"],
        ascending=[False, False, True],
        na_position="last",
        kind="mergesort",
        ignore_index=True,
    )


def segment_members(
    scored: pd.DataFrame,
    stages: pd.Series | None = None,
    last_order_at: pd.Series | None = None,
) -> dict[str, pd.DataFrame]:
    """The buyers of each named RFM segment (:data:`growthlab.segments.RFM_SEGMENTS` order,
    every segment present, empty when it has no buyer), from ``scored`` (``RfmSummary.scored``,
    by user). Columns: ``user_id``, ``segment``, ``tier``, ``stage`` (lifecycle stage, when
    ``stages`` is given), ``r_score``, ``f_score``, ``m_score``, ``rfm``, ``recency_days``,
    ``frequency``, ``monetary`` and ``last_order_at`` (when given); best RFM total first, then
    monetary, then user_id. The sizes sum to the buyers (metric ``buyers``).
    """
    cols = (*_RFM_COLUMNS, "r_score", "f_score", "m_score", "rfm", "rfm_total")
    require_columns(scored, cols, "scored", kind=pd.DataFrame)
    frame = pd.DataFrame(
        {
            "user_id": scored.index.astype(str),
            "segment": scored["segment"].astype(str).to_numpy(),
            "tier": scored["tier"].astype(str).to_numpy(),
        }
    )
    if stages is not None:
        frame["stage"] = pd.Series(stages).reindex(scored.index).astype(object).to_numpy()
    for c in ("r_score", "f_score", "m_score", "rfm", "recency_days", "frequency", "monetary"):
        frame[c] = scored[c].to_numpy()
    if last_order_at is not None:
        frame["last_order_at"] = pd.Series(last_order_at).reindex(scored.index).to_numpy()
    frame["_total"] = scored["rfm_total"].to_numpy()
    frame = frame.sort_values(
        ["_total", "monetary", "user_id"], ascending=[False, False, True], kind="mergesort"
    ).drop(columns="_total")
    groups = dict(tuple(frame.groupby("segment", sort=False)))
    return {key: groups.get(key, frame.iloc[:0]).reset_index(drop=True) for key in RFM_SEGMENTS}
