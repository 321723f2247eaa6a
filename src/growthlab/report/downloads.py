"""Downloadable tables (CSV and XLSX) that Excel opens safely: one writer for the report's
table downloads (:func:`growthlab.report.notebook.save_table`) and the lists of people
(:mod:`growthlab.report.lists`).

Data strings are hostile here too: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return is run by Excel as a formula ("CSV injection", OWASP) — ``=HYPERLINK(...)``
in a campaign id would be a live link in an analyst's spreadsheet. CSV cells of that kind that
are not numbers get a leading ``'``; XLSX cells are stored as text, never as formulas.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

_FORMULA = re.compile(r"^[=+\-@\t\r]")


def _is_number(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").notna()


def csv_bytes(frame: pd.DataFrame, float_format: str | None = None) -> tuple[bytes, int]:
    """UTF-8 CSV with a BOM (so Excel reads Chinese); (bytes, number of text cells given a
    leading ``'`` so that Excel does not run them as formulas: those starting with
    = + - @ or a tab/CR that are not numbers)."""
    f = frame.copy()
    escaped = 0
    for col in f.columns:
        s = f[col]
        if s.dtype != object and not pd.api.types.is_string_dtype(s):
            continue
        text = s.astype("string")
        risky = text.str.match(_FORMULA.pattern).fillna(False).astype(bool) & ~_is_number(s)
        if risky.any():
            escaped += int(risky.sum())
            f[col] = s.astype(object).where(~risky, "'" + text.astype(object))
    text = f.to_csv(index=False, lineterminator="\n", float_format=float_format)
    return text.encode("utf-8-sig"), escaped


def _cell_values(frame: pd.DataFrame) -> list[list[Any]]:
    f = frame.astype(object).where(frame.notna(), None)
    return f.to_numpy().tolist()


def xlsx_bytes(
    frame: pd.DataFrame,
    sheet: str,
    notes: Sequence[Sequence[str]] | None = None,
    notes_sheet: str = "notes",
) -> bytes:
    """An XLSX workbook: sheet ``sheet`` with the rows of ``frame`` (header = column names),
    every text cell stored as text (never a formula), characters XLSX cannot hold replaced by
    U+FFFD; with ``notes``, a second sheet ``notes_sheet`` of those rows of text (what the
    table and its columns are)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook(write_only=True)

    def put(ws, rows: list[list[Any]]) -> None:
        for row in rows:
            cells = []
            for v in row:
                if isinstance(v, str):
                    c = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", v))
                    c.data_type = "s"  # text, even when it starts with "="
                    cells.append(c)
                elif isinstance(v, np.bool_):
                    cells.append(bool(v))
                else:
                    cells.append(v)
            ws.append(cells)

    ws = wb.create_sheet(sheet[:31])
    put(ws, [list(map(str, frame.columns)), *_cell_values(frame)])
    if notes is not None:
        put(wb.create_sheet(notes_sheet[:31]), [list(r) for r in notes])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
