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
    # --- 02 referral ---------------------------------------------------------------------
    # --- 03 segments and value -----------------------------------------------------------
    # --- 04 attribution and funnel -------------------------------------------------------
    # --- 05 monitoring and experiments ---------------------------------------------------
    # --- 00 summary and page furniture ---------------------------------------------------
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
