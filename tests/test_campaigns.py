"""Campaign economics (issue #16): growthlab.data.campaigns + growthlab.campaigns.

Known truth: ``synth`` plants per-campaign rewards, spend (= the rewards) and invitee value, and
writes the true cost per invitee, cost per buyer and ROI (to date and predicted) of every
campaign to ``truth["campaign_economics"]``. The pipeline must recover them within its cascade
bootstrap intervals, with the coverage checked over several seeds (10 seeds × 4,000 users; the
tables the economics read are loaded, events are not needed: the fraud ring is flagged by its
bursts and shared devices).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthlab import campaigns, data, referral, referral_abuse, value
from growthlab.data import campaigns as dc
from growthlab.data import synth
from growthlab.errors import AnalysisInputError

N_USERS = 4000
SEEDS = range(10)
TABLES = ("users", "referrals", "orders", "identities", "costs")
TREE_CAMPAIGNS = ("member_day", "cny_poster", "group_buy", "help_unlock")


def _pipeline(ds):
    users = ds.frame("users", columns=["user_id", "signup_at"])
    fo = referral.forest(ds.frame("referrals"), users)
    sus = referral_abuse.suspicious_inviters(fo, ds.persons, None)
    flagged = campaigns.flagged_inviters(sus)
    cin = dc.inputs(ds, flagged)
    ltv = campaigns.fit_value(dc.local_orders(ds), value.last_full_day(ds.local(ds.as_of)))
    econ = campaigns.analyse(cin, fo, flagged, ltv, as_of=ds.as_of)
    return {"ds": ds, "forest": fo, "flagged": flagged, "inputs": cin, "econ": econ}


def _load(seed: int, n: int = N_USERS):
    frames, truth = synth.generate_frames(n, seed)
    ds = data.load({t: frames[t] for t in TABLES}, as_of=truth["as_of"])
    ds.truth = truth
    return ds


@pytest.fixture(scope="module")
def runs():
    return {seed: _pipeline(_load(seed)) for seed in SEEDS}


def _rows(runs, metric: str, campaigns_=TREE_CAMPAIGNS):
    out = []
    for seed, run in runs.items():
        tab = run["econ"].table.set_index("campaign_id")
        truth = run["ds"].truth["campaign_economics"]["campaigns"]
        for c in campaigns_:
            t = truth[c][metric]
            lo, hi = tab.at[c, f"{metric}_low"], tab.at[c, f"{metric}_high"]
            out.append(
                {
                    "seed": seed,
                    "campaign": c,
                    "truth": t,
                    "estimate": tab.at[c, metric],
                    "covered": bool(lo - 1e-9 <= t <= hi + 1e-9),
                }
            )
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------ known truth


def test_cost_per_invitee_is_the_planted_reward(runs):
    d = _rows(runs, "cost_per_invitee")
    np.testing.assert_allclose(d["estimate"], d["truth"], rtol=0, atol=1e-9)
    assert d["covered"].all()
    for run in runs.values():
        planted = {c: v["reward"] for c, v in synth.CAMPAIGNS.items()}
        truth = run["ds"].truth["campaign_economics"]["campaigns"]
        assert {c: truth[c]["cost_per_invitee"] for c in planted} == planted


def test_roi_to_date_is_recovered_within_its_intervals_over_seeds(runs):
    d = _rows(runs, "roi_to_date")
    coverage = d["covered"].mean()
    assert len(d) == 40 and coverage >= 0.85, d.loc[~d["covered"]]
    # no systematic bias: the estimates scatter around the planted ROI
    assert abs(np.median(d["estimate"] / d["truth"]) - 1) < 0.1
    for run in runs.values():  # the fraud ring's campaign returns nothing
        tab = run["econ"].table.set_index("campaign_id")
        assert tab.at["cashback", "roi_to_date"] == -1.0
        assert run["ds"].truth["campaign_economics"]["campaigns"]["cashback"]["roi_to_date"] == -1


def test_cost_per_buyer_and_predicted_roi_over_seeds(runs):
    buyer = _rows(runs, "cost_per_buyer")
    assert buyer["covered"].mean() >= 0.8, buyer.loc[~buyer["covered"]]
    pred = _rows(runs, "roi_predicted")
    # the interval resamples cascades with the fitted BG/NBD + Gamma-Gamma held fixed, so it
    # leaves out the models' own uncertainty: coverage is a little below nominal
    assert pred["covered"].mean() >= 0.7, pred.loc[~pred["covered"]]
    assert abs(np.median(pred["estimate"] / pred["truth"]) - 1) < 0.15


def test_abuse_cost_equals_the_rewards_of_flagged_inviters(runs):
    for run in runs.values():
        ds, econ, flagged = run["ds"], run["econ"], set(run["flagged"])
        ref = ds.frame("referrals")
        bad = ref.loc[ref["inviter_id"].astype(str).isin(flagged)]
        expected = bad.groupby("campaign_id")["reward"].sum()
        got = econ.costs.set_index("campaign_id")["abuse_cost"]
        for c, v in got.items():
            assert v == pytest.approx(expected.get(c, 0.0), abs=1e-9)
        assert econ.totals["abuse_cost"] == pytest.approx(float(bad["reward"].sum()))
        # the planted ring is what gets flagged: its rewards are the abuse cost
        truth = ds.truth
        assert flagged == set(truth["fraud_ring"]["inviters"])
        assert econ.totals["abuse_cost"] == truth["campaign_economics"]["abuse_cost"]


def test_costs_and_rewards_add_up_to_the_source(runs):
    run = runs[0]
    ds, econ = run["ds"], run["econ"]
    ref, costs = ds.frame("referrals"), ds.frame("costs")
    assert econ.totals["reward"] == pytest.approx(float(ref["reward"].fillna(0).sum()))
    spend = econ.totals["campaign_spend"] + econ.totals["unassigned_spend"]
    assert spend == pytest.approx(float(costs["spend"].sum()))
    by_campaign = costs.dropna(subset=["campaign_id"]).groupby("campaign_id")["spend"].sum()
    c = econ.costs.set_index("campaign_id")
    pd.testing.assert_series_equal(
        c["spend"].sort_index(), by_campaign.sort_index(), check_names=False
    )
    # the sample books the rewards in costs: cost = spend = rewards, no other spend
    np.testing.assert_allclose(c["cost"], c["reward"])
    assert (c["other_spend"] == 0).all()
    # engine totals = the sum of the cascades (every invitation in exactly one cascade)
    totals = dc.campaign_totals(ds).set_index("campaign_id")
    units = econ.units.groupby("key")[["invitations", "reward"]].sum()
    pd.testing.assert_series_equal(
        units["invitations"].sort_index(), totals["invitations"].sort_index(), check_names=False
    )
    np.testing.assert_allclose(units["reward"].sort_index(), totals["reward"].sort_index())
    assert int(totals["invitations"].sum()) == len(ref)


def test_bootstrap_is_fixed_by_its_seed_and_independent_of_other_campaigns():
    units = pd.DataFrame({"key": ["a"] * 30 + ["b"] * 5, "x": np.arange(35.0), "y": np.ones(35)})
    one = campaigns.bootstrap_sums(units, ["x", "y"], n_boot=200, seed=7)
    two = campaigns.bootstrap_sums(units, ["x", "y"], n_boot=200, seed=7)
    alone = campaigns.bootstrap_sums(units.loc[units["key"] == "a"], ["x", "y"], 200, 7)
    np.testing.assert_array_equal(one["a"], two["a"])
    np.testing.assert_array_equal(one["a"], alone["a"])
    assert one["a"].shape == (200, 2)
    np.testing.assert_array_equal(one["a"][:, 1], 30.0)  # always as many units as the key has
    assert not np.array_equal(one["a"], campaigns.bootstrap_sums(units, ["x", "y"], 200, 8)["a"])
    # blocks of draws give the same law: the mean of the resampled sums is the sum
    big = campaigns.bootstrap_sums(units, ["x"], n_boot=4000, seed=1)["a"][:, 0]
    assert big.mean() == pytest.approx(units.loc[units["key"] == "a", "x"].sum(), rel=0.01)


# ------------------------------------------------------------------------------ hand-made


def _frames(cohort_revenue: float, n_cascades: int = 20, invitees_per: int = 3):
    """Campaign ``c``: n_cascades seeds each inviting ``invitees_per`` users (reward 10 each);
    the invitees of seed s paid (s mod 5) / 2 × ``cohort_revenue`` (mean: cohort_revenue);
    invitations spread over the 40 days before as_of − 20."""
    as_of = pd.Timestamp("2025-06-30")
    rows = []
    for s in range(n_cascades):
        for j in range(invitees_per):
            t = as_of - pd.Timedelta(days=20 + (s * 37 % 40)) + pd.Timedelta(minutes=j)
            rows.append(
                {
                    "inviter_id": f"s{s}",
                    "invitee_id": f"s{s}i{j}",
                    "campaign_id": "c",
                    "share_channel": "moments",
                    "invited_at": t,
                    "signup_at": t + pd.Timedelta(minutes=5),
                    "reward_unsplit": 10.0,
                    "orders": 1,
                    "revenue": cohort_revenue * (s % 5) / 2,  # mean 1 x cohort_revenue
                    "first_order_at": t + pd.Timedelta(days=1),
                }
            )
    inv = pd.DataFrame(rows)
    rewards = pd.DataFrame(
        {
            "campaign_id": ["c"],
            "side": ["unsplit"],
            "invitations": [len(inv)],
            "rewarded": [len(inv)],
            "reward": [10.0 * len(inv)],
        }
    )
    spend = pd.DataFrame(
        {
            "campaign_id": ["c", None],
            "channel": ["referral", "douyin"],
            "date": [as_of, as_of],
            "spend": [10.0 * len(inv), 500.0],
            "rows": [1, 1],
        }
    )
    roots = pd.Series(inv["inviter_id"].to_numpy(), index=inv["invitee_id"])
    by_age = pd.DataFrame(
        {
            "campaign_id": ["c"],
            "age_day": [1],
            "orders": [len(inv)],
            "revenue": [inv["revenue"].sum()],
        }
    )
    inputs = {"rewards": rewards, "spend": spend, "invitees": inv, "revenue_by_age": by_age}
    return inputs, roots, as_of


@pytest.mark.parametrize(("revenue", "verdict"), [(30.0, "scale"), (5.0, "stop"), (10.0, "hold")])
def test_marginal_verdicts_follow_the_interval(revenue, verdict):
    inputs, roots, as_of = _frames(revenue)
    econ = campaigns.analyse(inputs, roots, as_of=as_of, n_boot=300)
    row = econ.table.iloc[0]
    assert row["verdict"] == verdict, row
    if verdict == "hold":
        assert row["marginal_roi_low"] <= 0 <= row["marginal_roi_high"]
    assert econ.verdict_counts()[verdict] == 1
    assert econ.totals["unassigned_spend"] == 500.0  # paid-channel spend is no campaign's cost


def test_too_few_cascades_is_not_enough_data():
    inputs, roots, as_of = _frames(30.0, n_cascades=4)
    econ = campaigns.analyse(inputs, roots, as_of=as_of, n_boot=200)
    row = econ.table.iloc[0]
    assert row["verdict"] == "not_enough_data" and not row["rankable"]
    assert np.isnan(row["rank"])


def test_flagged_inviters_pay_but_bring_no_return():
    inputs, roots, as_of = _frames(30.0)
    bad = ["s0", "s1"]
    econ = campaigns.analyse(inputs, roots, bad, as_of=as_of, n_boot=100)
    row = econ.table.iloc[0]
    assert row["cost"] == 600.0 and row["abuse_cost"] == 60.0
    assert row["invitees"] == 54 and row["cost_per_invitee"] == pytest.approx(600 / 54)
    c = econ.costs.iloc[0]
    assert c["abuse_invitations"] == 6 and c["abuse_share"] == pytest.approx(0.1)


def test_payback_is_the_first_day_revenue_covers_the_cost():
    inv = pd.DataFrame(
        {
            "invitee_id": [f"u{i}" for i in range(20)],
            "key": "c",
            "credible": True,
            "signup_at": pd.Timestamp("2025-01-01"),
        }
    )
    by_age = pd.DataFrame(
        {"campaign_id": "c", "age_day": [0, 2, 5], "revenue": [20.0, 60.0, 400.0]}
    )
    cpi = pd.Series({"c": 4.0})
    out = campaigns.payback(by_age, inv, cpi, "2025-03-01").iloc[0]
    # R(1) = 1, R(3) = 4 per invitee: paid back within 3 days
    assert out["payback_days"] == 3.0 and out["observed_days"] == 59
    out = campaigns.payback(by_age, inv, pd.Series({"c": 1000.0}), "2025-03-01").iloc[0]
    assert np.isnan(out["payback_days"])  # not (yet) paid back


def test_rewards_in_costs_false_adds_the_ledger_to_the_rewards():
    inputs, roots, as_of = _frames(30.0)
    c = campaigns.campaign_costs(inputs["rewards"], inputs["spend"], rewards_in_costs=False)
    assert c.iloc[0]["cost"] == 1200.0 and c.iloc[0]["other_spend"] == 600.0
    c = campaigns.campaign_costs(inputs["rewards"], inputs["spend"].assign(spend=[100.0, 5.0]))
    assert c.iloc[0]["cost"] == 600.0  # a ledger below the rewards is topped up to them


def test_bad_input_names_the_rule():
    inputs, roots, as_of = _frames(30.0)
    with pytest.raises(AnalysisInputError, match="margin"):
        campaigns.invitee_values(inputs["invitees"], margin=0)
    with pytest.raises(AnalysisInputError, match="invitees"):
        campaigns.invitee_values(inputs["invitees"].drop(columns="revenue"))
    with pytest.raises(AnalysisInputError, match="as_of"):
        campaigns.analyse({k: v for k, v in inputs.items()}, roots)
    with pytest.raises(AnalysisInputError, match="rewards"):
        campaigns.analyse({"spend": inputs["spend"]}, roots, as_of=as_of)


# ------------------------------------------------------------------------------ properties

_money = st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def _sources(draw):
    n = draw(st.integers(1, 25))
    camp = draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n))
    reward = draw(st.lists(st.one_of(st.none(), _money), min_size=n, max_size=n))
    inviters = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    referrals = pd.DataFrame(
        {
            "inviter_id": [f"p{i}" for i in inviters],
            "invitee_id": [f"u{i}" for i in range(n)],
            "invited_at": pd.Timestamp("2025-03-01") + pd.to_timedelta(np.arange(n), "h"),
            "campaign_id": pd.Series(camp, dtype=object),
            "reward": pd.Series(reward, dtype="float64"),
        }
    )
    m = draw(st.integers(0, 12))
    costs = pd.DataFrame(
        {
            "date": pd.Timestamp("2025-03-01")
            + pd.to_timedelta(draw(st.lists(st.integers(0, 5), min_size=m, max_size=m)), "D"),
            "channel": draw(
                st.lists(st.sampled_from(["referral", "douyin"]), min_size=m, max_size=m)
            ),
            "spend": draw(st.lists(_money, min_size=m, max_size=m)),
            "campaign_id": pd.Series(
                draw(st.lists(st.sampled_from(["a", "b", None]), min_size=m, max_size=m)),
                dtype=object,
            ),
        }
    )
    users = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)] + [f"p{i}" for i in range(5)],
            "signup_at": pd.Timestamp("2025-02-01"),
        }
    )
    flagged = draw(st.sets(st.sampled_from([f"p{i}" for i in range(5)])))
    in_costs = draw(st.booleans())
    return {"referrals": referrals, "costs": costs, "users": users}, sorted(flagged), in_costs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sources())
def test_costs_and_rewards_add_up_to_the_source_totals(source):
    frames, flagged, in_costs = source
    rewards, spend = dc.rewards(frames), dc.spend(frames)
    inv = dc.invitees(frames, as_of="2025-06-30")
    c = campaigns.campaign_costs(rewards, spend, inv, flagged, rewards_in_costs=in_costs)
    ref, costs = frames["referrals"], frames["costs"]
    # rewards: every accepted invitation's reward lands in exactly one campaign row
    assert c["reward"].sum() == pytest.approx(ref["reward"].fillna(0).sum(), abs=1e-6)
    assert c["invitations"].sum() == len(ref)
    # spend: campaign rows + spend without a campaign = the ledger
    unassigned = spend.loc[spend["campaign_id"].isna(), "spend"].sum() if len(spend) else 0.0
    assert c["spend"].sum() + unassigned == pytest.approx(costs["spend"].sum(), abs=1e-6)
    # the cost rule
    expected = np.maximum(c["spend"], c["reward"]) if in_costs else c["spend"] + c["reward"]
    np.testing.assert_allclose(c["cost"], expected)
    assert (c["other_spend"] >= -1e-9).all()
    # abuse cost = the rewards of the flagged inviters, never more than the rewards
    bad = ref["inviter_id"].isin(flagged)
    assert c["abuse_cost"].sum() == pytest.approx(ref.loc[bad, "reward"].fillna(0).sum(), abs=1e-6)
    assert (c["abuse_cost"] <= c["reward"] + 1e-9).all()
    # the cascades partition the invitations: their sums are the campaign's
    values = campaigns.invitee_values(inv, flagged)
    units = campaigns.cascade_sums(values, pd.Series(dtype=object))
    assert units["invitations"].sum() == len(ref)
    assert units["reward"].sum() == pytest.approx(c["reward"].sum(), abs=1e-6)
    assert units["abuse_reward"].sum() == pytest.approx(c["abuse_cost"].sum(), abs=1e-6)
    assert units["invitees"].sum() == int((~bad).sum())


def test_sources_without_rewards_costs_or_orders_degrade_visibly():
    frames, truth = synth.generate_frames(1500, seed=4)
    ref = frames["referrals"].drop_duplicates("invitee_id")
    base = {"users": frames["users"], "referrals": ref, "orders": frames["orders"]}
    roots = pd.Series(ref["inviter_id"].to_numpy(), index=ref["invitee_id"])  # one level
    # no reward column, no costs, no campaign anywhere: one "(no campaign)" row without cost
    bare = {
        "users": frames["users"].drop(columns="campaign_id"),
        "referrals": ref.drop(columns=["campaign_id", "reward"]),
        "orders": frames["orders"],
    }
    econ = campaigns.analyse(dc.inputs(bare), roots, as_of=truth["as_of"], n_boot=50)
    assert econ.table["campaign_id"].tolist() == [campaigns.NO_CAMPAIGN]
    assert econ.totals["cost"] == 0 and np.isnan(econ.table["roi_to_date"].iloc[0])
    # no orders: the return is unknown (flagged for the page), not zero
    cin = dc.inputs({k: v for k, v in base.items() if k != "orders"})
    assert cin["has_orders"] is False and dc.inputs(base)["has_orders"] is True
    assert (cin["invitees"]["revenue"] == 0).all() and cin["revenue_by_age"].empty
    econ = campaigns.analyse(cin, roots, as_of=truth["as_of"], n_boot=50)
    assert econ.params["has_orders"] is False
    # without costs the campaigns cost their rewards
    econ = campaigns.analyse(dc.inputs(base), roots, as_of=truth["as_of"], n_boot=50)
    c = econ.costs.set_index("campaign_id")
    np.testing.assert_allclose(c["cost"], c["reward"])
    assert c.loc["member_day", "reward"] == 5.0 * (ref["campaign_id"] == "member_day").sum()
