"""Referral forest, quarantine, cascades, structural virality and K-factor on hand-built data."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growthlab import referral as r
from growthlab.errors import AnalysisInputError

T0 = pd.Timestamp("2024-01-01")


def _ref(pairs, hours=None, **extra):
    hours = range(len(pairs)) if hours is None else hours
    df = pd.DataFrame(
        {
            "inviter_id": [p for p, _ in pairs],
            "invitee_id": [c for _, c in pairs],
            "invited_at": [T0 + pd.Timedelta(hours=h) for h in hours],
        }
    )
    for k, v in extra.items():
        df[k] = v
    return df


# ------------------------------------------------------------------ quarantine (exact counts)
def test_quarantine_counts_exact():
    pairs = [
        ("a", "b"),  # ok
        ("a", "c"),  # ok
        ("b", "d"),  # ok, earliest inviter of d
        ("c", "d"),  # inviter_conflict (later)
        ("b", "d"),  # inviter_conflict too: the same inviter again, later (one accepted row)
        ("e", "e"),  # self_referral
        ("x", "y"),  # cycle x -> y -> z -> x
        ("y", "z"),
        ("z", "x"),
        ("z", "w"),  # w hangs below the cycle: kept, z becomes its root
    ]
    df = _ref(pairs)
    df = pd.concat([df, df.iloc[[0]]], ignore_index=True)  # exact copy of row 0: duplicate
    c = r.clean_referrals(df)
    assert c.counts == {"duplicate": 1, "self_referral": 1, "inviter_conflict": 2, "cycle": 3}
    assert len(c.edges) == 4
    assert sorted(c.quarantined["reason"]) == sorted(
        ["duplicate", "inviter_conflict", "inviter_conflict", "self_referral"] + ["cycle"] * 3
    )
    assert c.edges["invitee_id"].is_unique
    f = r.forest(c)
    nodes = f.nodes.set_index("user_id")
    assert nodes.loc["d", "inviter_id"] == "b"
    assert nodes.loc["w", "root"] == "z"


def test_earliest_inviter_wins_regardless_of_row_order():
    df = _ref([("late", "u"), ("early", "u")], hours=[5, 1])
    c = r.clean_referrals(df)
    assert c.edges["inviter_id"].tolist() == ["early"]
    assert c.counts["inviter_conflict"] == 1


def test_cycle_closed_by_later_edge_is_not_created_when_conflict_wins():
    # b's earliest inviter is a, so the later edge c -> b (which would close a cycle) loses
    df = _ref([("a", "b"), ("b", "c"), ("c", "b")], hours=[0, 1, 2])
    c = r.clean_referrals(df)
    assert c.counts == {"duplicate": 0, "self_referral": 0, "inviter_conflict": 1, "cycle": 0}


def test_missing_column_and_null_ids_are_named():
    with pytest.raises(AnalysisInputError, match="invited_at"):
        r.clean_referrals(pd.DataFrame({"inviter_id": ["a"], "invitee_id": ["b"]}))
    bad = _ref([("a", "b")])
    bad.loc[0, "inviter_id"] = None
    with pytest.raises(AnalysisInputError, match="inviter_id"):
        r.clean_referrals(bad)


# ------------------------------------------------------------------ structural virality
@pytest.mark.parametrize("n", [2, 3, 5, 17, 100])
def test_star_and_path(n):
    star = [("hub", f"leaf{i}") for i in range(1, n)]
    path = [(i, i + 1) for i in range(n - 1)]
    assert r.structural_virality(star) == pytest.approx(2 * (n - 1) / n)
    assert r.structural_virality(path) == pytest.approx((n + 1) / 3)


def test_structural_virality_rejects_non_trees():
    with pytest.raises(AnalysisInputError, match="two parents"):
        r.structural_virality([("a", "c"), ("b", "c")])
    with pytest.raises(AnalysisInputError):
        r.structural_virality([("a", "b"), ("b", "a")])
    with pytest.raises(AnalysisInputError, match="one tree"):
        r.structural_virality([("a", "b"), ("c", "d")])
    assert np.isnan(r.structural_virality([]))


@st.composite
def random_tree(draw, max_n=40):
    n = draw(st.integers(2, max_n))
    parents = [draw(st.integers(0, i - 1)) for i in range(1, n)]
    perm = draw(st.permutations(range(n)))
    return [(f"u{perm[p]}", f"u{perm[i]}") for i, p in zip(range(1, n), parents, strict=True)]


@settings(max_examples=60, deadline=None)
@given(random_tree())
def test_structural_virality_equals_networkx_mean_distance(edges):
    g = nx.Graph(edges)
    assert r.structural_virality(edges) == pytest.approx(nx.average_shortest_path_length(g))


@st.composite
def random_forest(draw):
    trees = draw(st.lists(random_tree(max_n=15), min_size=1, max_size=6))
    edges = []
    for t, tree in enumerate(trees):
        edges += [(f"t{t}{a}", f"t{t}{b}") for a, b in tree]
    hours = draw(st.permutations(range(len(edges))))
    return _ref(edges, hours=hours)


@settings(max_examples=40, deadline=None)
@given(random_forest())
def test_forest_and_cascades_match_networkx(df):
    f = r.forest(df)
    cas = r.cascades(f).set_index("root")
    g = nx.DiGraph(list(zip(df["inviter_id"], df["invitee_id"], strict=True)))
    nodes = f.nodes.set_index("user_id")
    # cascades partition the referred users: every invitee in exactly one tree
    assert (cas["size"] - 1).sum() == df["invitee_id"].nunique() == len(f.edges)
    roots = [v for v in g if g.in_degree(v) == 0]
    assert set(cas.index) == set(roots)
    for root in roots:
        lengths = nx.single_source_shortest_path_length(g, root)
        sub = nodes.loc[list(lengths)]
        assert (sub["root"] == root).all()
        assert sub["generation"].to_dict() == lengths
        levels = pd.Series(lengths).value_counts()
        assert cas.loc[root, "size"] == len(lengths)
        assert cas.loc[root, "depth"] == max(lengths.values())
        assert cas.loc[root, "max_breadth"] == levels.max()
        assert cas.loc[root, "structural_virality"] == pytest.approx(
            nx.average_shortest_path_length(g.subgraph(lengths).to_undirected())
        )
        assert nodes.loc[root, "descendants"] == len(lengths) - 1
    assert nodes["direct_invitees"].to_dict() == dict(g.out_degree())


def test_cascade_duration_and_campaign():
    df = _ref([("a", "b"), ("b", "c"), ("x", "y")], hours=[0, 10, 3], campaign_id=["A", "A", "B"])
    cas = r.cascades(df).set_index("root")
    assert cas.loc["a", "duration"] == pd.Timedelta(hours=10)
    assert cas.loc["x", "duration"] == pd.Timedelta(0)
    assert cas.loc["a", "campaign_id"] == "A"


# ------------------------------------------------------------------ K-factor
def _users(rows):
    return pd.DataFrame(rows, columns=["user_id", "signup_at", "campaign_id"])


def test_k_factor_window_and_censoring_exact():
    users = _users(
        [
            ("a", T0, "A"),
            ("b", T0 + pd.Timedelta(days=1), "A"),
            ("c", T0 + pd.Timedelta(days=2), "B"),
            ("young", T0 + pd.Timedelta(days=80), "B"),
            ("i1", T0, "A"),
            ("i2", T0, "A"),
            ("i3", T0, "A"),
            ("i4", T0, "A"),
        ]
    )
    ref = pd.DataFrame(
        {
            "inviter_id": ["a", "a", "a", "b", "young"],
            "invitee_id": ["i1", "i2", "i3", "i4", "c"],
            # a: two invites inside 30 days, one at day 40 (outside the window)
            "invited_at": [T0 + pd.Timedelta(days=d) for d in (1, 29, 40, 5, 81)],
            "share_channel": ["wecom", "sms", "wecom", "wecom", "sms"],
        }
    )
    as_of = T0 + pd.Timedelta(days=90)
    k = r.k_factor(users, ref, window_days=30, as_of=as_of)
    # eligible: everyone but "young" (7 users); counted invitees: a 2 + b 1 = 3
    assert k.loc[0, "users"] == 7 and k.loc[0, "invitees"] == 3
    assert k.loc[0, "k"] == pytest.approx(3 / 7)
    x = np.array([2, 1, 0, 0, 0, 0, 0])
    half = 2.4469118511449692 * x.std(ddof=1) / np.sqrt(7)  # t_{0.975, 6}
    assert k.loc[0, "k_low"] == pytest.approx(max(3 / 7 - half, 0))
    assert k.loc[0, "k_high"] == pytest.approx(3 / 7 + half)

    bc = r.k_factor(users, ref, by="campaign_id", as_of=as_of).set_index("campaign_id")
    assert bc.loc["A", "users"] == 6 and bc.loc["A", "invitees"] == 3
    assert bc.loc["B", "users"] == 1 and bc.loc["B", "invitees"] == 0
    sc = r.k_factor(users, ref, by="share_channel", as_of=as_of).set_index("share_channel")
    assert sc["k"].sum() == pytest.approx(3 / 7)  # edge-level split adds up to overall K
    assert sc.loc["wecom", "invitees"] == 2
    assert list(k.columns) == ["users", "invitees", "k", "k_low", "k_high"]


def test_k_factor_bad_input():
    users = _users([("a", T0, "A")])
    with pytest.raises(AnalysisInputError, match="signup_at"):
        r.k_factor(users.drop(columns="signup_at"), _ref([("a", "b")]))
    with pytest.raises(AnalysisInputError, match="nope"):
        r.k_factor(users, _ref([("a", "b")]), by="nope")
    with pytest.raises(AnalysisInputError, match="window_days"):
        r.k_factor(users, _ref([("a", "b")]), window_days=0)


def test_k_interval_covers_poisson_mean():
    """Coverage of the 95 % K interval on Poisson offspring is close to nominal."""
    rng = np.random.default_rng(1)
    reps, n, m = 300, 150, 0.8
    x = rng.poisson(m, reps * n)  # one group of n users per replicate, one k_factor call
    users = pd.DataFrame(
        {
            "user_id": np.arange(reps * n).astype(str),
            "signup_at": T0,
            "rep": np.arange(reps * n) // n,
        }
    )
    inviters = np.repeat(np.arange(reps * n), x)
    ref = pd.DataFrame(
        {
            "inviter_id": inviters.astype(str),
            "invitee_id": [f"v{j}" for j in range(inviters.size)],
            "invited_at": T0 + pd.Timedelta(days=1),
        }
    )
    k = r.k_factor(users, ref, by="rep", as_of=T0 + pd.Timedelta(days=60))
    assert len(k) == reps and (k["users"] == n).all()
    hits = int(((k["k_low"] <= m) & (m <= k["k_high"])).sum())
    assert 0.90 <= hits / reps <= 0.99


def test_generations_amplification_spreaders():
    df = _ref([("a", "b"), ("a", "c"), ("b", "d"), ("x", "y")])
    users = pd.DataFrame({"user_id": list("abcdxyz"), "signup_at": T0})
    f = r.forest(df, users)
    g = r.generations(f)
    assert g["users"].tolist() == [3, 3, 1]  # a, x, z | b, c, y | d
    assert g.loc[0, "r"] == pytest.approx(3 / 3) and g.loc[1, "r"] == pytest.approx(1 / 3)
    amp = r.amplification(f.nodes)
    assert amp.loc[0, "amplification"] == pytest.approx(7 / 3)
    assert r.amplification(r.forest(df).nodes).loc[0, "amplification"] == pytest.approx(6 / 2)
    sp = r.spreaders(f)
    assert sp["user_id"].tolist() == ["a", "b", "x"]
    assert sp.loc[0, "descendants"] == 3
    conc = r.concentration(sp["direct_invitees"], fractions=(0.3,))
    assert conc["top_30pct"] == pytest.approx(2 / 4)
    ct = r.cycle_time(users, df).set_index("user_id")
    assert ct.loc["b", "days"] == pytest.approx(2 / 24)


def test_generations_on_a_subset_of_nodes():
    df = _ref([("a", "b"), ("a", "c"), ("b", "d"), ("x", "y")])
    f = r.forest(df)
    sub = f.nodes.loc[f.nodes["root"] == "a"]
    g = r.generations(sub)
    assert g["users"].tolist() == [1, 2, 1]
    assert g["r"].tolist() == pytest.approx([2.0, 0.5, 0.0])
    with pytest.raises(AnalysisInputError, match="direct_invitees"):
        r.generations(sub.drop(columns="direct_invitees"))


@settings(max_examples=12, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 40), st.sampled_from("pqr")), max_size=40)
)
def test_edge_split_k_adds_up_to_overall_k(rows):
    """Property: K split by an edge attribute sums to the overall K, group by group."""
    users = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(13)],
            "signup_at": [T0 + pd.Timedelta(days=i) for i in range(13)],
            "campaign_id": ["A" if i % 2 else "B" for i in range(13)],
        }
    )
    ref = pd.DataFrame(
        {
            "inviter_id": [f"u{i}" for i, _, _ in rows],
            "invitee_id": [f"v{j}" for j in range(len(rows))],
            "invited_at": [T0 + pd.Timedelta(days=i + d) for i, d, _ in rows],
            "share_channel": [c for _, _, c in rows],
        }
    )
    as_of = T0 + pd.Timedelta(days=50)
    for by in (None, "campaign_id"):
        keys = [] if by is None else [by]
        total = r.k_factor(users, ref, by=by, as_of=as_of)
        split = r.k_factor(users, ref, by=[*keys, "share_channel"], as_of=as_of)
        if by is None:
            assert split["k"].sum() == pytest.approx(total["k"].sum() if len(split) else 0)
        else:
            sums = split.groupby(by)["k"].sum()
            for _, row in total.iterrows():
                assert sums.get(row[by], 0.0) == pytest.approx(row["k"])
        assert (total["k_low"] <= total["k"] + 1e-12).all()
        assert (total["k"] <= total["k_high"].fillna(np.inf) + 1e-12).all()


# ------------------------------------------------------------------ the page's breakdowns
def _page_data():
    # seeds a (campaign A, 3 invitees), x (campaign B, 1 invitee); o organic, never invites
    pairs = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "e"), ("x", "y")]
    ref = _ref(pairs, share_channel=["wechat_group", "moments", "wechat_group", "sms", "sms"])
    users = pd.DataFrame(
        {
            "user_id": list("abcdexyo"),
            "signup_at": T0,
            "campaign_id": ["A", "A", "A", "A", "A", "B", "B", None],
        }
    )
    return ref, users


def test_forest_summary_adds_the_loaders_quarantine():
    ref, users = _page_data()
    f = r.forest(ref, users)
    q = pd.DataFrame(
        {
            "table": ["referrals", "referrals", "events"],
            "rule": ["cycle", "self_referral", "orphan"],
            "rows": [3, 2, 9],
        }
    )
    fs = r.forest_summary(f, users, q)
    assert (fs.users, fs.referred_users, fs.cascades, fs.max_generation) == (8, 5, 2, 2)
    assert fs.referred_share == pytest.approx(5 / 8)
    assert fs.excluded == {"duplicate": 0, "self_referral": 2, "inviter_conflict": 0, "cycle": 3}


def test_k_by_campaign_verdicts_and_absent_campaigns():
    ref, users = _page_data()
    f = r.forest(ref, users)
    as_of = T0 + pd.Timedelta(days=60)
    k = r.k_by_campaign(users, f, 30, as_of, min_users=1)
    assert k["campaign_id"].tolist() == ["A", "B"]  # largest K first
    assert k["k"].tolist() == pytest.approx([4 / 5, 1 / 2])
    assert set(k["verdict"]) <= {"above", "below", "includes"}
    assert r.k_by_campaign(users, f, 30, as_of, min_users=3)["campaign_id"].tolist() == ["A"]
    assert r.k_by_campaign(users.drop(columns="campaign_id"), f, 30, as_of) is None
    assert r.k_by_share_channel(users, r.forest(ref.drop(columns="share_channel")), 30) is None
    share = r.k_by_share_channel(users, f, 30, as_of)
    assert share.iloc[0]["share_channel"] in {"wechat_group", "sms"}
    assert share["k"].sum() == pytest.approx(5 / 8)  # channels add up to the overall K


def test_generation_summary_uses_the_campaign_users():
    ref, users = _page_data()
    f = r.forest(ref, users)
    gs = r.generation_summary(f, users, 30, T0 + pd.Timedelta(days=60))
    assert gs.generations["users"].tolist() == [2, 4, 1]  # a, x | b, c, d, y | e (o left out)
    assert gs.amplification == pytest.approx(7 / 2)
    assert gs.by_campaign.set_index("campaign_id")["amplification"].to_dict() == {
        "A": 5.0,
        "B": 2.0,
    }
    assert gs.k["generation"].tolist() == [0, 1, 2]
    none = r.generation_summary(f, users.drop(columns="campaign_id"), 30)
    assert none.by_campaign is None and none.amplification == pytest.approx(8 / 3)


def test_cascade_stats_and_cycle_time_summary():
    ref, users = _page_data()
    cas = r.cascades(r.forest(ref, users))
    st_ = r.cascade_stats(cas).set_index("measure")
    assert st_.loc["size", "max"] == 5 and st_.loc["size", "mean"] == pytest.approx(3.5)
    assert st_.loc["depth", "median"] == pytest.approx(1.5)
    ct = r.cycle_time(users, r.forest(ref, users))
    s = r.cycle_time_summary(ct, within_days=7)
    assert s["inviters"] == 3 and s["within_share"] == 1.0
    assert np.isnan(r.cycle_time_summary(ct.iloc[:0])["median_days"])


def test_k_decomposition_needs_invitations_and_keeps_no_attrs():
    ref, users = _page_data()
    f = r.forest(ref, users)
    as_of = T0 + pd.Timedelta(days=60)
    assert r.k_decomposition(users, f, None, 30, as_of=as_of) is None
    zero = pd.DataFrame({"user_id": ["a"], "invites": [0]})
    assert r.k_decomposition(users, f, zero, 30, as_of=as_of) is None
    kd = r.k_decomposition(
        users, f, pd.DataFrame({"user_id": ["a"], "invites": [10]}), 30, as_of=as_of
    )
    assert kd["k"].iloc[0] == pytest.approx(5 / 8) and kd["c"].iloc[0] == pytest.approx(0.5)
    assert not r.k_factor(users, f, 30, as_of=as_of).attrs
