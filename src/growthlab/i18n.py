"""Every English/Chinese word the report shows that is not a metric (see ``growthlab.metrics``).

One mechanism for all layers: a key -> ``(English, Chinese)`` table, looked up with :func:`t`.
Keys are dotted: ``column.<name>`` for table headers, ``step.<event>`` for funnel steps,
``group.<name>``, ``verdict.<name>``, ``chart.<topic>.<name>`` for chart titles and axes,
``ui.<name>`` for page furniture. Text may hold ``{fields}`` filled by :func:`t`.

Display names of category values (the one table per kind; :func:`name` looks them up and
leaves values the data supplies, such as campaign ids or unknown channel names, as they are):
``channel.<key>`` canonical channels, ``step.<event>`` event types and funnel steps,
``model.<key>`` attribution models, ``table.<name>`` and ``field.<column>`` the data contract's
tables and columns, ``rfm.``/``tier.``/``lifecycle.`` segments, ``kpi.<metric>`` monitored KPIs,
``verdict.*`` verdicts, ``group.*`` comparison groups.

This module imports nothing from growthlab, so any layer may use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from string import Formatter
from typing import Any

LANGUAGES = ("en", "zh")

TEXT: dict[str, tuple[str, str]] = {
    # --- shared --------------------------------------------------------------------------
    "group.referred": ("referred", "受邀用户"),
    "group.organic": ("organic", "自然用户"),
    "group.difference": ("difference", "差值"),
    "group.all": ("all", "全部"),
    "ui.suppressed": ("(suppressed)", "（已合并小组）"),
    "ui.no_data": ("no data", "无数据"),
    "verdict.above": ("above", "高于"),
    "verdict.below": ("below", "低于"),
    "verdict.includes": ("includes", "包含"),
    "column.users": ("Users", "用户数"),
    "column.rows": ("Rows", "行数"),
    "column.share": ("Share", "占比"),
    "column.table": ("Table", "数据表"),
    "column.column": ("Column", "列"),
    "column.channel": ("Channel", "渠道"),
    "column.campaign_id": ("Campaign", "活动"),
    "column.low": ("Lower 95 %", "95 % 下限"),
    "column.high": ("Upper 95 %", "95 % 上限"),
    "column.value": ("Value", "数值"),
    "column.metric": ("Metric", "指标"),
    "column.date": ("Date", "日期"),
    # Canonical channel keys (growthlab.data.channels.CANONICAL).
    "channel.wecom": ("WeCom 1:1", "企业微信"),
    "channel.wechat_group": ("WeChat groups", "微信社群"),
    "channel.mini_program": ("Mini program", "小程序"),
    "channel.official_account": ("Official account", "公众号"),
    "channel.channels_video": ("Channels (video)", "视频号"),
    "channel.live": ("Live room", "直播间"),
    "channel.moments": ("Moments", "朋友圈"),
    "channel.sms": ("SMS", "短信"),
    "channel.app_push": ("App push", "App 推送"),
    "channel.douyin": ("Douyin", "抖音"),
    "channel.xiaohongshu": ("Xiaohongshu", "小红书"),
    "channel.search": ("Search", "搜索"),
    "channel.paid_ads": ("Paid ads", "付费广告"),
    "channel.offline": ("Offline", "线下"),
    "channel.organic": ("Organic", "自然流量"),
    "channel.referral": ("Referral", "邀请裂变"),
    "channel.other": ("Other", "其他"),
    "channel.unknown": ("Unknown", "未知"),
    # --- 01 data quality -----------------------------------------------------------------
    "table.users": ("users", "用户"),
    "table.referrals": ("referrals", "邀请记录"),
    "table.events": ("events", "行为事件"),
    "table.orders": ("orders", "订单"),
    "table.identities": ("identities", "身份标识"),
    "table.costs": ("costs", "投放成本"),
    "table.assignments": ("assignments", "实验分组"),
    "table.paths": ("paths", "转化路径"),
    "rule.duplicate": ("duplicate row", "重复行"),
    "rule.non_finite": ("not a finite number", "数值无效（非有限数）"),
    "rule.before_min_date": ("date before the earliest allowed date", "早于最早允许日期"),
    "rule.future_timestamp": ("time after the analysis date", "时间晚于分析时点"),
    "rule.negative_amount": ("negative amount", "金额为负"),
    "rule.orphan": ("unknown user", "用户不存在"),
    "rule.self_referral": ("self-referral", "自己邀请自己"),
    "rule.inviter_conflict": ("second inviter of one invitee", "同一受邀人有多个邀请人"),
    "rule.cycle": ("invitation cycle", "邀请闭环"),
    "rule.unknown_channel": ("channel name not in channels.yaml", "渠道名称不在 channels.yaml 中"),
    "rule.order_before_signup": ("order before signup", "下单早于注册"),
    "rule.invited_after_invitee_signup": (
        "invited after the invitee signed up",
        "邀请时间晚于受邀人注册",
    ),
    "rule.freshness": ("no recent rows", "近期无数据"),
    "rule.empty_table": ("empty table, treated as absent", "空表，视为缺失"),
    "rule.unused_columns": ("columns not read", "未读取的列"),
    "rule.unused_files": ("files not read", "未读取的文件"),
    "table.source": ("source", "数据源"),
    "field.user_id": ("user_id", "用户 ID"),
    "field.signup_at": ("signup_at", "注册时间"),
    "field.channel": ("channel", "渠道"),
    "field.campaign_id": ("campaign_id", "活动"),
    "field.city": ("city", "城市"),
    "field.gender": ("gender", "性别"),
    "field.age_band": ("age_band", "年龄段"),
    "field.consent_marketing": ("consent_marketing", "营销授权"),
    "field.inviter_id": ("inviter_id", "邀请人 ID"),
    "field.invitee_id": ("invitee_id", "受邀人 ID"),
    "field.invited_at": ("invited_at", "邀请时间"),
    "field.share_channel": ("share_channel", "分享渠道"),
    "field.reward": ("reward", "奖励"),
    "field.ts": ("ts", "时间"),
    "field.event": ("event", "事件类型"),
    "field.cost": ("cost", "成本"),
    "field.order_id": ("order_id", "订单 ID"),
    "field.amount": ("amount", "金额"),
    "field.status": ("status", "订单状态"),
    "field.id_type": ("id_type", "标识类型"),
    "field.id_value": ("id_value", "标识值"),
    "field.date": ("date", "日期"),
    "field.spend": ("spend", "花费"),
    "field.experiment_id": ("experiment_id", "实验"),
    "field.variant": ("variant", "组别"),
    "field.assigned_at": ("assigned_at", "分组时间"),
    "field.path": ("path", "路径"),
    "field.conversions": ("conversions", "转化数"),
    "field.nulls": ("nulls", "未转化数"),
    "field.value": ("value", "金额"),
    "field.qualified": ("{table}.{column}", "{table}·{column}"),
    "field.join": (", ", "、"),
    "detail.unused_columns": (
        "{n} column(s) outside the data contract, not read: {names}",
        "{n} 列不在数据约定中，未读取：{names}",
    ),
    "detail.unused_files": (
        "{n} file(s) in the folder that no table reads: {names} (name them in growthlab.yaml "
        "to read them)",
        "文件夹中有 {n} 个文件未被任何表读取：{names}（在 growthlab.yaml 中指定即可读取）",
    ),
    "detail.empty_file": (
        "{name} is empty; treated as absent: sections that need it are skipped",
        "{name} 为空，视为缺失：需要它的分析会跳过",
    ),
    "detail.no_rows": (
        "{name}: no data rows; treated as absent: sections that need it are skipped",
        "{name} 没有数据行，视为缺失：需要它的分析会跳过",
    ),
    "detail.all_quarantined": (
        "all {n} row(s) were quarantined; treated as absent: sections that need it are skipped",
        "全部 {n} 行均被剔除，视为缺失：需要它的分析会跳过",
    ),
    "column.rows_source": ("Rows in source", "源数据行数"),
    "column.rows_quarantined": ("Rows excluded", "剔除行数"),
    "column.rows_kept": ("Rows kept", "保留行数"),
    "column.quarantine_share": ("Share of the table", "占该表比例"),
    "column.first_row": ("First row (local time)", "最早一行（当地时间）"),
    "column.last_row": ("Last row (local time)", "最新一行（当地时间）"),
    "column.days_covered": ("Days covered", "覆盖天数"),
    "column.days_since_last": ("Days from last row to analysis date", "最新一行距分析时点（天）"),
    "column.rule": ("Rule", "规则"),
    "column.detail": ("Detail", "说明"),
    "column.key_columns": ("Key", "键"),
    "column.distinct_keys": ("Distinct keys", "不同键值数"),
    "column.duplicate_keys": ("Duplicate keys", "重复键数"),
    "column.raw_channel": ("Raw channel name", "原始渠道名称"),
    "column.expected_rows": ("Expected rows", "预期行数"),
    "column.robust_z": ("Robust z", "稳健 z 值"),
    "column.person": ("Person (pseudonym)", "自然人（化名）"),
    "column.user_ids": ("User ids", "用户 ID 数"),
    "column.example_rows": ("Example rows (row numbers)", "示例行号"),
    "chart.quality.coverage": ("Date coverage per table ({zone})", "各表时间覆盖（{zone}）"),
    "chart.quality.nulls": ("Share of missing values", "缺失值比例"),
    "chart.quality.nulls_axis": ("missing values, % of the table's rows", "缺失值占该表行数（%）"),
    "chart.quality.date": ("local date", "当地日期"),
    "chart.quality.rows": ("rows per day", "每日行数"),
    "chart.quality.no_nulls": ("No missing values", "无缺失值"),
    "chart.quality.volume": ("Rows per day ({zone})", "每日行数（{zone}）"),
    "chart.quality.anomaly": ("unusual day", "异常日"),
    # --- 02 referral ---------------------------------------------------------------------
    "column.invitees": ("Invitees", "受邀用户数"),
    "column.k": ("K", "K"),
    "column.k_interval": ("K, 95 % interval", "K 的 95 % 区间"),
    "column.k_verdict": ("Verdict (95 % interval vs 1)", "判断（95 % 区间与 1 比较）"),
    "column.share_channel": ("Share channel", "分享渠道"),
    "column.generation": ("Generation", "代数"),
    "column.invites": ("Invitations sent", "发出邀请数"),
    "column.invites_per_user": ("Invitations per user (i)", "人均邀请数（i）"),
    "column.invites_per_user_interval": ("i, 95 % interval", "i 的 95 % 区间"),
    "column.invite_conversion": ("Accepted per invitation (c)", "单次邀请转化（c）"),
    "column.invite_conversion_interval": ("c, 95 % interval", "c 的 95 % 区间"),
    "column.seeds": ("Seed users", "种子用户数"),
    "column.amplification": ("Amplification", "放大倍数"),
    "column.cascade_measure": ("Cascade measure", "传播树指标"),
    "column.cascade_mean": ("Mean", "均值"),
    "column.cascade_median": ("Median", "中位数"),
    "column.cascade_p90": ("90th percentile", "90 分位"),
    "column.cascade_p99": ("99th percentile", "99 分位"),
    "column.cascade_max": ("Largest", "最大值"),
    "column.seed": ("Seed user", "种子用户"),
    "column.cascade_size": ("Users", "用户数"),
    "column.cascade_depth": ("Depth (generations)", "深度（代）"),
    "column.max_breadth": ("Largest generation (users)", "最大单代人数"),
    "column.structural_virality": ("Structural virality", "结构传播度"),
    "column.duration_days": ("Days from first to last invitation", "首末次邀请间隔天数"),
    "column.spreader": ("User", "用户"),
    "column.direct_invitees": ("Invited directly", "直接邀请人数"),
    "column.descendants": ("Whole downstream tree", "下游总人数"),
    "column.fraud_flag": ("Abuse check", "作弊检查"),
    "column.invite_step": ("Step", "环节"),
    "column.invite_unit": ("Counted in", "计数单位"),
    "column.invite_count": ("Count", "数量"),
    "column.invite_step_rate": ("Of the previous step", "占上一步"),
    "column.invite_step_interval": ("95 % interval", "95 % 区间"),
    "column.invite_overall_rate": ("Of invitations sent", "占发出邀请"),
    "column.inviter": ("Inviter", "邀请人"),
    "column.max_burst": ("Most invitees within the burst window", "爆发窗口内最多受邀人数"),
    "column.shared_identity": ("Invitees sharing an identity", "身份重合的受邀人"),
    "column.inactive_invitees": ("Invitees never active", "从未活跃的受邀人"),
    "column.reasons": ("Reasons", "原因"),
    "column.outcome": ("Outcome", "指标"),
    "column.referred_value": ("Referred users (accepted invitation)", "受邀用户（接受邀请注册）"),
    "column.not_referred_value": ("Users not referred (all others)", "非受邀用户（其余所有用户）"),
    "column.referred_minus_not": ("Difference (95 % interval)", "差值（95 % 区间）"),
    "column.difference_p_value": ("p-value", "p 值"),
    "column.referred_n": ("Referred users counted", "计入的受邀用户"),
    "column.not_referred_n": ("Users not referred counted", "计入的非受邀用户"),
    "verdict.k.above": ("self-sustaining: K above 1", "可自我裂变：K 高于 1"),
    "verdict.k.below": ("shrinks each generation: K below 1", "逐代衰减：K 低于 1"),
    "verdict.k.includes": ("not clearly different from 1", "与 1 无明显差异"),
    "step.invite.invite_sent": ("invitations sent", "发出邀请"),
    "step.invite.invite_click": ("invitations clicked", "点击邀请"),
    "step.invite.signup": ("invitations accepted (invitee signed up)", "接受邀请（受邀人注册）"),
    "step.invite.first_paid_order": ("accepted invitations whose invitee paid", "受邀人已付费"),
    "unit.invitations": ("invitations", "邀请"),
    "note.invite.clicks_of_signups_only": (
        "not measurable: clicks are recorded only for people who signed up",
        "无法衡量：只记录了已注册者的点击",
    ),
    "note.invite.more_than_previous": (
        "not measurable: more than at the previous step",
        "无法衡量：多于上一步",
    ),
    "outcome.conversion": ("Paid at least once (to date)", "至今至少付费一次"),
    "outcome.retention_30d": ("Active on or after day 30 after signup", "注册 30 天后仍有活跃"),
    "outcome.retention_60d": ("Active on or after day 60 after signup", "注册 60 天后仍有活跃"),
    "outcome.retention_90d": ("Active on or after day 90 after signup", "注册 90 天后仍有活跃"),
    "outcome.value_per_user": ("Paid revenue per user ({currency})", "人均付费金额（{currency}）"),
    "flag.fraud_like": ("fraud-like", "疑似作弊"),
    "flag.none": ("—", "—"),
    "cascade.size": ("Users per cascade", "每棵传播树的用户数"),
    "cascade.depth": ("Depth (generations)", "深度（代）"),
    "cascade.max_breadth": ("Largest generation (users)", "最大单代人数"),
    "cascade.structural_virality": ("Structural virality", "结构传播度"),
    "abuse.burst": ("burst ({n} within {minutes} min)", "短时集中邀请（{minutes} 分钟内 {n} 人）"),
    "abuse.shared_identity": ("shared identity ({n} invitees)", "身份重合（{n} 名受邀人）"),
    "abuse.inactive": ("inactive invitees ({n})", "受邀人无活跃（{n} 名）"),
    "abuse.self_referral": ("self-referral ({n})", "自己邀请自己（{n} 条）"),
    "abuse.cycle": ("referral cycle ({n})", "循环邀请（{n} 条）"),
    "abuse.separator": ("; ", "；"),
    "chart.referral.k": (
        "K-factor (invitees per user in the window)",
        "K 因子（窗口内人均成功邀请数）",
    ),
    "chart.referral.viral": ("K = 1 (self-sustaining)", "K = 1（可自我裂变）"),
    "chart.referral.k_by_campaign_id": (
        "K-factor by campaign, 95 % intervals",
        "各活动 K 因子（95 % 区间）",
    ),
    "chart.referral.k_by_signup_week": (
        "K-factor by signup week, 95 % intervals",
        "按注册周的 K 因子（95 % 区间）",
    ),
    "chart.referral.generations": (
        "Users per generation and how each reproduces",
        "各代用户数与逐代裂变倍数",
    ),
    "chart.referral.generation": (
        "generation (0 = joined without an invitation)",
        "代数（0 = 自然加入）",
    ),
    "chart.referral.users": ("users (log scale)", "用户数（对数坐标）"),
    "chart.referral.users_title": ("Users per generation", "各代用户数"),
    "chart.referral.r": ("R_g = users in g+1 / users in g", "R_g = 第 g+1 代人数 / 第 g 代人数"),
    "chart.referral.r_title": (
        "How each generation reproduces, 95 % intervals",
        "逐代裂变倍数（95 % 区间）",
    ),
    "chart.referral.signup_week": ("signup week (starting Monday)", "注册周（周一起）"),
    "chart.referral.median": ("median: {days} days", "中位数：{days} 天"),
    "chart.referral.ccdf_title": (
        "Cascade shapes: share of cascades at least x",
        "传播树形态：不小于 x 的传播树占比",
    ),
    "chart.referral.ccdf": ("share of cascades ≥ x (log scale)", "≥ x 的传播树占比（对数坐标）"),
    "chart.referral.size": ("cascade size (users)", "传播树规模（人）"),
    "chart.referral.depth": ("depth (generations)", "深度（代）"),
    "chart.referral.max_breadth": ("largest generation (users)", "最大单代人数（人）"),
    "chart.referral.structural_virality": ("structural virality", "结构传播度"),
    "chart.referral.concentration": ("How concentrated invitations are", "邀请的集中程度"),
    "chart.referral.share_units": ("share of spreaders (largest first)", "传播者占比（从多到少）"),
    "chart.referral.share_total": ("share of invitees", "受邀用户占比"),
    "chart.referral.equal": ("equal spread", "均匀分布"),
    "chart.referral.cycle_time": (
        "How soon inviters bring their first user",
        "邀请人多快带来第一位用户",
    ),
    "chart.referral.days": (
        "days from signup to first successful invite",
        "注册到首次成功邀请的天数",
    ),
    "chart.referral.count": ("inviters", "邀请人数"),
    "chart.referral.share": ("share of users", "用户占比"),
    "chart.referral.per_user": ("paid revenue per user ({currency})", "人均付费金额（{currency}）"),
    "chart.referral.funnel": ("Invite funnel (counted in invitations)", "邀请漏斗（按邀请计数）"),
    "chart.referral.invitations": ("invitations", "邀请数"),
    "chart.referral.outcomes": (
        "Referred users vs users not referred, 95 % intervals",
        "受邀用户与非受邀用户对比（95 % 区间）",
    ),
    "chart.referral.referred": ("referred", "受邀用户"),
    "chart.referral.not_referred": ("not referred", "非受邀用户"),
    "chart.referral.trees": ("The largest cascades", "最大的几棵传播树"),
    "chart.referral.tree": ("seed {root}: {n} users, depth {d}", "种子 {root}：{n} 人，深度 {d}"),
    "chart.referral.truncated": (" (first {m} shown)", "（显示前 {m} 人）"),
    "chart.referral.nodata": ("no data", "无数据"),
    # --- campaign economics ---
    "campaign._none": ("(no campaign)", "（无活动）"),
    "column.campaign_invitations": ("Invitations", "邀请数"),
    "column.credible_invitees": ("Credible invitees", "可信受邀人"),
    "column.referred_buyers": ("Referred buyers", "受邀购买用户"),
    "column.campaign_cost": ("Cost", "成本"),
    "column.abuse_cost": ("Of which to fraud-like inviters", "其中发给疑似作弊邀请人"),
    "column.cost_per_invitee": ("Cost per invitee [95 %]", "每名受邀人成本 [95 %]"),
    "column.cost_per_buyer": (
        "Cost per referred buyer [95 %]",
        "每名受邀购买用户成本 [95 %]",
    ),
    "column.revenue_to_date": ("Revenue to date", "至今收入"),
    "column.roi_to_date": ("ROI to date [95 %]", "至今投资回报率 [95 %]"),
    "column.ltv_cac": ("LTV/CAC [95 %]", "生命周期价值/获客成本 [95 %]"),
    "column.payback_days": ("Payback (days)", "回本天数"),
    "column.next_yuan_rank": ("Rank", "排名"),
    "column.cohort": ("Latest cohort", "最近一批邀请"),
    "column.cohort_invitations": ("Cohort invitations", "该批邀请数"),
    "column.marginal_roi": (
        "Marginal ROI (predicted) [95 %]",
        "边际投资回报率（预测）[95 %]",
    ),
    "column.campaign_verdict": ("Next yuan", "下一笔预算"),
    "verdict.campaign.scale": ("scale", "加大投入"),
    "verdict.campaign.hold": ("hold", "维持"),
    "verdict.campaign.stop": ("stop", "停止"),
    "verdict.campaign.not_enough_data": ("not enough data", "数据不足"),
    "chart.campaigns.title": ("Return per yuan of campaign cost", "每 1 元活动成本的回报"),
    "chart.campaigns.x": (
        "Return per yuan (value ÷ cost), 95 % interval",
        "每 1 元回报（价值 ÷ 成本），95 % 区间",
    ),
    "chart.campaigns.to_date": ("revenue to date", "至今收入"),
    "chart.campaigns.predicted": (
        "predicted value, {horizon_days} days (LTV/CAC)",
        "预测价值，{horizon_days} 天（生命周期价值/获客成本）",
    ),
    "chart.campaigns.break_even": (
        "break-even (1 yuan back per yuan)",
        "回本线（每 1 元收回 1 元）",
    ),
    # --- 03 segments and value -----------------------------------------------------------
    "rfm.champions": ("Champions", "核心客户"),
    "rfm.loyal": ("Loyal", "忠诚客户"),
    "rfm.potential_loyalist": ("Potential loyalists", "潜力客户"),
    "rfm.new_customers": ("New customers", "新客户"),
    "rfm.promising": ("Promising", "待培育客户"),
    "rfm.need_attention": ("Need attention", "需要关注"),
    "rfm.about_to_sleep": ("About to sleep", "即将沉睡"),
    "rfm.at_risk": ("At risk", "流失风险客户"),
    "rfm.cant_lose": ("Can't lose them", "重要挽留客户"),
    "rfm.hibernating": ("Hibernating", "休眠客户"),
    "tier.high": ("High value", "高价值"),
    "tier.medium": ("Medium value", "中价值"),
    "tier.potential": ("Potential", "潜力"),
    "tier.low": ("Low value", "低价值"),
    "lifecycle.new": ("New", "新用户"),
    "lifecycle.returned": ("Returned", "回流"),
    "lifecycle.active": ("Active", "活跃"),
    "lifecycle.silent": ("Silent", "沉默"),
    "lifecycle.at_risk": ("At risk", "流失预警"),
    "lifecycle.churned": ("Churned", "已流失"),
    "feature.events": ("events", "事件数"),
    "feature.active_days": ("active days", "活跃天数"),
    "feature.channels_used": ("channels used", "触达渠道数"),
    "feature.orders": ("orders", "订单数"),
    "feature.revenue": ("revenue", "消费金额"),
    "feature.invitees": ("invitees", "邀请人数"),
    "feature.share_rate": ("share rate", "分享率"),
    "feature.recency_days": ("days since last order", "最近购买间隔（天）"),
    "feature.frequency": ("purchase days", "购买天数"),
    "feature.monetary": ("spend", "消费金额"),
    "feature.event_count": ("{name} events", "{name}事件数"),
    "feature.channel_share": ("{name} share of events", "{name}渠道占比"),
    "persona.high": ("high {feature} ({z} sd)", "{feature}偏高（{z} 个标准差）"),
    "persona.low": ("low {feature} ({z} sd)", "{feature}偏低（{z} 个标准差）"),
    "persona.join": (", ", "、"),
    "persona.sep": ("; ", "；"),
    "persona.average": ("Close to average on every feature", "各项接近平均"),
    "param.bgnbd.r": ("r (rate shape)", "r（购买率形状）"),
    "param.bgnbd.rate_scale": ("α (rate scale)", "α（购买率尺度）"),
    "param.bgnbd.a": ("a (dropout)", "a（流失）"),
    "param.bgnbd.b": ("b (dropout)", "b（流失）"),
    "param.gamma_gamma.p": ("p (spend shape)", "p（客单价形状）"),
    "param.gamma_gamma.q": ("q (spend heterogeneity)", "q（客单价异质性）"),
    "param.gamma_gamma.v": ("γ (spend scale)", "γ（客单价尺度）"),
    "column.rfm_segment": ("RFM segment", "RFM 分群"),
    "column.buyers": ("Buyers", "购买用户数"),
    "column.buyer_share": ("Share of buyers", "占购买用户"),
    "column.mean_revenue": ("Revenue per buyer", "人均消费"),
    "column.revenue_share": ("Share of revenue", "收入占比"),
    "column.cluster": ("Cluster", "分群"),
    "column.persona": ("Persona", "画像"),
    "column.ltv_model": ("Model", "模型"),
    "column.ltv_parameter": ("Parameter", "参数"),
    "column.ltv_estimate": ("Estimate", "估计值"),
    "column.ltv_se": ("Standard error", "标准误"),
    "column.tier": ("Value tier", "价值分层"),
    "column.acquisition_channel": ("Acquisition channel", "获客渠道"),
    "column.referral_status": ("Referred or organic", "是否受邀"),
    "column.mean_clv": ("Predicted value per buyer", "人均预测价值"),
    "column.total_clv": ("Predicted value", "预测价值合计"),
    "column.clv_share": ("Share of predicted value", "预测价值占比"),
    "chart.segments.r": ("recency score (5 = most recent)", "最近购买得分（5 = 最近）"),
    "chart.segments.f": ("frequency score (5 = most frequent)", "购买频次得分（5 = 最高）"),
    "chart.segments.m": ("mean spend", "平均消费"),
    "chart.segments.m_currency": ("mean spend ({currency})", "平均消费（{currency}）"),
    "chart.segments.z": ("standard deviations from the mean", "偏离均值的标准差"),
    "chart.segments.rfm_title": (
        "RFM grid: cell colour = mean spend, number = users",
        "RFM 网格：颜色 = 平均消费，数字 = 用户数",
    ),
    "chart.segments.user_share": ("share of users", "用户占比"),
    "chart.segments.value_share": ("share of value", "价值占比"),
    "chart.segments.tier_title": ("Value tiers: users and value", "价值分层：用户与价值"),
    "chart.segments.stage_title": ("Lifecycle stages", "生命周期阶段"),
    "chart.segments.users": ("users", "用户数"),
    "chart.segments.cluster": ("cluster", "分群"),
    "chart.segments.profile_title": (
        "Cluster profiles (mean standardised feature)",
        "分群画像（标准化特征均值）",
    ),
    "chart.segments.k": ("number of clusters k", "分群数 k"),
    "chart.segments.silhouette": ("silhouette (sampled)", "轮廓系数（抽样）"),
    "chart.segments.k_title": ("Choosing k", "选择 k"),
    "chart.segments.pca_title": (
        "Clusters on the first two principal components",
        "主成分平面上的分群",
    ),
    "chart.segments.pc": ("PC{i} ({v} of variance)", "主成分{i}（解释 {v} 方差）"),
    "chart.value.clv": (
        "predicted value per customer ({currency}, log scale)",
        "每位客户的预测价值（{currency}，对数坐标）",
    ),
    "chart.value.customers": ("customers", "客户数"),
    "chart.value.dist_title": ("Distribution of predicted customer value", "客户预测价值分布"),
    "chart.value.freq": ("repeat purchases in calibration period", "校准期复购次数"),
    "chart.value.mean_hold": ("mean repeat purchases in holdout", "验证期平均复购次数"),
    "chart.value.actual": ("actual", "实际"),
    "chart.value.predicted": ("BG/NBD prediction", "BG/NBD 预测"),
    "chart.value.hold_title": (
        "Holdout check: predicted vs actual by calibration frequency",
        "验证期检验：按校准期复购次数的预测与实际",
    ),
    "chart.value.mean_clv": (
        "predicted value per buyer ({currency}, 95 % CI)",
        "人均预测价值（{currency}，95% 置信区间）",
    ),
    "chart.value.median": ("median", "中位数"),
    "chart.value.mean": ("mean", "均值"),
    "chart.value.by_tier": ("Predicted value per buyer by value tier", "各价值分层的人均预测价值"),
    "chart.value.by_channel": (
        "Predicted value per buyer by acquisition channel",
        "各获客渠道的人均预测价值",
    ),
    "chart.value.by_referral": (
        "Predicted value per buyer: referred vs organic",
        "受邀用户与自然用户的人均预测价值",
    ),
    # --- 04 attribution and funnel -------------------------------------------------------
    "model.first": ("first touch", "首次触点"),
    "model.last": ("last touch", "末次触点"),
    "model.linear": ("linear", "线性"),
    "model.position": ("position-based", "位置归因"),
    "model.time_decay": ("time decay", "时间衰减"),
    "model.markov_1": ("Markov (order 1)", "1 阶马尔可夫"),
    "model.markov_2": ("Markov (order 2)", "2 阶马尔可夫"),
    "model.markov_3": ("Markov (order 3)", "3 阶马尔可夫"),
    "model.shapley": ("Shapley", "Shapley 值"),
    "step.signup": ("signup", "注册"),
    "step.visit": ("visit", "访问"),
    "step.add_to_cart": ("add to cart", "加购"),
    "step.purchase": ("purchase", "购买"),
    "step.reach": ("reach", "触达"),
    "step.click": ("click", "点击"),
    "step.engage": ("engage", "互动"),
    "step.share": ("share", "分享"),
    "step.invite_sent": ("invitation sent", "发出邀请"),
    "step.invite_click": ("invitation clicked", "点击邀请"),
    "step.unsubscribe": ("unsubscribe", "退订"),
    "step.complaint": ("complaint", "投诉"),
    "group.referral_channel": ("referral channel", "邀请渠道"),
    "group.other_channels": ("other channels", "其他渠道"),
    "period.W": ("week {n}", "第 {n} 周"),
    "period.M": ("month {n}", "第 {n} 个月"),
    "weekday.0": ("Monday", "周一"),
    "weekday.1": ("Tuesday", "周二"),
    "weekday.2": ("Wednesday", "周三"),
    "weekday.3": ("Thursday", "周四"),
    "weekday.4": ("Friday", "周五"),
    "weekday.5": ("Saturday", "周六"),
    "weekday.6": ("Sunday", "周日"),
    "weekday_short.0": ("Mon", "周一"),
    "weekday_short.1": ("Tue", "周二"),
    "weekday_short.2": ("Wed", "周三"),
    "weekday_short.3": ("Thu", "周四"),
    "weekday_short.4": ("Fri", "周五"),
    "weekday_short.5": ("Sat", "周六"),
    "weekday_short.6": ("Sun", "周日"),
    "column.path": ("Journey (channels in order)", "旅程（按顺序的渠道）"),
    "column.journey_conversions": ("Conversions", "转化数"),
    "column.journey_nulls": ("Journeys without conversion", "未转化旅程数"),
    "column.journey_value": ("Order value", "订单金额"),
    "column.journey_conversion_rate": ("Conversion rate", "转化率"),
    "column.attribution_model": ("Model", "归因模型"),
    "column.spend": ("Spend", "花费"),
    "column.cpa_model": ("CPA, {model}", "单次转化成本（{model}）"),
    "column.roas_model": ("ROAS, {model}", "ROAS（{model}）"),
    "column.funnel_step": ("Step", "步骤"),
    "column.step_users": ("Users", "用户数"),
    "column.step_conversion": ("From previous step", "较上一步"),
    "column.step_interval": ("95 % interval", "95% 区间"),
    "column.overall_conversion": ("From first step", "较第一步"),
    "column.median_hours_from_previous": ("Median hours from previous step", "距上一步中位小时数"),
    "column.started": ("Reached first step", "进入漏斗"),
    "column.completed": ("Reached last step", "完成漏斗"),
    "column.completion": ("Completion", "完成率"),
    "column.completion_interval": ("95 % interval", "95% 区间"),
    "column.weakest_step": ("Largest drop-off", "流失最大的一步"),
    "column.weakest_step_value": ("{a} → {b} ({d})", "{a} → {b}（{d}）"),
    "chart.attribution.share": ("share of attributed conversions", "归因转化占比"),
    "chart.attribution.channel": ("channel", "渠道"),
    "chart.attribution.model": ("model", "模型"),
    "chart.attribution.models": ("Attribution by model", "各归因模型对比"),
    "chart.attribution.removal": ("Markov removal effect ({model})", "马尔可夫移除效应（{model}）"),
    "chart.attribution.removal_x": (
        "drop in conversion probability when the channel is removed",
        "移除该渠道后转化概率的下降",
    ),
    "chart.attribution.cpa": (
        "cost per attributed conversion ({currency})",
        "单次归因转化成本（{currency}）",
    ),
    "chart.attribution.roas": (
        "return on ad spend (value / spend)",
        "广告支出回报率（价值 / 花费）",
    ),
    "chart.attribution.cpa_title": ("CPA and ROAS by channel", "各渠道 CPA 与 ROAS"),
    "chart.funnel.funnel": (
        "Funnel: share of first-step users reaching each step",
        "漏斗：到达各步骤的用户占第一步的比例",
    ),
    "chart.funnel.overall": ("share of first-step users", "占第一步用户的比例"),
    "chart.funnel.retention": ("Cohort retention", "同期群留存"),
    "chart.funnel.cohort": ("signup cohort", "注册同期群"),
    "chart.funnel.period_W": ("weeks since signup", "注册后周数"),
    "chart.funnel.period_M": ("months since signup", "注册后月数"),
    "chart.funnel.curves": ("Retention by acquisition channel", "按获客渠道的留存曲线"),
    "chart.funnel.acquisition": ("acquired through", "获客渠道"),
    "chart.funnel.retained": ("active users (share of cohort)", "活跃用户（占同期群比例）"),
    "chart.funnel.weekday_hour": (
        "Engagement by weekday and hour ({zone})",
        "按星期与小时的互动（{zone}）",
    ),
    "chart.funnel.hour": ("hour of day", "小时"),
    "chart.funnel.weekday": ("weekday", "星期"),
    "chart.funnel.events": ("events", "事件数"),
    "chart.funnel.fatigue": (
        "Responses per contact vs contacts per week",
        "触达频次与每次触达的响应",
    ),
    "chart.funnel.contacts": ("contacts per user and week", "每用户每周触达次数"),
    "chart.funnel.response": ("share of user-weeks with a response", "有响应的用户周占比"),
    "chart.funnel.per_contact": ("responses per contact", "每次触达的响应数"),
    "chart.funnel.channel": ("channel", "渠道"),
    # --- 05 monitoring and experiments ---------------------------------------------------
    # KPI names (metric column of growthlab.data.daily.kpi_series)
    "kpi.new_users": ("New users", "新增用户"),
    "kpi.invitees": ("Invitees", "受邀用户"),
    "kpi.k_factor": ("Rolling K-factor", "滚动 K 因子"),
    "kpi.conversions": ("Conversions (paid orders)", "转化（支付订单）"),
    "kpi.revenue": ("Revenue", "收入"),
    "kpi.unsubscribes": ("Unsubscribes", "退订"),
    "kpi.complaints": ("Complaints", "投诉"),
    "direction.up": ("above", "偏高"),
    "direction.down": ("below", "偏低"),
    "verdict.move.above": ("clear rise", "明显上升"),
    "verdict.move.below": ("clear fall", "明显下降"),
    "verdict.move.includes": ("no clear change", "无明显变化"),
    "verdict.ab.control": ("control", "对照组"),
    "verdict.ab.win": ("win", "胜出"),
    "verdict.ab.loss": ("worse than control", "差于对照组"),
    "verdict.ab.underpowered": ("significant, below the detectable effect", "显著但低于可检测效应"),
    "verdict.ab.no_effect": ("no meaningful effect", "无实质效应"),
    "verdict.ab.inconclusive": ("inconclusive", "无定论"),
    "verdict.ab.srm": ("split broken (SRM)", "分流失衡（SRM）"),
    "action.ab.ship": ("ship", "全量上线"),
    "action.ab.stop": ("stop", "停止"),
    "action.ab.keep_running": ("keep running", "继续实验"),
    "action.ab.fix_split": ("fix the split, then rerun", "修复分流后重做"),
    "action.ab.do_not_ship": ("do not ship (guardrail)", "不上线（护栏指标）"),
    "verdict.ab.guardrail": ("guardrail harmed: ship vetoed", "护栏指标受损：禁止上线"),
    # experiments page (06_experiments): metrics, cards, tables, charts
    "ab_metric.conversion": ("conversion", "转化率"),
    "ab_metric.revenue_per_user": ("revenue per user", "人均收入"),
    "ab_metric.revenue_per_order": ("revenue per order", "客单价"),
    "ab_metric.unsubscribe_rate": ("unsubscribe rate", "退订率"),
    "ab_metric.complaint_rate": ("complaint rate", "投诉率"),
    "ui.ab.interval": ("{low} to {high}", "{low} 至 {high}"),
    "ui.ab.method.sequential": ("sequential (always valid)", "序贯（随时有效）"),
    "ui.ab.method.fixed": ("fixed-horizon", "固定样本"),
    "ui.ab.correction.holm": (
        "Holm correction across metrics and variants",
        "跨指标与组别的 Holm 校正",
    ),
    "ui.ab.correction.bh": (
        "Benjamini–Hochberg correction across metrics and variants",
        "跨指标与组别的 Benjamini–Hochberg 校正",
    ),
    "ui.ab.correction.none": ("no multiple-testing correction", "未做多重检验校正"),
    "ui.ab.running": ("running", "进行中"),
    "ui.ab.finished": ("finished", "已结束"),
    "ui.ab.guardrails_none": ("none measured", "未测量"),
    "ui.ab.guardrails_ok": ("{names} not harmed", "{names}均未受损"),
    "ui.ab.guardrail_harmed": ("{metric} {v1} against {v0}", "{metric} {v1}（对照组 {v0}）"),
    "ui.ab.card_srm": (
        "⚠ **Sample-ratio mismatch (p {srm_p}): the split between variants is off, so no verdict "
        "is drawn.** Fix the assignment (randomisation, logging, filters) before reading any "
        "number below.",
        "⚠ **样本比例失衡（SRM，p {srm_p}）：各组分流比例异常，不下结论。** 请先修复分流（随机化、"
        "日志、过滤条件），再解读下面的数字。",
    ),
    "ui.ab.card_head": (
        "{state} · {users} users · {days} days of assignment · {method} interval · {correction}",
        "{state} · {users} 位用户 · 分组 {days} 天 · {method}区间 · {correction}",
    ),
    "ui.ab.card_variant": (
        "**{variant}: {verdict}** → {action}. **{metric}** {v1} against {v0}: {diff} ({interval}, "
        "adjusted p {p}); chance to beat control {ctw}, expected loss {loss}. Guardrails: "
        "{guardrails}.",
        "**{variant}：{verdict}** → {action}。**{metric}** {v1} 对 {v0}：{diff}（{interval}，校正后 p "
        "{p}）；胜过对照组的概率 {ctw}，预期损失 {loss}。护栏指标：{guardrails}。",
    ),
    "ui.ab.card_cuped": (" CUPED cut the variance by {vr}.", "CUPED 将方差降低了 {vr}。"),
    "ui.ab.card_suppressed": (
        "**{variant}**: a group below the minimum group size; not shown.",
        "**{variant}**：组内用户少于最小分组人数，不予展示。",
    ),
    "column.ab_metric": ("Metric", "指标"),
    "column.users_control": ("Control users", "对照组用户数"),
    "column.ab_value_control": ("Control value", "对照组数值"),
    "column.ab_value": ("Variant value", "实验组数值"),
    "column.ab_p_adj": ("Adjusted p (* guardrail, unadjusted)", "校正后 p（* 为护栏指标，未校正）"),
    "column.ab_chance_to_win": ("Chance to beat control", "胜过对照组的概率"),
    "column.ab_variance_reduction": ("CUPED variance reduction", "CUPED 方差降低"),
    "column.ab_method": ("Interval", "区间类型"),
    "column.plan_baseline": ("Control baseline", "对照组基线"),
    "column.plan_mde": ("Effect to detect (relative, absolute)", "目标效应（相对、绝对）"),
    "column.plan_users_per_variant": ("Users needed per variant", "每组所需用户数"),
    "column.plan_daily_users": ("Users a day (observed)", "日均分组用户（实测）"),
    "column.plan_days_needed": ("Days needed", "所需天数"),
    "column.plan_days_run": ("Days run", "已运行天数"),
    "column.plan_days_more": ("Days more", "还需天数"),
    "chart.experiments.effects": (
        "Relative change vs control, decision interval",
        "相对对照组的变化（决策区间）",
    ),
    "chart.experiments.rel_axis": ("change vs control (%)", "相对对照组的变化（%）"),
    "chart.experiments.path": (
        "{experiment} · {variant}: conversion difference at each daily look",
        "{experiment} · {variant}：每日查看时的转化率差",
    ),
    "chart.experiments.path_axis": ("difference vs control (pp)", "与对照组之差（百分点）"),
    "chart.experiments.day": ("day", "日期"),
    "chart.experiments.fixed": ("fixed-horizon 95 % interval", "固定样本 95 % 区间"),
    "chart.experiments.sequential": ("sequential 95 % interval", "序贯 95 % 区间"),
    "chart.experiments.estimate": ("difference", "差值"),
    "variant.control": ("control", "对照组"),
    "variant.treatment": ("treatment", "实验组"),
    "column.kpi_recent": ("Recent period", "最近一期"),
    "column.kpi_previous": ("Previous period", "上一期"),
    "column.kpi_change": ("Change", "变化"),
    "column.kpi_change_interval": ("Change, 95 % interval", "变化的 95 % 区间"),
    "column.kpi_move": ("Verdict", "结论"),
    "column.alert_observed": ("Observed", "观测值"),
    "column.alert_expected": ("Expected", "期望值"),
    "column.alert_band": ("Expected band", "期望区间"),
    "column.alert_score": ("Score", "得分"),
    "column.alert_direction": ("Direction", "方向"),
    "column.experiment_id": ("Experiment", "实验"),
    "column.ab_variant": ("Variant", "组别"),
    "column.ab_conversion": ("Conversion", "转化率"),
    "column.ab_diff": ("Difference vs control", "与对照组之差"),
    "column.ab_diff_interval": ("Difference, decision interval", "差值的决策区间"),
    "column.ab_p_value": ("p-value", "p 值"),
    "column.ab_rel_lift": ("Relative lift", "相对提升"),
    "column.ab_revenue_per_user": ("Revenue per user", "人均收入"),
    "column.ab_rpu_diff": ("Revenue per user vs control", "人均收入之差"),
    "column.ab_mde": ("Minimum detectable effect", "最小可检测效应"),
    "column.ab_srm_p_value": ("Split check (SRM) p-value", "分流检验（SRM）p 值"),
    "column.ab_verdict": ("Verdict", "结论"),
    "column.ab_action": ("Action", "建议"),
    "chart.monitor.observed": ("observed", "观测值"),
    "chart.monitor.expected": ("expected", "期望值"),
    "chart.monitor.band": ("expected band", "期望区间"),
    "chart.monitor.alert": ("alert", "告警"),
    "chart.monitor.alert_up": ("alert: above the band", "告警：高于区间"),
    "chart.monitor.grid_title": ("Daily values against their expected band", "每日数值与期望区间"),
    "chart.monitor.alert_down": ("alert: below the band", "告警：低于区间"),
    "chart.monitor.date": ("local date", "当地日期"),
    "chart.monitor.unit.new_users": ("users per day", "每日人数"),
    "chart.monitor.unit.invitees": ("users per day", "每日人数"),
    "chart.monitor.unit.k_factor": ("invitees per new user", "每位新增用户对应的受邀用户"),
    "chart.monitor.unit.conversions": ("paid orders per day", "每日支付订单数"),
    "chart.monitor.unit.revenue": ("revenue per day ({currency})", "每日收入（{currency}）"),
    "chart.monitor.unit.unsubscribes": ("unsubscribes per day", "每日退订数"),
    "chart.monitor.unit.complaints": ("complaints per day", "每日投诉数"),
    "chart.monitor.rolling_k_axis": ("invitees per new user", "受邀用户 / 新增用户"),
    "chart.monitor.conversion": ("conversion rate (%)", "转化率（%）"),
    "chart.monitor.diff": ("difference vs control (pp)", "与对照组之差（百分点）"),
    "chart.monitor.rolling_k": (
        "Rolling K-factor: invitees / new users, last {window_days} days",
        "滚动 K 因子：近 {window_days} 天受邀用户 / 新增用户",
    ),
    "chart.monitor.series_title": ("{metric} · {segment}", "{metric} · {segment}"),
    # findings (growthlab.findings.monitoring / .experiments): statement, then action
    "finding.kpi_move": (
        "{metric} {moved} by {change} in the last {days} days: {last} against {previous} in the "
        "{days} days before (95 % interval of the change {low} to {high}) — {news}.",
        "最近 {days} 天{metric}{moved} {change}：{last}，此前 {days} 天为 {previous}（变化的 95 % "
        "区间 {low} 至 {high}），{news}。",
    ),
    "word.rose": ("rose", "上升"),
    "word.fell": ("fell", "下降"),
    "word.good_news": ("good news", "是好消息"),
    "word.bad_news": ("bad news", "需要警惕"),
    "action.kpi_move.good": (
        "Find what drove it (channels, campaigns of these days) and do more of it.",
        "找出原因（这几天的渠道、活动），加大投入。",
    ),
    "action.kpi_move.bad": (
        "Find the cause: compare channels and campaigns of the last {days} days with the "
        "{days} before.",
        "查明原因：对比最近 {days} 天与此前 {days} 天各渠道、各活动的表现。",
    ),
    "action.kpi_move.fatigue": (
        "Check how often and what users were sent on the channels where it rose.",
        "检查上升渠道的触达频次和推送内容。",
    ),
    "finding.kpi_alert": (
        "{metric} ({segment}) on {date}: {observed} against an expected {expected} (band {low} "
        "to {high}), {direction} its usual range (score {score}).",
        "{metric}（{segment}）在 {date} 为 {observed}，期望值 {expected}（区间 {low} 至 {high}），"
        "{direction}常规范围（得分 {score}）。",
    ),
    "action.kpi_alert.good": (
        "Find what caused it that day; repeat it if it was a campaign.",
        "查明当天的原因；若是活动带来的，可以复制。",
    ),
    "action.kpi_alert.bad": (
        "Find the cause that day on that channel (campaign, outage, data feed) and fix it.",
        "查明当天该渠道的原因（活动、故障、数据接入）并处理。",
    ),
    "finding.contact_fatigue": (
        "{metric} rose on {channels} in the last {days} days: {details} — a sign of contact "
        "fatigue.",
        "最近 {days} 天{channels}的{metric}上升：{details}，可能是触达疲劳。",
    ),
    "finding.contact_fatigue.detail": (
        "{channel} {last} vs {previous}",
        "{channel} {last}（此前 {previous}）",
    ),
    "action.contact_fatigue": (
        "Send fewer messages on {channels} and review what was sent there recently.",
        "降低{channels}的触达频次，并复查近期推送的内容。",
    ),
    "finding.ab_win": (
        "{experiment}: {variant} beats {control} on {metric}: {v1} against {v0}, a difference of "
        "{diff} ({method} interval {interval}, adjusted p {p}), relative lift {rel}; chance to "
        "beat control {ctw}. The test could detect {mde}, and the guardrails hold ({guardrails}).",
        "{experiment}：{variant}的{metric}优于{control}：{v1} 对 {v0}，相差 {diff}（{method}区间 "
        "{interval}，校正后 p {p}），相对提升 {rel}；胜过对照组的概率 {ctw}。该实验可检测 {mde} 的"
        "差异，护栏指标正常（{guardrails}）。",
    ),
    "action.ab_win": (
        "Ship {variant} to everyone the test targeted.",
        "将{variant}推广到实验覆盖的全部用户。",
    ),
    "finding.ab_loss": (
        "{experiment}: {variant} does worse than {control} on {metric}: {v1} against {v0}, a "
        "difference of {diff} ({method} interval {interval}, adjusted p {p}).",
        "{experiment}：{variant}的{metric}差于{control}：{v1} 对 {v0}，相差 {diff}（{method}区间 "
        "{interval}，校正后 p {p}）。",
    ),
    "action.ab_loss": ("Stop {variant}; keep {control}.", "停止{variant}，保留{control}。"),
    "finding.ab_guardrail": (
        "{experiment}: {variant} harms a guardrail — {guardrails} — so shipping is vetoed "
        "whatever {metric} says ({diff}, {method} interval {interval}).",
        "{experiment}：{variant}使护栏指标受损——{guardrails}——因此无论{metric}如何（{diff}，"
        "{method}区间 {interval}）都不上线。",
    ),
    "action.ab_guardrail": (
        "Do not ship {variant}: find why it raised the guardrail, fix it, then test again.",
        "不要上线{variant}：查明护栏指标上升的原因并修复后再测试。",
    ),
    "finding.ab_underpowered": (
        "{experiment}: {variant} against {control} differs by {diff} on {metric} ({method} "
        "interval {interval}, adjusted p {p}), but that is less than this sample can reliably "
        "detect ({mde}); such early results are often inflated.",
        "{experiment}：{variant}与{control}的{metric}相差 {diff}（{method}区间 {interval}，校正后 "
        "p {p}），但小于该样本量可可靠检测的效应（{mde}），这类早期结果常被高估。",
    ),
    "action.ab_underpowered": (
        "Keep the test running to about {n} users per variant before deciding.",
        "继续实验，每组约 {n} 位用户后再做决定。",
    ),
    "finding.ab_srm": (
        "{experiment}: the split between variants is off (sample-ratio mismatch, p {p}), so no "
        "verdict is drawn.",
        "{experiment}：各组样本比例失衡（SRM，p {p}），不下结论。",
    ),
    "action.ab_srm": (
        "Fix the assignment (randomisation, logging, filters), then rerun the test.",
        "修复分流（随机化、日志、过滤条件）后重新实验。",
    ),
    # --- 00 summary and page furniture ---------------------------------------------------
    "ui.vs_previous": ("vs the {days} days before", "较前 {days} 天"),
    "ui.window_vs_previous": (
        "last {days} days vs the {days} before",
        "近 {days} 天较前 {days} 天",
    ),
    "ui.evidence": ("evidence: {section}", "详见：{section}"),
    "ui.no_comparable_run": (
        "There is no earlier run of the same source and configuration to compare with.",
        "没有同一数据源、同一配置的早先运行可供对比。",
    ),
    "column.alert_date": ("Date", "日期"),
    "column.alert_metric": ("KPI", "指标"),
    "column.alert_segment": ("Channel", "渠道"),
    "ui.section_incomplete": (
        "{section} did not complete ({status}): its findings and numbers are missing here.",
        "{section}未完成（{status}）：其发现与指标未包含在本页。",
    ),
    "ui.methods": ("Methods and model details", "方法与模型细节"),
    "ui.source": ("Data source", "数据源"),
    "ui.period": ("Period", "时间范围"),
    "ui.parameters": ("Parameters", "参数"),
    "ui.generated": ("Generated", "生成时间"),
    "ui.run": ("Run", "运行"),
    "ui.status": ("Status", "状态"),
    "ui.contents": ("Contents", "目录"),
    "ui.summary": ("Executive summary", "执行摘要"),
    "ui.run_index": ("This run", "本次运行"),
    "ui.all_runs": ("All runs", "全部运行"),
    "ui.run_details": ("Run details", "运行详情"),
    "ui.config": ("Config", "配置"),
    "ui.started": ("Started (UTC)", "开始时间（UTC）"),
    "ui.duration": ("Duration", "耗时"),
    "ui.git": ("Git commit", "Git 提交"),
    "ui.modified": ("(modified)", "（有未提交修改）"),
    "ui.notebooks": ("Sections", "章节"),
    "ui.notebook": ("Section", "章节"),
    "ui.output": ("Files", "文件"),
    "ui.reports": ("growthlab reports", "growthlab 报告"),
    "ui.latest": ("Latest successful run", "最近一次成功运行"),
    "ui.latest_mark": ("latest", "最新"),
    "ui.no_success": ("No successful run yet.", "尚无成功的运行。"),
    "ui.open_summary": ("Executive summary →", "查看执行摘要 →"),
    "ui.run_title": ("Run {run_id}", "运行 {run_id}"),
    "status.success": ("success", "成功"),
    "status.ok": ("ok", "完成"),
    "status.failed": ("failed", "失败"),
    "status.interrupted": ("interrupted", "已中断"),
    "status.running": ("running", "运行中"),
    "status.pending": ("pending", "等待中"),
    "status.unknown": ("unknown", "未知"),
    # --- lists of people to act on (growthlab lists, growthlab.report.lists) ---------------
    "lists.top_spreaders": ("Top spreaders to reward", "待奖励的头部传播者"),
    "lists.top_spreaders.definition": (
        "The top {fraction} of spreaders ranked by users invited directly, then by their whole "
        "downstream tree: {k} of the {n} users with an accepted invitee, who brought {share} of "
        "all direct invitees (metric top10_share). The {excluded} fraud-like inviters among them "
        "are left out (they are on the list of suspicious inviters).",
        "按直接邀请人数（其次按下游总人数）排名前 {fraction} 的传播者：{n} 位有成功邀请的用户中的 "
        "{k} 位，带来全部直接受邀用户的 {share}（指标 top10_share）。其中 {excluded} 位疑似作弊"
        "邀请人已剔除（见可疑邀请人名单）。",
    ),
    "lists.suspicious_inviters": ("Suspicious inviters to review", "待复核的可疑邀请人"),
    "lists.suspicious_inviters.definition": (
        "Inviters with at least {min_signals} behavioural abuse signals — a burst of "
        "{burst_size} or more invitees within {burst_minutes} minutes, {min_shared} or more "
        "invitees sharing an identity with the inviter or each other, at least {inactive_share} "
        "of {min_invitees} or more invitees never active — or with a self-referral or cycle row "
        "(metric suspicious_inviters; fraud_like marks the fraud_like_inviters). Review them "
        "before paying rewards.",
        "至少触发 {min_signals} 个行为作弊信号的邀请人——{burst_minutes} 分钟内带来 {burst_size} "
        "位及以上受邀人（爆发）、{min_shared} 位及以上受邀人与邀请人或彼此身份重合、{min_invitees} "
        "位及以上受邀人中至少 {inactive_share} 从未活跃——或有自我邀请、邀请环记录的邀请人（指标 "
        "suspicious_inviters；fraud_like 列标出 fraud_like_inviters）。发放奖励前请复核。",
    ),
    "lists.high_value_at_risk": (
        "Valuable buyers at risk to win back",
        "待召回的流失预警高、中价值用户",
    ),
    "lists.high_value_at_risk.definition": (
        "Buyers of the value tiers {tiers} (high: M and F scores at least {high_score}; medium: "
        "otherwise M score at least {medium_score}) whose last activity was more than "
        "{silent_days} and at most {churn_days} days before the analysis date (metric "
        "valuable_buyers_at_risk), the highest predicted value over the next {horizon_days} days "
        "(BG/NBD + Gamma-Gamma) first.",
        "价值分层为{tiers}的购买用户（高价值：M 分和 F 分都不低于 {high_score}；中价值：否则 M 分不低于 "
        "{medium_score}），最近一次活跃距分析日期超过 {silent_days} 天且不超过 {churn_days} 天（指标 "
        "valuable_buyers_at_risk），按未来 {horizon_days} 天预测价值（BG/NBD + Gamma-Gamma）从高到低"
        "排列。",
    ),
    "lists.and": (" and ", "、"),
    "lists.segment": ("RFM segment: {segment}", "RFM 分群：{segment}"),
    "lists.segment.definition": (
        "Buyers whose recency and frequency scores (1–{rfm_bins} by quantile, as of the "
        "analysis date) place them in the RFM segment “{segment}”; all segments together are the "
        "buyers (metric buyers).",
        "按截至分析日期的最近购买与购买频次分位得分（1–{rfm_bins}）归入 RFM 分群“{segment}”的购买"
        "用户；所有分群合计即全部购买用户（指标 buyers）。",
    ),
    "lists.note": (
        "Lists of the people behind these findings — top spreaders to reward, suspicious "
        "inviters to review, valuable buyers at risk to win back and the members of each RFM "
        "segment — are not part of this report: they hold raw user ids. Whoever holds the data "
        "makes them with `growthlab lists --source <source folder>` (with this run's `--config` "
        "and `-p` options, so they use the same thresholds). They are written owner-only to a "
        "`lists` folder beside the reports; do not forward them.",
        "本报告不含这些发现背后的人群包——待奖励的头部传播者、待复核的可疑邀请人、待召回的流失预警"
        "高、中价值用户、各 RFM 分群成员——因为它们包含原始用户 ID。数据持有人可用 "
        "`growthlab lists --source <数据源文件夹>` 生成（加上本次运行的 `--config` 和 `-p` 参数，"
        "阈值即与本报告一致）。文件仅本人可读，写入报告文件夹旁的 `lists` 文件夹；请勿转发。",
    ),
    "lists.column.user_id": ("User id (raw)", "用户 ID（原始）"),
    "lists.column.pseudonym": ("Pseudonym shown in the report", "报告中显示的化名"),
    "lists.column.rank": ("Rank among spreaders", "传播者排名"),
    "lists.column.seed_id": (
        "Seed user of the cascade (raw id)",
        "所在裂变树的种子用户（原始 ID）",
    ),
    "lists.column.signals": ("Abuse signals raised", "触发的作弊信号数"),
    "lists.column.fraud_like": ("Fraud-like", "疑似作弊"),
    "lists.column.self_referral": ("Self-referral rows", "自我邀请记录数"),
    "lists.column.cycle": ("Rows in an invitation cycle", "邀请环记录数"),
    "lists.column.tier": ("Value tier (key)", "价值分层（键）"),
    "lists.column.tier_name": ("Value tier", "价值分层"),
    "lists.column.segment": ("RFM segment (key)", "RFM 分群（键）"),
    "lists.column.segment_name": ("RFM segment", "RFM 分群"),
    "lists.column.stage": ("Lifecycle stage (key)", "生命周期阶段（键）"),
    "lists.column.stage_name": ("Lifecycle stage", "生命周期阶段"),
    "lists.column.r_score": ("R score", "R 分"),
    "lists.column.f_score": ("F score", "F 分"),
    "lists.column.m_score": ("M score", "M 分"),
    "lists.column.rfm": ("RFM scores", "RFM 得分"),
    "lists.column.recency_days": ("Days since the last paid order", "距上次付费天数"),
    "lists.column.frequency": ("Purchase days", "购买天数"),
    "lists.column.monetary": ("Paid to date", "累计付费金额"),
    "lists.column.last_order_at": ("Last paid order (local time)", "最近一次付费（本地时间）"),
    "lists.column.inactive_days": ("Days without activity", "未活跃天数"),
    "lists.column.clv": ("Predicted value (CLV)", "预测价值（CLV）"),
    "lists.column.p_alive": ("P(alive)", "存活概率"),
    "lists.column.expected_purchases": (
        "Expected purchases in the horizon",
        "预测期内预期购买次数",
    ),
    "lists.sheet.about": ("About this list", "名单说明"),
    "lists.sheet.column": ("Column", "列"),
    "lists.sheet.meaning": ("Meaning", "含义"),
    "lists.sheet.definition": ("Who is on this list", "名单定义"),
}


def t(key: str, lang: str = "en", **fields: Any) -> str:
    """The text of ``key`` in ``lang`` (zh, else English), ``{fields}`` filled; KeyError if unknown."""
    try:
        en, zh = TEXT[key]
    except KeyError:
        raise KeyError(f"no text {key!r} in growthlab.i18n.TEXT") from None
    if lang != "zh":
        return en.format(**fields) if fields else en
    return _fill_zh(zh, fields) if fields else zh


#: A Han character (CJK unified ideographs and extension A); full-width punctuation is not one.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
#: A Latin letter or digit, the start or end of a value that needs a space beside Han text.
_LATIN = re.compile(r"[A-Za-z0-9]")


def _fill_zh(text: str, fields: Mapping[str, Any]) -> str:
    """``text.format(**fields)`` with the spaces of :func:`spaced` at the joins."""
    return spaced(text, fields).format(**fields)


def spaced(template: str, fields: Mapping[str, Any]) -> str:
    """A Chinese ``template`` (``str.format`` syntax) with a space put wherever a field's
    value, as ``fields`` fill it, meets Han text (of the template or of the next value) with a
    Latin letter or digit ("最近 7 天 App 推送", not "最近 7 天App 推送"): the spacing the
    Chinese templates use around numbers (W3C, *Requirements for Chinese Text Layout*, mixed
    text composition). Returns a template still to be filled, so callers that fill it
    otherwise (HTML placeholders) get the same spacing. Only the joins beside a value get a
    space: the values themselves (a campaign name a brand wrote, "双11") and the template's
    own text are left exactly as they are.

    >>> spaced("最近{n}天{ch}的", {"n": 7, "ch": "App 推送"})
    '最近 {n} 天 {ch}的'
    """

    def gap(left: str, right: str) -> bool:
        return bool(
            (_HAN.match(left) and _LATIN.match(right)) or (_LATIN.match(left) and _HAN.match(right))
        )

    formatter = Formatter()
    out = []  # pieces of the new template
    last = ""  # the last character of the filled text so far
    after_value = False  # the filled text so far ends with a field's value
    for literal, field, spec, conversion in formatter.parse(template):
        if literal:
            if after_value and gap(last, literal[0]):
                out.append(" ")
            out.append(literal.replace("{", "{{").replace("}", "}}"))
            last, after_value = literal[-1], False
        if field is None:
            continue
        value = formatter.get_field(field, (), fields)[0]
        filled_spec = formatter.vformat(spec, (), fields) if spec and "{" in spec else spec
        value = formatter.format_field(formatter.convert_field(value, conversion), filled_spec)
        if value and last and gap(last, value[0]):
            out.append(" ")
        out.append(
            "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            + "}"
        )  # fmt: skip
        if value:
            last, after_value = value[-1], True
    return "".join(out)


def name(kind: str, key: Any, lang: str = "en") -> str:
    """Display name of the category value ``key`` of ``kind`` (``channel``, ``step``,
    ``model``, ``table``, ``field`` ...: the text of ``<kind>.<key>``); a value without one is a
    name the data supplies (a campaign id, an unknown channel name) and is shown as it is."""
    return maybe(f"{kind}.{key}", lang, str(key))


def maybe(key: str, lang: str = "en", default: str | None = None) -> str:
    """:func:`t` without fields, or ``default`` (the key's last part) when the key is unknown."""
    if key in TEXT:
        return t(key, lang)
    return default if default is not None else key.rsplit(".", 1)[-1]


def columns(names: Iterable[Any], lang: str = "en") -> dict[Any, str]:
    """Header text for table columns: ``column.<name>`` when defined, else the name as is."""
    return {n: maybe(f"column.{n}", lang, str(n)) for n in names}


def values(mapping_prefix: str, items: Iterable[Any], lang: str = "en") -> Mapping[Any, str]:
    """Display text for category values (``<prefix>.<value>``), unknown values unchanged."""
    return {v: maybe(f"{mapping_prefix}.{v}", lang, str(v)) for v in items}
