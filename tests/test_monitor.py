"""Tests for growthlab.monitor, growthlab.data.daily and growthlab.plots.monitor (SPEC §4.5)."""

from __future__ import annotations

import ibis
import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst
from scipy import stats as sps

from growthlab import monitor
from growthlab.data import daily
from growthlab.errors import AnalysisInputError

matplotlib.use("Agg")

WEEKDAY = np.array([1.0, 1.05, 1.1, 1.0, 0.95, 0.7, 0.6])  # Mon..Sun multipliers


def _long(values: np.ndarray, start: str = "2025-01-01") -> pd.DataFrame:
    """(T days x G series) matrix -> long frame date, segment, value."""
    t, g = values.shape
    dates = pd.date_range(start, periods=t, freq="D")
    return pd.DataFrame(
        {
            "date": np.tile(dates, g),
            "segment": np.repeat([f"s{i}" for i in range(g)], t),
            "value": values.T.ravel(),
        }
    )


def _seasonal(rng: np.random.Generator, t: int, g: int, kind: str) -> np.ndarray:
    """Anomaly-free KPI-like series: weekday seasonality, mild trend, noise."""
    dates = pd.date_range("2025-01-01", periods=t, freq="D")
    wd = WEEKDAY[dates.day_of_week.to_numpy()][:, None]
    trend = 1 + rng.uniform(-0.3, 0.6, g)[None, :] * np.arange(t)[:, None] / t
    if kind == "poisson":
        lam = rng.uniform(3, 400, g)[None, :]
        return rng.poisson(lam * wd * trend).astype(float)
    if kind == "compound":  # sparse revenue: Poisson(0.5..20) orders a day, Gamma amounts
        n = rng.poisson(rng.uniform(0.5, 20, g)[None, :] * wd * trend)
        return rng.gamma(np.maximum(n, 1) * 2.0, 40.0) * (n > 0)
    level = rng.uniform(1e3, 1e5, g)[None, :]
    return level * wd * trend * np.exp(rng.normal(0, 0.12, (t, g)))


# ------------------------------------------------------------------ anomaly detection


@pytest.mark.parametrize("method", ["robust", "sigma"])
@pytest.mark.parametrize("kind", ["poisson", "lognormal", "compound"])
def test_false_alert_rate_on_anomaly_free_series(method, kind):
    rng = np.random.default_rng(11)
    t, g = 270, 120
    res = monitor.detect_anomalies(_long(_seasonal(rng, t, g, kind)), method=method)
    scored = res["score"].notna().groupby(res["segment"]).sum()
    alerts = res["is_alert"].groupby(res["segment"]).sum()
    per_90 = 90 * alerts.sum() / scored.sum()
    # the bar: at most about one false alert per metric per 90 days
    assert per_90 <= 1.0, per_90
    # and scoring starts early: everything after ~a month of history is scored
    assert scored.min() >= t - 35


@pytest.mark.parametrize("method", ["robust", "sigma"])
@pytest.mark.parametrize("factor", [3.0, 0.3])
def test_injected_anomaly_is_alerted_with_direction(method, factor):
    rng = np.random.default_rng(5)
    y = _seasonal(rng, 200, 30, "lognormal")
    days = rng.integers(60, 200, 30)
    y[days, np.arange(30)] *= factor
    res = monitor.detect_anomalies(_long(y), method=method)
    hit = res.set_index(["segment", "date"])
    dates = pd.date_range("2025-01-01", periods=200, freq="D")
    keys = list(zip([f"s{i}" for i in range(30)], dates[days], strict=True))
    rows = hit.loc[keys]
    # a x3 (or x0.3) day on ~12 % noise: (nearly) always caught, always in the right direction
    assert rows["is_alert"].mean() >= 0.95
    found = rows.loc[rows["is_alert"]]
    assert (found["direction"] == ("up" if factor > 1 else "down")).all()
    assert ((found["observed"] > found["high"]) | (found["observed"] < found["low"])).all()


def test_robust_band_not_inflated_by_a_spike_but_sigma_band_is():
    rng = np.random.default_rng(2)
    y = _seasonal(rng, 150, 1, "lognormal")
    y[100, 0] *= 20
    out = {m: monitor.detect_anomalies(_long(y), method=m) for m in ("robust", "sigma")}
    width = {m: (r["high"] - r["low"]).to_numpy() for m, r in out.items()}
    # the week after the spike: sigma band widens a lot, robust band barely moves
    ratio = {m: np.nanmedian(w[101:108]) / np.nanmedian(w[90:100]) for m, w in width.items()}
    assert ratio["robust"] < 1.5
    assert ratio["sigma"] > 2 * ratio["robust"]


def test_weekday_seasonality_is_learned():
    # deterministic weekly pattern: the expected value reproduces it exactly, no alerts
    y = np.tile(WEEKDAY * 100, 20)[:, None]
    res = monitor.detect_anomalies(_long(y))
    ok = res["expected"].notna()
    assert ok.sum() > 100
    np.testing.assert_allclose(res.loc[ok, "expected"], res.loc[ok, "observed"], rtol=1e-9)
    assert not res["is_alert"].any()
    flat = monitor.detect_anomalies(_long(y), seasonal=False)
    assert (flat.loc[ok, "expected"] - flat.loc[ok, "observed"]).abs().max() > 10


def test_counts_with_zeros_use_poisson_floor():
    rng = np.random.default_rng(3)
    y = rng.poisson(0.3, (365, 40)).astype(float)  # mostly zeros: MAD = 0
    res = monitor.detect_anomalies(_long(y))
    per_90 = 90 * res["is_alert"].sum() / res["score"].notna().sum()
    assert per_90 <= 1.0
    assert (res["low"].dropna() >= 0).all()


def test_batches_over_metric_and_segment_and_keeps_rows():
    rng = np.random.default_rng(4)
    a = _long(_seasonal(rng, 60, 2, "poisson")).assign(metric="m1")
    b = _long(_seasonal(rng, 60, 2, "poisson")).assign(metric="m2")
    s = pd.concat([a, b]).sample(frac=1, random_state=0)
    res = monitor.detect_anomalies(s)
    assert len(res) == len(s)
    assert list(res.columns[:2]) == ["metric", "segment"]
    one = monitor.detect_anomalies(a.drop(columns="metric").query("segment == 's1'"))
    mine = res.query("metric == 'm1' and segment == 's1'").reset_index(drop=True)
    np.testing.assert_allclose(mine["score"], one["score"].to_numpy(), equal_nan=True)


def test_missing_days_are_unknown_not_zero():
    y = np.tile(WEEKDAY * 100, 12)[:, None]
    s = _long(y).drop(index=[50, 51, 52])
    res = monitor.detect_anomalies(s)
    assert len(res) == len(s)
    assert not res["is_alert"].any()


def test_alert_table_columns_and_order():
    rng = np.random.default_rng(8)
    y = _seasonal(rng, 120, 3, "lognormal")
    y[80, 1] *= 4
    y[90, 2] *= 0.2
    s = _long(y).assign(metric="revenue")
    table = monitor.alert_table(monitor.detect_anomalies(s))
    assert list(table.columns) == [
        "date",
        "metric",
        "segment",
        "observed",
        "expected",
        "low",
        "high",
        "score",
        "direction",
    ]
    assert set(table["direction"]) <= {"up", "down"}
    assert table["score"].abs().is_monotonic_decreasing
    assert {"s1", "s2"} <= set(table["segment"])


@pytest.mark.parametrize(
    ("frame", "kwargs"),
    [
        (pd.DataFrame({"date": ["2025-01-01"]}), {}),
        (pd.DataFrame({"date": ["2025-01-01"], "value": ["x"]}), {}),
        (pd.DataFrame({"date": ["2025-01-01"] * 2, "value": [1, 2]}), {}),
        (pd.DataFrame({"date": ["2025-01-01"], "value": [1]}), {"method": "iforest"}),
        (pd.DataFrame({"date": ["2025-01-01"], "value": [1]}), {"window": 3}),
        (pd.DataFrame({"date": ["2025-01-01"], "value": [1]}), {"by": ["metric"]}),
    ],
)
def test_detect_anomalies_rejects_bad_input(frame, kwargs):
    with pytest.raises(AnalysisInputError):
        monitor.detect_anomalies(frame, **kwargs)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=hst.lists(
        hst.floats(min_value=1.0, max_value=1e6, allow_nan=False), min_size=40, max_size=120
    ),
    shift=hst.floats(min_value=0.5, max_value=50.0),
    method=hst.sampled_from(["robust", "sigma"]),
)
def test_band_invariants_and_scale_equivariance(values, shift, method):
    y = np.asarray(values)[:, None] + 0.123  # not integer-valued
    res = monitor.detect_anomalies(_long(y), method=method)
    ok = res["score"].notna()
    r = res.loc[ok]
    assert (r["low"] <= r["expected"] * (1 + 1e-9)).all()
    assert (r["expected"] <= r["high"] * (1 + 1e-9)).all()
    outside = (r["observed"] > r["high"]) | (r["observed"] < r["low"])
    agree = outside == r["is_alert"]
    # only values on the band edge (floating point) may disagree
    edge = np.isclose(r["score"].abs(), monitor.DEFAULT_THRESHOLD[method], rtol=1e-9)
    assert (agree | edge).all()
    # multiplying a positive series by a constant leaves scores unchanged
    scaled = monitor.detect_anomalies(_long(y * shift), method=method)
    np.testing.assert_allclose(scaled["score"], res["score"], rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ A/B tests


def _simulate(rng, n_exp, n_users, p0, lifts, shares=0.5, mean_rev=80.0):
    exp = np.repeat(np.arange(n_exp), n_users)
    treat = rng.random(n_exp * n_users) < shares
    lift = np.asarray(lifts)[exp]
    conv = rng.random(exp.size) < p0 + lift * treat
    rev = np.where(conv, rng.gamma(2.0, mean_rev / 2.0, exp.size), 0.0)
    a = pd.DataFrame(
        {
            "user_id": np.arange(exp.size),
            "experiment_id": exp,
            "variant": np.where(treat, "treatment", "control"),
        }
    )
    o = pd.DataFrame({"user_id": np.arange(exp.size), "converted": conv, "revenue": rev})
    return a, o


def test_intervals_cover_true_difference_in_aa_and_ab():
    rng = np.random.default_rng(20)
    n_exp, p0, mean_rev = 400, 0.08, 80.0
    lifts = np.where(np.arange(n_exp) % 2 == 0, 0.0, 0.02)  # half A/A, half A/B
    a, o = _simulate(rng, n_exp, 1500, p0, lifts, mean_rev=mean_rev)
    res = monitor.ab_test(a, o)
    t = res.loc[~res["is_control"]].copy()
    t["true"] = lifts[t["experiment_id"].astype(int)]
    cover = (t["diff_low"] <= t["true"]) & (t["true"] <= t["diff_high"])
    assert 0.92 <= cover.mean() <= 0.98, cover.mean()
    rpu_true = t["true"] * mean_rev
    cover_r = (t["rpu_diff_low"] <= rpu_true) & (rpu_true <= t["rpu_diff_high"])
    assert 0.92 <= cover_r.mean() <= 0.98, cover_r.mean()
    rel_true = t["true"] / p0
    cover_l = (t["rel_lift_low"] <= rel_true) & (rel_true <= t["rel_lift_high"])
    assert 0.92 <= cover_l.mean() <= 0.98, cover_l.mean()
    # A/A: false positive rate near alpha; requiring |diff| >= MDE on top of p < 0.05 makes a
    # declared win/loss on an A/A test much rarer than alpha (|z| >= 2.8, about 0.5 %)
    aa = t.loc[t["true"] == 0]
    assert (aa["p_value"] < 0.05).mean() <= 0.09
    assert aa["verdict"].isin(["win", "loss"]).mean() <= 0.02


def test_srm_flagged_when_split_is_skewed():
    rng = np.random.default_rng(7)
    a, o = _simulate(rng, 1, 20000, 0.1, [0.0], shares=0.53)
    res = monitor.ab_test(a, o)
    assert res["srm"].all()
    assert res["srm_p_value"].iloc[0] < 1e-6
    assert (res.loc[~res["is_control"], "verdict"] == "srm").all()
    # balanced splits: SRM flags at about the srm_alpha rate (0.1 %)
    a2, o2 = _simulate(rng, 300, 2000, 0.1, np.zeros(300))
    res2 = monitor.ab_test(a2, o2)
    assert res2.groupby("experiment_id")["srm"].first().mean() <= 0.01
    # declared unequal shares are honoured
    res3 = monitor.ab_test(a, o, expected_shares={"control": 0.47, "treatment": 0.53})
    assert not res3["srm"].any()


def test_powered_significant_lift_is_a_win_and_small_samples_are_not():
    rng = np.random.default_rng(9)
    a, o = _simulate(rng, 1, 40000, 0.10, [0.03])
    big = monitor.ab_test(a, o).set_index("variant")
    assert big.loc["treatment", "verdict"] == "win"
    assert big.loc["treatment", "p_value"] < 1e-6
    assert big.loc["treatment", "mde"] < 0.03
    # an adequately powered flat test is "no_effect" when the smallest effect of interest is set
    a0, o0 = _simulate(rng, 1, 40000, 0.10, [0.0])
    flat = monitor.ab_test(a0, o0, min_effect=0.02).set_index("variant")
    if flat.loc["treatment", "p_value"] >= 0.05:
        assert flat.loc["treatment", "verdict"] == "no_effect"
    # and a tiny experiment is never a win, whatever it shows
    small = monitor.ab_test(a.iloc[:60], o).set_index("variant")
    assert small.loc["treatment", "verdict"] != "win"


@settings(max_examples=25, deadline=None)
@given(
    n0=hst.integers(2, 400),
    n1=hst.integers(2, 400),
    x0=hst.floats(0, 1),
    x1=hst.floats(0, 1),
)
def test_ab_invariants(n0, n1, x0, x1):
    c0, c1 = int(round(x0 * n0)), int(round(x1 * n1))
    variant = np.array(["control"] * n0 + ["treatment"] * n1)
    conv = np.r_[np.arange(n0) < c0, np.arange(n1) < c1]
    a = pd.DataFrame({"user_id": np.arange(n0 + n1), "experiment_id": "e", "variant": variant})
    o = pd.DataFrame({"user_id": np.arange(n0 + n1), "converted": conv, "revenue": conv * 10.0})
    r = monitor.ab_test(a, o).set_index("variant")
    t = r.loc["treatment"]
    assert r["users"].sum() == n0 + n1
    assert r.loc["control", "verdict"] == "control"
    assert t["diff_low"] <= t["diff"] + 1e-12 <= t["diff_high"] + 2e-12
    assert -1 <= t["diff_low"] and t["diff_high"] <= 1
    assert 0 <= t["p_value"] <= 1 and 0 <= t["srm_p_value"] <= 1
    if t["verdict"] == "win":
        assert t["p_value"] < 0.05 and t["diff_low"] > 0 and t["diff"] >= t["mde"]
    if t["p_value"] >= 0.05:
        assert t["verdict"] in ("inconclusive", "srm")
    # with a smallest effect of interest, a win needs a design able to detect it
    r2 = monitor.ab_test(a, o, min_effect=0.05).set_index("variant").loc["treatment"]
    if r2["verdict"] in ("win", "loss", "no_effect"):
        assert r2["mde"] <= 0.05
    if r2["verdict"] == "win":
        assert r2["p_value"] < 0.05 and r2["diff_low"] > 0


def test_ab_missing_outcomes_count_as_not_converted_and_experiment_match():
    a = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u1"],
            "experiment_id": ["e1", "e1", "e1", "e2"],
            "variant": ["control", "treatment", "treatment", "B"],
        }
    )
    o = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u1"],
            "experiment_id": ["e1", "e1", "e2"],
            "converted": [True, False, False],
            "revenue": [5.0, 0.0, 0.0],
        }
    )
    r = monitor.ab_test(a, o)
    e1 = r.loc[r["experiment_id"] == "e1"].set_index("variant")
    assert e1.loc["treatment", "users"] == 2 and e1.loc["treatment", "conversions"] == 0
    assert e1.loc["control", "conversions"] == 1
    assert e1.loc["control", "revenue_per_user"] == 5.0
    e2 = r.loc[r["experiment_id"] == "e2"]
    assert e2["is_control"].tolist() == [True]  # a single variant is its own control


@pytest.mark.parametrize(
    ("assign", "outcome"),
    [
        (pd.DataFrame({"user_id": [1], "variant": ["a"]}), pd.DataFrame({"user_id": [1]})),
        (
            pd.DataFrame({"user_id": [1, 1], "experiment_id": ["e", "e"], "variant": ["a", "b"]}),
            pd.DataFrame({"user_id": [1], "converted": [True]}),
        ),
        (
            pd.DataFrame({"user_id": [1], "experiment_id": ["e"], "variant": ["a"]}),
            pd.DataFrame({"user_id": [1], "converted": ["maybe"]}),
        ),
        (
            pd.DataFrame({"user_id": [1], "experiment_id": ["e"], "variant": ["a"]}),
            pd.DataFrame({"user_id": [1, 1], "converted": [True, False]}),
        ),
    ],
)
def test_ab_rejects_bad_input(assign, outcome):
    with pytest.raises(AnalysisInputError):
        monitor.ab_test(assign, outcome)


# ------------------------------------------------------------------ engine-side daily series


class _FakeDataset:
    """The slice of the Dataset API that growthlab.data.daily uses (tables in DuckDB)."""

    def __init__(self, frames, timezone="Asia/Shanghai", as_of=None):
        self.con = ibis.duckdb.connect()
        self.timezone = timezone
        self.as_of = as_of
        self._t = {k: self.con.create_table(k, v) for k, v in frames.items()}

    def has(self, name):
        return name in self._t

    def table(self, name):
        return self._t[name]


@pytest.fixture
def tiny():
    def ts(values):
        return pd.to_datetime(values, format="ISO8601")

    users = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u4"],
            "signup_at": ts(
                ["2025-01-01 01:00", "2025-01-01 17:00", "2025-01-03 10:00", "2025-01-03 10:00"]
            ),
            "channel": ["wecom", "sms", None, "wecom"],
        }
    )
    refs = pd.DataFrame(
        {
            "inviter_id": ["u1", "u1"],
            "invitee_id": ["u3", "u4"],
            "invited_at": ts(["2025-01-03 09:00", "2025-01-03 09:30"]),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4"],
            "user_id": ["u1", "u2", "u3", "u1"],
            "ts": ts(["2025-01-02 00:00", "2025-01-02 20:00", "2025-01-04 00:00", "2025-01-20"]),
            "amount": [10.0, 5.0, 7.0, 3.0],
            "status": ["paid", "paid", "refunded", "paid"],
        }
    )
    events = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u2"],
            "ts": ts(["2025-01-02 00:00", "2025-01-03 00:00", "2025-01-03 01:00"]),
            "channel": ["sms", "sms", "sms"],
            "event": ["unsubscribe", "complaint", "click"],
        }
    )
    assignments = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3"],
            "experiment_id": ["e1"] * 3,
            "variant": ["control", "treatment", "treatment"],
            "assigned_at": ts(["2025-01-01 12:00", "2025-01-01 18:00", "2025-01-03 12:00"]),
        }
    )
    return _FakeDataset(
        {
            "users": users,
            "referrals": refs,
            "orders": orders.iloc[:3],
            "events": events,
            "assignments": assignments,
        },
        as_of=pd.Timestamp("2025-01-05"),
    ), orders


def test_kpi_series_local_days_channels_and_zero_fill(tiny):
    ds, _ = tiny
    s = daily.kpi_series(ds)
    assert list(s.columns) == ["date", "metric", "segment", "value"]
    v = s.set_index(["metric", "segment", "date"])["value"]
    d = pd.Timestamp
    # u2 signs up 17:00 UTC on Jan 1 = 01:00 Jan 2 in Shanghai
    assert v[("new_users", "sms", d("2025-01-02"))] == 1
    assert v[("new_users", "all", d("2025-01-01"))] == 1
    assert v[("new_users", "unknown", d("2025-01-03"))] == 1
    assert v[("invitees", "wecom", d("2025-01-03"))] == 2  # segment = inviter's channel
    assert v[("conversions", "all", d("2025-01-03"))] == 1  # 20:00 UTC -> next local day
    assert v[("revenue", "all", d("2025-01-02"))] == 10.0
    assert s.loc[s["metric"].eq("revenue") & s["segment"].eq("all"), "value"].sum() == 15.0
    # (the refunded order of Jan 4 is excluded: no revenue, and no activity that day)
    assert v[("unsubscribes", "sms", d("2025-01-02"))] == 1
    assert v[("complaints", "all", d("2025-01-03"))] == 1
    # rolling K: 2 invitees / 4 new users by Jan 3
    assert v[("k_factor", "all", d("2025-01-03"))] == pytest.approx(0.5)
    assert v[("k_factor", "wecom", d("2025-01-03"))] == pytest.approx(1.0)
    # complete grid up to the last day with activity (as_of Jan 5 08:00 local would allow Jan 4)
    dates = s["date"].drop_duplicates().sort_values()
    assert dates.iloc[0] == d("2025-01-01") and dates.iloc[-1] == d("2025-01-03")
    assert s.groupby(["metric", "segment"]).size().eq(3).all()
    assert daily.kpi_series(ds, end="2025-01-04")["date"].max() == d("2025-01-04")
    assert set(s["metric"]) == set(daily.METRICS)


def test_kpi_series_matches_pandas_reference(tiny):
    ds, _ = tiny
    s = daily.kpi_series(ds, by_channel=False)
    assert set(s["segment"]) == {"all"}
    users = ds.table("users").to_pandas()
    local = (users["signup_at"] + pd.Timedelta(hours=8)).dt.normalize()
    ref = local.value_counts()
    got = s.loc[s["metric"] == "new_users"].set_index("date")["value"]
    for day, n in ref.items():
        assert got[day] == n
    assert got.sum() == len(users)


def test_ab_outcomes_window(tiny):
    ds, orders = tiny
    out = daily.ab_outcomes(ds).set_index("user_id")
    assert out.loc["u1", "converted"] and out.loc["u1", "revenue"] == 10.0
    assert out.loc["u2", "converted"]
    assert not out.loc["u3", "converted"]  # refunded
    ds2 = _FakeDataset(
        {"assignments": ds.table("assignments").to_pandas(), "orders": orders, "users": orders}
    )
    wide = daily.ab_outcomes(ds2, window_days=None).set_index("user_id")
    narrow = daily.ab_outcomes(ds2, window_days=14).set_index("user_id")
    assert wide.loc["u1", "revenue"] == 13.0 and narrow.loc["u1", "revenue"] == 10.0
    res = monitor.ab_test(ds.table("assignments").to_pandas(), daily.ab_outcomes(ds))
    assert res["users"].sum() == 3


# ------------------------------------------------------------------ plots


def test_plots_render():
    from growthlab.plots import apply
    from growthlab.plots import monitor as pm

    apply()
    rng = np.random.default_rng(1)
    y = _seasonal(rng, 90, 1, "lognormal")
    y[70, 0] *= 3
    res = monitor.detect_anomalies(_long(y).assign(metric="revenue", segment="all"))
    fig = pm.series_grid(res, ["revenue", "missing"], lang="zh")
    assert len(fig.axes) >= 2
    a, o = _simulate(rng, 2, 3000, 0.1, [0.0, 0.03])
    fig2 = pm.ab_chart(monitor.ab_test(a, o))
    assert len(fig2.axes) == 4
    matplotlib.pyplot.close("all")


# ------------------------------------------------------------------ planted truth (synthetic source)


@pytest.fixture(scope="module")
def synthetic():
    from growthlab.data import synth

    return synth.generate(10000, seed=0)


def test_synthetic_anomaly_day_is_alerted_and_little_else(synthetic):
    truth = synthetic.truth["anomaly"]
    series = daily.kpi_series(synthetic)
    res = monitor.detect_anomalies(series.loc[series["metric"].isin(monitor.ALERT_METRICS)])
    day = pd.Timestamp(truth["date"])
    overall = res.loc[res["segment"] == "all"]
    hit = overall.loc[(overall["metric"] == truth["metric"]) & (overall["date"] == day)]
    assert len(hit) == 1 and hit["is_alert"].iloc[0] and hit["direction"].iloc[0] == "up"
    # the expected value recovers the un-inflated level: observed / expected ~ factor
    ratio = hit["observed"].iloc[0] / hit["expected"].iloc[0]
    assert truth["factor"] / 1.6 < ratio < truth["factor"] * 1.6
    table = monitor.alert_table(overall)
    top = table.loc[table["metric"] == truth["metric"]].iloc[0]
    assert top["date"] == day
    # other overall alerts: at most about one per metric per 90 scored days
    scored = overall.groupby("metric")["score"].count()
    others = table.loc[table["date"] != day].groupby("metric").size()
    others = others.reindex(scored.index, fill_value=0)
    assert (others <= np.ceil(scored / 90)).all(), others


def test_synthetic_ab_lift_recovered(synthetic):
    truth = synthetic.truth["ab_test"]
    outcomes = daily.ab_outcomes(synthetic, window_days=truth["window_days"])
    res = monitor.ab_test(synthetic.frame("assignments"), outcomes)
    res = res.loc[res["experiment_id"] == truth["experiment_id"]].set_index("variant")
    assert res["users"].sum() == truth["users"]
    t = res.loc["treatment"]
    assert t["diff_low"] <= truth["lift"] <= t["diff_high"]
    assert not t["srm"]
    for v, spec in truth["variants"].items():
        assert res.loc[v, "conversion_low"] <= spec["conversion"] <= res.loc[v, "conversion_high"]


def test_kpi_series_stops_at_last_activity(tiny):
    ds, _ = tiny
    ds.as_of = pd.Timestamp("2025-01-20")  # two weeks after the last row
    s = daily.kpi_series(ds)
    assert s["date"].max() == pd.Timestamp("2025-01-03")
    s2 = daily.kpi_series(ds, end="2025-01-10")
    assert s2["date"].max() == pd.Timestamp("2025-01-10")


def test_period_comparison_windows_and_change():
    dates = pd.date_range("2025-01-01", periods=14, freq="D")
    series = pd.concat(
        [
            pd.DataFrame({"date": dates, "metric": "revenue", "value": [1.0] * 7 + [2.0] * 7}),
            pd.DataFrame({"date": dates[7:], "metric": "new_users", "value": 3.0}),
        ]
    )
    out = monitor.period_comparison(series, 7).set_index("metric")
    assert out.loc["revenue", "last"] == 14 and out.loc["revenue", "previous"] == 7
    assert out.loc["revenue", "change"] == pytest.approx(1.0)
    assert out.loc["new_users", "last"] == 21
    assert np.isnan(out.loc["new_users", "change"])  # nothing in the previous window
    assert out["recent_start"].iloc[0] == pd.Timestamp("2025-01-08")
    assert out["previous_start"].iloc[0] == pd.Timestamp("2025-01-01")
    with pytest.raises(AnalysisInputError, match="days"):
        monitor.period_comparison(series, 0)


def test_period_comparison_paired_interval_and_segments():
    dates = pd.date_range("2025-01-06", periods=14, freq="D")  # two full weeks, Mon..Sun
    week = np.array([10.0, 11, 12, 10, 9, 6, 5])
    flat = pd.DataFrame({"date": dates, "metric": "a", "value": np.r_[week, week + 0.5]})
    jump = pd.DataFrame({"date": dates, "metric": "b", "value": np.r_[week, 2 * week]})
    noisy = pd.DataFrame({"date": dates, "metric": "c", "value": np.r_[week, week[::-1]]})
    s = pd.concat([flat, jump, noisy]).assign(segment="all")
    out = monitor.period_comparison(s, 7).set_index("metric")
    assert list(out.columns[:1]) == ["segment"]
    # a constant +0.5 a day: the interval collapses onto the difference
    assert out.loc["a", "diff"] == pytest.approx(3.5)
    assert out.loc["a", "diff_low"] == pytest.approx(3.5)
    assert out.loc["a", "diff_high"] == pytest.approx(3.5)
    # paired by weekday, a doubling is a clear rise: interval above 0, change = +100 %
    b = out.loc["b"]
    assert b["change"] == pytest.approx(1.0) and b["diff_low"] > 0
    assert b["change_low"] == pytest.approx(b["diff_low"] / b["previous"])
    # the same total reshuffled across weekdays: no change, interval around 0
    c = out.loc["c"]
    assert c["diff"] == pytest.approx(0) and c["diff_low"] < 0 < c["diff_high"]
    # t interval of the mean paired difference, times the window length
    d = week[::-1] - week
    half = sps.t.ppf(0.975, 6) * d.std(ddof=1) / np.sqrt(7)
    assert c["diff_high"] == pytest.approx(7 * half)
    # one row per metric and segment when segment is present
    two = pd.concat([s, s.assign(segment="x")])
    assert len(monitor.period_comparison(two, 7)) == 6
    # no previous window: NaN interval
    short = monitor.period_comparison(flat.iloc[7:], 7)
    assert np.isnan(short["diff_low"].iloc[0]) and np.isnan(short["change"].iloc[0])


def test_select_segments_keeps_overall_and_busy_channels():
    dates = pd.date_range("2025-01-01", periods=10, freq="D")

    def rows(metric, segment, value):
        return pd.DataFrame({"date": dates, "metric": metric, "segment": segment, "value": value})

    s = pd.concat(
        [
            rows("new_users", "all", 20.0),
            rows("new_users", "busy", 15.0),
            rows("new_users", "quiet", 2.0),
            rows("revenue", "all", 900.0),
            rows("revenue", "quiet", 600.0),  # judged by its conversions (absent): dropped
            rows("conversions", "all", 8.0),
            rows("k_factor", "all", 0.3),  # not an alert metric
        ]
    )
    kept = monitor.select_segments(s, min_daily=5)
    pairs = set(kept[["metric", "segment"]].itertuples(index=False, name=None))
    assert pairs == {
        ("new_users", "all"),
        ("new_users", "busy"),
        ("revenue", "all"),
        ("conversions", "all"),
    }
    assert ("k_factor", "all") in set(
        monitor.select_segments(s, metrics=None)[["metric", "segment"]].itertuples(
            index=False, name=None
        )
    )


def _alerts_fixture():
    rng = np.random.default_rng(5)
    y = _seasonal(rng, 120, 2, "poisson")
    y[60, 0] *= 4  # an old spike on s0
    y[117, 1] = 0  # a recent drop on s1
    s = _long(y).assign(metric="new_users")
    s["segment"] = s["segment"].replace({"s0": "all", "s1": "wecom"})
    res = monitor.detect_anomalies(s)
    return res, monitor.alert_table(res)


def test_summarise_alerts_and_records():
    res, alerts = _alerts_fixture()
    summ = monitor.summarise_alerts(res, alerts, recent_days=7, threshold=3.5)
    assert summ.series == 2 and summ.metrics == 1 and summ.alerts == len(alerts)
    assert summ.last_day == res["date"].max()
    assert summ.recent_start == summ.last_day - pd.Timedelta(days=6)
    assert summ.recent == int((alerts["date"] >= summ.recent_start).sum()) >= 1
    assert summ.overall == int((alerts["segment"] == "all").sum()) >= 1
    assert summ.strongest["score"] == alerts["score"].iloc[0]
    recs = monitor.alert_records(alerts, 1, summ.recent_start)
    assert len(recs) == 1 and pd.Timestamp(recs[0]["date"]) >= summ.recent_start  # recent first
    assert set(recs[0]) == {
        "date",
        "metric",
        "segment",
        "observed",
        "expected",
        "low",
        "high",
        "score",
        "direction",
    }
    assert monitor.alert_records(alerts.iloc[:0], 5) == []
    assert monitor.strongest_channel_series(res, alerts) == [("new_users", "wecom")]
    empty = monitor.summarise_alerts(res, alerts.iloc[:0], recent_days=7, threshold=3.5)
    assert empty.alerts == 0 and empty.strongest is None
    with pytest.raises(AnalysisInputError, match="recent_days"):
        monitor.summarise_alerts(res, alerts, recent_days=0, threshold=3.5)


def test_segment_shares_rolling_k_span_and_overall_series():
    dates = pd.date_range("2025-01-01", periods=3, freq="D")
    kpi = pd.concat(
        [
            pd.DataFrame({"date": dates, "metric": "new_users", "segment": "all", "value": 4.0}),
            pd.DataFrame({"date": dates, "metric": "new_users", "segment": "x", "value": 1.0}),
            pd.DataFrame(
                {"date": dates, "metric": "k_factor", "segment": "all", "value": [np.nan, 0.5, 0.4]}
            ),
            pd.DataFrame({"date": dates, "metric": "revenue", "segment": "all", "value": 0.0}),
        ]
    )
    sh = monitor.segment_shares(kpi).set_index(["metric", "segment"])["share"]
    assert sh[("new_users", "x")] == pytest.approx(0.25) and sh[("new_users", "all")] == 1.0
    assert np.isnan(sh[("revenue", "all")])
    rk = monitor.rolling_k(kpi)
    assert rk.latest == pytest.approx(0.4) and rk.last_day == dates[-1] and len(rk.series) == 3
    assert monitor.rolling_k(kpi.loc[kpi["metric"] != "k_factor"]) is None
    span = monitor.series_span(kpi)
    assert (span.first, span.last, span.days) == (dates[0], dates[-1], 3)
    ov = monitor.overall_series(kpi, ["revenue", "new_users"])
    assert list(dict.fromkeys(ov["metric"])) == ["revenue", "new_users"]
    assert (ov["segment"] == "all").all()


def test_volume_anomalies_uses_the_one_robust_z():
    from growthlab import stats

    dates = pd.date_range("2025-01-06", periods=28, freq="D")
    rows = np.tile([100, 100, 100, 100, 100, 40, 40], 4).astype(float)
    rows = rows + np.tile([0, 1, -1, 2, -2, 1, 0], 4)
    rows[10] = 160.0  # a spike on a Thursday
    daily_ = pd.DataFrame({"table": "events", "date": dates, "rows": rows})
    out = monitor.volume_anomalies(daily_)
    assert list(out.loc[out["is_anomaly"], "date"]) == [dates[10]]
    wd_median = daily_.groupby(dates.day_of_week)["rows"].transform("median")
    resid = (daily_["rows"] - wd_median).to_numpy()
    assert out["score"].to_numpy() == pytest.approx(stats.robust_z(resid))
    assert monitor.volume_anomalies(daily_.iloc[:10])["score"].isna().all()  # < min_days


def test_ab_user_outcomes_is_step_one():
    a = pd.DataFrame({"user_id": [1, 2, 3], "experiment_id": "e", "variant": ["control", "t", "t"]})
    o = pd.DataFrame({"user_id": ["1", "3"], "converted": [1, 0], "revenue": [5.0, 0.0]})
    u = monitor.ab_user_outcomes(a, o).set_index("user_id")
    assert u.loc["1", "converted"] and u.loc["1", "revenue"] == 5.0
    assert not u.loc["2", "converted"] and u.loc["2", "revenue"] == 0.0
    assert list(monitor.ab_test(a, o).columns) == monitor.AB_COLUMNS
