"""Issue #15: the engine path (growthlab.data.engine) on an engine that is not the private
DuckDB copy gives what the file path gives; engine URLs are parsed strictly.

The engine here is an Ibis DuckDB backend driven through :class:`EngineValidator` (the code
path Spark takes, with DuckDB's spellings): fast enough for every test run, while
tests/test_spark_engine.py proves the same on Spark.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from growthlab import data
from growthlab.data import dataset, engine, synth
from growthlab.data.channels import load_map
from growthlab.errors import ConfigError, DataContractError

AS_OF = "2025-06-30"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return synth.write(tmp_path_factory.mktemp("engine-src") / "src", n_users=1500, seed=7)


def _engine_load(con, tmp, **kw):
    return dataset._load_engine(
        con,
        load_map(None),
        "given",
        cache_dir=tmp,
        timezone=kw.get("timezone", "Asia/Shanghai"),
        as_of=kw.get("as_of", AS_OF),
        min_date=dataset.DEFAULT_MIN_DATE,
        currency="CNY",
        truth=None,
    )


def test_engine_validator_equals_the_file_validator(source, tmp_path):
    ref = data.load(source, as_of=AS_OF)
    con = ibis.duckdb.connect()
    for f in sorted(source.glob("*.csv")):
        con.raw_sql(f"CREATE TABLE {f.stem} AS SELECT * FROM read_csv('{f}')")
    con.raw_sql("CREATE TABLE extra_table AS SELECT 1 AS x")  # not a contract table: ignored
    ds = _engine_load(con, tmp_path)
    assert ds.tables == ref.tables and ds.as_of == ref.as_of
    q = [(p.table, p.column, p.rule, p.count, p.rows) for p in ds.quality.quarantined]
    assert q == [(p.table, p.column, p.rule, p.count, p.rows) for p in ref.quality.quarantined]
    assert len(q) >= 8  # the synthetic source plants every quarantine rule
    assert [(w.rule, w.count) for w in ds.quality.warnings] == [
        (w.rule, w.count) for w in ref.quality.warnings
    ]
    for t in ref.tables:
        a = ref.frame(t)
        b = ds.frame(t)[a.columns]
        key = list(a.columns)
        pd.testing.assert_frame_equal(
            a.sort_values(key).reset_index(drop=True),
            b.sort_values(key).reset_index(drop=True),
            check_dtype=False,
        )
    pd.testing.assert_frame_equal(
        ds.persons.sort_values("user_id").reset_index(drop=True),
        ref.persons.sort_values("user_id").reset_index(drop=True),
        check_dtype=False,
    )
    # the validated tables live in the scratch database under the entry's prefix; working
    # tables are gone
    scratch = set(con.list_tables(database=engine.DEFAULT_SCRATCH))
    prefix = ds.location[1]
    marker = engine.marker_name(ds.cache["key"])
    assert {prefix + t for t in ds.tables} | {marker} == scratch
    # a second load reuses them
    again = _engine_load(con, tmp_path)
    assert again.cache["hit"] and again.cache["key"] == ds.cache["key"]


def test_engine_type_rule_and_missing_column_are_contract_errors(tmp_path):
    con = ibis.duckdb.connect()
    con.raw_sql(
        "CREATE TABLE users AS SELECT * FROM (VALUES ('u1', '2025-01-01 10:00:00'), "
        "('u2', 'yesterday'), ('u3', '2025-01-02')) t(user_id, signup_at)"
    )
    con.raw_sql("CREATE TABLE events AS SELECT 'u1' AS user_id, 'sms' AS channel")
    with pytest.raises(DataContractError) as err:
        _engine_load(con, tmp_path)
    text = str(err.value)
    assert "users.signup_at: rule 'type'" in text and "expected timestamp" in text
    assert "events.ts: rule 'column_required'" in text
    assert "events has the column(s) 'user_id', 'channel'" in text


def _messy(folder):
    """Typed Parquet tables with text the file path trims and parses: padded channels,
    statuses and booleans, text timestamps with and without an offset, a one-digit month."""
    folder.mkdir()
    users = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u4"],
            "signup_at": [
                "2025-01-01 10:00:00",
                " 2025-01-02T09:00:00+08:00",
                "2025-1-5 10:00:00",
                "2025-01-03T02:00:00Z ",
            ],
            "channel": [" Organic ", "wecom", "  ", "SMS"],
            "consent_marketing": [" true ", "否", "  ", "1"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "user_id": ["u1", "u2", "u3"],
            "ts": pd.to_datetime(["2025-02-01 10:00", "2025-02-02 11:00", "2025-02-03 12:00"]),
            "amount": [10.5, 20.0, 30.25],
            "status": [" Paid ", " ", "refunded"],
        }
    )
    for name, frame in (("users", users), ("orders", orders)):
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def test_engine_parses_typed_text_as_the_file_path_does(tmp_path):
    folder = _messy(tmp_path / "messy")
    ref = data.load(folder, as_of="2025-03-01")
    con = ibis.duckdb.connect()
    for f in folder.glob("*.parquet"):
        con.raw_sql(f"CREATE TABLE {f.stem} AS SELECT * FROM read_parquet('{f}')")
    ds = _engine_load(con, tmp_path / "cache", as_of="2025-03-01")
    for t in ref.tables:
        a = ref.frame(t).sort_values(ref.frame(t).columns[0]).reset_index(drop=True)
        b = ds.frame(t)[a.columns].sort_values(a.columns[0]).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert ref.frame("users")["signup_at"].notna().all()  # every layout above was read


def test_a_changed_source_is_validated_again_and_old_entries_go(source, tmp_path):
    con = ibis.duckdb.connect()
    for f in sorted(source.glob("*.csv")):
        con.raw_sql(f"CREATE TABLE {f.stem} AS SELECT * FROM read_csv('{f}')")
    first = _engine_load(con, None)  # no cache folder: the engine alone holds the entry
    again = _engine_load(con, None)
    assert not first.cache["hit"] and again.cache["hit"]
    # an in-place update (same rows, same latest time) changes the checksum, so the key
    con.raw_sql(
        "UPDATE orders SET status = 'refunded' WHERE order_id = (SELECT min(order_id) FROM orders)"
    )
    changed = _engine_load(con, None)
    assert not changed.cache["hit"] and changed.cache["key"] != first.cache["key"]
    refunded = changed.table("orders").filter(lambda o: o.status == "refunded").count()
    assert (
        refunded.execute()
        == first.table("orders").filter(lambda o: o.status == "refunded").count().execute() + 1
    )
    # old entries beyond the newest few, older than an hour, are dropped with their tables
    gone = engine.prune(con, engine.DEFAULT_SCRATCH, keep=1, older_than_s=-1)
    assert gone == [engine.marker_name(first.cache["key"])]
    left = set(con.list_tables(database=engine.DEFAULT_SCRATCH))
    assert not any(n.startswith(gone[0]) for n in left)


def test_a_failed_validation_leaves_no_tables_behind(tmp_path):
    con = ibis.duckdb.connect()
    con.raw_sql("CREATE TABLE users AS SELECT 'u1' AS user_id, 'soon' AS signup_at")
    with pytest.raises(DataContractError):
        _engine_load(con, tmp_path)
    assert con.list_tables(database=engine.DEFAULT_SCRATCH) == []


def test_run_processes_get_the_credentials_pages_never(monkeypatch, tmp_path):
    """Pages, manifests and notebook parameters carry the redacted URL; the run's processes
    complete it from the environment."""
    from growthlab.report.config import load_config

    full = "sc://alice:pw@spark.internal:15002/;token=SECRET?database=crm&spark.x=1"
    shown = engine.redact(full)
    assert shown == "sc://spark.internal:15002?database=crm"
    assert engine.parse(shown).remote == "sc://spark.internal:15002"  # no credentials
    monkeypatch.setenv(engine.URL_ENV, full)
    spec = engine.parse(shown)
    assert spec.remote == "sc://alice:pw@spark.internal:15002/;token=SECRET"
    assert spec.conf == {"spark.x": "1"} and "SECRET" not in spec.label
    monkeypatch.delenv(engine.URL_ENV)
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    cfg = load_config(root / "runs" / "default.yaml", source=full)
    assert cfg.source == shown and cfg.engine_url == full
    assert all(s.parameters["source"] == shown for s in cfg.notebooks)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sc://?database=x", "needs sc://HOST:PORT"),
        ("sc://h:1?database=x;drop", "is not a database name"),
        ("sc://h:1?scratch=a-b", "is not a database name"),
        ("sc://h:1?scratch=cat.db", "is not a database name"),
        ("spark://h:1", "unknown engine"),
    ],
)
def test_engine_urls_are_parsed_strictly(url, message):
    with pytest.raises(ConfigError, match=message):
        engine.parse(url)


def test_engine_label_drops_the_query_string():
    spec = engine.parse("sc://spark.internal:15002/;token=SECRET?database=crm&scratch=gl")
    assert spec.database == "crm" and spec.scratch == "gl"
    assert "SECRET" not in spec.label and "crm" in spec.label
