"""Issue #15: what the notebooks bring back to the driver is aggregates or per-user / per-edge
frames, and the narrower inputs give the very same results as the frames they replace.

Each test computes a notebook step both ways on the same synthetic source (DuckDB): the old
input (whole touchpoint rows, every order, whole ``users`` / ``referrals`` / ``costs``
tables) and the new one (credits per channel, purchase-day statistics per buyer, the columns
the step reads, spend per channel), and requires equal results. Sums that the engine adds in
another order than numpy may differ in the last bits (relative 1e-12 on the inputs; the
lifetime-value fits, which amplify that, 1e-9).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthlab import attribution, campaigns, referral, referral_abuse, value
from growthlab.data import campaigns as dcamp
from growthlab.data import features, journeys, synth
from growthlab.data import referral as dref
from growthlab.errors import AnalysisInputError


@pytest.fixture(scope="module")
def ds():
    return synth.generate(2500, seed=5)


# ------------------------------------------------------------------------------ attribution


def test_time_decay_in_the_engine_equals_time_decay_of_the_touch_rows(ds):
    for half_life in (7.0, 0.5):
        old = attribution.time_decay(journeys.decay_touchpoints(ds, 30, ["reach"]), half_life)
        new = journeys.time_decay(ds, 30, ["reach"], half_life)
        assert len(old) >= 3 and sorted(old["channel"]) == sorted(new["channel"])
        m = old.merge(new, on="channel", suffixes=("_old", "_new"))
        np.testing.assert_allclose(m["conversions_new"], m["conversions_old"], rtol=1e-12)
        np.testing.assert_allclose(m["value_new"], m["value_old"], rtol=1e-12)
        # every converting journey with a touch gives exactly one conversion
        tp = journeys.decay_touchpoints(ds, 30, ["reach"])
        assert new["conversions"].sum() == pytest.approx(
            tp.groupby(["user_id", "conv_seq"]).ngroups, rel=1e-12
        )


def test_time_decay_weights_planted_by_hand():
    """One journey, touches 0 and 7 days before the order (half-life 7): weights 2/3, 1/3."""
    from growthlab.data.funnel import memtables

    t = memtables(
        events=pd.DataFrame(
            {
                "user_id": ["u", "u"],
                "ts": pd.to_datetime(["2024-01-01", "2024-01-08"]),
                "channel": ["sms", "wecom"],
                "event": ["reach", "reach"],
            }
        ),
        orders=pd.DataFrame(
            {"user_id": ["u"], "ts": pd.to_datetime(["2024-01-08"]), "amount": [30.0]}
        ),
    )
    got = journeys.time_decay_expr(t["events"], t["orders"], 30, ["reach"], 7.0).to_pandas()
    got = got.set_index("channel")
    assert got.loc["wecom", "conversions"] == pytest.approx(2 / 3, rel=1e-12)
    assert got.loc["sms", "conversions"] == pytest.approx(1 / 3, rel=1e-12)
    assert got.loc["wecom", "value"] == pytest.approx(20.0, rel=1e-12)


def test_compare_with_engine_credits_equals_compare_with_touch_rows(ds):
    paths = journeys.paths(ds, 30, ["reach"])
    old = attribution.compare(paths, touchpoints=journeys.decay_touchpoints(ds, 30, ["reach"]))
    new = attribution.compare(paths, decay_credits=journeys.time_decay(ds, 30, ["reach"]))
    pd.testing.assert_frame_equal(old.credits, new.credits, rtol=1e-12)
    assert old.top()[0] == new.top()[0]
    with pytest.raises(AnalysisInputError, match="decay_credits"):
        attribution.compare(paths, decay_credits=pd.DataFrame({"channel": ["a"]}))


def test_spend_per_channel_gives_the_same_economics(ds):
    paths = journeys.paths(ds, 30, ["reach"])
    cmp = attribution.compare(paths, decay_credits=journeys.time_decay(ds, 30, ["reach"]))
    old = attribution.channel_economics(cmp, ds.frame("costs"))
    spend = journeys.channel_spend(ds)
    assert spend["channel"].is_unique and len(spend) < len(ds.frame("costs"))
    new = attribution.channel_economics(cmp, spend)
    pd.testing.assert_frame_equal(old.table, new.table, rtol=1e-12)
    pd.testing.assert_frame_equal(old.ranking, new.ranking, rtol=1e-12)


# ------------------------------------------------------------------------------ value


def test_purchase_stats_give_the_summaries_of_every_order(ds):
    end = value.last_full_day(ds.local(ds.as_of))
    orders = features.local_orders(ds)
    stats = features.purchase_stats(ds, end, holdout_days=60)
    assert stats.index.is_unique and len(stats) < len(orders)
    cal_end = end - pd.Timedelta(days=60)
    for old, new in (
        (value.summarise(orders, end), value.summarise_stats(stats)),
        (
            value.summarise(orders, cal_end, observation_end=end),
            value.summarise_stats(stats, calibration=True),
        ),
        (value.summarise(orders, end, "W"), value.summarise_stats(stats, "W")),
    ):
        pd.testing.assert_frame_equal(old.sort_index(), new, rtol=1e-12)


def test_analyse_clv_and_fit_value_from_purchase_stats(ds):
    end = value.last_full_day(ds.local(ds.as_of))
    orders = features.local_orders(ds).sort_values(["user_id", "ts"], kind="stable")
    old = value.analyse_clv(orders, end, 60)
    new = value.analyse_clv(features.purchase_stats(ds, end, 60), end, 60)
    assert old is not None and new is not None
    assert new.total == pytest.approx(old.total, rel=1e-9)
    assert new.holdout.error == pytest.approx(old.holdout.error, rel=1e-9, abs=1e-12)
    pd.testing.assert_frame_equal(old.holdout_table, new.holdout_table, rtol=1e-9)
    pd.testing.assert_series_equal(old.clv["clv"], new.clv["clv"], rtol=1e-9)
    a = campaigns.fit_value(orders, end, 365)
    b = campaigns.fit_value(dcamp.purchase_stats(ds, end), end, 365)
    pd.testing.assert_series_equal(a.sort_index(), b, rtol=1e-9)
    with pytest.raises(AnalysisInputError, match="calibration_end"):
        value.analyse_clv(features.purchase_stats(ds, end, 30), end, 60)


def test_purchase_stats_local_days_follow_daylight_saving():
    """New York: 03:30 UTC is the previous local day in summer (UTC-4), 04:30 UTC the same day;
    in winter (UTC-5) 04:30 UTC is the previous day, 05:30 the same: the engine's local days
    are ds.local's on both sides of the daylight-saving change."""
    ts = pd.to_datetime(
        ["2024-07-01 03:30", "2024-07-01 04:30", "2024-12-02 04:30", "2024-12-02 05:30"]
    )
    frames = {
        "users": pd.DataFrame({"user_id": ["a", "b"], "signup_at": ["2024-01-01", "2024-01-01"]}),
        "orders": pd.DataFrame(
            {
                "order_id": ["1", "2", "3", "4"],
                "user_id": ["a", "a", "b", "b"],
                "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "amount": [1.0, 2.0, 4.0, 8.0],
            }
        ),
    }
    from growthlab import data

    d = data.load(frames, timezone="America/New_York", as_of="2024-12-31")
    stats = features.purchase_stats(d, pd.Timestamp("2024-12-31"))
    local_days = d.local(pd.Series(ts)).dt.normalize()
    assert list(local_days.dt.day) == [30, 1, 1, 2]
    # a fixed winter offset (UTC-5) would put both of a's orders on 30 June (one day)
    assert stats.loc["a", "days"] == 2 and stats.loc["a", "first_value"] == 1.0
    assert stats.loc["a", "first_day"] == pd.Timestamp("2024-06-30")
    assert stats.loc["b", "days"] == 2 and stats.loc["b", "first_value"] == 4.0
    assert stats.loc["b", "first_day"] == pd.Timestamp("2024-12-01")


# ------------------------------------------------------------------------------ referral


def test_referral_page_from_its_columns_equals_from_the_whole_tables(ds):
    whole_users, whole_refs = ds.frame("users"), ds.frame("referrals")
    # signup weeks are local calendar weeks (pandas' conversion here, the engine's in dref)
    local_signup = ds.local(pd.to_datetime(whole_users["signup_at"]))
    whole_users["signup_week"] = local_signup.dt.to_period("W-SUN").dt.start_time
    users, edges = dref.users(ds), dref.edges(ds)
    assert len(users.columns) < len(whole_users.columns)
    assert len(edges.columns) < len(whole_refs.columns)
    fo_old, fo_new = referral.forest(whole_refs, whole_users), referral.forest(edges, users)
    pd.testing.assert_frame_equal(fo_old.nodes, fo_new.nodes)
    assert fo_old.counts == fo_new.counts
    as_of, w = ds.as_of, 30
    for fn in (
        lambda u, f: referral.k_factor(u, f, window_days=w, as_of=as_of),
        lambda u, f: referral.k_by_campaign(u, f, w, as_of, 10),
        lambda u, f: referral.k_by_share_channel(u, f, w, as_of),
        lambda u, f: referral.k_by_signup_week(u, f, w, as_of, 10),
        lambda u, f: referral.cycle_time(u, f),
        lambda u, f: referral.cascades(f),
        lambda u, f: referral.spreaders(f),
    ):
        pd.testing.assert_frame_equal(fn(whole_users, fo_old), fn(users, fo_new))
    g_old = referral.generation_summary(fo_old, whole_users, w, as_of, 10)
    g_new = referral.generation_summary(fo_new, users, w, as_of, 10)
    pd.testing.assert_frame_equal(g_old.generations, g_new.generations)
    activity = dref.user_activity(ds)
    s_old = referral_abuse.suspicious_inviters(fo_old, ds.persons, activity, 30, 5, 0.8)
    s_new = referral_abuse.suspicious_inviters(fo_new, ds.persons, activity, 30, 5, 0.8)
    pd.testing.assert_frame_equal(s_old, s_new)
    flagged = campaigns.flagged_inviters(s_new)
    inputs = dcamp.inputs(ds, exclude_inviters=flagged)
    e_old = campaigns.analyse(inputs, fo_old, flagged, None, as_of=as_of)
    e_new = campaigns.analyse(inputs, fo_new, flagged, None, as_of=as_of)
    pd.testing.assert_frame_equal(e_old.table, e_new.table)
