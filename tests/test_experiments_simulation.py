"""Simulations with known answers (vectorised numpy, fixed seeds, a few seconds in all).

- CUPED: with a pre-period covariate whose correlation with the outcome is ρ, the variance of
  the difference shrinks by 1 − ρ² — both the reported ``variance_reduction`` and the spread of
  the estimates over replications;
- sequential intervals under daily peeking: in A/A experiments looked at every day for four
  weeks, stopping at the first look whose interval excludes 0, the sequential (always-valid)
  interval keeps the false-positive rate at or below α while the fixed-horizon interval's
  rate inflates several-fold;
- the planner: a fixed-horizon experiment of the planned size detects the planned effect with
  the planned power.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthlab import experiments as ex

COV_METRIC = (ex.Metric("revenue_per_user", "mean", "y", covariate="x"),)


def _stats_from_arrays(y: np.ndarray, x: np.ndarray, arm: np.ndarray) -> pd.DataFrame:
    """Sufficient statistics of replications at once: y, x, arm of shape (R, n)."""
    rows = []
    for a, name in ((0, "control"), (1, "treatment")):
        m = arm == a
        ym, xm = np.where(m, y, 0.0), np.where(m, x, 0.0)
        rows.append(
            pd.DataFrame(
                {
                    "experiment_id": np.arange(y.shape[0]).astype(str),
                    "variant": name,
                    "metric": "revenue_per_user",
                    "n": m.sum(axis=1).astype(float),
                    "sum": ym.sum(axis=1),
                    "sum_sq": (ym**2).sum(axis=1),
                    "pre_sum": xm.sum(axis=1),
                    "pre_sum_sq": (xm**2).sum(axis=1),
                    "post_pre_sum": (ym * xm).sum(axis=1),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_cuped_variance_reduction_is_one_minus_rho_squared(rho):
    rng = np.random.default_rng(17)
    reps, n = 300, 4000
    x = rng.normal(size=(reps, n))
    y = 10 + 3 * (rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(reps, n)))
    arm = rng.integers(0, 2, size=(reps, n))
    y = y + 0.05 * arm  # a small true effect
    stats = _stats_from_arrays(y, x, arm)
    adj = ex.compare(stats, metrics=COV_METRIC, correction="none")
    raw = ex.compare(stats, metrics=COV_METRIC, correction="none", cuped=False)
    expected = 1 - rho**2
    # the reported reduction, replication by replication
    assert adj["cuped"].all() and not raw["cuped"].any()
    assert adj["variance_reduction"].mean() == pytest.approx(rho**2, abs=0.01)
    assert (adj["variance_reduction"] - rho**2).abs().max() < 0.05
    # and the real one: the spread of the estimates over replications
    ratio = adj["diff"].var() / raw["diff"].var()
    assert ratio == pytest.approx(expected, rel=0.2)
    # both unbiased for the effect; intervals cover it at about 95 %
    assert adj["diff"].mean() == pytest.approx(0.05, abs=3 * adj["se"].mean() / np.sqrt(reps))
    covered = (adj["fixed_low"] <= 0.05) & (0.05 <= adj["fixed_high"])
    assert 0.91 <= covered.mean() <= 0.99


def test_cuped_falls_back_without_pre_period_data():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(5, 1000))
    arm = rng.integers(0, 2, size=(5, 1000))
    stats = _stats_from_arrays(y, np.zeros_like(y), arm)  # everybody new: x constant
    a = ex.compare(stats, metrics=COV_METRIC)
    b = ex.compare(
        stats.drop(columns=["pre_sum", "pre_sum_sq", "post_pre_sum"]), metrics=COV_METRIC
    )
    c = ex.compare(stats, metrics=COV_METRIC, cuped=False)
    assert not a["cuped"].any() and (a["variance_reduction"] == 0).all() and (a["theta"] == 0).all()
    for other in (b, c):
        pd.testing.assert_series_equal(a["diff"], other["diff"])
        pd.testing.assert_series_equal(a["high"], other["high"])


def _peeking(p0: float, daily: int, days: int, reps: int, seed: int) -> dict[str, float]:
    """A/A conversion experiments, looked at the end of every day: share of experiments whose
    fixed / sequential interval excluded 0 at some look (false positives) and at the last."""
    rng = np.random.default_rng(seed)
    n_day = np.full((reps, days, 2), daily)
    conv = rng.binomial(n_day, p0)
    n, x = n_day.cumsum(axis=1).astype(float), conv.cumsum(axis=1).astype(float)
    na, nb, xa, xb = n[..., 0], n[..., 1], x[..., 0], x[..., 1]
    pa, pb = xa / na, xb / nb
    va, vb = pa * (1 - pa), pb * (1 - pb)
    se = np.sqrt(va / na + vb / nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = se**4 / (vb**2 / (nb**2 * (nb - 1)) + va**2 / (na**2 * (na - 1)))
    diff = pb - pa
    lo, hi, _ = ex.fixed_interval(diff, se, df, 0.05)
    half = ex.sequential_half_width(se, na + nb, 0.05)
    fixed_hit = (lo > 0) | (hi < 0)
    seq_hit = (diff - half > 0) | (diff + half < 0)
    return {
        "fixed_any": float(fixed_hit.any(axis=1).mean()),
        "seq_any": float(seq_hit.any(axis=1).mean()),
        "fixed_last": float(fixed_hit[:, -1].mean()),
    }


def test_sequential_interval_survives_daily_peeking_where_the_fixed_one_fails():
    # 4 weeks of daily looks, 150 users per arm a day, 20 % conversion, 4,000 A/A experiments
    r = _peeking(0.20, 150, 28, 4000, seed=11)
    se_rate = np.sqrt(0.05 * 0.95 / 4000)
    assert r["seq_any"] <= 0.05 + 2 * se_rate  # always valid: at most alpha (observed ~0.01)
    assert r["fixed_last"] == pytest.approx(0.05, abs=3 * se_rate)  # one planned look: fine
    assert r["fixed_any"] >= 3 * 0.05  # peeking every day: several times alpha (~0.2)
    # small private-domain audiences: 20 users per arm a day, 5 % conversion
    small = _peeking(0.05, 20, 28, 4000, seed=12)
    assert small["seq_any"] <= 0.05 + 2 * se_rate
    assert small["fixed_any"] > 2 * 0.05


def test_sequential_p_value_is_dual_to_the_interval():
    rng = np.random.default_rng(5)
    est, se = rng.normal(0, 1, 500), rng.uniform(0.2, 1, 500)
    n = rng.integers(100, 20000, 500).astype(float)
    half = ex.sequential_half_width(se, n, 0.05)
    p = ex.sequential_p_value(est, se, n, 0.05)
    excluded = np.abs(est) > half
    assert ((p <= 0.05) == excluded).all()


def test_planned_sample_detects_the_planned_effect():
    p0, mde_rel, alpha, power = 0.10, 0.20, 0.05, 0.8
    delta = p0 * mde_rel
    p1 = p0 + delta
    n = int(
        ex.sample_size(p0 * (1 - p0), delta, var_treatment=p1 * (1 - p1), alpha=alpha, power=power)
    )
    # the textbook value: (1.96 + 0.84)^2 (p0 q0 + p1 q1) / delta^2 = 3,839 per arm
    assert n == pytest.approx(3839, abs=2)
    rng = np.random.default_rng(8)
    reps = 4000
    xa, xb = rng.binomial(n, p0, reps), rng.binomial(n, p1, reps)
    pa, pb = xa / n, xb / n
    se = np.sqrt((pa * (1 - pa) + pb * (1 - pb)) / n)
    lo, _, _ = ex.fixed_interval(pb - pa, se, 2 * n - 2, alpha)
    assert (lo > 0).mean() == pytest.approx(power, abs=0.03)
    # a sequential plan needs more users, and detects the effect at least as often at its size
    n_seq = int(ex.sample_size(p0 * (1 - p0), delta, var_treatment=p1 * (1 - p1), sequential=True))
    assert 1.3 * n < n_seq < 4 * n
    xa, xb = rng.binomial(n_seq, p0, reps), rng.binomial(n_seq, p1, reps)
    pa, pb = xa / n_seq, xb / n_seq
    se = np.sqrt((pa * (1 - pa) + pb * (1 - pb)) / n_seq)
    lo = pb - pa - ex.sequential_half_width(se, 2 * n_seq, alpha)
    assert (lo > 0).mean() >= power - 0.03
