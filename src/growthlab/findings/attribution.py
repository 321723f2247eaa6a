"""Attribution findings (section ``attribution``): where the models disagree, and what the
return on spend says about the budget.

Pure functions from :mod:`growthlab.attribution` results to ``list[Finding]`` (importance rule:
:mod:`growthlab.findings`). Attributed credits and ROAS are point estimates (no interval), so
their findings carry :data:`~growthlab.findings.POINT_ESTIMATE_CONFIDENCE`.
"""

from __future__ import annotations

import math
from typing import Any

from growthlab import i18n, metrics
from growthlab.attribution import Comparison, Economics, JourneySummary
from growthlab.findings import POINT_ESTIMATE_CONFIDENCE, Evidence, Finding

SECTION = "attribution"

#: ROAS at which a channel's attributed revenue equals its spend.
BREAK_EVEN_ROAS = 1.0


def model_name(model: str, lang: str = "en") -> str:
    """Display name of an attribution model (``model.<name>`` in :mod:`growthlab.i18n`)."""
    return i18n.maybe(f"model.{model}", lang, model)


def channel_name(channel: str, lang: str = "en") -> str:
    """Display name of a channel key (``channel.<key>``; names from the data as they are)."""
    return i18n.name("channel", channel, lang)


def model_fields(model: str) -> dict[str, str]:
    """Label fields ``model``/``model_zh`` of the metrics named after a model (``best_roas`` ...)."""
    return {"model": model_name(model, "en"), "model_zh": model_name(model, "zh")}


def _pct(v: float, lang: str) -> str:
    return metrics.format_value(v, "fraction", lang=lang)


def _ratio(v: float, lang: str) -> str:
    return metrics.format_value(v, "ratio", lang=lang)


def _money(v: float, lang: str, currency: str | None) -> str:
    return metrics.format_value(v, "currency", lang=lang, currency=currency)


#: (English, Chinese) templates of the findings below; ``{fields}`` are filled per language.
TEMPLATES: dict[str, tuple[str, str]] = {
    "disagree": (
        "The attribution models disagree most on {ch}: from {lo} of conversions under "
        "{lo_model} to {hi} under {hi_model}",
        "各归因模型对{ch}的分歧最大：{lo_model}给它 {lo} 的转化，{hi_model}给它 {hi}",
    ),
    "disagree_last": ("; last touch gives it {last}", "；末次触点给它 {last}"),
    "disagree_ref": (", {ref_model} {ref}", "，{ref_model}给它 {ref}"),
    "disagree_end": (".", "。"),
    "disagree_under": (
        " It opens or assists journeys that other channels close, so last-touch reports (what "
        "ad platforms show) under-credit it.",
        "它常开启或助攻由其他渠道收尾的旅程，末次触点报表（广告平台的口径）低估了它。",
    ),
    "disagree_over": (
        " It mostly closes journeys that other channels open, so last-touch reports (what ad "
        "platforms show) over-credit it.",
        "它多是为其他渠道开启的旅程收尾，末次触点报表（广告平台的口径）高估了它。",
    ),
    "disagree_action_under": (
        "Do not cut {ch} on last-touch reports: judge it by {ref_model} and confirm with a "
        "holdout group before moving its budget.",
        "不要依据末次触点报表削减{ch}的预算；按{ref_model}评估，并在调整预算前用空白对照组（不投放的人群）验证。",
    ),
    "disagree_action_over": (
        "Do not add budget to {ch} on last-touch reports alone: confirm its incremental "
        "effect with a holdout group first.",
        "不要仅凭末次触点报表给{ch}加预算；先用空白对照组（不投放的人群）验证它的增量。",
    ),
    "disagree_action_test": (
        "Test {ch} with a holdout (incrementality) group before moving its budget: its credit "
        "depends on the model.",
        "调整{ch}的预算前先做空白对照（增量）测试：它的功劳取决于所用模型。",
    ),
    "roas_worst": (
        "{ch} brings in only {roas} of attributed revenue per unit of spend under {model} "
        "attribution (CPA {cpa}; ROAS {lo} to {hi} across the compared models): its revenue "
        "does not cover its spend.",
        "按{model}归因，{ch}每单位花费只带来 {roas} 的归因收入（单次转化成本 {cpa}；"
        "各对比模型下 ROAS 为 {lo} 至 {hi}）：收入抵不过花费。",
    ),
    "roas_worst_shift": (
        "Cut the spend on {ch} and shift it to {best}, the channel with the best return.",
        "削减{ch}的花费，转投回报最高的{best}。",
    ),
    "roas_worst_cut": (
        "Cut the spend on {ch}, or rework its targeting and offer.",
        "削减{ch}的花费，或重做其定向与投放内容。",
    ),
    "roas_worst_test": (
        "Run a holdout test on {ch} before cutting it: one of the compared models puts it at "
        "break-even or better.",
        "削减{ch}之前先做空白对照测试：有对比模型认为它能回本。",
    ),
    "roas_best": (
        "{ch} has the best return of the {n} channels with spend: {roas} of attributed revenue "
        "per unit of spend under {model} attribution (CPA {cpa}; ROAS {lo} to {hi} across the "
        "compared models).",
        "在 {n} 个有花费的渠道中，{ch}回报最高：按{model}归因，每单位花费带来 {roas} 的归因收入"
        "（单次转化成本 {cpa}；各对比模型下 ROAS 为 {lo} 至 {hi}）。",
    ),
    "roas_best_action": (
        "Shift budget to {ch} in steps (from {worst} first) and check that its return holds as "
        "its spend grows.",
        "分步把预算转投{ch}（先从{worst}调出），并确认加投后回报仍然成立。",
    ),
}


def _text(keys: list[str], values: Any) -> tuple[str, str]:
    """(English, Chinese) text of the concatenated templates ``keys``; ``values(lang)`` gives
    each language's fields."""
    en = "".join(TEMPLATES[k][0] for k in keys).format(**values("en"))
    zh = "".join(TEMPLATES[k][1] for k in keys).format(**values("zh"))
    return en, zh


def model_disagreement(comparison: Comparison, *, min_spread: float = 0.05) -> list[Finding]:
    """Where the attribution models disagree most, and what it means for the budget.

    Rule: for each channel, spread = max − min over the models of its share of attributed
    conversions; the channel with the largest spread is a finding when spread ≥ ``min_spread``
    (default 5 percentage points; fewer than two models: no finding). What it means compares
    last touch L (what ad platforms report) with the reference model R
    (:attr:`Comparison.reference`): R > L — last touch under-credits the channel (it opens or
    assists journeys others close), so do not cut it on last-touch reports; R < L — last touch
    over-credits it (it closes journeys others open), so do not add budget on last-touch reports
    alone; either way test with a holdout before moving budget.
    effect = spread / max share; reach = share of conversions whose journey touches the channel
    (:func:`growthlab.attribution.touch_share`); confidence = point estimate.
    """
    shares = comparison.shares().set_index("channel")
    if shares.shape[1] < 2 or shares.empty:
        return []
    spread = (shares.max(axis=1) - shares.min(axis=1)).sort_values(ascending=False, kind="stable")
    channel = str(spread.index[0])
    if not spread.iloc[0] >= min_spread:
        return []
    row = shares.loc[channel]
    lo_model, hi_model, ref = str(row.idxmin()), str(row.idxmax()), comparison.reference
    last = float(row["last"]) if "last" in row.index else math.nan

    def values(lang: str) -> dict[str, Any]:
        return {
            "ch": channel_name(channel, lang),
            "lo": _pct(row[lo_model], lang),
            "lo_model": model_name(lo_model, lang),
            "hi": _pct(row[hi_model], lang),
            "hi_model": model_name(hi_model, lang),
            "last": _pct(last, lang),
            "ref": _pct(row[ref], lang),
            "ref_model": model_name(ref, lang),
        }

    if math.isnan(last) or ref == "last":
        case = "test"
    else:
        case = "under" if row[ref] > last else "over"
    statement = ["disagree"] + (["disagree_last"] if not math.isnan(last) else [])
    statement += [] if ref in (lo_model, hi_model) else ["disagree_ref"]
    statement += ["disagree_end"] + ([f"disagree_{case}"] if case != "test" else [])
    en, zh = _text(statement, values)
    action_en, action_zh = _text([f"disagree_action_{case}"], values)
    reach = comparison.touch_share.get(channel, math.nan)
    hi_share = float(row[hi_model])
    return [
        Finding(
            section=SECTION,
            kind="attribution_models_disagree",
            subject=channel,
            en=en,
            zh=zh,
            action_en=action_en,
            action_zh=action_zh,
            evidence=tuple(
                Evidence(f"share_{m}", float(row[m]))
                for m in dict.fromkeys([lo_model, hi_model, "last", ref])
                if m in row.index
            ),
            effect=float(spread.iloc[0] / hi_share) if hi_share > 0 else 0.0,
            reach=float(reach) if math.isfinite(reach) else hi_share,
            confidence=POINT_ESTIMATE_CONFIDENCE,
        )
    ]


def roas_extremes(
    economics: Economics, *, currency: str | None = None, break_even: float = BREAK_EVEN_ROAS
) -> list[Finding]:
    """Best and worst channel by return on ad spend, with the budget shift they suggest.

    Rule, under the ranking model (:attr:`Economics.model`): the worst channel (lowest ROAS) is
    a finding when its ROAS < ``break_even`` (attributed revenue does not cover spend) — action
    "cut and shift to the best channel" when its ROAS is below break-even under every compared
    model (and the best channel is above it), "cut or rework" when no channel breaks even, else
    "test with a holdout before cutting"; the best channel (highest ROAS) is a finding when at
    least two channels have spend and its ROAS > ``break_even`` — action "shift budget to it in
    steps from the worst channel". effect = min(|ROAS − break_even| / break_even, 1); reach =
    the channel's share of spend; confidence = point estimate (attributed ROAS has no
    interval). CPA = spend / attributed conversions is stated alongside.
    """
    ranked = economics.ranking.dropna(subset=["roas"])
    if ranked.empty:
        return []
    best, worst = ranked.iloc[0], ranked.iloc[-1]
    n = len(ranked)

    def finding(kind: str, r: Any, keys: list[str], action: str) -> Finding:
        def values(lang: str) -> dict[str, Any]:
            return {
                "ch": channel_name(str(r["channel"]), lang),
                "roas": _ratio(r["roas"], lang),
                "cpa": _money(r["cpa"], lang, currency),
                "model": model_name(economics.model, lang),
                "lo": _ratio(r["roas_min"], lang),
                "hi": _ratio(r["roas_max"], lang),
                "best": channel_name(str(best["channel"]), lang),
                "worst": channel_name(str(worst["channel"]), lang),
                "n": n,
            }

        en, zh = _text(keys, values)
        action_en, action_zh = _text([action], values)
        return Finding(
            section=SECTION,
            kind=kind,
            subject=str(r["channel"]),
            en=en,
            zh=zh,
            action_en=action_en,
            action_zh=action_zh,
            evidence=_roas_evidence(r),
            effect=float(min(abs(r["roas"] - break_even) / break_even, 1.0)),
            reach=float(r["spend_share"]),
            confidence=POINT_ESTIMATE_CONFIDENCE,
        )

    out = []
    if worst["roas"] < break_even:
        if worst["roas_max"] >= break_even:
            action = "roas_worst_test"
        elif n > 1 and best["roas"] > break_even:
            action = "roas_worst_shift"
        else:
            action = "roas_worst_cut"
        out.append(finding("channel_roas_below_break_even", worst, ["roas_worst"], action))
    if n > 1 and best["roas"] > break_even:
        out.append(finding("channel_roas_best", best, ["roas_best"], "roas_best_action"))
    return out


def _roas_evidence(row: Any) -> tuple[Evidence, ...]:
    return (
        Evidence("roas", float(row["roas"])),
        Evidence("roas_min_over_models", float(row["roas_min"])),
        Evidence("roas_max_over_models", float(row["roas_max"])),
        Evidence("cpa", float(row["cpa"])),
        Evidence("spend", float(row["spend"])),
    )


# ------------------------------------------------------------------ sentences for report.say
# Each returns the keyword arguments of ``report.say(lang, **...)``: the English and Chinese
# templates (trusted Markdown, written here) and the values (formatted here, escaped by say).

_SKIPPED = {
    "no_journeys": (
        "_No `paths` table and no `events` + `orders`: attribution is skipped._",
        "_数据源中没有 `paths` 表，也没有 `events` 与 `orders`：跳过归因分析。_",
    ),
    "no_costs": (
        "_No `costs` table, or no spend on the attributed channels: CPA and ROAS are skipped._",
        "_没有 `costs` 表，或归因渠道没有花费记录：跳过 CPA 与 ROAS。_",
    ),
}


def skipped(reason: str) -> dict[str, str]:
    """The note shown when a part of the page is skipped (``no_journeys``, ``no_costs``)."""
    en, zh = _SKIPPED[reason]
    return {"en": en, "zh": zh}


def journeys_text(
    summary: JourneySummary, lang: str = "en", *, lookback_days: float
) -> dict[str, Any]:
    """What the journeys hold: conversions, non-converting journeys, paths, channels, the
    attributable share and the mean path length (:class:`~growthlab.attribution.JourneySummary`)."""
    return {
        "en": "{conv} conversions and {nulls} non-converting journeys over {paths} distinct "
        "paths and {ch} channels. {attr} of the conversions had at least one touchpoint in the "
        "{lb}-day lookback and can be attributed; a converting journey has {len} touches on "
        "average.",
        "zh": "共 {conv} 次转化、{nulls} 条未转化旅程，涉及 {paths} 条不同路径、{ch} 个渠道。其中 "
        "{attr} 的转化在 {lb} 天回溯期内有触点，可以归因；转化旅程平均 {len} 个触点。",
        "conv": metrics.format_value(summary.conversions, "count", lang=lang),
        "nulls": metrics.format_value(summary.nulls, "count", lang=lang),
        "paths": metrics.format_value(summary.paths, "count", lang=lang),
        "ch": summary.channels,
        "attr": metrics.format_value(summary.attributable_share, "fraction", lang=lang),
        "lb": f"{lookback_days:g}",
        "len": metrics.format_value(summary.mean_path_length, "ratio", lang=lang),
    }


def top_channel_text(comparison: Comparison, lang: str, *, max_channels: int) -> dict[str, Any]:
    """The channel with the largest share under the reference model, and the Shapley limit."""
    top, share = comparison.top()
    return {
        "en": "Under {model} attribution **{top}** earns the largest share of conversions "
        "({share}). Shapley values are computed for up to {k} channels (here {n}).",
        "zh": "按{model}归因，**{top}** 获得的转化份额最高（{share}）。Shapley 值最多计算 {k} 个渠道"
        "（本次 {n} 个）。",
        "model": model_name(comparison.reference, lang),
        "top": channel_name(top, lang),
        "share": metrics.format_value(share, "fraction", lang=lang),
        "k": max_channels,
        "n": comparison.n_channels,
    }
