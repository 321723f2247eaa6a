"""SPEC §6 for the campaign economics: growthlab.data.campaigns gives the same frames on Spark.

Reuses the Spark session, the dataset and the frame comparison of ``tests/test_spark.py`` (Java
17+ and pyspark required, as there); ``costs`` is copied into Spark as well.
"""

from __future__ import annotations

import ibis
import pytest
from test_spark import EngineView, assert_same, ds, spark  # noqa: F401  (fixtures)
from test_spark import pytestmark as _spark_marks

from growthlab.data import campaigns as dc

pytestmark = list(_spark_marks)

TABLES = ("users", "referrals", "orders", "costs")


@pytest.fixture(scope="module")
def views(spark, ds):  # noqa: F811
    """(DuckDB view, Spark view) of the tables the campaign economics read."""
    con = ibis.pyspark.connect(spark)
    tables = {}
    for name in TABLES:
        view = f"growthlab_campaigns_{name}"
        spark.createDataFrame(ds.table(name).to_pyarrow()).createOrReplaceTempView(view)
        tables[name] = con.table(view)
    duck = EngineView(ds, {n: ds.table(n) for n in TABLES})
    return duck, EngineView(ds, tables)


def test_rewards_spend_and_totals_match(views):
    duck, sds = views
    assert_same(dc.rewards(duck), dc.rewards(sds), ["campaign_id", "side"])
    assert_same(dc.spend(duck), dc.spend(sds), ["campaign_id", "channel", "date"])
    assert_same(dc.campaign_totals(duck), dc.campaign_totals(sds), ["campaign_id"])


def test_invitees_and_revenue_by_age_match(views):
    duck, sds = views
    assert_same(dc.invitees(duck), dc.invitees(sds), ["invitee_id"])
    flagged = sorted(dc.invitees(duck)["inviter_id"].unique())[:5]
    keys = ["campaign_id", "age_day"]
    assert_same(dc.revenue_by_age(duck, flagged), dc.revenue_by_age(sds, flagged), keys)
