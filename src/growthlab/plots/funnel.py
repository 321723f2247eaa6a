"""Funnel, retention and reach-timing charts (SPEC §4.4).

Layout only: every number comes from ``growthlab.funnel`` results.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from growthlab.plots.theme import labeller

_LABELS = {
    "en": {
        "funnel": "Funnel: share of step-1 users reaching each step",
        "overall": "overall conversion",
        "retention": "Cohort retention",
        "cohort": "signup cohort",
        "period_W": "weeks since signup",
        "period_M": "months since signup",
        "curves": "Retention curves",
        "retained": "active users (share of cohort)",
        "weekday_hour": "Activity by weekday and hour (local time)",
        "hour": "hour of day",
        "weekday": "weekday",
        "days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "fatigue": "Response rate vs contacts per week",
        "contacts": "contacts per user and week",
        "response": "share of user-weeks with a response",
        "per_contact": "responses per contact",
    },
    "zh": {
        "funnel": "漏斗：到达各步骤的用户占第一步的比例",
        "overall": "整体转化率",
        "retention": "同期群留存",
        "cohort": "注册同期群",
        "period_W": "注册后周数",
        "period_M": "注册后月数",
        "curves": "留存曲线",
        "retained": "活跃用户（占同期群比例）",
        "weekday_hour": "按星期与小时的活跃度（当地时间）",
        "hour": "小时",
        "weekday": "星期",
        "days": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
        "fatigue": "触达频次与响应率",
        "contacts": "每用户每周触达次数",
        "response": "有响应的用户周占比",
        "per_contact": "每次触达的响应数",
    },
}


_l = labeller(_LABELS)


def _pct(ax, axis: str = "x") -> None:
    fmt = plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def funnel(result: pd.DataFrame, lang: str = "en") -> Figure:
    """Horizontal funnel bars (overall conversion) with Wilson intervals and user counts."""
    r = result.sort_values("step_index")
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.6 * len(r)))
    y = np.arange(len(r))[::-1]
    conv = r["overall_conversion"].to_numpy(dtype=float)
    err = np.vstack([conv - r["overall_low"], r["overall_high"] - conv]).astype(float)
    err = np.clip(np.nan_to_num(err), 0, None)
    ax.barh(y, conv, color="C0", xerr=err, capsize=4)
    for yi, c, n in zip(y, conv, r["users"], strict=True):
        ax.text(min(c, 1) + 0.02, yi, f"{100 * c:.1f}%  (n={n:,})", va="center")
    ax.set_yticks(y, r["step"])
    ax.set_xlim(0, 1.3)
    ax.set_xticks(np.linspace(0, 1, 6))
    _pct(ax)
    ax.set_xlabel(_l(lang, "overall"))
    ax.set_title(_l(lang, "funnel"))
    return fig


def retention_heatmap(matrix: pd.DataFrame, period: str = "W", lang: str = "en") -> Figure:
    """Cohort x period heatmap of ``funnel.retention_matrix`` (censored cells blank)."""
    m = matrix.copy()
    fmt = "%Y-%m-%d" if period == "W" else "%Y-%m"
    m.index = [pd.Timestamp(i).strftime(fmt) for i in m.index]
    fig, ax = plt.subplots(figsize=(min(2 + 0.5 * m.shape[1], 16), 1.5 + 0.3 * m.shape[0]))
    sns.heatmap(
        m,
        ax=ax,
        cmap="viridis",
        vmin=0,
        vmax=float(np.nanmax(m.iloc[:, 1:].to_numpy())) if m.shape[1] > 1 else 1,
        annot=m.shape[1] <= 16 and m.shape[0] <= 30,
        fmt=".0%",
        annot_kws={"size": 7},
        cbar_kws={"format": plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%")},
    )
    ax.set_xlabel(_l(lang, f"period_{period}"))
    ax.set_ylabel(_l(lang, "cohort"))
    ax.set_title(_l(lang, "retention"))
    return fig


def retention_curves(curves: pd.DataFrame, by: str, period: str = "W", lang: str = "en") -> Figure:
    """Pooled retention curves per group with Wilson bands (``funnel.retention_curve``)."""
    fig, ax = plt.subplots()
    for i, (g, d) in enumerate(curves.groupby(by, sort=True)):
        d = d.sort_values("period")
        ax.plot(d["period"], d["retention"], marker="o", ms=3, color=f"C{i}", label=str(g))
        ax.fill_between(d["period"], d["low"], d["high"], color=f"C{i}", alpha=0.2, lw=0)
    _pct(ax, "y")
    ax.set_xlabel(_l(lang, f"period_{period}"))
    ax.set_ylabel(_l(lang, "retained"))
    ax.set_title(_l(lang, "curves"))
    ax.legend(title=by, frameon=False)
    return fig


def weekday_hour(grid: pd.DataFrame, lang: str = "en") -> Figure:
    """7 x 24 heatmap of ``funnel.weekday_hour``."""
    g = grid.copy()
    g.index = _l(lang, "days")[: len(g)]
    fig, ax = plt.subplots(figsize=(11, 3.6))
    sns.heatmap(g, ax=ax, cmap="rocket_r", cbar_kws={"shrink": 0.8})
    ax.set_xlabel(_l(lang, "hour"))
    ax.set_ylabel(_l(lang, "weekday"))
    ax.set_title(_l(lang, "weekday_hour"))
    return fig


def fatigue(curve: pd.DataFrame, lang: str = "en", metric: str = "response_rate") -> Figure:
    """Response vs contacts per week, one line per channel (``funnel.fatigue_curve``).

    ``metric``: "response_rate" (share of user-weeks with a response, Wilson band) or
    "responses_per_contact".
    """
    fig, ax = plt.subplots()
    for i, (ch, d) in enumerate(curve.groupby("channel", sort=True)):
        d = d.sort_values("contacts")
        color = f"C{i % 10}"
        ax.plot(d["contacts"], d[metric], marker="o", ms=3, color=color, label=ch)
        if metric == "response_rate":
            ax.fill_between(d["contacts"], d["low"], d["high"], color=color, alpha=0.12, lw=0)
    _pct(ax, "y")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_l(lang, "contacts"))
    ax.set_ylabel(_l(lang, "response" if metric == "response_rate" else "per_contact"))
    ax.set_title(_l(lang, "fatigue"))
    ax.legend(frameon=False, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig
