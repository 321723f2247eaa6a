"""Charts for monitoring and experiments (SPEC §4.5): KPI series with bands, A/B results.

Layout only: every number comes from ``growthlab.monitor`` results; every word from
``growthlab.i18n`` (``chart.monitor.*``, KPI names ``kpi.*``, channels ``channel.*``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from growthlab import i18n


def _l(lang: str, key: str, **fields) -> str:
    return i18n.t(f"chart.monitor.{key}", lang, **fields)


def _kpi(metric: str, lang: str) -> str:
    return i18n.maybe(f"kpi.{metric}", lang, str(metric))


def _segment(segment: str, lang: str) -> str:
    if segment == "all":
        return i18n.t("group.all", lang)
    return i18n.maybe(f"channel.{segment}", lang, str(segment))


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
        ax.text(
            0.5, 0.5, i18n.t("ui.no_data", lang), ha="center", va="center", transform=ax.transAxes
        )
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
        if up.any():
            ax.scatter(pd.to_datetime(a["date"][up]), a["observed"][up], color="C3", marker="^",
                       s=60, zorder=5, label=_l(lang, "alert_up"))  # fmt: skip
        if (~up).any():
            ax.scatter(pd.to_datetime(a["date"][~up]), a["observed"][~up], color="C3",
                       marker="v", s=60, zorder=5, label=_l(lang, "alert_down"))  # fmt: skip
    if title:
        ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30)
    if legend:  # both alert markers explained, whether or not this panel has them
        handles, labels = ax.get_legend_handles_labels()
        for key, marker in (("alert_up", "^"), ("alert_down", "v")):
            if _l(lang, key) not in labels:
                handles.append(Line2D([], [], color="C3", marker=marker, ls="", ms=7))
                labels.append(_l(lang, key))
        ax.legend(handles, labels, loc="upper left", fontsize="small", frameon=False)
    return ax


def series_grid(
    result: pd.DataFrame,
    metrics: Sequence[str | tuple[str, str]],
    *,
    segment: str = "all",
    titles: Mapping[str, str] | None = None,
    lang: str = "en",
    ncols: int = 2,
    currency: str = "",
    title: str | None = None,
) -> Figure:
    """Small multiples of a ``detect_anomalies`` result: one panel per metric (of segment
    ``segment``) or per ``(metric, segment)`` pair, titled by the KPI (and channel) name in
    ``lang`` unless ``titles`` gives one; each panel's value axis says its unit
    (``chart.monitor.unit.<metric>``, money in ``currency``); the figure is titled ``title``
    (default ``chart.monitor.grid_title``)."""
    panels = [(*m, True) if isinstance(m, tuple) else (m, segment, False) for m in metrics]
    n = max(len(panels), 1)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.0 * nrows), squeeze=False)
    for i, (m, seg, pair) in enumerate(panels):
        sub = result
        if "metric" in sub.columns:
            sub = sub.loc[sub["metric"] == m]
        if "segment" in sub.columns:
            sub = sub.loc[sub["segment"] == seg]
        panel = (titles or {}).get(m) or _kpi(m, lang)
        if pair:
            panel = _l(lang, "series_title", metric=panel, segment=_segment(seg, lang))
        series_ax(sub, axes.flat[i], title=panel, lang=lang, legend=(i == 0))
        unit = f"chart.monitor.unit.{m}"
        if unit in i18n.TEXT:
            axes.flat[i].set_ylabel(i18n.t(unit, lang, currency=currency), fontsize="small")
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(title or _l(lang, "grid_title"))
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
        ax.set_yticks(y, [i18n.maybe(f"variant.{v}", lang, str(v)) for v in sub["variant"]])
        ax.set_xlabel(_l(lang, "conversion"))
        ax.set_title(f"{e}")
        ax2 = axes[i, 1]
        t = sub.loc[~sub["is_control"].astype(bool)].reset_index(drop=True)
        yt = np.arange(len(t))
        d = 100 * t["diff"].to_numpy(float)
        lo = 100 * t["diff_low"].to_numpy(float)
        hi = 100 * t["diff_high"].to_numpy(float)
        verdict = t["verdict"].to_numpy() if "verdict" in t else np.full(len(t), "")
        col = np.where(verdict == "win", "C2", np.where(verdict == "loss", "C3", "0.4"))
        for j in range(len(t)):  # a handful of variants, not a hot path
            ax2.plot([lo[j], hi[j]], [yt[j], yt[j]], color=col[j], lw=3)
            ax2.plot(d[j], yt[j], "o", color=col[j], ms=8)
        ax2.axvline(0, color="0.3", lw=1)
        ax2.set_yticks(yt, [i18n.maybe(f"variant.{v}", lang, str(v)) for v in t["variant"]])
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
    ylabel: str | None = None,
) -> Figure:
    """A plain daily line (columns date, value), e.g. the rolling K-factor, with y = 1 marked
    when the values approach it (the viral threshold for a K-factor)."""
    fig, ax = plt.subplots(figsize=figsize)
    s = series.sort_values("date")
    if s.empty or s["value"].notna().sum() == 0:
        ax.text(
            0.5, 0.5, i18n.t("ui.no_data", lang), ha="center", va="center", transform=ax.transAxes
        )
    else:
        ax.plot(pd.to_datetime(s["date"]), s["value"], color="C0", lw=1.5)
        if s["value"].max() > 0.5:
            ax.axhline(1.0, color="C3", lw=1, ls=":")
    if title:
        ax.set_title(title)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig


def rolling_k_chart(series: pd.DataFrame, window_days: int, *, lang: str = "en") -> Figure:
    """The overall rolling K-factor (``growthlab.monitor.rolling_k(...).series``) as a trend,
    titled with its definition (invitees / new users over the last ``window_days`` days)."""
    return trend_chart(
        series,
        title=_l(lang, "rolling_k", window_days=window_days),
        lang=lang,
        ylabel=_l(lang, "rolling_k_axis"),
    )
