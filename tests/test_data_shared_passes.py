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
def test_purchase_stats_float_sums_equal_the_decimal_objects(ds, holdout, monkeypatch):
    """The exact decimal sums cast to float64 in the engine equal the Decimal objects that
    reached pandas before (float(Decimal) is the nearest double): bit for bit."""
    end = pd.Timestamp(ds.as_of).normalize() - pd.Timedelta(days=1)
    got = features.purchase_stats(ds, end, holdout)
    assert len(got) > 100 and got["total"].gt(0).all()
    monkeypatch.setattr(features, "_SUMS_AS_FLOAT", False)
    want = features.purchase_stats(ds, end, holdout)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.attrs == want.attrs
