"""One failing example per contract rule (SPEC §3): every problem names table, column, rule."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import tiny_frames

from growthlab.data import contract as C
from growthlab.data import load
from growthlab.errors import DataContractError


def _problems(source) -> list:
    with pytest.raises(DataContractError) as info:
        load(source)
    return info.value.problems


def _find(problems, table, column, rule):
    hits = [p for p in problems if (p.table, p.column, p.rule) == (table, column, rule)]
    assert hits, f"no {table}.{column} {rule} in {[str(p) for p in problems]}"
    return hits[0]


@pytest.fixture(scope="module")
def broken():
    """One source breaking every row-level and key rule at once; loaded once."""
    f = tiny_frames()
    f["users"] = pd.concat(
        [
            f["users"],
            pd.DataFrame(
                {
                    "user_id": ["u5", "u1", None],
                    "signup_at": ["yesterday", "2024-01-09", "2024-01-09"],
                    "channel": ["短信", "短信", "短信"],
                }
            ),
        ],
        ignore_index=True,
    )
    f["users"]["consent_marketing"] = ["yes", "no", "是", "maybe", None, None, None]
    f["events"].loc[1, "channel"] = None
    f["orders"].loc[2, "status"] = "shipped"
    f["orders"]["amount"] = ["10", "abc", "3"]
    f["orders"].loc[1, "order_id"] = "o1"
    f["referrals"].loc[0, "invited_at"] = "not a time"
    f["costs"] = pd.DataFrame(
        {"date": ["2024-01-01", "2024-13-45"], "channel": ["广告", "抖音"], "spend": [5.0, 6.0]}
    )
    f["assignments"] = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u2"],
            "experiment_id": ["e1", "e1", "e1"],
            "variant": ["control", "control", "treatment"],
        }
    )
    f["paths"] = pd.DataFrame({"path": ["wecom > sms", "sms"], "conversions": [3, -1]})
    with pytest.raises(DataContractError) as info:
        load(f)
    return info.value


CASES = [
    ("users", "signup_at", C.R_TYPE, (5,)),
    ("users", "consent_marketing", C.R_TYPE, (4,)),
    ("users", "user_id", C.R_NOT_NULL, (7,)),
    ("users", "user_id", C.R_UNIQUE, (1, 6)),
    ("events", "channel", C.R_NOT_NULL, (2,)),
    ("orders", "status", C.R_VOCAB, (3,)),
    ("orders", "amount", C.R_TYPE, (2,)),
    ("orders", "order_id", C.R_UNIQUE, (1, 2)),
    ("referrals", "invited_at", C.R_TYPE, (1,)),
    ("costs", "date", C.R_TYPE, (2,)),
    ("assignments", "variant", C.R_ONE_VARIANT, (2, 3)),
    ("paths", "conversions", C.R_RANGE, (2,)),
]


@pytest.mark.parametrize(("table", "column", "rule", "rows"), CASES)
def test_each_rule_is_reported_with_rows(broken, table, column, rule, rows):
    p = _find(broken.problems, table, column, rule)
    assert p.rows == rows
    assert p.count == len(rows)
    line = f"{table}.{column}: rule {rule!r}"
    assert line in str(broken)


def test_all_problems_reported_at_once(broken):
    assert len(broken.problems) == len(CASES)
    assert str(broken).startswith(f"the source breaks the data contract ({len(CASES)} problem")


def test_missing_users_table():
    f = tiny_frames()
    del f["users"]
    p = _find(_problems(f), "users", None, C.R_TABLE)
    assert "users" in str(p) and C.R_TABLE in str(p)


def test_missing_required_column_and_empty_users():
    f = tiny_frames()
    f["orders"] = f["orders"].drop(columns=["amount"])
    f["users"] = f["users"].iloc[0:0]
    problems = _problems(f)
    _find(problems, "orders", "amount", C.R_COLUMN)
    _find(problems, "users", None, C.R_EMPTY)


def test_examples_capped_at_five():
    f = tiny_frames()
    f["events"] = pd.concat([f["events"]] * 3, ignore_index=True)
    f["events"]["ts"] = ["bad"] * 12
    p = _find(_problems(f), "events", "ts", C.R_TYPE)
    assert p.count == 12
    assert p.rows == (1, 2, 3, 4, 5)
