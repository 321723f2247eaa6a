"""Small, shared statistical helpers (vectorised, no I/O).

Every interval here is two-sided at confidence ``1 - alpha``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats as _st


def z_value(alpha: float) -> float:
    """Two-sided normal quantile z_{1-α/2} (1.96 for α = 0.05)."""
    return float(_st.norm.ppf(1 - alpha / 2))


def wilson_interval(successes, trials, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion.

    With p = x/n and z the normal quantile::

        centre = (p + z²/2n) / (1 + z²/n)
        half   = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²)

    Reference: Wilson (1927), JASA 22(158); Brown, Cai & DasGupta (2001), Stat. Sci. 16(2).
    Works element-wise on arrays; n = 0 gives (nan, nan).
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = z_value(alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def mean_interval(values, alpha: float = 0.05) -> tuple[float, float, float]:
    """Mean with a Student-t interval: mean ± t_{1-α/2, n-1} · s/√n.

    Returns (mean, low, high); fewer than two values give nan bounds.
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = v.size
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(v.mean())
    if n < 2:
        return m, float("nan"), float("nan")
    se = float(v.std(ddof=1)) / np.sqrt(n)
    t = float(_st.t.ppf(1 - alpha / 2, n - 1))
    return m, m - t * se, m + t * se


def grouped_mean_interval(
    sums, sq_sums, counts, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised mean ± t·s/√n per group from sufficient statistics (Σx, Σx², n).

    s² = (Σx² − (Σx)²/n) / (n − 1). Groups with n < 2 get nan bounds.
    """
    s1 = np.asarray(sums, dtype=float)
    s2 = np.asarray(sq_sums, dtype=float)
    n = np.asarray(counts, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = np.clip((s2 - s1**2 / n) / (n - 1), 0, None)
        t = _st.t.ppf(1 - alpha / 2, np.maximum(n - 1, 1))
        half = np.where(n >= 2, t * np.sqrt(var / n), np.nan)
    return mean, mean - half, mean + half


def gini(values) -> float:
    """Gini coefficient of non-negative values.

    G = Σ_i (2i − n − 1) x_(i) / (n Σ x), with x sorted ascending and i = 1..n
    (0 = perfect equality, → 1 = all mass on one unit). Empty or all-zero input gives 0.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    total = x.sum()
    if n == 0 or total <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def top_count(n: int, fraction: float) -> int:
    """Units in "the top ``fraction``" of ``n`` units: ⌈fraction · n⌉, at least one (0 of 0).

    The one rule behind :func:`top_share` and the lists of the units themselves
    (e.g. ``growthlab.audiences.top_spreaders``)."""
    return max(1, int(np.ceil(fraction * n))) if n > 0 else 0


def top_share(values, fraction: float) -> float:
    """Share of the total held by the top ``fraction`` of units (:func:`top_count` of them)."""
    x = np.sort(np.asarray(values, dtype=float))[::-1]
    if x.size == 0 or x.sum() <= 0:
        return 0.0
    k = top_count(x.size, fraction)
    return float(x[:k].sum() / x.sum())


#: 1 / Φ⁻¹(3/4): a median absolute deviation times this estimates σ under normality.
MAD_TO_SD = 1.4826
#: √(π/2): a mean absolute deviation times this estimates σ under normality.
MEANAD_TO_SD = 1.253314


def robust_scale(values, *, centre=None, axis=None) -> np.ndarray:
    """Robust standard deviation: 1.4826 · MAD, or 1.253314 · mean |x − c| when the MAD is 0.

    MAD = median |x − c| with c = ``centre`` (default the median of ``values``), NaN ignored,
    along ``axis`` (None: all values). When more than half the values sit exactly on the centre
    (sparse counts, a flat stretch) the MAD is 0 although the values do vary; the mean absolute
    deviation is then used instead, scaled to σ the same way (the fallback of Iglewicz & Hoaglin
    1993). All values equal to the centre give 0; no values give NaN.
    References: Rousseeuw & Croux (1993), JASA 88(424); Iglewicz & Hoaglin (1993), "How to
    Detect and Handle Outliers", ASQC.

    >>> float(robust_scale([1, 2, 3, 4, 100])), float(robust_scale([5, 5, 5, 5, 9]))
    (1.4826, 1.0026512)
    """
    x = np.asarray(values, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN slices -> NaN
        c = np.nanmedian(x, axis=axis) if centre is None else np.asarray(centre, dtype=float)
        dev = np.abs(x - (np.expand_dims(c, axis) if axis is not None else c))
        mad = MAD_TO_SD * np.nanmedian(dev, axis=axis)
        mean_ad = MEANAD_TO_SD * np.nanmean(dev, axis=axis)
    return np.where(mad > 0, mad, mean_ad)


def robust_z(values, *, reference=None, axis=None) -> np.ndarray:
    """Robust z-score ("modified z-score"): z = (x − median) / :func:`robust_scale`.

    The median and scale are those of ``reference`` (default: ``values`` themselves) along
    ``axis`` (None: all values); NaN is ignored and stays NaN. When the scale is 0 (every
    reference value equals the median) a value on the median scores 0 and any other ±inf.
    ``|z| > 3.5`` is the usual outlier rule (Iglewicz & Hoaglin 1993); under normality z is a
    standard normal deviate.

    >>> robust_z([1, 2, 3, 4, 100]).round(3).tolist()
    [-1.349, -0.674, 0.0, 0.674, 65.426]
    """
    x = np.asarray(values, dtype=float)
    ref = x if reference is None else np.asarray(reference, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        c = np.nanmedian(ref, axis=axis)
    s = robust_scale(ref, centre=c, axis=axis)
    if axis is not None:
        c, s = np.expand_dims(c, axis), np.expand_dims(s, axis)
    d = x - c
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, d / s, np.where(d == 0, 0.0, np.sign(d) * np.inf))


def interval_verdict(low, high, threshold: float = 0.0) -> str:
    """Where an interval lies relative to ``threshold``: the one rule every verdict uses.

    ``"above"`` when low > threshold, ``"below"`` when high < threshold, else ``"includes"``
    (also when a bound is missing): a K-factor interval above 1 is self-sustaining, a
    difference interval above 0 is a win, and an interval that includes the threshold supports
    no claim either way.

    >>> interval_verdict(1.05, 1.3, 1.0), interval_verdict(-0.2, 0.1), interval_verdict(-3, -1)
    ('above', 'includes', 'below')
    """
    lo, hi = float(low), float(high)
    if np.isnan(lo) or np.isnan(hi):
        return "includes"
    if lo > threshold:
        return "above"
    if hi < threshold:
        return "below"
    return "includes"


def intervals_overlap(low_a, high_a, low_b, high_b) -> bool:
    """True when [low_a, high_a] and [low_b, high_b] share a point (missing bounds: True).

    Non-overlapping 95 % intervals imply a significant difference; overlapping ones do not
    imply the opposite, so use a test of the difference to claim "no difference".
    """
    bounds = [float(x) for x in (low_a, high_a, low_b, high_b)]
    if any(np.isnan(b) for b in bounds):
        return True
    return not (bounds[0] > bounds[3] or bounds[2] > bounds[1])
