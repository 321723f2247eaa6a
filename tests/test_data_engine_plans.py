"""Engine-side aggregations (growthlab.data.*) after the query-plan work of issue #13.

Each rewritten expression is checked against a plain pandas reference of its documented
definition on small hand-made tables that reach the corners the synthetic data never does
(activity before signup, assignments without a time, null channels, ties), plus the plan
properties the rewrites are for (no nested-loop join; one shared user-period pass).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

from growthlab.data import daily, features, funnel, journeys, referral, shared
from growthlab.data.contract import NOT_ACTIVITY_EVENTS

T0 = pd.Timestamp("2025-03-01 08:00")


def _ts(hours: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=hours)


class Tables:
    """The Dataset interface (``has/table/as_of``) over in-memory DuckDB tables."""

    def __init__(self, as_of: Any = None, **frames: pd.DataFrame):
        self.con = ibis.duckdb.connect()
        self._t = {name: self.con.create_table(name, df) for name, df in frames.items()}
        self.as_of = None if as_of is None else pd.Timestamp(as_of)
        self.timezone = "UTC"

    @property
    def tables(self) -> list[str]:
        return list(self._t)

    def has(self, name: str) -> bool:
        return name in self._t

    def table(self, name: str) -> ir.Table:
        return self._t[name]


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.sort_values(keys).reset_index(drop=True)


# ------------------------------------------------------------------------------ A/B outcomes


@pytest.fixture
def ab():
    assignments = pd.DataFrame(
        {
            "experiment_id": ["e1", "e1", "e1", "e1", "e2"],
            "user_id": ["a", "b", "c", "d", "a"],
            "variant": ["control", "treatment", "treatment", "control", "x"],
            "assigned_at": [_ts(0), _ts(0), pd.NaT, _ts(10), _ts(48)],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(8)],
            "user_id": ["a", "a", "a", "b", "c", "c", "d", "d"],
            "ts": [_ts(-1), _ts(1), _ts(24 * 20), _ts(0), _ts(-100), _ts(5), _ts(11), _ts(12)],
            "amount": [5.0, 10.0, 7.0, 3.0, 1.0, 2.0, 4.0, 6.0],
            "status": ["paid", "paid", "paid", "paid", "paid", "paid", "refunded", "paid"],
        }
    )
    return assignments, orders


def _ab_reference(assignments: pd.DataFrame, orders: pd.DataFrame, window_days) -> pd.DataFrame:
    """SPEC definition: paid orders at or after assigned_at and before assigned_at + window
    (no assigned_at: every paid order of the user)."""
    paid = orders[orders["status"].isna() | (orders["status"] == "paid")]
    rows = []
    for a in assignments.itertuples(index=False):
        o = paid[paid["user_id"] == a.user_id]
        if pd.notna(a.assigned_at):
            o = o[o["ts"] >= a.assigned_at]
            if window_days is not None:
                o = o[o["ts"] < a.assigned_at + pd.Timedelta(days=window_days)]
        rows.append(
            {
                "experiment_id": a.experiment_id,
                "user_id": a.user_id,
                "variant": a.variant,
                "converted": len(o) > 0,
                "revenue": float(o["amount"].sum()),
                "orders": len(o),
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("window_days", [14, 0.5, None])
def test_ab_outcomes_matches_reference(ab, window_days):
    assignments, orders = ab
    ds = Tables(assignments=assignments, orders=orders)
    got = daily.ab_outcomes(ds, window_days=window_days)
    want = _ab_reference(assignments, orders, window_days)
    keys = ["experiment_id", "user_id"]
    pd.testing.assert_frame_equal(
        _sorted(got, keys), _sorted(want, keys)[list(got.columns)], check_dtype=False
    )


def test_ab_outcomes_without_orders_table(ab):
    assignments, _ = ab
    out = daily.ab_outcomes(Tables(assignments=assignments))
    assert len(out) == len(assignments)
    assert not out["converted"].any() and (out["revenue"] == 0).all()


def test_ab_outcomes_plan_has_no_nested_loop_join(ab):
    """The window condition inside the outer join made DuckDB join every assignment with every
    order (BLOCKWISE_NL_JOIN, 400 s at 1M users); it must be a hash join on the user."""
    assignments, orders = ab
    ds = Tables(assignments=assignments, orders=orders)
    expr = daily.ab_outcomes_expr(ds.table("assignments"), ds.table("orders"), 14)
    plan = "\n".join(r[1] for r in ds.con.raw_sql(f"EXPLAIN {ibis.to_sql(expr)}").fetchall())
    assert "HASH_JOIN" in plan
    assert "NESTED_LOOP" not in plan and "BLOCKWISE_NL" not in plan and "CROSS" not in plan


# ------------------------------------------------------------------------------ user activity


@pytest.fixture
def people():
    users = pd.DataFrame(
        {
            "user_id": ["a", "b", "c", "d"],
            "signup_at": [_ts(0), _ts(10), _ts(20), _ts(30)],
            "referred": [True, False, True, False],
        }
    )
    events = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "b", "c", "c", "a", "d"],
            # b has events before signup (the row-by-row recount); c only acquisition events;
            # d only a message the brand sent (no activity)
            "ts": [
                _ts(0),
                _ts(5),
                _ts(30),
                _ts(1),
                _ts(12),
                _ts(60),
                _ts(20),
                _ts(21),
                _ts(-3),
                _ts(50),
            ],  # fmt: skip
            "event": [
                "signup",
                "visit",
                "click",
                "reach",
                "visit",
                "engage",
                "signup",
                "invite_click",
                "reach",
                "reach",
            ],
            "channel": ["wecom", "wecom", None, "sms", "sms", "live", "live", "live", "sms", "sms"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4"],
            "user_id": ["a", "b", "b", "d"],
            "ts": [_ts(6), _ts(2), _ts(70), _ts(29)],
            "amount": [10.0, 3.0, 4.0, 9.0],
            "status": ["paid", "refunded", "paid", "paid"],
        }
    )
    return users, events, orders


def test_user_activity_matches_reference(people):
    users, events, orders = people
    got = referral.user_activity(Tables(users=users, events=events, orders=orders))
    acts = pd.concat(
        [
            events.loc[
                ~events["event"].isin([*referral.ACQUISITION_EVENTS, *NOT_ACTIVITY_EVENTS]),
                ["user_id", "ts"],
            ],
            orders[["user_id", "ts"]],
        ]
    ).merge(users[["user_id", "signup_at"]], on="user_id")
    acts = acts[acts["ts"] >= acts["signup_at"]]
    per = acts.groupby("user_id")["ts"].agg(["size", "max"])
    got = got.set_index("user_id")
    assert got["activity"].to_dict() == {u: int(per["size"].get(u, 0)) for u in users["user_id"]}
    assert got.loc["b", "activity"] == 3  # the visit, the engage and the paid order after signup
    for u in users["user_id"]:
        want = per["max"].get(u, pd.NaT)
        assert (pd.isna(want) and pd.isna(got.loc[u, "last_active_at"])) or (
            pd.Timestamp(got.loc[u, "last_active_at"]) == want
        )
    assert got["orders"].to_dict() == {"a": 1, "b": 1, "c": 0, "d": 1}


def test_activity_previous_day_matches_reference(people):
    users, events, orders = people
    ds = Tables(as_of=_ts(100), users=users, events=events, orders=orders)
    got = features.activity(ds)
    paid = orders[orders["status"] == "paid"]
    acts = events[~events["event"].isin(NOT_ACTIVITY_EVENTS)]
    days = pd.concat([acts[["user_id", "ts"]], paid[["user_id", "ts"]]])
    days = days.assign(day=days["ts"].dt.floor("D"))[["user_id", "day"]].drop_duplicates()
    for u in users["user_id"]:
        d = sorted(days.loc[days["user_id"] == u, "day"])
        assert got.loc[u, "active_days"] == len(d)
        assert pd.Timestamp(got.loc[u, "last_active"]) == d[-1]
        prev = got.loc[u, "previous_active"]
        assert (len(d) < 2 and pd.isna(prev)) or pd.Timestamp(prev) == d[-2]


def test_user_features_matches_reference(people):
    users, events, orders = people
    ds = Tables(as_of=_ts(100), users=users, events=events, orders=orders)
    got = features.user_features(ds, min_share=0.0)
    ev = events
    engage = ~ev["event"].isin(features.SYSTEM_EVENTS)
    want = pd.DataFrame(index=pd.Index(sorted(users["user_id"]), name="user_id"))
    g = ev.groupby("user_id")
    want["events"] = g.size()
    acts = ev[~ev["event"].isin(NOT_ACTIVITY_EVENTS)]
    want["active_days"] = acts.assign(d=acts["ts"].dt.floor("D")).groupby("user_id")["d"].nunique()
    want["channels_used"] = g["channel"].nunique()
    for t in ev["event"].unique():
        want[f"ev_{t}"] = (ev["event"] == t).groupby(ev["user_id"]).sum()
    want = want.fillna(0.0)
    for c in want.columns:
        assert np.allclose(got[c], want[c]), c
    # share of all the user's engagement events, those without a channel included
    mix = ev[engage].groupby(["user_id", "channel"]).size().unstack(fill_value=0)
    share = mix.div(engage.groupby(ev["user_id"]).sum().reindex(mix.index), axis=0)
    for c in share.columns:
        assert np.allclose(got[f"ch_{c}"].reindex(share.index), share[c]), c
    assert list(got.columns[:3]) == ["events", "active_days", "channels_used"]


# ------------------------------------------------------------------------------ funnel


def test_cohort_breakdowns_share_one_user_period_pass(people):
    users, events, _ = people
    ds = Tables(users=users, events=events)
    sizes, act = funnel.cohort_activity(ds, "W")
    sizes_r, act_r = funnel.cohort_activity(ds, "W", by="referred")
    assert len(shared._SHARED[ds]) == 1  # the second breakdown reused the first pass
    direct = funnel.cohort_activity_expr(ds.table("users"), ds.table("events"), "W", "referred")
    keys = ["referred", "cohort", "period_start"]
    pd.testing.assert_frame_equal(
        _sorted(act_r, keys), _sorted(direct[1].to_pandas(), keys), check_dtype=False
    )
    # active users = distinct users with an activity event in the period (reference)
    e = events[~events["event"].isin(NOT_ACTIVITY_EVENTS)].merge(users, on="user_id")
    e["cohort"] = e["signup_at"].dt.to_period("W").dt.start_time
    e["period_start"] = e["ts"].dt.to_period("W").dt.start_time
    e = e[e["period_start"] >= e["cohort"]]
    ref = e.groupby(["cohort", "period_start"])["user_id"].nunique()
    got = act.set_index(["cohort", "period_start"])["active_users"]
    assert got.sort_index().to_dict() == ref.sort_index().to_dict()


def test_step_times_matches_reference(people):
    users, events, _ = people
    steps = ["signup", "visit", "click"]
    got = funnel.step_times(Tables(events=events), steps, window_days=1).set_index("user_id")
    assert pd.Timestamp(got.loc["a", "visit"]) == _ts(5)
    assert pd.isna(got.loc["a", "click"])  # 30 h after signup: outside the 1-day window
    got7 = funnel.step_times(Tables(events=events), steps, window_days=7).set_index("user_id")
    assert pd.Timestamp(got7.loc["a", "click"]) == _ts(30)
    assert pd.isna(got7.loc["c", "visit"])


# ------------------------------------------------------------------------------ journeys


def test_touchpoints_come_sorted_like_pandas(people):
    users, events, orders = people
    ds = Tables(events=events, orders=orders)
    tp = journeys.touchpoints(ds, lookback_days=30)
    again = tp.sort_values(["user_id", "conv_seq", "ts", "channel"], na_position="last")
    pd.testing.assert_frame_equal(tp, again.reset_index(drop=True))
    assert tp["conv_seq"].isna().any() and tp["conv_seq"].notna().any()


def test_touchpoints_converted_only_is_what_time_decay_reads(people):
    from growthlab import attribution

    users, events, orders = people
    ds = Tables(events=events, orders=orders)
    every = journeys.touchpoints(ds, lookback_days=30)
    conv = journeys.touchpoints(ds, lookback_days=30, converted_only=True)
    pd.testing.assert_frame_equal(conv, every[every["converted"]].reset_index(drop=True))
    pd.testing.assert_frame_equal(attribution.time_decay(every), attribution.time_decay(conv))
