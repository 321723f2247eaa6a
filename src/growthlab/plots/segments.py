"""Charts for segments (SPEC §4.3): RFM heatmap, tiers, lifecycle, clusters, PCA view.

Layout only: every number comes from ``growthlab.segments`` results (small groups are
suppressed there); every word from :mod:`growthlab.i18n` (``chart.segments.*``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from growthlab import i18n
from growthlab.segments import feature_label, group_label


def _l(lang: str, key: str, **fields) -> str:
    return i18n.t(f"chart.segments.{key}", lang, **fields)


def rfm_heatmap(grid: pd.DataFrame, lang: str = "en", currency: str = "") -> Figure:
    """Heatmap of :func:`growthlab.segments.rfm_grid`: R (rows) × F (columns), colour = mean
    spend (in ``currency``), annotation = users. Cells the grid suppressed (missing values)
    are drawn blank."""
    colour = grid.pivot(index="r_score", columns="f_score", values="mean_monetary")
    users = grid.pivot(index="r_score", columns="f_score", values="users")
    colour = colour.sort_index(ascending=False)
    users = users.reindex_like(colour)
    annot = users.map(lambda v: "" if pd.isna(v) else f"{int(v):,}")
    fig, ax = plt.subplots(figsize=(7, 5))
    spend = _l(lang, "m_currency", currency=currency) if currency else _l(lang, "m")
    sns.heatmap(colour, annot=annot, fmt="", cmap="YlGnBu", ax=ax, cbar_kws={"label": spend})
    ax.set_xlabel(_l(lang, "f"))
    ax.set_ylabel(_l(lang, "r"))
    ax.set_title(_l(lang, "rfm_title"))
    return fig


def share_bars(summary: pd.DataFrame, lang: str = "en", title: str | None = None) -> Figure:
    """Side-by-side share of users and share of value per group (``group_summary`` output)."""
    s = summary.copy()
    s["label"] = s["group"].map(lambda k: group_label(k, lang))
    cols = {"user_share": _l(lang, "user_share")}
    if "value_share" in s.columns:
        cols["value_share"] = _l(lang, "value_share")
    long = s.melt(id_vars="label", value_vars=list(cols), var_name="what", value_name="share")
    long["what"] = long["what"].map(cols)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sns.barplot(long, x="label", y="share", hue="what", ax=ax)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.legend(title="")
    ax.set_title(title or _l(lang, "tier_title"))
    for c in ax.containers:
        ax.bar_label(c, fmt=lambda v: f"{v:.0%}", fontsize=8)
    return fig


def stage_bars(summary: pd.DataFrame, lang: str = "en") -> Figure:
    """Users per lifecycle stage (``group_summary`` output in stage order)."""
    s = summary.copy()
    s["label"] = s["group"].map(lambda k: group_label(k, lang, "stage"))
    fig, ax = plt.subplots(figsize=(8, 4))
    sns.barplot(s, x="label", y="users", ax=ax, color=sns.color_palette()[0])
    ax.bar_label(ax.containers[0], fmt=lambda v: f"{int(v):,}", fontsize=8)
    ax.set_xlabel("")
    ax.set_ylabel(_l(lang, "users"))
    ax.set_title(_l(lang, "stage_title"))
    return fig


def silhouette_curve(scores: pd.DataFrame, chosen: int, lang: str = "en") -> Figure:
    """Sampled silhouette by k, the chosen k marked."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(scores["k"], scores["silhouette"], marker="o")
    best = scores.loc[scores["k"] == chosen]
    ax.scatter(best["k"], best["silhouette"], s=160, facecolors="none", edgecolors="C3", lw=2)
    ax.set_xlabel(_l(lang, "k"))
    ax.set_ylabel(_l(lang, "silhouette"))
    ax.set_title(_l(lang, "k_title"))
    ax.set_xticks(scores["k"])
    return fig


def profile_heatmap(profile: pd.DataFrame, lang: str = "en") -> Figure:
    """Clusters × features heatmap of mean standardised values (``segments.profile_z``)."""
    p = profile.copy()
    p.columns = [feature_label(c, lang) for c in p.columns]
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * p.shape[1] + 2), 0.6 * p.shape[0] + 2))
    lim = float(np.nanmax(np.abs(p.to_numpy()))) if p.size else 1.0
    sns.heatmap(
        p, annot=True, fmt=".1f", cmap="RdBu_r", center=0, vmin=-lim, vmax=lim, ax=ax,
        cbar_kws={"label": _l(lang, "z")},
    )  # fmt: skip
    ax.set_ylabel(_l(lang, "cluster"))
    ax.set_title(_l(lang, "profile_title"))
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    return fig


def pca_scatter(view: pd.DataFrame, explained, lang: str = "en") -> Figure:
    """2-D PCA scatter of a sample of users coloured by cluster (``segments.pca_view``)."""
    fig, ax = plt.subplots(figsize=(7, 5))
    sns.scatterplot(
        view, x="pc1", y="pc2", hue="cluster", palette="deep", s=10, alpha=0.6, ax=ax,
        linewidth=0,
    )  # fmt: skip
    second = float(explained[1]) if len(explained) > 1 else 0.0
    ax.set_xlabel(_l(lang, "pc", i=1, v=f"{float(explained[0]):.0%}"))
    ax.set_ylabel(_l(lang, "pc", i=2, v=f"{second:.0%}"))
    ax.set_title(_l(lang, "pca_title"))
    ax.legend(title=_l(lang, "cluster"), markerscale=2)
    return fig
