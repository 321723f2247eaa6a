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
        as_of=AS_OF,
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
    assert {prefix + t for t in ds.tables} == scratch
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


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sc://?database=x", "needs sc://HOST:PORT"),
        ("sc://h:1?database=x;drop", "is not a database name"),
        ("sc://h:1?scratch=a-b", "is not a database name"),
        ("spark://h:1", "unknown engine"),
    ],
)
def test_engine_urls_are_parsed_strictly(url, message):
    if not engine.is_engine_url(url):
        with pytest.raises(ConfigError, match=message):
            engine.parse(url)
        return
    with pytest.raises(ConfigError, match=message):
        engine.parse(url)


def test_engine_label_drops_the_query_string():
    spec = engine.parse("sc://spark.internal:15002/;token=SECRET?database=crm&scratch=gl")
    assert spec.database == "crm" and spec.scratch == "gl"
    assert "SECRET" not in spec.label and "crm" in spec.label
