"""growthlab.experiments (analysis on sums) and growthlab.data.experiments (engine sums)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthlab import data
from growthlab import experiments as ex
from growthlab.data import experiments as dx
from growthlab.errors import AnalysisInputError


def _users(rng, n_per_arm=3000, lifts=(0.0, 0.03), p0=0.10, exp="e1", unsub=(0.01, 0.01)):
    """Per-user rows of one experiment: control first, then one arm per extra lift."""
    k = len(lifts)
    variant = np.repeat(["control", *[f"v{i}" for i in range(1, k)]], n_per_arm)
    p = np.repeat([p0 + lift for lift in lifts], n_per_arm)
    u = np.repeat(list(unsub) + [unsub[-1]] * (k - len(unsub)), n_per_arm)
    conv = (rng.random(k * n_per_arm) < p).astype(float)
    orders = conv * (1 + rng.poisson(0.3, k * n_per_arm))
    revenue = orders * rng.gamma(2.0, 40.0, k * n_per_arm)
    return pd.DataFrame(
        {
            "experiment_id": exp,
            "user_id": [f"{exp}_{i}" for i in range(k * n_per_arm)],
            "variant": variant,
            "converted": conv,
            "revenue": revenue,
            "orders": orders,
            "unsubscribed": (rng.random(k * n_per_arm) < u).astype(float),
            "complained": (rng.random(k * n_per_arm) < 0.002).astype(float),
            "pre_converted": 0.0,
            "pre_revenue": 0.0,
        }
    )


def test_metric_names_match_the_data_layer():
    for m in ex.METRICS:
        assert dx.METRICS[m.name] == (m.column, m.denominator, m.covariate)
    assert ex.STATS_COLUMNS == dx.STATS_COLUMNS


def test_sufficient_stats_and_basic_comparison():
    rng = np.random.default_rng(0)
    users = _users(rng)
    stats = ex.sufficient_stats(users)
    assert set(stats["metric"]) == {m.name for m in ex.METRICS}
    conv = stats.loc[stats["metric"] == "conversion"].set_index("variant")
    assert conv.loc["control", "n"] == 3000
    assert conv.loc["v1", "sum"] == users.loc[users["variant"] == "v1", "converted"].sum()
    c = ex.compare(stats).set_index("metric")
    assert list(c.index) == [m.name for m in ex.METRICS]  # catalogue order
    r = c.loc["conversion"]
    p1, p0 = conv.loc["v1", "sum"] / 3000, conv.loc["control", "sum"] / 3000
    assert r["diff"] == pytest.approx(p1 - p0)
    assert r["se"] == pytest.approx(np.sqrt(p1 * (1 - p1) / 3000 + p0 * (1 - p0) / 3000))
    assert r["rel_lift"] == pytest.approx(p1 / p0 - 1)
    # revenue per order is Σrevenue / Σorders
    rpo = users.groupby("variant")[["revenue", "orders"]].sum()
    assert c.loc["revenue_per_order", "mean"] == pytest.approx(
        rpo.loc["v1", "revenue"] / rpo.loc["v1", "orders"]
    )
    # the guardrails are not adjusted, the decision metrics are (Holm over 3)
    assert (c.loc[c["guardrail"], "p_adj"] == c.loc[c["guardrail"], "p_value"]).all()
    dec = c.loc[~c["guardrail"]]
    assert (dec["p_adj"] >= dec["p_value"]).all() and dec["p_adj"].max() <= 1


def test_adjust_p_matches_statsmodels():
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    p = np.array([0.001, 0.04, 0.03, 0.2, np.nan, 0.0125])
    ok = ~np.isnan(p)
    for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh")):
        got = ex.adjust_p(p, ours)
        ref = multipletests(p[ok], method=theirs)[1]
        np.testing.assert_allclose(got[ok], ref, rtol=1e-12)
        assert np.isnan(got[~ok]).all()
    np.testing.assert_array_equal(ex.adjust_p(p, "none"), p)
    with pytest.raises(AnalysisInputError, match="correction"):
        ex.adjust_p(p, "bonferroni")


def test_adjusted_interval_excludes_zero_exactly_when_adjusted_p_is_below_alpha():
    rng = np.random.default_rng(4)
    frames = [
        _users(rng, 800, lifts=(0, lift, 0.5 * lift), exp=f"e{i}")
        for i, lift in enumerate([0.0, 0.02, 0.03, 0.04, 0.05])
    ]
    stats = ex.sufficient_stats(pd.concat(frames, ignore_index=True))
    for seq in (False, True):
        for corr in ("holm", "bh"):
            c = ex.compare(stats, sequential=seq, correction=corr)
            dec = c.loc[~c["guardrail"] & c["p_adj"].notna()]
            excludes = dec["position"] != "includes"
            assert ((dec["p_adj"] < 0.05) == excludes).all(), (seq, corr)


def test_sequential_interval_is_wider_and_default_while_running():
    rng = np.random.default_rng(1)
    stats = ex.sufficient_stats(_users(rng))
    info = pd.DataFrame(
        {
            "experiment_id": ["e1"],
            "first_assigned": [pd.Timestamp("2025-06-01")],
            "last_assigned": [pd.Timestamp("2025-06-29 12:00")],
        }
    )
    running = ex.analyse(stats, info, as_of="2025-06-30")
    done = ex.analyse(stats, info, as_of="2025-07-30")
    assert running.facts["running"].iloc[0] and running.facts["method"].iloc[0] == "sequential"
    assert not done.facts["running"].iloc[0] and done.facts["method"].iloc[0] == "fixed"
    a = running.comparisons.set_index("metric").loc["conversion"]
    b = done.comparisons.set_index("metric").loc["conversion"]
    assert a["high"] - a["low"] > b["high"] - b["low"]
    assert a["mde"] > b["mde"]
    forced = ex.analyse(stats, info, as_of="2025-07-30", sequential="always")
    assert forced.facts["method"].iloc[0] == "sequential"
    assert ex.analyse(stats, sequential="auto").facts["method"].iloc[0] == "sequential"  # unknown
    assert done.facts["days"].iloc[0] == 29 and done.facts["daily_users"].iloc[0] == pytest.approx(
        6000 / 29
    )
    with pytest.raises(AnalysisInputError, match="sequential"):
        ex.analyse(stats, sequential="sometimes")


def test_verdicts_win_loss_guardrail_and_srm():
    rng = np.random.default_rng(2)
    win = _users(rng, 6000, lifts=(0.0, 0.04), exp="win")
    loss = _users(rng, 6000, lifts=(0.0, -0.04), exp="loss")
    guard = _users(rng, 6000, lifts=(0.0, 0.04), exp="guard", unsub=(0.01, 0.05))
    null = _users(rng, 6000, lifts=(0.0, 0.0), exp="null")
    srm = _users(rng, 6000, lifts=(0.0, 0.04), exp="srm")
    srm = srm.iloc[: 6000 + 5000]  # a treatment arm that lost a sixth of its users
    stats = ex.sufficient_stats(pd.concat([win, loss, guard, null, srm], ignore_index=True))
    res = ex.analyse(stats, sequential="never", min_effect=0.03)
    v = res.verdicts.set_index("experiment_id")
    assert v.loc["win", "verdict"] == "win" and v.loc["win", "action"] == "ship"
    assert v.loc["loss", "verdict"] == "loss"
    assert (
        v.loc["guard", "verdict"] == "guardrail"
        and v.loc["guard", "guardrails_harmed"] == "unsubscribe_rate"
    )
    assert v.loc["null", "verdict"] == "no_effect"  # powered to see 3 pp, saw nothing
    assert v.loc["srm", "verdict"] == "srm" and v.loc["srm", "srm_p_value"] < 0.001
    assert res.facts.set_index("experiment_id").loc["srm", "srm"]
    # without a smallest effect of interest the null experiment is inconclusive
    again = ex.analyse(stats, sequential="never").verdicts.set_index("experiment_id")
    assert again.loc["null", "verdict"] == "inconclusive"


def test_underpowered_when_significant_but_below_the_mde():
    # a big sample with a tiny effect would be powered; a small sample with a lucky result is not
    stats = pd.DataFrame(
        {
            "experiment_id": "e",
            "variant": ["control", "t"],
            "metric": "conversion",
            "n": [400.0, 400.0],
            "sum": [40.0, 62.0],
            "sum_sq": [40.0, 62.0],
        }
    )
    v = ex.analyse(stats, sequential="never", correction="none").verdicts.iloc[0]
    assert v["low"] > 0 and abs(v["diff"]) < v["mde"] and v["verdict"] == "underpowered"


def test_bayesian_prior_shrinks_and_flat_prior_matches_the_z_test():
    rng = np.random.default_rng(9)
    stats = ex.sufficient_stats(_users(rng, 500, lifts=(0.0, 0.03), unsub=(0.05, 0.05)))
    flat = ex.compare(stats).set_index("metric").loc["conversion"]
    weak = ex.compare(stats, prior_sd=0.3).set_index("metric").loc["conversion"]
    from scipy.stats import norm

    assert flat["chance_to_win"] == pytest.approx(norm.cdf(flat["rel_lift"] / flat["rel_se"]))
    assert abs(weak["post_mean"]) < abs(flat["post_mean"]) and weak["post_sd"] < flat["post_sd"]
    # expected loss and chance to win move together, and for "lower is better" metrics flip
    assert 0 <= flat["expected_loss"] < flat["rel_se"]
    g = ex.compare(stats).set_index("metric").loc["unsubscribe_rate"]
    assert g["chance_to_win"] == pytest.approx(norm.cdf(-g["rel_lift"] / g["rel_se"]))
    with pytest.raises(AnalysisInputError, match="prior_sd"):
        ex.compare(stats, prior_sd=0)


def test_plan_uses_observed_traffic():
    rng = np.random.default_rng(5)
    stats = ex.sufficient_stats(_users(rng, 2000, lifts=(0.0, 0.01)))
    info = pd.DataFrame(
        {
            "experiment_id": ["e1"],
            "first_assigned": [pd.Timestamp("2025-06-01")],
            "last_assigned": [pd.Timestamp("2025-06-21")],
        }
    )
    res = ex.analyse(stats, info, as_of="2025-08-01", plan_mde=0.2)
    p = res.plan.iloc[0]
    base = res.verdicts["mean_control"].iloc[0]
    d, p1 = 0.2 * base, 1.2 * base
    expected = ex.sample_size(base * (1 - base), d, var_treatment=p1 * (1 - p1))
    assert p["users_per_variant"] == expected and p["daily_users"] == pytest.approx(4000 / 20)
    assert p["days_needed"] == np.ceil(2 * expected / 200) and p["days_run"] == 20
    assert p["days_more"] == max(p["days_needed"] - 20, 0)
    assert np.isnan(ex.sample_size(0.09, 0.0))


def test_bad_input_is_named():
    with pytest.raises(AnalysisInputError, match="stats"):
        ex.compare(pd.DataFrame({"experiment_id": ["e"]}))
    s = pd.DataFrame(
        {
            "experiment_id": ["e"],
            "variant": ["a"],
            "metric": ["nope"],
            "n": [1.0],
            "sum": [1.0],
            "sum_sq": [1.0],
        }
    )
    with pytest.raises(AnalysisInputError, match="nope"):
        ex.compare(s)
    with pytest.raises(AnalysisInputError, match="kind"):
        ex.Metric("x", "median", "y")
    empty = ex.analyse(pd.DataFrame(columns=ex.STATS_COLUMNS))
    assert empty.empty and empty.verdicts.empty


# ------------------------------------------------------------------ engine side (Ibis, DuckDB)


@pytest.fixture(scope="module")
def tiny_ds():
    users = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(1, 7)],
            "signup_at": pd.Timestamp("2024-12-01"),
            "channel": "sms",
        }
    )
    at = pd.Timestamp("2025-01-10 00:00")
    assignments = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u4", "u5", "u6"],
            "experiment_id": "exp",
            "variant": ["control", "control", "control", "treatment", "treatment", "treatment"],
            "assigned_at": [at, at, at + pd.Timedelta(days=1), at, at, at + pd.Timedelta(days=2)],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(1, 8)],
            "user_id": ["u1", "u1", "u2", "u4", "u4", "u5", "u6"],
            "ts": [
                at - pd.Timedelta(days=5),  # u1 pre-period
                at + pd.Timedelta(days=1),  # u1 post
                at + pd.Timedelta(days=20),  # u2: after the 14-day window
                at + pd.Timedelta(days=2),  # u4 post
                at + pd.Timedelta(days=3),  # u4 post (second order)
                at - pd.Timedelta(days=40),  # u5: before the 28-day pre-period
                at + pd.Timedelta(days=3),  # u6 post (assigned a day later: 1 day after)
            ],
            "amount": [10.0, 20.0, 30.0, 5.0, 7.0, 50.0, 8.0],
            "status": "paid",
        }
    )
    events = pd.DataFrame(
        {
            "user_id": ["u4", "u3", "u1"],
            "ts": [at + pd.Timedelta(days=1), at - pd.Timedelta(days=1), at + pd.Timedelta(days=2)],
            "channel": "sms",
            "event": ["unsubscribe", "complaint", "click"],
        }
    )
    return data.load(
        {"users": users, "assignments": assignments, "orders": orders, "events": events},
        timezone="UTC",
        as_of="2025-02-15",
    )


def test_user_metrics_windows(tiny_ds):
    u = dx.user_metrics(tiny_ds).set_index("user_id")
    assert (
        u.loc["u1", "converted"] == 1
        and u.loc["u1", "revenue"] == 20.0
        and u.loc["u1", "orders"] == 1
    )
    assert u.loc["u1", "pre_converted"] == 1 and u.loc["u1", "pre_revenue"] == 10.0
    assert u.loc["u2", "converted"] == 0 and u.loc["u2", "revenue"] == 0.0  # outside the window
    assert u.loc["u4", "orders"] == 2 and u.loc["u4", "revenue"] == 12.0
    assert u.loc["u5", "pre_revenue"] == 0.0  # 40 days before: outside the pre-period
    assert u.loc["u4", "unsubscribed"] == 1 and u.loc["u3", "complained"] == 0  # before assignment
    assert u["has_pre"].eq(1).all()


def test_variant_stats_equal_the_pandas_sums(tiny_ds):
    engine = dx.variant_stats(tiny_ds)
    ref = ex.sufficient_stats(dx.user_metrics(tiny_ds))
    key = ["experiment_id", "variant", "metric"]
    a = engine.sort_values(key).reset_index(drop=True)
    b = ref.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[ex.STATS_COLUMNS], b[ex.STATS_COLUMNS], check_dtype=False)
    info = dx.experiment_info(tiny_ds).iloc[0]
    assert info["users"] == 6 and info["variants"] == 2
    assert info["last_assigned"] - info["first_assigned"] == pd.Timedelta(days=2)


def test_daily_looks_are_cumulative(tiny_ds):
    lk = dx.daily_looks(tiny_ds)
    t = lk.loc[lk["variant"] == "treatment"].set_index("day")
    d = pd.Timestamp
    assert t.loc[d("2025-01-10"), "n"] == 2 and t.loc[d("2025-01-12"), "n"] == 3
    assert t.loc[d("2025-01-11"), "sum"] == 0 and t.loc[d("2025-01-12"), "sum"] == 1  # u4 day 2
    assert t.loc[d("2025-01-13"), "sum"] == 2  # u6 on day 3 (u4's second order is not new)
    assert (t["n"].diff().dropna() >= 0).all() and lk["day"].max() == d("2025-01-26")
    path = ex.sequential_path(lk)
    assert set(path["variant"]) == {"treatment"} and path["day"].is_monotonic_increasing


def test_without_assignments_everything_is_empty(tiny_ds):
    class NoAssignments:
        as_of, timezone = tiny_ds.as_of, tiny_ds.timezone

        def has(self, name):
            return False

    ds = NoAssignments()
    assert dx.variant_stats(ds).empty and dx.experiment_info(ds).empty and dx.daily_looks(ds).empty
    assert ex.sequential_path(dx.daily_looks(ds)).empty


def test_synthetic_sample_lift_recovered():
    from growthlab.data import synth

    ds = synth.generate(6000, seed=0)
    truth = ds.truth["ab_test"]
    res = ex.analyse(
        dx.variant_stats(ds, window_days=truth["window_days"]),
        dx.experiment_info(ds),
        as_of=ds.as_of,
    )
    v = res.verdicts.set_index("experiment_id").loc[truth["experiment_id"]]
    assert v["low"] <= truth["lift"] <= v["high"]
    assert not v["srm"] and not v["cuped"]  # assigned at signup: no pre-period, plain estimate
    facts = res.facts.set_index("experiment_id")
    assert facts.loc[truth["experiment_id"], "method"] == "fixed"  # finished a month ago
    # the planted split bug and the running experiment (no effect planted in either)
    planted = ds.truth["experiments"]
    srm = res.verdicts.set_index("experiment_id").loc["checkout_redesign"]
    assert planted["checkout_redesign"]["planted"] == "srm"
    assert (
        srm["verdict"] == "srm"
        and srm["srm_p_value"] < 0.001
        and facts.loc["checkout_redesign", "srm"]
    )
    assert planted["share_card_v2"]["planted"] == "running"
    running = res.verdicts.set_index("experiment_id").loc["share_card_v2"]
    assert (
        facts.loc["share_card_v2", "running"]
        and facts.loc["share_card_v2", "method"] == "sequential"
    )
    assert running["verdict"] not in ("win", "loss", "srm")  # no effect planted, split kept
    # the planted unsubscribes veto shipping, whatever conversion says
    assert planted["daily_push"]["planted"] == "guardrail"
    push = res.verdicts.set_index("experiment_id").loc["daily_push"]
    assert push["verdict"] == "guardrail" and push["guardrails_harmed"] == "unsubscribe_rate"
    unsub = res.comparisons.set_index(["experiment_id", "metric"]).loc[
        ("daily_push", "unsubscribe_rate")
    ]
    assert unsub["low"] > 0 and unsub["low"] <= planted["daily_push"]["unsubscribe_lift"]
    assert planted["daily_push"]["unsubscribe_lift"] <= unsub["high"]
