"""Funnel, retention and reach-timing charts and display tables (SPEC §4.4).

Layout only: every number comes from ``growthlab.funnel`` results; every word from
:mod:`growthlab.i18n` (``chart.funnel.*``, ``step.*``, ``group.*``, ``weekday_short.*``,
``column.*``). The ``*_table`` functions return frames ready for
``report.show(table, lang=lang)``: values written as text (catalogue formatting), missing values
left empty for the report's dash.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from growthlab import i18n, metrics

#: Label of the pooled row of ``privacy.suppress_small_groups`` (its default).
SUPPRESSED = "(suppressed)"


def _t(key: str, lang: str, **fields) -> str:
    return i18n.t(f"chart.funnel.{key}", lang, **fields)


def _step(step: str, lang: str) -> str:
    return i18n.maybe(f"step.{step}", lang, str(step))


def _pct(ax, axis: str = "x") -> None:
    fmt = plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _fmt(values: pd.Series, unit: str, lang: str) -> pd.Series:
    """Catalogue formatting of a numeric column; missing values stay missing (shown as a dash)."""
    out = pd.Series(
        [metrics.format_value(v, unit, lang=lang) for v in values], index=values.index, dtype=object
    )
    return out.where(pd.to_numeric(values, errors="coerce").notna())


def _suppressed(labels: pd.Series, lang: str) -> pd.Series:
    """Group labels with the pooled small-groups row (``privacy.suppress_small_groups``) named
    in ``lang``."""
    return labels.replace({SUPPRESSED: i18n.t("ui.suppressed", lang)})


def _interval(low: pd.Series, high: pd.Series, lang: str) -> pd.Series:
    """ "74.5 % – 75.7 %" from two fraction columns (missing when either bound is)."""
    lo, hi = _fmt(low, "fraction", lang), _fmt(high, "fraction", lang)
    return (lo + " – " + hi).where(lo.notna() & hi.notna())


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
    ax.set_yticks(y, [_step(s, lang) for s in r["step"]])
    ax.set_xlim(0, 1.3)
    ax.set_xticks(np.linspace(0, 1, 6))
    _pct(ax)
    ax.set_xlabel(_t("overall", lang))
    ax.set_title(_t("funnel", lang))
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
    ax.set_xlabel(_t(f"period_{period}", lang))
    ax.set_ylabel(_t("cohort", lang))
    ax.set_title(_t("retention", lang))
    return fig


def retention_curves(
    curves: pd.DataFrame, by: str = "acquisition", period: str = "W", lang: str = "en"
) -> Figure:
    """Pooled retention curves per group with Wilson bands (``funnel.retention_curve`` /
    ``funnel.acquisition_retention``); group names through ``group.<name>``."""
    fig, ax = plt.subplots()
    for i, (g, d) in enumerate(curves.groupby(by, sort=True)):
        d = d[d["users"] > 0].sort_values("period")
        label = i18n.maybe(f"group.{g}", lang, str(g))
        ax.plot(d["period"], d["retention"], marker="o", ms=3, color=f"C{i}", label=label)
        ax.fill_between(d["period"], d["low"], d["high"], color=f"C{i}", alpha=0.2, lw=0)
    _pct(ax, "y")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_t(f"period_{period}", lang))
    ax.set_ylabel(_t("retained", lang))
    ax.set_title(_t("curves", lang))
    ax.legend(title=i18n.maybe(f"chart.funnel.{by}", lang, by), frameon=False)
    return fig


def weekday_hour(grid: pd.DataFrame, lang: str = "en", timezone: str = "") -> Figure:
    """7 x 24 heatmap of ``funnel.weekday_hour`` (local time of ``timezone``)."""
    g = grid.copy()
    g.index = [i18n.t(f"weekday_short.{int(d)}", lang) for d in g.index]
    fig, ax = plt.subplots(figsize=(11, 3.6))
    sns.heatmap(g, ax=ax, cmap="rocket_r", cbar_kws={"shrink": 0.8, "label": _t("events", lang)})
    ax.set_xlabel(_t("hour", lang))
    ax.set_ylabel(_t("weekday", lang))
    ax.set_title(_t("weekday_hour", lang, zone=timezone))
    return fig


def fatigue(curve: pd.DataFrame, lang: str = "en", metric: str = "response_rate") -> Figure:
    """Response vs contacts per week, one line per channel (``funnel.fatigue_curve``).

    ``metric``: "response_rate" (share of user-weeks with a response, Wilson band) or
    "responses_per_contact" (no band: with many channels the bands hide the lines).
    """
    fig, ax = plt.subplots()
    for i, (ch, d) in enumerate(curve.groupby("channel", sort=True)):
        d = d.sort_values("contacts")
        color = f"C{i % 10}"
        label = i18n.name("channel", ch, lang)
        ax.plot(d["contacts"], d[metric], marker="o", ms=3, color=color, label=label)
        if metric == "response_rate":
            ax.fill_between(d["contacts"], d["low"], d["high"], color=color, alpha=0.12, lw=0)
    _pct(ax, "y")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_t("contacts", lang))
    ax.set_ylabel(_t("response" if metric == "response_rate" else "per_contact", lang))
    ax.set_title(_t("fatigue", lang))
    ax.legend(title=_t("channel", lang), frameon=False, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig


# ------------------------------------------------------------------ display tables


def steps_table(result: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Display frame of one :func:`growthlab.funnel.funnel` (no ``by``): step, users, conversion
    from the previous step with its 95 % interval (empty for the first step), from the first
    step, median hours from the previous step."""
    r = result.sort_values("step_index")
    later = r["step_index"] > 0  # the first step has no previous step: left empty
    return pd.DataFrame(
        {
            "funnel_step": [_step(s, lang) for s in r["step"]],
            "step_users": _fmt(r["users"], "count", lang),
            "step_conversion": _fmt(r["step_conversion"].where(later), "fraction", lang),
            "step_interval": _interval(r["step_low"].where(later), r["step_high"], lang),
            "overall_conversion": _fmt(r["overall_conversion"], "fraction", lang),
            "median_hours_from_previous": _fmt(r["median_hours_from_previous"], "hours", lang),
        }
    ).reset_index(drop=True)


def completion_table(table: pd.DataFrame, by: str, lang: str = "en") -> pd.DataFrame:
    """Display frame of :func:`growthlab.funnel.completion_by` (after suppression): group,
    started, completed, completion with its 95 % interval, and the group's largest drop-off."""
    weakest = [
        i18n.t(
            "column.weakest_step_value",
            lang,
            a=_step(a, lang),
            b=_step(b, lang),
            d=metrics.format_value(d, "fraction", lang=lang),
        )
        if isinstance(a, str) and isinstance(b, str) and pd.notna(d)
        else None
        for a, b, d in zip(
            table["weakest_from"], table["weakest_to"], table["weakest_drop_off"], strict=True
        )
    ]
    return pd.DataFrame(
        {
            by: _suppressed(table[by], lang),
            "started": _fmt(table["started"], "count", lang),
            "completed": _fmt(table["completed"], "count", lang),
            "completion": _fmt(table["completion"], "fraction", lang),
            "completion_interval": _interval(table["low"], table["high"], lang),
            "weakest_step": weakest,
        }
    ).reset_index(drop=True)
