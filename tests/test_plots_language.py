"""Charts in the run's language (issue #14): every title, axis label, tick label and legend of a
Chinese chart is Chinese or a name the data supplies; channels by display name; time axes in
time order; log axes as plain numbers; every chart titled."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from growthlab import i18n, plots  # noqa: E402
from growthlab import referral as r  # noqa: E402
from growthlab import referral_outcomes as ro  # noqa: E402
from growthlab.plots import funnel as fp  # noqa: E402
from growthlab.plots import monitor as mp  # noqa: E402
from growthlab.plots import quality as qp  # noqa: E402
from growthlab.plots import referral as rp  # noqa: E402
from growthlab.plots import value as vp  # noqa: E402

T0 = pd.Timestamp("2025-01-06")
#: Latin words a Chinese chart may hold: symbols and abbreviations (see test_hostile_report).
SYMBOLS = {"R_g", "CNY", "BG", "NBD", "App"}


def _texts(fig) -> list[str]:
    fig.canvas.draw()  # tick labels exist once drawn
    out = [fig._suptitle.get_text()] if fig._suptitle is not None else []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
            out.append(ax.get_legend().get_title().get_text())
    return [t for t in out if t]


def _latin(fig, names=()) -> list[str]:
    words = [w for t in _texts(fig) for w in re.findall(r"[A-Za-z][A-Za-z_]+", t)]
    return [w for w in words if w not in SYMBOLS and w not in names]


def _titled(fig) -> bool:
    return bool((fig._suptitle is not None and fig._suptitle.get_text()) or fig.axes[0].get_title())


@pytest.fixture(autouse=True)
def _theme():
    plots.apply()
    yield
    plt.close("all")


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


def test_referral_charts_are_chinese_and_titled(forest):
    users = pd.DataFrame(
        {
            "user_id": list("abcdefxy"),
            "signup_at": [T0 + pd.Timedelta(days=7 * i) for i in range(8)],
        }
    )
    k_week = r.k_factor(users, forest, by="signup_week", as_of=T0 + pd.Timedelta(days=200))
    rvo = pd.DataFrame(
        [
            {"metric": m, "group": g, "value": v, "low": v * 0.9, "high": v * 1.1}
            for m in ("conversion", "retention_30d", "value_per_user")
            for g, v in (("referred", 0.4), ("organic", 0.5), ("difference", -0.1))
        ]
    )
    figs = [
        rp.k_by_week(k_week, lang="zh"),
        rp.generation_decay(r.generations(forest), lang="zh"),
        rp.ccdf(r.cascades(forest), lang="zh"),
        rp.concentration_curve(r.concentration_curve([3, 2, 1]), lang="zh"),
        rp.cycle_time_hist(r.cycle_time(users, forest), lang="zh"),
        rp.invite_funnel(ro.invite_funnel({"invite_sent": 10, "signup": 5}), lang="zh"),
        rp.referred_vs_organic(rvo, currency="CNY", lang="zh"),
    ]
    for f in figs:
        assert _titled(f) and _latin(f) == [], _texts(f)
    gen = figs[1]
    assert all(ax.get_title() for ax in gen.axes)  # each generation panel has a title


def test_k_by_week_runs_left_to_right_in_time_order(forest):
    users = pd.DataFrame(
        {
            "user_id": list("abcdefxy"),
            "signup_at": [T0 + pd.Timedelta(days=7 * i) for i in range(8)],
        }
    )
    k = r.k_factor(users, forest, by="signup_week", as_of=T0 + pd.Timedelta(days=200))
    shuffled = k.sample(frac=1, random_state=3).sort_values("k")  # ordered by K, not by date
    ax = rp.k_by_week(shuffled, lang="en").axes[0]
    x = ax.lines[0].get_xdata()
    assert len(x) > 2 and list(x) == sorted(x)
    assert ax.get_xlabel() == "signup week (starting Monday)"
    assert "K-factor" in ax.get_ylabel()


def test_log_axes_print_plain_numbers(forest):
    fig = rp.ccdf(r.cascades(forest), lang="en")
    clv = vp.clv_distribution(pd.Series(np.geomspace(1, 5000, 200)), lang="zh", currency="CNY")
    for f in (fig, clv):
        ticks = [t for t in _texts(f) if any(c.isdigit() for c in t)]
        assert ticks and not any("$" in t or "mathdefault" in t for t in ticks)
    assert "1,000" in _texts(clv) and "CNY" in clv.axes[0].get_xlabel()


def test_channels_are_named_by_display_name():
    curve = pd.DataFrame(
        {
            "channel": ["wecom", "wecom", "mystery_app", "mystery_app"],
            "contacts": [1, 2, 1, 2],
            "responses_per_contact": [0.4, 0.3, 0.5, 0.2],
        }
    )
    fig = fp.fatigue(curve, lang="zh", metric="responses_per_contact")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert sorted(labels) == ["mystery_app", "企业微信"]  # a name from the data stays as it is
    assert _latin(fig, names={"mystery_app"}) == []
    k = pd.DataFrame(
        {"share_channel": ["wechat_group", "sms"], "k": [0.2, 0.1], "k_low": 0.1, "k_high": 0.3}
    )
    ticks = [
        t.get_text() for t in rp.k_by_group(k, "share_channel", lang="en").axes[0].get_yticklabels()
    ]
    assert ticks == ["SMS", "WeChat groups"]


def test_monitoring_panels_say_their_unit_and_the_alerts_direction():
    days = pd.date_range("2025-01-01", periods=30, freq="D")
    res = pd.DataFrame(
        {
            "metric": "revenue",
            "segment": "all",
            "date": days,
            "observed": np.r_[np.full(29, 100.0), 400.0],
            "expected": 100.0,
            "low": 80.0,
            "high": 120.0,
            "is_alert": [False] * 29 + [True],
            "direction": "up",
        }
    )
    fig = mp.series_grid(res, ["revenue"], lang="zh", currency="CNY")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "每日收入（CNY）" and _titled(fig)
    # the figure's own title, not its last panel's (a loop variable once shadowed it)
    assert fig._suptitle.get_text() == i18n.t("chart.monitor.grid_title", "zh")
    assert ax.get_title() == "收入"
    titled = mp.series_grid(res, ["revenue"], lang="zh", title="渠道序列")
    assert titled._suptitle.get_text() == "渠道序列"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "告警：高于区间" in legend and "告警：低于区间" in legend
    assert _latin(fig) == []


def test_quality_null_rates_name_columns_in_chinese():
    nulls = pd.DataFrame(
        {"table": ["events", "users"], "column": ["cost", "campaign_id"], "null_rate": [0.9, 0.4]}
    )
    fig = qp.null_rates(nulls, lang="zh")
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["行为事件·成本", "用户·活动"] and _latin(fig) == []
    en = [t.get_text() for t in qp.null_rates(nulls, lang="en").axes[0].get_yticklabels()]
    assert en == ["events.cost", "users.campaign_id"]
