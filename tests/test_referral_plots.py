"""Referral charts draw from analysis results (smoke + layout checks, no pixels compared)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from growthlab import referral as r  # noqa: E402
from growthlab import referral_outcomes as ro  # noqa: E402
from growthlab.plots import referral as rp  # noqa: E402

T0 = pd.Timestamp("2024-01-01")


@pytest.fixture()
def forest():
    pairs = [("a", "b"), ("a", "c"), ("b", "d"), ("b", "e"), ("e", "f"), ("x", "y")]
    df = pd.DataFrame(
        {
            "inviter_id": [p for p, _ in pairs],
            "invitee_id": [c for _, c in pairs],
            "invited_at": [T0 + pd.Timedelta(hours=h) for h in range(len(pairs))],
        }
    )
    return r.forest(df)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_all_charts_draw(forest, lang):
    users = pd.DataFrame({"user_id": list("abcdefxy"), "signup_at": T0, "g": list("AABBAABB")})
    figs = [
        rp.k_by_group(r.k_factor(users, forest, by="g", as_of=T0 + pd.Timedelta(days=60)), "g"),
        rp.generation_decay(r.generations(forest), lang=lang),
        rp.ccdf(r.cascades(forest), lang=lang),
        rp.concentration_curve(r.concentration_curve([3, 2, 1]), lang=lang),
        rp.cycle_time_hist(r.cycle_time(users, forest), lang=lang),
        rp.invite_funnel(ro.invite_funnel({"invite_sent": 10, "signup": 5}), lang=lang),
    ]
    for f in figs:
        assert f.axes
    plt.close("all")


def test_cascade_tree_layout_is_hierarchical(forest):
    fig = rp.cascade_trees(forest.nodes, ["a", "x"], labels={"a": "seed-A"}, max_nodes=4)
    ax = fig.axes[0]
    assert "seed-A" in ax.get_title() and "6" in ax.get_title()
    offsets = ax.collections[1].get_offsets()
    assert len(offsets) == 4  # truncated to max_nodes, first generations kept
    assert sorted(set(-offsets[:, 1])) == [0, 1, 2]
    plt.close("all")


def test_labels_come_from_i18n_and_weeks_stay_in_time_order(forest):
    users = pd.DataFrame(
        {
            "user_id": list("abcdefxy"),
            "signup_at": [T0 + pd.Timedelta(days=7 * i) for i in range(8)],
        }
    )
    k = r.k_factor(users, forest, by="signup_week", as_of=T0 + pd.Timedelta(days=200))
    fig = rp.k_by_group(k, "signup_week", lang="zh", order="given")
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == sorted(ticks, reverse=True)  # y grows upwards: oldest week on top
    assert ax.get_title() == "按注册周的 K 因子（95 % 区间）"
    fun = rp.invite_funnel(
        ro.invite_funnel({"invite_sent": 10, "invite_click": 4, "signup": 4}), lang="en"
    )
    assert fun.axes[0].get_xlabel() == "invitations"
    assert [t.get_text() for t in fun.axes[0].get_yticklabels()][-1] == "invitations sent"
    trees = rp.cascade_trees(forest.nodes, ["a"], labels=lambda s: "p_" + s, max_nodes=10)
    assert trees.axes[0].get_title().startswith("seed p_a")
    plt.close("all")
