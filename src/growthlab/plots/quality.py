"""Data-quality figures (SPEC §4.1): coverage per table, null rates, daily volume with anomalies.

Inputs are frames: ``QualityReport.coverage`` (local times) and the frames of
:mod:`growthlab.data.profile`; every function returns a matplotlib Figure drawn with the growthlab
theme (call :func:`growthlab.plots.apply` first). Titles, axis labels and table names come from
:mod:`growthlab.i18n` (``chart.quality.*``, ``table.*``).
"""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from growthlab import i18n


def _table(name: str, lang: str) -> str:
    return i18n.maybe(f"table.{name}", lang, str(name))


def field_label(table: str, column: str, lang: str = "en") -> str:
    """A contract column with its table: "events.cost" / "行为事件·成本" (``field.*``)."""
    return i18n.t(
        "field.qualified",
        lang,
        table=_table(table, lang),
        column=i18n.name("field", column, lang),
    )


def coverage(cov: pd.DataFrame, lang: str = "en", zone: str = "") -> Figure:
    """Horizontal bars from each table's first to last row (``table, first, last``, local time
    in ``zone``); tables without a time axis are left out."""
    ov = cov.dropna(subset=["first", "last"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.5 * max(len(ov), 1) + 1.2))
    if len(ov):
        start = mdates.date2num(pd.to_datetime(ov["first"]))
        end = mdates.date2num(pd.to_datetime(ov["last"]))
        ax.barh([_table(t, lang) for t in ov["table"]], end - start, left=start, height=0.5)
        ax.xaxis_date()
        ax.invert_yaxis()
    ax.set_title(i18n.t("chart.quality.coverage", lang, zone=zone))
    ax.set_xlabel(i18n.t("chart.quality.date", lang))
    fig.autofmt_xdate()
    return fig


def null_rates(nulls: pd.DataFrame, lang: str = "en", top: int = 25) -> Figure:
    """Bar chart of the ``top`` columns with the highest ``null_rate`` (> 0 only)."""
    nz = nulls[nulls["null_rate"] > 0].sort_values("null_rate", ascending=False).head(top)
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(nz), 1) + 1.2))
    if len(nz):
        labels = [field_label(t, c, lang) for t, c in zip(nz["table"], nz["column"], strict=True)]
        ax.barh(labels, nz["null_rate"] * 100)
        ax.invert_yaxis()
        ax.set_xlabel(i18n.t("chart.quality.nulls_axis", lang))
    else:
        ax.text(
            0.5,
            0.5,
            i18n.t("chart.quality.no_nulls", lang),
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
    ax.set_title(i18n.t("chart.quality.nulls", lang))
    return fig


def daily_volume(daily: pd.DataFrame, lang: str = "en", zone: str = "") -> Figure:
    """One panel per table: rows per local day (``table, date, rows``), unusual days
    (``is_anomaly``) marked in red."""
    tables = list(dict.fromkeys(daily["table"]))
    n = max(len(tables), 1)
    fig, axes = plt.subplots(n, 1, figsize=(9, 1.9 * n + 0.6), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], tables, strict=False):
        d = daily[daily["table"] == name]
        ax.plot(pd.to_datetime(d["date"]), d["rows"], lw=1)
        if "is_anomaly" in d.columns and d["is_anomaly"].any():
            a = d[d["is_anomaly"]]
            ax.scatter(
                pd.to_datetime(a["date"]),
                a["rows"],
                color="#c62828",
                zorder=3,
                s=22,
                label=i18n.t("chart.quality.anomaly", lang),
            )
            ax.legend(loc="upper left", fontsize="small")
        ax.set_ylabel(_table(name, lang))
    axes[0, 0].set_title(i18n.t("chart.quality.volume", lang, zone=zone))
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
