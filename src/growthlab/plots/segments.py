"""Charts for segments (SPEC §4.3): RFM heatmap, tiers, lifecycle, clusters, PCA view.

Layout only: every number comes from ``growthlab.segments`` results.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from growthlab.plots.theme import labeller
from growthlab.segments import feature_label, segment_label

_LABELS = {
    "en": {
        "r": "recency score (5 = most recent)",
        "f": "frequency score (5 = most frequent)",
        "m": "mean spend",
        "rfm_title": "RFM grid: cell colour = mean spend, number = users",
        "users": "share of users",
        "value": "share of value",
        "tier_title": "Value tiers: users and value",
        "stage_title": "Lifecycle stages",
        "n_users": "users",
        "cluster": "cluster",
        "profile_title": "Cluster profiles (mean standardised feature)",
        "k": "number of clusters k",
        "silhouette": "silhouette (sampled)",
        "k_title": "Choosing k",
        "pca_title": "Clusters on the first two principal components",
        "pc": "PC{i} ({v:.0%} of variance)",
    },
    "zh": {
        "r": "最近购买得分（5 = 最近）",
        "f": "购买频次得分（5 = 最高）",
        "m": "平均消费",
        "rfm_title": "RFM 网格：颜色 = 平均消费，数字 = 用户数",
        "users": "用户占比",
        "value": "价值占比",
        "tier_title": "价值分层：用户与价值",
        "stage_title": "生命周期阶段",
        "n_users": "用户数",
        "cluster": "聚类",
        "profile_title": "聚类画像（标准化特征均值）",
        "k": "聚类数 k",
        "silhouette": "轮廓系数（抽样）",
        "k_title": "选择 k",
        "pca_title": "主成分平面上的聚类",
        "pc": "主成分{i}（解释 {v:.0%} 方差）",
    },
}


_l = labeller(_LABELS)


def rfm_heatmap(grid: pd.DataFrame, lang: str = "en", min_group_size: int = 0) -> Figure:
    """Heatmap of :func:`growthlab.segments.rfm_grid`: R (rows) × F (columns), colour = mean
    spend, annotation = users. Cells with fewer than ``min_group_size`` users are blanked."""
    g = grid.copy()
    g.loc[g["users"] < min_group_size, "mean_monetary"] = np.nan
    colour = g.pivot(index="r_score", columns="f_score", values="mean_monetary")
    users = g.pivot(index="r_score", columns="f_score", values="users")
    colour = colour.sort_index(ascending=False)
    users = users.reindex_like(colour)
    annot = users.map(lambda v: "" if pd.isna(v) or v < min_group_size else f"{int(v):,}")
    fig, ax = plt.subplots(figsize=(7, 5))
    sns.heatmap(
        colour, annot=annot, fmt="", cmap="YlGnBu", ax=ax, cbar_kws={"label": _l(lang, "m")}
    )
    ax.set_xlabel(_l(lang, "f"))
    ax.set_ylabel(_l(lang, "r"))
    ax.set_title(_l(lang, "rfm_title"))
    return fig


def share_bars(summary: pd.DataFrame, lang: str = "en", title: str | None = None) -> Figure:
    """Side-by-side share of users and share of value per group (``group_summary`` output)."""
    s = summary.copy()
    s["label"] = s["group"].map(lambda k: segment_label(k, lang))
    cols = {"user_share": _l(lang, "users")}
    if "value_share" in s.columns:
        cols["value_share"] = _l(lang, "value")
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
    s["label"] = s["group"].map(lambda k: segment_label(k, lang))
    fig, ax = plt.subplots(figsize=(8, 4))
    sns.barplot(s, x="label", y="users", ax=ax, color=sns.color_palette()[0])
    ax.bar_label(ax.containers[0], fmt=lambda v: f"{int(v):,}", fontsize=8)
    ax.set_xlabel("")
    ax.set_ylabel(_l(lang, "n_users"))
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
    sns.heatmap(p, annot=True, fmt=".1f", cmap="RdBu_r", center=0, vmin=-lim, vmax=lim, ax=ax)
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
    ax.set_xlabel(_l(lang, "pc").format(i=1, v=float(explained[0])))
    ax.set_ylabel(_l(lang, "pc").format(i=2, v=float(explained[1]) if len(explained) > 1 else 0))
    ax.set_title(_l(lang, "pca_title"))
    ax.legend(title=_l(lang, "cluster"), markerscale=2)
    return fig
