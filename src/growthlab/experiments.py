"""Online experiments (SPEC §4.5): the statistics of an experimentation platform, on sums.

Pure functions on small pandas frames (no I/O, plots or printing; nothing from
``growthlab.data``, ``plots`` or ``report``). Everything starts from **sufficient statistics**
per experiment, variant and metric (:data:`STATS_COLUMNS`: n, Σy, Σy², and for ratio metrics
Σd, Σd², Σyd, for variance reduction Σx, Σx², Σyx of a pre-exposure covariate x), so the
heavy part runs in the engine (``growthlab.data.experiments.variant_stats``) or, for small
frames and tests, in pandas (:func:`sufficient_stats`).

What :func:`analyse` computes, each variant against the control of its experiment:

- **metrics** (:data:`METRICS`): conversion (a proportion), revenue per user (a mean, zeros
  included), revenue per order (a ratio Σrevenue / Σorders over users, variance by the delta
  method) and the guardrails unsubscribe and complaint rates;
- **effects**: absolute difference Δ = μ_T − μ_C and relative lift Δ/μ_C, with
  Var(Δ) = σ²_T/n_T + σ²_C/n_C and Var(lift) = σ²_T/(μ_C² n_T) + σ²_C μ_T²/(μ_C⁴ n_C)
  (delta method); per-unit variances p(1 − p) for proportions, the sample variance (n − 1)
  for means, and for a ratio m/d
  σ² = σ²_m/μ_d² − 2 cov(m, d) μ_m/μ_d³ + μ_m² σ²_d/μ_d⁴ (Deng, Knoblich & Lu 2018, KDD,
  "Applying the delta method in metric analytics");
- **CUPED** (Deng, Xu, Kohavi & Walker 2013, WSDM): with a pre-exposure covariate x,
  y − θ(x − x̄), θ = cov(y, x)/var(x) pooled over the control and the variant; the variance of
  the difference shrinks by the factor 1 − ρ² (ρ the correlation of y and x).
  ``variance_reduction`` = 1 − Var(Δ_CUPED)/Var(Δ). When the covariate is missing or constant
  (no pre-period data: e.g. users assigned at signup) θ = 0 and the unadjusted estimate is
  used (``cuped`` False);
- **fixed-horizon interval**: Welch t, Δ ± t_{1−α/2, ν} · se with the Welch–Satterthwaite ν,
  and its two-sided p-value;
- **sequential (always-valid) interval**: the asymptotic confidence sequence of Waudby-Smith,
  Arnold, Wu, Wang, Ramdas & Howard (2023, "Time-uniform central limit theory and asymptotic
  confidence sequences", Ann. Statist.; arXiv:2103.06476 eq. 9), as in GrowthBook:
  Δ ± se·√N · √( 2(Nρ² + 1)/(N²ρ²) · log(√(Nρ² + 1)/α) ), N = n_C + n_T, with
  ρ² = (−2 log α + log(−2 log α + 1))/N* tuned to be tightest at N* = ``tuning`` (5,000 by
  default) units; the p-value is min(1, 1/e) for the e-value
  e = exp(ρ² N (Δ/se)²/(2(Nρ² + 1)))/√(Nρ² + 1) of the same paper (eq. 155), so p ≤ α exactly
  when the interval excludes 0. Valid however often the experiment is looked at, so it is the
  default for experiments still running;
- **Bayesian summary** (GrowthBook's effect model, gbstats ``EffectBayesianABTest``): a
  normal likelihood for the relative lift with the default prior of gbstats and GrowthBook —
  improper and flat, so the posterior is N(lift, se²), the weakest prior; ``prior_sd`` gives
  their proper-prior option N(0, prior_sd²) on the lift (GrowthBook suggests 0.3).
  ``chance_to_win`` = P(lift better than 0) and ``expected_loss`` = E[max(−lift, 0)] (the
  relative loss expected when shipping a variant that is in fact worse; direction-aware for
  "lower is better" metrics);
- **multiple testing** across the decision metrics × treated variants of each experiment:
  Holm (1979) step-down adjusted p-values (family-wise error ≤ α) by default, or
  Benjamini–Hochberg (1995, false-discovery rate); each decision interval is then drawn at the
  level 1 − α·p/p_adj, so it excludes 0 exactly when the adjusted p-value is below α (one
  verdict rule, :func:`growthlab.stats.interval_verdict`). Guardrails are not adjusted: a
  guardrail only blocks, so it is kept sensitive;
- **sample-ratio mismatch**: chi-square goodness of fit of the users per variant against the
  planned split, flagged at p < 0.001 (Fabijan et al. 2019, KDD), which withholds the verdict;
- **planner** (:func:`sample_size`, :func:`plan`): users per variant and days of the observed
  traffic to detect a chosen relative MDE at level α and the chosen power, fixed-horizon
  n = (z_{1−α/2} + z_power)² (σ²_C + σ²_T)/δ², or the smallest n where the sequential
  half-width plus z_power·se reaches δ.

Agreement with gbstats 0.8.0 (GrowthBook's engine) on the same sums is tested to 1e-9
relative in ``tests/test_experiments_gbstats.py``.
References: Kohavi, Tang & Xu (2020), "Trustworthy Online Controlled Experiments";
GrowthBook statistics documentation (docs.growthbook.io/statistics).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

from growthlab.errors import AnalysisInputError, require_columns
from growthlab.stats import interval_verdict

#: Sufficient statistics per (experiment, variant, metric): n units, Σy, Σy²; ratio metrics
#: also Σd, Σd², Σyd; CUPED also Σx, Σx², Σyx (NaN when absent).
STATS_COLUMNS = [
    "experiment_id",
    "variant",
    "metric",
    "n",
    "sum",
    "sum_sq",
    "den_sum",
    "den_sum_sq",
    "num_den_sum",
    "pre_sum",
    "pre_sum_sq",
    "post_pre_sum",
]
#: Possible verdicts of a treated variant, in order of precedence (see :func:`verdicts`).
VERDICTS = ("srm", "loss", "guardrail", "win", "underpowered", "no_effect", "inconclusive")
#: Verdict -> suggested action (keys ``action.ab.<action>`` in i18n).
ACTIONS = {
    "win": "ship",
    "loss": "stop",
    "guardrail": "do_not_ship",
    "underpowered": "keep_running",
    "inconclusive": "keep_running",
    "no_effect": "stop",
    "srm": "fix_split",
}
CORRECTIONS = ("holm", "bh", "none")
#: Default tuning of the confidence sequence: tightest at this many units (gbstats' default).
TUNING = 5000.0
SRM_ALPHA = 0.001


@dataclass(frozen=True)
class Metric:
    """One experiment metric.

    ``kind``: ``proportion`` (a 0/1 column per user), ``mean`` (a number per user, zeros
    included) or ``ratio`` (Σ``column`` / Σ``denominator`` over users); ``covariate`` names the
    pre-exposure column used by CUPED (None: none); a ``guardrail`` metric can veto shipping
    when it moves in its bad direction; ``better`` is ``up`` or ``down``.
    """

    name: str
    kind: str
    column: str
    denominator: str | None = None
    covariate: str | None = None
    guardrail: bool = False
    better: str = "up"

    def __post_init__(self) -> None:
        if self.kind not in ("proportion", "mean", "ratio"):
            raise AnalysisInputError(f"metric {self.name}: kind must be proportion/mean/ratio")
        if (self.kind == "ratio") != (self.denominator is not None):
            raise AnalysisInputError(f"metric {self.name}: a ratio (only) needs a denominator")
        if self.better not in ("up", "down"):
            raise AnalysisInputError(f"metric {self.name}: better must be 'up' or 'down'")


#: The metrics of the experiments page (columns of ``growthlab.data.experiments.user_metrics``).
METRICS: tuple[Metric, ...] = (
    Metric("conversion", "proportion", "converted", covariate="pre_converted"),
    Metric("revenue_per_user", "mean", "revenue", covariate="pre_revenue"),
    Metric("revenue_per_order", "ratio", "revenue", denominator="orders"),
    Metric("unsubscribe_rate", "proportion", "unsubscribed", guardrail=True, better="down"),
    Metric("complaint_rate", "proportion", "complained", guardrail=True, better="down"),
)
#: The metric a verdict is about (the others inform; guardrails can veto).
PRIMARY = "conversion"


def metric_specs(metrics: Sequence[Metric] | None = None) -> dict[str, Metric]:
    """name -> :class:`Metric` of ``metrics`` (default :data:`METRICS`)."""
    return {m.name: m for m in (METRICS if metrics is None else metrics)}


# --------------------------------------------------------------------------------------------
# sufficient statistics


def sufficient_stats(
    users: pd.DataFrame,
    metrics: Sequence[Metric] | None = None,
    keys: Sequence[str] = ("experiment_id", "variant"),
) -> pd.DataFrame:
    """:data:`STATS_COLUMNS` from one row per unit (pandas; the engine version is
    ``growthlab.data.experiments.variant_stats``). Metrics whose column is absent are left
    out; a covariate column that is absent gives NaN CUPED sums (no adjustment)."""
    keys = list(keys)
    require_columns(users, keys, "users", kind=pd.DataFrame)
    parts = []
    for m in metrics_list(metrics):  # a handful of metrics, each vectorised over users
        if m.column not in users.columns or (m.denominator and m.denominator not in users):
            continue
        y = pd.to_numeric(users[m.column], errors="coerce").astype(float)
        if y.isna().any():
            raise AnalysisInputError(f"sufficient_stats: users.{m.column} must be numeric")
        d = users[keys].copy()
        d["n"], d["sum"], d["sum_sq"] = 1.0, y, y * y
        if m.denominator:
            den = pd.to_numeric(users[m.denominator], errors="coerce").astype(float)
            d["den_sum"], d["den_sum_sq"], d["num_den_sum"] = den, den * den, y * den
        if m.covariate and m.covariate in users.columns:
            x = pd.to_numeric(users[m.covariate], errors="coerce").astype(float).fillna(0.0)
            d["pre_sum"], d["pre_sum_sq"], d["post_pre_sum"] = x, x * x, y * x
        g = d.groupby(keys, sort=True).sum(min_count=1).reset_index()
        g["metric"] = m.name
        parts.append(g)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in [*keys, *STATS_COLUMNS[2:]]})
    out = pd.concat(parts, ignore_index=True)
    for c in STATS_COLUMNS[3:]:
        if c not in out.columns:
            out[c] = np.nan
    extra = [k for k in keys if k not in ("experiment_id", "variant")]
    return out[["experiment_id", "variant", *extra, *STATS_COLUMNS[2:]]]


def metrics_list(metrics: Sequence[Metric] | None) -> tuple[Metric, ...]:
    return tuple(METRICS if metrics is None else metrics)


# --------------------------------------------------------------------------------------------
# vectorised building blocks (arrays in, arrays out)


def _var(n, s, ss, ddof):
    """Per-unit variance from Σy, Σy² with ``ddof`` (0: p(1 − p) for proportions, 1: sample)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        v = (ss - s * s / n) / (n - ddof)
    return np.where(n > ddof, np.maximum(v, 0.0), 0.0)


def _cov(n, sx, sy, sxy):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1, (sxy - sx * sy / n) / (n - 1), 0.0)


def ratio_moments(n, num, num_sq, den, den_sq, num_den) -> tuple[np.ndarray, np.ndarray]:
    """Mean Σm/Σd and per-unit delta-method variance of a ratio metric (gbstats
    ``RatioStatistic``): σ² = σ²_m/μ_d² − 2 cov μ_m/μ_d³ + μ_m² σ²_d/μ_d⁴."""
    n, num, den = (np.asarray(a, dtype=float) for a in (n, num, den))
    with np.errstate(invalid="ignore", divide="ignore"):
        mm, md = num / n, den / n
        vm, vd = (
            _var(n, num, np.asarray(num_sq, float), 1),
            _var(n, den, np.asarray(den_sq, float), 1),
        )
        c = _cov(n, num, den, np.asarray(num_den, float))
        var = vm / md**2 - 2 * c * mm / md**3 + mm**2 * vd / md**4
        mean = np.where(den != 0, num / den, np.nan)
    return mean, np.where((md != 0) & (n > 1), var, np.nan)


def fixed_interval(est, se, df, alpha) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch t interval est ± t_{1−α/2, df}·se and two-sided p-value; ``alpha`` may vary."""
    est, se, df, alpha = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (est, se, df, alpha))
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        half = st.t.ppf(1 - alpha / 2, df) * se
        p = 2 * st.t.sf(np.abs(est / se), df)
    return est - half, est + half, np.where(se > 0, p, np.nan)


def _rho2(alpha: float, tuning: float) -> float:
    """ρ² of the confidence sequence, tightest at ``tuning`` units (arXiv:2103.06476 eq. 161)."""
    return (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning


def sequential_half_width(se, n_total, alpha, *, tuning: float = TUNING, rho_alpha=None):
    """Half-width of the asymptotic confidence sequence (Waudby-Smith et al. 2023, eq. 9):
    se·√N · √( 2(Nρ² + 1)/(N²ρ²) · log(√(Nρ² + 1)/α) ), N = units in both arms; ρ from
    ``rho_alpha`` (default ``alpha``; the nominal level when ``alpha`` is a multiplicity-
    adjusted one, so interval and p-value stay dual)."""
    se, n, a = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (se, n_total, alpha)))
    r2 = _rho2(float(np.asarray(alpha).flat[0] if rho_alpha is None else rho_alpha), tuning)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (
            se
            * np.sqrt(n)
            * np.sqrt(2 * (n * r2 + 1) / (n**2 * r2) * np.log(np.sqrt(n * r2 + 1) / a))
        )


def sequential_p_value(est, se, n_total, alpha: float, *, tuning: float = TUNING) -> np.ndarray:
    """Always-valid p-value min(1, 1/e), e = exp(ρ² N (est/se)²/(2(Nρ² + 1)))/√(Nρ² + 1)
    (Waudby-Smith et al. 2023, eq. 155 as in gbstats): p ≤ α exactly when the sequential
    interval at level α excludes 0."""
    est, se, n = (np.asarray(x, dtype=float) for x in (est, se, n_total))
    r2 = _rho2(alpha, tuning)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        st2 = est**2 * n / se**2  # N·(est/se)², as gbstats writes it
        tr = n * r2 + 1
        log_e = r2 * st2 / (2 * tr) - 0.5 * np.log(tr)
        return np.where(se > 0, np.minimum(np.exp(-log_e), 1.0), np.nan)


def normal_loss(mean, sd) -> np.ndarray:
    """E[max(−δ, 0)] for δ ~ N(mean, sd²): sd·φ(mean/sd) − mean·Φ(−mean/sd) (equal to
    gbstats' truncated-normal risk −P(δ<0)·E[δ | δ<0])."""
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = mean / sd
        return sd * st.norm.pdf(z) - mean * st.norm.cdf(-z)


def adjust_p(p: np.ndarray, method: str = "holm") -> np.ndarray:
    """Multiplicity-adjusted p-values of one family (NaN stay NaN and are not counted).

    Holm (1979): p̃_(i) = max_{j≤i} min(1, (m − j + 1) p_(j)); Benjamini–Hochberg (1995):
    p̃_(i) = min_{j≥i} min(1, m p_(j)/j); ``none`` returns p.
    """
    if method not in CORRECTIONS:
        raise AnalysisInputError(f"correction must be one of {CORRECTIONS}, got {method!r}")
    p = np.asarray(p, dtype=float)
    out = p.copy()
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if method == "none" or m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order]
    j = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - j + 1) * ranked))
    else:
        adj = np.minimum.accumulate((np.minimum(1.0, m * ranked / j))[::-1])[::-1]
    out[order] = adj
    return out


def srm_p_value(users: Sequence[float], shares: Sequence[float] | None = None) -> float:
    """Chi-square goodness-of-fit p-value of ``users`` per variant against ``shares``
    (default equal): Σ (o − e)²/e with k − 1 degrees of freedom (gbstats ``check_srm``)."""
    o = np.asarray(users, dtype=float)
    w = np.ones_like(o) if shares is None else np.asarray(shares, dtype=float)
    if o.size < 2 or o.sum() <= 0:
        return float("nan")
    e = w / w.sum() * o.sum()
    return float(st.chi2.sf(np.sum((o - e) ** 2 / e), o.size - 1))


# --------------------------------------------------------------------------------------------
# comparisons


def _controls(stats: pd.DataFrame, keys: list[str], control: str) -> pd.Series:
    """Per row: is this the control of its experiment (the variant named ``control``, else the
    first variant name in sort order)?"""
    names = stats[keys + ["variant"]].drop_duplicates().sort_values(keys + ["variant"])
    named = names["variant"] == control
    has_named = named.groupby([names[k] for k in keys]).transform("any")
    first = names.groupby(keys).cumcount() == 0
    names = names.assign(is_control=np.where(has_named, named, first))
    return stats.merge(names, on=keys + ["variant"], how="left")["is_control"].to_numpy(bool)


def _arm(frame: pd.DataFrame, sfx: str, kind: np.ndarray, use_cuped: bool) -> dict[str, np.ndarray]:
    """Means and per-unit variances of one arm (columns with suffix ``sfx``)."""
    c = {k: frame[f"{k}{sfx}"].to_numpy(float) for k in STATS_COLUMNS[3:]}
    n = c["n"]
    ddof = np.where(kind == "proportion", 0, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = c["sum"] / n
    var = _var(n, c["sum"], c["sum_sq"], ddof)
    r_mean, r_var = ratio_moments(
        n, c["sum"], c["sum_sq"], c["den_sum"], c["den_sum_sq"], c["num_den_sum"]
    )
    is_ratio = kind == "ratio"
    mean, var = np.where(is_ratio, r_mean, mean), np.where(is_ratio, r_var, var)
    return {"n": n, "mean": mean, "var": var, "ddof": ddof, **{k: c[k] for k in STATS_COLUMNS[4:]}}


def _cuped(a: dict, b: dict, kind: np.ndarray, enabled: bool) -> dict[str, np.ndarray]:
    """θ pooled over both arms (gbstats ``compute_theta``) and the adjusted means/variances;
    θ = 0 (no adjustment) when the covariate is missing or either pooled variance is 0."""
    n = a["n"] + b["n"]
    ddof = a["ddof"]
    sy, sx = a["sum"] + b["sum"], a["pre_sum"] + b["pre_sum"]
    vy = _var(n, sy, a["sum_sq"] + b["sum_sq"], ddof)
    vx = _var(n, sx, a["pre_sum_sq"] + b["pre_sum_sq"], ddof)
    cxy = _cov(n, sx, sy, a["post_pre_sum"] + b["post_pre_sum"])
    usable = enabled & (kind != "ratio") & np.isfinite(sx) & np.isfinite(cxy) & (vx > 0) & (vy > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.where(usable, cxy / vx, 0.0)
    out = {"theta": theta, "applied": usable & (theta != 0)}
    for arm, name in ((a, "a"), (b, "b")):
        x_mean = np.where(usable, arm["pre_sum"] / arm["n"], 0.0)
        vx_g = np.where(usable, _var(arm["n"], arm["pre_sum"], arm["pre_sum_sq"], ddof), 0.0)
        c_g = np.where(usable, _cov(arm["n"], arm["pre_sum"], arm["sum"], arm["post_pre_sum"]), 0.0)
        out[f"mean_{name}"] = arm["mean"] - theta * x_mean
        out[f"var_{name}"] = np.where(
            usable, arm["var"] + theta**2 * vx_g - 2 * theta * c_g, arm["var"]
        )
    return out


def compare(
    stats: pd.DataFrame,
    *,
    control: str = "control",
    alpha: float = 0.05,
    sequential: bool | Mapping[str, bool] = False,
    tuning: float = TUNING,
    cuped: bool = True,
    prior_sd: float | None = None,
    correction: str = "holm",
    power: float = 0.8,
    metrics: Sequence[Metric] | None = None,
) -> pd.DataFrame:
    """Every treated variant against its control, per metric (module docstring for formulas).

    ``stats``: :data:`STATS_COLUMNS` (extra key column ``day`` allowed: one family per
    experiment and day). ``sequential``: one choice for all experiments or experiment_id ->
    bool. Returns one row per (experiment[, day], metric, treated variant) with the control's
    and the variant's n and (unadjusted) means; ``cuped``, ``theta``, ``variance_reduction``;
    absolute ``diff``/``se``/``df`` and relative ``rel_lift``/``rel_se``; the fixed-horizon
    ``fixed_low/high/p`` and sequential ``seq_low/high/p`` intervals (unadjusted); the chosen
    ``method``, its ``p_value``, the multiplicity-adjusted ``p_adj`` and ``alpha_adj``, and the
    decision intervals ``low/high`` (absolute) and ``rel_low/rel_high``; ``mde`` (absolute,
    at ``power``); the Bayesian ``post_mean``/``post_sd`` of the lift, ``chance_to_win`` and
    ``expected_loss``; ``guardrail``, ``better`` and ``position`` (``above``/``below``/
    ``includes``: where the decision interval lies relative to 0).
    """
    if not (0 < alpha < 0.5 and 0 < power < 1 and tuning > 0):
        raise AnalysisInputError("compare: need 0 < alpha < 0.5, 0 < power < 1, tuning > 0")
    if prior_sd is not None and not prior_sd > 0:
        raise AnalysisInputError("compare: prior_sd must be > 0 (None: flat prior)")
    require_columns(stats, STATS_COLUMNS[:6], "stats", kind=pd.DataFrame)
    specs = metric_specs(metrics)
    unknown = sorted(set(stats["metric"]) - set(specs))
    if unknown:
        raise AnalysisInputError(f"compare: stats has metric(s) {unknown} not in metrics")
    keys = ["experiment_id", *(["day"] if "day" in stats.columns else [])]
    s = stats.copy()
    for c in STATS_COLUMNS[3:]:
        s[c] = pd.to_numeric(s[c], errors="coerce").astype(float) if c in s else np.nan
    s["variant"] = s["variant"].astype(str)
    s["experiment_id"] = s["experiment_id"].astype(str)
    s["_ctrl"] = _controls(s, keys, control)
    ctrl = s.loc[s["_ctrl"], [*keys, "metric", "variant", *STATS_COLUMNS[3:]]]
    t = s.loc[~s["_ctrl"], [*keys, "metric", "variant", *STATS_COLUMNS[3:]]]
    j = t.merge(ctrl, on=[*keys, "metric"], suffixes=("_b", "_a"))
    j = j.rename(columns={"variant_b": "variant", "variant_a": "control"})
    if j.empty:
        return pd.DataFrame(columns=[*keys, "metric", "variant", "control", *RESULT_COLUMNS])
    kind = j["metric"].map(lambda m: specs[m].kind).to_numpy(object)
    a, b = _arm(j, "_a", kind, cuped), _arm(j, "_b", kind, cuped)
    cu = _cuped(a, b, kind, cuped)
    na, nb = a["n"], b["n"]
    mu_a, mu_b = a["mean"], b["mean"]  # unadjusted means
    va, vb = cu["var_a"], cu["var_b"]
    out = j[[*keys, "metric", "variant", "control"]].copy()
    out["n_control"], out["n"] = na, nb
    out["mean_control"], out["mean"] = mu_a, mu_b
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = cu["mean_b"] - cu["mean_a"]
        v_abs = vb / nb + va / na
        v_raw = b["var"] / nb + a["var"] / na
        se = np.sqrt(v_abs)
        df = v_abs**2 / (vb**2 / (nb**2 * (nb - 1)) + va**2 / (na**2 * (na - 1)))
        rel = diff / mu_a
        rel_se = np.sqrt(vb / (mu_a**2 * nb) + va * mu_b**2 / (mu_a**4 * na))
        bad = ~((se > 0) & (mu_a != 0) & np.isfinite(mu_a) & np.isfinite(se))
    diff, se, rel, rel_se = (np.where(bad, np.nan, x) for x in (diff, se, rel, rel_se))
    out["cuped"] = cu["applied"] & ~bad
    out["theta"] = cu["theta"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["variance_reduction"] = np.where(out["cuped"], 1 - v_abs / v_raw, 0.0)
    out["diff"], out["se"], out["df"] = diff, se, df
    out["rel_lift"], out["rel_se"] = rel, rel_se
    n_tot = na + nb
    out["fixed_low"], out["fixed_high"], out["fixed_p"] = fixed_interval(diff, se, df, alpha)
    half = sequential_half_width(se, n_tot, alpha, tuning=tuning)
    out["seq_low"], out["seq_high"] = diff - half, diff + half
    out["seq_p"] = sequential_p_value(diff, se, n_tot, alpha, tuning=tuning)
    if isinstance(sequential, Mapping):
        seq = out["experiment_id"].map(lambda e: bool(sequential.get(e, True))).to_numpy(bool)
    else:
        seq = np.full(len(out), bool(sequential))
    out["method"] = np.where(seq, "sequential", "fixed")
    out["p_value"] = np.where(seq, out["seq_p"], out["fixed_p"])
    # multiple testing: one family per experiment (and day) over decision metrics x variants
    guard = out["metric"].map(lambda m: specs[m].guardrail).to_numpy(bool)
    out["guardrail"] = guard
    out["better"] = out["metric"].map(lambda m: specs[m].better)
    out["p_adj"] = out["p_value"]
    fam = out.loc[~guard].groupby(keys, sort=False)["p_value"]
    out.loc[~guard, "p_adj"] = fam.transform(lambda p: adjust_p(p.to_numpy(), correction))
    p, p_adj = out["p_value"].to_numpy(float), out["p_adj"].to_numpy(float)
    m_family = out.loc[~guard].groupby(keys)["p_value"].transform("count").reindex(out.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        a_adj = np.where(p_adj > 0, alpha * p / p_adj, alpha / m_family.fillna(1).to_numpy(float))
    a_adj = np.where(np.isfinite(a_adj), np.clip(a_adj, 1e-300, alpha), alpha)
    out["alpha_adj"] = a_adj
    f_lo, f_hi, _ = fixed_interval(diff, se, df, a_adj)
    s_half = sequential_half_width(se, n_tot, a_adj, tuning=tuning, rho_alpha=alpha)
    fr_lo, fr_hi, _ = fixed_interval(rel, rel_se, df, a_adj)
    sr_half = sequential_half_width(rel_se, n_tot, a_adj, tuning=tuning, rho_alpha=alpha)
    out["low"] = np.where(seq, diff - s_half, f_lo)
    out["high"] = np.where(seq, diff + s_half, f_hi)
    out["rel_low"] = np.where(seq, rel - sr_half, fr_lo)
    out["rel_high"] = np.where(seq, rel + sr_half, fr_hi)
    z_pow = float(st.norm.ppf(power))
    with np.errstate(invalid="ignore", divide="ignore"):
        crit = np.where(seq, half / se, st.t.ppf(1 - alpha / 2, df))
    out["mde"] = (crit + z_pow) * se
    # Bayesian effect model on the relative lift (gbstats EffectBayesianABTest)
    if prior_sd is None:
        post_mean, post_sd = rel, rel_se
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            prec = 1 / rel_se**2 + 1 / prior_sd**2
            post_mean, post_sd = (rel / rel_se**2) / prec, np.sqrt(1 / prec)
    up = out["better"].to_numpy() == "up"
    sign = np.where(up, 1.0, -1.0)
    out["post_mean"], out["post_sd"] = post_mean, post_sd
    with np.errstate(invalid="ignore", divide="ignore"):
        out["chance_to_win"] = st.norm.cdf(sign * post_mean / post_sd)
    out["expected_loss"] = normal_loss(sign * post_mean, post_sd)
    out["position"] = [
        interval_verdict(lo, hi, 0.0) for lo, hi in zip(out["low"], out["high"], strict=True)
    ]
    order = {m: i for i, m in enumerate(specs)}
    out = out.assign(_order=out["metric"].map(order))
    out = out.sort_values([*keys, "variant", "_order"], kind="stable").drop(columns="_order")
    return out.reset_index(drop=True)


RESULT_COLUMNS = [
    "n_control",
    "n",
    "mean_control",
    "mean",
    "cuped",
    "theta",
    "variance_reduction",
    "diff",
    "se",
    "df",
    "rel_lift",
    "rel_se",
    "fixed_low",
    "fixed_high",
    "fixed_p",
    "seq_low",
    "seq_high",
    "seq_p",
    "method",
    "p_value",
    "guardrail",
    "better",
    "p_adj",
    "alpha_adj",
    "low",
    "high",
    "rel_low",
    "rel_high",
    "mde",
    "post_mean",
    "post_sd",
    "chance_to_win",
    "expected_loss",
    "position",
]


# --------------------------------------------------------------------------------------------
# experiments: running or not, split check, verdicts, planner


def experiment_facts(
    stats: pd.DataFrame,
    info: pd.DataFrame | None = None,
    *,
    as_of: Any = None,
    control: str = "control",
    sequential: str | bool = "auto",
    running_within_days: float = 2.0,
    expected_shares: Mapping[str, float] | None = None,
    srm_alpha: float = SRM_ALPHA,
    primary: str = PRIMARY,
) -> pd.DataFrame:
    """One row per experiment: variants, control, users, ``srm_p_value``/``srm``, first/last
    assignment, ``days`` (assignment span, ≥ 1), ``daily_users``, ``running`` and ``method``.

    ``info`` (optional): experiment_id, first_assigned, last_assigned (timestamps). An
    experiment is running when its last assignment is within ``running_within_days`` of
    ``as_of``; without assignment times its state is unknown and counted as running (the
    conservative choice: the sequential interval is valid either way). ``sequential``:
    ``auto`` (sequential while running, fixed-horizon once finished), ``always``/True or
    ``never``/False. Users per variant are the units of the ``primary`` metric's rows.
    """
    if sequential not in ("auto", "always", "never", True, False):
        raise AnalysisInputError("sequential must be 'auto', 'always' or 'never'")
    rows = stats.loc[stats["metric"] == primary] if primary in set(stats["metric"]) else stats
    rows = rows.drop_duplicates(["experiment_id", "variant"])
    rows = rows.assign(
        experiment_id=rows["experiment_id"].astype(str), variant=rows["variant"].astype(str)
    )
    is_ctrl = _controls(rows, ["experiment_id"], control)
    rows = rows.assign(_ctrl=is_ctrl).sort_values(["experiment_id", "variant"])
    shares = None
    if expected_shares is not None:
        shares = rows["variant"].map({str(k): float(v) for k, v in expected_shares.items()})
        if shares.isna().any():
            missing = sorted(rows.loc[shares.isna(), "variant"].unique())
            raise AnalysisInputError(f"expected_shares lacks variant(s) {missing}")
        rows = rows.assign(_share=shares)
    else:
        rows = rows.assign(_share=1.0)
    g = rows.groupby("experiment_id", sort=True)
    out = pd.DataFrame(
        {
            "variants": g["variant"].size(),
            "control": g.apply(
                lambda d: d.loc[d["_ctrl"], "variant"].iloc[0], include_groups=False
            ),
            "users": g["n"].sum().astype(int),
            "srm_p_value": g.apply(
                lambda d: srm_p_value(d["n"].to_numpy(), d["_share"].to_numpy()),
                include_groups=False,
            ),
        }
    ).reset_index()  # one apply per experiment: a few rows each
    out["srm"] = out["srm_p_value"] < srm_alpha
    if info is not None and len(info):
        i = info.assign(experiment_id=info["experiment_id"].astype(str))
        out = out.merge(
            i[["experiment_id", "first_assigned", "last_assigned"]], on="experiment_id", how="left"
        )
    else:
        out["first_assigned"] = pd.NaT
        out["last_assigned"] = pd.NaT
    first, last = pd.to_datetime(out["first_assigned"]), pd.to_datetime(out["last_assigned"])
    span = (last - first).dt.total_seconds() / 86400
    out["days"] = np.maximum(np.ceil(span), 1.0)
    out["daily_users"] = out["users"] / out["days"]
    if as_of is not None and last.notna().any():
        cutoff = pd.Timestamp(as_of) - pd.Timedelta(days=running_within_days)
        out["running"] = np.where(last.isna(), True, last >= cutoff)
    else:
        out["running"] = True
    out["running"] = out["running"].astype(bool)
    if sequential in ("always", True):
        seq = np.ones(len(out), bool)
    elif sequential in ("never", False):
        seq = np.zeros(len(out), bool)
    else:
        seq = out["running"].to_numpy(bool)
    out["method"] = np.where(seq, "sequential", "fixed")
    return out


def verdicts(
    comparisons: pd.DataFrame,
    facts: pd.DataFrame,
    *,
    primary: str = PRIMARY,
    min_effect: float | None = None,
) -> pd.DataFrame:
    """One row per experiment × treated variant: the primary metric's numbers, the guardrails
    harmed, and the ``verdict`` (precedence :data:`VERDICTS`) with its ``action``:

    - ``srm``: the split check failed (p < 0.001) — no verdict is drawn from the data;
    - ``loss`` / ``win``: the primary metric's decision interval (sequential or fixed,
      multiplicity-adjusted) lies below / above 0 in its good direction, and the test is
      adequately powered (|Δ| ≥ MDE, or MDE ≤ ``min_effect`` when given);
    - ``guardrail``: a guardrail's interval lies wholly on its bad side — vetoes shipping
      whatever the primary metric says (a loss stays a loss);
    - ``underpowered``: significant but smaller than this sample can reliably detect;
    - ``no_effect``: not significant, and powered to see ``min_effect``;
    - ``inconclusive``: otherwise.
    """
    if comparisons is None or comparisons.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    c = comparisons
    prim = c.loc[c["metric"] == primary].copy()
    guard = c.loc[c["guardrail"].astype(bool)].copy()
    bad_side = np.where(guard["better"] == "down", "above", "below")
    guard["harmed"] = guard["position"].to_numpy() == bad_side
    harmed = (
        guard.loc[guard["harmed"]]
        .groupby(["experiment_id", "variant"])["metric"]
        .agg(lambda m: ",".join(sorted(m)))
    )
    checked = guard.groupby(["experiment_id", "variant"])["metric"].agg(
        lambda m: ",".join(sorted(m))
    )
    idx = pd.MultiIndex.from_frame(prim[["experiment_id", "variant"]])
    prim["guardrails_harmed"] = harmed.reindex(idx).fillna("").to_numpy()
    prim["guardrails_checked"] = checked.reindex(idx).fillna("").to_numpy()
    f = facts.set_index("experiment_id")
    prim["srm"] = prim["experiment_id"].map(f["srm"]).fillna(False).astype(bool)
    prim["srm_p_value"] = prim["experiment_id"].map(f["srm_p_value"])
    good = np.where(prim["better"] == "up", "above", "below")
    pos = prim["position"].to_numpy()
    sig = pos != "includes"
    if min_effect is not None:
        powered = (prim["mde"] <= float(min_effect)).to_numpy()
    else:
        powered = (prim["diff"].abs() >= prim["mde"]).to_numpy()
    prim["verdict"] = np.select(
        [
            prim["srm"].to_numpy(),
            sig & powered & (pos != good),
            prim["guardrails_harmed"].to_numpy() != "",
            sig & powered & (pos == good),
            sig,
            (min_effect is not None) & (prim["mde"] <= (min_effect or 0)).to_numpy(),
        ],
        list(VERDICTS[:-1]),
        default="inconclusive",
    )
    prim["action"] = prim["verdict"].map(ACTIONS)
    return prim[VERDICT_COLUMNS].reset_index(drop=True)


VERDICT_COLUMNS = [
    "experiment_id",
    "variant",
    "control",
    "metric",
    "n_control",
    "n",
    "mean_control",
    "mean",
    "diff",
    "low",
    "high",
    "rel_lift",
    "rel_low",
    "rel_high",
    "p_value",
    "p_adj",
    "method",
    "cuped",
    "variance_reduction",
    "chance_to_win",
    "expected_loss",
    "mde",
    "guardrails_checked",
    "guardrails_harmed",
    "srm",
    "srm_p_value",
    "verdict",
    "action",
]


def sample_size(
    var_control,
    mde,
    *,
    var_treatment=None,
    alpha: float = 0.05,
    power: float = 0.8,
    sequential=False,
    tuning: float = TUNING,
) -> np.ndarray:
    """Units per variant to detect an absolute difference ``mde`` (vectorised).

    Fixed horizon: n = (z_{1−α/2} + z_power)² (σ²_C + σ²_T)/δ² (Kohavi et al. 2020, ch. 17).
    Sequential: the smallest n at which the confidence-sequence half-width (module docstring,
    N = 2n) plus z_power·se reaches δ, se = √((σ²_C + σ²_T)/n) — found by bisection on log n.
    """
    vc = np.asarray(var_control, dtype=float)
    vt = vc if var_treatment is None else np.asarray(var_treatment, dtype=float)
    d = np.abs(np.asarray(mde, dtype=float))
    vc, vt, d, seq = np.broadcast_arrays(vc, vt, d, np.asarray(sequential, dtype=bool))
    z_a, z_b = float(st.norm.ppf(1 - alpha / 2)), float(st.norm.ppf(power))
    v = vc + vt
    with np.errstate(invalid="ignore", divide="ignore"):
        fixed = (z_a + z_b) ** 2 * v / d**2

    def gap(n):
        se = np.sqrt(v / n)
        return sequential_half_width(se, 2 * n, alpha, tuning=tuning) + z_b * se - d

    lo, hi = np.full(v.shape, math.log(2.0)), np.full(v.shape, math.log(1e12))
    for _ in range(80):  # bisection steps on log n, all rows at once
        mid = (lo + hi) / 2
        short = gap(np.exp(mid)) > 0
        lo, hi = np.where(short, mid, lo), np.where(short, hi, mid)
    seq_n = np.where(gap(np.exp(hi)) <= 0, np.exp(hi), np.inf)
    out = np.where(seq, seq_n, fixed)
    return np.where((d > 0) & (v > 0), np.ceil(out), np.nan)


def plan(
    comparisons: pd.DataFrame,
    facts: pd.DataFrame,
    *,
    mde_rel: float = 0.10,
    alpha: float = 0.05,
    power: float = 0.8,
    tuning: float = TUNING,
    primary: str = PRIMARY,
    metrics: Sequence[Metric] | None = None,
) -> pd.DataFrame:
    """The planner per experiment × treated variant for the ``primary`` metric: users per
    variant and days needed to detect a relative lift of ``mde_rel`` over the control's mean
    at the observed traffic (``facts.daily_users``, all variants together), with the
    experiment's method (sequential or fixed) and the observed per-unit variance (CUPED-
    adjusted when applied); ``days_more`` = days still to run (0 when enough already)."""
    cols = ["experiment_id", "variant", "metric", "method", "baseline", "mde_rel", "mde_abs"]
    cols += ["users_per_variant", "users_total", "daily_users", "days_needed", "days_run"]
    cols += ["days_more"]
    if comparisons is None or comparisons.empty or not mde_rel > 0:
        return pd.DataFrame(columns=cols)
    c = comparisons.loc[comparisons["metric"] == primary].copy()
    if c.empty:
        return pd.DataFrame(columns=cols)
    spec = metric_specs(metrics)[primary]
    f = facts.set_index("experiment_id")
    base = c["mean_control"].to_numpy(float)
    delta = mde_rel * np.abs(base)
    # per-unit variance: from the interval's se (CUPED-adjusted when applied), split evenly
    with np.errstate(invalid="ignore", divide="ignore"):
        v_unit = c["se"].to_numpy(float) ** 2 / (
            1 / c["n"].to_numpy(float) + 1 / c["n_control"].to_numpy(float)
        )
    if spec.kind == "proportion":
        p1 = np.clip(base + delta, 0, 1)
        shrink = np.where(
            c["cuped"].to_numpy(bool), 1 - c["variance_reduction"].to_numpy(float), 1.0
        )
        vc, vt = base * (1 - base) * shrink, p1 * (1 - p1) * shrink
    else:
        vc = vt = v_unit
    seq = c["experiment_id"].map(f["method"]).to_numpy() == "sequential"
    n = sample_size(
        vc, delta, var_treatment=vt, alpha=alpha, power=power, sequential=seq, tuning=tuning
    )
    k = c["experiment_id"].map(f["variants"]).to_numpy(float)
    daily = c["experiment_id"].map(f["daily_users"]).to_numpy(float)
    days_run = c["experiment_id"].map(f["days"]).to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        days = np.ceil(n * k / daily)
    out = c[["experiment_id", "variant", "metric"]].copy()
    out["method"] = np.where(seq, "sequential", "fixed")
    out["baseline"], out["mde_rel"], out["mde_abs"] = base, mde_rel, delta
    out["users_per_variant"], out["users_total"] = n, n * k
    out["daily_users"], out["days_needed"], out["days_run"] = daily, days, days_run
    out["days_more"] = np.maximum(days - days_run, 0)
    return out[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# the whole analysis


@dataclass(frozen=True)
class ExperimentResults:
    """What :func:`analyse` returns (frames described by the functions that make them)."""

    comparisons: pd.DataFrame  # compare(): experiment × metric × treated variant
    verdicts: pd.DataFrame  # verdicts(): experiment × treated variant
    facts: pd.DataFrame  # experiment_facts(): one row per experiment
    plan: pd.DataFrame  # plan(): experiment × treated variant
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.facts.empty


def analyse(
    stats: pd.DataFrame,
    info: pd.DataFrame | None = None,
    *,
    as_of: Any = None,
    control: str = "control",
    alpha: float = 0.05,
    power: float = 0.8,
    sequential: str | bool = "auto",
    running_within_days: float = 2.0,
    tuning: float = TUNING,
    cuped: bool = True,
    prior_sd: float | None = None,
    correction: str = "holm",
    srm_alpha: float = SRM_ALPHA,
    expected_shares: Mapping[str, float] | None = None,
    min_effect: float | None = None,
    plan_mde: float = 0.10,
    primary: str = PRIMARY,
    metrics: Sequence[Metric] | None = None,
) -> ExperimentResults:
    """All experiments of ``stats`` (:data:`STATS_COLUMNS`, e.g. from
    ``growthlab.data.experiments.variant_stats``) and ``info`` (first/last assignment per
    experiment): :func:`experiment_facts` (running, method, SRM), :func:`compare`,
    :func:`verdicts` and :func:`plan`; the settings used are kept for the page."""
    if correction not in CORRECTIONS:
        raise AnalysisInputError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    if not 0 < srm_alpha < 1:
        raise AnalysisInputError("srm_alpha must be in (0, 1)")
    settings = {
        "alpha": alpha,
        "power": power,
        "sequential": sequential,
        "tuning": tuning,
        "cuped": cuped,
        "prior_sd": prior_sd,
        "correction": correction,
        "srm_alpha": srm_alpha,
        "plan_mde": plan_mde,
        "primary": primary,
        "min_effect": min_effect,
    }
    if stats is None or stats.empty:
        empty = pd.DataFrame()
        return ExperimentResults(
            empty, pd.DataFrame(columns=VERDICT_COLUMNS), empty, empty, settings
        )
    facts = experiment_facts(
        stats,
        info,
        as_of=as_of,
        control=control,
        sequential=sequential,
        running_within_days=running_within_days,
        expected_shares=expected_shares,
        srm_alpha=srm_alpha,
        primary=primary,
    )
    seq = dict(zip(facts["experiment_id"], facts["method"] == "sequential", strict=True))
    comp = compare(
        stats,
        control=control,
        alpha=alpha,
        sequential=seq,
        tuning=tuning,
        cuped=cuped,
        prior_sd=prior_sd,
        correction=correction,
        power=power,
        metrics=metrics,
    )
    ver = verdicts(comp, facts, primary=primary, min_effect=min_effect)
    pl = plan(
        comp,
        facts,
        mde_rel=plan_mde,
        alpha=alpha,
        power=power,
        tuning=tuning,
        primary=primary,
        metrics=metrics,
    )
    return ExperimentResults(comp, ver, facts, pl, settings)


def sequential_path(
    looks: pd.DataFrame,
    *,
    control: str = "control",
    alpha: float = 0.05,
    tuning: float = TUNING,
    metric: str = PRIMARY,
    metrics: Sequence[Metric] | None = None,
) -> pd.DataFrame:
    """The primary metric's difference at each daily look (``looks``: :data:`STATS_COLUMNS`
    plus ``day``, cumulative to the end of each day) with its fixed-horizon and sequential
    intervals (unadjusted): what an operator peeking every day would have seen.

    Columns experiment_id, day, variant, n, diff, fixed_low, fixed_high, seq_low, seq_high."""
    cols = ["experiment_id", "day", "variant", "n_control", "n", "diff"]
    cols += ["fixed_low", "fixed_high", "seq_low", "seq_high"]
    if looks is None or looks.empty:
        return pd.DataFrame(columns=cols)
    lk = looks.loc[looks["metric"] == metric]
    c = compare(lk, control=control, alpha=alpha, tuning=tuning, correction="none", metrics=metrics)
    return c[cols].sort_values(["experiment_id", "variant", "day"]).reset_index(drop=True)
