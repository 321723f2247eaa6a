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
    # --- 04 attribution and funnel -------------------------------------------------------
    # --- 05 monitoring and experiments ---------------------------------------------------
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
