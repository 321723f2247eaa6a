"""Shared statistical helpers (growthlab.stats): known values, agreement with scipy, coverage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from growthlab import stats


def test_wilson_known_value():
    # Brown, Cai & DasGupta (2001) / textbook value: x = 5, n = 10 -> (0.2366, 0.7634).
    low, high = stats.wilson_interval(5, 10)
    assert float(low) == pytest.approx(0.2366, abs=1e-4)
    assert float(high) == pytest.approx(0.7634, abs=1e-4)


def test_wilson_edges_and_empty():
    low, high = stats.wilson_interval([0, 10, 0], [10, 10, 0])
    assert low[0] == pytest.approx(0, abs=1e-12) and 0 < high[0] < 0.35
    assert high[1] == pytest.approx(1) and 0.65 < low[1] < 1
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_wilson_coverage_close_to_nominal():
    rng = np.random.default_rng(0)
    p, n = 0.12, 200
    x = rng.binomial(n, p, size=4000)
    low, high = stats.wilson_interval(x, np.full_like(x, n))
    cover = np.mean((low <= p) & (p <= high))
    assert 0.93 <= cover <= 0.97


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_contains_estimate(x, n):
    x = min(x, n)
    low, high = stats.wilson_interval(x, n)
    assert 0 <= low <= x / n + 1e-12 <= high + 2e-12 <= 1 + 2e-12


def test_mean_interval_matches_scipy():
    v = np.array([3.1, 4.5, 2.2, 5.0, 3.3, 4.8])
    m, low, high = stats.mean_interval(v)
    ref = sps.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=sps.sem(v))
    assert m == pytest.approx(v.mean())
    assert (low, high) == pytest.approx(ref)
    assert np.isnan(stats.mean_interval([1.0])[1])
    assert np.isnan(stats.mean_interval([])[0])


def test_grouped_mean_interval_equals_per_group():
    rng = np.random.default_rng(1)
    groups = [rng.normal(10, 3, size=k) for k in (5, 17, 40)]
    s1 = [g.sum() for g in groups]
    s2 = [(g**2).sum() for g in groups]
    n = [len(g) for g in groups]
    mean, low, high = stats.grouped_mean_interval(s1, s2, n)
    for i, g in enumerate(groups):
        ref = stats.mean_interval(g)
        assert (mean[i], low[i], high[i]) == pytest.approx(ref)


def test_gini_known_values():
    assert stats.gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert stats.gini([0, 0, 0, 10]) == pytest.approx(0.75)  # (n-1)/n
    assert stats.gini([]) == 0.0
    assert stats.gini([1, 2, 3, 4]) == pytest.approx(0.25)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=50))
def test_gini_bounds_and_scale_invariance(xs):
    g = stats.gini(xs)
    assert -1e-9 <= g <= 1
    if sum(xs) > 0:
        assert stats.gini([3 * x for x in xs]) == pytest.approx(g, abs=1e-9)


def test_top_share():
    assert stats.top_share([10, 0, 0, 0], 0.25) == pytest.approx(1.0)
    assert stats.top_share([1] * 10, 0.1) == pytest.approx(0.1)
    assert stats.top_share([5, 3, 2], 0.01) == pytest.approx(0.5)  # at least one unit


# ------------------------------------------------------------------ robust z (one rule, issue #11)


def test_robust_z_known_values():
    # median 3, |x - 3| = 2, 1, 0, 1, 97 -> MAD 1, scale 1.4826
    assert float(stats.robust_scale([1, 2, 3, 4, 100])) == pytest.approx(1.4826)
    z = stats.robust_z([1, 2, 3, 4, 100])
    assert z == pytest.approx([-2 / 1.4826, -1 / 1.4826, 0, 1 / 1.4826, 97 / 1.4826])
    assert abs(z[-1]) > 3.5 and (np.abs(z[:-1]) < 3.5).all()


def test_robust_z_falls_back_to_mean_absolute_deviation_when_mad_is_zero():
    # more than half the values on the median: MAD = 0, mean |x - 5| = 0.8
    assert float(stats.robust_scale([5, 5, 5, 5, 9])) == pytest.approx(1.253314 * 0.8)
    z = stats.robust_z([5, 5, 5, 5, 9])
    assert z == pytest.approx([0, 0, 0, 0, 4 / (1.253314 * 0.8)])
    # no deviation at all: every value scores 0; against such a reference, others are infinite
    assert stats.robust_z([3, 3, 3]).tolist() == [0.0, 0.0, 0.0]
    assert stats.robust_z([3, 4, 2], reference=[3, 3]).tolist() == [0.0, np.inf, -np.inf]


def test_robust_z_nan_axis_reference_and_centre():
    z = stats.robust_z([np.nan, 1, 2, 3])
    assert np.isnan(z[0]) and z[1:] == pytest.approx([-1 / 1.4826, 0, 1 / 1.4826])
    rows = stats.robust_z(np.array([[1, 2, 3, 4, 100], [5, 5, 5, 5, 9]]), axis=1)
    assert rows[0] == pytest.approx(stats.robust_z([1, 2, 3, 4, 100]))
    assert rows[1] == pytest.approx(stats.robust_z([5, 5, 5, 5, 9]))
    # scoring new values against a reference sample
    assert stats.robust_z([7], reference=[1, 2, 3, 4, 100]) == pytest.approx([4 / 1.4826])
    # a given centre: deviations are taken from it
    assert float(stats.robust_scale([1, 2, 3], centre=0.0)) == pytest.approx(2 * 1.4826)
    assert np.isnan(stats.robust_scale([np.nan, np.nan]))


def test_robust_scale_estimates_sigma_under_normality():
    rng = np.random.default_rng(3)
    x = rng.normal(10, 2.0, 200_000)
    assert float(stats.robust_scale(x)) == pytest.approx(2.0, rel=0.01)
    # the mean-absolute-deviation fallback has the same target
    dev = np.abs(x - np.median(x))
    assert stats.MEANAD_TO_SD * dev.mean() == pytest.approx(2.0, rel=0.01)
