"""Engine-side inputs of the campaign economics (issue #16), written as Ibis expressions.

What each fission campaign cost and what its invitees brought, summed in the backend (DuckDB,
Spark or any Ibis backend; no backend-specific SQL) and returned as small pandas frames for
:mod:`growthlab.campaigns`:

- :func:`rewards` — ``referrals.reward`` per campaign and side (the contract's one ``reward``
  per invitation is side ``unsplit``; a source carrying ``reward_inviter`` / ``reward_invitee``
  gets sides ``inviter`` / ``invitee`` instead);
- :func:`spend` — ``costs.spend`` per campaign, channel and day (rows without a campaign are
  the paid channels' spend, kept so the totals reconcile with the source);
- :func:`invitees` — one row per accepted invitation (one per referred user on a validated
  source) with its reward and the invitee's paid orders and revenue to date: the unit the
  analysis groups into cascades (the cascade of an invitee comes from the referral forest,
  built in numpy by :func:`growthlab.referral.forest`);
- :func:`campaign_totals` — invitations, invitees, buyers, orders, revenue and rewards per
  campaign (everything, flagged inviters included: the reconciliation totals);
- :func:`revenue_by_age` — paid revenue of invitees per campaign and day of age (days since
  the invitee's signup), invitees of ``exclude_inviters`` left out: the payback curve;
- :func:`inputs` — what ``growthlab.campaigns.analyse`` takes, in one dict;
- :func:`local_orders` — the orders for the value section's models (BG/NBD + Gamma-Gamma), with
  local timestamps as notebook 03 reads them (None without an ``orders`` table);
- :func:`purchase_stats` — the same models' input summed per buyer in the engine (what the
  notebooks pass: one row per buyer instead of one per order).

"Revenue to date" is paid orders (status ``paid`` or missing) up to ``as_of`` (the Dataset's by
default). Every function takes a ``Dataset`` (``table``/``has``), or a dict of Ibis tables or
pandas frames. The campaign of an invitation is ``referrals.campaign_id`` when the column
exists, else the invitee's ``users.campaign_id``; invitations without one have a missing
``campaign_id``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from growthlab.data.features import (  # noqa: F401 - local_orders, purchase_stats re-exported
    local_orders,
    paid_orders,
    purchase_stats,
)
from growthlab.errors import require_columns

__all__ = [
    "SIDE_COLUMNS",
    "rewards",
    "spend",
    "invitees",
    "campaign_totals",
    "revenue_by_age",
    "inputs",
    "local_orders",
    "purchase_stats",
]

#: Reward columns of ``referrals`` and the side they pay. ``reward`` (the data contract's
#: column) is one amount per invitation, side ``unsplit``; it is used only when neither split
#: column exists.
SIDE_COLUMNS = {"inviter": "reward_inviter", "invitee": "reward_invitee", "unsplit": "reward"}


def _table(source: Any, name: str) -> ir.Table | None:
    if isinstance(source, dict):
        t = source.get(name)
        return ibis.memtable(t) if isinstance(t, pd.DataFrame) else t
    return source.table(name) if source.has(name) else None


def _as_of(source: Any, as_of) -> pd.Timestamp | None:
    if as_of is None:
        as_of = getattr(source, "as_of", None)
    return None if as_of is None else pd.Timestamp(as_of)


def _side_columns(ref: ir.Table) -> dict[str, str]:
    split = {s: c for s, c in SIDE_COLUMNS.items() if s != "unsplit" and c in ref.columns}
    if split:
        return split
    return {"unsplit": "reward"} if "reward" in ref.columns else {}


def _invitations(source: Any) -> ir.Table:
    """Accepted invitations: inviter_id, invitee_id, invited_at, campaign_id, share_channel and
    the reward columns (missing reward = 0), ids as strings."""
    ref = _table(source, "referrals")
    require_columns(ref, ("inviter_id", "invitee_id", "invited_at"), "referrals")
    cols: dict[str, Any] = {
        "inviter_id": ref.inviter_id.cast("string"),
        "invitee_id": ref.invitee_id.cast("string"),
        "invited_at": ref.invited_at,
    }
    if "campaign_id" in ref.columns:
        cols["campaign_id"] = ref.campaign_id.cast("string")
    cols["share_channel"] = (
        ref.share_channel.cast("string")
        if "share_channel" in ref.columns
        else ibis.null().cast("string")
    )
    for side, col in _side_columns(ref).items():
        cols[f"reward_{side}"] = ref[col].cast("float64").fill_null(0.0)
    out = ref.select(**cols)
    if "campaign_id" not in out.columns:
        users = _table(source, "users")
        if users is not None and "campaign_id" in users.columns:
            u = users.select(_uid=users.user_id.cast("string"), campaign_id=users.campaign_id)
            out = out.left_join(u, out.invitee_id == u._uid).drop("_uid")
            out = out.mutate(campaign_id=out.campaign_id.cast("string"))
        else:
            out = out.mutate(campaign_id=ibis.null().cast("string"))
    return out


def _reward_sides(t: ir.Table) -> list[str]:
    return [c for c in t.columns if c.startswith("reward_")]


def rewards(source: Any) -> pd.DataFrame:
    """Rewards per campaign and side: ``campaign_id, side, invitations, rewarded, reward``.

    invitations = accepted invitations of the campaign; rewarded = those with a reward > 0 on
    that side; reward = Σ reward (missing = 0). One row per campaign and side present (no rows
    when ``referrals`` has no reward column).
    """
    inv = _invitations(source)
    parts = []
    for col in _reward_sides(inv):
        side = col.removeprefix("reward_")
        parts.append(
            inv.group_by("campaign_id")
            .aggregate(
                invitations=inv.count(),
                rewarded=(inv[col] > 0).cast("int64").sum(),
                reward=inv[col].sum(),
            )
            .mutate(side=ibis.literal(side))
        )
    cols = ["campaign_id", "side", "invitations", "rewarded", "reward"]
    if not parts:
        return pd.DataFrame(columns=cols)
    expr = parts[0]
    for p in parts[1:]:
        expr = expr.union(p, distinct=False)
    df = expr.to_pandas()
    df["invitations"] = df["invitations"].astype("int64")
    df["rewarded"] = df["rewarded"].fillna(0).astype("int64")
    df["reward"] = df["reward"].fillna(0.0).astype(float)
    return df[cols].sort_values(["campaign_id", "side"], na_position="last", ignore_index=True)


def spend(source: Any) -> pd.DataFrame:
    """``costs.spend`` per ``campaign_id, channel, date``: columns ``campaign_id, channel, date,
    spend, rows`` (campaign_id missing for rows without one; empty without ``costs``)."""
    cols = ["campaign_id", "channel", "date", "spend", "rows"]
    costs = _table(source, "costs")
    if costs is None:
        return pd.DataFrame(columns=cols)
    require_columns(costs, ("date", "channel", "spend"), "costs")
    camp = (
        costs.campaign_id.cast("string")
        if "campaign_id" in costs.columns
        else ibis.null().cast("string")
    )
    c = costs.select(
        campaign_id=camp,
        channel=costs.channel.cast("string"),
        date=costs.date,
        _spend=costs.spend.cast("float64"),
    )
    expr = c.group_by(["campaign_id", "channel", "date"]).aggregate(
        spend=c._spend.sum(), rows=c.count()
    )
    df = expr.to_pandas()
    df["date"] = pd.to_datetime(df["date"])
    df["spend"] = df["spend"].fillna(0.0).astype(float)
    df["rows"] = df["rows"].astype("int64")
    return df[cols].sort_values(
        ["campaign_id", "channel", "date"], na_position="last", ignore_index=True
    )


def _order_totals(source: Any, as_of) -> ir.Table | None:
    orders = _table(source, "orders")
    if orders is None:
        return None
    od = paid_orders(orders, _as_of(source, as_of))
    return od.group_by(_oid=od.user_id.cast("string")).aggregate(
        orders=od.count(),
        revenue=od.amount.cast("float64").sum(),
        first_order_at=od.ts.min(),
    )


def _with_outcomes(source: Any, as_of) -> ir.Table:
    """Invitations joined to the invitee's signup_at and paid-order totals (0 when none)."""
    inv = _invitations(source)
    users = _table(source, "users")
    if users is not None and "signup_at" in users.columns:
        u = users.select(_sid=users.user_id.cast("string"), signup_at=users.signup_at)
        inv = inv.left_join(u, inv.invitee_id == u._sid).drop("_sid")
    else:
        inv = inv.mutate(signup_at=inv.invited_at)
    o = _order_totals(source, as_of)
    if o is None:
        return inv.mutate(
            orders=ibis.literal(0, "int64"),
            revenue=ibis.literal(0.0, "float64"),
            first_order_at=ibis.null().cast(inv.invited_at.type()),
        )
    j = inv.left_join(o, inv.invitee_id == o._oid).drop("_oid")
    return j.mutate(orders=j.orders.fill_null(0), revenue=j.revenue.fill_null(0.0))


def invitees(source: Any, as_of=None) -> pd.DataFrame:
    """One row per accepted invitation: ``inviter_id, invitee_id, campaign_id, share_channel,
    invited_at, signup_at`` (the invitee's), the reward columns (``reward_<side>``, see
    :func:`rewards`), and the invitee's ``orders`` (paid, up to ``as_of``), ``revenue`` (Σ
    paid amount) and ``first_order_at``. Sorted by invited_at, then invitee_id.
    """
    df = _with_outcomes(source, as_of).to_pandas()
    for c in ("invited_at", "signup_at", "first_order_at"):
        df[c] = pd.to_datetime(df[c])
    df["orders"] = df["orders"].fillna(0).astype("int64")
    df["revenue"] = df["revenue"].fillna(0.0).astype(float)
    for c in _reward_sides(df):
        df[c] = df[c].fillna(0.0).astype(float)
    head = ["inviter_id", "invitee_id", "campaign_id", "share_channel", "invited_at", "signup_at"]
    cols = [*head, *sorted(_reward_sides(df)), "orders", "revenue", "first_order_at"]
    return df[cols].sort_values(["invited_at", "invitee_id"], ignore_index=True)


def campaign_totals(source: Any, as_of=None) -> pd.DataFrame:
    """Per campaign, everything counted: ``campaign_id, invitations, invitees`` (distinct),
    ``buyers`` (invitees with a paid order), ``orders, revenue`` and ``reward`` (Σ over sides)."""
    j = _with_outcomes(source, as_of)
    sides = _reward_sides(j)
    reward = sum((j[c] for c in sides[1:]), j[sides[0]]) if sides else ibis.literal(0.0)
    j = j.mutate(_reward=reward)
    expr = j.group_by("campaign_id").aggregate(
        invitations=j.count(),
        invitees=j.invitee_id.nunique(),
        buyers=(j.orders > 0).cast("int64").sum(),
        orders=j.orders.sum(),
        revenue=j.revenue.sum(),
        reward=j._reward.sum(),
    )
    df = expr.to_pandas()
    for c in ("invitations", "invitees", "buyers", "orders"):
        df[c] = df[c].fillna(0).astype("int64")
    for c in ("revenue", "reward"):
        df[c] = df[c].fillna(0.0).astype(float)
    cols = ["campaign_id", "invitations", "invitees", "buyers", "orders", "revenue", "reward"]
    return df[cols].sort_values("campaign_id", na_position="last", ignore_index=True)


def revenue_by_age(
    source: Any, exclude_inviters: Iterable[str] = (), as_of=None, by: str = "campaign_id"
) -> pd.DataFrame:
    """Paid revenue of invitees per ``by`` (``campaign_id`` or ``share_channel``) and age:
    columns ``<by>, age_day, orders, revenue`` where age_day = ⌊(order ts − invitee signup_at)
    / 1 day⌋ (orders before signup count at age 0). Invitations of ``exclude_inviters`` (e.g.
    fraud-like inviters) are left out (anti-join in the engine)."""
    inv = _invitations(source)
    users = _table(source, "users")
    orders = _table(source, "orders")
    cols = [by, "age_day", "orders", "revenue"]
    if orders is None or users is None:
        return pd.DataFrame(columns=cols)
    excl = sorted({str(x) for x in exclude_inviters})
    if excl:
        bad = ibis.memtable(pd.DataFrame({"_bad": pd.Series(excl, dtype=object)}))
        inv = inv.anti_join(bad, inv.inviter_id == bad._bad)
    u = users.select(_sid=users.user_id.cast("string"), _signup=users.signup_at)
    inv = inv.join(u, inv.invitee_id == u._sid).select(by, "invitee_id", "_signup")
    od = paid_orders(orders, _as_of(source, as_of))
    od = od.select(_oid=od.user_id.cast("string"), _ts=od.ts, _amount=od.amount.cast("float64"))
    j = od.join(inv, od._oid == inv.invitee_id)
    secs = j._ts.epoch_seconds() - j._signup.epoch_seconds()
    age = ibis.greatest((secs / 86400.0).floor(), 0).cast("int64")
    j = j.mutate(age_day=age)
    expr = j.group_by([by, "age_day"]).aggregate(orders=j.count(), revenue=j._amount.sum())
    df = expr.to_pandas()
    df["age_day"] = df["age_day"].astype("int64")
    df["orders"] = df["orders"].astype("int64")
    df["revenue"] = df["revenue"].fillna(0.0).astype(float)
    return df[cols].sort_values([by, "age_day"], na_position="last", ignore_index=True)


def inputs(source: Any, exclude_inviters: Iterable[str] = (), as_of=None) -> dict[str, Any]:
    """Everything :func:`growthlab.campaigns.analyse` needs from the engine: ``rewards``,
    ``spend``, ``invitees``, ``revenue_by_age`` (without the invitees of ``exclude_inviters``),
    ``has_orders`` (without orders the return is unknown, not zero) and ``as_of``. (:func:`campaign_totals`, the reconciliation totals, is not needed there.)"""
    excl = [str(x) for x in exclude_inviters]
    return {
        "rewards": rewards(source),
        "spend": spend(source),
        "invitees": invitees(source, as_of),
        "revenue_by_age": revenue_by_age(source, excl, as_of),
        "has_orders": _table(source, "orders") is not None,
        "as_of": _as_of(source, as_of),
    }
