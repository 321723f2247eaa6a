"""Dataset-level data functions that share one engine pass (issue #13) give exactly what the
single-question expressions give, on a synthetic source: ``journeys.paths`` and
``journeys.time_decay`` read one materialised set of journey rows per Dataset and parameters;
``features.user_features`` counts a user's channels from its per-channel counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthlab import data
from growthlab.data import features, journeys
from growthlab.data.synth import generate_frames


@pytest.fixture(scope="module")
def ds():
    frames, truth = generate_frames(3000, seed=7)
    return data.load(frames, truth=truth)


def _close(a: pd.Series, b: pd.Series) -> None:
    """Float sums: equal to 1e-12 relative (the engine adds in thread order)."""
    np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("lookback", "touch"), [(30, ["reach"]), (7, None)])
def test_paths_and_time_decay_equal_the_single_expressions(ds, lookback, touch):
    events, orders = ds.table("events"), ds.table("orders")
    want_paths = journeys._clean(journeys.paths_expr(events, orders, lookback, touch).to_pandas())
    want_decay = journeys.time_decay_expr(events, orders, lookback, touch, 3.5).to_pandas()
    for _ in range(2):  # the second round reads the rows the first one materialised
        got = journeys.paths(ds, lookback, touch)
        assert len(got) > 5 and got["conversions"].sum() > 50
        pd.testing.assert_frame_equal(
            got.drop(columns="value"), want_paths.drop(columns="value"), check_exact=True
        )
        _close(got["value"], want_paths["value"])
        decay = journeys.time_decay(ds, lookback, touch, 3.5)
        assert decay["channel"].tolist() == want_decay["channel"].tolist()
        _close(decay["conversions"], want_decay["conversions"])
        _close(decay["value"], want_decay["value"])
    # other parameters are other rows, not the ones already materialised
    other = journeys.paths(ds, 1, touch)
    want_other = journeys._clean(journeys.paths_expr(events, orders, 1, touch).to_pandas())
    pd.testing.assert_frame_equal(other, want_other, check_exact=False, rtol=1e-12)
    assert len(other) < len(got)


def test_time_decay_checks_its_parameters_before_any_pass(ds):
    with pytest.raises(Exception, match="half_life_days"):
        journeys.time_decay(ds, 30, ["reach"], 0)
    with pytest.raises(Exception, match="lookback_days"):
        journeys.paths(ds, 0, ["reach"])


@pytest.mark.parametrize("holdout", [0, 60])
def test_purchase_stats_sums_are_the_exact_decimal_sums(ds, holdout):
    """The engine sums amounts exactly (to the micro-unit) and casts once to float64: bit for
    bit the nearest double of the exact sum (Python Decimal arithmetic on the orders), whatever
    order the engine's threads add in."""
    from decimal import Decimal

    end = pd.Timestamp(ds.as_of).normalize() - pd.Timedelta(days=1)
    cal = end - pd.Timedelta(days=holdout)
    got = features.purchase_stats(ds, end, holdout)
    assert len(got) > 100 and got["total"].gt(0).all()
    o = features.local_orders(ds)
    o = o[o["status"].fillna("paid") == "paid"].assign(day=lambda d: d["ts"].dt.normalize())
    o = o[o["day"] <= end]
    micro = Decimal("0.000001")
    o["amount"] = [Decimal(float(a)).quantize(micro) for a in o["amount"]]
    per_day = o.groupby(["user_id", "day"])["amount"].sum().reset_index()
    first = per_day.sort_values("day").groupby("user_id").head(1).set_index("user_id")["amount"]
    want = pd.DataFrame(
        {
            "first_value": first,
            "total": per_day.groupby("user_id")["amount"].sum(),
            "cal_total": per_day[per_day["day"] <= cal].groupby("user_id")["amount"].sum(),
        }
    ).reindex(got.index)
    for col in want.columns:
        exact = [0.0 if pd.isna(v) else float(v) for v in want[col]]
        assert got[col].tolist() == exact, col
