"""Charts of the experiments page (SPEC §4.5): effects with their decision intervals, and the
interval an operator saw at each daily look (sequential vs fixed-horizon).

Layout only: every number comes from ``growthlab.experiments`` results; every word from
``growthlab.i18n`` (``chart.experiments.*``, metric names ``ab_metric.*``, ``variant.*``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from growthlab import i18n


def _l(lang: str, key: str, **fields) -> str:
    return i18n.t(f"chart.experiments.{key}", lang, **fields)


def _variant(v: str, lang: str) -> str:
    return i18n.maybe(f"variant.{v}", lang, str(v))


def effects_chart(comparisons: pd.DataFrame, *, lang: str = "en", max_rows: int = 30) -> Figure:
    """Relative change of every metric of every treated variant against control, with its
    decision interval (``rel_low``/``rel_high``), one panel per experiment: green when the
    interval lies on the metric's good side, red on its bad side (a harmed guardrail), grey
    when it includes 0. Guardrail rows are marked with a dagger."""
    c = comparisons.head(max_rows) if comparisons is not None else pd.DataFrame()
    exps = list(dict.fromkeys(c["experiment_id"])) if len(c) else []
    heights = [max(len(c.loc[c["experiment_id"] == e]), 1) for e in exps] or [1]
    fig, axes = plt.subplots(
        len(heights), 1, figsize=(9, 1.2 + 0.42 * sum(heights) + 0.6 * len(heights)),
        squeeze=False, gridspec_kw={"height_ratios": heights},
    )  # fmt: skip
    if not exps:
        axes[0, 0].text(0.5, 0.5, i18n.t("ui.no_data", lang), ha="center", va="center")
        axes[0, 0].set_axis_off()
        return fig
    for ax, e in zip(axes[:, 0], exps, strict=True):
        sub = c.loc[c["experiment_id"] == e].reset_index(drop=True)
        y = np.arange(len(sub))[::-1]
        mid = 100 * sub["rel_lift"].to_numpy(float)
        lo = 100 * sub["rel_low"].to_numpy(float)
        hi = 100 * sub["rel_high"].to_numpy(float)
        good = np.where(sub["better"] == "up", "above", "below")
        pos = sub["position"].to_numpy()
        col = np.where(pos == "includes", "0.45", np.where(pos == good, "C2", "C3"))
        ax.hlines(y, lo, hi, colors=col, lw=3)
        ax.scatter(mid, y, c=col, s=40, zorder=3)
        ax.axvline(0, color="0.3", lw=1)
        labels = [
            f"{_variant(v, lang)} · {i18n.t(f'ab_metric.{m}', lang)}{' †' if g else ''}"
            for v, m, g in zip(sub["variant"], sub["metric"], sub["guardrail"], strict=True)
        ]
        ax.set_yticks(y, labels)
        ax.set_ylim(-0.7, len(sub) - 0.3)
        ax.set_title(str(e), loc="left")
    # rare guardrail events have wide relative intervals: keep the decision metrics readable
    dec = c.loc[~c["guardrail"].astype(bool), ["rel_low", "rel_high"]].to_numpy(float)
    finite = np.abs(dec[np.isfinite(dec)])
    if finite.size:
        lim = max(100 * 2 * finite.max(), 20.0)
        for ax in axes[:, 0]:
            lo_, hi_ = ax.get_xlim()
            ax.set_xlim(max(lo_, -lim), min(hi_, lim))
    axes[-1, 0].set_xlabel(_l(lang, "rel_axis"))
    fig.suptitle(_l(lang, "effects"))
    fig.tight_layout()
    return fig


def sequential_chart(path: pd.DataFrame, *, lang: str = "en", max_panels: int = 4) -> Figure:
    """The primary metric's difference at each daily look with the fixed-horizon and the
    sequential 95 % intervals (``growthlab.experiments.sequential_path``): the fixed interval
    is narrower but only valid at one planned look; the sequential one holds at every look."""
    keys = list(dict.fromkeys(zip(path["experiment_id"], path["variant"], strict=True)))
    keys = keys[:max_panels]
    fig, axes = plt.subplots(
        max(len(keys), 1), 1, figsize=(9, 3.0 * max(len(keys), 1)), squeeze=False
    )
    if not keys:
        axes[0, 0].text(0.5, 0.5, i18n.t("ui.no_data", lang), ha="center", va="center")
        axes[0, 0].set_axis_off()
        return fig
    for ax, (e, v) in zip(axes[:, 0], keys, strict=True):
        p = path.loc[(path["experiment_id"] == e) & (path["variant"] == v)].sort_values("day")
        p = p.loc[(p["n"] > 0) & (p["n_control"] > 0)]
        day = pd.to_datetime(p["day"])
        ax.fill_between(
            day, 100 * p["seq_low"], 100 * p["seq_high"], color="C0", alpha=0.18,
            label=_l(lang, "sequential"),
        )  # fmt: skip
        ax.plot(day, 100 * p["fixed_low"], color="C1", lw=1, ls="--", label=_l(lang, "fixed"))
        ax.plot(day, 100 * p["fixed_high"], color="C1", lw=1, ls="--")
        ax.plot(day, 100 * p["diff"], color="C0", lw=1.8, label=_l(lang, "estimate"))
        ax.axhline(0, color="0.3", lw=1)
        ax.set_title(_l(lang, "path", experiment=str(e), variant=_variant(v, lang)), loc="left")
        ax.set_ylabel(_l(lang, "path_axis"))
        ax.tick_params(axis="x", labelrotation=30)
        lim = (
            np.nanpercentile(np.abs(100 * p[["fixed_low", "fixed_high"]].to_numpy(float)), 90)
            if len(p)
            else 1
        )
        if np.isfinite(lim) and lim > 0:
            ax.set_ylim(-2.5 * lim, 2.5 * lim)
    axes[0, 0].legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig
