"""Campaign-economics findings (issue #16; section ``referral``, notebook 02_referral): what
each campaign cost and brought, the abuse cost, and where the next yuan goes.

Pure functions from :class:`growthlab.campaigns.CampaignEconomics`. :func:`economics_section`
returns what the page shows (numbers to record, the sentence, two display tables, findings).

Verdict rules (importance = effect × reach × confidence, :mod:`growthlab.findings`):

========================  =================================================  ==================
kind                      rule                                               effect; reach
========================  =================================================  ==================
``campaign_scale``        the latest cohort's predicted ROI interval lies    min(|ROI − target|
``campaign_stop``         above the target (``interval_verdict(low, high,    / (1 + |target|),
                          target_roi) == "above"``) → scale; below → stop;   1); the campaign's
                          includes → hold, no finding; too few cascades or   share of all
                          too wide an interval → no finding                  campaign cost
``campaign_abuse_cost``   rewards were paid on invitations of fraud-like     the campaign's
                          inviters (a rule, not a test: confidence 0.5)      abuse share of its
                                                                             rewards; abuse
                                                                             cost / all cost
========================  =================================================  ==================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from growthlab import i18n
from growthlab.campaigns import CampaignEconomics
from growthlab.data.localtime import to_local
from growthlab.findings import POINT_ESTIMATE_CONFIDENCE, Evidence, Finding, confidence
from growthlab.metrics import format_value
from growthlab.privacy import suppress_small_groups
from growthlab.stats import interval_verdict

__all__ = [
    "SECTION",
    "SENTENCES",
    "EconomicsSection",
    "verdict_findings",
    "abuse_findings",
    "economics_table",
    "next_yuan_table",
    "economics_section",
]

SECTION = "referral"
MISSING = "—"

#: The section's sentences: key -> (English, Chinese) Markdown templates (``report.say``).
SENTENCES: dict[str, tuple[str, str]] = {
    "economics": (
        "Fission campaigns cost {cost}: {reward} of rewards and {other} of other campaign spend. "
        "{abuse} of the rewards ({abuse_share}) went to invitations of fraud-like inviters, "
        "whose invitees are left out of the return. The credible invitees brought {revenue} "
        "to date, an ROI of {roi} on that cost, and are predicted to be worth {ltv_cac} yuan "
        "per yuan of cost over {horizon_days} days (LTV/CAC).",
        "裂变活动共花费 {cost}：奖励 {reward}，其他活动花费 {other}。其中 {abuse}（占奖励的 "
        "{abuse_share}）发给了疑似作弊邀请人的邀请，其受邀人不计入回报。可信受邀人至今带来 "
        "{revenue}，投资回报率 {roi}；按 {horizon_days} 天预测，每 1 元成本对应 {ltv_cac} 元价值"
        "（生命周期价值/获客成本）。",
    ),
    "no_cost": (
        "No rewards and no campaign spend in this source: the campaign economics are skipped.",
        "数据源中没有奖励和活动花费：跳过活动投入产出分析。",
    ),
    "no_orders": (
        "No orders in this source, so what the invitees brought is unknown: the campaign "
        "economics are skipped.",
        "数据源中没有订单，无法得知受邀人带来的回报：跳过活动投入产出分析。",
    ),
}


@dataclass(frozen=True)
class EconomicsSection:
    """What the campaign-economics part of the referral page shows: ``numbers`` (catalogue id
    -> value), ``text`` (sentence fields), ``tables`` (``economics``, ``next_yuan``; display
    frames, headers ``column.<name>``), ``findings``, ``sentence`` (a key of
    :data:`SENTENCES`) and ``chart`` (the rows to draw; empty when nothing is shown). Same attributes as ``growthlab.findings.referral.Section``, so
    ``key_numbers``/``all_findings`` of that module take it too."""

    numbers: dict[str, Any] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    sentence: str | None = None
    #: rows for ``growthlab.plots.campaigns.return_per_yuan`` (empty: no chart)
    chart: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def say(self) -> dict[str, str]:
        """``en``/``zh`` templates and values for ``report.say(lang, **section.say)``."""
        en, zh = SENTENCES[self.sentence or "no_cost"]
        return {"en": en, "zh": zh, **self.text}


# --------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------
def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float | np.floating) and not math.isfinite(float(v)))


def _fmt(v: Any, unit: str, lang: str = "en", currency: str | None = None, digits=2) -> str:
    if _missing(v):
        return MISSING
    return format_value(float(v), unit, lang=lang, currency=currency, digits=digits)


def _with_interval(v, lo, hi, unit: str, lang: str, currency: str | None = None, digits=2) -> str:
    """ "v [lo, hi]" (the bounds without the currency code), "—" when v is missing."""
    if _missing(v):
        return MISSING
    text = _fmt(v, unit, lang, currency, digits)
    if _missing(lo) or _missing(hi):
        return text
    return f"{text} [{_fmt(lo, unit, lang, None, digits)}, {_fmt(hi, unit, lang, None, digits)}]"


def _campaign(key: Any, lang: str) -> str:
    """Display name of a campaign key (``campaign.<key>`` when defined, else the key)."""
    return i18n.name("campaign", key, lang)


def _date(ts: Any, timezone: str | None = None) -> str:
    """The calendar date of the naive-UTC instant ``ts`` in ``timezone`` (None: UTC)."""
    if pd.isna(ts):
        return MISSING
    return (to_local(ts, timezone) if timezone else pd.Timestamp(ts)).strftime("%Y-%m-%d")


# --------------------------------------------------------------------------------------------
# findings
# --------------------------------------------------------------------------------------------
_VERDICT_TEXT = {
    "scale": (
        "campaign_scale",
        "Campaign {c}: its latest cohort ({start} to {end}, {n} invitations) has a predicted "
        "ROI of {roi} {ci}, clearly above the {target} target; it ranks {rank} of {ranked} "
        "campaigns by marginal return.",
        "活动 {c}：最近一批邀请（{start} 至 {end}，{n} 次邀请）的预测投资回报率为 {roi} {ci}，"
        "明显高于 {target} 的目标；按边际回报在 {ranked} 个活动中排第 {rank}。",
        "Scale it: give it the next budget (more seed users, the same reward) and keep "
        "watching its marginal return and abuse cost as it grows.",
        "加大投入：把下一笔预算给它（更多种子用户、奖励不变），扩大时持续关注边际回报和作弊成本。",
    ),
    "stop": (
        "campaign_stop",
        "Campaign {c}: its latest cohort ({start} to {end}, {n} invitations) has a predicted "
        "ROI of {roi} {ci}, clearly below the {target} target.",
        "活动 {c}：最近一批邀请（{start} 至 {end}，{n} 次邀请）的预测投资回报率为 {roi} {ci}，"
        "明显低于 {target} 的目标。",
        "Stop it or redesign it (a lower reward, a reward paid on the invitee's first order), "
        "and move its budget to a campaign marked scale.",
        "停止或重新设计（降低奖励，或在受邀人首单后再发奖励），把预算转给建议加大投入的活动。",
    ),
}


def verdict_findings(econ: CampaignEconomics, timezone: str | None = None) -> list[Finding]:
    """Scale / stop findings from the marginal ROI (module table); none when the interval
    includes the target or the campaign is not rankable. Cohort dates are local dates in
    ``timezone`` (the source's; None: UTC)."""
    t = econ.table
    target = float(econ.params.get("target_roi", 0.0))
    total_cost = float(t["cost"].sum())
    ranked = int(t["marginal_rankable"].sum()) if "marginal_rankable" in t else 0
    out = []
    for r in t.itertuples(index=False):
        if not bool(r.marginal_rankable):
            continue
        verdict = interval_verdict(r.marginal_roi_low, r.marginal_roi_high, target)
        if verdict == "includes":
            continue
        kind, en, zh, act_en, act_zh = _VERDICT_TEXT["scale" if verdict == "above" else "stop"]
        fields = {
            lang: {
                "c": _campaign(r.campaign_id, lang),
                "start": _date(r.cohort_start, timezone),
                "end": _date(r.cohort_end, timezone),
                "n": _fmt(r.cohort_invitations, "count", lang),
                "roi": _fmt(r.marginal_roi, "fraction", lang),
                "ci": "[{}, {}]".format(
                    _fmt(r.marginal_roi_low, "fraction", lang),
                    _fmt(r.marginal_roi_high, "fraction", lang),
                ),
                "target": _fmt(target, "fraction", lang),
                "rank": _fmt(r.rank, "count", lang),
                "ranked": _fmt(ranked, "count", lang),
            }
            for lang in ("en", "zh")
        }
        out.append(
            Finding(
                SECTION,
                kind,
                en.format(**fields["en"]),
                zh.format(**fields["zh"]),
                subject=str(r.campaign_id),
                action_en=act_en,
                action_zh=act_zh,
                evidence=(
                    Evidence(
                        "campaign_marginal_roi",
                        float(r.marginal_roi),
                        float(r.marginal_roi_low),
                        float(r.marginal_roi_high),
                    ),
                    Evidence(
                        "campaign_ltv_cac",
                        float(r.ltv_cac),
                        float(r.ltv_cac_low),
                        float(r.ltv_cac_high),
                    ),  # fmt: skip
                ),
                effect=min(abs(float(r.marginal_roi) - target) / (1 + abs(target)), 1.0),
                reach=float(r.cost) / total_cost if total_cost > 0 else 0.0,
                confidence=confidence(
                    low=float(r.marginal_roi_low), high=float(r.marginal_roi_high), threshold=target
                ),
            )
        )
    return out


def abuse_findings(econ: CampaignEconomics, currency: str | None = None) -> list[Finding]:
    """One finding per campaign whose rewards partly went to fraud-like inviters (module
    table): the amount, its share of the campaign's rewards and the invitations concerned."""
    c = econ.costs
    total_cost = float(c["cost"].sum())
    out = []
    for r in c.loc[c["abuse_cost"] > 0].itertuples(index=False):
        fields = {
            lang: {
                "c": _campaign(r.campaign_id, lang),
                "abuse": _fmt(r.abuse_cost, "currency", lang, currency),
                "reward": _fmt(r.reward, "currency", lang, currency),
                "share": _fmt(r.abuse_share, "fraction", lang),
                "n": _fmt(r.abuse_invitations, "count", lang),
            }
            for lang in ("en", "zh")
        }
        v, z = fields["en"], fields["zh"]
        out.append(
            Finding(
                SECTION,
                "campaign_abuse_cost",
                f"Campaign {v['c']}: {v['abuse']} of its {v['reward']} of rewards ({v['share']}) "
                f"were paid on {v['n']} invitations of fraud-like inviters; their invitees are "
                "left out of its return.",
                f"活动 {z['c']}：{z['reward']} 奖励中有 {z['abuse']}（{z['share']}）发给了疑似作弊"
                f"邀请人的 {z['n']} 次邀请；其受邀人不计入该活动的回报。",
                subject=str(r.campaign_id),
                action_en=(
                    "Hold these rewards until reviewed, and pay the reward only after the "
                    "invitee's first paid order."
                ),
                action_zh="暂停发放这些奖励并人工审核；改为受邀人首次付费后再发奖励。",
                evidence=(
                    Evidence("abuse_cost", float(r.abuse_cost)),
                    Evidence("abuse_cost_share", float(r.abuse_share)),
                ),
                effect=min(float(r.abuse_share), 1.0),
                reach=float(r.abuse_cost) / total_cost if total_cost > 0 else 0.0,
                confidence=POINT_ESTIMATE_CONFIDENCE,
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------
def _suppressed(table: pd.DataFrame, min_group_size: int, lang: str) -> pd.DataFrame:
    return suppress_small_groups(
        table, "invitations", min_group_size, label=i18n.t("ui.suppressed", lang)
    )


def economics_table(
    econ: CampaignEconomics, min_group_size: int, currency: str | None = None, lang: str = "en"
) -> pd.DataFrame:
    """Cost and return per campaign (campaigns with fewer than ``min_group_size`` invitations
    pooled): invitations, credible invitees, referred buyers, cost, abuse cost, cost per
    invitee and per referred buyer, revenue to date, ROI to date and LTV/CAC with their 95 %
    intervals, payback days ("—": not reached while observed)."""
    t = _suppressed(econ.table, min_group_size, lang)
    cur = currency

    def cells(col: str, unit: str, c: str | None = None, digits: int = 2) -> list[str]:
        return [
            _with_interval(v, lo, hi, unit, lang, c, digits)
            for v, lo, hi in zip(t[col], t[f"{col}_low"], t[f"{col}_high"], strict=True)
        ]

    return pd.DataFrame(
        {
            "campaign_id": [_campaign(k, lang) for k in t["campaign_id"]],
            "campaign_invitations": [_fmt(v, "count", lang) for v in t["invitations"]],
            "credible_invitees": [_fmt(v, "count", lang) for v in t["invitees"]],
            "referred_buyers": [_fmt(v, "count", lang) for v in t["buyers"]],
            "campaign_cost": [_fmt(v, "currency", lang, cur) for v in t["cost"]],
            "abuse_cost": [_fmt(v, "currency", lang, cur) for v in t["abuse_cost"]],
            "cost_per_invitee": cells("cost_per_invitee", "currency", cur),
            "cost_per_buyer": cells("cost_per_buyer", "currency", cur),
            "revenue_to_date": [_fmt(v, "currency", lang, cur) for v in t["revenue"]],
            "roi_to_date": cells("roi_to_date", "fraction"),
            "ltv_cac": cells("ltv_cac", "ratio", digits=1),
            "payback_days": [_fmt(v, "count", lang) for v in t["payback_days"]],
        }
    )


def next_yuan_table(
    econ: CampaignEconomics, min_group_size: int, lang: str = "en", timezone: str | None = None
) -> pd.DataFrame:
    """Where the next yuan goes: rank, campaign, the latest cohort (local dates in ``timezone``,
    invitations), its predicted ROI with the interval and the verdict in words (scale / hold /
    stop / not enough data); campaigns with fewer than ``min_group_size`` invitations pooled."""
    t = _suppressed(econ.table, min_group_size, lang)
    verdict = [
        i18n.t(f"verdict.campaign.{v}", lang) if isinstance(v, str) and v else MISSING
        for v in t["verdict"]
    ]
    return pd.DataFrame(
        {
            "next_yuan_rank": [_fmt(v, "count", lang) for v in t["rank"]],
            "campaign_id": [_campaign(k, lang) for k in t["campaign_id"]],
            "cohort": [
                MISSING if pd.isna(e) else f"{_date(s, timezone)} – {_date(e, timezone)}"
                for s, e in zip(t["cohort_start"], t["cohort_end"], strict=True)
            ],
            "cohort_invitations": [_fmt(v, "count", lang) for v in t["cohort_invitations"]],
            "marginal_roi": [
                _with_interval(v, lo, hi, "fraction", lang)
                for v, lo, hi in zip(
                    t["marginal_roi"], t["marginal_roi_low"], t["marginal_roi_high"], strict=True
                )
            ],
            "campaign_verdict": verdict,
        }
    )


# --------------------------------------------------------------------------------------------
# the section
# --------------------------------------------------------------------------------------------
def economics_section(
    econ: CampaignEconomics,
    min_group_size: int,
    currency: str | None = None,
    lang: str = "en",
    horizon_days: float = 365,
    timezone: str | None = None,
) -> EconomicsSection:
    """Numbers, sentence, tables and findings of the campaign economics (cohort dates in the
    source's ``timezone``; None: UTC); only the ``no_cost``
    (neither rewards nor campaign spend) or ``no_orders`` (return unknown) sentence, with empty
    tables and chart rows (``report.show`` shows nothing for them), when there is nothing to
    weigh."""
    tot = econ.totals
    nothing = {"economics": pd.DataFrame(), "next_yuan": pd.DataFrame()}  # shown as nothing
    if not tot["cost"] > 0:
        return EconomicsSection(tables=nothing, sentence="no_cost")
    if not econ.params.get("has_orders", True):
        return EconomicsSection(tables=nothing, sentence="no_orders")
    counts = econ.verdict_counts()
    numbers = {
        "campaign_cost": tot["cost"],
        "campaign_rewards": tot["reward"],
        "abuse_cost": tot["abuse_cost"],
        "abuse_cost_share": tot["abuse_share"],
        "campaign_roi_to_date": tot["roi_to_date"],
        "campaign_ltv_cac": tot["ltv_cac"],
        "campaigns_to_scale": counts["scale"],
        "campaigns_to_stop": counts["stop"],
        "ltv_cac_by_campaign": {
            str(k): None if _missing(v) else round(float(v), 3)
            for k, v in zip(econ.table["campaign_id"], econ.table["ltv_cac"], strict=True)
        },
    }
    other = tot["cost"] - tot["reward"]
    text = {
        "cost": _fmt(tot["cost"], "currency", lang, currency),
        "reward": _fmt(tot["reward"], "currency", lang, currency),
        "other": _fmt(other, "currency", lang, currency),
        "abuse": _fmt(tot["abuse_cost"], "currency", lang, currency),
        "abuse_share": _fmt(tot["abuse_share"], "fraction", lang),
        "revenue": _fmt(tot["revenue"], "currency", lang, currency),
        "roi": _fmt(tot["roi_to_date"], "fraction", lang),
        "ltv_cac": _fmt(tot["ltv_cac"], "ratio", lang, digits=1),
        "horizon_days": f"{horizon_days:g}",
    }
    tables = {
        "economics": economics_table(econ, min_group_size, currency, lang),
        "next_yuan": next_yuan_table(econ, min_group_size, lang, timezone),
    }
    found = verdict_findings(econ, timezone) + abuse_findings(econ, currency)
    return EconomicsSection(numbers, text, tables, found, "economics", econ.table)
