"""Charts for monitoring and experiments (SPEC §4.5): KPI series with bands, A/B results.

Layout only: every number comes from ``growthlab.monitor`` results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from growthlab.plots.theme import labeller

_LABELS = {
    "en": {
        "observed": "observed",
        "expected": "expected",
        "band": "expected band",
        "alert": "alert",
        "date": "date",
        "conversion": "conversion rate",
        "diff": "difference vs control (pp)",
        "rpu": "revenue per user",
        "variant": "variant",
        "nodata": "no data",
    },
    "zh": {
        "observed": "观测值",
        "expected": "期望值",
        "band": "期望区间",
        "alert": "告警",
        "date": "日期",
        "conversion": "转化率",
        "diff": "相对对照组差异(百分点)",
        "rpu": "人均收入",
        "variant": "实验组",
        "nodata": "无数据",
    },
}


_l = labeller(_LABELS)


def series_ax(
    result: pd.DataFrame,
    ax: Axes,
    *,
    title: str | None = None,
    lang: str = "en",
    legend: bool = True,
) -> Axes:
    """Draw one ``detect_anomalies`` series on ``ax``: band shaded, expected dashed, alerts marked."""
    r = result.sort_values("date")
    if r.empty:
        ax.text(0.5, 0.5, _l(lang, "nodata"), ha="center", va="center", transform=ax.transAxes)
        return ax
    d = pd.to_datetime(r["date"])
    ax.fill_between(
        d, r["low"].astype(float), r["high"].astype(float), color="C0", alpha=0.18, lw=0,
        label=_l(lang, "band"),
    )  # fmt: skip
    ax.plot(d, r["expected"], color="C0", ls="--", lw=1, label=_l(lang, "expected"))
    ax.plot(d, r["observed"], color="0.2", lw=1.2, label=_l(lang, "observed"))
    a = r.loc[r["is_alert"].astype(bool)]
    if not a.empty:
        up = a["direction"] == "up"
        ax.scatter(pd.to_datetime(a["date"][up]), a["observed"][up], color="C3", marker="^",
                   s=60, zorder=5, label=_l(lang, "alert"))  # fmt: skip
        ax.scatter(pd.to_datetime(a["date"][~up]), a["observed"][~up], color="C3", marker="v",
                   s=60, zorder=5, label=None if up.any() else _l(lang, "alert"))  # fmt: skip
    if title:
        ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30)
    if legend:
        ax.legend(loc="upper left", fontsize="small", frameon=False)
    return ax


def series_grid(
    result: pd.DataFrame,
    metrics: Sequence[str],
    *,
    segment: str = "all",
    titles: Mapping[str, str] | None = None,
    lang: str = "en",
    ncols: int = 2,
) -> Figure:
    """Small multiples: one panel per metric of ``result`` (segment ``segment``)."""
    metrics = list(metrics)
    n = max(len(metrics), 1)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.0 * nrows), squeeze=False)
    for i, m in enumerate(metrics):
        ax = axes.flat[i]
        sub = result
        if "metric" in sub.columns:
            sub = sub.loc[sub["metric"] == m]
        if "segment" in sub.columns:
            sub = sub.loc[sub["segment"] == segment]
        series_ax(sub, ax, title=(titles or {}).get(m, m), lang=lang, legend=(i == 0))
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def ab_chart(ab: pd.DataFrame, *, lang: str = "en", title: str | None = None) -> Figure:
    """A/B results: conversion per variant with Wilson intervals, and each variant's difference
    versus control with its interval (percentage points) — one row of panels per experiment."""
    exps = list(dict.fromkeys(ab["experiment_id"]))
    n = max(len(exps), 1)
    fig, axes = plt.subplots(n, 2, figsize=(10, 2.6 + 1.2 * n), squeeze=False)
    for i, e in enumerate(exps):
        sub = ab.loc[ab["experiment_id"] == e].reset_index(drop=True)
        y = np.arange(len(sub))
        ax = axes[i, 0]
        p = sub["conversion"].to_numpy(float)
        err = np.vstack([p - sub["conversion_low"], sub["conversion_high"] - p])
        colors = ["0.5" if c else "C0" for c in sub["is_control"]]
        ax.barh(y, 100 * p, color=colors, alpha=0.8)
        ax.errorbar(100 * p, y, xerr=100 * err, fmt="none", ecolor="0.1", capsize=4)
        ax.set_yticks(y, sub["variant"].astype(str))
        ax.set_xlabel(_l(lang, "conversion") + " (%)")
        ax.set_title(f"{e}")
        ax2 = axes[i, 1]
        t = sub.loc[~sub["is_control"].astype(bool)].reset_index(drop=True)
        yt = np.arange(len(t))
        d = 100 * t["diff"].to_numpy(float)
        lo = 100 * t["diff_low"].to_numpy(float)
        hi = 100 * t["diff_high"].to_numpy(float)
        good = (lo > 0) & ~t.get("srm", pd.Series(False, index=t.index)).astype(bool).to_numpy()
        col = np.where(good, "C2", np.where(hi < 0, "C3", "0.4"))
        for j in range(len(t)):  # a handful of variants, not a hot path
            ax2.plot([lo[j], hi[j]], [yt[j], yt[j]], color=col[j], lw=3)
            ax2.plot(d[j], yt[j], "o", color=col[j], ms=8)
        ax2.axvline(0, color="0.3", lw=1)
        ax2.set_yticks(yt, t["variant"].astype(str))
        ax2.set_xlabel(_l(lang, "diff"))
        ax2.set_ylim(-0.8, max(len(t), 1) - 0.2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def trend_chart(
    series: pd.DataFrame,
    *,
    title: str | None = None,
    lang: str = "en",
    figsize: tuple[float, float] = (9, 3.2),
) -> Figure:
    """A plain daily line (columns date, value), e.g. the rolling K-factor, with y = 1 marked
    when the values approach it (the viral threshold for a K-factor)."""
    fig, ax = plt.subplots(figsize=figsize)
    s = series.sort_values("date")
    if s.empty or s["value"].notna().sum() == 0:
        ax.text(0.5, 0.5, _l(lang, "nodata"), ha="center", va="center", transform=ax.transAxes)
    else:
        ax.plot(pd.to_datetime(s["date"]), s["value"], color="C0", lw=1.5)
        if s["value"].max() > 0.5:
            ax.axhline(1.0, color="C3", lw=1, ls=":")
    if title:
        ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig
