"""Tests for growthlab.attribution and growthlab.data.journeys (SPEC §4.4, §7)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthlab import attribution as A
from growthlab.data import journeys as J
from growthlab.errors import AnalysisInputError

CHANNELS = ["wecom", "sms", "live", "app_push", "search"]


@st.composite
def path_sets(draw, max_channels: int = 5):
    chans = CHANNELS[: draw(st.integers(1, max_channels))]
    n = draw(st.integers(1, 12))
    rows = []
    for _ in range(n):
        toks = draw(st.lists(st.sampled_from(chans), min_size=1, max_size=6))
        sep = draw(st.sampled_from([">", " > ", ">  "]))
        rows.append(
            {
                "path": sep.join(toks),
                "conversions": draw(st.integers(0, 20)),
                "nulls": draw(st.integers(0, 20)),
                "value": draw(st.floats(0, 1000, allow_nan=False)),
            }
        )
    df = pd.DataFrame(rows)
    if df["conversions"].sum() == 0:
        df.loc[0, "conversions"] = 1
    # value only on converting rows, as journeys produce
    df.loc[df["conversions"] == 0, "value"] = 0.0
    return df


def _all_models(paths):
    out = {m: A.heuristic(paths, m) for m in ("first", "last", "linear", "position")}
    out.update({f"markov_{k}": A.markov(paths, order=k).credits for k in (1, 2, 3)})
    out["shapley"] = A.shapley(paths)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path_sets())
def test_every_model_sums_to_total_conversions_and_value(paths):
    conv, value = paths["conversions"].sum(), paths["value"].sum()
    for name, res in _all_models(paths).items():
        assert res["conversions"].sum() == pytest.approx(conv, rel=1e-9, abs=1e-9), name
        assert res["value"].sum() == pytest.approx(value, rel=1e-9, abs=1e-6), name
        assert set(res["channel"]) <= set(CHANNELS)


# ------------------------------------------------------------ Markov vs brute force


def _brute_markov(paths: pd.DataFrame, order: int) -> dict[str, float]:
    """Dense higher-order chain by plain Python enumeration, absorption via matrix power."""
    # Paths seen zero times carry no transitions (their states would have all-zero rows).
    paths = paths[(paths["conversions"] + paths["nulls"]) > 0]
    seqs = [[t.strip() for t in p.split(">") if t.strip()] for p in paths["path"]]
    chans = sorted({c for s in seqs for c in s})
    states: dict = {"START": 0}
    counts: dict = {}

    def sid(key):
        return states.setdefault(key, len(states))

    for s, cv, nl in zip(seqs, paths["conversions"], paths["nulls"], strict=True):
        prev = "START"
        for i in range(len(s)):
            cur = tuple(s[max(0, i - order + 1) : i + 1])
            counts[(prev, cur)] = counts.get((prev, cur), 0) + cv + nl
            prev = cur
        counts[(prev, "CONV")] = counts.get((prev, "CONV"), 0) + cv
        counts[(prev, "NULL")] = counts.get((prev, "NULL"), 0) + nl
    for a, b in list(counts):
        sid(a)
        sid(b)
    n = len(states)
    C = np.zeros((n, n))
    for (a, b), w in counts.items():
        C[states[a], states[b]] += w
    C[states["CONV"], states["CONV"]] = C[states["NULL"], states["NULL"]] = 1

    def p_conv(removed=None):
        P = C / C.sum(axis=1, keepdims=True)
        if removed is not None:
            for key, j in states.items():
                if isinstance(key, tuple) and key[-1] == removed:
                    P[:, states["NULL"]] += P[:, j]
                    P[:, j] = 0
        return np.linalg.matrix_power(P, 4096)[states["START"], states["CONV"]]

    base = p_conv()
    re = {c: 1 - p_conv(c) / base for c in chans}
    tot = sum(re.values())
    total = paths["conversions"].sum()
    return {c: total * re[c] / tot for c in chans}


@pytest.mark.parametrize("order", [1, 2, 3])
def test_markov_equals_brute_force_fixed(order):
    paths = pd.DataFrame(
        {
            "path": ["a>b", "b > c", "a", "c>a>b>b", "b", "c>c>a"],
            "conversions": [3, 2, 1, 4, 0, 2],
            "nulls": [5, 1, 2, 3, 6, 1],
            "value": [30, 20, 10, 40, 0, 5],
        }
    )
    res = A.markov(paths, order=order).credits.set_index("channel")["conversions"]
    brute = _brute_markov(paths, order)
    for c, v in brute.items():
        assert res[c] == pytest.approx(v, rel=1e-8)


@settings(max_examples=25, deadline=None)
@given(path_sets(max_channels=4))
def test_markov_order1_equals_brute_force_random(paths):
    res = A.markov(paths, order=1).credits.set_index("channel")["conversions"]
    brute = _brute_markov(paths, 1)
    for c, v in brute.items():
        assert res[c] == pytest.approx(v, rel=1e-6, abs=1e-9)


def test_markov_removal_effect_and_probability():
    # one channel only: removing it kills every conversion -> RE = 1
    paths = pd.DataFrame({"path": ["a", "a>a"], "conversions": [2, 1], "nulls": [2, 5]})
    res = A.markov(paths)
    assert isinstance(res, A.MarkovResult) and res.order == 1 and res.n_channels == 1
    assert res.credits["removal_effect"].iloc[0] == pytest.approx(1.0)
    # P(conv) of the chain: from a, P(a->CONV) = 3/(4+... ) computed by hand
    # transitions: START->a 10, a->a 6, a->CONV 3, a->NULL 7 => P = 3/10 / (1 - 6/16) ...
    out_a = 6 + 3 + 7
    p = (3 / out_a) / (1 - 6 / out_a)
    assert res.conversion_probability == pytest.approx(p)
    assert not res.credits.attrs  # results travel in the dataclass, not in attrs


# ------------------------------------------------------------ Shapley


def _shapley_by_permutations(worth: np.ndarray) -> np.ndarray:
    n = int(math.log2(worth.size))
    phi = np.zeros(n)
    perms = list(itertools.permutations(range(n)))
    for perm in perms:
        mask = 0
        for p in perm:
            phi[p] += worth[mask | (1 << p)] - worth[mask]
            mask |= 1 << p
    return phi / len(perms)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 5).flatmap(lambda n: st.lists(st.floats(-5, 5), min_size=2**n, max_size=2**n))
)
def test_shapley_values_match_permutation_definition(worth):
    w = np.asarray(worth)
    w[0] = 0.0
    phi = A.shapley_values(w)
    assert np.allclose(phi, _shapley_by_permutations(w), atol=1e-9)
    assert phi.sum() == pytest.approx(w[-1] - w[0], abs=1e-9)  # efficiency


def test_shapley_symmetric_channels_get_equal_credit():
    paths = pd.DataFrame(
        {
            "path": ["a", "b", "a>b", "b>a", "c", "a>c", "b>c"],
            "conversions": [5, 5, 8, 8, 2, 3, 3],
            "nulls": [20, 20, 10, 10, 30, 9, 9],
            "value": [50, 50, 80, 80, 20, 30, 30],
        }
    )
    res = A.shapley(paths).set_index("channel")
    assert res.loc["a", "conversions"] == pytest.approx(res.loc["b", "conversions"])
    assert res.loc["a", "value"] == pytest.approx(res.loc["b", "value"])
    assert res["conversions"].sum() == pytest.approx(paths["conversions"].sum())
    assert res.loc["a", "conversions"] > res.loc["c", "conversions"]


@settings(max_examples=20, deadline=None)
@given(path_sets(max_channels=3))
def test_shapley_swapping_channel_names_swaps_credit(paths):
    swapped = paths.assign(
        path=paths["path"]
        .str.replace("wecom", "TMP")
        .str.replace("sms", "wecom")
        .str.replace("TMP", "sms")
    )
    a = A.shapley(paths).set_index("channel")["conversions"]
    b = A.shapley(swapped).set_index("channel")["conversions"]
    for c in a.index:
        other = {"wecom": "sms", "sms": "wecom"}.get(c, c)
        assert a[c] == pytest.approx(b[other], abs=1e-9)


def test_shapley_too_many_channels_is_a_clear_error():
    paths = pd.DataFrame({"path": [f"c{i}" for i in range(17)], "conversions": 1})
    with pytest.raises(AnalysisInputError, match="at most 15"):
        A.shapley(paths)
    assert len(A.shapley(paths, max_channels=17)) == 17


# ------------------------------------------------------------ rule-based


def test_heuristics_by_hand():
    paths = pd.DataFrame({"path": ["a > b >c>b", "c"], "conversions": [10, 2], "value": [100, 4]})
    first = A.heuristic(paths, "first").set_index("channel")["conversions"]
    last = A.heuristic(paths, "last").set_index("channel")["conversions"]
    lin = A.heuristic(paths, "linear").set_index("channel")["conversions"]
    pos = A.heuristic(paths, "position").set_index("channel")["conversions"]
    assert first.to_dict() == {"a": 10, "c": 2, "b": 0}
    assert last.to_dict() == {"b": 10, "c": 2, "a": 0}
    assert lin.to_dict() == pytest.approx({"b": 5.0, "a": 2.5, "c": 4.5})
    # 40/20/40 over a,b,c,b: a .4, b .1 + .4, c .1
    assert pos.to_dict() == pytest.approx({"a": 4.0, "b": 5.0, "c": 3.0})
    pos2 = A.heuristic(paths, "position", first_weight=0.3, last_weight=0.5)
    assert pos2.set_index("channel")["conversions"]["a"] == pytest.approx(3.0)


def test_position_weights_two_touches_and_validation():
    w = A.position_weights(np.array([0, 1]), np.array([2, 2]), 0.4, 0.4)
    assert w.tolist() == [0.5, 0.5]
    with pytest.raises(AnalysisInputError):
        A.position_weights(np.array([0]), np.array([1]), 0.7, 0.5)


def test_time_decay_by_hand():
    t0 = pd.Timestamp("2024-01-01")
    tp = pd.DataFrame(
        {
            "user_id": ["u", "u", "v", "w"],
            "conv_seq": [1, 1, 1, pd.NA],
            "channel": ["sms", "live", "sms", "live"],
            "ts": [t0, t0 + pd.Timedelta(days=7), t0, t0],
            "conversion_ts": [t0 + pd.Timedelta(days=7)] * 2 + [t0, pd.NaT],
            "value": [30.0, 30.0, 6.0, 0.0],
            "converted": [True, True, True, False],
        }
    )
    res = A.heuristic(tp, "time_decay", half_life_days=7).set_index("channel")
    assert res.loc["live", "conversions"] == pytest.approx(2 / 3)
    assert res.loc["sms", "conversions"] == pytest.approx(1 / 3 + 1)
    assert res.loc["sms", "value"] == pytest.approx(10 + 6)
    assert res["conversions"].sum() == pytest.approx(2)
    with pytest.raises(AnalysisInputError, match="timestamped"):
        A.heuristic(pd.DataFrame({"path": ["a"], "conversions": [1]}), "time_decay")


def test_parsing_rules_and_errors():
    paths = pd.DataFrame({"path": [" a >b ", "a>b", "", ">"], "conversions": [1, 2, 3, 1]})
    res = A.heuristic(paths, "last")
    assert res.set_index("channel")["conversions"].to_dict() == {"b": 3, "a": 0}
    assert A.parse_paths(paths).unattributed_conversions == 4
    assert not res.attrs
    with pytest.raises(AnalysisInputError, match="conversions"):
        A.markov(pd.DataFrame({"path": ["a"], "conversions": [-1]}))
    with pytest.raises(AnalysisInputError, match="'path'"):
        A.markov(pd.DataFrame({"conversions": [1]}))
    with pytest.raises(AnalysisInputError, match="order"):
        A.markov(paths, order=4)
    with pytest.raises(AnalysisInputError, match="model"):
        A.heuristic(paths, "u_shape")


def test_compare_and_cpa_roas():
    paths = pd.DataFrame(
        {
            "path": ["a>b", "b", "a"],
            "conversions": [4, 2, 2],
            "nulls": [4, 6, 6],
            "value": [40, 20, 20],
        }
    )
    comparison = A.compare(paths, markov_orders=(1, 2))
    cmp = comparison.credits
    assert set(cmp["model"]) == {
        "first",
        "last",
        "linear",
        "position",
        "markov_1",
        "markov_2",
        "shapley",
    }
    assert np.allclose(cmp.groupby("model")["conversions"].sum(), 8)
    assert np.allclose(cmp.groupby("model")["share"].sum(), 1)
    costs = pd.DataFrame(
        {"date": ["2024-01-01"] * 3, "channel": ["a", "b", "a"], "spend": [10.0, 5, 6]}
    )
    out = A.cpa_roas(cmp[cmp["model"] == "first"], costs).set_index("channel")
    assert out.loc["a", "spend"] == 16
    assert out.loc["a", "cpa"] == pytest.approx(16 / 6)
    assert out.loc["a", "roas"] == pytest.approx(60 / 16)
    assert out.loc["b", "cpa"] == pytest.approx(5 / 2)


# ------------------------------------------------------------ journeys (engine definition)


def _events_orders():
    d = pd.Timestamp("2024-03-01")
    days = pd.to_timedelta
    ev = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "a", "a", "b", "b", "c", "d"],
            "ts": [
                d - days("40D"),  # outside lookback of a's first order
                d - days("10D"),
                d - days("1D"),
                d + days("2D"),  # between a's orders -> second journey
                d + days("50D"),  # after a's last order -> a's null journey
                d,
                d + days("1h"),
                d,  # c never converts
                d,  # d's touch is after its order
            ],
            "channel": ["sms", "wecom", "live", "sms", "live", "sms", "sms", "live", "sms"],
            "event": ["reach"] * 9,
        }
    )
    od = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", "5"],
            "user_id": ["a", "a", "b", "d", "a"],
            "ts": [d, d + days("3D"), d + days("2h"), d - days("1D"), d + days("4D")],
            "amount": [10.0, 20.0, 7.0, 3.0, 99.0],
            "status": ["paid", "paid", "paid", "paid", "refunded"],
        }
    )
    return ev, od


def test_journeys_exact_on_fixture():
    ev, od = _events_orders()
    got = J.memtable_paths(ev, od, lookback_days=30).set_index("path")
    expected = {
        "wecom>live": (1, 0, 10.0),
        "sms": (1, 1, 20.0),  # a's second journey; d's trailing touch is a null journey
        "sms>sms": (1, 0, 7.0),
        "live": (0, 2, 0.0),  # a after its last order, c never converts
        "": (1, 0, 3.0),  # d's order had no touch before it
    }
    assert set(got.index) == set(expected)
    for path, (conv, nulls, value) in expected.items():
        assert tuple(got.loc[path, ["conversions", "nulls", "value"]]) == (conv, nulls, value)
    # the refunded order is not a conversion; total paid orders kept
    assert got["conversions"].sum() == 4


def test_journeys_lookback_and_touchpoints():
    ev, od = _events_orders()
    short = J.memtable_paths(ev, od, lookback_days=5).set_index("path")
    assert "live" in short.index and short.loc["live", "conversions"] == 1
    tp = J.memtable_touchpoints(ev, od, lookback_days=30)
    assert tp["converted"].sum() == 5
    res = A.time_decay(tp, half_life_days=7)
    assert res["conversions"].sum() == pytest.approx(3)  # d's conversion has no touch
    with pytest.raises(AnalysisInputError, match="lookback_days"):
        J.memtable_paths(ev, od, lookback_days=0)
    with pytest.raises(AnalysisInputError, match="channel"):
        J.memtable_paths(ev.drop(columns="channel"), od)


# ------------------------------------------------------------ planted truth


def test_markov_and_shapley_recover_planted_channel_ranking():
    synth = pytest.importorskip("growthlab.data.synth")
    from scipy.stats import spearmanr

    ds = synth.generate(20000, seed=0)
    effects = ds.truth["channels"]["conversion_effect"]
    touch = ds.truth["channels"].get("touch_events")
    paths = J.paths(ds, lookback_days=30, touch_events=touch)
    for model in (
        A.markov(paths, order=1).credits,
        A.markov(paths, order=2).credits,
        A.shapley(paths),
    ):
        got = model.set_index("channel")["conversions"]
        common = [c for c in effects if c in got.index]
        assert len(common) >= 3
        rho = spearmanr([effects[c] for c in common], [got[c] for c in common]).statistic
        assert rho >= 0.9, rho
        assert got.idxmax() == max(effects, key=effects.get)


def test_markov_iterative_solver_matches_direct_lu(monkeypatch):
    rng = np.random.default_rng(3)
    chans = np.array(list("abcdefghij"))
    toks = [">".join(rng.choice(chans, rng.integers(1, 7))) for _ in range(3000)]
    paths = pd.DataFrame(
        {"path": toks, "conversions": rng.integers(0, 5, 3000), "nulls": rng.integers(0, 9, 3000)}
    )
    iterative = A.markov(paths, order=3)
    assert iterative.n_states > A._DIRECT_MAX
    monkeypatch.setattr(A, "_DIRECT_MAX", 10**9)
    direct = A.markov(paths, order=3)
    np.testing.assert_allclose(
        iterative.credits.set_index("channel")["conversions"],
        direct.credits.set_index("channel")["conversions"].reindex(iterative.credits["channel"]),
        rtol=1e-9,
    )


# ------------------------------------------------------------ summaries, comparison, economics

SMALL = pd.DataFrame(
    {
        "path": ["a>b", "b", "a", "", "b>a>a"],
        "conversions": [4, 2, 2, 3, 0],
        "nulls": [4, 6, 6, 0, 5],
        "value": [40.0, 20, 20, 30, 0],
    }
)


def test_journey_summary_by_hand():
    s = A.journey_summary(SMALL)
    assert (s.conversions, s.nulls, s.paths, s.channels) == (11, 21, 5, 2)
    assert s.attributable_conversions == 8
    assert s.attributable_share == pytest.approx(8 / 11)
    assert s.mean_path_length == pytest.approx((4 * 2 + 2 + 2) / 8)
    empty = A.journey_summary(pd.DataFrame({"path": [""], "conversions": [2]}))
    assert empty.attributable_share == 0 and math.isnan(empty.mean_path_length)


def test_path_summary_orders_drops_empty_paths_and_rates():
    out = A.path_summary(SMALL, top=3)
    assert out["path"].tolist() == ["a>b", "a", "b"]  # ties on conversions: more nulls first
    assert out.columns.tolist() == ["path", "conversions", "nulls", "value", "conversion_rate"]
    assert out["conversion_rate"].tolist() == pytest.approx([0.5, 0.25, 0.25])
    no_value = A.path_summary(SMALL.drop(columns=["value", "nulls"]))
    assert "value" not in no_value and (no_value["nulls"] == 0).all()
    assert no_value["conversion_rate"].iloc[0] == 1.0


def test_touch_share_counts_each_journey_once():
    share = A.touch_share(SMALL)
    # a: paths a>b (4) and a (2) of 8 attributable conversions; b: a>b (4) and b (2)
    assert share.to_dict() == pytest.approx({"a": 6 / 8, "b": 6 / 8})


def test_compare_fits_markov_once_and_names_its_reference():
    cmp = A.compare(SMALL, markov_orders=(2, 1))
    assert [m.order for m in cmp.markov] == [2, 1]
    again = A.markov(SMALL, order=2)
    pd.testing.assert_frame_equal(cmp.markov[0].credits, again.credits)
    assert cmp.markov[0].conversion_probability == pytest.approx(again.conversion_probability)
    assert cmp.reference == "shapley" and cmp.skipped == {"time_decay": "no_timestamps"}
    wide = cmp.shares()
    assert wide.columns.tolist() == ["channel", *cmp.models]
    assert wide["shapley"].is_monotonic_decreasing
    assert cmp.top() == (wide["channel"].iloc[0], pytest.approx(wide["shapley"].iloc[0]))
    assert not cmp.credits.attrs


def test_compare_skips_shapley_beyond_max_channels():
    paths = pd.DataFrame({"path": ["a", "b", "c", "a>b"], "conversions": [1, 2, 3, 1]})
    cmp = A.compare(paths, models=("last", "markov", "shapley"), max_channels=2)
    assert cmp.skipped == {"shapley": "too_many_channels"} and cmp.n_channels == 3
    assert cmp.reference == "markov_1" and "shapley" not in cmp.models


def test_channel_economics_ranks_by_reference_roas():
    cmp = A.compare(SMALL, models=("last", "markov", "shapley"))
    costs = pd.DataFrame({"channel": ["a", "b", "zz"], "spend": [10.0, 40.0, 5.0]})
    econ = A.channel_economics(cmp, costs)
    assert econ.model == "shapley"
    assert set(econ.table["model"]) == {"last", "markov_1", "shapley"}
    assert set(econ.table["channel"]) == {"a", "b"}  # zz: spend but no attributed conversion
    r = econ.ranking
    assert r["roas"].is_monotonic_decreasing
    assert r["spend_share"].tolist() == pytest.approx((r["spend"] / r["spend"].sum()).tolist())
    assert (r["roas_min"] <= r["roas"]).all() and (r["roas"] <= r["roas_max"]).all()
    assert econ.best["channel"] == r["channel"].iloc[0]
    assert econ.worst["channel"] == r["channel"].iloc[-1]
    assert A.channel_economics(cmp, pd.DataFrame({"channel": ["zz"], "spend": [5.0]})) is None


def test_display_tables_are_text_in_the_page_language():
    from growthlab.plots import attribution as P

    cmp = A.compare(SMALL, models=("last", "markov", "shapley"))
    shares = P.shares_table(cmp, "zh")
    assert shares.columns.tolist() == ["channel", "末次触点", "1 阶马尔可夫", "Shapley 值"]
    assert shares.iloc[0, 1].endswith(" %")
    paths = A.path_summary(SMALL).assign(path=lambda d: d["path"].replace("a", "(suppressed)"))
    table = P.paths_table(paths, "zh", "CNY")
    assert table["path"].tolist()[0] == "a → b"
    assert "（已合并小组）" in table["path"].tolist()
    assert table["journey_value"].iloc[0] == "40.00 CNY"
    costs = pd.DataFrame({"channel": ["a", "b"], "spend": [10.0, 40.0]})
    econ = P.economics_table(A.channel_economics(cmp, costs), "en", "CNY")
    assert econ.columns.tolist()[:3] == ["channel", "spend", "CPA, last touch"]
    assert "ROAS, Shapley" in econ.columns and econ["spend"].str.endswith("CNY").all()
