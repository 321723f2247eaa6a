"""Every English/Chinese word the report shows that is not a metric (see ``growthlab.metrics``).

One mechanism for all layers: a key -> ``(English, Chinese)`` table, looked up with :func:`t`.
Keys are dotted: ``column.<name>`` for table headers, ``step.<event>`` for funnel steps,
``group.<name>``, ``verdict.<name>``, ``chart.<topic>.<name>`` for chart titles and axes,
``ui.<name>`` for page furniture. Text may hold ``{fields}`` filled by :func:`t`.

This module imports nothing from growthlab, so any layer may use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    "chart.quality.nulls_axis": ("% of rows", "占行数 %"),
    "chart.quality.no_nulls": ("No missing values", "无缺失值"),
    "chart.quality.volume": ("Rows per day ({zone})", "每日行数（{zone}）"),
    "chart.quality.anomaly": ("unusual day", "异常日"),
    # --- 02 referral ---------------------------------------------------------------------
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
    "persona.high": ("high {feature} ({z} sd)", "{feature}高（{z} sd）"),
    "persona.low": ("low {feature} ({z} sd)", "{feature}低（{z} sd）"),
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
    "column.referral_status": ("Referred or organic", "受邀 / 自然"),
    "column.mean_clv": ("Predicted value per buyer", "人均预测价值"),
    "column.total_clv": ("Predicted value", "预测价值合计"),
    "column.clv_share": ("Share of predicted value", "预测价值占比"),
    "chart.segments.r": ("recency score (5 = most recent)", "最近购买得分（5 = 最近）"),
    "chart.segments.f": ("frequency score (5 = most frequent)", "购买频次得分（5 = 最高）"),
    "chart.segments.m": ("mean spend", "平均消费"),
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
    "chart.value.clv": ("expected value over the horizon", "预测期内期望价值"),
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
    "chart.value.mean_clv": ("mean predicted value (95 % CI)", "平均预测价值（95% 置信区间）"),
    "chart.value.median": ("median", "中位数"),
    "chart.value.mean": ("mean", "均值"),
    "chart.value.by_tier": ("By value tier", "按价值分层"),
    "chart.value.by_channel": ("By acquisition channel", "按获客渠道"),
    "chart.value.by_referral": ("Referred vs organic", "受邀 vs 自然"),
    # --- 04 attribution and funnel -------------------------------------------------------
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
    "column.ab_diff_interval": ("Difference, 95 % interval", "差值的 95 % 区间"),
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
        "{experiment}: {variant} converts better than {control}: {p1} against {p0}, a difference "
        "of {diff} (95 % interval {low} to {high}, p {p}), relative lift {rel}. The test could "
        "detect {mde}, so the result holds.",
        "{experiment}：{variant}的转化优于{control}：{p1} 对 {p0}，相差 {diff}（95 % 区间 {low} 至 "
        "{high}，p {p}），相对提升 {rel}。该实验可检测 {mde} 的差异，结论可靠。",
    ),
    "action.ab_win": (
        "Ship {variant} to everyone the test targeted.",
        "将{variant}推广到实验覆盖的全部用户。",
    ),
    "finding.ab_loss": (
        "{experiment}: {variant} converts worse than {control}: {p1} against {p0}, a difference "
        "of {diff} (95 % interval {low} to {high}, p {p}).",
        "{experiment}：{variant}的转化差于{control}：{p1} 对 {p0}，相差 {diff}（95 % 区间 {low} 至 "
        "{high}，p {p}）。",
    ),
    "action.ab_loss": ("Stop {variant}; keep {control}.", "停止{variant}，保留{control}。"),
    "finding.ab_underpowered": (
        "{experiment}: {variant} against {control} differs by {diff} (95 % interval {low} to "
        "{high}, p {p}), but that is less than this sample can reliably detect ({mde}); such "
        "early results are often inflated.",
        "{experiment}：{variant}与{control}相差 {diff}（95 % 区间 {low} 至 {high}，p {p}），但小于"
        "该样本量可可靠检测的效应（{mde}），这类早期结果常被高估。",
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
}


def t(key: str, lang: str = "en", **fields: Any) -> str:
    """The text of ``key`` in ``lang`` (zh, else English), ``{fields}`` filled; KeyError if unknown."""
    try:
        en, zh = TEXT[key]
    except KeyError:
        raise KeyError(f"no text {key!r} in growthlab.i18n.TEXT") from None
    text = zh if lang == "zh" else en
    return text.format(**fields) if fields else text


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
