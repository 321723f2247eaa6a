"""Findings of the segments and value section (``03_segments_value``), from analysis results.

Also the page's sentences (``*_sentence``, :func:`note`): ``report.say`` arguments with the
numbers computed and formatted here, so every number and verdict the page states comes from src
and is tested.

Each function turns results of :mod:`growthlab.segments` / :mod:`growthlab.value` into
:class:`~growthlab.findings.Finding` objects (section ``value``) with a statement and a
suggested action in English and Chinese. Interval verdicts use
:func:`growthlab.stats.interval_verdict` only, and nothing is stated when the interval includes
the threshold. Scores (see :mod:`growthlab.findings` for importance = effect × reach ×
confidence):

- a check that passed (model calibrated, clusters stable) is a confirmation, not something to
  act on: effect :data:`CONFIRMATION_EFFECT`, so it ranks below real changes;
- a point estimate with no interval has confidence 0.5
  (:data:`growthlab.findings.POINT_ESTIMATE_CONFIDENCE`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from growthlab.findings import POINT_ESTIMATE_CONFIDENCE, Evidence, Finding, confidence
from growthlab.metrics import format_value
from growthlab.segments import (
    SUPPRESSED,
    VALUABLE_TIERS,
    ClusterResult,
    LifecycleSummary,
    RfmSummary,
    group_label,
)
from growthlab.stats import interval_verdict
from growthlab.value import ClvAnalysis, GroupDifference, HoldoutCheck

__all__ = [
    "SECTION",
    "CONFIRMATION_EFFECT",
    "model_calibration",
    "cluster_stability",
    "referred_vs_organic",
    "channel_value",
    "value_concentration",
    "high_value_at_risk",
    "NOTES",
    "note",
    "data_sentence",
    "rfm_sentence",
    "tier_sentence",
    "lifecycle_sentence",
    "cluster_sentence",
    "holdout_sentence",
    "clv_sentence",
    "referral_sentence",
]

SECTION = "value"
#: Effect of a check that passed (a confirmation ranks below any change worth acting on).
CONFIRMATION_EFFECT = 0.01


def _pct(x: float, lang: str = "en") -> str:
    return format_value(x, "fraction", lang=lang)


def _signed_pct(x: float, lang: str = "en") -> str:
    return ("+" if x >= 0 else "−") + _pct(abs(x), lang)


def _money(x: float, currency: str | None = None) -> str:
    return format_value(x, "currency", currency=currency)


def _count(x: float) -> str:
    return format_value(x, "count")


_REFIT_EN = (
    "Do not budget on these lifetime values yet: refit with a longer calibration period or "
    "weekly time unit, and look for one-off promotions in the calibration period."
)
_REFIT_ZH = "暂勿依据这些 LTV 预测做预算：延长校准期或改用按周计，并排查校准期内的一次性促销。"
_CALIBRATION_TEXT = {
    "clv_model_calibrated": {
        "en": "The BG/NBD model is calibrated: on the last {d} days, held out from its fit, its "
        "total of repeat purchases is off by {e} (95 % interval {lo} to {hi}), within ±{t}, so "
        "its lifetime values can be used for planning.",
        "zh": "BG/NBD 模型校准良好：在未参与拟合的最近 {d} 天验证期内，复购总数误差 {e}（95% 区间 {lo} "
        "至 {hi}），在 ±{t} 以内，LTV 预测可用于制定计划。",
        "action_en": "Use the predicted value per buyer to set acquisition and retention budgets.",
        "action_zh": "可以用人均预测价值来制定获客和留存预算。",
    },
    "clv_model_overpredicts": {
        "en": "The BG/NBD model over-predicts: on the last {d} days, held out from its fit, its "
        "total of repeat purchases is off by {e} (95 % interval {lo} to {hi}), beyond ±{t}, so "
        "its lifetime values are too optimistic.",
        "zh": "BG/NBD 模型高估：在未参与拟合的最近 {d} 天验证期内，复购总数误差 {e}（95% 区间 {lo} 至 "
        "{hi}），超出 ±{t}，LTV 预测偏高。",
        "action_en": _REFIT_EN,
        "action_zh": _REFIT_ZH,
    },
    "clv_model_underpredicts": {
        "en": "The BG/NBD model under-predicts: on the last {d} days, held out from its fit, its "
        "total of repeat purchases is off by {e} (95 % interval {lo} to {hi}), beyond ±{t}, so "
        "its lifetime values are too pessimistic.",
        "zh": "BG/NBD 模型低估：在未参与拟合的最近 {d} 天验证期内，复购总数误差 {e}（95% 区间 {lo} 至 "
        "{hi}），超出 ±{t}，LTV 预测偏低。",
        "action_en": _REFIT_EN,
        "action_zh": _REFIT_ZH,
    },
}


def model_calibration(
    check: HoldoutCheck | None, holdout_days: float, tolerance: float = 0.10
) -> list[Finding]:
    """Is the BG/NBD model good enough to trust its lifetime values?

    Rule, on the holdout error e = Σ predicted / Σ observed − 1 and its 95 % interval
    [low, high] (:func:`growthlab.value.holdout_check`), with t = ``tolerance``:

    - ``clv_model_overpredicts``: interval above +t (``interval_verdict(low, high, t)`` is
      "above"); effect |e|, reach 1 (every buyer's value), confidence 1;
    - ``clv_model_underpredicts``: interval below −t; same scores;
    - ``clv_model_calibrated``: interval inside (−t, +t); effect :data:`CONFIRMATION_EFFECT`;
    - no finding when the interval includes ±t (or there is no holdout check).
    """
    if check is None:
        return []
    upper = interval_verdict(check.error_low, check.error_high, tolerance)
    lower = interval_verdict(check.error_low, check.error_high, -tolerance)
    if upper == "above":
        kind, effect = "clv_model_overpredicts", abs(check.error)
    elif lower == "below":
        kind, effect = "clv_model_underpredicts", abs(check.error)
    elif upper == "below" and lower == "above":
        kind, effect = "clv_model_calibrated", CONFIRMATION_EFFECT
    else:
        return []

    text = _CALIBRATION_TEXT[kind]
    values = {
        "d": f"{holdout_days:g}",
        "e": _signed_pct(check.error),
        "lo": _signed_pct(check.error_low),
        "hi": _signed_pct(check.error_high),
        "t": _pct(tolerance),
    }
    st_en, st_zh = text["en"].format(**values), text["zh"].format(**values)
    act_en, act_zh = text["action_en"], text["action_zh"]
    return [
        Finding(
            section=SECTION,
            kind=kind,
            subject="BG/NBD",
            en=st_en,
            zh=st_zh,
            action_en=act_en,
            action_zh=act_zh,
            evidence=(Evidence("holdout_error", check.error, check.error_low, check.error_high),),
            effect=float(effect),
            reach=1.0,
            confidence=1.0,
        )
    ]


def cluster_stability(result: ClusterResult | None, threshold: float = 0.8) -> list[Finding]:
    """Are the behavioural clusters stable enough to target by?

    Rule, on the range [lowest, highest] adjusted Rand index between the chosen clustering and
    its re-runs with other seeds (:func:`growthlab.segments.stability`):

    - ``clusters_stable``: the whole range above ``threshold`` (every re-run agrees); effect
      :data:`CONFIRMATION_EFFECT`, reach 1, confidence 1;
    - ``clusters_unstable``: the whole range below it; effect 1 − mean ARI, reach 1,
      confidence 1;
    - no finding when the range includes the threshold (some re-runs agree, some do not) or
      there were no re-runs.
    """
    if result is None:
        return []
    verdict = interval_verdict(result.stability_min, result.stability_max, threshold)
    if verdict == "includes":
        return []
    values = {
        "k": result.k,
        "lo": f"{result.stability_min:.2f}",
        "hi": f"{result.stability_max:.2f}",
        "t": f"{threshold:.2f}",
    }
    if verdict == "above":
        kind, effect = "clusters_stable", CONFIRMATION_EFFECT
        en = (
            "The {k} behavioural clusters are stable: re-running K-Means with other seeds "
            "reproduces them (adjusted Rand index {lo} to {hi}, above {t})."
        )
        zh = "{k} 个行为分群是稳定的：换随机种子重新聚类，得到的划分相同（调整兰德指数 {lo} 至 {hi}，高于 {t}）。"
        act_en = "Use the personas to tailor content and offers to each cluster."
        act_zh = "可以按分群画像定制内容和权益。"
    else:
        kind, effect = "clusters_unstable", 1.0 - result.stability
        en = (
            "The {k} behavioural clusters are not stable: re-runs with other seeds give a "
            "different partition (adjusted Rand index {lo} to {hi}, below {t})."
        )
        zh = "{k} 个行为分群不稳定：换随机种子重跑得到不同的划分（调整兰德指数 {lo} 至 {hi}，低于 {t}）。"
        act_en = (
            "Do not target campaigns by these clusters; use the value tiers and lifecycle "
            "stages, or revisit the clustering features."
        )
        act_zh = "不要按这些分群定向投放；改用价值分层和生命周期阶段，或重新选择聚类特征。"
    return [
        Finding(
            section=SECTION,
            kind=kind,
            subject="clusters",
            en=en.format(**values),
            zh=zh.format(**values),
            action_en=act_en,
            action_zh=act_zh,
            evidence=(
                Evidence(
                    "clusters_stability_ari",
                    result.stability,
                    result.stability_min,
                    result.stability_max,
                ),
            ),
            effect=float(max(effect, 0.0)),
            reach=1.0,
            confidence=confidence(
                low=result.stability_min, high=result.stability_max, threshold=threshold
            ),
        )
    ]


def referred_vs_organic(
    diff: GroupDifference | None, horizon_days: float, currency: str | None = None
) -> list[Finding]:
    """Are referred buyers worth more or less than organic ones (predicted value)?

    Rule, on Welch's difference mean CLV(referred) − mean CLV(organic) and its 95 % interval
    (:func:`growthlab.value.mean_difference`): ``referred_worth_more`` when the interval lies
    above 0, ``referred_worth_less`` below 0, no finding when it includes 0. Effect
    |difference| / mean CLV of organic buyers, reach = referred share of the buyers compared,
    confidence 1.
    """
    if diff is None:
        return []
    verdict = interval_verdict(diff.low, diff.high, 0.0)
    if verdict == "includes":
        return []
    more = verdict == "above"
    base = diff.mean_reference if diff.mean_reference > 0 else np.nan
    effect = abs(diff.difference) / base if np.isfinite(base) else 1.0
    v = {
        "m": _money(diff.mean, currency),
        "o": _money(diff.mean_reference, currency),
        "d": _money(abs(diff.difference), currency),
        "lo": _money(diff.low, currency),
        "hi": _money(diff.high, currency),
        "h": f"{horizon_days:g}",
    }
    if more:
        kind = "referred_worth_more"
        en = (
            "Referred buyers are predicted to bring {m} each over the next {h} days, {d} more "
            "than organic buyers ({o}; 95 % interval of the difference {lo} to {hi})."
        )
        zh = "受邀购买用户未来 {h} 天人均预测价值 {m}，比自然用户（{o}）高 {d}（差值 95% 区间 {lo} 至 {hi}）。"
        act_en = (
            "Referral brings more valuable buyers: keep investing in it; a reward per referred "
            "buyer up to the value difference still pays."
        )
        act_zh = "裂变带来的用户价值更高：继续投入；每位受邀购买用户的奖励不超过价值差即可回本。"
    else:
        kind = "referred_worth_less"
        en = (
            "Referred buyers are predicted to bring {m} each over the next {h} days, {d} less "
            "than organic buyers ({o}; 95 % interval of the difference {lo} to {hi})."
        )
        zh = "受邀购买用户未来 {h} 天人均预测价值 {m}，比自然用户（{o}）低 {d}（差值 95% 区间 {lo} 至 {hi}）。"
        act_en = (
            "Review the referral rewards: reward the invitee's repeat purchase rather than the "
            "sign-up, and check the referral abuse signals."
        )
        act_zh = "调整裂变奖励规则：奖励受邀用户的复购而非注册，并排查邀请作弊。"
    return [
        Finding(
            section=SECTION,
            kind=kind,
            subject=diff.group,
            en=en.format(**v),
            zh=zh.format(**v),
            action_en=act_en,
            action_zh=act_zh,
            evidence=(
                Evidence("clv_referred_minus_organic", diff.difference, diff.low, diff.high),
            ),
            effect=float(effect),
            reach=diff.n / (diff.n + diff.n_reference),
            confidence=confidence(low=diff.low, high=diff.high, threshold=0.0),
        )
    ]


def channel_value(
    comparison: pd.DataFrame, horizon_days: float, currency: str | None = None
) -> list[Finding]:
    """Acquisition channels whose buyers are worth clearly more or less than the others'.

    Rule, per row of :func:`growthlab.value.compare_to_rest` (each channel's mean CLV minus
    that of the buyers of all other channels, Bonferroni-adjusted 95 % interval):
    ``channel_worth_more`` when the interval lies above 0, ``channel_worth_less`` below 0, no
    finding when it includes 0 (nor for the pooled small-group row or the "unknown" channel).
    Effect |difference| / mean of the rest, reach = the channel's share of the buyers compared,
    confidence 1.
    """
    if comparison is None or comparison.empty:
        return []
    total = float(comparison["users"].sum())
    out = []
    for row in comparison.itertuples(index=False):  # one row per channel (a few dozen at most)
        verdict = interval_verdict(row.low, row.high, 0.0)
        if verdict == "includes" or row.group in (SUPPRESSED, "unknown"):
            continue
        more = verdict == "above"
        v = {
            "m": _money(row.mean, currency),
            "d": _money(abs(row.difference), currency),
            "lo": _money(row.low, currency),
            "hi": _money(row.high, currency),
            "h": f"{horizon_days:g}",
        }
        c_en, c_zh = (
            group_label(row.group, "en", "channel"),
            group_label(row.group, "zh", "channel"),
        )
        if more:
            en = (
                f"Buyers acquired through {c_en} are predicted to bring {v['m']} each over the "
                f"next {v['h']} days, {v['d']} more than buyers from other channels "
                f"(adjusted 95 % interval {v['lo']} to {v['hi']})."
            )
            zh = (
                f"从{c_zh}获客的购买用户未来 {v['h']} 天人均预测价值 {v['m']}，比其他渠道高 {v['d']}"
                f"（校正后 95% 区间 {v['lo']} 至 {v['hi']}）。"
            )
            act_en = f"Shift acquisition budget toward {c_en} while its cost per buyer stays below the value gap."
            act_zh = f"在单个购买用户获客成本低于价值差的前提下，把获客预算向{c_zh}倾斜。"
        else:
            en = (
                f"Buyers acquired through {c_en} are predicted to bring {v['m']} each over the "
                f"next {v['h']} days, {v['d']} less than buyers from other channels "
                f"(adjusted 95 % interval {v['lo']} to {v['hi']})."
            )
            zh = (
                f"从{c_zh}获客的购买用户未来 {v['h']} 天人均预测价值 {v['m']}，比其他渠道低 {v['d']}"
                f"（校正后 95% 区间 {v['lo']} 至 {v['hi']}）。"
            )
            act_en = f"Review {c_en}: cut its spend or change its offer until its buyers' value catches up."
            act_zh = f"复盘{c_zh}：在其用户价值追上之前削减投放或调整权益。"
        rest = float(row.rest_mean)
        out.append(
            Finding(
                section=SECTION,
                kind="channel_worth_more" if more else "channel_worth_less",
                subject=str(row.group),
                en=en,
                zh=zh,
                action_en=act_en,
                action_zh=act_zh,
                evidence=(
                    Evidence("mean", float(row.mean)),
                    Evidence("difference", float(row.difference), row.low, row.high),
                ),
                effect=abs(float(row.difference)) / rest if rest > 0 else 1.0,
                reach=float(row.users) / total if total > 0 else 0.0,
                confidence=confidence(low=row.low, high=row.high, threshold=0.0),
            )
        )
    return out


def value_concentration(
    tiers: pd.DataFrame, top: str = "high", min_ratio: float = 1.5
) -> list[Finding]:
    """Does a small top tier bring most of the revenue?

    Rule, on the tier summary (:func:`growthlab.segments.group_summary` of the value tiers with
    revenue): ``value_concentrated`` when the ``top`` tier's share of revenue is at least
    ``min_ratio`` times its share of buyers. Effect = revenue share − buyer share, reach =
    revenue share, confidence 0.5 (a point estimate).
    """
    row = tiers.loc[tiers["group"].astype(str) == top]
    if row.empty:
        return []
    users, revenue = float(row["user_share"].iloc[0]), float(row["value_share"].iloc[0])
    if not (users > 0 and revenue / users >= min_ratio):
        return []
    v_en = {"u": _pct(users), "v": _pct(revenue), "x": f"{revenue / users:.1f}"}
    t_en, t_zh = group_label(top, "en", "tier"), group_label(top, "zh", "tier")
    return [
        Finding(
            section=SECTION,
            kind="value_concentrated",
            subject=top,
            en=(
                "{t} buyers are {u} of buyers but bring {v} of revenue, {x} times their share."
            ).format(t=t_en, **v_en),
            zh="{t}用户占购买用户的 {u}，却贡献了 {v} 的收入，是其人数占比的 {x} 倍。".format(
                t=t_zh, **v_en
            ),
            action_en=(
                "Protect this tier: dedicated service (e.g. a WeCom one-to-one adviser), early "
                "access and loyalty rewards; watch its members who go quiet."
            ),
            action_zh="重点维护这一层：企微一对一专属顾问、新品优先购和会员权益；关注其中开始沉默的用户。",
            evidence=(
                Evidence("high_tier_users", users),
                Evidence("high_tier_value", revenue),
            ),
            effect=revenue - users,
            reach=revenue,
            confidence=POINT_ESTIMATE_CONFIDENCE,
        )
    ]


def high_value_at_risk(
    at_risk: pd.DataFrame,
    silent_days: float,
    churn_days: float,
    min_group_size: int = 10,
    tiers: Sequence[str] = VALUABLE_TIERS,
) -> list[Finding]:
    """Valuable buyers about to churn, to win back.

    Rule, per tier of ``tiers`` in :func:`growthlab.segments.at_risk_by_tier`: a
    ``valuable_buyers_at_risk`` finding when at least ``max(min_group_size, 1)`` of its buyers
    are at risk (idle more than ``silent_days`` and at most ``churn_days``). Effect 1 (if they
    churn, all of their value is lost), reach = their share of revenue to date, confidence 0.5
    (a count, no interval).
    """
    out = []
    rows = at_risk.set_index("tier")
    for tier in tiers:  # a few tiers
        if tier not in rows.index:
            continue
        r = rows.loc[tier]
        n = int(r["at_risk"])
        if n < max(min_group_size, 1):
            continue
        reach = float(np.nan_to_num(r["at_risk_revenue_share"]))
        v = {
            "n": _count(n),
            "s": _pct(float(r["at_risk_share"])),
            "r": _pct(float(r["at_risk_revenue_share"])),
            "a": f"{silent_days:g}",
            "b": f"{churn_days:g}",
        }
        t_en, t_zh = group_label(tier, "en", "tier"), group_label(tier, "zh", "tier")
        out.append(
            Finding(
                section=SECTION,
                kind="valuable_buyers_at_risk",
                subject=tier,
                en=(
                    f"{v['n']} {t_en.lower()} buyers ({v['s']} of the tier) have been inactive for "
                    f"{v['a']} to {v['b']} days; they brought {v['r']} of revenue so far."
                ),
                zh=(
                    f"{v['n']} 位{t_zh}用户（占该层 {v['s']}）已 {v['a']}–{v['b']} 天未活跃，"
                    f"他们此前贡献了 {v['r']} 的收入。"
                ),
                action_en=(
                    f"Win these {v['n']} buyers back before they churn: a personal WeCom "
                    "message or a time-limited offer."
                ),
                action_zh=f"在流失前召回这 {v['n']} 位用户：企微一对一触达或限时优惠。",
                evidence=(
                    Evidence("at_risk", n),
                    Evidence("at_risk_revenue_share", reach),
                ),
                effect=1.0,
                reach=reach,
                confidence=POINT_ESTIMATE_CONFIDENCE,
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# Sentences: what the page states, as ``report.say`` arguments (trusted Markdown templates in
# en and zh, and the values, formatted here; ``say`` escapes the values)
# --------------------------------------------------------------------------------------------
Sentence = dict[str, str]

#: Notes of parts skipped for lack of data.
NOTES: dict[str, tuple[str, str]] = {
    "no_orders": (
        "The source has no `orders` table: RFM, tiers and lifetime value are skipped.",
        "数据源没有 `orders` 表：跳过 RFM、价值分层与生命周期价值。",
    ),
    "no_clusters": (
        "There are no engagement events or orders to cluster users on (or too few users): the "
        "behavioural clusters are skipped.",
        "没有可用于聚类的互动事件或订单（或用户太少）：跳过行为分群。",
    ),
    "no_referral_comparison": (
        "Referred and organic buyers cannot be compared: one of the two groups has no buyer.",
        "无法比较受邀与自然购买用户：其中一组没有购买用户。",
    ),
    "no_clv": (
        "No orders, or too few repeat buyers to fit the lifetime-value models: this part is "
        "skipped.",
        "没有订单，或复购用户太少、无法拟合生命周期价值模型：跳过本部分。",
    ),
}


def note(key: str) -> Sentence:
    """A skipped part's note (:data:`NOTES`)."""
    en, zh = NOTES[key]
    return {"en": en, "zh": zh}


def _fmt(x, unit: str, lang: str, **kw) -> str:
    return format_value(x, unit, lang=lang, **kw)


def data_sentence(end, timezone: str, currency: str) -> Sentence:
    """Last full local day of the data, its time zone and the currency."""
    return {
        "en": "Data up to the end of {d} ({tz}); money in {c}.",
        "zh": "数据截至 {d} 日终（{tz}）；金额单位 {c}。",
        "d": str(pd.Timestamp(end).date()),
        "tz": str(timezone),
        "c": str(currency),
    }


def rfm_sentence(rfm: RfmSummary, lang: str = "en") -> Sentence:
    """Buyers among users, the largest RFM segment, the Champions' share of buyers and revenue."""
    return {
        "en": "{buyers} of {users} users ({buyer_share}) bought at least once. The largest RFM "
        "segment is **{largest}** ({largest_share} of buyers); Champions are {champions} of "
        "buyers and hold {champions_revenue} of revenue.",
        "zh": "{users} 位用户中有 {buyers} 位（{buyer_share}）至少购买过一次。最大的 RFM 分群是 "
        "**{largest}**（占购买用户 {largest_share}）；核心客户占购买用户 {champions}，贡献 "
        "{champions_revenue} 的收入。",
        "buyers": _fmt(rfm.buyers, "count", lang),
        "users": _fmt(rfm.users, "count", lang),
        "buyer_share": _fmt(rfm.buyer_share, "fraction", lang),
        "largest": group_label(rfm.largest_segment, lang, "rfm"),
        "largest_share": _fmt(rfm.largest_segment_share, "fraction", lang),
        "champions": _fmt(rfm.champions_share, "fraction", lang),
        "champions_revenue": _fmt(rfm.champions_value_share, "fraction", lang),
    }


def tier_sentence(rfm: RfmSummary, lang: str = "en") -> Sentence:
    """Shares of buyers and of revenue of the high and the low value tier."""
    return {
        "en": "The high-value tier is {high_users} of buyers and brings {high_revenue} of "
        "revenue; the low tier is {low_users} of buyers with {low_revenue} of revenue.",
        "zh": "高价值层占购买用户 {high_users}，贡献 {high_revenue} 的收入；低价值层占 {low_users}，"
        "收入占比 {low_revenue}。",
        "high_users": _fmt(rfm.tier_share("high"), "fraction", lang),
        "high_revenue": _fmt(rfm.tier_value_share("high"), "fraction", lang),
        "low_users": _fmt(rfm.tier_share("low"), "fraction", lang),
        "low_revenue": _fmt(rfm.tier_value_share("low"), "fraction", lang),
    }


def lifecycle_sentence(life: LifecycleSummary, lang: str = "en") -> Sentence:
    """Shares of users active (incl. returned), returned, silent or at risk, churned."""
    return {
        "en": "{active} of users are active (including {returned} who returned after a long "
        "gap), {recoverable} are silent or at risk and could still be won back, and {churned} "
        "have churned.",
        "zh": "{active} 的用户处于活跃状态（其中回流用户占 {returned}），{recoverable} 处于沉默或流失"
        "预警状态、仍可召回，{churned} 已流失。",
        "active": _fmt(life.share("active", "returned"), "fraction", lang),
        "returned": _fmt(life.share("returned"), "fraction", lang),
        "recoverable": _fmt(life.share("silent", "at_risk"), "fraction", lang),
        "churned": _fmt(life.share("churned"), "fraction", lang),
    }


def cluster_sentence(result: ClusterResult, lang: str = "en") -> Sentence:
    """The chosen k, its silhouette and sample, and the stability ARI (mean, lowest)."""
    return {
        "en": "The silhouette peaks at **k = {k}** ({silhouette}, sampled on {sampled} users). "
        "Re-running with other seeds gives an adjusted Rand index of {ari} on average (lowest "
        "{ari_min}).",
        "zh": "轮廓系数在 **k = {k}** 处最高（{silhouette}，抽样 {sampled} 位用户）。换随机种子重跑的"
        "调整兰德指数平均为 {ari}（最低 {ari_min}）。",
        "k": str(result.k),
        "silhouette": _fmt(result.silhouette, "score", lang),
        "sampled": _fmt(result.silhouette_users, "count", lang),
        "ari": _fmt(result.stability, "score", lang),
        "ari_min": _fmt(result.stability_min, "score", lang),
    }


def holdout_sentence(ltv: ClvAnalysis, lang: str = "en") -> Sentence:
    """Calibration customers and end, predicted vs observed holdout repeat purchase days, the
    error with its 95 % interval."""
    h = ltv.holdout
    return {
        "en": "Fitted on {customers} customers up to {calibration_end}, the model predicts "
        "{predicted} repeat purchase days in the {holdout_days}-day holdout; {actual} happened "
        "(error {error}, 95 % interval {low} to {high}).",
        "zh": "以截至 {calibration_end} 的 {customers} 位客户拟合，模型预测验证期（{holdout_days} 天）"
        "共 {predicted} 个复购日，实际为 {actual}（误差 {error}，95% 区间 {low} 至 {high}）。",
        "customers": _fmt(ltv.calibration_customers, "count", lang),
        "calibration_end": str(ltv.calibration_end.date()),
        "holdout_days": f"{ltv.holdout_days:g}",
        "predicted": _fmt(h.predicted, "count", lang),
        "actual": _fmt(h.actual, "count", lang),
        "error": _signed_pct(h.error, lang),
        "low": _signed_pct(h.error_low, lang),
        "high": _signed_pct(h.error_high, lang),
    }


def clv_sentence(ltv: ClvAnalysis, currency: str | None = None, lang: str = "en") -> Sentence:
    """Buyers, total and mean predicted value, the top 10 %'s share, mean P(alive)."""
    return {
        "en": "The {buyers} buyers are expected to bring {total} over the next {horizon_days} "
        "days (discounted), {mean} per buyer on average; the top 10 % of buyers account for "
        "{top10} of it. On average a buyer is {p_alive} likely to still be active.",
        "zh": "{buyers} 位购买用户预计在未来 {horizon_days} 天带来 {total}（折现后），人均 {mean}；"
        "其中前 10% 的用户贡献 {top10}。购买用户仍然活跃的平均概率为 {p_alive}。",
        "buyers": _fmt(ltv.buyers, "count", lang),
        "total": f"{ltv.total:,.0f}" + (f" {currency}" if currency else ""),
        "horizon_days": f"{ltv.horizon_days:g}",
        "mean": _fmt(ltv.mean, "currency", lang, currency=currency),
        "top10": _fmt(ltv.top10_share, "fraction", lang),
        "p_alive": _fmt(ltv.p_alive_mean, "fraction", lang),
    }


def referral_sentence(
    diff: GroupDifference, currency: str | None = None, lang: str = "en"
) -> Sentence:
    """Mean predicted value of referred and organic buyers and the difference's 95 % interval
    (the note ``no_referral_comparison`` when either group has no buyer)."""
    if not (diff.n > 0 and diff.n_reference > 0):
        return note("no_referral_comparison")
    money = {
        k: _fmt(getattr(diff, a), "currency", lang, currency=currency)
        for k, a in (
            ("mean", "mean"),
            ("reference", "mean_reference"),
            ("difference", "difference"),
            ("low", "low"),
            ("high", "high"),
        )
    }
    return {
        "en": "Referred buyers are worth {mean} on average against {reference} for organic "
        "buyers: a difference of {difference} (95 % interval {low} to {high}).",
        "zh": "受邀购买用户的平均预测价值为 {mean}，自然用户为 {reference}：差值 {difference}"
        "（95% 区间 {low} 至 {high}）。",
        **money,
    }


def bgnbd_numbers(ltv: ClvAnalysis) -> dict[str, float]:
    """The fitted BG/NBD parameters under their metric ids (``rate_scale`` is the paper's α)."""
    return {
        "bgnbd_r": float(ltv.bgnbd["r"]),
        "bgnbd_alpha": float(ltv.bgnbd["rate_scale"]),
        "bgnbd_a": float(ltv.bgnbd["a"]),
        "bgnbd_b": float(ltv.bgnbd["b"]),
    }
