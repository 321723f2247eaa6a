"""SPEC §6 for the experiments page: growthlab.data.experiments gives the same sums on Spark.

Reuses the Spark session, the DuckDB/Spark datasets and the frame comparison of
``tests/test_spark.py`` (Java 17+ and pyspark required, as there).
"""

from __future__ import annotations

from test_spark import assert_same, ds, sds, spark  # noqa: F401  (fixtures)
from test_spark import pytestmark as _spark_marks

from growthlab.data import experiments as dx

pytestmark = list(_spark_marks)


def test_variant_stats_match(ds, sds):  # noqa: F811
    keys = ["experiment_id", "variant", "metric"]
    assert_same(dx.variant_stats(ds), dx.variant_stats(sds), keys)


def test_experiment_info_and_daily_looks_match(ds, sds):  # noqa: F811
    assert_same(dx.experiment_info(ds), dx.experiment_info(sds), ["experiment_id"])
    keys = ["experiment_id", "variant", "day"]
    assert_same(dx.daily_looks(ds), dx.daily_looks(sds), keys)
