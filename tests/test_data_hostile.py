"""Hostile sources (issue #10): ragged CSV lines, duplicate headers, non-finite numbers,
implausible timestamps, empty tables and columns outside the contract.

Each case gets a clear DataContractError (table, column, rule, example rows) or a counted entry
in the QualityReport, never a traceback or a silent wrong number.
"""

from __future__ import annotations

import gzip

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import tiny_frames

from growthlab import cli
from growthlab.data import contract as C
from growthlab.data import load
from growthlab.errors import ConfigError, DataContractError

AS_OF = "2024-01-31"


def _write(folder, frames, fmt="csv"):
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in frames.items():
        if fmt == "csv":
            df.to_csv(folder / f"{name}.csv", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _problems(source, **kw) -> list:
    with pytest.raises(DataContractError) as info:
        load(source, **kw)
    return info.value.problems


def _one(problems, table, column, rule):
    hits = [p for p in problems if (p.table, p.column, p.rule) == (table, column, rule)]
    assert len(hits) == 1, [str(p) for p in problems]
    return hits[0]


def _quarantined(ds, table, rule):
    hits = [p for p in ds.quality.quarantined if (p.table, p.rule) == (table, rule)]
    assert len(hits) == 1, [str(p) for p in ds.quality.quarantined]
    return hits[0]


# ---- 1. ragged CSV lines -----------------------------------------------------------------


def test_ragged_lines_named_with_line_numbers_and_field_counts(tmp_path, capsys):
    folder = _write(tmp_path / "src", tiny_frames())
    (folder / "users.csv").write_text(
        "user_id,signup_at,channel,campaign_id\n"
        "u1,2024-01-01 10:00:00,企微,c1\n"
        "u2,2024-01-02 09:30:00,社群\n"  # line 3: 3 fields
        "u3,2024-01-03 20:00:00,小程序,\n"
        "u4,2024-01-05 08:00:00,短信,,oops\n",  # line 5: 5 fields
        encoding="utf-8",
    )
    problems = _problems(folder)
    assert [p.rule for p in problems] == [C.R_RAGGED]  # not 'column_required' nonsense
    p = problems[0]
    assert (p.table, p.column, p.count, p.rows) == ("users", None, 2, (2, 4))
    assert "users.csv: line 3 has 3 field(s); line 5 has 5 field(s); the header has 4" in p.detail
    assert cli.main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "users: rule 'ragged_row' broken by 2 row(s)" in err and "Traceback" not in err


def test_ragged_line_beyond_the_sniffer_sample_and_in_two_tables(tmp_path):
    """DuckDB sniffs the first 20,480 lines; a later ragged line fails the full read."""
    frames = tiny_frames()
    n = 25_000
    frames["users"] = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(1, n + 1)],
            "signup_at": "2024-01-01 10:00:00",
            "channel": "sms",
        }
    )
    folder = _write(tmp_path / "src", frames)
    lines = (folder / "users.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[22_000] = lines[22_000].rstrip("\n") + ",x,y\n"  # line 22,001 = data row 22,000
    (folder / "users.csv").write_text("".join(lines), encoding="utf-8")
    with gzip.open(folder / "orders.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write("order_id,user_id,ts,amount\no1,u1,2024-01-02 12:00:00\n")
    (folder / "orders.csv").unlink()
    problems = _problems(folder)
    users = _one(problems, "users", None, C.R_RAGGED)
    assert users.count == 1 and users.rows == (22_000,)
    assert "line 22001 has 5 field(s); the header has 3" in users.detail
    orders = _one(problems, "orders", None, C.R_RAGGED)
    assert orders.rows == (1,) and "orders.csv.gz: line 2 has 3 field(s)" in orders.detail


def test_ragged_file_after_an_empty_one_is_the_only_problem(tmp_path):
    """An empty file among a table's files is just no rows, also when a later file of the
    table is broken: the ragged line is the problem, not 'users is empty'."""
    folder = _write(tmp_path / "src", tiny_frames())
    (folder / "users.csv").unlink()
    (folder / "users_1.csv").write_text("", encoding="utf-8")
    (folder / "users_2.csv").write_text(
        "user_id,signup_at\nu1,2024-01-01 10:00:00\nu2,2024-01-02 10:00:00,x\n", encoding="utf-8"
    )
    (folder / "growthlab.yaml").write_text(
        "tables:\n  users:\n    files: [users_1.csv, users_2.csv]\n", encoding="utf-8"
    )
    problems = _problems(folder)
    assert [(p.table, p.rule) for p in problems] == [("users", C.R_RAGGED)], problems


def test_trailing_delimiters_and_semicolons_still_read(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "users.csv").write_text(
        "user_id;signup_at\nu1;2024-01-01 10:00\nu2;2024-01-02 10:00\n", encoding="utf-8"
    )
    assert load(folder).frame("users")["user_id"].tolist() == ["u1", "u2"]


# ---- 2. duplicate column names -----------------------------------------------------------


def test_duplicate_csv_header_names(tmp_path):
    folder = _write(tmp_path / "src", tiny_frames())
    text = (folder / "orders.csv").read_text(encoding="utf-8")
    (folder / "orders.csv").write_text(text.replace(",status", ", Amount", 1), encoding="utf-8")
    p = _one(_problems(folder), "orders", "amount", C.R_DUP_COLUMN)
    assert "orders.csv: 2 columns are named 'amount', at position(s) 4 ('amount')" in p.detail
    assert "5 (' Amount')" in p.detail
    assert str(p).startswith("orders.amount: rule 'duplicate_column'")


def test_duplicate_parquet_and_frame_columns(tmp_path):
    frames = tiny_frames()
    folder = _write(tmp_path / "src", frames, fmt="parquet")
    o = frames["orders"]
    o = o[["order_id", "user_id", "ts", "amount", "amount"]]
    u = frames["users"]
    for df, name in (
        (o, "orders"),
        (u.set_axis(["user_id", "signup_at", "x", "X"], axis=1), "users"),
    ):
        arrays = [pa.array(df.iloc[:, i], from_pandas=True) for i in range(df.shape[1])]
        pq.write_table(pa.table(arrays, names=list(df.columns)), folder / f"{name}.parquet")
    problems = _problems(folder)
    _one(problems, "orders", "amount", C.R_DUP_COLUMN)
    assert "position(s) 3 ('x'), 4 ('X')" in _one(problems, "users", "x", C.R_DUP_COLUMN).detail
    assert not any(p.rule == C.R_TABLE for p in problems)  # users exists, it is broken
    frames["events"] = frames["events"].set_axis(["user_id", "ts", "channel", "ts"], axis=1)
    _one(_problems(frames), "events", "ts", C.R_DUP_COLUMN)


# ---- 3. non-finite and missing numbers ---------------------------------------------------


def test_non_finite_numbers_are_quarantined(tmp_path):
    frames = tiny_frames()
    frames["orders"]["amount"] = ["NaN", "inf", "7.25"]
    frames["orders"] = pd.concat(
        [
            frames["orders"],
            pd.DataFrame(
                {
                    "order_id": ["o4", "o5"],
                    "user_id": ["u2", "u3"],
                    "ts": "2024-01-06 12:00:00",
                    "amount": ["-Infinity", "1e999"],  # 1e999 overflows to inf
                }
            ),
        ],
        ignore_index=True,
    )
    frames["costs"] = pd.DataFrame(
        {"date": ["2024-01-01", "2024-01-02"], "channel": ["sms", "sms"], "spend": ["5", "inf"]}
    )
    frames["events"]["cost"] = ["0.5", "nan", None, "1"]  # optional column: the row goes too
    folder = _write(tmp_path / "src", frames)
    ds = load(folder, as_of=AS_OF)
    p = _quarantined(ds, "orders", C.Q_NON_FINITE)
    assert (p.column, p.count, p.rows, p.detail) == ("amount", 4, (1, 2, 4, 5), "NaN, inf or -inf")
    assert ds.quality.count("orders", C.Q_NEGATIVE) == 0  # -inf is non-finite, not negative
    assert _quarantined(ds, "costs", C.Q_NON_FINITE).rows == (2,)
    assert _quarantined(ds, "events", C.Q_NON_FINITE).rows == (2,)
    assert ds.frame("orders")["amount"].tolist() == [7.25]
    assert np.isfinite(ds.frame("costs")["spend"]).all()
    assert "orders.amount: rule 'non_finite' broken by 4 row(s)" in ds.quality.summary()
    assert ds.quality.counts()[C.Q_NON_FINITE] == 6


def test_non_finite_in_frames_and_paths():
    frames = tiny_frames()
    frames["orders"]["amount"] = [10.0, np.inf, -np.inf]
    frames["paths"] = pd.DataFrame(
        {"path": ["a > b", "b", "c"], "conversions": [3.0, -np.inf, 1.0], "value": 1.0}
    )
    ds = load(frames, as_of=AS_OF)
    assert _quarantined(ds, "orders", C.Q_NON_FINITE).rows == (2, 3)
    assert _quarantined(ds, "paths", C.Q_NON_FINITE).rows == (2,)
    # a pandas NaN is pandas' missing value: a required count that is missing is fatal
    frames["paths"].loc[2, "conversions"] = np.nan
    p = _one(_problems(frames, as_of=AS_OF), "paths", "conversions", C.R_NOT_NULL)
    assert p.rows == (3,)


def test_empty_amounts_and_spends_are_missing_required_values(tmp_path):
    frames = tiny_frames()
    frames["orders"]["amount"] = ["10", "", " "]
    frames["costs"] = pd.DataFrame(
        {"date": ["2024-01-01", "2024-01-02"], "channel": ["sms", "sms"], "spend": ["", "1"]}
    )
    problems = _problems(_write(tmp_path / "src", frames))
    assert _one(problems, "orders", "amount", C.R_NOT_NULL).rows == (2, 3)
    assert _one(problems, "costs", "spend", C.R_NOT_NULL).rows == (1,)


# ---- 4. implausible timestamps -----------------------------------------------------------


def _old_and_future(frames):
    frames["users"].loc[3, "signup_at"] = "1970-01-01 08:00:00"  # epoch-zero placeholder
    frames["referrals"].loc[0, "invited_at"] = "1999-12-31 23:59:59"
    frames["events"].loc[0, "ts"] = "1970-01-01T00:00:00Z"
    frames["orders"].loc[2, "ts"] = "0001-01-01"
    frames["costs"] = pd.DataFrame(
        {
            "date": ["1970-01-01", "2024-01-02", "2024-01-31", "2024-02-01"],
            "channel": "sms",
            "spend": 1.0,
        }
    )
    frames["assignments"] = pd.DataFrame(
        {
            "user_id": ["u1", "u2"],
            "experiment_id": "e1",
            "variant": ["a", "b"],
            "assigned_at": ["1900-01-01", "2099-01-01"],
        }
    )
    return frames


def test_timestamps_before_min_date_or_after_as_of(tmp_path):
    folder = _write(tmp_path / "src", _old_and_future(tiny_frames()))
    ds = load(folder, as_of=AS_OF)
    want = {
        ("users", "signup_at"): (4,),
        ("referrals", "invited_at"): (1,),
        ("events", "ts"): (1,),
        ("orders", "ts"): (3,),
        ("costs", "date"): (1,),
        ("assignments", "assigned_at"): (1,),
    }
    got = {(p.table, p.column): p.rows for p in ds.quality.quarantined if p.rule == C.Q_BEFORE_MIN}
    assert got == want
    # a cost day starting after as_of (2024-01-31 end of day, local) is in the future
    assert _quarantined(ds, "costs", C.Q_FUTURE).rows == (4,)
    assert _quarantined(ds, "assignments", C.Q_FUTURE).rows == (2,)
    assert ds.frame("costs")["date"].astype(str).tolist() == ["2024-01-02", "2024-01-31"]
    # the period can no longer start in 1970
    assert ds.frame("users")["signup_at"].min() == pd.Timestamp("2024-01-01 02:00")
    first = ds.quality.tables.set_index("table")["first"]
    assert (first.dropna() >= pd.Timestamp("2000-01-01")).all()
    assert "earlier than min_date 1999-12-31 16:00:00 UTC" in ds.quality.summary()


def test_min_date_is_a_parameter(tmp_path):
    frames = _old_and_future(tiny_frames())
    ds = load(frames, as_of=AS_OF, min_date="1960-01-01")
    assert not any(p.rule == C.Q_BEFORE_MIN and p.table == "users" for p in ds.quality.quarantined)
    assert ds.quality.count("orders", C.Q_BEFORE_MIN) == 1  # year 1 is still before 1960
    ds = load(tiny_frames(), as_of=AS_OF, min_date="2024-01-02")  # local start of day
    assert ds.frame("users")["user_id"].tolist() == ["u2", "u3", "u4"]
    for bad in ("not a date", None, "1800-01-01", "2030-01-01"):
        with pytest.raises(ConfigError, match="min_date"):
            load(tiny_frames(), as_of=AS_OF, min_date=bad)


def test_every_user_quarantined_is_a_contract_error():
    frames = tiny_frames()
    frames["users"]["signup_at"] = "1970-01-01"
    p = _one(_problems(frames, as_of=AS_OF), "users", None, C.R_EMPTY)
    assert p.count == 4 and p.rows == (1, 2, 3, 4) and "before_min_date 4" in p.detail


def test_min_date_enters_the_cache_key(tmp_path):
    folder = _write(tmp_path / "src", _old_and_future(tiny_frames()))
    cdir = tmp_path / "cache"
    a = load(folder, as_of=AS_OF, cache_dir=cdir)
    b = load(folder, as_of=AS_OF, min_date="1960-01-01", cache_dir=cdir)
    c = load(folder, as_of=AS_OF, min_date="1960-01-01", cache_dir=cdir)
    assert a.cache["key"] != b.cache["key"] == c.cache["key"]
    assert (a.cache["hit"], b.cache["hit"], c.cache["hit"]) == (False, False, True)
    assert a.quality.count("users", C.Q_BEFORE_MIN) == 1
    assert c.quality.count("users", C.Q_BEFORE_MIN) == 0 and len(c.frame("users")) == 4


# ---- 5. empty tables ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_header_only_optional_tables_are_absent(tmp_path, fmt):
    frames = tiny_frames()
    frames["orders"] = frames["orders"].iloc[0:0]
    frames["events"] = frames["events"].iloc[0:0]
    folder = _write(tmp_path / "src", frames, fmt=fmt)
    (folder / "assignments.csv").write_bytes(b"")  # no header at all
    ds = load(folder)
    assert ds.tables == ["users", "referrals", "identities"]
    assert not ds.has("orders") and not ds.has("events") and not ds.has("assignments")
    with pytest.raises(ConfigError, match="orders"):
        ds.table("orders")
    empty = {w.table: w.detail for w in ds.quality.warnings if w.rule == C.W_EMPTY_TABLE}
    assert empty == {
        "events": f"events.{fmt}: no data rows; treated as absent: sections that need it are "
        "skipped",
        "orders": f"orders.{fmt}: no data rows; treated as absent: sections that need it are "
        "skipped",
        "assignments": "assignments.csv is empty; treated as absent: sections that need it are "
        "skipped",
    }
    t = ds.quality.tables.set_index("table")
    assert t.loc["orders", "rows_source"] == 0 and t.loc["assignments", "rows_kept"] == 0
    assert "orders: rule 'empty_table'" in ds.quality.summary()
    assert ds.as_of == pd.Timestamp("2024-01-05 00:00")  # latest signup (u4), in UTC


def test_header_only_or_empty_users_is_a_contract_error(tmp_path):
    folder = _write(tmp_path / "src", tiny_frames())
    (folder / "users.csv").write_text("user_id,signup_at\n", encoding="utf-8")
    p = _one(_problems(folder), "users", None, C.R_EMPTY)
    assert "no data rows" in p.detail
    (folder / "users.csv").write_bytes(b"")
    p = _one(_problems(folder), "users", None, C.R_EMPTY)
    assert "users.csv is empty" in p.detail


# ---- 6. columns outside the contract are not kept ---------------------------------------


PHONES = ["13800000001", "13800000002", "13800000003", "13800000004"]


def _with_personal_columns():
    frames = tiny_frames()
    frames["users"]["phone"] = PHONES
    frames["users"]["nickname"] = ["小明", "小红", "小刚", "小丽"]
    frames["orders"]["email"] = ["a@x.cn", "b@x.cn", "c@x.cn"]
    return frames


def _assert_no_phone(raw: duckdb.DuckDBPyConnection) -> None:
    """No column named phone/nickname/email and no phone value anywhere in the database."""
    cols = raw.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE NOT internal AND database_name NOT IN ('system', 'temp')"
    ).fetchall()
    assert cols
    assert not [c for c in cols if c[1] in ("phone", "nickname", "email")]
    for table, column, ty in cols:
        if ty == "VARCHAR":
            n = raw.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}" IN ({", ".join("?" * 4)})',
                PHONES,
            ).fetchone()[0]
            assert n == 0, (table, column)


@pytest.mark.parametrize("kind", ["csv", "parquet", "duckdb", "dict"])
def test_unused_columns_are_dropped_at_read_time(tmp_path, kind):
    frames = _with_personal_columns()
    if kind == "dict":
        source = frames
    elif kind == "duckdb":
        source = tmp_path / "src.duckdb"
        con = duckdb.connect(str(source))
        for name, df in frames.items():
            con.register("tmp", df)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM tmp")
            con.unregister("tmp")
        con.close()
    else:
        source = _write(tmp_path / "src", frames, fmt=kind)
    ds = load(source)
    assert "phone" not in ds.frame("users").columns and "nickname" not in ds.frame("users")
    assert "email" not in ds.frame("orders").columns
    notes = {(n.table, n.rule): n.detail for n in ds.quality.notes}
    assert notes == {
        ("users", C.N_UNUSED_COLUMNS): "2 column(s) outside the data contract, not read: "
        "phone, nickname",
        ("orders", C.N_UNUSED_COLUMNS): "1 column(s) outside the data contract, not read: email",
    }
    assert "13800000001" not in ds.quality.summary()
    _assert_no_phone(ds.con.con)
    # the same frames as a source without those columns
    pd.testing.assert_frame_equal(ds.frame("users"), load(tiny_frames()).frame("users"))


def test_cache_entry_holds_no_unused_column(tmp_path):
    folder = _write(tmp_path / "src", _with_personal_columns())
    ds = load(folder, cache_dir=tmp_path / "cache")
    entry = duckdb.connect(ds.cache["path"], read_only=True)
    try:
        _assert_no_phone(entry)
    finally:
        entry.close()


def test_rows_differing_only_in_unused_columns_are_duplicates():
    frames = tiny_frames()
    frames["events"] = pd.concat([frames["events"], frames["events"].iloc[[0]]], ignore_index=True)
    frames["events"]["device"] = ["a", "b", "c", "d", "other"]
    ds = load(frames)
    assert _quarantined(ds, "events", C.Q_DUPLICATE).rows == (5,)
    frames["users"]["phone"] = PHONES
    frames["users"] = pd.concat([frames["users"], frames["users"].iloc[[1]]], ignore_index=True)
    frames["users"].loc[4, "phone"] = "13999999999"
    assert _quarantined(load(frames), "users", C.Q_DUPLICATE).rows == (5,)


def test_required_column_with_other_case_is_named(tmp_path):
    frames = tiny_frames()
    frames["orders"] = frames["orders"].rename(columns={"amount": "Amount"})
    p = _one(_problems(frames), "orders", "amount", C.R_COLUMN)
    assert "the source has 'Amount'" in p.detail


def test_labels_are_masked_and_channels_cannot_split_paths(frames):
    """Personal data in label columns is masked in the engine, so no chart, table or metric can
    show it; a '>' in a channel name cannot split a journey path."""
    from growthlab.data import load

    frames["users"]["channel"] = ["13812345678", "a>b", "企微", "mail me: x@y.cn"]
    frames["users"]["campaign_id"] = ["13912345678", "c1", None, None]
    frames["events"]["event"] = ["visit", "13812345678", "share", "visit"]
    ds = load(frames, as_of="2024-02-01")
    users = ds.frame("users").set_index("user_id")
    assert users.loc["u1", "channel"] == "[phone]" and users.loc["u1", "channel_raw"] == "[phone]"
    assert users.loc["u2", "channel"] == "a›b"
    assert users.loc["u4", "channel"] == "mail me: [email]"
    assert users.loc["u1", "campaign_id"] == "[phone]" and users.loc["u2", "campaign_id"] == "c1"
    assert set(ds.frame("events")["event"]) == {"visit", "[phone]", "share"}
    # Person ids are not labels: kept intact for joins (pseudonymised on display).
    assert set(users.index) == {"u1", "u2", "u3", "u4"}
