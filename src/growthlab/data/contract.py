"""The data contract of SPEC §3: tables, columns, kinds and the names of the rules.

Every problem the validator finds is a :class:`Problem` naming the table, the column, the rule,
how many rows break it and up to five example row numbers (1 = first data row of the table, i.e.
line 2 of a CSV file with its header).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column kinds: how a raw value is parsed and normalised.
ID = "id"  # string identifier, trimmed, empty -> missing
TEXT = "text"  # free text / vocabulary, trimmed
TIMESTAMP = "timestamp"  # ISO 8601; naive values read in the run's timezone, held as naive UTC
DATE = "date"  # calendar date
FLOAT = "float"  # number
BOOL = "bool"  # true/false/1/0/yes/no/是/否
CHANNEL = "channel"  # raw channel name -> canonical key (raw kept in <column>_raw)
STATUS = "status"  # order status: paid | refunded (missing -> paid)

#: Id columns whose values are labels in reports (campaigns, experiments), not keys of people:
#: personal data in them is masked like in text columns (privacy.mask_personal_sql); person
#: ids are pseudonymised on display instead, and stay intact for joins.
LABEL_IDS = frozenset({"campaign_id", "experiment_id"})
#: Separator of channels in a journey path (``paths.path``, journeys built from events); a ">"
#: inside a channel name becomes "›" so it cannot split a path.
PATH_SEPARATOR = ">"


@dataclass(frozen=True)
class Column:
    """One contract column: ``name``, parsing ``kind`` and whether it is ``required``."""

    name: str
    kind: str
    required: bool = False


def _cols(*spec: tuple[str, str, bool]) -> tuple[Column, ...]:
    return tuple(Column(n, k, r) for n, k, r in spec)


#: The tables of SPEC §3 in load order (users first: other tables reference it).
TABLES: dict[str, tuple[Column, ...]] = {
    "users": _cols(
        ("user_id", ID, True),
        ("signup_at", TIMESTAMP, True),
        ("channel", CHANNEL, False),
        ("campaign_id", ID, False),
        ("city", TEXT, False),
        ("gender", TEXT, False),
        ("age_band", TEXT, False),
        ("consent_marketing", BOOL, False),
    ),
    "referrals": _cols(
        ("inviter_id", ID, True),
        ("invitee_id", ID, True),
        ("invited_at", TIMESTAMP, True),
        ("campaign_id", ID, False),
        ("share_channel", CHANNEL, False),
        ("reward", FLOAT, False),
    ),
    "events": _cols(
        ("user_id", ID, True),
        ("ts", TIMESTAMP, True),
        ("channel", CHANNEL, True),
        ("event", TEXT, True),
        ("campaign_id", ID, False),
        ("cost", FLOAT, False),
    ),
    "orders": _cols(
        ("order_id", ID, True),
        ("user_id", ID, True),
        ("ts", TIMESTAMP, True),
        ("amount", FLOAT, True),
        ("status", STATUS, False),
    ),
    "identities": _cols(
        ("user_id", ID, True),
        ("id_type", TEXT, True),
        ("id_value", ID, True),
    ),
    "costs": _cols(
        ("date", DATE, True),
        ("channel", CHANNEL, True),
        ("spend", FLOAT, True),
        ("campaign_id", ID, False),
    ),
    "assignments": _cols(
        ("user_id", ID, True),
        ("experiment_id", ID, True),
        ("variant", TEXT, True),
        ("assigned_at", TIMESTAMP, False),
    ),
    "paths": _cols(
        ("path", TEXT, True),
        ("conversions", FLOAT, True),
        ("nulls", FLOAT, False),
        ("value", FLOAT, False),
    ),
}

#: Only ``users`` is always required (SPEC §3).
REQUIRED_TABLES: tuple[str, ...] = ("users",)

#: Columns that must be unique (after exact duplicate rows are quarantined).
UNIQUE: dict[str, tuple[str, ...]] = {"users": ("user_id",), "orders": ("order_id",)}

#: Columns referencing ``users.user_id`` (orphans are quarantined).
REFERENCES: dict[str, tuple[str, ...]] = {
    "referrals": ("inviter_id", "invitee_id"),
    "events": ("user_id",),
    "orders": ("user_id",),
    "identities": ("user_id",),
    "assignments": ("user_id",),
}

#: The main timestamp column of a table: it gives the default ``as_of`` (latest timestamp not
#: after the run's clock), the first/last coverage and the freshness warning. Every
#: timestamp/date column (see :func:`time_columns`) is checked against ``min_date`` and ``as_of``.
TIME_COLUMNS: dict[str, str] = {
    "users": "signup_at",
    "referrals": "invited_at",
    "events": "ts",
    "orders": "ts",
    "assignments": "assigned_at",
}

#: Money columns that must be >= 0 (negative rows are quarantined).
AMOUNTS: dict[str, str] = {"orders": "amount", "costs": "spend"}

#: Default floor of plausible timestamps (``load(min_date=...)``): rows dated earlier, in any
#: timestamp/date column, are quarantined as ``before_min_date`` (e.g. 1970-01-01 placeholders).
DEFAULT_MIN_DATE = "2000-01-01"


def declared(table: str) -> tuple[str, ...]:
    """Names of the contract columns of ``table`` (the only source columns that are read)."""
    return tuple(c.name for c in TABLES[table])


def time_columns(table: str) -> tuple[Column, ...]:
    """The timestamp and date columns of ``table`` (checked against min_date and as_of)."""
    return tuple(c for c in TABLES[table] if c.kind in (TIMESTAMP, DATE))


def number_columns(table: str) -> tuple[Column, ...]:
    """The numeric columns of ``table`` (amounts, spends, costs, counts): must be finite."""
    return tuple(c for c in TABLES[table] if c.kind == FLOAT)


#: Pre-aggregated counts that must be >= 0 (a negative value is a contract violation).
NON_NEGATIVE: dict[str, tuple[str, ...]] = {"paths": ("conversions", "nulls", "value")}

ORDER_STATUSES: tuple[str, ...] = ("paid", "refunded")
#: Accepted spellings of the order statuses (lower-cased raw -> canonical).
STATUS_SYNONYMS: dict[str, str] = {
    "paid": "paid",
    "pay": "paid",
    "completed": "paid",
    "success": "paid",
    "已支付": "paid",
    "支付成功": "paid",
    "已付款": "paid",
    "refunded": "refunded",
    "refund": "refunded",
    "已退款": "refunded",
    "退款": "refunded",
}

CANONICAL_EVENTS: tuple[str, ...] = (
    "reach",
    "click",
    "visit",
    "engage",
    "share",
    "invite_sent",
    "invite_click",
    "signup",
    "add_to_cart",
    "purchase",
    "unsubscribe",
    "complaint",
)
#: Canonical events that are not a user's activity: the brand's own touches (``reach``: a
#: message delivered, whether or not the user looked) and opt-outs (``unsubscribe``,
#: ``complaint``). Every other event is activity (``growthlab.data.features.activity_events``)
#: for lifecycle stages (with paid orders), cohort retention (events only) and activity after
#: signup (with orders; signup and invite_click excluded there as acquisition). With these
#: counted, a push sent to every dormant user would make them all "active" and "retained".
#: Matched by exact name: map an export's own names to these (``values:`` in growthlab.yaml).
NOT_ACTIVITY_EVENTS: tuple[str, ...] = ("reach", "unsubscribe", "complaint")

# Rule names (the words that appear in messages and QualityReport frames).
# Fatal: the run stops with DataContractError.
R_TABLE = "table_required"
R_COLUMN = "column_required"
R_EMPTY = "not_empty"
R_NOT_NULL = "not_null"
R_TYPE = "type"
R_UNIQUE = "unique"
R_VOCAB = "vocabulary"
R_RANGE = "non_negative"
R_ONE_VARIANT = "one_variant_per_user"
R_DUP_COLUMN = "duplicate_column"  # two header columns with the same name (file sources, frames)
R_RAGGED = "ragged_row"  # a CSV line with more or fewer fields than the header
R_CSV = "csv_syntax"  # a CSV line the parser rejects for another reason (quotes, encoding)
FATAL_RULES = (R_TABLE, R_COLUMN, R_EMPTY, R_NOT_NULL, R_TYPE, R_UNIQUE, R_VOCAB, R_RANGE)
FATAL_RULES += (R_ONE_VARIANT, R_DUP_COLUMN, R_RAGGED, R_CSV)
# Quarantinable: rows excluded and counted (priority order: a row is counted under the first).
Q_DUPLICATE = "duplicate"
Q_NON_FINITE = "non_finite"  # NaN, inf or -inf in a numeric column
Q_BEFORE_MIN = "before_min_date"  # a timestamp/date earlier than min_date
Q_FUTURE = "future_timestamp"
Q_NEGATIVE = "negative_amount"
Q_ORPHAN = "orphan"
Q_SELF = "self_referral"
Q_CONFLICT = "inviter_conflict"
Q_CYCLE = "cycle"
QUARANTINE_RULES = (Q_DUPLICATE, Q_NON_FINITE, Q_BEFORE_MIN, Q_FUTURE, Q_NEGATIVE, Q_ORPHAN)
QUARANTINE_RULES += (Q_SELF, Q_CONFLICT, Q_CYCLE)
# Warnings: reported in the QualityReport, rows kept.
W_UNKNOWN_CHANNEL = "unknown_channel"
W_ORDER_BEFORE_SIGNUP = "order_before_signup"
W_INVITED_AFTER_SIGNUP = "invited_after_invitee_signup"
W_STALE = "freshness"
W_EMPTY_TABLE = "empty_table"  # an optional table without valid rows: treated as absent
# Notes: information only (nothing wrong with the rows).
N_UNUSED_COLUMNS = "unused_columns"  # source columns outside the contract: never read
N_UNUSED_FILES = "unused_files"  # files of a folder source that no table reads


@dataclass(frozen=True)
class Problem:
    """One broken rule: where, what, how many rows, and example row numbers (1-based)."""

    table: str
    column: str | None
    rule: str
    count: int
    rows: tuple[int, ...] = field(default_factory=tuple)
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        text = f"{where}: rule {self.rule!r}"
        if self.count:
            text += f" broken by {self.count:,} row(s)"
        if self.rows:
            text += ", e.g. row(s) " + ", ".join(str(r) for r in self.rows)
        if self.detail:
            text += f" ({self.detail})"
        return text
