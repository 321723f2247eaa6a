"""Chart of the campaign economics (issue #16). Layout only: numbers come from
:class:`growthlab.campaigns.CampaignEconomics`; every word from :mod:`growthlab.i18n`
(``chart.campaigns.*``, ``verdict.campaign.*``, ``campaign.*``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from growthlab import i18n

#: Marker colour per verdict of the campaign's latest cohort.
VERDICT_COLOURS = {
    "scale": "#2a9d55",
    "hold": "#8c8c8c",
    "stop": "#c0392b",
    "not_enough_data": "#bdbdbd",
}


def _l(key: str, lang: str, **fields) -> str:
    return i18n.t(f"chart.campaigns.{key}", lang, **fields)


def return_per_yuan(
    table: pd.DataFrame, *, lang: str = "en", horizon_days: float = 365, target_roi: float = 0.0
) -> Figure | None:
    """Return per yuan of cost per campaign with 95 % intervals: revenue to date (ROI to date +
    1, open marker) and predicted value over the horizon (LTV/CAC, filled marker coloured by the
    verdict of the campaign's latest cohort, :data:`VERDICT_COLOURS`; the verdict also follows
    the campaign's name), the break-even line at 1 + ``target_roi``. ``table``:
    :attr:`growthlab.campaigns.CampaignEconomics.table` (or ``EconomicsSection.chart``);
    campaigns without cost are left out, the best LTV/CAC on top. No figure (None) when no
    campaign has a cost: the section's sentence says why."""
    if table.empty or "cost" not in table.columns or not (table["cost"] > 0).any():
        return None
    d = table.loc[table["cost"] > 0].copy()
    d = d.sort_values("ltv_cac", na_position="first", kind="mergesort")
    fig, ax = plt.subplots(figsize=(8.5, 0.55 * max(len(d), 2) + 1.6))
    y = np.arange(len(d))

    def bars(col: str, shift: float) -> tuple[np.ndarray, np.ndarray]:
        v = d[col].to_numpy(dtype=float) + shift
        lo = d[f"{col}_low"].to_numpy(dtype=float) + shift
        hi = d[f"{col}_high"].to_numpy(dtype=float) + shift
        err = np.vstack([np.nan_to_num(v - lo), np.nan_to_num(hi - v)])
        return v, np.clip(err, 0, None)

    v, err = bars("roi_to_date", 1.0)
    ax.errorbar(v, y + 0.15, xerr=err, fmt="o", mfc="white", color="0.35", capsize=3,
                label=_l("to_date", lang))  # fmt: skip
    v, err = bars("ltv_cac", 0.0)
    colours = [VERDICT_COLOURS.get(str(x), "#4c72b0") for x in d["verdict"]]
    ax.errorbar(v, y - 0.15, xerr=err, fmt="none", ecolor="0.2", capsize=3)
    ax.scatter(v, y - 0.15, c=colours, zorder=3)
    ax.plot([], [], "o", color="0.2", label=_l("predicted", lang, horizon_days=f"{horizon_days:g}"))
    ax.axvline(1.0 + target_roi, color="crimson", ls="--", lw=1, label=_l("break_even", lang))
    labels = [
        f"{i18n.name('campaign', k, lang)} ({i18n.t(f'verdict.campaign.{vd}', lang)})"
        if isinstance(vd, str) and f"verdict.campaign.{vd}" in i18n.TEXT
        else i18n.name("campaign", k, lang)
        for k, vd in zip(d["campaign_id"], d["verdict"], strict=True)
    ]
    ax.set_yticks(y, labels)
    ax.set_xlim(left=0)
    ax.set_xlabel(_l("x", lang))
    ax.set_title(_l("title", lang))
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig
