"""Abuse signals, invite funnel and referred-vs-organic on hand-built fixtures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growthlab import referral_abuse as ra
from growthlab import referral_outcomes as ro
from growthlab.data import referral as dr

T0 = pd.Timestamp("2024-01-01")


def _fixture():
    # "ring": 6 invitees within 5 minutes, all sharing one device person with the inviter,
    # none active afterwards. "kol": 6 invitees over 6 days, distinct persons, all active.
    # "solo": self-referral only. "mixed": a burst of 5 within 8 minutes but real invitees.
    rows = []
    rows += [("ring", f"r{i}", T0 + pd.Timedelta(minutes=i)) for i in range(6)]
    rows += [("kol", f"k{i}", T0 + pd.Timedelta(days=i)) for i in range(6)]
    rows += [("solo", "solo", T0)]
    rows += [("mixed", f"m{i}", T0 + pd.Timedelta(minutes=2 * i)) for i in range(5)]
    ref = pd.DataFrame(rows, columns=["inviter_id", "invitee_id", "invited_at"])
    users = sorted(set(ref["inviter_id"]) | set(ref["invitee_id"]))
    persons = pd.DataFrame({"user_id": users, "person_id": users})
    persons.loc[persons["user_id"].str.match(r"^r\d$|^ring$"), "person_id"] = "P-ring"
    activity = pd.DataFrame({"user_id": users, "activity": 3})
    activity.loc[activity["user_id"].str.match(r"^r\d$"), "activity"] = 0
    return ref, persons, activity


def test_signals_and_reasons():
    ref, persons, activity = _fixture()
    out = ra.suspicious_inviters(ref, persons, activity, only_flagged=False).set_index("inviter_id")
    assert out.loc["ring", "max_burst"] == 6
    assert out.loc["ring", "shared_identity"] == 6
    assert out.loc["ring", "inactive_invitees"] == 6
    assert out.loc["ring", "signals"] == 3 and out.loc["ring", "fraud_like"]
    assert "burst (6 within 30 min)" in out.loc["ring", "reasons"]
    assert out.loc["kol", "max_burst"] == 1 and not out.loc["kol", "suspicious"]
    assert out.loc["mixed", "max_burst"] == 5
    assert out.loc["mixed", "signals"] == 1 and not out.loc["mixed", "fraud_like"]
    assert out.loc["solo", "self_referral"] == 1 and out.loc["solo", "suspicious"]
    assert not out.loc["solo", "fraud_like"]
    flagged = ra.suspicious_inviters(ref, persons, activity)
    assert set(flagged["inviter_id"]) == {"ring", "solo"}
    p, rcl = ra.precision_recall(flagged.loc[flagged["fraud_like"], "inviter_id"], ["ring"])
    assert (p, rcl) == (1.0, 1.0)


def test_burst_window_boundary():
    ref = pd.DataFrame(
        {
            "inviter_id": ["a"] * 4,
            "invitee_id": list("wxyz"),
            "invited_at": [T0 + pd.Timedelta(minutes=m) for m in (0, 10, 10.5, 30)],
        }
    )
    assert ra.max_burst(ref, burst_minutes=10).loc["a"] == 2
    assert ra.max_burst(ref, burst_minutes=10.5).loc["a"] == 3


def test_invite_funnel_rates():
    f = ro.invite_funnel({"invite_sent": 200, "invite_click": 80, "signup": 20, "paid": 5})
    assert f["step_rate"].iloc[1:].tolist() == pytest.approx([0.4, 0.25, 0.25])
    assert f["overall_rate"].tolist() == pytest.approx([1, 0.4, 0.1, 0.025])
    assert np.isnan(f.loc[0, "step_rate"])
    assert (f["step_low"].iloc[1:] < f["step_rate"].iloc[1:]).all()
    assert f["note"].tolist() == [""] * 4


def _counts(click_by_referred):
    return pd.DataFrame(
        {
            "step": ["invite_sent", "invite_click", "signup", "first_paid_order"],
            "count": [300, 80, 80, 30],
            "by_referred": [np.nan, click_by_referred, np.nan, np.nan],
        }
    )


def test_click_to_signup_is_not_measurable_when_only_signed_up_users_click():
    """The "100.0 %" of invite_click -> signup: clicks logged on the invitee at signup, so no
    click of a person who never signed up is in the data; the rate is marked, not shown."""
    f = ro.invite_funnel(_counts(80)).set_index("step")
    assert np.isnan(f.loc["signup", "step_rate"]) and np.isnan(f.loc["signup", "step_low"])
    assert f.loc["signup", "note"] == "clicks_of_signups_only"
    assert f.loc["signup", "overall_rate"] == pytest.approx(80 / 300)  # same unit: kept
    assert f.loc["invite_click", "step_rate"] == pytest.approx(80 / 300)
    assert f.loc["first_paid_order", "step_rate"] == pytest.approx(30 / 80)
    # clicks logged on the inviter's link (not on referred users): the step is measured
    g = ro.invite_funnel(_counts(0)).set_index("step")
    assert g.loc["signup", "step_rate"] == 1.0 and g.loc["signup", "note"] == ""


def test_a_step_larger_than_the_previous_one_is_not_a_rate():
    f = ro.invite_funnel({"invite_click": 10, "signup": 12})
    assert np.isnan(f.loc[1, "step_rate"]) and f.loc[1, "note"] == "more_than_previous"


def test_engine_counts_clicks_of_referred_users():
    # b and c accept a's invitations and click at their signup; x clicks without an invitation
    users = pd.DataFrame({"user_id": list("abcx"), "signup_at": T0})
    ref = pd.DataFrame(
        {
            "inviter_id": ["a", "a"],
            "invitee_id": ["b", "c"],
            "invited_at": T0 + pd.Timedelta(hours=1),
        }
    )
    ev = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "c"],
            "ts": T0 + pd.Timedelta(hours=1),
            "event": ["invite_sent"] * 3 + ["invite_click"] * 2,
            "channel": "wecom",
        }
    )
    ds = {"users": users, "referrals": ref, "events": ev}
    counts = dr.invite_funnel_counts(ds).set_index("step")
    assert counts.loc["invite_click", "by_referred"] == 2 == counts.loc["invite_click", "count"]
    assert ro.invite_funnel(counts.reset_index()).set_index("step").loc["signup", "note"] == (
        "clicks_of_signups_only"
    )
    ds["events"] = pd.concat([ev, ev.iloc[[-1]].assign(user_id="x")], ignore_index=True)
    counts = dr.invite_funnel_counts(ds).set_index("step")
    assert (
        counts.loc["invite_click", "by_referred"] == 2 and counts.loc["invite_click", "count"] == 3
    )
    funnel = ro.invite_funnel(counts.reset_index()).set_index("step")
    assert funnel.loc["signup", "step_rate"] == pytest.approx(2 / 3)


def test_one_burst_rule_and_default():
    assert ra.BURST_MINUTES == 30 and ra.BURST_SIZE == 5
    ref = pd.DataFrame(
        {
            "inviter_id": ["a"] * 3,
            "invitee_id": list("xyz"),
            "invited_at": [T0 + pd.Timedelta(minutes=m) for m in (0, 20, 29)],
        }
    )
    assert ra.max_burst(ref).loc["a"] == 3  # default window 30 min
    table = ra.suspicious_inviters(ref, only_flagged=False)
    assert table.loc[0, "max_burst"] == 3


def test_reasons_follow_the_language():
    ref, persons, activity = _fixture()
    zh = ra.suspicious_inviters(ref, persons, activity, lang="zh").set_index("inviter_id")
    assert zh.loc["ring", "reasons"].startswith("短时集中邀请（30 分钟内 6 人）；")
    assert "自己邀请自己（1 条）" in zh.loc["solo", "reasons"]


def test_engine_aggregations_and_referred_vs_organic():
    users = pd.DataFrame(
        {
            "user_id": ["a", "b", "c", "d"],
            "signup_at": [T0, T0 + pd.Timedelta(days=1), T0 + pd.Timedelta(days=1), T0],
        }
    )
    ref = pd.DataFrame(
        {"inviter_id": ["a", "a"], "invitee_id": ["b", "c"], "invited_at": users.signup_at[1:3]}
    )
    ev = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "c"],
            "ts": [T0 + pd.Timedelta(hours=h) for h in (1, 2, 24 * 45, 24, 24 * 70, 30)],
            "event": ["invite_sent", "invite_click", "invite_sent", "signup", "visit", "signup"],
            "channel": "wecom",
        }
    )
    od = pd.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "user_id": ["b", "b", "d"],
            "ts": [T0 + pd.Timedelta(days=d) for d in (3, 4, 5)],
            "amount": [10.0, 20.0, 7.0],
            "status": ["paid", "paid", "refunded"],
        }
    )
    ds = {"users": users, "referrals": ref, "events": ev, "orders": od}
    counts = dr.invite_funnel_counts(ds).set_index("step")
    assert counts["count"].to_dict() == {
        "invite_sent": 2,
        "invite_click": 1,
        "signup": 2,
        "first_paid_order": 1,
    }
    assert counts.loc["invite_click", "by_referred"] == 0  # a clicked, a is not referred
    inv = dr.invites_sent(ds, window_days=30)
    assert inv.set_index("user_id")["invites"].to_dict() == {"a": 1}
    act = dr.user_activity(ds).set_index("user_id")
    # invite_click is part of acquisition, not activity: a has 2 invite_sent events
    assert act.loc["a", "activity"] == 2 and act.loc["c", "activity"] == 0
    assert act.loc["b", "revenue"] == 30.0 and act.loc["b", "converted"]
    assert act.loc["d", "activity"] == 1 and not act.loc["d", "converted"]  # refunded order
    assert act["referred"].to_dict() == {"a": False, "b": True, "c": True, "d": False}

    res = ro.referred_vs_organic(act.reset_index(), as_of=T0 + pd.Timedelta(days=100))
    res = res.set_index(["metric", "group"])
    assert res.loc[("conversion", "referred"), "value"] == 0.5
    assert res.loc[("conversion", "organic"), "value"] == 0.0
    assert res.loc[("retention_60d", "referred"), "value"] == 0.5  # b active on day 70
    assert res.loc[("retention_30d", "organic"), "value"] == 0.5  # a active on day 45
    assert res.loc[("value_per_user", "difference"), "value"] == 15.0


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 120)), min_size=1, max_size=30),
    st.sampled_from([1, 5, 10, 30]),
)
def test_max_burst_matches_brute_force(rows, minutes):
    ref = pd.DataFrame(
        {
            "inviter_id": [a for a, _ in rows],
            "invitee_id": [f"i{k}" for k in range(len(rows))],
            "invited_at": [T0 + pd.Timedelta(minutes=m) for _, m in rows],
        }
    )
    expected = {}
    for a in {a for a, _ in rows}:
        ts = [m for b, m in rows if b == a]
        expected[a] = max(sum(1 for u in ts if t - minutes <= u <= t) for t in ts)
    assert ra.max_burst(ref, burst_minutes=minutes).to_dict() == expected
    table = ra.suspicious_inviters(ref, burst_minutes=minutes, only_flagged=False)
    assert table.set_index("inviter_id")["max_burst"].to_dict() == expected
