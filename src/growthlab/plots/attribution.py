"""Attribution charts and display tables (SPEC §4.4): models side by side, removal effects,
CPA / ROAS.

Layout only: every number comes from ``growthlab.attribution`` results; every word from
:mod:`growthlab.i18n` (``chart.attribution.*``, ``model.*``, ``column.*``). The ``*_table``
functions return frames ready for ``report.show(table, lang=lang)``: values written as text
(catalogue formatting), missing values left empty for the report's dash.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from growthlab import i18n, metrics
from growthlab.attribution import Comparison, Economics, MarkovResult

#: Label of the pooled row of ``privacy.suppress_small_groups`` (its default).
SUPPRESSED = "(suppressed)"


def _t(key: str, lang: str, **fields) -> str:
    return i18n.t(f"chart.attribution.{key}", lang, **fields)


def _model(model: str, lang: str) -> str:
    return i18n.maybe(f"model.{model}", lang, model)


def _channels(channels: pd.Series, lang: str) -> pd.Series:
    """Channel keys by their display names (``channel.<key>``; names from the data as they are)."""
    return channels.map(lambda c: i18n.name("channel", c, lang))


def _journey(path: str, lang: str) -> str:
    """A journey "a>b>c" as "A → B → C" with channel display names."""
    return " → ".join(i18n.name("channel", c, lang) for c in str(path).split(">"))


def _fmt(values: pd.Series, unit: str, lang: str, currency: str | None = None) -> pd.Series:
    """Catalogue formatting of a numeric column; missing values stay missing (shown as a dash)."""
    out = pd.Series(
        [metrics.format_value(v, unit, lang=lang, currency=currency) for v in values],
        index=values.index,
        dtype=object,
    )
    return out.where(pd.to_numeric(values, errors="coerce").notna())


def models_comparison(compare: pd.DataFrame, lang: str = "en") -> Figure:
    """Grouped horizontal bars: each channel's share of conversions under every model.

    ``compare`` is :attr:`growthlab.attribution.Comparison.credits` (model, channel, share).
    """
    data = compare.assign(
        model=[_model(m, lang) for m in compare["model"]],
        channel=_channels(compare["channel"], lang),
    )
    order = data.groupby("channel")["share"].mean().sort_values(ascending=False).index.tolist()
    n_ch = max(len(order), 1)
    fig, ax = plt.subplots(figsize=(9, 1.0 + 0.55 * n_ch))
    sns.barplot(data=data, y="channel", x="share", hue="model", order=order, orient="h", ax=ax)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax.set_xlabel(_t("share", lang))
    ax.set_ylabel(_t("channel", lang))
    ax.set_title(_t("models", lang))
    ax.legend(title=_t("model", lang), bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    return fig


def removal_effects(markov_result: MarkovResult, lang: str = "en") -> Figure:
    """Bar chart of the Markov removal effect per channel (:func:`growthlab.attribution.markov`)."""
    r = markov_result.credits.sort_values("removal_effect")
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.4 * max(len(r), 1)))
    ax.barh(_channels(r["channel"], lang), r["removal_effect"], color="C0")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax.set_xlabel(_t("removal_x", lang))
    ax.set_title(_t("removal", lang, model=_model(f"markov_{markov_result.order}", lang)))
    return fig


def cpa_roas(table: pd.DataFrame, lang: str = "en", currency: str | None = None) -> Figure:
    """Two panels: CPA and ROAS per channel and model (:attr:`Economics.table`)."""
    t = table[table["spend"] > 0].copy()
    t["model"] = [_model(m, lang) for m in t["model"]]
    t["channel"] = _channels(t["channel"], lang)
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.2 + 0.5 * max(t["channel"].nunique(), 1)))
    order = t.groupby("channel")["spend"].sum().sort_values(ascending=False).index.tolist()
    for ax, col in zip(axes, ("cpa", "roas"), strict=True):
        d = t.replace([np.inf, -np.inf], np.nan).dropna(subset=[col])
        if d.empty:
            ax.set_axis_off()
            continue
        sns.barplot(data=d, y="channel", x=col, hue="model", order=order, orient="h", ax=ax)
        ax.set_xlabel(_t(col, lang, currency=currency or ""))
        ax.set_ylabel("")
        if ax is axes[0]:
            if ax.get_legend() is not None:
                ax.get_legend().remove()
        else:
            ax.legend(
                title=_t("model", lang), bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False
            )
    fig.suptitle(_t("cpa_title", lang), fontweight="bold")
    return fig


# ------------------------------------------------------------------ display tables


def paths_table(paths: pd.DataFrame, lang: str = "en", currency: str | None = None) -> pd.DataFrame:
    """Display frame of :func:`growthlab.attribution.path_summary` (after suppression):
    journey (channels joined by →), conversions, journeys without conversion, order value,
    conversion rate."""
    out = pd.DataFrame(
        {
            "path": [
                i18n.t("ui.suppressed", lang) if p == SUPPRESSED else _journey(p, lang)
                for p in paths["path"].astype(str)
            ],
            "journey_conversions": _fmt(paths["conversions"], "count", lang),
            "journey_nulls": _fmt(paths["nulls"], "count", lang),
        }
    )
    if "value" in paths.columns:
        out["journey_value"] = _fmt(paths["value"], "currency", lang, currency)
    out["journey_conversion_rate"] = _fmt(paths["conversion_rate"], "fraction", lang)
    return out


def shares_table(comparison: Comparison, lang: str = "en") -> pd.DataFrame:
    """Each channel's share of attributed conversions under every model (one column per model,
    headed by the model's name), rows sorted by the reference model."""
    wide = comparison.shares()
    out = pd.DataFrame({"channel": wide["channel"]})
    for m in comparison.models:
        name = _model(m, lang)
        out[name[:1].upper() + name[1:]] = _fmt(wide[m], "fraction", lang)
    return out


def economics_table(
    economics: Economics, lang: str = "en", currency: str | None = None
) -> pd.DataFrame:
    """Spend, then CPA and ROAS under each compared model, one row per channel with spend
    (sorted by ROAS under the ranking model)."""
    t = economics.table
    models = list(dict.fromkeys(t["model"]))
    out = pd.DataFrame({"channel": economics.ranking["channel"]})
    spend = t.groupby("channel")["spend"].first()
    out["spend"] = _fmt(out["channel"].map(spend), "currency", lang, currency)
    for col, key, unit in (("cpa", "cpa_model", "currency"), ("roas", "roas_model", "ratio")):
        wide = t.pivot(index="channel", columns="model", values=col)
        for m in models:
            header = i18n.t(f"column.{key}", lang, model=_model(m, lang))
            out[header] = _fmt(out["channel"].map(wide[m]), unit, lang, currency)
    return out.reset_index(drop=True)
