"""Messy export fixtures for the bring-your-own-data tests (issue #12), made from code.

:func:`write_messy` writes the synthetic source the way CRMs, shops and Excel users export
it: GBK CSV with Chinese headers and slash dates, an .xlsx workbook with currency-formatted
amounts and Chinese statuses (plus a notes sheet), a table split over two monthly files, export
file names with dates, extra personal columns. :func:`write_contract` writes the same rows in
contract form. Both keep the rows in the same order, so validation numbers rows alike.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import pandas as pd

# contract column -> export header, per table
USERS = {
    "user_id": "用户ID",
    "signup_at": "注册时间",
    "channel": "渠道",
    "campaign_id": "活动ID",
    "city": "城市",
    "gender": "性别",
    "age_band": "年龄段",
    "consent_marketing": "营销授权",
}
ORDERS = {
    "order_id": "订单号",
    "user_id": "用户ID",
    "ts": "下单时间",
    "amount": "实付金额",
    "status": "订单状态",
}
REFERRALS = {
    "inviter_id": "邀请人ID",
    "invitee_id": "被邀请人ID",
    "invited_at": "邀请时间",
    "campaign_id": "活动ID",
    "share_channel": "分享渠道",
    "reward": "奖励金额",
}
EVENTS = {
    "user_id": "用户ID",
    "ts": "时间",
    "channel": "渠道",
    "event": "事件",
    "campaign_id": "活动ID",
    "cost": "成本",
}
IDENTITIES = {"user_id": "用户ID", "id_type": "标识类型", "id_value": "标识值"}
COSTS = {"date": "日期", "channel": "投放渠道", "spend": "花费", "campaign_id": "计划ID"}
ASSIGNMENTS = {
    "user_id": "用户ID",
    "experiment_id": "实验ID",
    "variant": "分组",
    "assigned_at": "分组时间",
}


def write_contract(folder: Path, frames: dict[str, pd.DataFrame]) -> Path:
    """The frames as ``<table>.csv`` in contract form (ISO timestamps, plain numbers)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in frames.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder


def _money(x: float, key: object) -> str | None:
    """An amount as exports write it, the style varying with ``key`` (a row's id: copies of a
    row are written alike, as an export repeats a row)."""
    i = zlib.crc32(str(key).encode())
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NaN" if i % 2 else None
    if math.isinf(x):
        return str(x)
    sign = "-" if x < 0 else ""
    a = abs(x)
    style = i % 4
    if style == 0:
        return f"{sign}¥{a:,}"
    if style == 1:
        return f"{sign}￥{a}"
    if style == 2:
        return f"{sign}{a:,}元"
    return f"{sign}{a}"


def _stamp(s: pd.Series, fmt: str) -> pd.Series:
    return s.map(lambda t: None if pd.isna(t) else pd.Timestamp(t).strftime(fmt))


def write_messy(folder: Path, frames: dict[str, pd.DataFrame]) -> Path:
    """The frames as a messy export folder (see the module docstring)."""
    import openpyxl

    folder.mkdir(parents=True, exist_ok=True)
    u = frames["users"].rename(columns=USERS).copy()
    u["注册时间"] = _stamp(frames["users"]["signup_at"], "%Y/%m/%d %H:%M:%S")
    u["营销授权"] = frames["users"]["consent_marketing"].map({True: "是", False: "否"})
    u.insert(1, "手机号", [f"138{i:08d}" for i in range(len(u))])
    u.insert(2, "昵称", [f"用户{i}" for i in range(len(u))])
    u.to_csv(folder / "用户导出_20250630.csv", index=False, encoding="gbk")

    # orders: one workbook, amounts as text with currency signs, Chinese statuses
    o = frames["orders"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "订单"
    ws.append(list(ORDERS.values()) + ["收货人手机"])
    status = {"paid": "已支付", "refunded": "已退款"}
    for r in o.itertuples(index=False):
        ts = None if pd.isna(r.ts) else pd.Timestamp(r.ts).to_pydatetime()
        st = None if pd.isna(r.status) else status.get(r.status, r.status)
        ws.append(
            [r.order_id, r.user_id, ts, _money(r.amount, (r.order_id, r.amount)), st, "13900000000"]
        )
    notes = wb.create_sheet("说明")
    notes.append(["导出说明"])
    notes.append(["金额单位：元"])
    wb.save(folder / "订单导出_2025Q2.xlsx")

    # referrals: two monthly exports (UTF-8 with BOM), rows split in order
    r = frames["referrals"].rename(columns=REFERRALS)
    half = len(r) // 2
    r.iloc[:half].to_csv(folder / "邀请记录_202503.csv", index=False, encoding="utf-8-sig")
    r.iloc[half:].to_csv(folder / "邀请记录_202506.csv", index=False, encoding="utf-8-sig")

    frames["events"].rename(columns=EVENTS).to_csv(folder / "行为日志.csv", index=False)
    frames["identities"].rename(columns=IDENTITIES).to_csv(
        folder / "身份绑定.csv", index=False, encoding="gbk"
    )
    c = frames["costs"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花费"
    ws.append(list(COSTS.values()))
    for row in c.itertuples(index=False):
        d = None if pd.isna(row.date) else pd.Timestamp(row.date).to_pydatetime()
        camp = None if pd.isna(row.campaign_id) else row.campaign_id
        ws.append([d, row.channel, _money(row.spend, (row.date, row.channel, row.spend)), camp])
    wb.save(folder / "投放花费.xlsx")
    frames["assignments"].rename(columns=ASSIGNMENTS).to_csv(folder / "实验分组.csv", index=False)
    (folder / "说明.txt").write_text("CRM 导出 2025-06-30\n", encoding="utf-8")
    return folder
