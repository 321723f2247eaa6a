"""Tests for growthlab.funnel and growthlab.data.funnel (SPEC §4.4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growthlab import funnel as F
from growthlab.data import funnel as dfun
from growthlab.errors import AnalysisInputError
from growthlab.stats import wilson_interval

STEPS = ["visit", "add_to_cart", "purchase"]
D = pd.Timestamp("2024-05-06")  # a Monday


def _ev(rows):
    return pd.DataFrame(
        [(u, D + pd.Timedelta(hours=h), e) for u, h, e in rows], columns=["user_id", "ts", "event"]
    )


def test_funnel_counts_exact_on_hand_fixture():
    ev = _ev(
        [
            ("a", 0, "visit"),
            ("a", 1, "add_to_cart"),
            ("a", 5, "purchase"),  # complete
            ("b", 0, "visit"),
            ("b", 2, "add_to_cart"),
            ("b", 24 * 8, "purchase"),  # purchase outside the 7-day window
            ("c", 10, "visit"),
            ("c", 3, "add_to_cart"),  # cart before visit: out of order
            ("c", 11, "purchase"),
            ("d", 0, "add_to_cart"),
            ("d", 1, "purchase"),  # never visited
            ("e", 0, "visit"),
            ("e", 0, "visit"),
            ("e", 30, "add_to_cart"),
            ("e", 29, "purchase"),  # purchase before cart: does not count
            ("e", 40, "purchase"),  # a later purchase does
            ("f", 50, "visit"),
            ("f", 1, "visit"),  # first visit starts the window: cart at 24*7+2 is outside
            ("f", 24 * 7 + 2, "add_to_cart"),
        ]
    )
    times = dfun.step_times_frame(ev, STEPS, window_days=7)
    assert list(times["user_id"]) == ["a", "b", "c", "e", "f"]
    res = F.funnel(times, STEPS)
    assert res["users"].tolist() == [5, 3, 2]
    assert res["step_conversion"].tolist() == pytest.approx([1.0, 3 / 5, 2 / 3])
    assert res["overall_conversion"].tolist() == pytest.approx([1.0, 3 / 5, 2 / 5])
    lo, hi = wilson_interval(2, 5)
    assert res["overall_low"].iloc[2] == pytest.approx(float(lo))
    assert res["overall_high"].iloc[2] == pytest.approx(float(hi))
    # median hours visit->cart over a (1h), b (2h), e (30h)
    assert res["median_hours_from_previous"].iloc[1] == pytest.approx(2.0)
    assert res["median_hours_from_previous"].iloc[2] == pytest.approx((4 + 10) / 2)
    drop = F.largest_drop_off(res)
    assert (drop.from_step, drop.to_step, drop.lost_users) == ("visit", "add_to_cart", 2)
    assert (drop.from_users, drop.first_users) == (5, 5)
    assert drop.drop_off == pytest.approx(0.4)
    lo, hi = wilson_interval(3, 5)
    assert (drop.low, drop.high) == pytest.approx((1 - float(hi), 1 - float(lo)))
    lo2, hi2 = wilson_interval(2, 3)  # runner-up: cart -> purchase, 1 - 2/3
    assert (drop.runner_up_low, drop.runner_up_high) == pytest.approx(
        (1 - float(hi2), 1 - float(lo2))
    )
    done = F.overall_completion(res)
    assert (done.first_step, done.last_step, done.started, done.completed) == (
        "visit",
        "purchase",
        5,
        2,
    )
    assert done.rate == pytest.approx(0.4)


def test_funnel_breakdown_and_validation():
    ev = _ev([("a", 0, "visit"), ("a", 1, "add_to_cart"), ("b", 0, "visit")])
    times = dfun.step_times_frame(ev, STEPS[:2], window_days=1).assign(channel=["sms", "live"])
    res = F.funnel(times, STEPS[:2], by="channel").set_index(["channel", "step"])
    assert res.loc[("sms", "add_to_cart"), "users"] == 1
    assert res.loc[("live", "add_to_cart"), "users"] == 0
    with pytest.raises(AnalysisInputError, match="at least two"):
        dfun.step_times_frame(ev, ["visit"])
    with pytest.raises(AnalysisInputError, match="window_days"):
        dfun.step_times_frame(ev, STEPS, window_days=0)
    with pytest.raises(AnalysisInputError, match="missing"):
        F.funnel(times, ["visit", "purchase"])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(list("uvwxyz")),
            st.integers(0, 400),
            st.sampled_from(STEPS),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_funnel_matches_bruteforce_definition(rows):
    ev = _ev(rows)
    window = pd.Timedelta(days=7)
    expected = [0, 0, 0]
    for _, g in ev.groupby("user_id"):
        first = g.loc[g["event"] == STEPS[0], "ts"]
        if first.empty:
            continue
        start = prev = first.min()
        expected[0] += 1
        for k in (1, 2):
            ok = g[(g["event"] == STEPS[k]) & (g["ts"] >= prev) & (g["ts"] <= start + window)]
            if ok.empty:
                break
            prev = ok["ts"].min()
            expected[k] += 1
    times = dfun.step_times_frame(ev, STEPS, window_days=7)
    if expected[0] == 0:
        assert len(times) == 0
        return
    res = F.funnel(times, STEPS)
    assert res["users"].tolist() == expected
    assert (np.diff(res["users"]) <= 0).all()


def test_retention_matrix_exact_on_fixture():
    users = pd.DataFrame(
        {
            "user_id": ["a", "b", "c", "d", "e"],
            "signup_at": pd.to_datetime(
                [
                    "2024-05-06 09:00",
                    "2024-05-08 00:00",
                    "2024-05-12 23:00",
                    "2024-05-13 00:00",
                    "2024-05-20 00:00",
                ]
            ),
            "referred": [True, False, True, False, True],
        }
    )
    ev = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "c", "d", "d", "zz", "e"],
            "ts": pd.to_datetime(
                [
                    "2024-05-06 10:00",  # a week 0
                    "2024-05-14 00:00",  # a week 1
                    "2024-05-15 00:00",  # a week 1 again (counted once)
                    "2024-05-21 00:00",  # b week 2
                    "2024-05-01 00:00",  # b before signup: ignored
                    "2024-05-19 00:00",  # c week 1
                    "2024-05-13 00:00",  # d week 0 (cohort 05-13)
                    "2024-05-27 00:00",  # d week 2
                    "2024-05-13 00:00",  # unknown user: ignored
                    "2024-05-22 00:00",  # e week 0
                ]
            ),
        }
    )
    sizes, act = dfun.cohort_activity_frames(users, ev, "W")
    m = F.retention_matrix(sizes, act, "W", as_of="2024-06-03")
    assert list(m.index) == list(pd.to_datetime(["2024-05-06", "2024-05-13", "2024-05-20"]))
    expected = np.array(
        [
            [1 / 3, 2 / 3, 1 / 3, 0.0],
            [1.0, 0.0, 1.0, np.nan],  # cohort 05-13 has completed week 2 only
            [1.0, 0.0, np.nan, np.nan],
        ]
    )
    np.testing.assert_allclose(m.to_numpy(), expected, equal_nan=True)
    assert not m.attrs
    assert F.cohort_sizes(sizes, "W", as_of="2024-06-03").to_dict() == {
        pd.Timestamp("2024-05-06"): 3,
        pd.Timestamp("2024-05-13"): 1,
        pd.Timestamp("2024-05-20"): 1,
    }
    sizes_b, act_b = dfun.cohort_activity_frames(users, ev, "W", by="referred")
    curves = F.retention_curve(sizes_b, act_b, "W", as_of="2024-06-03", by="referred")
    ref = curves[curves["referred"] == "True"].set_index("period")
    # referred: a, c (cohort 05-06), e (05-20); week 1 active: a, c; at risk 3
    assert ref.loc[1, "users"] == 3 and ref.loc[1, "active"] == 2
    assert ref.loc[2, "users"] == 2 and ref.loc[2, "active"] == 0
    monthly = F.retention_matrix(
        *dfun.cohort_activity_frames(users, ev, "M"), "M", as_of="2024-06-03"
    )
    assert monthly.shape == (1, 1) and monthly.iloc[0, 0] == 1.0
    # the period containing as_of (week of 05-27) is incomplete: censored
    partial = F.retention_matrix(sizes, act, "W", as_of="2024-05-29")
    assert list(partial.columns) == [0, 1, 2]
    assert np.isnan(partial.iloc[1, 2]) and np.isnan(partial.iloc[2, 1])
    # a cohort without any complete period is dropped
    assert len(F.retention_matrix(sizes, act, "W", as_of="2024-05-22")) == 2
    assert partial.iloc[0, 2] == pytest.approx(1 / 3)


def test_weekday_hour_and_fatigue():
    hourly = pd.DataFrame(
        {
            "hour": pd.to_datetime(["2024-05-06 09:00", "2024-05-13 09:00", "2024-05-12 23:00"]),
            "events": [3, 4, 5],
        }
    )
    grid = F.weekday_hour(hourly)
    assert grid.shape == (7, 24)
    assert grid.loc[0, 9] == 7 and grid.loc[6, 23] == 5 and grid.to_numpy().sum() == 12
    counts = pd.DataFrame(
        {
            "channel": ["sms", "sms", "sms", "live"],
            "contacts": [1, 2, 12, 1],
            "user_weeks": [100, 50, 10, 20],
            "responders": [30, 10, 1, 5],
            "responses": [40, 12, 1, 5],
        }
    )
    fc = F.fatigue_curve(counts, max_contacts=10).set_index(["channel", "contacts"])
    assert fc.loc[("sms", 1), "response_rate"] == pytest.approx(0.3)
    assert fc.loc[("sms", 10), "responses_per_contact"] == pytest.approx(1 / 120)
    assert fc.loc[("sms", 2), "low"] < 0.2 < fc.loc[("sms", 2), "high"]


def test_engine_contact_response_and_hourly():
    ev = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "b"],
            "ts": pd.to_datetime(
                [
                    "2024-05-06 09:10",
                    "2024-05-07 00:00",
                    "2024-05-07 01:00",
                    "2024-05-06 09:50",
                    "2024-05-20 00:00",
                    "2024-05-08 00:00",
                ]
            ),
            "channel": ["sms", "sms", "sms", "sms", "sms", "mini_program"],
            "event": ["reach", "reach", "click", "reach", "click", "purchase"],
        }
    )
    t = dfun.memtables(events=ev)
    cr = dfun.contact_response_expr(t["events"]).to_pandas().set_index("contacts")
    assert cr.loc[2, "user_weeks"] == 1 and cr.loc[2, "responders"] == 1
    assert cr.loc[1, "user_weeks"] == 1 and cr.loc[1, "responders"] == 0
    # a purchase in another channel the same week counts only with same_channel=False
    any_ch = dfun.contact_response_expr(t["events"], ["reach"], ["click", "purchase"], False)
    any_ch = any_ch.to_pandas().set_index("contacts")
    assert any_ch.loc[1, "responders"] == 1 and any_ch.loc[2, "responses"] == 1
    same = dfun.contact_response_expr(t["events"], ["reach"], ["click", "purchase"], True)
    assert same.to_pandas().set_index("contacts").loc[1, "responders"] == 0
    hc = dfun.hourly_counts_expr(t["events"], ["reach"]).to_pandas().set_index("hour")
    assert hc.loc[pd.Timestamp("2024-05-06 09:00"), "events"] == 2
    assert list(hc.columns) == ["events"]


def test_fatigue_curve_recovers_planted_click_fatigue():
    synth = pytest.importorskip("growthlab.data.synth")
    ds = synth.generate(5000, seed=2)
    click = ds.truth["channels"].get("click")
    if click is None:
        pytest.skip("this synthetic source plants no click fatigue")
    counts = dfun.contact_response(ds, ["reach"], ["click"], same_channel=True)
    pooled = (
        F.fatigue_curve(counts, max_contacts=3)
        .groupby("contacts")[["responses", "contacts_sent"]]
        .sum()
    )
    per_contact = (pooled["responses"] / pooled["contacts_sent"]).to_numpy()
    # every reach of a user with c reaches on a channel is clicked with base * fatigue^(c-1);
    # a user's reaches fall within ~6 days, so contacts per week ~ c (weeks split a few)
    base, fat = click["base"], click["fatigue"]
    assert per_contact[0] == pytest.approx(base, abs=0.05)
    assert per_contact[1] == pytest.approx(base * fat, abs=0.05)
    assert per_contact[0] > per_contact[1] > per_contact[2]


def test_fatigue_curve_pooled_over_channels_keeps_every_channel():
    counts = pd.DataFrame(
        {
            "channel": ["sms", "sms", "wecom", "wecom", "wecom"],
            "contacts": [1, 3, 1, 3, 12],
            "user_weeks": [100, 5, 50, 40, 2],
            "responders": [20, 1, 15, 8, 0],
            "responses": [25, 1, 20, 9, 0],
        }
    )
    pooled = F.fatigue_curve(counts, max_contacts=10, by=None).set_index("contacts")
    assert "channel" not in pooled.columns
    assert pooled.loc[1, "user_weeks"] == 150 and pooled.loc[3, "user_weeks"] == 45
    # small per-channel buckets are not lost from the pooled curve
    assert pooled.loc[3, "responses_per_contact"] == pytest.approx(10 / (3 * 45))
    assert pooled.loc[10, "contacts_sent"] == 24  # 12 contacts pooled into the last bucket
    assert pooled.loc[1, "response_rate"] == pytest.approx(35 / 150)
    per_channel = F.fatigue_curve(counts, max_contacts=10)
    assert per_channel["user_weeks"].sum() == pooled["user_weeks"].sum()


# ------------------------------------------------------------------ breakdowns and contrasts


def test_completion_by_joins_groups_and_names_their_weakest_step():
    ev = _ev(
        [
            ("a", 0, "visit"),
            ("a", 1, "add_to_cart"),
            ("a", 2, "purchase"),
            ("b", 0, "visit"),
            ("b", 1, "add_to_cart"),
            ("c", 0, "visit"),
            ("d", 0, "visit"),  # d has no users row: group (none)
        ]
    )
    times = dfun.step_times_frame(ev, STEPS, window_days=7)
    users = pd.DataFrame({"user_id": ["a", "b", "c"], "channel": ["sms", "sms", "live"]})
    out = F.completion_by(times, users, STEPS, "channel").set_index("channel")
    assert out.index.tolist() == ["sms", "(none)", "live"]  # by completion, then name
    assert out.loc["sms", ["started", "completed"]].tolist() == [2, 1]
    assert out.loc["sms", "completion"] == pytest.approx(0.5)
    lo, hi = wilson_interval(1, 2)
    assert out.loc["sms", ["low", "high"]].tolist() == pytest.approx([float(lo), float(hi)])
    # sms: visit -> cart keeps 2/2, cart -> purchase keeps 1/2: the weakest step
    assert out.loc["sms", ["weakest_from", "weakest_to"]].tolist() == ["add_to_cart", "purchase"]
    assert out.loc["live", "weakest_drop_off"] == 1.0
    with pytest.raises(AnalysisInputError, match="channel"):
        F.completion_by(times, users.drop(columns="channel"), STEPS, "channel")


def _curve_frames():
    sizes = pd.DataFrame(
        {
            "channel": ["referral", "sms", None],
            "cohort": pd.to_datetime(["2024-05-06"] * 3),
            "users": [10, 6, 4],
        }
    )
    activity = pd.DataFrame(
        {
            "channel": ["referral", "sms", None, "referral", "sms"],
            "cohort": pd.to_datetime(["2024-05-06"] * 5),
            "period_start": pd.to_datetime(["2024-05-06"] * 3 + ["2024-05-13"] * 2),
            "active_users": [10, 6, 4, 8, 2],
        }
    )
    return sizes, activity


def test_acquisition_retention_pools_other_channels():
    sizes, activity = _curve_frames()
    curves = F.acquisition_retention(sizes, activity, "W", as_of="2024-06-03")
    at1 = curves[curves["period"] == 1].set_index("acquisition")
    assert set(curves["acquisition"]) == set(F.ACQUISITION_GROUPS)
    assert at1.loc["referral_channel", ["users", "active"]].tolist() == [10, 8]
    assert at1.loc["other_channels", ["users", "active"]].tolist() == [10, 2]  # sms + missing
    c = F.retention_contrast(curves, period=4)  # beyond the curves: the last observed period
    assert c.period == int(curves["period"].max())
    c1 = F.retention_contrast(curves, period=1)
    assert (c1.group, c1.other, c1.retention, c1.other_retention) == (
        "referral_channel",
        "other_channels",
        pytest.approx(0.8),
        pytest.approx(0.2),
    )
    assert c1.low < 0.8 < c1.high and (c1.users, c1.other_users) == (10, 10)
    only_sms = F.acquisition_retention(
        sizes[sizes["channel"] == "sms"], activity[activity["channel"] == "sms"], "W", "2024-06-03"
    )
    assert F.retention_contrast(only_sms) is None


def test_weekday_hour_converts_utc_to_local_and_peak_time():
    hourly = pd.DataFrame(
        {"hour": pd.to_datetime(["2024-05-05 16:00", "2024-05-06 01:00"]), "events": [30, 10]}
    )
    grid = F.weekday_hour(hourly, timezone="Asia/Shanghai")  # UTC+8
    assert grid.loc[0, 0] == 30 and grid.loc[0, 9] == 10  # Sunday 16:00 UTC = Monday 00:00
    peak = F.peak_time(grid)
    assert (peak.weekday, peak.hour, peak.busiest_hour, peak.events) == (0, 0, 0, 40)
    assert peak.share == pytest.approx(0.75) and peak.low < 0.75 < peak.high
    assert F.peak_time(grid * 0) is None


def test_rate_interval_is_the_exact_poisson_interval():
    lo, hi = F.rate_interval(np.array([0, 10]), np.array([100, 100]))
    # Garwood: x=0 -> [0, 3.689/n]; x=10 -> [4.795, 18.39] / n
    assert lo.tolist() == pytest.approx([0.0, 0.04795], abs=1e-4)
    assert hi.tolist() == pytest.approx([0.03689, 0.18390], abs=1e-4)
    assert np.isnan(F.rate_interval(1, 0)[0])


def test_fatigue_contrast_and_min_user_weeks():
    counts = pd.DataFrame(
        {
            "channel": ["sms", "sms", "sms", "wecom"],
            "contacts": [1, 2, 5, 1],
            "user_weeks": [100, 50, 4, 100],
            "responders": [40, 30, 2, 50],
            "responses": [40, 30, 2, 50],
        }
    )
    curve = F.fatigue_curve(counts, max_contacts=4, by=None, min_user_weeks=10)
    assert curve["contacts"].tolist() == [1, 2]  # the pooled 4+ bucket has 4 user-weeks
    assert (curve["per_contact_low"] < curve["responses_per_contact"]).all()
    fc = F.fatigue_contrast(counts, 4, min_user_weeks=10)
    assert (fc.low_contacts, fc.high_contacts) == (1, 2)
    assert fc.low_rate == pytest.approx(90 / 200) and fc.high_rate == pytest.approx(30 / 100)
    assert set(fc.by_channel["channel"]) == {"sms", "wecom"}
    assert F.fatigue_contrast(counts, 4, min_user_weeks=1000) is None
    assert F.fatigue_contrast(None) is None and F.fatigue_contrast(counts.iloc[:0]) is None


def test_display_tables_are_text_in_the_page_language():
    from growthlab.plots import funnel as P

    ev = _ev([("a", 0, "visit"), ("a", 1, "add_to_cart"), ("b", 0, "visit")])
    times = dfun.step_times_frame(ev, STEPS, window_days=7)
    steps = P.steps_table(F.funnel(times, STEPS), "zh")
    assert steps["funnel_step"].tolist() == ["访问", "加购", "购买"]
    assert steps["step_conversion"].isna().tolist() == [True, False, False]  # first step: empty
    assert steps["step_users"].tolist() == ["2", "1", "0"]
    users = pd.DataFrame({"user_id": ["a", "b"], "channel": ["sms", "(suppressed)"]})
    by = P.completion_table(F.completion_by(times, users, STEPS, "channel"), "channel", "zh")
    assert "（已合并小组）" in by["channel"].tolist()
    assert by["weakest_step"].iloc[0].startswith("访问 → 加购（")
