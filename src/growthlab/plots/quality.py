"""Data-quality figures (SPEC §4.1): coverage per table, null rates, daily volume with anomalies.

Inputs are the frames of :mod:`growthlab.data.profile`; every function returns a matplotlib
Figure drawn with the growthlab theme (call :func:`growthlab.plots.apply` first).
"""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from growthlab.report.notebook import text

_TXT = {
    "coverage": ("Date coverage per table", "各表时间覆盖范围"),
    "nulls": ("Share of missing values", "缺失值比例"),
    "no_nulls": ("No missing values", "无缺失值"),
    "volume": ("Rows per day", "每日行数"),
    "anomaly": ("anomaly", "异常"),
    "rows": ("rows", "行数"),
}


def _t(key: str, lang: str) -> str:
    en, zh = _TXT[key]
    return text(lang, en=en, zh=zh)


def coverage(overview: pd.DataFrame, lang: str = "en") -> Figure:
    """Horizontal bars from each table's first to last timestamp (``table, first, last``)."""
    ov = overview.dropna(subset=["first", "last"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.5 * max(len(ov), 1) + 1.2))
    if len(ov):
        start = mdates.date2num(pd.to_datetime(ov["first"]))
        end = mdates.date2num(pd.to_datetime(ov["last"]))
        ax.barh(ov["table"], end - start, left=start, height=0.5)
        ax.xaxis_date()
        ax.invert_yaxis()
    ax.set_title(_t("coverage", lang))
    fig.autofmt_xdate()
    return fig


def null_rates(nulls: pd.DataFrame, lang: str = "en", top: int = 25) -> Figure:
    """Bar chart of the ``top`` columns with the highest ``null_rate`` (> 0 only)."""
    nz = nulls[nulls["null_rate"] > 0].sort_values("null_rate", ascending=False).head(top)
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(nz), 1) + 1.2))
    if len(nz):
        labels = nz["table"].astype(str) + "." + nz["column"].astype(str)
        ax.barh(labels, nz["null_rate"] * 100)
        ax.invert_yaxis()
        ax.set_xlabel("%")
    else:
        ax.text(0.5, 0.5, _t("no_nulls", lang), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title(_t("nulls", lang))
    return fig


def daily_volume(daily: pd.DataFrame, lang: str = "en") -> Figure:
    """One panel per table: rows per day, anomalies (``is_anomaly``) marked in red."""
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
                label=_t("anomaly", lang),
            )
            ax.legend(loc="upper left", fontsize="small")
        ax.set_ylabel(name)
    axes[0, 0].set_title(_t("volume", lang))
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
