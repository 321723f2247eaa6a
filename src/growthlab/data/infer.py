"""``growthlab init DIR``: recognise the tables and columns of an export folder and write a draft
``growthlab.yaml`` (:mod:`growthlab.data.description`).

Reads the first rows of every file (CSV in UTF-8, UTF-8 with BOM or GB18030/GBK; each sheet of
an Excel workbook; Parquet), never the whole file, and never writes anything but the
description. Recognition:

1. **Headers.** :data:`SYNONYMS` lists, per contract table and column, the headers that common
   exports use (WeCom, Youzan, Weimob, Shopify-style shops, CRMs; Chinese and English). Headers
   are compared normalised (:func:`norm`: lower case, without blanks, ``_ - . / :`` or brackets),
   so ``User ID``, ``user_id`` and ``用户 ID`` are alike.
2. **File names.** :data:`TABLE_HINTS`: words such as 订单/order or 邀请/referral favour a
   table. Files whose names differ only in digits (``邀请记录_202505.csv``,
   ``邀请记录_202506.csv``) and that share a header are one table, written as a glob.
3. **Content.** Sample values decide the formats: timestamps that are not ISO 8601 get a
   strptime pattern that the engine was checked to parse (:func:`guess_time_format`), amounts
   with currency signs or thousands separators get ``money``, Chinese order statuses and yes/no
   words get value maps, channel names outside channels.yaml get a guessed canonical key
   (marked as a guess). A required column no header names may be found by its content
   (timestamps, amounts, statuses).

Each contract table takes the file group that fits it best (all required columns found);
:func:`draft` returns the YAML text and a :class:`Draft` saying what was mapped and what was
not, which the CLI prints with the next command to run.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from growthlab.data import contract as C
from growthlab.data.description import (
    CSV_SUFFIXES,
    DATA_SUFFIXES,
    DESCRIPTION_FILE,
    EXCEL_SUFFIXES,
    NOT_DATA,
)

SAMPLE_ROWS = 2000
_SAMPLE_BYTES = 4 << 20
_HEADER_SCAN = 10  # rows looked at to find the header row (title lines above it)


def norm(name: Any) -> str:
    """A header as compared: lower case, without blanks, ``_ - . / : # *`` and brackets."""
    return re.sub(r"[\s_\-./:#*()（）\[\]【】]+", "", str(name)).lower()


# --- knowledge -------------------------------------------------------------------------------
_USER = ["用户id", "用户编号", "客户id", "客户编号", "会员id", "会员编号", "会员卡号", "买家id"]
_USER += ["粉丝id", "外部联系人id", "联系人id", "下单人id", "uid", "userid", "customerid"]
_USER += ["memberid", "buyerid", "externaluserid", "contactid", "用户", "客户", "会员"]
_USER += ["user", "customer"]
_CAMPAIGN = ["活动id", "活动编号", "活动", "活动名称", "营销活动", "campaignid", "campaign"]
_CAMPAIGN += ["utmcampaign", "活动code"]
_CHANNEL = ["渠道", "来源渠道", "渠道来源", "来源", "注册渠道", "获客渠道", "添加渠道", "添加方式"]
_CHANNEL += ["触点", "channel", "source", "utmsource", "medium", "touchpoint"]
_TIME = ["时间", "日期时间", "发生时间", "timestamp", "ts", "time", "datetime", "createdat"]

#: table -> contract column -> normalised headers, most likely first
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "users": {
        "user_id": [*_USER, "id"],
        "signup_at": [
            "注册时间",
            "注册日期",
            "创建时间",
            "添加时间",
            "添加好友时间",
            "加入时间",
            "入会时间",
            "成为会员时间",
            "成为客户时间",
            "首次关注时间",
            "关注时间",
            "signupat",
            "signuptime",
            "signupdate",
            "registeredat",
            "registertime",
            "registrationdate",
            "createdat",
            "createtime",
            "joinedat",
            "joindate",
            "firstseen",
        ],  # fmt: skip
        "channel": [*_CHANNEL, "acquisitionchannel"],
        "campaign_id": _CAMPAIGN,
        "city": ["城市", "所在城市", "地区", "city", "region"],
        "gender": ["性别", "gender", "sex"],
        "age_band": ["年龄段", "年龄", "年龄区间", "ageband", "agegroup", "agerange", "age"],
        "consent_marketing": [
            "营销授权",
            "是否同意营销",
            "同意营销",
            "接受营销",
            "营销订阅",
            "是否订阅",
            "订阅",
            "acceptsmarketing",
            "acceptsemailmarketing",
            "marketingconsent",
            "consentmarketing",
            "consent",
            "optin",
        ],  # fmt: skip
    },
    "referrals": {
        "inviter_id": [
            "邀请人id",
            "邀请人",
            "邀请者id",
            "邀请者",
            "推荐人id",
            "推荐人",
            "分享人id",
            "分享人",
            "上级id",
            "上级",
            "老用户id",
            "inviterid",
            "inviter",
            "referrerid",
            "referrer",
            "sharerid",
            "parentid",
        ],  # fmt: skip
        "invitee_id": [
            "被邀请人id",
            "被邀请人",
            "受邀人id",
            "受邀人",
            "被推荐人id",
            "被推荐人",
            "新用户id",
            "下级id",
            "下级",
            "inviteeid",
            "invitee",
            "referredid",
            "refereeid",
            "childid",
        ],  # fmt: skip
        "invited_at": [
            "邀请时间",
            "推荐时间",
            "绑定时间",
            "助力时间",
            "分享时间",
            "invitedat",
            "invitetime",
            "referredat",
            "referraldate",
            *_TIME,
        ],  # fmt: skip
        "campaign_id": _CAMPAIGN,
        "share_channel": [
            "分享渠道",
            "分享方式",
            "邀请渠道",
            "邀请方式",
            "sharechannel",
            "sharemethod",
            *_CHANNEL,
        ],  # fmt: skip
        "reward": ["奖励", "奖励金额", "佣金", "返现", "reward", "commission", "bonus"],
    },
    "events": {
        "user_id": _USER,
        "ts": ["事件时间", "行为时间", "访问时间", "触达时间", "eventtime", "occurredat", *_TIME],
        "channel": _CHANNEL,
        "event": [
            "事件",
            "事件名",
            "事件名称",
            "事件类型",
            "行为",
            "行为类型",
            "动作",
            "event",
            "eventname",
            "eventtype",
            "action",
            "type",
        ],  # fmt: skip
        "campaign_id": _CAMPAIGN,
        "cost": ["成本", "费用", "cost"],
    },
    "orders": {
        "order_id": [
            "订单号",
            "订单编号",
            "订单id",
            "主订单号",
            "交易号",
            "交易单号",
            "交易编号",
            "orderid",
            "ordernumber",
            "orderno",
            "ordername",
            "id",
            "name",
        ],  # fmt: skip
        "user_id": _USER,
        "ts": [
            "下单时间",
            "订单创建时间",
            "创建时间",
            "支付时间",
            "付款时间",
            "成交时间",
            "交易时间",
            "订单时间",
            "createdat",
            "paidat",
            "orderdate",
            "orderedat",
            "ordertime",
            "processedat",
            *_TIME,
            "date",
        ],  # fmt: skip
        "amount": [
            "实付金额",
            "订单实付金额",
            "实付款",
            "实付",
            "实收金额",
            "支付金额",
            "付款金额",
            "成交金额",
            "订单金额",
            "应付金额",
            "金额",
            "总价",
            "total",
            "totalprice",
            "amountpaid",
            "amount",
            "paid",
            "revenue",
            "subtotal",
            "price",
        ],  # fmt: skip
        "status": [
            "订单状态",
            "状态",
            "支付状态",
            "交易状态",
            "financialstatus",
            "paymentstatus",
            "orderstatus",
            "status",
        ],  # fmt: skip
    },
    "identities": {
        "user_id": _USER,
        "id_type": [
            "标识类型",
            "身份类型",
            "id类型",
            "类型",
            "idtype",
            "identitytype",
            "type",
            "key",
        ],  # fmt: skip
        "id_value": [
            "标识值",
            "标识",
            "身份值",
            "id值",
            "值",
            "idvalue",
            "identity",
            "identifier",
            "value",
        ],  # fmt: skip
    },
    "costs": {
        "date": ["日期", "投放日期", "消耗日期", "date", "day", "reportdate"],
        "channel": ["投放渠道", "媒体", "平台", *_CHANNEL, "media", "platform"],
        "spend": [
            "花费",
            "消耗",
            "投放金额",
            "消费",
            "费用",
            "成本",
            "spend",
            "amountspent",
            "cost",
            "amount",
        ],  # fmt: skip
        "campaign_id": ["计划id", "广告计划", "广告计划id", *_CAMPAIGN],
    },
    "assignments": {
        "user_id": _USER,
        "experiment_id": [
            "实验id",
            "实验",
            "实验名称",
            "实验编号",
            "experimentid",
            "experiment",
            "testid",
            "test",
        ],  # fmt: skip
        "variant": ["分组", "实验组", "版本", "变体", "组别", "variant", "group", "arm", "bucket"],
        "assigned_at": [
            "分组时间",
            "进组时间",
            "分配时间",
            "assignedat",
            "assignedtime",
            "enrolledat",
            *_TIME,
        ],  # fmt: skip
    },
    "paths": {
        "path": ["路径", "转化路径", "触点路径", "path", "journey"],
        "conversions": ["转化数", "转化次数", "转化", "conversions", "totalconversions"],
        "nulls": ["未转化数", "未转化", "nulls", "nonconversions", "totalnull"],
        "value": ["转化价值", "价值", "conversionvalue", "totalconversionvalue", "value"],
    },
}

#: words in file (or sheet) names that suggest a table
TABLE_HINTS: dict[str, tuple[str, ...]] = {
    "users": (
        "用户",
        "客户",
        "会员",
        "粉丝",
        "联系人",
        "注册",
        "user",
        "customer",
        "member",
        "contact",
        "signup",
    ),  # fmt: skip
    "referrals": ("邀请", "裂变", "推荐", "助力", "拉新", "分享关系", "referral", "invite"),
    "events": ("行为", "事件", "埋点", "访问", "触达", "日志", "event", "activity", "log", "touch"),
    "orders": ("订单", "交易", "销售", "order", "sales", "transaction"),
    "identities": ("身份", "标识", "绑定", "unionid", "identit", "idmap"),
    "costs": ("投放", "花费", "消耗", "广告", "成本", "cost", "spend", "ads"),
    "assignments": ("实验", "分组", "assignment", "experiment", "abtest"),
    "paths": ("路径", "path", "journey"),
}

#: headers of personal data: never mapped (and so never read)
PERSONAL = ("手机", "电话", "phone", "mobile", "email", "邮箱", "姓名", "name", "昵称", "nickname",
            "地址", "address", "身份证", "idcard", "微信号", "wechatid")  # fmt: skip

#: order status words -> contract status (unlisted words are left for the user to decide)
STATUS_WORDS: dict[str, str] = {
    **C.STATUS_SYNONYMS,
    "交易成功": "paid", "交易完成": "paid", "已完成": "paid", "完成": "paid", "已发货": "paid",
    "待发货": "paid", "已签收": "paid", "已收货": "paid", "待收货": "paid", "已付款": "paid",
    "支付成功": "paid", "付款成功": "paid", "已成交": "paid", "fulfilled": "paid",
    "partially_refunded": "paid", "部分退款": "paid", "authorized": "paid",
    "已退款": "refunded", "退款成功": "refunded", "全额退款": "refunded", "已全额退款": "refunded",
    "退款完成": "refunded", "refunded": "refunded", "voided": "refunded",
}  # fmt: skip
#: yes/no words -> booleans
BOOL_WORDS: dict[str, bool] = {
    "是": True, "否": False, "已授权": True, "未授权": False, "同意": True, "不同意": False,
    "已订阅": True, "未订阅": False, "订阅": True, "接受": True, "不接受": False, "有": True,
    "无": False, "true": True, "false": False, "yes": True, "no": False, "y": True, "n": False,
    "1": True, "0": False, "t": True, "f": False,
}  # fmt: skip
#: substrings of raw channel names -> a canonical channel (first match wins; a guess)
CHANNEL_WORDS: tuple[tuple[str, str], ...] = (
    ("企业微信", "wecom"), ("企微", "wecom"), ("wecom", "wecom"), ("视频号", "channels_video"),
    ("朋友圈广告", "paid_ads"), ("朋友圈", "moments"), ("社群", "wechat_group"),
    ("微信群", "wechat_group"), ("群", "wechat_group"), ("小程序", "mini_program"),
    ("公众号", "official_account"), ("服务号", "official_account"), ("直播", "live"),
    ("短信", "sms"), ("sms", "sms"), ("推送", "app_push"), ("push", "app_push"),
    ("抖音", "douyin"), ("douyin", "douyin"), ("tiktok", "douyin"), ("小红书", "xiaohongshu"),
    ("搜索", "search"), ("百度", "search"), ("search", "search"), ("seo", "search"),
    ("广告", "paid_ads"), ("投放", "paid_ads"), ("信息流", "paid_ads"), ("sem", "paid_ads"),
    ("ads", "paid_ads"), ("门店", "offline"), ("线下", "offline"), ("地推", "offline"),
    ("offline", "offline"), ("自然", "organic"), ("organic", "organic"), ("直接", "organic"),
    ("邀请", "referral"), ("推荐", "referral"), ("裂变", "referral"), ("老带新", "referral"),
    ("referral", "referral"), ("其他", "other"), ("其它", "other"), ("other", "other"),
)  # fmt: skip

#: strptime patterns tried on timestamp/date columns that are not ISO 8601 (engine-checked)
TIME_PATTERNS = (
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M",
    "%Y.%m.%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日 %H时%M分",
    "%Y年%m月%d日", "%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y%m%d", "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%m/%d/%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S %z",
)  # fmt: skip

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_MONEY_HINT = re.compile(r"[¥￥$€£元]|cny|rmb|usd|\d,\d{3}", re.IGNORECASE)
_MONEY = re.compile(
    r"(?i)\s*(?:[¥￥$€£]|cny|rmb|usd)?\s*[+-]?\s*(?:[¥￥$€£]|cny|rmb|usd)?\s*"
    r"(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*(?:元|cny|rmb|usd)?\s*"
)


def looks_like_money(text: Any) -> bool:
    """Whether a value carries a currency sign/code or a thousands separator."""
    return bool(_MONEY_HINT.search(str(text)))


def _is_money(text: str) -> bool:
    return bool(_MONEY.fullmatch(text))


def _is_number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text.strip()))


def _is_iso(text: str) -> bool:
    return bool(_ISO.fullmatch(text.strip()))


def guess_time_format(values: list[str], kinds: tuple[str, ...] = ()) -> str | None:
    """The first of :data:`TIME_PATTERNS` (or ``epoch_s``/``epoch_ms``/``excel``) that the
    engine parses for every non-ISO value in ``values``; None when none does (or all are ISO).
    """
    texts = [str(v).strip() for v in values if v is not None and str(v).strip()]
    texts = [t for t in texts if not _is_iso(t)][:200]
    if not texts:
        return None
    if all(t.isdigit() and len(t) == 10 for t in texts):
        return "epoch_s"
    if all(t.isdigit() and len(t) == 13 for t in texts):
        return "epoch_ms"
    if all(_is_number(t) and 20000 <= float(t) <= 80000 for t in texts):
        return "excel"
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE v AS SELECT unnest(?::VARCHAR[]) AS x", [texts])
        for pattern in TIME_PATTERNS:
            ok = con.execute(
                "SELECT count(*) FILTER (WHERE try_strptime(x, ?) IS NULL) FROM v", [pattern]
            ).fetchone()[0]
            if ok == 0:
                return pattern
    finally:
        con.close()
    return None


# --- reading samples -------------------------------------------------------------------------
@dataclass
class Sheet:
    """The first rows of one file (or one sheet of a workbook)."""

    file: Path
    sheet: str | None = None  # Excel sheet name (None: CSV/Parquet)
    sheet_index: int = 0
    encoding: str | None = None  # CSV: detected encoding
    skip_rows: int = 0  # rows above the header
    header: list[str] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.file.name} [{self.sheet}]" if self.sheet else self.file.name

    def column(self, header: str) -> list[str]:
        """Non-empty sample values of a column, as text."""
        i = self.header.index(header)
        out = []
        for r in self.rows:
            if i < len(r) and r[i] is not None and str(r[i]).strip():
                out.append(str(r[i]).strip())
        return out


def _header_row(rows: list[list[Any]]) -> int:
    """The index of the header among the first rows: the first with the most non-empty cells
    (title lines above a header have fewer)."""
    counts = [sum(1 for c in r if c is not None and str(c).strip()) for r in rows[:_HEADER_SCAN]]
    if not counts:
        return 0
    best = max(counts)
    return counts.index(best)


def _read_csv(path: Path) -> list[Sheet]:
    from growthlab.data.source import detect_encoding

    sheet = Sheet(path)
    try:
        enc = detect_encoding(path)
    except Exception as err:  # noqa: BLE001 - not text: say so
        sheet.error = str(err)
        return [sheet]
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
    text = head.decode(enc if enc != "utf-8" else "utf-8-sig", errors="replace")
    if len(head) == _SAMPLE_BYTES and "\n" in text:
        text = text[: text.rindex("\n")]  # drop the cut line
    first = text.split("\n", 1)[0]
    delim = max((",", "\t", ";", "|"), key=lambda d: (first.count(d), d == ","))
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    except csv.Error as err:
        sheet.error = f"not readable as CSV ({err})"
        return [sheet]
    rows = [r for r in rows[: SAMPLE_ROWS + _HEADER_SCAN] if any(c.strip() for c in r)]
    if not rows:
        sheet.error = "empty"
        return [sheet]
    h = _header_row(rows)
    sheet.encoding = enc
    sheet.skip_rows = h  # blank lines are rare above a header; counted as lines by the engine
    sheet.header = [c.strip() for c in rows[h]]
    sheet.rows = [[c if c != "" else None for c in r] for r in rows[h + 1 : h + 1 + SAMPLE_ROWS]]
    return [sheet]


def _read_excel(path: Path) -> list[Sheet]:
    try:
        import fastexcel

        book = fastexcel.read_excel(str(path))
        names = list(book.sheet_names)
    except Exception as err:  # noqa: BLE001
        return [Sheet(path, error=f"not readable as a workbook ({err})")]
    out = []
    for i, name in enumerate(names):
        sheet = Sheet(path, sheet=name if len(names) > 1 else None, sheet_index=i)
        try:
            raw = book.load_sheet(i, header_row=None, dtypes="string", n_rows=_HEADER_SCAN)
            top = [list(r.values()) for r in raw.to_arrow().to_pylist()]
            if not top:
                sheet.error = "empty"
                out.append(sheet)
                continue
            h = _header_row(top)
            data = book.load_sheet(i, header_row=h, dtypes="string", n_rows=SAMPLE_ROWS)
            batch = data.to_arrow()
        except Exception as err:  # noqa: BLE001
            sheet.error = f"not readable ({str(err).splitlines()[0] if str(err) else err})"
            out.append(sheet)
            continue
        sheet.skip_rows = h
        sheet.header = [str(n).strip() for n in batch.schema.names]
        cols = [c.to_pylist() for c in batch.columns]
        sheet.rows = [list(r) for r in zip(*cols, strict=True)] if cols else []
        out.append(sheet)
    return out


def _read_parquet(path: Path) -> list[Sheet]:
    sheet = Sheet(path)
    try:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        sheet.header = list(pf.schema_arrow.names)
        batch = next(pf.iter_batches(batch_size=SAMPLE_ROWS), None)
    except Exception as err:  # noqa: BLE001
        sheet.error = f"not readable as Parquet ({err})"
        return [sheet]
    if batch is not None:
        cols = [[None if v is None else str(v) for v in c.to_pylist()] for c in batch.columns]
        sheet.rows = [list(r) for r in zip(*cols, strict=True)]
    return [sheet]


def read_samples(folder: Path) -> tuple[list[Sheet], list[str]]:
    """Samples of every data file of ``folder`` (and every sheet), and the names of the other
    files (not read)."""
    sheets: list[Sheet] = []
    other: list[str] = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith((".", "~$")) or p.name in NOT_DATA:
            continue
        low = p.name.lower()
        if low.endswith(CSV_SUFFIXES):
            sheets += _read_csv(p)
        elif low.endswith(EXCEL_SUFFIXES):
            sheets += _read_excel(p)
        elif low.endswith(".parquet"):
            sheets += _read_parquet(p)
        else:
            other.append(p.name)
    return sheets, other


# --- recognition -----------------------------------------------------------------------------
def header_candidates(table: str, column: str, headers: list[str]) -> list[str]:
    """Headers among ``headers`` that name ``table.column`` (best first)."""
    syn = SYNONYMS.get(table, {}).get(column, [])
    ranked = []
    for h in headers:
        n = norm(h)
        if n in syn:
            ranked.append((syn.index(n), h))
    return [h for _, h in sorted(ranked)]


def _personal(header: str) -> bool:
    n = norm(header)
    return any(w in n for w in PERSONAL) and not n.endswith("id")


@dataclass
class Family:
    """Files holding one table: same name apart from digits, same header."""

    sheets: list[Sheet]
    pattern: str  # a name or a glob matching exactly these files

    @property
    def first(self) -> Sheet:
        return self.sheets[0]

    @property
    def label(self) -> str:
        if len(self.sheets) == 1:
            return self.first.label
        return f"{self.pattern} ({len(self.sheets)} files)"


def _families(sheets: list[Sheet], folder: Path) -> list[Family]:
    groups: dict[tuple, list[Sheet]] = {}
    for s in sheets:
        if s.error or not s.header:
            continue
        stem = re.sub(r"\d+([-_.]\d+)*", "*", s.file.name)
        key = (stem, s.sheet if s.sheet and not s.sheet.startswith("Sheet") else None,
               tuple(norm(h) for h in s.header))  # fmt: skip
        groups.setdefault(key, []).append(s)
    out = []
    for (stem, _, _), members in groups.items():
        files = sorted({m.file.name for m in members})
        pattern = files[0]
        if len(files) > 1:
            matched = sorted(p.name for p in folder.glob(stem) if p.is_file())
            pattern = stem if matched == files else files[0]
            if pattern != stem:  # the glob would take other files too: one family per file
                for m in members:
                    out.append(Family([m], m.file.name))
                continue
        out.append(Family(members, pattern))
    return out


@dataclass
class TableMatch:
    """A contract table recognised in a family of files."""

    table: str
    family: Family
    columns: dict[str, str]  # contract column -> header
    score: float
    by_content: set[str] = field(default_factory=set)


def _kind(table: str, column: str) -> str:
    return next(c.kind for c in C.TABLES[table] if c.name == column)


def _content_fits(kind: str, values: list[str]) -> bool:
    if not values:
        return False
    if kind in (C.TIMESTAMP, C.DATE):
        iso = sum(_is_iso(v) for v in values)
        return iso == len(values) or guess_time_format(values) is not None
    if kind == C.FLOAT:
        return all(_is_number(v) or _is_money(v) for v in values)
    if kind == C.STATUS:
        return all(v.strip().lower() in STATUS_WORDS for v in values)
    return True


def _match(table: str, fam: Family) -> TableMatch | None:
    sheet = fam.first
    headers = [h for h in sheet.header if h]
    used: set[str] = set()
    columns: dict[str, str] = {}
    content: set[str] = set()
    spec = C.TABLES[table]
    # columns named by their header, best-ranked synonym first; content must not contradict
    for col in spec:
        for h in header_candidates(table, col.name, headers):
            if h in used:
                continue
            vals = sheet.column(h)[:200]
            if col.kind in (C.TIMESTAMP, C.DATE, C.FLOAT) and vals:
                if not _content_fits(col.kind, vals):
                    continue
            columns[col.name] = h
            used.add(h)
            break
    # a required timestamp/amount column no header names: found by its content (only in a
    # file whose name suggests the table)
    name = (fam.first.file.name + " " + (fam.first.sheet or "")).lower()
    hint = any(w in name for w in TABLE_HINTS[table])
    for col in spec:
        if hint and col.required and col.name not in columns and col.kind in (C.TIMESTAMP, C.FLOAT):
            for h in headers:
                if h in used or _personal(h):
                    continue
                vals = sheet.column(h)[:200]
                if col.kind == C.FLOAT and vals and all(_is_number(v) for v in vals):
                    continue  # plain numbers: could be any count; too weak without a header
                if _content_fits(col.kind, vals):
                    columns[col.name] = h
                    used.add(h)
                    content.add(col.name)
                    break
    required = [c.name for c in spec if c.required]
    found = [c for c in required if c in columns]
    if len(found) < len(required):
        return None
    optional = len(columns) - len(found)
    score = 10.0 * len(found) / len(required) + optional + (5.0 if hint else 0.0)
    score -= 2.0 * len(content)
    score += len(columns) / max(1, len(headers))  # a table using most of the file's columns
    return TableMatch(table, fam, columns, score, content)


def _assign(families: list[Family]) -> list[TableMatch]:
    candidates = [m for f in families for t in C.TABLES if (m := _match(t, f)) is not None]
    candidates.sort(key=lambda m: -m.score)
    taken_tables: set[str] = set()
    taken_fams: set[int] = set()
    out = []
    for m in candidates:
        if m.table in taken_tables or id(m.family) in taken_fams:
            continue
        out.append(m)
        taken_tables.add(m.table)
        taken_fams.add(id(m.family))
    order = list(C.TABLES)
    return sorted(out, key=lambda m: order.index(m.table))


# --- the draft -------------------------------------------------------------------------------
@dataclass
class Draft:
    """What :func:`draft` recognised (for the CLI's report)."""

    text: str
    matches: list[TableMatch]
    unread_files: list[str]  # files or sheets no table takes
    unused_columns: dict[str, list[str]]  # table -> headers not mapped
    personal_columns: dict[str, list[str]]  # table -> personal headers (never read)
    formats: dict[str, dict[str, str]]  # table -> column -> format
    values: dict[str, dict[str, dict[str, Any]]]  # table -> column -> value map
    undecided: dict[str, dict[str, list[str]]]  # table -> column -> raw values left unmapped
    channels: dict[str, str]  # raw channel -> guessed canonical key
    unknown_channels: list[str]  # raw channel names without a guess
    missing_tables: list[str]  # contract tables not found

    @property
    def ok(self) -> bool:
        """Whether the users table was found (the one table a source must have)."""
        return any(m.table == "users" for m in self.matches)


def _y(value: Any) -> str:
    """A YAML scalar or flow collection on one line."""
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[:-4].strip()
    elif text.endswith("..."):
        text = text[:-3].strip()
    return text


def _guess_channel(raw: str) -> str | None:
    low = raw.lower()
    for word, canon in CHANNEL_WORDS:
        if word in low:
            return canon
    return None


def draft(folder: str | Path) -> Draft:
    """Recognise the tables of ``folder`` and return the draft description (not written)."""
    from growthlab.data.channels import CANONICAL, load_map

    folder = Path(folder)
    sheets, other = read_samples(folder)
    families = _families(sheets, folder)
    matches = _assign(families)
    lookup = load_map()
    taken = {id(m.family) for m in matches}
    unread = [f.label for f in families if id(f) not in taken]
    unread += [f"{s.label} ({s.error})" for s in sheets if s.error and s.error != "empty"]
    unread += [s.label + " (empty)" for s in sheets if s.error == "empty"]
    unread += other
    formats: dict[str, dict[str, str]] = {}
    values: dict[str, dict[str, dict[str, Any]]] = {}
    undecided: dict[str, dict[str, list[str]]] = {}
    unused: dict[str, list[str]] = {}
    personal: dict[str, list[str]] = {}
    channels: dict[str, str] = {}
    unknown_channels: list[str] = []
    for m in matches:
        sample = [s for s in m.family.sheets]
        mapped = set(m.columns.values())
        for h in m.family.first.header:
            if h and h not in mapped:
                (personal if _personal(h) else unused).setdefault(m.table, []).append(h)
        for col, h in m.columns.items():
            kind = _kind(m.table, col)
            vals = [v for s in sample for v in s.column(h)]
            if kind in (C.TIMESTAMP, C.DATE):
                fmt = guess_time_format(vals)
                if fmt:
                    formats.setdefault(m.table, {})[col] = fmt
            elif kind == C.FLOAT:
                if any(looks_like_money(v) for v in vals):
                    formats.setdefault(m.table, {})[col] = "money"
            elif kind == C.STATUS:
                distinct = sorted({v.strip() for v in vals})
                vm, left = {}, []
                for v in distinct:
                    canon = STATUS_WORDS.get(v.lower())
                    if canon and v.lower() not in C.ORDER_STATUSES:
                        vm[v] = canon
                    elif not canon:
                        left.append(v)
                if vm:
                    values.setdefault(m.table, {})[col] = vm
                if left:
                    undecided.setdefault(m.table, {})[col] = left
            elif kind == C.BOOL:
                distinct = sorted({v.strip() for v in vals})
                vm, left = {}, []
                for v in distinct:
                    if v.lower() in BOOL_WORDS:
                        if v.lower() not in ("true", "false", "1", "0", "yes", "no", "是", "否"):
                            vm[v] = BOOL_WORDS[v.lower()]
                    else:
                        left.append(v)
                if vm:
                    values.setdefault(m.table, {})[col] = vm
                if left:
                    undecided.setdefault(m.table, {})[col] = left
            elif kind == C.CHANNEL:
                for v in sorted({v.strip() for v in vals}):
                    if v.lower() in lookup or v in channels or v in unknown_channels:
                        continue
                    guess = _guess_channel(v)
                    if guess:
                        channels[v] = guess
                    else:
                        unknown_channels.append(v)
    found = {m.table for m in matches}
    missing = [t for t in C.TABLES if t not in found]
    d = Draft(
        "",
        matches,
        unread,
        unused,
        personal,
        formats,
        values,
        undecided,
        channels,
        unknown_channels,
        missing,
    )
    d.text = _render(d, folder, CANONICAL)
    return d


def _render(d: Draft, folder: Path, canonical: tuple[str, ...]) -> str:
    lines = [
        f"# growthlab source description for {folder.name}/ — a draft written by `growthlab init`.",
        "# It says which files hold each table of the data contract and how to read them; the",
        "# data files are never changed. Check it, then run `growthlab validate` on this folder.",
        '# Format: data/README.md ("Describing your files"). Keys: tables.<table>.files (names',
        "# or globs; several files are one table), sheet, encoding, skip_rows, columns",
        "# (contract column: source header), formats (strptime patterns, excel, epoch_s,",
        "# epoch_ms, money) and values (raw value: contract value).",
        "version: 1",
        "timezone: Asia/Shanghai   # zone of timestamps without an offset",
        "currency: CNY",
        "# as_of: 2025-06-30       # analysis date; default: the latest timestamp in the data",
    ]
    if d.channels or d.unknown_channels:
        lines.append(
            "channels:                 # raw channel name: canonical key (over channels.yaml)"
        )
        for raw, canon in sorted(d.channels.items()):
            lines.append(f"  {_y(raw)}: {canon}   # guessed from the name: check")
        for raw in d.unknown_channels:
            lines.append(f"  # {_y(raw)}: ?   # one of {', '.join(canonical)}")
    lines.append("tables:")
    for m in d.matches:
        fam = m.family
        first = fam.first
        lines.append(f"  {m.table}:")
        lines.append(f"    files: {_y(fam.pattern)}"
                     + (f"   # {len(fam.sheets)} files, read as one table" if len(fam.sheets) > 1 else ""))  # fmt: skip
        if first.sheet is not None:
            lines.append(f"    sheet: {_y(first.sheet)}")
        if first.encoding and first.encoding != "utf-8":
            lines.append(f"    encoding: {first.encoding}   # detected")
        if first.skip_rows:
            lines.append(f"    skip_rows: {first.skip_rows}   # lines above the header")
        lines.append("    columns:")
        for col in [c.name for c in C.TABLES[m.table] if c.name in m.columns]:
            note = "   # found by its content: check" if col in m.by_content else ""
            lines.append(f"      {col}: {_y(m.columns[col])}{note}")
        for h in d.unused_columns.get(m.table, []):
            lines.append(f"      # {_y(h)} is not a contract column: not read")
        for h in d.personal_columns.get(m.table, []):
            lines.append(f"      # {_y(h)}: personal data, never read")
        fm = d.formats.get(m.table, {})
        if fm:
            lines.append("    formats:")
            for col, f in fm.items():
                note = {"money": "currency signs and thousands separators stripped"}.get(
                    f, "checked on the sample"
                )
                lines.append(f"      {col}: {_y(f)}   # {note}")
        vm = d.values.get(m.table, {})
        und = d.undecided.get(m.table, {})
        if vm or und:
            lines.append("    values:" if vm else "    # values:")
            for col in sorted(set(vm) | set(und)):
                active = bool(vm.get(col))
                lines.append(f"      {col}:" if active else f"    #   {col}:")
                for raw, val in vm.get(col, {}).items():
                    lines.append(f"        {_y(raw)}: {_y(val)}")
                for raw in und.get(col, []):
                    allowed = (
                        "paid or refunded" if _kind(m.table, col) == C.STATUS else "true/false"
                    )
                    lines.append(f"    #     {_y(raw)}: ?   # not recognised: {allowed}")
    if not d.matches:
        lines.append("  # no table recognised: name the users file here, e.g.")
        lines.append("  # users: {files: users.csv, columns: {user_id: ID, signup_at: Created}}")
    for t in d.missing_tables:
        lines.append(f"  # {t}: not found{' (required)' if t in C.REQUIRED_TABLES else ''}")
    return "\n".join(lines) + "\n"


def summary(d: Draft, folder: Path, written: Path | None) -> str:
    """What ``growthlab init`` prints: mapped, not mapped, next commands."""
    out = []
    if written is not None:
        out.append(f"wrote {written} (a draft: read it; the data files were not changed)")
    out.append("")
    out.append("recognised:")
    if not d.matches:
        out.append("  nothing")
    for m in d.matches:
        enc = (
            f", {m.family.first.encoding}" if m.family.first.encoding not in (None, "utf-8") else ""
        )
        out.append(f"  {m.table:<12} <- {m.family.label}{enc}")
        cols = []
        for col in [c.name for c in C.TABLES[m.table] if c.name in m.columns]:
            text = f"{col} <- {m.columns[col]}"
            f = d.formats.get(m.table, {}).get(col)
            if f:
                text += f" [{f}]"
            if col in m.by_content:
                text += " (by content)"
            cols.append(text)
        out.append("               " + "; ".join(cols))
        vm = d.values.get(m.table, {})
        for col, mp in vm.items():
            shown = ", ".join(f"{k} -> {v}" for k, v in mp.items())
            out.append(f"               values {col}: {shown}")
    lines_not = []
    if d.unread_files:
        lines_not.append("  files not used: " + ", ".join(d.unread_files))
    for t, hs in d.unused_columns.items():
        lines_not.append(f"  {t}: columns outside the contract (not read): " + ", ".join(hs))
    for t, hs in d.personal_columns.items():
        lines_not.append(f"  {t}: personal data (never read): " + ", ".join(hs))
    for t, cols in d.undecided.items():
        for col, vals in cols.items():
            lines_not.append(
                f"  {t}.{col}: values to decide in tables.{t}.values.{col}: " + ", ".join(vals)
            )
    if d.channels:
        lines_not.append(
            "  channels guessed from their names (check): "
            + ", ".join(f"{k} -> {v}" for k, v in d.channels.items())
        )
    if d.unknown_channels:
        lines_not.append(
            "  channels kept as they are (add them under 'channels:'): "
            + ", ".join(d.unknown_channels)
        )
    if lines_not:
        out.append("")
        out.append("not mapped / to check:")
        out += lines_not
    opt = [t for t in d.missing_tables if t not in C.REQUIRED_TABLES]
    if opt:
        out.append("")
        out.append(
            "not found (optional; the sections that need them are skipped): " + ", ".join(opt)
        )
    out.append("")
    if d.ok:
        out.append("next:")
        out.append(f"  growthlab validate {folder}")
        out.append(f"  growthlab run --source {folder}")
    else:
        out.append(
            f"no users table recognised: name its file and columns in {folder / DESCRIPTION_FILE} "
            f"(tables.users), then run: growthlab validate {folder}"
        )
    return "\n".join(out)


def init(
    folder: str | Path, *, force: bool = False, write: bool = True
) -> tuple[Draft, Path | None]:
    """Write the draft ``growthlab.yaml`` of ``folder`` (see :func:`draft`).

    An existing description is kept unless ``force`` (then it is saved as
    ``.growthlab.yaml.bak``). Returns the draft and the path written (None when not written).
    """
    from growthlab.errors import ConfigError

    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder (growthlab init takes the export folder)")
    target = folder / DESCRIPTION_FILE
    if write and target.exists() and not force:
        raise ConfigError(
            f"{target} exists; pass --force to replace it (it is kept as .{DESCRIPTION_FILE}.bak)"
        )
    if not any(s for s in folder.iterdir() if s.name.lower().endswith(DATA_SUFFIXES)):
        raise ConfigError(
            f"{folder}: no CSV, Excel or Parquet file found "
            f"(files there: {', '.join(p.name for p in sorted(folder.iterdir())) or 'none'})"
        )
    d = draft(folder)
    if not write:
        return d, None
    try:
        if target.exists():
            target.replace(folder / f".{DESCRIPTION_FILE}.bak")
        target.write_text(d.text, encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot write {target}: {err}") from err
    return d, target
