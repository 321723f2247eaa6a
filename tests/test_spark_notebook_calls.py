"""Issue #15 / SPEC §6: every ``growthlab.data`` call the notebooks make runs on Spark, gives
the DuckDB frame, and brings back to the driver only aggregates or per-user / per-edge frames.

The validated tables of a 2,500-user synthetic source are registered as Spark temporary views
and handed to the notebooks' very calls through :class:`NotebookView` (the Dataset interface
of ``tests/test_spark.py``'s ``EngineView`` plus ``local`` and ``persons``). A counter wraps
pyspark's result fetching (``DataFrame.toPandas`` / ``collect`` / ``toArrow``, which every Ibis
``execute``/``to_pandas``/``to_pyarrow`` on Spark goes through) and records the rows and
columns of every result that reaches the driver. No result may be events- or orders-sized, or
have more rows than there are users (per-user and per-edge frames are at most one row per user:
an invitee has one accepted inviter) except series by day or hour, or be a whole contract
table (all columns of ``events``, ``orders`` or ``users``).

Requires Java 17+ and pyspark, as ``tests/test_spark.py`` (fails loudly without them).
"""

from __future__ import annotations

import contextlib
from typing import Any

import ibis
import pandas as pd
import pytest
from test_spark import EngineView, assert_same, spark  # noqa: F401  (fixture)
from test_spark import pytestmark as _spark_marks

from growthlab import campaigns, referral, referral_abuse, value
from growthlab.data import campaigns as dcamp
from growthlab.data import daily, features, profile, synth
from growthlab.data import experiments as exp_data
from growthlab.data import funnel as dfunnel
from growthlab.data import journeys as djourneys
from growthlab.data import referral as dref

pytestmark = list(_spark_marks)

TABLES = ("users", "referrals", "events", "orders", "assignments", "costs")
CONTRACT = ("events", "orders", "users")  # never collected whole
# the notebooks' default parameters (runs/default.yaml / first cells)
LOOKBACK, TOUCH, HALF_LIFE = 30, ["reach"], 7.0
FUNNEL_STEPS, FUNNEL_WINDOW = ["signup", "visit", "add_to_cart", "purchase"], 30
ENGAGEMENT = ["visit", "engage", "click"]
#: Lifetime values fitted on Spark's vs DuckDB's purchase statistics: the statistics are exact
#: decimal sums on both engines, so the fits see the same inputs and agree like any number.
CLV_RTOL = 1e-9


class Collected:
    """Rows and columns of every Spark result fetched to the driver, by notebook step."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.current = "setup"
        self._depth = 0

    @contextlib.contextmanager
    def step(self, name: str):
        self.current = name
        try:
            yield
        finally:
            self.current = "between steps"

    def wrap(self, method):
        counter = self

        def fetch(df, *args, **kwargs):
            counter._depth += 1
            try:
                out = method(df, *args, **kwargs)
            finally:
                counter._depth -= 1
            if counter._depth == 0:  # the outermost fetch only (toPandas may call collect)
                counter.records.append(
                    {"step": counter.current, "rows": len(out), "columns": list(df.columns)}
                )
            return out

        return fetch

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records)


class NotebookView(EngineView):
    """EngineView plus the Dataset members the notebooks also read (``local``, ``persons``:
    OneID comes with the Dataset, see the loader)."""

    def __init__(self, ds: Any, tables: dict):
        super().__init__(ds, tables)
        self.local = ds.local
        self.persons = ds.persons


@pytest.fixture(scope="module")
def ds():
    return synth.generate(2500, seed=11)


@pytest.fixture(scope="module")
def views(spark, ds):  # noqa: F811
    """(DuckDB view, Spark view, collected-rows counter) of the same validated tables."""
    con = ibis.pyspark.connect(spark)
    tables = {}
    for name in TABLES:
        view = f"growthlab_nb_{name}"
        spark.createDataFrame(ds.table(name).to_pyarrow()).createOrReplaceTempView(view)
        tables[name] = con.table(view)
    counter = Collected()
    with pytest.MonkeyPatch.context() as mp:
        frame_class = type(spark.sql("SELECT 1"))  # the session's DataFrame class (classic)
        for method in ("toPandas", "collect", "toArrow", "toLocalIterator", "take", "tail"):
            if hasattr(frame_class, method):
                mp.setattr(frame_class, method, counter.wrap(getattr(frame_class, method)))
        duck = NotebookView(ds, {n: ds.table(n) for n in TABLES})
        yield duck, NotebookView(ds, tables), counter


def both(views, step: str, call):
    """``call`` on DuckDB and on Spark (the Spark run counted under ``step``)."""
    duck, sds, counter = views
    a = call(duck)
    with counter.step(step):
        b = call(sds)
    return a, b


# ------------------------------------------------------------------------------ 00, 05


def test_00_05_kpi_series(views):
    a, b = both(views, "00 kpi_series", lambda d: daily.kpi_series(d, by_channel=False))
    assert_same(a, b, ["metric", "segment", "date"])
    a, b = both(views, "05 kpi_series", lambda d: daily.kpi_series(d, k_window=28))
    assert_same(a, b, ["metric", "segment", "date"])


# ------------------------------------------------------------------------------ 01


def test_01_profile(views):
    a, b = both(views, "01 null_rates", profile.null_rates)
    assert_same(a, b, ["table", "column"])
    a, b = both(views, "01 uniqueness", profile.uniqueness)
    assert_same(a, b, ["table"])
    a, b = both(views, "01 daily_volume", profile.daily_volume)
    assert_same(a, b, ["table", "date"])


# ------------------------------------------------------------------------------ 02


def test_02_referral(views, ds):
    a, b = both(views, "02 users", dref.users)
    assert_same(a, b, ["user_id"])
    users = b
    a, b = both(views, "02 edges", dref.edges)
    assert_same(a, b, ["invitee_id"])
    fo = referral.forest(b, users)
    a, b = both(views, "02 user_activity", dref.user_activity)
    assert_same(a, b, ["user_id"])
    sus = referral_abuse.suspicious_inviters(fo, ds.persons, b, 30, 5, 0.8)
    a, b = both(views, "02 invites_sent", lambda d: dref.invites_sent(d, window_days=30))
    assert_same(a, b, ["user_id"])
    a, b = both(views, "02 invite_funnel_counts", dref.invite_funnel_counts)
    assert_same(a, b, ["step"])
    end = value.last_full_day(ds.local(ds.as_of))
    a, b = both(views, "02 purchase_stats", lambda d: dcamp.purchase_stats(d, end))
    assert_same(a, b, ["user_id"])
    assert a.attrs == b.attrs
    va, vb = campaigns.fit_value(a, end, 365), campaigns.fit_value(b, end, 365)
    pd.testing.assert_series_equal(va, vb, rtol=CLV_RTOL)
    flagged = campaigns.flagged_inviters(sus)
    a, b = both(views, "02 campaign inputs", lambda d: dcamp.inputs(d, exclude_inviters=flagged))
    keys = {"rewards": ["campaign_id", "side"], "spend": ["campaign_id", "channel", "date"]}
    keys |= {"invitees": ["invitee_id"], "revenue_by_age": ["campaign_id", "age_day"]}
    for name, k in keys.items():
        assert_same(a[name], b[name], k)


# ------------------------------------------------------------------------------ 03


def test_03_segments_value(views, ds):
    a, b = both(views, "03 activity", features.activity)
    assert_same(a, b, ["user_id"])
    a, b = both(views, "03 rfm_inputs", features.rfm_inputs)
    assert_same(a, b, ["user_id"])
    a, b = both(views, "03 user_features", features.user_features)
    assert_same(a, b, ["user_id"])
    end = value.last_full_day(ds.local(ds.as_of))
    a, b = both(views, "03 purchase_stats", lambda d: features.purchase_stats(d, end, 60))
    assert_same(a, b, ["user_id"])
    la, lb = value.analyse_clv(a, end, 60), value.analyse_clv(b, end, 60)
    assert lb.total == pytest.approx(la.total, rel=CLV_RTOL)
    cols = ["user_id", "channel", "referred"]
    a, b = both(views, "03 users (3 columns)", lambda d: d.frame("users", columns=cols))
    assert_same(a, b, ["user_id"])


# ------------------------------------------------------------------------------ 04


def test_04_attribution_funnel(views):
    a, b = both(views, "04 paths", lambda d: djourneys.paths(d, LOOKBACK, TOUCH))
    assert_same(a, b, ["path"])
    a, b = both(
        views, "04 time_decay", lambda d: djourneys.time_decay(d, LOOKBACK, TOUCH, HALF_LIFE)
    )
    assert_same(a, b, ["channel"])
    a, b = both(views, "04 channel_spend", djourneys.channel_spend)
    assert_same(a, b, ["channel"])
    a, b = both(
        views, "04 step_times", lambda d: dfunnel.step_times(d, FUNNEL_STEPS, FUNNEL_WINDOW)
    )
    assert_same(a, b, ["user_id"])
    cols = ["user_id", "channel"]
    a, b = both(views, "04 users (2 columns)", lambda d: d.frame("users", columns=cols))
    assert_same(a, b, ["user_id"])
    for by in (None, "channel"):
        step = f"04 cohort_activity by {by}"
        a, b = both(views, step, lambda d, by=by: dfunnel.cohort_activity(d, "W", by))
        for x, y in zip(a, b, strict=True):
            keys = [c for c in ("channel", "cohort", "period_start") if c in x.columns]
            assert_same(x, y, keys)
    a, b = both(views, "04 hourly_counts", lambda d: dfunnel.hourly_counts(d, ENGAGEMENT))
    assert_same(a, b, ["hour"])
    a, b = both(
        views, "04 contact_response", lambda d: dfunnel.contact_response(d, ["reach"], ["click"])
    )
    assert_same(a, b, ["channel", "contacts"])


# ------------------------------------------------------------------------------ 06


def test_06_experiments(views):
    a, b = both(
        views, "06 variant_stats", lambda d: exp_data.variant_stats(d, window_days=14, pre_days=28)
    )
    assert_same(a, b, ["experiment_id", "variant", "metric"])
    a, b = both(views, "06 experiment_info", exp_data.experiment_info)
    assert_same(a, b, ["experiment_id"])
    a, b = both(views, "06 daily_looks", lambda d: exp_data.daily_looks(d, window_days=14))
    assert_same(a, b, ["experiment_id", "variant", "day"])


# ------------------------------------------------------------------------------ the driver


def test_nothing_events_sized_or_whole_comes_back(views, ds):
    """Runs last in this module: checks every result the steps above fetched from Spark."""
    log = views[2].frame()
    steps = set(log["step"]) if len(log) else set()
    for name in ("02 purchase_stats", "03 user_features", "04 time_decay", "06 variant_stats"):
        assert name in steps, f"no Spark result counted for {name}: the counter missed fetches"
    sizes = {t: int(ds.table(t).count().to_pandas()) for t in TABLES}
    assert sizes["events"] > sizes["orders"] > sizes["users"], sizes  # the bounds mean something
    per_step = log.groupby("step").agg(
        results=("rows", "size"), max_rows=("rows", "max"), columns=("columns", "last")
    )
    print(per_step.to_string())
    # series by day, hour or cohort period: as long as the period, whatever the number of users
    by_time = log["step"].str.contains(
        "kpi_series|daily_volume|hourly_counts|daily_looks|cohort_activity"
    )
    too_big = log[(log["rows"] > sizes["users"]) & ~by_time]
    assert too_big.empty, f"results with more rows than users:\n{too_big}"
    assert (log["rows"] < sizes["events"] // 4).all(), log.sort_values("rows").tail()
    for t in CONTRACT:
        cols = set(ds.table(t).columns)
        whole = log[log["columns"].map(lambda c: cols <= set(c))]  # noqa: B023
        assert whole.empty, f"a whole {t} table came back:\n{whole}"
    # the counter would have seen a whole table: collecting orders is recorded as such
    counter, sds = views[2], views[1]
    with counter.step("probe"):
        sds.frame("orders")
    probe = counter.frame().query("step == 'probe'")
    assert probe["rows"].tolist() == [sizes["orders"]]
    assert set(ds.table("orders").columns) <= set(probe["columns"].iloc[0])
