"""Issue #15 / SPEC §6: a source that is a Spark engine is validated in Spark, only aggregates
come back, times are right whatever the session time zone, and the whole report equals the
DuckDB report of the same data.

A local Spark Connect server (``tests/spark_server.py``; session time zone America/Los_Angeles)
holds a 2,000-user synthetic source as Spark tables: ``events`` and ``orders`` with ``TIMESTAMP``
columns (instants, as a warehouse holds them), the others ``TIMESTAMP_NTZ`` (wall-clock time in
the run's Asia/Shanghai). The DuckDB load of the source's own files is the reference.

Requires Java 17+ and pyspark (fails loudly without them).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from spark_server import SERVER_TIMEZONE, SparkConnectServer, register
from test_spark_notebook_calls import Collected

from growthlab import data
from growthlab.data import synth
from growthlab.errors import ConfigError
from growthlab.report import runner

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
    pytest.mark.filterwarnings("ignore:'verifySchema' is ignored"),
]

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2025-06-30"
#: metrics that depend on the clock of the run, not on the data
CLOCK = ("max_stale_days",)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """(Spark Connect URL of the source, its folder, tmp folder) for the module."""
    tmp = tmp_path_factory.mktemp("spark-engine")
    folder = synth.write(tmp / "source", n_users=2000, seed=5)
    with SparkConnectServer(tmp / "server") as url:
        types = register(url, folder, "gl_src")
        assert dict(types["events"])["ts"] == "timestamp"  # an instant
        assert dict(types["users"])["signup_at"] == "timestamp_ntz"  # wall-clock time
        yield f"{url}?database=gl_src", folder, tmp


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_load_in_spark_equals_duckdb_and_collects_no_table(engine):
    url, folder, tmp = engine
    ref = data.load(folder, as_of=AS_OF)
    counter = Collected()
    from pyspark.sql.connect.dataframe import DataFrame

    with pytest.MonkeyPatch.context() as mp:
        for method in ("toPandas", "collect", "toArrow", "toLocalIterator", "take", "tail"):
            mp.setattr(DataFrame, method, counter.wrap(getattr(DataFrame, method)))
        ds = data.load(url, as_of=AS_OF, cache_dir=tmp / "cache")
    assert ds.engine is not None and ds.cache["hit"] is False
    assert ds.tables == ref.tables
    assert ds.as_of == ref.as_of
    got = [(p.table, p.column, p.rule, p.count) for p in ds.quality.quarantined]
    want = [(p.table, p.column, p.rule, p.count) for p in ref.quality.quarantined]
    assert got == want and want  # the synthetic source plants bad rows
    assert [(w.rule, w.count) for w in ds.quality.warnings] == [
        (w.rule, w.count) for w in ref.quality.warnings
    ]
    pd.testing.assert_frame_equal(
        ds.quality.tables.drop(columns="origin"), ref.quality.tables.drop(columns="origin")
    )
    # every table equal row for row, timestamps included: instants (TIMESTAMP) and wall-clock
    # times (TIMESTAMP_NTZ) both land on the same naive UTC as the DuckDB load of the files,
    # although the Spark server's session time zone is America/Los_Angeles
    for t in ref.tables:
        a, b = _sorted(ref.frame(t)), _sorted(ds.frame(t)[ref.frame(t).columns])
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    pd.testing.assert_frame_equal(_sorted(ds.persons), _sorted(ref.persons), check_dtype=False)

    # what reached the driver while loading: aggregates, rule examples, the referral edges
    # (graph rules: 4 columns per edge) and the users' OneID; never an events- or orders-sized
    # result, never a whole contract table
    got = counter.frame()
    rows = {t: int(r) for t, r in ref.quality.tables.set_index("table")["rows_source"].items()}
    assert len(got)
    assert got["rows"].max() <= max(rows["users"], rows["referrals"])
    assert got["rows"].max() < min(rows["events"], rows["orders"])
    for t in ("events", "orders", "users"):
        whole = set(ref.frame(t).columns)
        assert not any(set(c) >= whole for c in got["columns"]), t

    # a later load (another notebook's kernel) reuses the validated tables in the engine
    again = data.load(url, as_of=AS_OF, cache_dir=tmp / "cache")
    assert again.cache["hit"] is True and again.cache["key"] == ds.cache["key"]
    assert again.table("events").count().execute() == rows["events"] - sum(
        p.count for p in ref.quality.quarantined if p.table == "events"
    )


@pytest.mark.parametrize(
    ("timezone", "wall_to_utc", "repeated_hour_to_utc"),
    # NY: daylight saving time from 03-09; 2025-11-02 01:30 happens twice (EDT, then EST):
    # the later instant, as DuckDB's ICU takes it on the file path
    [("Asia/Shanghai", -8, -8), ("America/New_York", 4, 5)],
)
def test_timestamps_do_not_depend_on_the_session_time_zone(
    engine, timezone, wall_to_utc, repeated_hour_to_utc
):
    """Hand-made rows: an instant (Spark TIMESTAMP) is that instant, a wall-clock time
    (TIMESTAMP_NTZ) is local time in the run's zone, whatever the server session's zone."""
    from pyspark.sql.connect.session import SparkSession  # not the generic builder

    url, _folder, tmp = engine
    spark = SparkSession.builder.remote(url.split("?")[0]).create()  # a new session
    assert spark.conf.get("spark.sql.session.timeZone") == SERVER_TIMEZONE != "UTC"
    db = "gl_tz_" + timezone.split("/")[1].lower()  # one database per case: no stale listings
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
    for t in ("users", "events"):
        spark.sql(f"DROP TABLE IF EXISTS {db}.{t}")
    spark.sql(
        f"CREATE TABLE {db}.users USING parquet AS SELECT * FROM VALUES "
        "('u1', TIMESTAMP_NTZ '2025-03-10 00:30:00'), ('u2', TIMESTAMP_NTZ '2025-11-02 01:30:00') "
        "AS t(user_id, signup_at)"
    )
    spark.sql(
        f"CREATE TABLE {db}.events USING parquet AS SELECT 'u1' AS user_id, "
        "TIMESTAMP '2025-03-10 06:45:00+00:00' AS ts, 'sms' AS channel, 'visit' AS event"
    )
    ds = data.load(
        f"{url}&database={db}".replace("?database=gl_src&", "?"),
        timezone=timezone,
        as_of="2025-11-03",
        cache_dir=tmp / "cache-tz",
    )
    signup = ds.frame("users").set_index("user_id")["signup_at"]
    assert signup["u1"] == pd.Timestamp("2025-03-10 00:30") + pd.Timedelta(hours=wall_to_utc)
    repeated = pd.Timestamp("2025-11-02 01:30") + pd.Timedelta(hours=repeated_hour_to_utc)
    assert signup["u2"] == repeated
    # the file path (DuckDB) reads the same wall-clock times the same way
    files = tmp / f"tz-{db}"
    files.mkdir()
    (files / "users.csv").write_text(
        "user_id,signup_at\nu1,2025-03-10 00:30:00\nu2,2025-11-02 01:30:00\n"
    )
    ref = data.load(files, timezone=timezone, as_of="2025-11-03").frame("users")
    pd.testing.assert_series_equal(
        ref.set_index("user_id")["signup_at"].sort_index(),
        signup.sort_index(),
        check_dtype=False,
        check_names=False,
    )
    assert pd.Timestamp(ds.frame("events")["ts"].iloc[0]) == pd.Timestamp("2025-03-10 06:45")


def test_engine_problems_are_messages(engine):
    url, _folder, tmp = engine
    with pytest.raises(ConfigError, match=r"database 'nope'.*databases: .*gl_src"):
        data.load(url.replace("database=gl_src", "database=nope"), cache_dir=tmp / "c")
    with pytest.raises(ConfigError, match="no Spark Connect server answers at 127.0.0.1:1"):
        data.load("sc://127.0.0.1:1?database=gl_src")


def _flat(x, pre=""):
    out = {}
    if isinstance(x, dict):
        for k, v in x.items():
            out.update(_flat(v, f"{pre}/{k}"))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            out.update(_flat(v, f"{pre}[{i}]"))
    else:
        out[pre] = x
    return out


def _metrics(out: Path) -> dict:
    runs = [d for d in out.iterdir() if d.is_dir() and not d.is_symlink() and d.name[0] != "."]
    assert len(runs) == 1, runs
    return json.loads((runs[0] / "metrics.json").read_text(encoding="utf-8"))


def test_whole_report_on_spark_equals_duckdb(engine):
    url, folder, tmp = engine
    codes = {}
    # a Spark Connect parameter in the URL stands for credentials: it must reach no output
    secret = url.replace("?", "/;user_id=glsecretuser?")
    for name, source in (("duckdb", str(folder)), ("spark", secret)):
        with pytest.MonkeyPatch.context() as mp:
            # the Spark run shares the first test's cache: its kernels reuse the validated
            # tables already in the engine, as a second run on the same data does
            mp.setenv(runner.CACHE_ENV, str(tmp / ("cache" if name == "spark" else name)))
            codes[name] = runner.run(
                config=ROOT / "runs" / "default.yaml",
                source=source,
                overrides=[f"as_of={AS_OF}"],
                out=tmp / f"out-{name}",
            )
    assert codes == {"duckdb": 0, "spark": 0}
    leaks = [
        f
        for f in (tmp / "out-spark").rglob("*")
        if f.is_file() and b"glsecretuser" in f.read_bytes()
    ]
    assert leaks == []
    a = _flat(_metrics(tmp / "out-duckdb"))
    b = _flat(_metrics(tmp / "out-spark"))
    assert a.keys() == b.keys()
    compared = 0
    for key, x in a.items():
        y = b[key]
        if any(c in key for c in CLOCK):
            continue
        if isinstance(x, bool) or not isinstance(x, int | float):
            assert x == y, key
            continue
        compared += 1
        if isinstance(x, float) and math.isnan(x):
            assert isinstance(y, float) and math.isnan(y), key
            continue
        # the lifetime-value fits too: their inputs are exact decimal sums on both engines
        assert y == pytest.approx(x, rel=1e-9, abs=1e-12), (key, x, y)
    assert compared > 300
