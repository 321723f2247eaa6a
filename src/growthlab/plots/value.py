"""Charts for lifetime value (SPEC §4.3): CLV distribution, holdout check, value by group.

Layout only: every number comes from ``growthlab.value`` results; every word from
:mod:`growthlab.i18n` (``chart.value.*``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from growthlab import i18n
from growthlab.plots.theme import log_axis
from growthlab.segments import group_label


def _l(lang: str, key: str, **fields) -> str:
    return i18n.t(f"chart.value.{key}", lang, **fields)


def clv_distribution(clv: pd.Series, lang: str = "en", currency: str = "") -> Figure:
    """Histogram of predicted CLV on a log-spaced axis, with mean and median marked."""
    v = pd.Series(clv, dtype=float).dropna()
    v = v[v > 0]
    fig, ax = plt.subplots(figsize=(8, 4))
    if v.empty:
        return fig
    lo, hi = max(float(v.quantile(0.001)), 1e-3), float(v.max())
    bins = np.geomspace(lo, hi * 1.01, 50)
    ax.hist(v.clip(lower=lo), bins=bins, color="C0", alpha=0.8)
    log_axis(ax, "x")
    for stat, style in (("median", "--"), ("mean", "-")):
        x = float(v.median() if stat == "median" else v.mean())
        ax.axvline(x, color="C3", ls=style, label=f"{_l(lang, stat)} {x:,.1f}")
    ax.set_xlabel(_l(lang, "clv", currency=currency))
    ax.set_ylabel(_l(lang, "customers"))
    ax.set_title(_l(lang, "dist_title"))
    ax.legend()
    return fig


def holdout_chart(
    table: pd.DataFrame, lang: str = "en", max_frequency: int | None = None
) -> Figure:
    """Mean actual vs predicted holdout purchases per calibration frequency
    (``value.holdout_calibration`` output); the last group is "≥ max_frequency"."""
    t = table.sort_values("frequency")
    labels = t["frequency"].astype(int).astype(str).tolist()
    if max_frequency is not None and len(labels) and int(t["frequency"].iloc[-1]) >= max_frequency:
        labels[-1] = f"{max_frequency}+"
    x = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(x, t["actual"], marker="o", label=_l(lang, "actual"))
    ax.plot(x, t["predicted"], marker="s", ls="--", label=_l(lang, "predicted"))
    ax.set_xticks(x, labels)
    ax.set_xlabel(_l(lang, "freq"))
    ax.set_ylabel(_l(lang, "mean_hold"))
    ax.set_title(_l(lang, "hold_title"))
    ax.legend()
    return fig


def value_by_group_chart(
    table: pd.DataFrame, kind: str, lang: str = "en", currency: str = ""
) -> Figure:
    """Horizontal bars of mean value per group with interval whiskers
    (``value.clv_by_group`` table; ``kind`` = tier / channel / referral names the groups and
    the title; ``currency`` is the value axis unit). Rows without a mean (the pooled small
    groups) are not drawn."""
    t = table.dropna(subset=["mean"]).sort_values("mean")
    names = [group_label(g, lang, kind) for g in t["group"]]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(t) + 1.5))
    err = np.vstack([t["mean"] - t["low"], t["high"] - t["mean"]])
    err = np.where(np.isfinite(err), err, 0.0)
    ax.barh(names, t["mean"], xerr=err, color="C0", alpha=0.85, capsize=3)
    ax.set_xlabel(_l(lang, "mean_clv", currency=currency))
    ax.set_title(_l(lang, f"by_{kind}"))
    return fig
