"""The QualityReport: what validation found, what was quarantined, what looks odd.

Built by the loader (``growthlab.data.load``) and shown by ``growthlab validate`` and the
data-quality notebook (SPEC §4.1). Frames are plain pandas so notebooks can display them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from growthlab.data.contract import QUARANTINE_RULES, Problem


def _frame(problems: list[Problem]) -> pd.DataFrame:
    cols = ["table", "column", "rule", "rows", "examples", "detail"]
    return pd.DataFrame(
        [
            {
                "table": p.table,
                "column": p.column,
                "rule": p.rule,
                "rows": p.count,
                "examples": list(p.rows),
                "detail": p.detail,
            }
            for p in problems
        ],
        columns=cols,
    )


@dataclass
class QualityReport:
    """Result of validating and normalising a source.

    Attributes
    ----------
    problems: fatal contract violations (empty for a loaded Dataset: they raise instead).
    quarantined: rows excluded, one :class:`Problem` per (table, rule[, column]).
    warnings: problems reported but kept (unknown channels, consistency, freshness, and
        ``empty_table``: an optional table without valid rows, treated as absent).
    notes: information only, e.g. ``unused_columns``: source columns outside the contract, which
        are never read (their names, never their values).
    tables: per table ``rows_source, rows_quarantined, rows_kept, first, last, origin``.
    nulls: per table and column ``rows, nulls, null_rate`` (of the source rows).
    unknown_channels: ``table, column, raw, rows`` for raw channel names not in the mapping.
    identity: OneID counts (users, persons, merged_persons, merged_users).
    largest_persons: the largest merged identity groups (``person_id, users``).
    as_of, timezone: the analysis instant (naive UTC) and the source time zone.
    """

    problems: list[Problem] = field(default_factory=list)
    quarantined: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    tables: pd.DataFrame = field(default_factory=pd.DataFrame)
    nulls: pd.DataFrame = field(default_factory=pd.DataFrame)
    unknown_channels: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["table", "column", "raw", "rows"])
    )
    identity: dict[str, int] = field(default_factory=dict)
    largest_persons: pd.DataFrame = field(default_factory=pd.DataFrame)
    as_of: pd.Timestamp | None = None
    timezone: str = "Asia/Shanghai"
    encodings: dict[str, str] = field(default_factory=dict)

    # --- frames for notebooks -------------------------------------------------------------
    @property
    def quarantine(self) -> pd.DataFrame:
        """Quarantined rows per table and rule: ``table, column, rule, rows, examples``."""
        return _frame(self.quarantined)

    @property
    def warning_frame(self) -> pd.DataFrame:
        """Warnings as a frame: ``table, column, rule, rows, examples, detail``."""
        return _frame(self.warnings)

    @property
    def note_frame(self) -> pd.DataFrame:
        """Notes as a frame: ``table, column, rule, rows, examples, detail``."""
        return _frame(self.notes)

    def counts(self) -> dict[str, int]:
        """Quarantined rows per rule over all tables (every rule present, zeros included)."""
        out = dict.fromkeys(QUARANTINE_RULES, 0)
        for p in self.quarantined:
            out[p.rule] = out.get(p.rule, 0) + p.count
        return out

    def count(self, table: str, rule: str) -> int:
        """Rows of ``table`` quarantined under ``rule``."""
        return sum(p.count for p in self.quarantined if p.table == table and p.rule == rule)

    @property
    def ok(self) -> bool:
        """True when there is no fatal problem."""
        return not self.problems

    # --- text ----------------------------------------------------------------------------
    def summary(self) -> str:
        """A readable multi-line summary (what ``growthlab validate`` prints)."""
        lines: list[str] = []
        status = "OK" if self.ok else f"INVALID ({len(self.problems)} problem(s))"
        lines.append(f"data contract: {status}")
        if self.as_of is not None:
            lines.append(f"as_of: {self.as_of} UTC (source time zone {self.timezone})")
        if len(self.tables):
            lines.append("")
            lines.append("tables:")
            for r in self.tables.itertuples(index=False):
                span = ""
                if pd.notna(r.first):
                    span = f"  {r.first} .. {r.last}"
                lines.append(
                    f"  {r.table:<12} {r.rows_source:>12,} rows, {r.rows_quarantined:>9,} "
                    f"quarantined, {r.rows_kept:>12,} kept{span}"
                )
        if self.problems:
            lines.append("")
            lines.append("problems (the source must be fixed):")
            lines += [f"  - {p}" for p in self.problems]
        lines.append("")
        if self.quarantined:
            total = sum(p.count for p in self.quarantined)
            lines.append(f"quarantined ({total:,} row(s) excluded):")
            lines += [f"  - {p}" for p in self.quarantined]
        else:
            lines.append("quarantined: none")
        if self.warnings:
            lines.append("")
            lines.append("warnings (rows kept):")
            lines += [f"  - {p}" for p in self.warnings]
        if self.notes:
            lines.append("")
            lines.append("notes:")
            lines += [f"  - {p}" for p in self.notes]
        if len(self.unknown_channels):
            lines.append("")
            lines.append("unknown channel names (kept as-is; add them to channels.yaml):")
            for r in self.unknown_channels.head(20).itertuples(index=False):
                lines.append(f"  - {r.table}.{r.column}: {r.raw!r} ({r.rows:,} rows)")
        if self.identity:
            i = self.identity
            lines.append("")
            lines.append(
                f"identity (OneID): {i.get('users', 0):,} users -> {i.get('persons', 0):,} "
                f"persons; {i.get('merged_users', 0):,} users in "
                f"{i.get('merged_persons', 0):,} merged groups"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (counts only, no row-level data)."""
        return {
            "ok": self.ok,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "timezone": self.timezone,
            "problems": [str(p) for p in self.problems],
            "quarantined": self.counts(),
            "warnings": [str(p) for p in self.warnings],
            "notes": [str(p) for p in self.notes],
            "identity": dict(self.identity),
        }

    def __str__(self) -> str:
        return self.summary()
