"""Attribution charts (SPEC §4.4): models side by side, removal effects, CPA / ROAS.

Layout only: every number comes from ``growthlab.attribution`` results.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from growthlab.plots.theme import labeller

_LABELS = {
    "en": {
        "share": "share of attributed conversions",
        "channel": "channel",
        "model": "model",
        "models": "Attribution by model",
        "removal": "Markov removal effect",
        "removal_x": "drop in conversion probability when the channel is removed",
        "cpa": "cost per attributed conversion",
        "roas": "return on ad spend (value / spend)",
        "cpa_title": "CPA and ROAS by channel",
    },
    "zh": {
        "share": "归因转化占比",
        "channel": "渠道",
        "model": "模型",
        "models": "各归因模型对比",
        "removal": "马尔可夫移除效应",
        "removal_x": "移除该渠道后转化概率的下降",
        "cpa": "单次归因转化成本",
        "roas": "广告支出回报率（价值 / 花费）",
        "cpa_title": "各渠道 CPA 与 ROAS",
    },
}


_l = labeller(_LABELS)


def models_comparison(compare: pd.DataFrame, lang: str = "en") -> Figure:
    """Grouped horizontal bars: each channel's share of conversions under every model.

    ``compare`` is the long frame of ``attribution.compare`` (model, channel, share).
    """
    order = compare.groupby("channel")["share"].mean().sort_values(ascending=False).index.tolist()
    n_ch = max(len(order), 1)
    fig, ax = plt.subplots(figsize=(9, 1.0 + 0.55 * n_ch))
    sns.barplot(data=compare, y="channel", x="share", hue="model", order=order, orient="h", ax=ax)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax.set_xlabel(_l(lang, "share"))
    ax.set_ylabel(_l(lang, "channel"))
    ax.set_title(_l(lang, "models"))
    ax.legend(title=_l(lang, "model"), bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    return fig


def removal_effects(markov_result: pd.DataFrame, lang: str = "en") -> Figure:
    """Bar chart of the Markov removal effect per channel (``attribution.markov`` output)."""
    r = markov_result.sort_values("removal_effect")
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.4 * max(len(r), 1)))
    ax.barh(r["channel"], r["removal_effect"], color="C0")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax.set_xlabel(_l(lang, "removal_x"))
    ax.set_title(_l(lang, "removal"))
    return fig


def cpa_roas(table: pd.DataFrame, lang: str = "en") -> Figure:
    """Two panels: CPA and ROAS per channel and model (``attribution.cpa_roas`` output)."""
    t = table[table["spend"] > 0].copy()
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.2 + 0.5 * max(t["channel"].nunique(), 1)))
    order = t.groupby("channel")["spend"].sum().sort_values(ascending=False).index.tolist()
    for ax, col in zip(axes, ("cpa", "roas"), strict=True):
        d = t.replace([np.inf, -np.inf], np.nan).dropna(subset=[col])
        if d.empty:
            ax.set_axis_off()
            continue
        sns.barplot(data=d, y="channel", x=col, hue="model", order=order, orient="h", ax=ax)
        ax.set_xlabel(_l(lang, col))
        ax.set_ylabel("")
        if ax is axes[0]:
            if ax.get_legend() is not None:
                ax.get_legend().remove()
        else:
            ax.legend(
                title=_l(lang, "model"), bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False
            )
    fig.suptitle(_l(lang, "cpa_title"), fontweight="bold")
    return fig
