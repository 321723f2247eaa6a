"""The metric catalogue: one id, one definition, one label per language for every key number.

Every number a page or the executive summary shows as a key number is recorded under an id of
:data:`CATALOGUE` (``growthlab.report.record(id, value)``). The entry says what the number is
(``definition``, with its formula), how it is called in English and Chinese, its unit, which
direction is better and how it is written. The same id means the same number on every page: a
test runs the report and checks that an id recorded by two sections has one value. Where two
measures legitimately differ (retention "active in days 28–30 after signup" vs "cohort active in
its 4th week"), they are two ids whose labels say the difference.

Units: ``fraction`` (0.125 is written 12.5 %, 253.8 is 25,382 %), ``pp`` (a difference of two
fractions, written in percentage points), ``count``, ``currency`` (written with the source's
currency code), ``days``, ``hours``, ``ratio`` (a plain number such as K), ``score`` (a statistic), ``text``
and ``records`` (lists of rows, e.g. alerts; not formatted).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Number
from typing import Any

from growthlab import i18n

UNITS = (
    "fraction",
    "pp",
    "count",
    "currency",
    "days",
    "hours",
    "ratio",
    "score",
    "text",
    "records",
)


@dataclass(frozen=True)
class Metric:
    """One catalogued metric (see the module docstring).

    ``en``/``zh`` may hold ``{name}`` fields filled from the parameters of :meth:`label`
    (e.g. the window of a K-factor); ``digits`` are the decimals of ``ratio``/``score`` values.
    """

    id: str
    en: str
    zh: str
    unit: str
    definition: str
    better: str | None = None
    digits: int = 2

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"metric {self.id}: unknown unit {self.unit!r}")
        if self.better not in (None, "up", "down"):
            raise ValueError(f"metric {self.id}: better must be 'up', 'down' or None")

    def label(self, lang: str = "en", **fields: Any) -> str:
        """The name of the metric in ``lang`` (en or zh), its ``{fields}`` filled in."""
        template = self.zh if lang == "zh" else self.en
        try:
            if lang == "zh" and fields:
                return i18n.spaced(template, fields).format(**fields)
            return template.format(**fields)
        except (KeyError, IndexError):
            return template

    def format(self, value: Any, lang: str = "en", currency: str | None = None) -> str:
        """``value`` written for a reader: "12.5 %", "+3.1 pp", "1,234", "1,234.50 CNY", "0.36"."""
        return format_value(value, self.unit, lang=lang, currency=currency, digits=self.digits)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, Number):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def format_value(
    value: Any, unit: str | None, *, lang: str = "en", currency: str | None = None, digits: int = 2
) -> str:
    """Write ``value`` in ``unit`` (see the module docstring); missing or non-finite is "n/a"."""
    if unit == "text":
        return "" if value is None else str(value)
    v = _number(value)
    if v is None:
        return "n/a" if lang != "zh" else "无"
    if unit == "fraction":
        if abs(round(100 * v, 1)) >= 1000:  # 25,382 % reads better grouped, without decimals
            return f"{100 * v:,.0f} %"
        d = 1 if abs(v) >= 0.001 or v == 0 else 2
        return f"{100 * v:.{d}f} %"
    if unit == "pp":
        return f"{100 * v:+.1f} pp" if lang != "zh" else f"{100 * v:+.1f} 个百分点"
    if unit == "count":
        return f"{v:,.0f}"
    if unit == "currency":
        return f"{v:,.2f}" + (f" {currency}" if currency else "")
    if unit == "days":
        return f"{v:,.1f} " + ("天" if lang == "zh" else "days")
    if unit == "hours":
        return f"{v:,.1f} " + ("小时" if lang == "zh" else "h")
    return f"{v:,.{digits}f}"


def _m(
    id: str,
    en: str,
    zh: str,
    unit: str,
    definition: str,
    better: str | None = None,
    digits: int = 2,
) -> Metric:  # noqa: A002, E501
    return Metric(id, en, zh, unit, definition, better, digits)


_ENTRIES = [
    # --- data quality (01) ----------------------------------------------------------------
    _m(
        "users",
        "Users",
        "用户数",
        "count",
        "Rows of the validated users table (quarantined rows excluded).",
    ),
    _m(
        "rows",
        "Source rows",
        "源数据行数",
        "count",
        "Σ over tables of rows_source: rows read from the source, before quarantine.",
    ),
    _m(
        "quarantined_rows",
        "Rows excluded by quarantine rules",
        "被剔除的行",
        "count",
        "Σ over tables of rows_quarantined: rows excluded by a quarantine rule (data/README.md).",
        "down",
    ),
    _m(
        "quarantine_rate",
        "Share of source rows excluded by quarantine rules",
        "被剔除行占源数据比例",
        "fraction",
        "quarantined_rows / rows (0 when the source has no rows).",
        "down",
    ),
    _m(
        "warnings",
        "Data warnings",
        "数据警告",
        "count",
        "Number of warnings of the quality report (rows kept): unknown channels, consistency, "
        "freshness, empty optional tables.",
        "down",
    ),
    _m(
        "max_stale_days",
        "Days from the stalest table's newest row to the analysis date",
        "最久未更新的表：最新一行距分析时点天数",
        "days",
        "max over tables of days_since_last = (as_of − newest timestamp) / 1 day; for a table "
        "dated by calendar day (costs) the newest day counts to its local end, never below 0.",
        "down",
    ),
    _m(
        "unknown_channel_rows",
        "Rows with an unknown channel name",
        "渠道名称未知的行",
        "count",
        "Σ rows whose raw channel name is not in the channel mapping (channels.yaml).",
        "down",
    ),
    _m(
        "volume_anomaly_days",
        "Unusual table-days",
        "行数异常的表-日",
        "count",
        "Table-days whose row count has |robust z| > threshold against its weekday median "
        "(growthlab.monitor.volume_anomalies on data.profile.daily_volume).",
        "down",
    ),
    _m(
        "volume_drop_days",
        "Table-days with unusually few rows (possible missing data)",
        "行数异常偏少的表-日（可能缺数）",
        "count",
        "Table-days with robust z < −threshold (see volume_anomaly_days), or without any row "
        "while the 15 days centred on them have a median ≥ 20 rows (an export gap; "
        "growthlab.findings.quality.GAP_WINDOW_DAYS, GAP_MIN_MEDIAN_ROWS).",
        "down",
    ),
    _m(
        "unknown_channel_share",
        "Largest share of a table's rows with an unknown channel name",
        "单表中渠道名称未知的行的最大占比",
        "fraction",
        "max over tables of Σ unknown-channel rows / rows_kept of the table.",
        "down",
    ),
    _m(
        "persons",
        "Persons (OneID)",
        "自然人数（OneID）",
        "count",
        "Connected components of users linked by shared identifiers.",
    ),
    _m(
        "merged_users",
        "Users merged into shared persons",
        "被合并到同一自然人的用户",
        "count",
        "Users whose person has more than one user id.",
    ),
    # --- referral (02) --------------------------------------------------------------------
    _m(
        "referred_users",
        "Referred users (accepted invitation)",
        "受邀用户（接受邀请注册）",
        "count",
        "Users with an accepted inviter: referrals after the graph rules of "
        "growthlab.referral_rules (one inviter per invitee, the earliest).",
        "up",
    ),
    _m(
        "referred_share",
        "Share of users referred",
        "受邀用户占比",
        "fraction",
        "referred_users / users.",
        "up",
    ),
    _m(
        "cascades",
        "Referral cascades (trees with an invite)",
        "传播树数量（至少一次邀请）",
        "count",
        "Trees of the referral forest whose seed invited at least one user.",
    ),
    _m(
        "max_generation",
        "Deepest generation",
        "最深代数",
        "count",
        "Largest generation (distance from the seed) in the forest.",
    ),
    _m(
        "k_factor",
        "K-factor ({window_days}-day window)",
        "K 因子（{window_days} 天窗口）",
        "ratio",
        "K = Σ_u x_u / n over the n users who signed up at least window_days before as_of, "
        "x_u = accepted invitees of u invited within window_days of u's signup "
        "(referral.k_factor). Not the rolling K of the monitoring page (k_factor_latest).",
        "up",
    ),
    _m(
        "k_factor_low",
        "K-factor, lower 95 % bound",
        "K 因子 95 % 区间下限",
        "ratio",
        "Lower bound of the 95 % interval of k_factor: K − t·s/√n (at least 0).",
    ),
    _m(
        "k_factor_high",
        "K-factor, upper 95 % bound",
        "K 因子 95 % 区间上限",
        "ratio",
        "Upper bound of the 95 % interval of k_factor: K + t·s/√n.",
    ),
    _m(
        "campaigns_viral",
        "Self-sustaining campaigns (K interval above 1)",
        "可自我裂变的活动数（K 区间高于 1）",
        "count",
        "Campaigns with at least min_group_size eligible users whose K interval lies above 1: "
        "stats.interval_verdict(k_low, k_high, 1) == 'above' (referral.k_by_campaign).",
    ),
    _m(
        "k_by_campaign",
        "K-factor by campaign",
        "各活动 K 因子",
        "records",
        "k_factor per users.campaign_id (the campaign that acquired the user).",
    ),
    _m(
        "invites_per_user",
        "Invitations sent per user within {window_days} days of signup (i)",
        "注册后 {window_days} 天内人均发出邀请数（i）",
        "ratio",
        "i of K = i × c: invite_sent events within window_days of signup / eligible users.",
        "up",
    ),
    _m(
        "invite_conversion",
        "Accepted invitees per invitation sent (c)",
        "每次邀请带来的受邀用户（c）",
        "fraction",
        "c of K = i × c: accepted invitees / invite_sent events, same users and window.",
        "up",
    ),
    _m(
        "amplification",
        "Amplification: users per seed user (campaign cascades)",
        "放大倍数：每名种子用户最终带来的用户（活动传播树）",
        "ratio",
        "Users of the campaigns' cascades / their seed users (generation 0).",
        "up",
    ),
    _m(
        "largest_cascade",
        "Largest cascade (users)",
        "最大传播树（用户数）",
        "count",
        "Users in the largest tree of the referral forest.",
        "up",
    ),
    _m(
        "mean_structural_virality",
        "Mean structural virality",
        "平均结构传播度",
        "ratio",
        "Mean over cascades of the mean shortest-path distance between nodes (Goel et al. 2016).",
    ),
    _m(
        "cycle_time_median_days",
        "Median days to first successful invite",
        "首次成功邀请的中位天数",
        "days",
        "Median over inviters of (first accepted invitation − signup), in days.",
        "down",
    ),
    _m(
        "top10_share",
        "Invitees brought by the top 10 % of spreaders",
        "前 10 % 传播者带来的受邀用户占比",
        "fraction",
        "Share of direct invitees brought by the 10 % of spreaders with most invitees.",
    ),
    _m(
        "top1_share",
        "Invitees brought by the top 1 % of spreaders",
        "前 1 % 传播者带来的受邀用户占比",
        "fraction",
        "Share of direct invitees brought by the top 1 % of spreaders.",
    ),
    _m(
        "spreader_gini",
        "Gini of invitees per spreader",
        "传播者受邀人数基尼系数",
        "ratio",
        "Gini coefficient of direct invitees over users who invited at least one person.",
    ),
    _m(
        "invite_to_paid",
        "Invitations sent that led to a paying invitee",
        "发出的邀请中最终带来付费受邀人的占比",
        "fraction",
        "Accepted invitations whose invitee has a paid order / invite_sent events, both "
        "counted in invitations (recorded only when invite_sent events exist).",
        "up",
    ),
    _m(
        "suspicious_inviters",
        "Suspicious inviters",
        "可疑邀请人",
        "count",
        "Inviters that are fraud-like or have a self-referral or cycle row left in the "
        "analysed referrals (referral_abuse.suspicious_inviters; rows the loader quarantined "
        "are counted on the data-quality page).",
        "down",
    ),
    _m(
        "fraud_like_inviters",
        "Fraud-like inviters",
        "疑似作弊邀请人",
        "count",
        "Inviters with two or more behavioural abuse signals (burst, shared identity, "
        "inactive invitees).",
        "down",
    ),
    _m(
        "fraud_like_invitees_share",
        "Share of referred users from fraud-like inviters",
        "来自疑似作弊邀请人的受邀用户占比",
        "fraction",
        "Accepted invitees of fraud-like inviters / referred_users.",
        "down",
    ),
    _m(
        "conversion_referred",
        "Referred users who paid at least once (to date)",
        "受邀用户中至今付费过的占比",
        "fraction",
        "Users with an accepted inviter and a paid order up to as_of / users with an accepted "
        "inviter. Referred = has an accepted inviter, not users.channel == referral.",
        "up",
    ),
    _m(
        "conversion_organic",
        "Users not referred who paid at least once (to date)",
        "非受邀用户中至今付费过的占比",
        "fraction",
        "Users without an accepted inviter (every other acquisition channel) with a paid "
        "order up to as_of / those users.",
    ),
    _m(
        "still_active_day30_referred",
        "Referred users still active on or after day 30 after signup",
        "注册 30 天后仍有活跃的受邀用户占比",
        "fraction",
        "Users with an accepted inviter, signed up at least 30 days before as_of, with an "
        "activity event (not reach, unsubscribe or complaint) or an order at or after signup "
        "+ 30 days / those users. Not the cohort retention of the attribution page (active "
        "within one period).",
        "up",
    ),
    _m(
        "still_active_day30_organic",
        "Users not referred still active on or after day 30 after signup",
        "注册 30 天后仍有活跃的非受邀用户占比",
        "fraction",
        "As still_active_day30_referred, for users without an accepted inviter.",
    ),
    _m(
        "value_diff_referred_minus_organic",
        "Paid revenue per user to date, referred − not referred",
        "人均累计付费金额差（受邀 − 非受邀）",
        "currency",
        "Mean paid revenue up to as_of per user with an accepted inviter − the same mean for "
        "users without one.",
    ),
    # --- campaign economics (02) ---
    _m(
        "campaign_cost",
        "Cost of fission campaigns (rewards and campaign spend)",
        "裂变活动成本（奖励与活动花费）",
        "currency",
        "Σ over campaigns of cost = max(costs.spend of the campaign, its rewards) when costs "
        "include rewards (the default), else spend + rewards; rewards = referrals.reward of "
        "accepted invitations, fraud-like inviters included (growthlab.campaigns).",
        "down",
    ),
    _m(
        "campaign_rewards",
        "Referral rewards paid on accepted invitations",
        "已接受邀请的奖励金额",
        "currency",
        "Σ referrals.reward (every side) over accepted invitations; quarantined rows excluded.",
    ),
    _m(
        "abuse_cost",
        "Rewards paid on invitations of fraud-like inviters",
        "发给疑似作弊邀请人的奖励",
        "currency",
        "Σ referrals.reward of accepted invitations whose inviter is fraud_like "
        "(growthlab.referral_abuse.suspicious_inviters).",
        "down",
    ),
    _m(
        "abuse_cost_share",
        "Share of referral rewards paid to fraud-like inviters",
        "疑似作弊邀请人所得奖励占比",
        "fraction",
        "abuse_cost / campaign_rewards (0 when no reward was paid).",
        "down",
    ),
    _m(
        "campaign_roi_to_date",
        "Return on fission-campaign cost to date (revenue of credible invitees)",
        "裂变活动至今投资回报率（可信受邀人收入）",
        "fraction",
        "(margin × paid revenue to date of invitees of inviters not flagged fraud-like − "
        "campaign_cost) / campaign_cost, over all campaigns.",
        "up",
    ),
    _m(
        "campaign_ltv_cac",
        "Predicted value of invitees per yuan of campaign cost ({horizon_days}-day LTV/CAC)",
        "每 1 元活动成本对应的受邀人预测价值（{horizon_days} 天生命周期价值/获客成本）",
        "ratio",
        "margin × (revenue to date + BG/NBD + Gamma-Gamma CLV over the horizon of the credible "
        "invitees who bought) / campaign_cost = predicted ROI + 1.",
        "up",
    ),
    _m(
        "campaign_marginal_roi",
        "Predicted ROI of a campaign's latest cohort (marginal return)",
        "活动最近一批邀请的预测投资回报率（边际回报）",
        "fraction",
        "Predicted ROI of the invitations in the last recent_days (default 28) before "
        "min(the campaign's last invitation, as_of − mature_days), with a cascade bootstrap "
        "interval (growthlab.campaigns.marginal_returns).",
        "up",
    ),
    _m(
        "campaigns_to_scale",
        "Campaigns to scale (latest cohort's ROI clearly above target)",
        "建议加大投入的活动",
        "count",
        "Campaigns whose marginal ROI interval lies above target_roi "
        "(stats.interval_verdict == 'above').",
    ),
    _m(
        "campaigns_to_stop",
        "Campaigns to stop (latest cohort's ROI clearly below target)",
        "建议停止的活动",
        "count",
        "Campaigns whose marginal ROI interval lies below target_roi "
        "(stats.interval_verdict == 'below').",
        "down",
    ),
    _m(
        "ltv_cac_by_campaign",
        "LTV/CAC by campaign",
        "各活动生命周期价值/获客成本",
        "records",
        "campaign_ltv_cac per campaign (growthlab.campaigns.unit_economics).",
    ),
    # --- segments and value (03) ----------------------------------------------------------
    _m(
        "buyers",
        "Buyers",
        "购买用户数",
        "count",
        "Users with at least one paid order at or before as_of (RFM buyers).",
        "up",
    ),
    _m(
        "buyer_share",
        "Share of users who bought",
        "购买用户占比",
        "fraction",
        "buyers / users (every user of the users table).",
    ),
    _m(
        "champions_share",
        "Champions (share of buyers)",
        "核心客户（占购买用户）",
        "fraction",
        "Buyers in the RFM segment 'champions' (R score 5, F score 4–5) / buyers.",
    ),
    _m(
        "high_tier_users",
        "High value tier (share of buyers)",
        "高价值层（占购买用户）",
        "fraction",
        "Buyers with M score ≥ high_score and F score ≥ high_score / buyers.",
    ),
    _m(
        "high_tier_value",
        "High value tier (share of revenue to date)",
        "高价值层（占累计收入）",
        "fraction",
        "Σ paid amount of the high value tier / Σ paid amount of all buyers, up to as_of.",
        "up",
    ),
    _m(
        "active_share",
        "Users active in the last {active_days} days (incl. returned)",
        "近 {active_days} 天活跃用户占比（含回流）",
        "fraction",
        "Users whose lifecycle stage is active or returned (last activity event or paid order "
        "at most active_days before as_of; reach, unsubscribe and complaint events are not "
        "activity) / users.",
        "up",
    ),
    _m(
        "churned_share",
        "Churned users (inactive over {churn_days} days)",
        "已流失用户占比（超过 {churn_days} 天未活跃）",
        "fraction",
        "Users whose lifecycle stage is churned (no activity event or paid order in "
        "churn_days, or never active) / users.",
        "down",
    ),
    _m(
        "at_risk_users",
        "Users at risk (inactive {silent_days}–{churn_days} days)",
        "流失预警用户（{silent_days}–{churn_days} 天未活跃）",
        "count",
        "Users whose last activity is more than silent_days and at most churn_days before "
        "as_of (0 when fewer than min_group_size).",
        "down",
    ),
    _m(
        "valuable_buyers_at_risk",
        "Valuable buyers at risk (inactive {silent_days}–{churn_days} days)",
        "流失预警的高、中价值层购买用户（{silent_days}–{churn_days} 天未活跃）",
        "count",
        "Buyers of the high and medium value tiers (segments.VALUABLE_TIERS) whose lifecycle "
        "stage is at risk (last activity more than silent_days and at most churn_days before "
        "as_of): the members of the win-back list (growthlab lists: high_value_at_risk).",
        "down",
    ),
    _m(
        "clusters_k",
        "Behavioural clusters (k)",
        "行为分群数（k）",
        "count",
        "argmax over k in [k_min, k_max] of the sampled mean silhouette of K-Means.",
    ),
    _m(
        "clusters_silhouette",
        "Cluster silhouette",
        "分群轮廓系数",
        "score",
        "Mean over sampled users of (b − a) / max(a, b) for the chosen k (Rousseeuw 1987).",
    ),
    _m(
        "clusters_stability_ari",
        "Cluster stability (ARI)",
        "分群稳定性（调整兰德指数）",
        "score",
        "Mean adjusted Rand index between the chosen clustering and re-runs with other seeds.",
        "up",
    ),
    _m(
        "holdout_error",
        "BG/NBD holdout error (total repeat purchase days)",
        "BG/NBD 验证期误差（复购天次合计）",
        "fraction",
        "Σ predicted / Σ observed − 1 over calibration buyers of the repeat purchase days in "
        "the holdout (the last holdout_days before as_of).",
    ),
    _m(
        "bgnbd_r",
        "BG/NBD r",
        "BG/NBD r",
        "score",
        "Shape r of the gamma purchase-rate heterogeneity (Fader, Hardie & Lee 2005).",
        digits=4,
    ),
    _m(
        "bgnbd_alpha",
        "BG/NBD α (rate scale)",
        "BG/NBD α（速率尺度）",
        "score",
        "Scale α of the gamma purchase-rate heterogeneity (growthlab.value: rate_scale), in "
        "the model's time unit.",
        digits=4,
    ),
    _m(
        "bgnbd_a",
        "BG/NBD a",
        "BG/NBD a",
        "score",
        "First beta parameter of the dropout probability.",
        digits=4,
    ),
    _m(
        "bgnbd_b",
        "BG/NBD b",
        "BG/NBD b",
        "score",
        "Second beta parameter of the dropout probability.",
        digits=4,
    ),
    _m(
        "clv_total",
        "Predicted value, next {horizon_days} days",
        "未来 {horizon_days} 天预测价值",
        "currency",
        "Σ over buyers of Σ_i ΔE[purchases in period i] (BG/NBD) × E[spend] (Gamma-Gamma) / "
        "(1 + discount_rate)^i.",
        "up",
    ),
    _m(
        "clv_mean",
        "Predicted value per buyer, next {horizon_days} days",
        "未来 {horizon_days} 天人均预测价值",
        "currency",
        "clv_total / buyers with a purchase day up to the last full local day.",
        "up",
    ),
    _m(
        "p_alive_mean",
        "Mean P(alive) of buyers",
        "购买用户平均存活概率",
        "fraction",
        "Mean over buyers of the BG/NBD probability of being alive at as_of.",
        "up",
    ),
    _m(
        "clv_top10_share",
        "Share of predicted value in the top 10 % of buyers",
        "前 10 % 购买用户的预测价值占比",
        "fraction",
        "Σ CLV of the ⌈10 %⌉ buyers with the highest CLV / clv_total.",
    ),
    _m(
        "clv_referred_vs_organic",
        "Predicted value per buyer, referred vs organic (relative)",
        "人均预测价值：受邀与自然购买用户的相对差",
        "fraction",
        "mean CLV of referred buyers / mean CLV of organic buyers − 1.",
    ),
    _m(
        "clv_referred_minus_organic",
        "Predicted value per buyer, referred − organic",
        "人均预测价值差（受邀 − 自然购买用户）",
        "currency",
        "mean CLV of referred buyers − mean CLV of organic buyers (Welch 95 % interval); "
        "predicted over the next horizon_days, unlike 02's revenue to date.",
    ),
    # --- attribution and funnel (04) ------------------------------------------------------
    _m(
        "conversions",
        "Conversions (paid orders)",
        "转化数（付费订单）",
        "count",
        "Σ paths.conversions: paid orders (status paid or missing) up to as_of, one journey each "
        "(the source's own paths table when it has one).",
    ),
    _m(
        "attributable_share",
        "Conversions with a touchpoint",
        "有触点的转化占比",
        "fraction",
        "Conversions with ≥ 1 touchpoint (touch_events) in the lookback_days before them / "
        "conversions.",
        "up",
    ),
    _m(
        "mean_path_length",
        "Touches per converting journey",
        "每条转化路径的触点数",
        "ratio",
        "Σ conversions × path length / Σ conversions, over converting journeys with a touchpoint.",
    ),
    _m(
        "top_channel_share",
        "Largest channel share of conversions ({model})",
        "第一渠道的转化份额（{model_zh}）",
        "fraction",
        "max over channels of the channel's share of attributed conversions under the named "
        "model (the reference model: Shapley when computed, else Markov of the first order).",
    ),
    _m(
        "markov_conversion_probability",
        "Journey conversion probability (Markov, order {order})",
        "路径转化概率（{order} 阶马尔可夫）",
        "fraction",
        "h_START of the fitted absorbing chain, (I − Q) h = r: the probability that a journey "
        "from START ends in conversion.",
        "up",
    ),
    _m(
        "best_roas",
        "Best channel ROAS ({model})",
        "最高渠道 ROAS（{model_zh}）",
        "ratio",
        "max over channels with spend of attributed value / spend under the named model.",
        "up",
    ),
    _m(
        "worst_roas",
        "Worst channel ROAS ({model})",
        "最低渠道 ROAS（{model_zh}）",
        "ratio",
        "min over channels with spend of attributed value / spend under the named model "
        "(below 1: the channel's attributed revenue does not cover its spend).",
        "up",
    ),
    _m(
        "funnel_conversion",
        "Funnel completion, first to last step within {window_days} days",
        "漏斗完成率（{window_days} 天内从第一步到最后一步）",
        "fraction",
        "Users reaching every step in order within window_days of their first step / users at "
        "the first step (not the referral page's 'ever paid' conversion).",
        "up",
    ),
    _m(
        "largest_drop_off",
        "Largest funnel drop-off",
        "漏斗最大流失",
        "fraction",
        "max over steps k ≥ 1 of 1 − users_k / users_{k−1}.",
        "down",
    ),
    _m(
        "cohort_retention_referral_channel",
        "Cohort retention in {period} after signup, users acquired through the referral channel",
        "注册后{period_zh}的同期群留存（邀请渠道获客用户）",
        "fraction",
        "Σ active / Σ users over signup cohorts (ISO weeks or months) that completed that period, "
        "users whose acquisition channel (users.channel) is referral. Not the referral page's "
        "'referred users' (accepted inviter) nor its 'active in days 28–30'.",
        "up",
    ),
    _m(
        "cohort_retention_other_channels",
        "Cohort retention in {period} after signup, users acquired through other channels",
        "注册后{period_zh}的同期群留存（其他渠道获客用户）",
        "fraction",
        "As cohort_retention_referral_channel, for users whose acquisition channel is not "
        "referral.",
        "up",
    ),
    _m(
        "peak_hour",
        "Busiest local hour of engagement",
        "互动最多的本地时段",
        "count",
        "Hour of day (0–23, in the run's timezone) with the most engagement events "
        "(engagement_events) over all weeks.",
    ),
    _m(
        "responses_per_contact_low_frequency",
        "Responses per contact at the lowest weekly frequency",
        "最低周频次的每次触达响应",
        "fraction",
        "Σ responses / Σ contacts over user-weeks in the lowest contacts-per-week bucket.",
        "up",
    ),
    _m(
        "responses_per_contact_high_frequency",
        "Responses per contact at the highest weekly frequency",
        "最高周频次的每次触达响应",
        "fraction",
        "Σ responses / Σ contacts over user-weeks in the highest contacts-per-week bucket "
        "(max_contacts and more pooled; buckets under min_group_size user-weeks dropped).",
        "up",
    ),
    # --- monitoring and experiments (05) --------------------------------------------------
    _m(
        "new_users_recent",
        "New users (last {days} days)",
        "新增用户（近 {days} 天）",
        "count",
        "Signups in the last `days` days up to as_of.",
        "up",
    ),
    _m(
        "invitees_recent",
        "Invitees (last {days} days)",
        "受邀用户（近 {days} 天）",
        "count",
        "Accepted invitations in the last `days` days up to as_of.",
        "up",
    ),
    _m(
        "conversions_recent",
        "Conversions (last {days} days)",
        "转化数（近 {days} 天）",
        "count",
        "Paid orders in the last `days` days up to as_of.",
        "up",
    ),
    _m(
        "revenue_recent",
        "Revenue (last {days} days)",
        "收入（近 {days} 天）",
        "currency",
        "Paid revenue in the last `days` days up to as_of.",
        "up",
    ),
    _m(
        "unsubscribes_recent",
        "Unsubscribes (last {days} days)",
        "退订（近 {days} 天）",
        "count",
        "unsubscribe events in the last `days` days up to as_of.",
        "down",
    ),
    _m(
        "complaints_recent",
        "Complaints (last {days} days)",
        "投诉（近 {days} 天）",
        "count",
        "complaint events in the last `days` days up to as_of.",
        "down",
    ),
    _m(
        "k_factor_latest",
        "Rolling K: invitees per new user, last {window_days} days",
        "滚动 K：近 {window_days} 天受邀用户 / 新增用户",
        "ratio",
        "On the last complete day D: accepted invitations dated in [D − window_days + 1, D] "
        "(by any inviter, whenever they signed up) / signups in the same days (growthlab.data."
        "daily, metric k_factor). An operational trend: it equals the viral coefficient only "
        "while growth is steady. Not k_factor (02), which counts each eligible user's invitees "
        "within window_days of that user's own signup; invitations by long-standing users make "
        "the rolling ratio the larger one.",
        "up",
    ),
    _m(
        "alerts_count",
        "KPI alerts",
        "关键指标告警",
        "count",
        "Days × series outside their expected band (all series).",
        "down",
    ),
    _m(
        "alerts_overall",
        "KPI alerts on overall series",
        "整体序列的关键指标告警",
        "count",
        "Alerts on the all-channel series.",
        "down",
    ),
    _m(
        "alerts_recent",
        "KPI alerts in the last {days} days",
        "近 {days} 天的关键指标告警",
        "count",
        "Alerts dated within the last `days` days up to as_of.",
        "down",
    ),
    _m(
        "alerts",
        "KPI alerts (recent first, then strongest)",
        "关键指标告警（近期优先，其余按强度）",
        "records",
        "Alert records (date, metric, segment, observed, expected, low, high, score, "
        "direction): every alert of the recent period, then the strongest others, at most "
        "max_alerts_shown.",
    ),
    _m(
        "ab_experiments",
        "A/B experiments",
        "A/B 实验数",
        "count",
        "Experiments with at least two variants in assignments.",
    ),
    _m(
        "ab_results",
        "A/B results per experiment, variant and metric",
        "各实验、组别与指标的 A/B 结果",
        "records",
        "Per experiment, treated variant and metric (conversion, revenue per user, revenue per "
        "order, unsubscribe and complaint rates): users, values, difference to control with its "
        "decision interval, adjusted p-value, chance to beat control, method, verdict "
        "(growthlab.experiments.analyse).",
    ),
    _m(
        "ab_experiment",
        "Main A/B experiment",
        "主要 A/B 实验",
        "text",
        "The experiment of the treated variant with most assigned users.",
    ),
    _m(
        "ab_verdict",
        "Main A/B verdict",
        "主要 A/B 结论",
        "text",
        "Verdict of the main experiment's treated variant (growthlab.experiments.verdicts): win, "
        "loss, guardrail (ship vetoed), underpowered, no_effect, inconclusive or srm "
        "(sample-ratio mismatch: verdict withheld).",
    ),
    _m(
        "ab_lift",
        "A/B conversion difference",
        "A/B 转化率差",
        "pp",
        "conversion(treatment) − conversion(control) of the main experiment (CUPED-adjusted "
        "when pre-period data exist).",
        "up",
    ),
    _m(
        "ab_lift_low",
        "A/B difference, lower bound",
        "A/B 差值下限",
        "pp",
        "Lower bound of ab_lift's decision interval: sequential (always valid) while the "
        "experiment runs, else fixed-horizon Welch t; at level 1 − α·p/p_adj (multiple testing).",
    ),
    _m(
        "ab_lift_high",
        "A/B difference, upper bound",
        "A/B 差值上限",
        "pp",
        "Upper bound of ab_lift's decision interval (see ab_lift_low).",
    ),
    _m(
        "ab_rel_lift",
        "A/B relative lift",
        "A/B 相对提升",
        "fraction",
        "ab_lift / conversion(control).",
        "up",
    ),
    _m(
        "ab_p_value",
        "A/B p-value (adjusted)",
        "A/B p 值（校正后）",
        "score",
        "Two-sided p-value of the conversion difference (sequential or fixed-horizon), adjusted "
        "for multiple testing across metrics and variants (Holm by default).",
        digits=4,
    ),
    _m(
        "ab_chance_to_win",
        "A/B chance to beat control",
        "A/B 胜过对照组的概率",
        "fraction",
        "Posterior P(relative lift in conversion > 0) under gbstats' default flat prior (or "
        "N(0, prior_sd²)).",
        "up",
    ),
    _m(
        "ab_expected_loss",
        "A/B expected loss if shipped",
        "A/B 上线的预期损失",
        "fraction",
        "Posterior E[max(−relative lift, 0)]: the relative conversion loss expected when "
        "shipping the variant (GrowthBook's risk).",
        "down",
    ),
    _m(
        "ab_variance_reduction",
        "A/B variance reduction by CUPED",
        "A/B CUPED 方差降低",
        "fraction",
        "1 − Var(Δ_CUPED)/Var(Δ) of the conversion difference with the pre-period covariate; 0 "
        "when no pre-period data exist.",
        "up",
    ),
    _m(
        "ab_mde",
        "A/B minimum detectable effect",
        "A/B 最小可检测效应",
        "pp",
        "Smallest conversion difference detectable at 80 % power with the observed sample sizes "
        "and the experiment's interval (sequential or fixed-horizon).",
    ),
    _m(
        "ab_srm_p_value",
        "A/B sample-ratio mismatch p-value",
        "A/B 样本比例失衡 p 值",
        "score",
        "Chi-square test of the assigned counts against the planned split (p < 0.001: verdict "
        "withheld).",
        digits=4,
    ),
    _m(
        "ab_days_needed",
        "A/B days needed for the planned effect",
        "A/B 达到目标效应所需天数",
        "days",
        "Days of the observed assignment traffic for every variant to reach the users needed "
        "to detect the planned relative effect (plan_mde) at 80 % power.",
    ),
    _m(
        "ab_ship_vetoed",
        "A/B variants vetoed by a guardrail",
        "因护栏指标被否决的 A/B 组",
        "count",
        "Treated variants whose unsubscribe or complaint rate rose clearly (interval above 0): "
        "not shipped whatever conversion says.",
        "down",
    ),
    _m(
        "findings",
        "Findings",
        "主要发现",
        "records",
        "The section's findings (growthlab.findings.Finding records), ranked by importance in the summary.",
    ),
    # --- summary (00) ---------------------------------------------------------------------
    _m(
        "alerts_total",
        "Alerts in this run",
        "本次运行的告警",
        "count",
        "All alert records of the run's sections.",
        "down",
    ),
]

#: id -> :class:`Metric`.
CATALOGUE: dict[str, Metric] = {m.id: m for m in _ENTRIES}
if len(CATALOGUE) != len(_ENTRIES):  # pragma: no cover - caught at import by every test
    raise RuntimeError("metric catalogue: duplicate id")


def define(
    metric_id: str,
    en: str,
    zh: str,
    unit: str,
    definition: str,
    better: str | None = None,
    digits: int = 2,
) -> Metric:
    """Add a metric of a notebook outside growthlab's own (a run's extra notebook) to the catalogue.

    Defining an id again with the same entry is a no-op; with a different entry it raises
    ValueError, so an id keeps one definition.
    """
    m = Metric(metric_id, en, zh, unit, definition, better, digits)
    known = CATALOGUE.get(metric_id)
    if known is not None and known != m:
        raise ValueError(f"metric {metric_id!r} is already defined differently: {known}")
    CATALOGUE[metric_id] = m
    return m


def get(metric_id: str) -> Metric:
    """The catalogued metric ``metric_id``; KeyError naming the id when it is not catalogued."""
    try:
        return CATALOGUE[metric_id]
    except KeyError:
        raise KeyError(
            f"metric {metric_id!r} is not in growthlab.metrics.CATALOGUE: add it there "
            "(one id, definition, English and Chinese label, unit, direction)"
        ) from None


def describe(lang: str = "en") -> list[Mapping[str, Any]]:
    """The catalogue as rows (id, label, unit, better, definition), e.g. for documentation."""
    return [
        {
            "id": m.id,
            "label": m.label(lang),
            "unit": m.unit,
            "better": m.better,
            "definition": m.definition,
        }
        for m in _ENTRIES
    ]
