"""Referral outcomes (SPEC §4.2): the invite funnel and referred-vs-organic users, with intervals.

Inputs are the small per-step / per-user frames that ``growthlab.data.referral`` computes in the
engine; everything here is pure pandas/numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from growthlab.errors import AnalysisInputError, require_columns
from growthlab.stats import grouped_mean_interval, wilson_interval, z_value

FUNNEL_STEPS = ("invite_sent", "invite_click", "signup", "first_paid_order")


def invite_funnel(counts: Mapping[str, float] | pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Invite funnel invite_sent → invite_click → signup → first paid order, in invitations.

    ``counts``: {step: count} or a frame with ``step, count`` (and optionally ``by_referred``,
    see ``growthlab.data.referral.invite_funnel_counts``) in funnel order. For each step k > 0:
    step_rate = n_k / n_{k−1} with a Wilson interval, overall_rate = n_k / n_0. A step rate is
    a conversion only when step k counts a subset of step k−1, so it is left missing, with the
    reason in ``note``, when

    - ``clicks_of_signups_only``: the signup step after invite_click while every recorded click
      belongs to a referred user (``by_referred == clicks``): clicks of people who never signed
      up are not in the data, so the rate would be 100 % by construction;
    - ``more_than_previous``: n_k > n_{k−1}, the two steps do not count the same units.

    Columns: ``step, count, step_rate, step_low, step_high, overall_rate, note`` (note '' when
    the rate is measured). Reference: Wilson (1927).
    """
    if isinstance(counts, pd.DataFrame):
        if not {"step", "count"} <= set(counts.columns):
            raise AnalysisInputError("invite_funnel: frame needs columns step and count")
        keep = [c for c in ("step", "count", "by_referred") if c in counts.columns]
        df = counts[keep].reset_index(drop=True).copy()
    else:
        df = pd.DataFrame({"step": list(counts.keys()), "count": list(counts.values())})
    if (df["count"] < 0).any():
        raise AnalysisInputError("invite_funnel: count must be >= 0")
    n = df["count"].to_numpy(dtype=float)
    prev = np.concatenate([[np.nan], n[:-1]])
    note = np.full(len(df), "", dtype=object)
    note[n > prev] = "more_than_previous"
    if "by_referred" in df.columns:
        by_ref = df["by_referred"].to_numpy(dtype=float)
        steps = df["step"].to_numpy(dtype=object)
        after_click = np.concatenate([[False], steps[:-1] == "invite_click"])
        prev_by_ref = np.concatenate([[np.nan], by_ref[:-1]])
        only_signups = after_click & (steps == "signup") & (prev_by_ref >= prev) & (prev > 0)
        note[only_signups] = "clicks_of_signups_only"
    measured = (note == "") & (prev > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        df["step_rate"] = np.where(measured, n / prev, np.nan)
        df["overall_rate"] = np.where(n[0] > 0, n / n[0], np.nan) if len(n) else []
    lo, hi = wilson_interval(np.minimum(n, np.nan_to_num(prev)), np.nan_to_num(prev), alpha)
    df["step_low"] = np.where(measured, lo, np.nan)
    df["step_high"] = np.where(measured, hi, np.nan)
    df["note"] = note
    df = df.drop(columns=["by_referred"], errors="ignore")
    return df[["step", "count", "step_rate", "step_low", "step_high", "overall_rate", "note"]]


def referred_vs_organic(
    outcomes: pd.DataFrame,
    as_of,
    horizons: Sequence[int] = (30, 60, 90),
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Conversion, d-day retention and value per user of referred vs organic users.

    ``outcomes``: one row per user with ``referred`` (bool), ``signup_at``, ``converted``
    (bool: at least one paid order), ``revenue`` (paid amount) and ``last_active_at`` (last
    activity event or order, ``growthlab.data.referral.user_activity``; missing = never active
    after signup).

    - conversion = share converted (Wilson interval);
    - retention_d = share with activity at or after signup + d days, among users who signed up
      at least d days before ``as_of`` (right-censoring; Wilson interval);
    - value_per_user = mean revenue (t interval).

    Returns long format: ``metric, group, users, value, low, high`` plus, per metric, a row
    ``group = "difference"`` (referred − organic, normal interval from the two standard errors,
    two-sided p-value).
    """
    require_columns(
        outcomes,
        ["referred", "signup_at", "converted", "revenue", "last_active_at"],
        "outcomes",
        kind=pd.DataFrame,
    )
    as_of = pd.Timestamp(as_of)
    o = outcomes
    grp = np.where(o["referred"].astype(bool), "referred", "organic")
    signup = pd.to_datetime(o["signup_at"])
    last = pd.to_datetime(o["last_active_at"])
    rows = []
    z = z_value(alpha)

    def _add(metric: str, mask: np.ndarray, x: np.ndarray, binary: bool) -> None:
        stats = {}
        for g in ("referred", "organic"):
            sel = mask & (grp == g)
            v = x[sel].astype(float)
            n = int(sel.sum())
            if binary:
                s = float(v.sum())
                lo, hi = wilson_interval(s, n, alpha)
                val = s / n if n else np.nan
                se = np.sqrt(val * (1 - val) / n) if n else np.nan
                lo, hi = float(lo), float(hi)
            else:
                val, lo, hi = (
                    float(a[0])
                    for a in grouped_mean_interval([v.sum()], [(v**2).sum()], [n], alpha)
                )
                se = float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
            stats[g] = (val, se)
            rows.append((metric, g, n, val, lo, hi, np.nan))
        (a, sa), (b, sb) = stats["referred"], stats["organic"]
        d = a - b
        se = float(np.sqrt(sa**2 + sb**2))
        p = float(2 * _st.norm.sf(abs(d) / se)) if se > 0 else np.nan
        rows.append((metric, "difference", int(mask.sum()), d, d - z * se, d + z * se, p))

    everyone = np.ones(len(o), dtype=bool)
    _add("conversion", everyone, o["converted"].astype(bool).to_numpy(), True)
    for d in horizons:
        eligible = (signup <= as_of - pd.Timedelta(days=d)).to_numpy()
        retained = (last.notna() & (last >= signup + pd.Timedelta(days=d))).to_numpy()
        _add(f"retention_{d}d", eligible, retained, True)
    _add("value_per_user", everyone, o["revenue"].fillna(0).to_numpy(dtype=float), False)
    return pd.DataFrame(
        rows, columns=["metric", "group", "users", "value", "low", "high", "p_value"]
    )
