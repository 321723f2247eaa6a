"""Segments: RFM scores with ties, named segments, tiers, lifecycle, clustering, features."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, silhouette_score

from growthlab import segments as S
from growthlab.data import features as F
from growthlab.errors import AnalysisInputError


# ------------------------------------------------------------------------------------ RFM
@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=1, max_size=200), st.integers(2, 7))
def test_quantile_scores_properties(values, bins):
    v = np.array(values, dtype=float)
    s = S.quantile_scores(v, bins)
    assert s.min() >= 1 and s.max() <= bins
    # ties share one score; scores are monotone in the value
    for val in np.unique(v):
        assert np.unique(s[v == val]).size == 1
    order = np.argsort(v, kind="stable")
    assert (np.diff(s[order]) >= 0).all()
    low = S.quantile_scores(v, bins, higher_is_better=False)
    assert (np.diff(low[order]) <= 0).all()


def test_quantile_scores_distinct_values_are_quintiles():
    s = S.quantile_scores(np.arange(100.0), 5)
    assert np.bincount(s)[1:].tolist() == [20] * 5
    # heavy ties: 60 % at the minimum share score 1, the next value jumps to the 4th quintile
    tied = np.r_[np.ones(60), np.arange(2, 42)]
    st_ = S.quantile_scores(tied, 5)
    assert set(st_[:60]) == {1} and st_[60] == 4


def test_rfm_scores_and_named_segments():
    rfm = pd.DataFrame(
        {
            "recency_days": [1, 2, 300, 310, 5, 200, 150, 3, 250, 100],
            "frequency": [10, 1, 12, 1, 6, 3, 2, 8, 1, 4],
            "monetary": [900, 20, 800, 10, 300, 100, 50, 600, 15, 120],
        },
        index=[f"u{i}" for i in range(10)],
    )
    sc = S.rfm_scores(rfm)
    assert sc.loc["u0", "segment"] == "champions"  # most recent, most frequent
    assert sc.loc["u1", "segment"] == "new_customers"  # recent, one purchase
    assert sc.loc["u2", "segment"] == "cant_lose"  # frequent but long gone
    assert sc.loc["u3", "segment"] == "hibernating"
    assert sc.loc["u0", "rfm"] == "555"
    assert set(sc["segment"]) <= set(S.RFM_SEGMENTS)
    tiers = S.value_tiers(sc)
    assert tiers["u0"] == "high" and tiers["u3"] == "low" and tiers["u1"] == "potential"
    assert list(tiers.cat.categories) == ["high", "medium", "potential", "low"]
    # thresholds are parameters: nobody is high when the bar is above the top score
    assert (S.value_tiers(sc, high_score=6) != "high").all()
    with pytest.raises(AnalysisInputError, match="rfm.monetary"):
        S.rfm_scores(rfm.assign(monetary=-1.0))
    with pytest.raises(AnalysisInputError, match="recency_days"):
        S.rfm_scores(rfm.drop(columns="recency_days"))


def test_lifecycle_stages():
    as_of = pd.Timestamp("2024-06-30")
    d = pd.Timestamp
    act = pd.DataFrame(
        {
            "signup_at": [d("2024-06-20"), d("2024-01-01"), d("2024-01-01"), d("2024-01-01")]
            + [d("2024-01-01"), d("2024-01-01"), d("2024-01-01")],
            "last_active": [d("2024-06-21"), d("2024-06-25"), d("2024-05-20"), d("2024-04-20")]
            + [d("2024-01-05"), pd.NaT, d("2024-06-28")],
            "previous_active": [pd.NaT, d("2024-06-20"), d("2024-05-01"), pd.NaT]
            + [pd.NaT, pd.NaT, d("2024-02-01")],
        },
        index=list("abcdefg"),
    )
    st_ = S.lifecycle_stages(act, as_of)
    assert st_.tolist() == ["new", "active", "silent", "at_risk", "churned", "churned", "returned"]
    wider = S.lifecycle_stages(act, as_of, active_days=45, silent_days=80, churn_days=200)
    assert wider["c"] == "active" and wider["d"] == "silent" and wider["g"] == "active"
    with pytest.raises(AnalysisInputError, match="thresholds"):
        S.lifecycle_stages(act, as_of, active_days=60, silent_days=30)


# ----------------------------------------------------------------------------- clustering
def planted(n=3000, k=4, seed=0):
    """Users with k planted behaviour profiles (Poisson counts around distinct rates)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    rates = np.full((k, 6), 1.0)
    rates[np.arange(k), np.arange(k)] = 25.0  # segment j is marked by a high feature j
    counts = rng.poisson(rates[truth] * rng.lognormal(0, 0.2, (n, 1)))
    cols = ["ev_visit", "ev_engage", "ev_share", "invitees", "orders", "ev_click"]
    frame = pd.DataFrame(counts, columns=cols, index=[f"u{i}" for i in range(n)]).astype(float)
    return frame, truth


@pytest.mark.parametrize("k_true", [3, 5])
def test_cluster_recovers_planted_segments_and_k(k_true):
    frame, truth = planted(k=k_true, seed=k_true)
    res = S.cluster(frame, k_range=range(2, 8), n_init=3, stability_seeds=(1, 2), n_threads=1)
    assert res.k == k_true
    assert adjusted_rand_score(truth, res.labels) >= 0.8
    assert res.stability >= 0.8
    assert res.labels.index.equals(frame.index)
    counts = res.labels.value_counts().sort_index().to_numpy()
    assert (np.diff(counts) <= 0).all()  # relabelled by size
    persona = S.personas(res, frame)
    assert persona["users"].sum() == len(frame)
    assert persona["description"].str.len().gt(0).all()
    assert persona["share"].sum() == pytest.approx(1.0)
    zh = S.personas(res, frame, lang="zh")
    assert zh["description"].str.contains("高|低|平均").all()
    view, ratio = S.pca_view(res, sample_size=500)
    assert len(view) == 500 and 0 < ratio.sum() <= 1


def test_silhouette_matches_sklearn():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(700, 3)) + np.repeat(np.eye(3) * 3, [300, 300, 100], axis=0)
    lab = np.repeat([0, 1, 2], [300, 300, 100])
    assert S.silhouette(X, lab, chunk=128) == pytest.approx(silhouette_score(X, lab), abs=1e-9)


def test_prepare_features_logs_skewed_and_drops_constant():
    rng = np.random.default_rng(2)
    f = pd.DataFrame(
        {"skewed": rng.lognormal(0, 2, 500), "normal": rng.normal(0, 1, 500), "const": 1.0}
    )
    p = S.prepare_features(f)
    assert p.logged == ["skewed"] and p.columns == ["skewed", "normal"]
    np.testing.assert_allclose(p.matrix.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(p.matrix.std(axis=0), 1, atol=1e-9)
    with pytest.raises(AnalysisInputError, match="non-finite"):
        S.prepare_features(f.assign(normal=np.nan))


def test_cluster_on_synthetic_source_recovers_planted_segments():
    synth = pytest.importorskip("growthlab.data.synth")
    ds = synth.generate(6000, seed=0)
    truth = ds.truth["segments"]
    feats = F.user_features(ds)
    cols = S.default_cluster_columns(feats, F.SYSTEM_EVENTS)
    assert "orders" in cols and "ev_signup" not in cols
    res = S.cluster(feats[cols], k_range=range(2, 9), n_init=3, stability_seeds=(1,), n_threads=1)
    planted_labels = feats.index.map(truth["user_segment"])
    known = planted_labels.notna()
    assert res.k == truth["k"]
    assert adjusted_rand_score(planted_labels[known], res.labels[known]) >= 0.8


# ------------------------------------------------------------------------------- features
@pytest.fixture()
def tiny():
    users = pd.DataFrame(
        {
            "user_id": ["a", "b", "c"],
            "signup_at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-03-01"]),
        }
    )
    events = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "a"],
            "ts": pd.to_datetime(
                ["2024-01-01 10:00", "2024-01-01 11:00", "2024-02-01 00:00", "2024-01-03 00:00"]
                + ["2024-01-03 00:00"]
                + ["2024-05-01 00:00"]
            ),
            "event": ["visit", "share", "invite_sent", "visit", "visit", "visit"],
            "channel": ["wecom", "wecom", "sms", "sms", "sms", "wecom"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4"],
            "user_id": ["a", "a", "b", "a"],
            "ts": pd.to_datetime(
                ["2024-01-01 12:00", "2024-01-01 13:00", "2024-01-05 00:00", "2024-02-01 00:00"]
            ),
            "amount": [10.0, 5.0, 7.0, 100.0],
            "status": ["paid", "paid", "paid", "refunded"],
        }
    )
    referrals = pd.DataFrame(
        {"inviter_id": ["a"], "invitee_id": ["c"], "invited_at": pd.to_datetime(["2024-02-28"])}
    )
    return {"users": users, "events": events, "orders": orders, "referrals": referrals}


def test_engine_features(tiny):
    as_of = pd.Timestamp("2024-03-31")

    class Src:  # the Dataset protocol used by features: table(), has(), as_of
        def __init__(self, t):
            self.t = {k: ibis.memtable(v) for k, v in t.items()}
            self.as_of = as_of

        def table(self, name):
            return self.t[name]

        def has(self, name):
            return name in self.t

    src = Src(tiny)
    f = F.user_features(src)
    assert f.loc["a", "events"] == 3  # the May event is after as_of
    assert f.loc["a", "ev_share"] == 1 and f.loc["b", "ev_visit"] == 2
    assert f.loc["a", "orders"] == 2 and f.loc["a", "revenue"] == 15.0  # refund excluded
    assert f.loc["a", "invitees"] == 1 and f.loc["c", "events"] == 0
    assert f.loc["a", "ch_wecom"] == pytest.approx(2 / 3)
    assert f.loc["a", "share_rate"] == pytest.approx(2 / 4)
    rfm = F.rfm_inputs(src)
    assert rfm.loc["a", "frequency"] == 1 and rfm.loc["a", "monetary"] == 15.0
    assert rfm.loc["b", "recency_days"] == pytest.approx(86.0)
    act = F.activity(src)
    assert act.loc["a", "last_active"] == pd.Timestamp("2024-02-01")
    assert act.loc["a", "previous_active"] == pd.Timestamp("2024-01-01")
    assert act.loc["c", "active_days"] == 0
    days = F.order_days(src)
    assert len(days) == 2 and days.loc[days["user_id"] == "a", "amount"].item() == 15.0


def test_summary_tables_and_charts():
    import matplotlib

    matplotlib.use("Agg")
    from growthlab.plots import segments as splots

    rng = np.random.default_rng(5)
    rfm = pd.DataFrame(
        {
            "recency_days": rng.exponential(40, 400),
            "frequency": rng.geometric(0.4, 400),
            "monetary": rng.gamma(2, 100, 400),
        }
    )
    sc = S.rfm_scores(rfm)
    sc["tier"] = S.value_tiers(sc)
    grid = S.rfm_grid(sc)
    assert grid["users"].sum() == 400
    tiers = S.group_summary(sc["tier"], sc["monetary"])
    assert tiers["group"].tolist() == list(S.TIERS)
    assert tiers["user_share"].sum() == pytest.approx(1.0)
    assert tiers["value_share"].sum() == pytest.approx(1.0)
    assert tiers["value"].sum() == pytest.approx(sc["monetary"].sum())
    frame, _ = planted(n=600, k=3, seed=1)
    res = S.cluster(frame, k_range=range(2, 5), n_init=2, stability_seeds=(1,), n_threads=1)
    view, ratio = S.pca_view(res, sample_size=200)
    for lang in ("en", "zh"):
        figs = [
            splots.rfm_heatmap(S.rfm_grid(sc, min_group_size=10), lang=lang),
            splots.share_bars(tiers, lang=lang),
            splots.stage_bars(S.group_summary(pd.Series(["new", "active", "active"])), lang=lang),
            splots.silhouette_curve(res.scores, res.k, lang=lang),
            splots.profile_heatmap(S.profile_z(res), lang=lang),
            splots.pca_scatter(view, ratio, lang=lang),
        ]
        assert all(len(f.axes) >= 1 for f in figs)
        matplotlib.pyplot.close("all")


# ------------------------------------------------------------------- section results (03)
def test_segments_module_does_not_import_the_data_layer():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(S))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    banned = ("growthlab.data", "growthlab.plots", "growthlab.report")
    assert not [m for m in imported if m and m.startswith(banned)]


def test_rfm_grid_suppresses_small_cells():
    sc = pd.DataFrame(
        {"r_score": [5] * 12 + [1] * 3, "f_score": [5] * 12 + [1] * 3, "monetary": 10.0}
    )
    full = S.rfm_grid(sc)
    assert full["users"].tolist() == [3.0, 12.0]
    g = S.rfm_grid(sc, min_group_size=10).set_index(["r_score", "f_score"])
    assert np.isnan(g.loc[(1, 1), "users"]) and np.isnan(g.loc[(1, 1), "mean_monetary"])
    assert g.loc[(5, 5), "users"] == 12 and g.loc[(5, 5), "mean_monetary"] == 10.0


def rfm_frame(n=400, seed=5):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "recency_days": rng.exponential(40, n),
            "frequency": rng.geometric(0.4, n),
            "monetary": rng.gamma(2, 100, n),
        },
        index=pd.Index([f"u{i}" for i in range(n)], name="user_id"),
    )


def test_rfm_summary_and_segment_table():
    rfm = rfm_frame()
    summary = S.rfm_summary(rfm, users=1000, min_group_size=10)
    assert summary.buyers == 400 and summary.buyer_share == pytest.approx(0.4)
    assert summary.segments["users"].is_monotonic_decreasing
    assert summary.largest_segment == summary.segments["group"].iloc[0]
    champ = summary.scored["segment"] == "champions"
    assert summary.champions_share == pytest.approx(champ.mean())
    rev = summary.scored["monetary"]
    assert summary.champions_value_share == pytest.approx(rev[champ].sum() / rev.sum())
    high = summary.scored["tier"] == "high"
    assert summary.tier_share("high") == pytest.approx(high.mean())
    assert summary.tier_value_share("high") == pytest.approx(rev[high].sum() / rev.sum())
    zh = S.segment_table(summary, "zh", min_group_size=10)
    assert list(zh.columns) == [
        "rfm_segment",
        "buyers",
        "buyer_share",
        "mean_revenue",
        "revenue_share",
    ]
    assert (zh["buyers"] >= 10).all() and zh["buyers"].sum() <= 400
    assert not zh["rfm_segment"].isin(list(S.RFM_SEGMENTS)).any()  # names, not keys
    assert "核心客户" in set(zh["rfm_segment"]) or "champions" not in set(summary.segments.group)


def test_group_label_uses_i18n_and_keeps_data_names():
    assert S.group_label("champions", "en") == "Champions"
    assert S.group_label("at_risk", "zh", "stage") == "流失预警"
    assert S.group_label("at_risk", "zh", "rfm") == "流失风险客户"
    assert S.group_label("high", "zh", "tier") == "高价值"
    assert S.group_label("referred", "zh", "referral") == "受邀用户"
    assert S.group_label(S.SUPPRESSED, "zh") == "（已合并小组）"
    assert S.group_label("<b>my channel</b>", "en", "channel") == "<b>my channel</b>"
    assert S.feature_label("ev_add_to_cart") == "add to cart events"
    assert S.feature_label("orders", "zh") == "订单数"


def test_lifecycle_summary_and_at_risk_by_tier():
    as_of = pd.Timestamp("2024-06-30")
    d = pd.Timestamp
    act = pd.DataFrame(
        {
            "signup_at": [d("2024-01-01")] * 6,
            "last_active": [d("2024-06-25"), d("2024-04-20"), d("2024-04-15"), d("2024-04-10")]
            + [d("2024-06-29"), d("2024-01-02")],
            "previous_active": [pd.NaT] * 6,
        },
        index=list("abcdef"),
    )
    life = S.lifecycle_summary(act, as_of)
    assert life.stages.tolist() == ["active", "at_risk", "at_risk", "at_risk", "active", "churned"]
    assert life.share("active", "returned") == pytest.approx(2 / 6)
    assert life.count("at_risk") == 3 and life.count("new") == 0
    small = S.lifecycle_summary(act, as_of, min_group_size=3)
    assert small.table["group"].tolist() == ["at_risk"]  # stages under 3 users left out
    assert small.share("active") == 0.0 and small.share("at_risk") == pytest.approx(0.5)
    tiers = pd.Series(["high", "high", "low", "medium"], index=list("abcz"))
    revenue = pd.Series([100.0, 50.0, 10.0, 40.0], index=list("abcz"))
    t = S.at_risk_by_tier(life.stages, tiers, revenue).set_index("tier")
    assert t.index.tolist() == list(S.TIERS)
    assert t.loc["high", "buyers"] == 2 and t.loc["high", "at_risk"] == 1
    assert t.loc["high", "at_risk_share"] == 0.5
    assert t.loc["high", "at_risk_revenue"] == 50 and t.loc["high", "at_risk_revenue_share"] == 0.25
    assert t.loc["medium", "at_risk"] == 0  # z has no stage: not at risk
    assert t.loc["potential", "buyers"] == 0


def test_cluster_users_skips_when_nothing_to_cluster():
    system = ("signup", "reach")
    users_only = pd.DataFrame({"invitees": [0.0, 1, 2] * 10}, index=[f"u{i}" for i in range(30)])
    assert S.cluster_users(users_only, system) is None  # no events and no orders
    only_system = users_only.assign(ev_signup=1.0)
    assert S.cluster_users(only_system, system) is None
    constant = users_only.assign(orders=1.0)
    assert S.cluster_users(constant, system) is None
    frame, _ = planted(n=12, k=2)
    assert S.cluster_users(frame, system, k_range=range(2, 13)) is None  # n <= max k
    frame, _ = planted(n=600, k=3, seed=1)
    res = S.cluster_users(frame, system, k_range=range(2, 5), stability_runs=2, n_init=2)
    assert res is not None and res.k == 3
    assert res.stability_min <= res.stability <= res.stability_max
    assert res.silhouette_users == 600
    table = S.persona_table(res, frame, "zh", min_group_size=10)
    assert list(table.columns[:4]) == ["cluster", "users", "share", "persona"]
    assert "订单数" in table.columns and "ev_visit" not in table.columns
    assert table["users"].sum() == 600


def test_buyer_groups():
    users = pd.DataFrame(
        {"user_id": [1, 2, 3], "channel": ["wecom", None, "sms"], "referred": [True, False, None]}
    )
    g = S.buyer_groups(users, pd.Series(["high", "low"], index=["1", "3"]))
    assert g.index.tolist() == ["1", "2", "3"]
    assert g["channel"].tolist() == ["wecom", "unknown", "sms"]
    assert g["referral"].tolist() == ["referred", "organic", "organic"]
    assert g.loc["1", "tier"] == "high" and pd.isna(g.loc["2", "tier"])
