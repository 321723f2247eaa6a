"""Campaign economics (issue #16): what each fission campaign cost, what it brought, and where
the next yuan should go.

Pure functions on the small frames of :mod:`growthlab.data.campaigns` (no I/O, no plots); the
referral forest (:func:`growthlab.referral.forest`) gives each invitee's cascade, the abuse
table (:func:`growthlab.referral_abuse.suspicious_inviters`) the flagged inviters, and the
value section's models (BG/NBD + Gamma-Gamma, :func:`fit_value`) the predicted value of the
invitees who bought. Ids are matched with Arrow hash lookups and cascades summed on integer
codes, so a million users take seconds.

The cost rule (one rule for quarantined and fraud-flagged rows)
---------------------------------------------------------------
*Cost counts what was paid; return counts only what is credible.*

- Quarantined ``referrals`` rows (exact duplicates, self-referrals, later second invitations
  of an invitee, cycles) are not accepted invitations: no reward is due on them, so they are
  neither cost nor return (the data-quality page counts them). ``costs`` rows quarantined by
  the loader (negative, non-finite, future-dated) are not spend either.
- Rewards of accepted invitations are cost, whoever the inviter: rewards paid to
  **fraud-flagged** inviters (``fraud_like`` in the abuse table) stay in the campaign's cost
  and are reported as its ``abuse_cost``; their invitees are **left out of the return**
  (invitees, buyers, revenue, predicted value), as the abuse section advises.
- ``costs`` is the spend ledger. With ``rewards_in_costs=True`` (the default, and how the
  sample books rewards: one ``costs`` row per campaign and day, channel ``referral``) a
  campaign's ``costs`` rows already include its rewards, so its cost is
  ``max(spend, rewards)`` (a ledger below the rewards it should include is topped up to them)
  and ``other_spend = cost − rewards`` is what it spent besides rewards (posters, seed
  budgets). With ``rewards_in_costs=False`` the ledger holds only the other spend and
  cost = spend + rewards. ``costs`` rows without a ``campaign_id`` are the paid channels' spend
  (the attribution page's CPA/ROAS) and no campaign's cost.

Formulas (per campaign c; sums over its accepted invitations, "credible" = inviter not
flagged; m = ``margin``, the gross margin on revenue, default 1: revenue-based ROI)::

    cost_per_invitee   = cost / credible invitees
    cost_per_buyer     = cost / credible invitees with a paid order to date
    roi_to_date        = (m · revenue to date − cost) / cost
    predicted value    = revenue to date + Σ CLV over the horizon of the invitees who bought
                         (BG/NBD + Gamma-Gamma; invitees who have not bought count 0)
    roi_predicted      = (m · predicted value − cost) / cost
    ltv_cac            = m · predicted value / cost = LTV per invitee / cost per invitee
                       = roi_predicted + 1
    payback_days       = first age d at which m · R(d) ≥ cost_per_invitee, R the mean
                         cumulative revenue per invitee by days since signup (Lawless &
                         Nadeau 1995: revenue on day a ÷ invitees observed past day a, summed)

Intervals: invitees of one cascade are not independent (they share an inviter, a moment, a
share channel), so intervals come from a bootstrap over cascades: the cascade-level sums
(reward, credible invitees, buyers, revenue, predicted value) of a campaign are resampled with
replacement (``n_boot`` draws, fixed ``seed``; vectorised: one count matrix per campaign and a
matrix product), spend other than rewards is held fixed, each ratio is recomputed per draw and
the (α/2, 1 − α/2) percentiles are the interval (Davison & Hinkley 1997, §3.8 on resampling
clusters; Efron & Tibshirani 1993, ch. 13). The fitted BG/NBD and Gamma-Gamma parameters are
held fixed, so the predicted ratios' intervals leave out the models' own uncertainty (their
coverage on the synthetic truth is a little below nominal: tests/test_campaigns.py). A
campaign is *not enough data* to rank when it has fewer than ``min_units`` cascades or the
interval of its predicted ROI is wider than ``max_rel_width`` × its return per yuan (ROI + 1).

Where the next yuan goes: the marginal return of a campaign is the predicted ROI of its most
recent cohort — invitations in the last ``recent_days`` before min(its last invitation,
as_of − ``mature_days``) (its other spend allocated by invitations) — with the same cascade
bootstrap. ``interval_verdict(low, high, target_roi)``: above → **scale**, below → **stop**,
includes → **hold**; too few cascades or too wide → **not_enough_data**. Campaigns are ranked
by that marginal ROI (rankable ones first).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from growthlab import value as _value
from growthlab.errors import AnalysisInputError, require_columns
from growthlab.stats import interval_verdict

__all__ = [
    "NO_CAMPAIGN",
    "VERDICTS",
    "flagged_inviters",
    "fit_value",
    "campaign_costs",
    "invitee_values",
    "attach_roots",
    "cascade_sums",
    "bootstrap_sums",
    "unit_economics",
    "payback",
    "marginal_returns",
    "CampaignEconomics",
    "analyse",
]

#: Key of invitations without a campaign (shown as ``campaign._none`` in i18n).
NO_CAMPAIGN = "_none"
#: Verdicts of :func:`marginal_returns`, best first.
VERDICTS = ("scale", "hold", "stop", "not_enough_data")
N_BOOT = 1000
SEED = 0
MIN_UNITS = 10
MAX_REL_WIDTH = 1.0
RECENT_DAYS = 28
MATURE_DAYS = 14
#: Invitees that must still be observed at an age for the payback curve to go on.
PAYBACK_MIN_AT_RISK = 10

_STATS = ("reward", "abuse_reward", "invitations", "invitees", "buyers", "revenue", "value")


def _key(values: pd.Series) -> pd.Series:
    """Group keys as text, missing -> :data:`NO_CAMPAIGN`."""
    out = values.astype(object).where(values.notna(), NO_CAMPAIGN)
    return out.astype(str)


def flagged_inviters(suspicious: pd.DataFrame, column: str = "fraud_like") -> list[str]:
    """Ids of the inviters flagged ``column`` (default ``fraud_like``) in the abuse table of
    :func:`growthlab.referral_abuse.suspicious_inviters`, sorted."""
    require_columns(suspicious, ("inviter_id", column), "suspicious", kind=pd.DataFrame)
    ids = suspicious.loc[suspicious[column].astype(bool), "inviter_id"].astype(str)
    return sorted(set(ids))


def fit_value(
    orders: pd.DataFrame | None,
    observation_end,
    horizon_days: float = 365,
    discount_period_days: float = 30,
    discount_rate: float = 0.01,
) -> pd.Series | None:
    """CLV per buyer (index user_id) from the value section's models and defaults:
    :func:`growthlab.value.summarise` of ``orders`` (local timestamps, calendar days) up to
    ``observation_end``, :func:`~growthlab.value.fit_bgnbd`, :func:`~growthlab.value.fit_gamma_gamma`
    and :func:`~growthlab.value.lifetime_value` over ``horizon_days`` discounted at
    ``discount_rate`` per ``discount_period_days`` — the numbers ``analyse_clv`` gives on the
    value page, without its holdout check (one fit instead of two). None without orders or
    when the models are not identified (fewer than two buyers or three repeat buyers):
    predicted value then equals revenue to date. ``orders`` may instead be the engine's
    purchase-day statistics (``growthlab.data.features.purchase_stats`` up to
    ``observation_end``): one row per buyer, the same summary."""
    if orders is None or not len(orders):
        return None
    _, summary = _value.purchase_summaries(orders, observation_end, "D")
    if not _value.models_identified(summary, 3):
        return None
    bg = _value.fit_bgnbd(summary)
    gg = _value.fit_gamma_gamma(summary)
    clv = _value.lifetime_value(bg, gg, summary, horizon_days, discount_period_days, discount_rate)
    return clv["clv"]


# --------------------------------------------------------------------------------------------
# cost
# --------------------------------------------------------------------------------------------
def _reward_total(frame: pd.DataFrame) -> pd.Series:
    cols = [c for c in frame.columns if c.startswith("reward_")]
    if not cols:
        return pd.Series(0.0, index=frame.index)
    return frame[cols].fillna(0.0).astype(float).sum(axis=1)


def campaign_costs(
    rewards: pd.DataFrame,
    spend: pd.DataFrame,
    invitees: pd.DataFrame | None = None,
    flagged: Iterable[str] = (),
    *,
    rewards_in_costs: bool = True,
    by: str = "campaign_id",
) -> pd.DataFrame:
    """Cost per campaign under the module's cost rule.

    ``rewards``: :func:`growthlab.data.campaigns.rewards` (campaign_id, side, invitations,
    reward); ``spend``: :func:`growthlab.data.campaigns.spend` (campaign_id, channel, spend);
    ``invitees`` (one row per invitation: inviter_id, the key, ``reward_<side>``) with
    ``flagged`` inviter ids gives the abuse cost. ``by="share_channel"`` keys by share
    channel: rewards by the invitation's channel (from ``invitees``) and the ``costs`` rows of
    that channel without a campaign (added to the rewards: the sample books rewards under
    channel ``referral``, never under a share channel).

    Columns: the key, ``invitations``, ``reward_inviter``, ``reward_invitee``,
    ``reward_unsplit`` (0 when the side is absent), ``reward`` (Σ sides), ``spend`` (ledger
    rows of the key), ``cost``, ``other_spend`` = cost − reward, ``abuse_invitations``,
    ``abuse_cost`` (rewards of flagged inviters) and ``abuse_share`` = abuse_cost / reward.
    Keys with neither invitations nor spend are absent; spend without a campaign is not a row.
    """
    flagged = {str(x) for x in flagged}
    sides = ("inviter", "invitee", "unsplit")
    if by == "campaign_id":
        require_columns(rewards, ("campaign_id", "side", "invitations", "reward"), "rewards")
        r = rewards.assign(key=_key(rewards["campaign_id"]))
        wide = r.pivot_table(index="key", columns="side", values="reward", aggfunc="sum")
        wide = wide.reindex(columns=list(sides)).fillna(0.0)
        if invitees is not None:
            inv_n = invitees.assign(key=_key(invitees[by])).groupby("key").size()
            wide = wide.reindex(wide.index.union(inv_n.index)).fillna(0.0)
        else:
            inv_n = r.groupby("key")["invitations"].max()
        s = spend.loc[spend["campaign_id"].notna()] if len(spend) else spend
        spent = s.assign(key=_key(s["campaign_id"])).groupby("key")["spend"].sum()
    else:
        if invitees is None or by not in invitees.columns:
            raise AnalysisInputError(f"invitees: needs column {by!r} to key costs by it")
        i = invitees.assign(key=_key(invitees[by]))
        cols = {side: f"reward_{side}" for side in sides if f"reward_{side}" in i.columns}
        wide = (
            i.groupby("key")[list(cols.values())]
            .sum()
            .rename(columns={v: k for k, v in cols.items()})
        )
        wide = wide.reindex(columns=list(sides)).fillna(0.0)
        inv_n = i.groupby("key").size()
        s = spend.loc[spend["campaign_id"].isna()] if len(spend) else spend
        spent = s.assign(key=_key(s["channel"])).groupby("key")["spend"].sum()
        spent = spent.loc[spent.index.isin(wide.index)]
    keys = wide.index.union(spent.index)
    out = pd.DataFrame(index=pd.Index(keys, name=by))
    out["invitations"] = inv_n.reindex(keys).fillna(0).astype("int64")
    for side in sides:
        out[f"reward_{side}"] = wide[side].reindex(keys).fillna(0.0).astype(float)
    out["reward"] = out[[f"reward_{x}" for x in sides]].sum(axis=1)
    out["spend"] = spent.reindex(keys).fillna(0.0).astype(float)
    if rewards_in_costs and by == "campaign_id":
        out["cost"] = np.maximum(out["spend"], out["reward"])
    else:
        out["cost"] = out["spend"] + out["reward"]
    out["other_spend"] = out["cost"] - out["reward"]
    abuse_n = pd.Series(0, index=keys, dtype="int64")
    abuse = pd.Series(0.0, index=keys)
    if invitees is not None and flagged and len(invitees):
        i = invitees.assign(key=_key(invitees[by]), _r=_reward_total(invitees))
        bad = i.loc[i["inviter_id"].astype(str).isin(flagged)]
        abuse = bad.groupby("key")["_r"].sum().reindex(keys).fillna(0.0)
        abuse_n = bad.groupby("key").size().reindex(keys).fillna(0).astype("int64")
    out["abuse_invitations"] = abuse_n.to_numpy()
    out["abuse_cost"] = abuse.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["abuse_share"] = np.where(out["reward"] > 0, out["abuse_cost"] / out["reward"], 0.0)
    return out.reset_index()


# --------------------------------------------------------------------------------------------
# return, per invitee and per cascade
# --------------------------------------------------------------------------------------------
def _clv_series(ltv: Any) -> pd.Series | None:
    if ltv is None:
        return None
    if isinstance(ltv, pd.Series):
        return ltv
    clv = getattr(ltv, "clv", None)
    if isinstance(clv, pd.DataFrame) and "clv" in clv.columns:
        return clv["clv"]
    raise AnalysisInputError(
        "ltv: expected a value.ClvAnalysis, a Series of CLV by user_id or None"
    )


def invitee_values(
    invitees: pd.DataFrame,
    flagged: Iterable[str] = (),
    ltv: Any = None,
    margin: float = 1.0,
    by: str = "campaign_id",
) -> pd.DataFrame:
    """Per invitation: ``key`` (the ``by`` value, missing -> :data:`NO_CAMPAIGN`), ``reward``
    (Σ sides), ``credible`` (inviter not in ``flagged``), ``buyer`` (credible and a paid order
    to date), ``revenue`` (m × revenue to date, credible only), ``future`` (m × the invitee's
    CLV when it bought and ``ltv`` — a :class:`growthlab.value.ClvAnalysis` or a Series of CLV
    by user_id — has it, else 0) and ``value`` = revenue + future; plus the input columns."""
    require_columns(invitees, ("inviter_id", "invitee_id", by, "orders", "revenue"), "invitees")
    if not (np.isfinite(margin) and margin > 0):
        raise AnalysisInputError("margin: must be a number > 0 (share of revenue kept)")
    flagged = {str(x) for x in flagged}
    out = invitees.copy()
    out["key"] = _key(out[by])
    out["reward"] = _reward_total(out)
    out["credible"] = _lookup(pd.Series(sorted(flagged), dtype=object), out["inviter_id"]) < 0
    paid = out["orders"].to_numpy() > 0
    out["buyer"] = out["credible"].to_numpy() & paid
    rev = out["revenue"].to_numpy(dtype=float) * margin
    out["revenue"] = np.where(out["credible"], rev, 0.0)
    clv = _clv_series(ltv)
    fut = np.zeros(len(out))
    if clv is not None and len(clv):
        pos = _lookup(clv.index, out["invitee_id"])
        vals = clv.to_numpy(dtype=float)
        got = (pos >= 0) & out["buyer"].to_numpy()
        fut[got] = np.nan_to_num(vals[pos[got]]) * margin
    out["future"] = fut
    out["value"] = out["revenue"] + out["future"]
    return out


def _arrow_text(x: Any) -> pa.Array:
    """Ids as one Arrow ``large_string`` array (zero-copy for Arrow-backed pandas strings)."""
    if isinstance(x, pd.Index):
        x = x.to_series()
    try:
        arr = pa.array(x)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array(pd.Series(x).astype(str).to_numpy(dtype=object), pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    return arr


def _lookup(haystack: Any, needles: Any) -> np.ndarray:
    """Position of each of ``needles`` in ``haystack`` (its first match), −1 when absent: one
    Arrow hash lookup (``pyarrow.compute.index_in``), no Python loop and no object copies."""
    hay, ned = _arrow_text(haystack), _arrow_text(needles)
    if len(hay) == 0 or len(ned) == 0:
        return np.full(len(ned), -1, dtype=np.int64)
    idx = pc.index_in(ned, value_set=hay)
    return idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _root_table(roots: Any) -> tuple[Any, Any]:
    """(user ids, their cascade roots) of a referral Forest, a frame with user_id and root, or
    a Series user_id -> root."""
    if isinstance(roots, pd.Series):
        return roots.index, roots
    nodes = getattr(roots, "nodes", roots)
    if isinstance(nodes, pd.DataFrame) and {"user_id", "root"} <= set(nodes.columns):
        if "inviter_id" in nodes.columns:  # invitees only: a third of the users, or fewer
            nodes = nodes.loc[nodes["inviter_id"].notna().to_numpy()]
        return nodes["user_id"], nodes["root"]
    raise AnalysisInputError(
        "roots: expected a referral.Forest, a frame with user_id and root, or a Series"
    )


def attach_roots(values: pd.DataFrame, roots: Any) -> pd.DataFrame:
    """``values`` with ``root`` (the seed of each invitee's cascade; an invitee absent from
    ``roots`` is in its inviter's cascade: root = inviter_id) and ``root_code`` (an integer per
    distinct root). ``roots``: the referral forest, a frame user_id/root or a Series."""
    ids, root = _root_table(roots)
    pos = _lookup(ids, values["invitee_id"])
    known = _arrow_text(root).take(pa.array(np.maximum(pos, 0))) if len(root) else None
    fallback = _arrow_text(values["inviter_id"])
    label = fallback if known is None else pc.if_else(pa.array(pos >= 0), known, fallback)
    enc = label.dictionary_encode()
    out = values.copy()
    out["root"] = pd.Series(label.to_pandas(), index=values.index).astype(str)
    out["root_code"] = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return out


def cascade_sums(values: pd.DataFrame, roots: Any = None) -> pd.DataFrame:
    """Cascade-level sums: one row per (key, root) with ``reward``, ``abuse_reward`` (rewards
    of non-credible invitations), ``invitations``, ``invitees`` (credible), ``buyers``,
    ``revenue``, ``value`` and ``first_invited_at``; sorted by key, then root.

    ``values``: :func:`invitee_values`, with roots attached (:func:`attach_roots`) or ``roots``
    to attach them. Grouped on integer codes (``np.unique`` + ``bincount``).
    """
    if "root_code" not in values.columns:
        if roots is None:
            raise AnalysisInputError("cascade_sums: needs roots (or values with root_code)")
        values = attach_roots(values, roots)
    key_code, keys = pd.factorize(values["key"], sort=True)
    rc = values["root_code"].to_numpy(dtype=np.int64)
    span = int(rc.max()) + 1 if rc.size else 1
    unit, first, inv = np.unique(
        key_code.astype(np.int64) * span + rc, return_index=True, return_inverse=True
    )
    inv = inv.reshape(-1)
    cred = values["credible"].to_numpy(dtype=bool)
    reward = values["reward"].to_numpy(dtype=float)
    cols = {
        "reward": reward,
        "abuse_reward": np.where(cred, 0.0, reward),
        "invitations": np.ones(len(values)),
        "invitees": cred.astype(float),
        "buyers": values["buyer"].to_numpy(dtype=float),
        "revenue": values["revenue"].to_numpy(dtype=float),
        "value": values["value"].to_numpy(dtype=float),
    }
    out = pd.DataFrame(
        {
            "key": np.asarray(keys, dtype=object)[unit // span],
            "root": values["root"].to_numpy(dtype=object)[first],
            **{c: np.bincount(inv, weights=w, minlength=unit.size) for c, w in cols.items()},
        }
    )
    for c in ("invitations", "invitees", "buyers"):
        out[c] = out[c].round().astype(np.int64)
    if "invited_at" in values.columns:
        t = pd.to_datetime(values["invited_at"]).to_numpy(dtype="datetime64[ns]").view(np.int64)
        lo = np.full(unit.size, np.iinfo(np.int64).max)
        np.minimum.at(lo, inv, t)
        out["first_invited_at"] = lo.view("datetime64[ns]")
    else:
        out["first_invited_at"] = pd.NaT
    return out.sort_values(["key", "root"], kind="mergesort", ignore_index=True)


def bootstrap_sums(
    units: pd.DataFrame,
    columns: Iterable[str] = _STATS,
    n_boot: int = N_BOOT,
    seed: int = SEED,
    key: str = "key",
) -> dict[str, np.ndarray]:
    """Bootstrap over units within each ``key``: {key: array (n_boot, len(columns))} of the
    column sums of ``n_boot`` resamples (units drawn with replacement, as many as the key has).

    Vectorised: per key one (draws × units) count matrix from ``bincount`` of uniform indices
    (in blocks of at most ~4M cells) times the (units × columns) matrix. The generator of a key
    is ``default_rng([seed, crc32(key)])``, so a key's draws do not depend on the others.
    """
    cols = list(columns)
    out: dict[str, np.ndarray] = {}
    if n_boot < 1:
        raise AnalysisInputError("n_boot: must be at least 1")
    for k, grp in units.groupby(key, sort=True):  # a few campaigns, not units
        v = grp[cols].to_numpy(dtype=float)
        n = v.shape[0]
        rng = np.random.default_rng([int(seed), zlib.crc32(str(k).encode("utf-8"))])
        block = max(1, min(n_boot, 4_000_000 // max(n, 1)))
        sums = np.empty((n_boot, len(cols)))
        for start in range(0, n_boot, block):  # blocks of draws, bounded memory
            b = min(block, n_boot - start)
            idx = rng.integers(0, n, size=(b, n), dtype=np.int32)
            idx += (np.arange(b, dtype=np.int32) * n)[:, None]  # b × n <= 4M: fits int32
            counts = np.bincount(idx.ravel(), minlength=b * n).reshape(b, n)
            sums[start : start + b] = counts @ v
        out[str(k)] = sums
    return out


# --------------------------------------------------------------------------------------------
# unit economics
# --------------------------------------------------------------------------------------------
def _ratio(num, den) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _metrics(s: np.ndarray, other: float) -> dict[str, np.ndarray]:
    """Ratios from sums (rows: draws or one point; columns: :data:`_STATS`)."""
    reward, _, _, invitees, buyers, revenue, value = (s[..., i] for i in range(len(_STATS)))
    cost = reward + other
    return {
        "cost_per_invitee": _ratio(cost, invitees),
        "cost_per_buyer": _ratio(cost, buyers),
        "roi_to_date": _ratio(revenue - cost, cost),
        "roi_predicted": _ratio(value - cost, cost),
        "ltv_cac": _ratio(value, cost),
    }


RATIOS = ("cost_per_invitee", "cost_per_buyer", "roi_to_date", "roi_predicted", "ltv_cac")
_ECONOMICS_COLUMNS = [
    "campaign_id", "cascades", "invitations", "invitees", "buyers", "cost", "reward",
    "other_spend", "abuse_cost", "revenue", "value",
    *(f"{r}{x}" for r in RATIOS for x in ("", "_low", "_high")), "rankable",
]  # fmt: skip


def _interval(draws: np.ndarray, alpha: float) -> tuple[float, float]:
    """(α/2, 1 − α/2) percentiles of the bootstrap ``draws`` of a ratio; non-finite draws are
    dropped (missing when more than half are). Bias-corrected (BCa) percentiles gave no better
    coverage on the synthetic truth, so the plain percentile interval is kept."""
    ok = draws[np.isfinite(draws)]
    if ok.size < 0.5 * draws.size or ok.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(ok, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(lo), float(hi)


def _rankable(point, low, high, units, min_units, max_rel_width, shift=0.0) -> bool:
    if units < min_units or not np.isfinite([point, low, high]).all():
        return False
    return bool(high - low <= max_rel_width * abs(point + shift) + 1e-12)


def unit_economics(
    costs: pd.DataFrame,
    units: pd.DataFrame,
    *,
    alpha: float = 0.05,
    n_boot: int = N_BOOT,
    seed: int = SEED,
    min_units: int = MIN_UNITS,
    max_rel_width: float = MAX_REL_WIDTH,
    by: str = "campaign_id",
) -> pd.DataFrame:
    """Unit economics per campaign with cascade-bootstrap intervals (module docstring).

    ``costs``: :func:`campaign_costs`; ``units``: :func:`cascade_sums`. Columns: the key,
    ``cascades``, ``invitations``, ``invitees``, ``buyers``, ``cost``, ``reward``,
    ``other_spend``, ``abuse_cost``, ``revenue`` (m × revenue to date), ``value`` (predicted),
    each ratio of :data:`RATIOS` with ``<ratio>_low``/``<ratio>_high``, and ``rankable``
    (the predicted ROI's interval is narrow enough; see the module docstring).
    """
    c = costs.set_index(by)
    rows = []
    if not len(c):
        return pd.DataFrame(columns=_ECONOMICS_COLUMNS).rename(columns={"campaign_id": by})
    boot = bootstrap_sums(units, _STATS, n_boot, seed)
    point = units.groupby("key")[list(_STATS)].sum()
    n_units = units.groupby("key").size()
    for k in c.index:  # a few campaigns
        other = float(c.at[k, "other_spend"])
        p = point.loc[k].to_numpy(dtype=float) if k in point.index else np.zeros(len(_STATS))
        pm = _metrics(p, other)
        b = boot.get(str(k))
        row: dict[str, Any] = {
            by: k,
            "cascades": int(n_units.get(k, 0)),
            "invitations": int(c.at[k, "invitations"]),
            "invitees": int(p[3]),
            "buyers": int(p[4]),
            "cost": float(c.at[k, "cost"]),
            "reward": float(c.at[k, "reward"]),
            "other_spend": other,
            "abuse_cost": float(c.at[k, "abuse_cost"]),
            "revenue": float(p[5]),
            "value": float(p[6]),
        }
        bm = _metrics(b, other) if b is not None else None
        for name in RATIOS:
            row[name] = float(pm[name])
            lo, hi = _interval(bm[name], alpha) if bm is not None else (np.nan, np.nan)
            row[f"{name}_low"], row[f"{name}_high"] = lo, hi
        row["rankable"] = _rankable(
            row["roi_predicted"], row["roi_predicted_low"], row["roi_predicted_high"],
            row["cascades"], min_units, max_rel_width, shift=1.0,
        )  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def payback(
    revenue_by_age: pd.DataFrame,
    values: pd.DataFrame,
    cost_per_invitee: pd.Series,
    as_of,
    margin: float = 1.0,
    min_at_risk: int = PAYBACK_MIN_AT_RISK,
    by: str = "campaign_id",
) -> pd.DataFrame:
    """Days until the invitees' revenue pays back their cost, per campaign.

    R(d) = Σ_{a < d} revenue(a) / n(a): revenue(a) = paid revenue of the campaign's credible
    invitees on day a of age (``revenue_by_age``, flagged inviters' invitees already left out),
    n(a) = credible invitees observed beyond age a (as_of − signup_at > a days) — the mean
    cumulative function of Lawless & Nadeau (1995), Technometrics 37(2), unbiased under
    censoring by the analysis date. ``payback_days`` = the first d with m · R(d) ≥
    cost_per_invitee (missing when not reached while at least ``min_at_risk`` invitees are
    observed: "not yet"); ``observed_days`` = the last age with that many invitees.
    Columns: the key, payback_days, observed_days, revenue_per_invitee_30d (m · R(30)).
    """
    as_of = pd.Timestamp(as_of)
    rows = []
    cred = values.loc[values["credible"]]
    age = (as_of - pd.to_datetime(cred["signup_at"])).dt.total_seconds().to_numpy() / 86400.0
    keys = cost_per_invitee.index
    rba = revenue_by_age.assign(key=_key(revenue_by_age[by])) if len(revenue_by_age) else None
    for k in keys:  # a few campaigns
        a = age[(cred["key"] == k).to_numpy()]
        a = a[np.isfinite(a)]  # an invitee without a signup time is never at risk
        horizon = int(np.floor(a.max())) + 1 if a.size else 0
        if horizon == 0:
            rows.append({by: k, "payback_days": np.nan, "observed_days": 0,
                         "revenue_per_invitee_30d": np.nan})  # fmt: skip
            continue
        days = np.arange(horizon)
        at_risk = a.size - np.searchsorted(np.sort(a), days, side="right")
        rev = np.zeros(horizon)
        if rba is not None:
            g = rba.loc[rba["key"] == k]
            ad = g["age_day"].to_numpy(dtype=np.int64)
            ok = ad < horizon
            np.add.at(rev, ad[ok], g["revenue"].to_numpy(dtype=float)[ok])
        valid = at_risk >= min_at_risk
        with np.errstate(invalid="ignore", divide="ignore"):
            inc = np.where(valid, rev / np.maximum(at_risk, 1), 0.0)
        cum = margin * np.cumsum(inc)
        observed = int(days[valid].max()) + 1 if valid.any() else 0
        cpi = float(cost_per_invitee.get(k, np.nan))
        hit = np.flatnonzero(valid & (cum >= cpi)) if np.isfinite(cpi) else np.array([], int)
        rows.append(
            {
                by: k,
                "payback_days": float(hit[0] + 1) if hit.size else np.nan,
                "observed_days": observed,
                "revenue_per_invitee_30d": float(cum[29]) if observed >= 30 else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=[by, "payback_days", "observed_days",
                                       "revenue_per_invitee_30d"])  # fmt: skip


def marginal_returns(
    values: pd.DataFrame,
    roots: Any,
    costs: pd.DataFrame,
    as_of,
    *,
    recent_days: float = RECENT_DAYS,
    mature_days: float = MATURE_DAYS,
    target_roi: float = 0.0,
    alpha: float = 0.05,
    n_boot: int = N_BOOT,
    seed: int = SEED,
    min_units: int = MIN_UNITS,
    max_rel_width: float = MAX_REL_WIDTH,
    by: str = "campaign_id",
) -> pd.DataFrame:
    """Predicted ROI of each campaign's most recent cohort and the verdict (module docstring).

    Cohort of campaign c: invitations with invited_at in (end − recent_days, end], end =
    min(last invitation of c, as_of − mature_days). Its cost = its rewards + c's other spend ×
    its share of c's invitations; its return = the predicted value of its credible invitees.
    Columns: the key, ``cohort_start``, ``cohort_end``, ``cohort_invitations``,
    ``cohort_cascades``, ``marginal_roi`` with ``marginal_roi_low``/``_high``, ``marginal_rankable``,
    ``verdict`` (:data:`VERDICTS`) and ``rank`` (1 = best marginal ROI among rankable ones).
    """
    as_of = pd.Timestamp(as_of)
    t = pd.to_datetime(values["invited_at"])
    cut = as_of - pd.Timedelta(days=float(mature_days))
    last = t.where(t <= cut).groupby(values["key"]).max()
    c = costs.set_index(by)
    end = values["key"].map(last)
    in_cohort = (t <= end) & (t > end - pd.Timedelta(days=float(recent_days)))
    cohort = values.loc[in_cohort.fillna(False).to_numpy()]
    units = cascade_sums(cohort, roots) if len(cohort) else None
    boot = bootstrap_sums(units, _STATS, n_boot, seed) if units is not None else {}
    rows = []
    for k in c.index:  # a few campaigns
        inv_all = max(int(c.at[k, "invitations"]), 1)
        sub = units.loc[units["key"] == k] if units is not None else None
        n_units = 0 if sub is None else len(sub)
        stop = last.get(k, pd.NaT)
        row: dict[str, Any] = {
            by: k,
            "cohort_start": stop - pd.Timedelta(days=float(recent_days)),
            "cohort_end": stop,
            "cohort_invitations": 0 if sub is None else int(sub["invitations"].sum()),
            "cohort_cascades": n_units,
        }
        other = float(c.at[k, "other_spend"]) * row["cohort_invitations"] / inv_all
        if n_units:
            p = sub[list(_STATS)].sum().to_numpy(dtype=float)
            roi = float(_metrics(p, other)["roi_predicted"])
            lo, hi = _interval(_metrics(boot[str(k)], other)["roi_predicted"], alpha)
        else:
            roi, lo, hi = np.nan, np.nan, np.nan
        rank_ok = _rankable(roi, lo, hi, n_units, min_units, max_rel_width, shift=1.0)
        verdict = "not_enough_data"
        if rank_ok:
            verdict = {"above": "scale", "below": "stop", "includes": "hold"}[
                interval_verdict(lo, hi, target_roi)
            ]
        row.update(
            marginal_roi=roi, marginal_roi_low=lo, marginal_roi_high=hi,
            marginal_rankable=rank_ok, verdict=verdict,
        )  # fmt: skip
        rows.append(row)
    cols = [by, "cohort_start", "cohort_end", "cohort_invitations", "cohort_cascades",
            "marginal_roi", "marginal_roi_low", "marginal_roi_high", "marginal_rankable",
            "verdict"]  # fmt: skip
    out = pd.DataFrame(rows, columns=cols)
    if not len(out):
        return out.assign(rank=pd.Series(dtype=float))
    score = out["marginal_roi"].where(out["marginal_rankable"])
    out["rank"] = score.rank(ascending=False, method="first")
    return out


# --------------------------------------------------------------------------------------------
# one call
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CampaignEconomics:
    """Everything the campaign-economics section shows (see :func:`analyse`).

    ``table``: one row per campaign — :func:`unit_economics` joined with :func:`payback` and
    :func:`marginal_returns` — ranked (rankable campaigns by marginal ROI, then the others by
    cost); ``costs``: :func:`campaign_costs`; ``units``: :func:`cascade_sums`; ``totals``:
    source totals (rewards, campaign spend, cost, abuse cost, unassigned spend) and
    ``params`` the parameters used.
    """

    table: pd.DataFrame
    costs: pd.DataFrame
    units: pd.DataFrame
    totals: dict[str, float]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def by(self) -> str:
        return str(self.params.get("by", "campaign_id"))

    def verdict_counts(self) -> dict[str, int]:
        """Campaigns per verdict (every verdict of :data:`VERDICTS`, 0 when none)."""
        got = self.table["verdict"].value_counts()
        return {v: int(got.get(v, 0)) for v in VERDICTS}


def analyse(
    inputs: Mapping[str, Any],
    roots: Any,
    flagged: Iterable[str] = (),
    ltv: Any = None,
    *,
    as_of=None,
    margin: float = 1.0,
    target_roi: float = 0.0,
    rewards_in_costs: bool = True,
    recent_days: float = RECENT_DAYS,
    mature_days: float = MATURE_DAYS,
    alpha: float = 0.05,
    n_boot: int = N_BOOT,
    seed: int = SEED,
    min_units: int = MIN_UNITS,
    max_rel_width: float = MAX_REL_WIDTH,
) -> CampaignEconomics:
    """The campaign economics in one call.

    ``inputs``: :func:`growthlab.data.campaigns.inputs` (rewards, spend, invitees, totals,
    revenue_by_age, as_of; its revenue_by_age must leave out the same ``flagged`` inviters);
    ``roots``: the referral forest; ``flagged``: fraud-like inviter ids
    (:func:`flagged_inviters`); ``ltv``: CLV per buyer (:func:`fit_value`, or a
    :func:`growthlab.value.analyse_clv` result; None: predicted value = revenue to date). Steps: :func:`campaign_costs` →
    :func:`invitee_values` → :func:`cascade_sums` → :func:`unit_economics`, :func:`payback`,
    :func:`marginal_returns`.
    """
    for name in ("rewards", "spend", "invitees"):
        if name not in inputs:
            raise AnalysisInputError(f"inputs: missing {name!r} (growthlab.data.campaigns.inputs)")
    as_of = pd.Timestamp(as_of if as_of is not None else inputs.get("as_of"))
    if pd.isna(as_of):
        raise AnalysisInputError("as_of: required (the analysis date)")
    flagged = sorted({str(x) for x in flagged})
    inv = inputs["invitees"]
    costs = campaign_costs(
        inputs["rewards"], inputs["spend"], inv, flagged, rewards_in_costs=rewards_in_costs
    )
    values = attach_roots(invitee_values(inv, flagged, ltv, margin), roots)
    units = cascade_sums(values)
    kw = {"alpha": alpha, "n_boot": n_boot, "seed": seed, "min_units": min_units,
          "max_rel_width": max_rel_width}  # fmt: skip
    ue = unit_economics(costs, units, **kw)
    pb = payback(
        inputs.get("revenue_by_age", pd.DataFrame(columns=["campaign_id", "age_day", "revenue"])),
        values,
        ue.set_index("campaign_id")["cost_per_invitee"],
        as_of,
        margin,
    )
    mr = marginal_returns(
        values, roots, costs, as_of, recent_days=recent_days, mature_days=mature_days,
        target_roi=target_roi, **kw,
    )  # fmt: skip
    table = ue.merge(pb, on="campaign_id", how="left").merge(mr, on="campaign_id", how="left")
    order = np.lexsort(
        (
            table["campaign_id"].to_numpy(dtype=str),
            -table["cost"].to_numpy(dtype=float),
            table["rank"].fillna(np.inf).to_numpy(dtype=float),
        )
    )
    table = table.iloc[order].reset_index(drop=True)
    spend = inputs["spend"]
    unassigned = float(spend.loc[spend["campaign_id"].isna(), "spend"].sum()) if len(spend) else 0.0
    totals = {
        "reward": float(costs["reward"].sum()),
        "campaign_spend": float(costs["spend"].sum()),
        "cost": float(costs["cost"].sum()),
        "abuse_cost": float(costs["abuse_cost"].sum()),
        "unassigned_spend": unassigned,
        "revenue": float(table["revenue"].sum()),
        "value": float(table["value"].sum()),
        "invitees": int(table["invitees"].sum()),
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        totals["abuse_share"] = totals["abuse_cost"] / totals["reward"] if totals["reward"] else 0.0
        totals["roi_to_date"] = (
            (totals["revenue"] - totals["cost"]) / totals["cost"] if totals["cost"] else np.nan
        )
        totals["ltv_cac"] = totals["value"] / totals["cost"] if totals["cost"] else np.nan
    params = {
        "margin": margin, "target_roi": target_roi, "rewards_in_costs": rewards_in_costs,
        "recent_days": recent_days, "mature_days": mature_days, "alpha": alpha,
        "n_boot": n_boot, "seed": seed, "min_units": min_units, "max_rel_width": max_rel_width,
        "as_of": as_of, "flagged_inviters": len(flagged), "by": "campaign_id",
        "predicted": _clv_series(ltv) is not None,
        "has_orders": bool(inputs.get("has_orders", True)),
    }  # fmt: skip
    return CampaignEconomics(table, costs, units, totals, params)
