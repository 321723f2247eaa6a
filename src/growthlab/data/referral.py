"""Engine-side aggregations for the referral analysis (SPEC §4.2), written as Ibis expressions.

They run unchanged on DuckDB, Spark or any Ibis backend and return small pandas frames:

- :func:`users` / :func:`edges` — the per-user and per-edge frames the referral forest and the
  K-factor read (only the columns they need);
- :func:`invite_funnel_counts` — the invite funnel counted in invitations: invite_sent /
  invite_click events, accepted invitations (referred users), accepted invitations whose
  invitee paid (input of ``referral_outcomes.invite_funnel``);
- :func:`invites_sent` — invite_sent events per user within ``window_days`` after signup (the
  ``i`` of ``K = i × c``, ``referral.k_decomposition``);
- :func:`user_activity` — per user: activity (activity events other than ``signup`` and
  ``invite_click``, and orders) after signup, last activity, paid orders and revenue (input of
  the abuse signals and of ``referral_outcomes.referred_vs_organic``).

Each takes a ``Dataset`` (``ds.table``/``ds.has``) or the Ibis tables themselves.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from growthlab.data.features import activity_events, paid_orders
from growthlab.data.localtime import source_time
from growthlab.data.shared import shared_table
from growthlab.errors import require_columns

#: Events that are part of being acquired (they happen at signup), so not "activity after signup".
ACQUISITION_EVENTS = ("signup", "invite_click")


def _table(ds: Any, name: str) -> ir.Table | None:
    if isinstance(ds, dict):
        t = ds.get(name)
        return ibis.memtable(t) if isinstance(t, pd.DataFrame) else t
    return ds.table(name) if ds.has(name) else None


def _need(t: ir.Table | None, name: str, cols: tuple[str, ...]) -> ir.Table:
    require_columns(t, cols, name)
    return t


def _referred_ids(ds: Any, referrals: ir.Table | None) -> ir.Table:
    users = _need(_table(ds, "users"), "users", ("user_id",))
    if "referred" in users.columns:
        return users.filter(users.referred).select(user_id=users.user_id.cast("string"))
    ref = _need(referrals, "referrals", ("invitee_id",))
    return ref.select(user_id=ref.invitee_id.cast("string")).distinct()


#: ``users`` columns the referral page reads (K-factor cohorts, cycle time, campaign K).
USER_COLUMNS = ("user_id", "signup_at", "campaign_id")
#: ``referrals`` columns the referral forest keeps (the rest, e.g. ``reward`` or raw channel
#: names, stays in the engine; campaign economics sum rewards there).
EDGE_COLUMNS = ("inviter_id", "invitee_id", "invited_at", "campaign_id", "share_channel")


def users(ds: Any) -> pd.DataFrame:
    """One row per user with the columns of :data:`USER_COLUMNS` the source has and
    ``signup_week`` (the Monday of the local calendar week of signup: ``K by signup week``
    groups by it): the per-user frame of the referral page (about 50 bytes a user), never the
    whole ``users`` table."""
    t = _need(_table(ds, "users"), "users", ("user_id", "signup_at"))
    week = source_time(ds, t.signup_at).truncate("W")
    return t.select(*[c for c in USER_COLUMNS if c in t.columns], signup_week=week).to_pandas()


def edges(ds: Any) -> pd.DataFrame:
    """One row per (validated) invitation with the columns of :data:`EDGE_COLUMNS` the source
    has: the per-edge input of ``growthlab.referral.forest`` (about 70 bytes an edge)."""
    t = _need(_table(ds, "referrals"), "referrals", ("inviter_id", "invitee_id", "invited_at"))
    return t.select(*[c for c in EDGE_COLUMNS if c in t.columns]).to_pandas()


def invite_funnel_counts(ds: Any) -> pd.DataFrame:
    """Counts per funnel step, every step in invitations: ``step, count, by_referred``.

    invite_sent, invite_click = number of such events (one per invitation sent / clicked);
    signup = accepted invitations = referred users (one accepted inviter each);
    first_paid_order = accepted invitations whose invitee has a paid order. ``by_referred`` (for
    invite_click only, else missing): clicks whose user is a referred user. It equals the
    clicks when clicks are logged on the invitee at signup (the sample's convention): a person
    who clicks and never signs up then leaves no click, so the click → signup step cannot show
    a loss (``referral_outcomes.invite_funnel`` marks it not measurable). Steps whose table is
    absent are omitted (events absent -> only signup and first_paid_order).
    """
    rows: list[tuple[str, int, float]] = []
    referred = _referred_ids(ds, _table(ds, "referrals"))
    events = _table(ds, "events")
    if events is not None:
        ev = _need(events, "events", ("user_id", "event"))
        ev = ev.filter(ev.event.isin(["invite_sent", "invite_click"]))
        agg = ev.group_by("event").aggregate(n=ev.count()).to_pandas()
        got = dict(zip(agg["event"], agg["n"], strict=True))
        clicks = ev.filter(ev.event == "invite_click").select(user_id=ev.user_id.cast("string"))
        by_ref = int(clicks.semi_join(referred, "user_id").count().to_pandas())
        rows.append(("invite_sent", int(got.get("invite_sent", 0)), float("nan")))
        rows.append(("invite_click", int(got.get("invite_click", 0)), float(by_ref)))
    rows.append(("signup", int(referred.count().to_pandas()), float("nan")))
    orders = _table(ds, "orders")
    if orders is not None:
        od = paid_orders(_need(orders, "orders", ("user_id",)))
        buyers = od.select(user_id=od.user_id.cast("string")).distinct()
        n = referred.join(buyers, "user_id").count().to_pandas()
        rows.append(("first_paid_order", int(n), float("nan")))
    return pd.DataFrame(rows, columns=["step", "count", "by_referred"])


def invites_sent(ds: Any, window_days: float = 30) -> pd.DataFrame:
    """invite_sent events per user within [signup_at, signup_at + window_days]: user_id, invites."""
    users = _need(_table(ds, "users"), "users", ("user_id", "signup_at"))
    events = _need(_table(ds, "events"), "events", ("user_id", "ts", "event"))
    ev = events.filter(events.event == "invite_sent")
    u = users.select(uid=users.user_id.cast("string"), signup_at=users.signup_at)
    ev = ev.select(uid=ev.user_id.cast("string"), ts=ev.ts)
    j = ev.join(u, "uid")
    secs = float(window_days) * 86400.0
    lag = j.ts.epoch_seconds() - j.signup_at.epoch_seconds()
    j = j.filter((lag >= 0) & (lag <= secs))
    out = j.group_by("uid").aggregate(invites=j.count()).rename(user_id="uid").to_pandas()
    out["invites"] = out["invites"].astype("int64")
    return out


def user_activity(ds: Any) -> pd.DataFrame:
    """Per user: ``user_id, signup_at, referred, activity, last_active_at, converted, orders,
    revenue``.

    activity = activity events (:func:`growthlab.data.features.activity_events`: no delivered
    message or opt-out) other than :data:`ACQUISITION_EVENTS` with ``ts >= signup_at``, plus
    orders after signup;
    last_active_at = latest such event or order; converted = at least one paid order;
    revenue = Σ paid amount. Users with nothing get 0 / missing.
    """
    df = user_activity_expr(ds).to_pandas()
    for col, default in (("activity", 0), ("orders", 0), ("revenue", 0.0)):
        if col not in df.columns:
            df[col] = default
        df[col] = df[col].fillna(default)
    if "last_active_at" not in df.columns:
        df["last_active_at"] = pd.NaT
    df["activity"] = df["activity"].astype("int64")
    df["orders"] = df["orders"].astype("int64")
    df["converted"] = df["orders"] > 0
    df["referred"] = df["referred"].astype(bool)
    cols = ["user_id", "signup_at", "referred", "activity", "last_active_at", "converted"]
    out = df[[*cols, "orders", "revenue"]]
    return out.sort_values("user_id", ignore_index=True)  # the engine's join order varies


def user_activity_expr(ds: Any) -> ir.Table:
    """The engine-side table behind :func:`user_activity`, built once per Dataset (and kept
    beside a validated-load cache entry, see :mod:`growthlab.data.shared`): ``user_id,
    signup_at, referred`` and, where the source has them, ``activity, last_active_at`` and
    ``orders, revenue`` (missing where the user has nothing)."""
    return shared_table(ds, ("user_activity",), lambda: _user_activity_expr(ds), persist=True)


def _user_activity_expr(ds: Any) -> ir.Table:
    users = _need(_table(ds, "users"), "users", ("user_id", "signup_at"))
    if "referred" in users.columns:
        u = users.select(
            user_id=users.user_id.cast("string"),
            signup_at=users.signup_at,
            referred=users.referred,
        )
    else:
        u = users.select(user_id=users.user_id.cast("string"), signup_at=users.signup_at)
        ref = _table(ds, "referrals")
        if ref is not None:
            ids = ref.select(rid=ref.invitee_id.cast("string")).distinct().mutate(_r=True)
            u = u.left_join(ids, u.user_id == ids.rid).drop("rid")
            u = u.mutate(referred=u._r.fill_null(False)).drop("_r")
        else:
            u = u.mutate(referred=False)

    parts = []
    events = _table(ds, "events")
    if events is not None:
        ev = _need(events, "events", ("user_id", "ts", "event"))
        ev = activity_events(ev)
        ev = ev.filter(~ev.event.isin(ACQUISITION_EVENTS)).select(
            user_id=ev.user_id.cast("string"), ts=ev.ts
        )
        parts.append(ev)
    orders = _table(ds, "orders")
    if orders is not None:
        od = _need(orders, "orders", ("user_id", "ts", "amount"))
        parts.append(od.select(user_id=od.user_id.cast("string"), ts=od.ts))
    out = u
    if parts:
        acts = parts[0] if len(parts) == 1 else parts[0].union(parts[1], distinct=False)
        # Aggregate per user first (one pass, no join of every event to its user), keeping the
        # first timestamp: a user whose first activity is at or after signup keeps the totals;
        # only users with something before signup (rare) are recounted row by row. Same
        # result as joining every row to signup_at and filtering, at a fraction of the cost.
        per = acts.group_by("user_id").aggregate(
            _n=acts.ts.count(), _last=acts.ts.max(), _first=acts.ts.min()
        )
        s = u.select("user_id", _s=u.signup_at)
        per = per.join(s, "user_id")
        clean = per.filter(per._first >= per._s).select(
            "user_id", activity=per._n, last_active_at=per._last
        )
        early = per.filter(per._first < per._s).select("user_id", "_s")
        re = acts.join(early, "user_id")
        re = re.filter(re.ts >= re._s)
        re = re.group_by("user_id").aggregate(activity=re.count(), last_active_at=re.ts.max())
        a = clean.union(re, distinct=False)
        out = out.left_join(a, "user_id").drop("user_id_right")
    if orders is not None:
        pd_ = paid_orders(orders)
        o = pd_.group_by(uid=pd_.user_id.cast("string")).aggregate(
            orders=pd_.count(), revenue=pd_.amount.cast("float64").sum()
        )
        out = out.left_join(o, out.user_id == o.uid).drop("uid")
    return out
