"""Customer lifetime value: BG/NBD repeat purchases and Gamma-Gamma spend (SPEC §4.3, §7).

Pure functions on pandas frames (no I/O, no plotting). Both models are fitted by maximum
likelihood with vectorised log-likelihoods and analytic gradients (scipy.special), optimised on
the log of the parameters with L-BFGS-B. Standard errors come from the observed information
(finite-difference Hessian of the analytic gradient), mapped back with the delta method.

Vocabulary: the BG/NBD parameters are ``r, rate_scale, a, b`` — ``rate_scale`` is the α of
Fader, Hardie & Lee (2005), the scale of the gamma distribution of purchase rates (formulas
below keep the paper's α); ``alpha`` in this module only ever means a significance level.
``time_unit`` ("D" days, "W" weeks) is the unit of every duration of a summary;
``discount_period`` is the length of one discounting period in that unit.

References
----------
- Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the Easy Way:
  An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284.
- Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves for
  Customer Base Analysis. Journal of Marketing Research 42(4), 415-430.
- Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.
  http://www.brucehardie.com/notes/025/
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as _st
from scipy.special import betaln, digamma, gammaln, hyp2f1, roots_jacobi
from threadpoolctl import threadpool_limits

from growthlab import i18n
from growthlab.errors import AnalysisInputError, require_columns
from growthlab.privacy import suppress_small_groups
from growthlab.segments import SUPPRESSED, group_label
from growthlab.stats import grouped_mean_interval, mean_interval, top_share, z_value

__all__ = [
    "FitResult",
    "summarise",
    "summarise_stats",
    "is_purchase_stats",
    "purchase_summaries",
    "models_identified",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "bgnbd_loglik",
    "gamma_gamma_loglik",
    "p_alive",
    "expected_purchases",
    "expected_purchases_population",
    "expected_spend",
    "lifetime_value",
    "holdout_calibration",
    "value_by_group",
    "BGNBD_PARAMETERS",
    "TIME_UNITS",
    "HoldoutCheck",
    "holdout_check",
    "GroupDifference",
    "mean_difference",
    "compare_to_rest",
    "last_full_day",
    "ClvAnalysis",
    "analyse_clv",
    "clv_by_group",
    "GROUP_TABLE_FORMATS",
    "PARAMETER_FORMATS",
    "group_table",
]

#: Days per ``time_unit``.
TIME_UNITS = {"D": 1.0, "W": 7.0}
#: Names of the BG/NBD parameters (``rate_scale`` = α of Fader, Hardie & Lee 2005).
BGNBD_PARAMETERS = ("r", "rate_scale", "a", "b")


# --------------------------------------------------------------------------------------------
# Fit result
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FitResult(Mapping):
    """Maximum-likelihood fit: a read-only mapping ``{param: value, ..., "loglik": ll}``.

    Attributes: ``params`` (dict), ``loglik`` (total log-likelihood), ``se`` (standard errors
    from the observed information, nan when the Hessian is singular), ``n`` (customers used),
    ``converged`` and ``model``.
    """

    model: str
    params: dict
    loglik: float
    se: dict = field(default_factory=dict)
    n: int = 0
    converged: bool = True
    message: str = ""

    def __getitem__(self, key: str) -> float:
        if key == "loglik":
            return self.loglik
        return self.params[key]

    def __iter__(self) -> Iterator[str]:
        yield from self.params
        yield "loglik"

    def __len__(self) -> int:
        return len(self.params) + 1

    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """One row per parameter: estimate, se, (1 − alpha) Wald interval on the log scale."""
        rows = []
        z = z_value(alpha)
        for k, v in self.params.items():
            se = self.se.get(k, np.nan)
            # interval on log scale: v * exp(±z se/v) keeps it positive
            f = np.exp(z * se / v) if np.isfinite(se) and v > 0 else np.nan
            rows.append({"parameter": k, "estimate": v, "se": se, "low": v / f, "high": v * f})
        return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Summary (frequency, recency, T, monetary)
# --------------------------------------------------------------------------------------------
def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    require_columns(frame, list(columns), name, kind=pd.DataFrame)


def _day_numbers(ts: pd.Series, column: str, by_day: bool = True) -> np.ndarray:
    """Days since the epoch: whole calendar days (``by_day``) or fractional days."""
    try:
        t = pd.to_datetime(ts)
    except (ValueError, TypeError) as exc:
        raise AnalysisInputError(f"orders.{column}: values must be timestamps ({exc})") from exc
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    if t.isna().any():
        raise AnalysisInputError(
            f"orders.{column}: {int(t.isna().sum())} missing or unparsable timestamp(s)"
        )
    if by_day:
        return t.to_numpy().astype("datetime64[D]").astype(np.int64).astype(float)
    return t.to_numpy().astype("datetime64[s]").astype(np.int64) / 86400.0


def _to_day(value, name: str, by_day: bool = True) -> float:
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise AnalysisInputError(f"{name}: not a date ({value!r})") from exc
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    if by_day:
        return float(np.datetime64(t.normalize().to_datetime64(), "D").astype(np.int64))
    return float(np.datetime64(t.to_datetime64(), "s").astype(np.int64)) / 86400.0


def summarise(
    orders: pd.DataFrame,
    calibration_end,
    time_unit: str = "D",
    observation_end=None,
    by_day: bool = True,
) -> pd.DataFrame:
    """Per-customer RFM summary for BG/NBD and Gamma-Gamma from order transactions.

    Orders are reduced to *purchase days* (all paid orders of a user on one calendar day are one
    transaction whose value is their sum). Considering only days ``<= calibration_end``:

    - ``frequency`` x = number of purchase days − 1 (repeat purchases);
    - ``recency`` t_x = last purchase day − first purchase day;
    - ``T`` = calibration_end − first purchase day;
    - ``monetary`` = mean value of the repeat purchase days (0 when x = 0);

    durations are in ``time_unit``: "D" days or "W" weeks (= days / 7). Customers whose first purchase
    is after ``calibration_end`` are left out. With ``observation_end`` the holdout columns
    ``frequency_holdout`` (purchase days in (calibration_end, observation_end]) and
    ``duration_holdout`` (= observation_end − calibration_end, in ``time_unit``) are added.
    Rows with ``status == "refunded"`` are ignored when a ``status`` column exists.
    ``by_day=False`` keeps exact timestamps instead (a transaction = a distinct timestamp,
    durations in fractional days, ``calibration_end`` an instant) for continuous-time data.

    Reference: Fader, Hardie & Lee (2005), Marketing Science 24(2) — the CDNOW summary.
    """
    _require(orders, ["user_id", "ts", "amount"], "orders")
    if time_unit not in TIME_UNITS:
        raise AnalysisInputError(
            f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}"
        )
    scale = TIME_UNITS[time_unit]
    o = orders
    if "status" in o.columns:
        o = o[o["status"].fillna("paid").astype(str) != "refunded"]
    amount = pd.to_numeric(o["amount"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(amount).any():
        raise AnalysisInputError("orders.amount: missing or non-numeric values")
    if (amount < 0).any():
        raise AnalysisInputError("orders.amount: must be >= 0 (negative amounts found)")
    day = _day_numbers(o["ts"], "ts", by_day)
    cal = _to_day(calibration_end, "calibration_end", by_day)
    obs = None if observation_end is None else _to_day(observation_end, "observation_end", by_day)
    if obs is not None and obs < cal:
        raise AnalysisInputError("observation_end must not be before calibration_end")

    code, uniques = pd.factorize(o["user_id"].astype(str), sort=False)
    ucode, uday, value_day = _purchase_days(code, day, amount, by_day)
    in_cal = uday <= cal
    c_cal, d_cal, v_cal = ucode[in_cal], uday[in_cal], value_day[in_cal]
    users, start, n_days = np.unique(c_cal, return_index=True, return_counts=True)
    end_ = start + n_days - 1  # rows are sorted by (user, day)
    total = np.add.reduceat(v_cal, start) if start.size else np.zeros(0)
    hcount = None
    if obs is not None:
        hold = (uday > cal) & (uday <= obs)
        hcount = np.bincount(ucode[hold], minlength=len(uniques))[users]
    index = pd.Index(np.asarray(uniques)[users], name="user_id")
    stats = (d_cal[start], d_cal[end_], n_days, total, v_cal[start], hcount)
    return _summary(*stats, cal=cal, obs=obs, scale=scale, index=index)


def _summary(first, last, n_days, total, first_value, holdout, *, cal, obs, scale, index):
    """The BG/NBD summary from per-customer purchase-day statistics (day numbers): first and
    last purchase day up to ``cal``, purchase days and their total value up to ``cal``, the
    first day's value, and purchase days in (cal, obs] (``holdout``, None without ``obs``)."""
    x = (np.asarray(n_days) - 1).astype(float)
    first = np.asarray(first, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(x > 0, (np.asarray(total) - np.asarray(first_value)) / x, 0.0)
    out = pd.DataFrame(
        {
            "frequency": x,
            "recency": (np.asarray(last, dtype=float) - first) / scale,
            "T": (cal - first) / scale,
            "monetary": monetary,
        },
        index=index,
    )
    if obs is not None:
        out["frequency_holdout"] = np.asarray(holdout).astype(float)
        out["duration_holdout"] = (obs - cal) / scale
    return out


#: Columns of a purchase-day statistics frame (``growthlab.data.features.purchase_stats``):
#: per customer, over purchase days (calendar days with a paid order) up to the observation
#: end: first day, its value, last day, number of days, total value; ``cal_*`` the same up to
#: the calibration end.
PURCHASE_STATS = (
    "first_day", "first_value", "last_day", "days", "total", "cal_last_day", "cal_days",
    "cal_total",
)  # fmt: skip


def is_purchase_stats(frame: object) -> bool:
    """True when ``frame`` is a purchase-day statistics frame (:data:`PURCHASE_STATS`)."""
    return isinstance(frame, pd.DataFrame) and all(c in frame.columns for c in PURCHASE_STATS)


def summarise_stats(
    stats: pd.DataFrame, time_unit: str = "D", *, calibration: bool = False
) -> pd.DataFrame:
    """:func:`summarise` from purchase-day statistics computed in the engine (one row per
    customer, index ``user_id``, columns :data:`PURCHASE_STATS`, ``attrs`` ``calibration_end``
    and ``observation_end``): the same frame as ``summarise(orders, observation_end)``, or with
    ``calibration=True`` as ``summarise(orders, calibration_end, observation_end=...)``.
    Formulas as in :func:`summarise` (calendar days; one definition, :func:`_summary`)."""
    _require(stats, PURCHASE_STATS, "stats")
    if time_unit not in TIME_UNITS:
        raise AnalysisInputError(
            f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}"
        )
    for key in ("calibration_end", "observation_end"):
        if key not in stats.attrs:
            raise AnalysisInputError(f"stats: attrs['{key}'] missing (purchase_stats sets it)")
    cal = _to_day(stats.attrs["calibration_end"], "calibration_end")
    obs = _to_day(stats.attrs["observation_end"], "observation_end")
    first = _day_numbers(stats["first_day"], "first_day")
    if calibration:
        s = stats.loc[stats["cal_days"].to_numpy() > 0]
        return _summary(
            first[stats["cal_days"].to_numpy() > 0], _day_numbers(s["cal_last_day"], "cal_last_day"),
            s["cal_days"].to_numpy(), s["cal_total"].to_numpy(float), s["first_value"].to_numpy(float),
            (s["days"] - s["cal_days"]).to_numpy(), cal=cal, obs=obs, scale=TIME_UNITS[time_unit],
            index=s.index,
        )  # fmt: skip
    return _summary(
        first, _day_numbers(stats["last_day"], "last_day"), stats["days"].to_numpy(),
        stats["total"].to_numpy(float), stats["first_value"].to_numpy(float), None, cal=obs,
        obs=None, scale=TIME_UNITS[time_unit], index=stats.index,
    )  # fmt: skip


def _purchase_days(
    code: np.ndarray, day: np.ndarray, amount: np.ndarray, by_day: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per (user code, purchase day), sorted by (user, day): (user code, day, Σ amount).

    Sorts an int64 key user · span + day and sums the amounts per key (no Python loop); exact
    timestamps (``by_day=False``) are ranked first so they fit in an integer key.
    """
    d0 = np.floor(day.min()) if day.size else 0.0
    if by_day:
        dk = (day - d0).astype(np.int64)
    else:
        dk = pd.factorize(day, sort=True)[0].astype(np.int64)
    span = int(dk.max()) + 1 if dk.size else 1
    key = code.astype(np.int64) * span + dk
    ukey, inv = np.unique(key, return_inverse=True)
    value_day = np.bincount(inv.reshape(-1), weights=amount, minlength=ukey.size)
    if by_day:
        uday = (ukey % span).astype(float) + d0
    else:
        uday = np.sort(np.unique(day))[ukey % span]
    return ukey // span, uday, value_day


def _check_summary(summary: pd.DataFrame, need: list[str]) -> None:
    _require(summary, need, "summary")
    for c in need:
        v = pd.to_numeric(summary[c], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(v).all():
            raise AnalysisInputError(f"summary.{c}: missing or non-finite values")
        if (v < 0).any():
            raise AnalysisInputError(f"summary.{c}: must be >= 0")
    if "recency" in need and "T" in need:
        if (summary["recency"].to_numpy() > summary["T"].to_numpy() + 1e-9).any():
            raise AnalysisInputError("summary.recency: must be <= T")
        if ((summary["frequency"].to_numpy() == 0) & (summary["recency"].to_numpy() > 0)).any():
            raise AnalysisInputError("summary.recency: must be 0 when frequency is 0")


# --------------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------------
def _bgnbd_terms(theta: np.ndarray, x, tx, T, grad: bool, xs=None):
    """Per-row log-likelihood (and gradient rows) of BG/NBD; special functions are evaluated
    once per distinct x (``xs`` = ``np.unique(x, return_inverse=True)``)."""
    ux, inv = np.unique(x, return_inverse=True) if xs is None else xs
    r, rs, a, b = theta  # rs = rate_scale (α)
    posu = ux > 0
    ux1 = np.where(posu, ux - 1, 0.0)  # x − 1, guarded for x = 0 (term unused there)
    g1 = gammaln(r + ux) - gammaln(r) + r * np.log(rs)
    b2 = betaln(a, b + ux) - betaln(a, b)
    b3 = np.where(posu, betaln(a + 1, b + ux1) - betaln(a, b), -np.inf)
    lT = np.log(rs + T)
    ltx = np.log(rs + tx)
    rx = r + x
    a2 = b2[inv] - rx * lT
    with np.errstate(invalid="ignore"):
        a3 = b3[inv] - rx * ltx
    a3 = np.where(x > 0, a3, -np.inf)
    lse = np.logaddexp(a2, a3)
    ll = g1[inv] + lse
    if not grad:
        return ll, None
    w2 = np.exp(a2 - lse)
    w3 = np.exp(a3 - lse)
    psi_ab, psi_a, psi_b = digamma(a + b), digamma(a), digamma(b)
    psi_abx = digamma(a + b + ux)
    dr1 = digamma(r + ux) - digamma(r) + np.log(rs)
    da2 = psi_ab - psi_abx
    db2 = digamma(b + ux) - psi_abx - psi_b + psi_ab
    da3 = np.where(posu, digamma(a + 1) - psi_abx - psi_a + psi_ab, 0.0)
    db3 = np.where(posu, digamma(b + ux1) - psi_abx - psi_b + psi_ab, 0.0)
    d_r = dr1[inv] - w2 * lT - w3 * ltx
    d_rs = r / rs - w2 * rx / (rs + T) - w3 * rx / (rs + tx)
    d_a = w2 * da2[inv] + w3 * da3[inv]
    d_b = w2 * db2[inv] + w3 * db3[inv]
    return ll, np.vstack([d_r, d_rs, d_a, d_b])


def bgnbd_loglik(params: Mapping, summary: pd.DataFrame) -> float:
    """Total BG/NBD log-likelihood of ``summary`` (frequency, recency, T) at ``params``
    (a mapping with ``r, rate_scale, a, b``; rate_scale = α below).

    For a customer with (x, t_x, T), Fader, Hardie & Lee (2005) eq. (6)::

        L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
          + 1{x>0} · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))
    """
    _check_summary(summary, ["frequency", "recency", "T"])
    theta = np.array([params[k] for k in BGNBD_PARAMETERS], dtype=float)
    x = summary["frequency"].to_numpy(dtype=float)
    ll, _ = _bgnbd_terms(
        theta, x, summary["recency"].to_numpy(float), summary["T"].to_numpy(float), False
    )
    return float(ll.sum())


def _unique_rows(cols: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of equally long columns and, per input row, the index of its row."""
    if len(cols[0]) == 0:
        return [np.asarray(c, dtype=float) for c in cols], np.zeros(0, dtype=np.int64)
    frame = pd.DataFrame({i: np.asarray(c, dtype=float) for i, c in enumerate(cols)})
    inv = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
    first = np.unique(inv, return_index=True)[1]
    return [frame[i].to_numpy()[first] for i in range(len(cols))], inv


def _compress(cols: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the columns with their counts (the likelihood only depends on them)."""
    frame = pd.DataFrame({i: c for i, c in enumerate(cols)})
    counts = frame.groupby(list(frame.columns), sort=False).size()
    uniq = counts.index.to_frame(index=False)
    return [uniq[i].to_numpy(dtype=float) for i in range(len(cols))], counts.to_numpy(float)


def _fit(nll_grad, theta0: np.ndarray, names: list[str], n: int, model: str) -> FitResult:
    """Minimise a negative log-likelihood over log-parameters; Hessian-based standard errors.

    The work is element-wise, so BLAS/OpenMP threads are capped at 1 (multi-threaded
    matrix-vector products only add overhead, and much more on a busy machine).
    """
    with threadpool_limits(limits=1):
        return _fit_impl(nll_grad, theta0, names, n, model)


def _fit_impl(nll_grad, theta0: np.ndarray, names: list[str], n: int, model: str) -> FitResult:

    def fun(z):
        val, g = nll_grad(np.exp(z))
        return val / n, g * np.exp(z) / n

    best = None
    for start in (np.log(theta0), np.log(theta0) + 0.5, np.log(theta0) - 0.5):
        res = optimize.minimize(
            fun,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-12.0, 12.0)] * len(names),
            options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
        )
        if best is None or res.fun < best.fun:
            best = res
        if res.success:
            break
    z = best.x
    theta = np.exp(z)
    loglik = -float(nll_grad(theta)[0])
    # observed information in log-parameters by central differences of the analytic gradient
    k = len(z)
    h = 1e-5
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        hess[:, i] = (fun(z + e)[1] - fun(z - e)[1]) * n / (2 * h)
    hess = 0.5 * (hess + hess.T)
    try:
        cov = np.linalg.inv(hess)
        se_log = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        se_log = np.full(k, np.nan)
    se = {nm: float(theta[i] * se_log[i]) for i, nm in enumerate(names)}
    return FitResult(
        model=model,
        params={nm: float(theta[i]) for i, nm in enumerate(names)},
        loglik=loglik,
        se=se,
        n=n,
        converged=bool(best.success),
        message=str(best.message),
    )


def fit_bgnbd(summary: pd.DataFrame) -> FitResult:
    """Fit the BG/NBD model (r, α = ``rate_scale``, a, b) by maximum likelihood.

    Purchases while active follow a Poisson process with rate λ ~ Gamma(r, α); after each
    purchase the customer drops out with probability p ~ Beta(a, b). The log-likelihood
    (see :func:`bgnbd_loglik`) is evaluated once per distinct (x, t_x, T) row, weighted by its
    count, with an analytic gradient. Time is in the unit of ``summary`` (α scales with it).

    Returns a :class:`FitResult` mapping with ``r, rate_scale, a, b, loglik``.
    Reference: Fader, Hardie & Lee (2005), Marketing Science 24(2), 275-284.
    """
    _check_summary(summary, ["frequency", "recency", "T"])
    if len(summary) < 2:
        raise AnalysisInputError("summary: need at least two customers to fit BG/NBD")
    (x, tx, T), w = _compress(
        [summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
    )
    if not (x > 0).any():
        raise AnalysisInputError("summary.frequency: no repeat purchases, BG/NBD is not identified")

    xs = np.unique(x, return_inverse=True)

    def nll_grad(theta):
        ll, g = _bgnbd_terms(theta, x, tx, T, True, xs)
        return -float(w @ ll), -(g @ w)

    theta0 = np.array([1.0, max(float(np.average(T, weights=w)), 1e-3), 1.0, 1.0])
    return _fit(nll_grad, theta0, list(BGNBD_PARAMETERS), int(w.sum()), "bgnbd")


# --------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------
def _gg_terms(theta, x, m, grad: bool, xs=None):
    """Per-row Gamma-Gamma log-likelihood (and gradient rows); special functions once per
    distinct x (``xs`` = ``np.unique(x, return_inverse=True)``)."""
    ux, inv = np.unique(x, return_inverse=True) if xs is None else xs
    p, q, v = theta
    pu = p * ux
    lux = np.log(ux)
    c = gammaln(pu + q) - gammaln(pu) - gammaln(q) + pu * lux
    px = p * x
    lm = np.log(m)
    lvm = np.log(v + m * x)
    ll = c[inv] + q * np.log(v) + (px - 1) * lm - (px + q) * lvm
    if not grad:
        return ll, None
    psi = digamma(pu + q)
    dpu = ux * (psi - digamma(pu) + lux)
    d_p = dpu[inv] + x * (lm - lvm)
    d_q = (psi - digamma(q))[inv] + np.log(v) - lvm
    d_v = q / v - (px + q) / (v + m * x)
    return ll, np.vstack([d_p, d_q, d_v])


def _gg_data(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    _check_summary(summary, ["frequency", "monetary"])
    x = summary["frequency"].to_numpy(dtype=float)
    m = summary["monetary"].to_numpy(dtype=float)
    keep = x > 0
    if (m[keep] <= 0).any():
        raise AnalysisInputError(
            "summary.monetary: must be > 0 for customers with frequency > 0 (Gamma-Gamma)"
        )
    return x[keep], m[keep]


def gamma_gamma_loglik(params: Mapping, summary: pd.DataFrame) -> float:
    """Gamma-Gamma log-likelihood of the mean spend m_x of customers with x > 0.

    Spend per transaction z ~ Gamma(p, ν), ν ~ Gamma(q, γ); the mean of x transactions has
    density (Fader & Hardie 2013, eq. 4; γ is called ``v`` here)::

        f(m_x | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m_x^(px−1) x^(px) / (γ + m_x x)^(px+q)
    """
    x, m = _gg_data(summary)
    theta = np.array([params["p"], params["q"], params["v"]], dtype=float)
    return float(_gg_terms(theta, x, m, False)[0].sum())


def fit_gamma_gamma(summary: pd.DataFrame) -> FitResult:
    """Fit the Gamma-Gamma spend model (p, q, γ=v) by maximum likelihood.

    Uses customers with ``frequency > 0``; ``monetary`` is their mean repeat-transaction value.
    Returns a :class:`FitResult` mapping with ``p, q, v, loglik``.
    Reference: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value";
    Fader, Hardie & Lee (2005), JMR 42(4).
    """
    x, m = _gg_data(summary)
    if x.size < 3:
        raise AnalysisInputError("summary: need at least 3 customers with frequency > 0")
    (xu, mu), w = _compress([x, m])

    xs = np.unique(xu, return_inverse=True)

    def nll_grad(theta):
        ll, g = _gg_terms(theta, xu, mu, True, xs)
        return -float(w @ ll), -(g @ w)

    mean, var = (
        float(np.average(mu, weights=w)),
        float(np.average((mu - mu.mean()) ** 2, weights=w)),
    )
    # method-of-moments-ish start: q = 3, p from CV of spend, v scaled to the mean
    p0 = max(mean**2 / max(var, 1e-12), 0.5)
    theta0 = np.array([min(p0, 50.0), 3.0, max(mean * 2.0 / p0, 1e-3)])
    return _fit(nll_grad, theta0, ["p", "q", "v"], int(w.sum()), "gamma_gamma")


# --------------------------------------------------------------------------------------------
# Predictions
# --------------------------------------------------------------------------------------------
def _arr(summary: pd.DataFrame, col: str) -> np.ndarray:
    return summary[col].to_numpy(dtype=float)


def p_alive(params: Mapping, summary: pd.DataFrame) -> pd.Series:
    """P(customer still active | x, t_x, T) under BG/NBD (Fader, Hardie & Lee 2005, eq. 13)::

    P(alive) = 1 / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
    """
    _check_summary(summary, ["frequency", "recency", "T"])
    r, rs, a, b = (params[k] for k in BGNBD_PARAMETERS)
    x, tx, T = _arr(summary, "frequency"), _arr(summary, "recency"), _arr(summary, "T")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(rs + T) - np.log(rs + tx))
    odds = np.where(x > 0, np.exp(np.minimum(log_odds, 700)), 0.0)
    return pd.Series(1.0 / (1.0 + odds), index=summary.index, name="p_alive")


def expected_purchases_population(params: Mapping, t) -> np.ndarray:
    """E[X(t)] for a randomly chosen new customer (Fader, Hardie & Lee 2005, eq. 9)::

    E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))]
    """
    r, rs, a, b = (params[k] for k in BGNBD_PARAMETERS)
    a = a + 1e-9 if abs(a - 1) < 1e-9 else a
    t = np.asarray(t, dtype=float)
    z = t / (rs + t)
    return (a + b - 1) / (a - 1) * (1 - (rs / (rs + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def expected_purchases(params: Mapping, summary: pd.DataFrame, t) -> pd.Series:
    """Expected repeat purchases in the next ``t`` time units, given (x, t_x, T) (eq. 10)::

        E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) ·
            [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
            / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))

    ``t`` is a scalar or one value per customer. Valid for any a ≠ 1 (the ratio and the bracket
    change sign together when a < 1, e.g. CDNOW's a = 0.79); a = 1 is nudged by 1e-9.
    """
    _check_summary(summary, ["frequency", "recency", "T"])
    r, rs, a, b = (params[k] for k in BGNBD_PARAMETERS)
    a = a + 1e-9 if abs(a - 1) < 1e-9 else a
    x, T = _arr(summary, "frequency"), _arr(summary, "T")
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
    # the bracket depends on (x, T, t) only: evaluate it once per distinct triple
    (ux, uT, ut), inv = _unique_rows([x, T, t])
    bracket = _bracket(r, rs, a, b, ux, uT, ut)
    head = (a + b + x - 1) / (a - 1)
    out = head * bracket[inv] * p_alive(params, summary).to_numpy()
    return pd.Series(out, index=summary.index, name="expected_purchases")


@lru_cache(maxsize=4096)
def _jacobi(nodes: int, power_1mu: float, power_u: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi nodes on [0, 1] for weight u^power_u (1−u)^power_1mu, weights sum to 1."""
    s_nodes, s_w = roots_jacobi(nodes, power_1mu, power_u)
    return (1.0 + s_nodes) / 2.0, s_w / s_w.sum()


def _bracket(r, rs, a, b, x, T, t, nodes: int = 48) -> np.ndarray:
    """1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t)) of eq. (10).

    By Pfaff's transformation this equals 1 − ₂F₁(r+x, a−1; a+b+x−1; w) with w = −t/(α+T) ≤ 0,
    whose Euler integral (Abramowitz & Stegun 15.3.1)

        ₂F₁(a−1, r+x; c; w) = ∫₀¹ u^(r+x−1) (1−u)^(c−r−x−1) (1 − w u)^(1−a) du / B(r+x, c−r−x)

    has a smooth, bounded integrand; it is computed by Gauss-Jacobi quadrature (nodes once per
    distinct x). This avoids scipy's hyp2f1 near z → 1, which is slow and loses accuracy for
    large b + x. Needs c − r − x = a + b − 1 − r > 0; otherwise scipy's hyp2f1 is used.
    """
    x, T, t = (np.asarray(v, dtype=float) for v in (x, T, t))
    power_1mu = a + b - r - 2.0  # exponent of (1 − u)
    if power_1mu <= -1 or x.size == 0:
        z = t / (rs + T + t)
        return 1 - ((rs + T) / (rs + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    w = -t / (rs + T)
    order = np.argsort(x, kind="stable")
    ux, starts = np.unique(x[order], return_index=True)
    bounds = np.append(starts, x.size)
    out = np.empty(x.size)
    for j, xv in enumerate(ux):  # loop over distinct purchase counts (a few dozen), not users
        u, wts = _jacobi(nodes, float(power_1mu), float(r + xv - 1.0))
        rows = order[bounds[j] : bounds[j + 1]]
        f = (1.0 - w[rows, None] * u[None, :]) ** (1.0 - a)
        out[rows] = 1.0 - f @ wts
    return out


def expected_spend(params: Mapping, summary: pd.DataFrame) -> pd.Series:
    """Expected mean transaction value given x and m_x (Fader & Hardie 2013, eq. 5)::

        E[M | x, m_x] = p (γ + x m_x) / (p x + q − 1)

    (x = 0 gives the population mean pγ/(q−1)). Requires q > 1.
    """
    _check_summary(summary, ["frequency", "monetary"])
    p, q, v = (params[k] for k in ("p", "q", "v"))
    if q <= 1:
        raise AnalysisInputError("params.q: expected spend needs q > 1")
    x, m = _arr(summary, "frequency"), _arr(summary, "monetary")
    return pd.Series(p * (v + x * m) / (p * x + q - 1), index=summary.index, name="expected_spend")


def lifetime_value(
    bgnbd: Mapping,
    gamma_gamma: Mapping,
    summary: pd.DataFrame,
    horizon: float = 365.0,
    discount_period: float = 30.0,
    discount_rate: float = 0.01,
) -> pd.DataFrame:
    """Discounted expected value over ``horizon`` (both in the time unit of ``summary``).

    The horizon is cut into discounting periods of length ``discount_period`` (the last may be
    shorter); with E_i = E[Y(t_i) | x, t_x, T] (t_i = end of period i) and S = E[M | x, m_x]::

        CLV = Σ_i (E_i − E_{i−1}) · S / (1 + d)^i     (d = ``discount_rate`` per period)

    Returns columns ``p_alive``, ``expected_purchases`` (undiscounted, whole horizon),
    ``expected_spend``, ``clv``. Reference: Fader, Hardie & Lee (2005), JMR 42(4).
    """
    if horizon <= 0 or discount_period <= 0:
        raise AnalysisInputError("horizon and discount_period must be > 0")
    if discount_rate <= -1:
        raise AnalysisInputError("discount_rate must be > -1")
    ends = np.arange(discount_period, horizon + discount_period * 1e-9, discount_period)
    if ends.size == 0 or ends[-1] < horizon - 1e-9:
        ends = np.append(ends, horizon)
    _check_summary(summary, ["frequency", "recency", "T"])
    r, rs, a, b = (bgnbd[k] for k in BGNBD_PARAMETERS)
    a = a + 1e-9 if abs(a - 1) < 1e-9 else a
    x, T = _arr(summary, "frequency"), _arr(summary, "T")
    (ux, uT), inv = _unique_rows([x, T])  # the bracket depends on (x, T) and t only
    head = (a + b + x - 1) / (a - 1) * p_alive(bgnbd, summary).to_numpy()
    cum = np.column_stack(
        [head * _bracket(r, rs, a, b, ux, uT, np.full(ux.size, t))[inv] for t in ends]
    )
    inc = np.diff(np.column_stack([np.zeros(len(summary)), cum]), axis=1)
    disc = (1.0 + discount_rate) ** -np.arange(1, ends.size + 1)
    spend = expected_spend(gamma_gamma, summary).to_numpy()
    return pd.DataFrame(
        {
            "p_alive": p_alive(bgnbd, summary).to_numpy(),
            "expected_purchases": cum[:, -1],
            "expected_spend": spend,
            "clv": (inc @ disc) * spend,
        },
        index=summary.index,
    )


def holdout_calibration(
    params: Mapping, summary: pd.DataFrame, max_frequency: int = 7
) -> pd.DataFrame:
    """Predicted vs actual holdout repeat purchases grouped by calibration frequency.

    ``summary`` must come from :func:`summarise` with ``observation_end`` (columns
    ``frequency_holdout``, ``duration_holdout``). Frequencies ≥ ``max_frequency`` are pooled
    into one row labelled ``max_frequency``. Columns: frequency, customers, actual (mean
    holdout purchases), predicted (mean E[Y(t)|x, t_x, T] with t = holdout duration), error.
    Reference: Fader, Hardie & Lee (2005), Marketing Science 24(2), Figure 4.
    """
    _check_summary(summary, ["frequency", "recency", "T", "frequency_holdout", "duration_holdout"])
    pred = expected_purchases(params, summary, _arr(summary, "duration_holdout")).to_numpy()
    freq = np.minimum(_arr(summary, "frequency"), max_frequency).astype(int)
    df = pd.DataFrame(
        {"frequency": freq, "actual": _arr(summary, "frequency_holdout"), "predicted": pred}
    )
    out = df.groupby("frequency").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    out["error"] = out["predicted"] - out["actual"]
    return out.reset_index()


def value_by_group(values: pd.Series, groups: pd.Series, alpha: float = 0.05) -> pd.DataFrame:
    """Mean of ``values`` (e.g. CLV) per group with a Student-t interval, and value share.

    mean ± t_{1−α/2, n−1} · s/√n from the sufficient statistics (Σx, Σx², n) of each group
    (:func:`growthlab.stats.grouped_mean_interval`). Columns: group, users, mean, low, high,
    total, share. Users missing from ``groups`` are left out; groups sorted by mean, largest first.
    """
    v = pd.Series(values, dtype=float)
    g = pd.Series(groups).reindex(v.index)
    keep = g.notna() & v.notna()
    frame = pd.DataFrame({"group": g[keep].astype(str).to_numpy(), "v": v[keep].to_numpy()})
    frame["v2"] = frame["v"] ** 2
    agg = frame.groupby("group").agg(users=("v", "size"), total=("v", "sum"), sq=("v2", "sum"))
    mean, low, high = grouped_mean_interval(agg["total"], agg["sq"], agg["users"], alpha)
    out = agg.assign(mean=mean, low=low, high=high).drop(columns="sq")
    total = out["total"].sum()
    out["share"] = out["total"] / total if total > 0 else np.nan
    out = out.reset_index()[["group", "users", "mean", "low", "high", "total", "share"]]
    return out.sort_values("mean", ascending=False, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Holdout check, group comparisons and the section result
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HoldoutCheck:
    """Total holdout repeat purchases, predicted vs observed (see :func:`holdout_check`).

    ``customers``, ``predicted`` (Σ E[Y(t)|x, t_x, T]), ``actual`` (Σ observed), ``error`` =
    predicted / actual − 1 and its (1 − alpha) interval ``error_low``/``error_high``,
    ``holdout`` duration in the summary's time unit.
    """

    customers: int
    predicted: float
    actual: float
    error: float
    error_low: float
    error_high: float
    holdout: float
    alpha: float = 0.05


def holdout_check(params: Mapping, summary: pd.DataFrame, alpha: float = 0.05) -> HoldoutCheck:
    """Relative error of the predicted total of holdout repeat purchases, with an interval.

    With P_i = E[Y(t) | x_i, t_x,i, T_i] (t = holdout duration) and A_i the observed holdout
    purchases of customer i (``summary`` from :func:`summarise` with ``observation_end``)::

        error = Σ P_i / Σ A_i − 1 = n · mean(P_i − A_i) / Σ A_i

    and the interval is the Student-t interval of mean(P_i − A_i)
    (:func:`growthlab.stats.mean_interval`) scaled by n / Σ A_i (the observed total taken as
    the scale). Reference: Fader, Hardie & Lee (2005), Marketing Science 24(2), §4.
    """
    _check_summary(summary, ["frequency", "recency", "T", "frequency_holdout", "duration_holdout"])
    duration = _arr(summary, "duration_holdout")
    pred = expected_purchases(params, summary, duration).to_numpy()
    act = _arr(summary, "frequency_holdout")
    n, total_p, total_a = len(summary), float(pred.sum()), float(act.sum())
    _, lo, hi = mean_interval(pred - act, alpha)
    if total_a > 0:
        error, low, high = total_p / total_a - 1, n * lo / total_a, n * hi / total_a
    else:
        error = low = high = float("nan")
    return HoldoutCheck(
        customers=n,
        predicted=total_p,
        actual=total_a,
        error=float(error),
        error_low=float(low),
        error_high=float(high),
        holdout=float(duration[0]) if n else float("nan"),
        alpha=alpha,
    )


def _welch(m1, v1, n1, m2, v2, n2, alpha: float):
    """Welch difference m1 − m2 with its (1 − alpha) t interval and two-sided p-value."""
    m1, v1, n1, m2, v2, n2 = (np.asarray(x, dtype=float) for x in (m1, v1, n1, m2, v2, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = v1 / n1, v2 / n2
        se = np.sqrt(a + b)
        df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
        ok = (n1 >= 2) & (n2 >= 2) & (se > 0)
        df = np.where(ok, df, np.nan)
        d = m1 - m2
        half = _st.t.ppf(1 - alpha / 2, df) * se
        p = 2 * _st.t.sf(np.abs(d / se), df)
    return (
        d,
        np.where(ok, d - half, np.nan),
        np.where(ok, d + half, np.nan),
        np.where(ok, p, np.nan),
    )


@dataclass(frozen=True)
class GroupDifference:
    """Mean of ``values`` in ``group`` minus that in ``reference`` (see :func:`mean_difference`)."""

    group: str
    reference: str
    n: int
    n_reference: int
    mean: float
    mean_reference: float
    difference: float
    low: float
    high: float
    p_value: float
    alpha: float = 0.05

    @property
    def relative(self) -> float:
        """mean / mean_reference − 1 (nan when the reference mean is not positive)."""
        if not self.mean_reference > 0:
            return float("nan")
        return self.mean / self.mean_reference - 1


def mean_difference(
    values: pd.Series, groups: pd.Series, group: str, reference: str, alpha: float = 0.05
) -> GroupDifference:
    """Welch's test of mean(values | group) − mean(values | reference).

    d = m₁ − m₂, se = √(s₁²/n₁ + s₂²/n₂), interval d ± t_{1−α/2, ν} · se with the
    Welch–Satterthwaite ν = se⁴ / ((s₁²/n₁)²/(n₁−1) + (s₂²/n₂)²/(n₂−1)); p two-sided.
    ``groups`` is aligned to ``values`` by index. A group with fewer than two values gives
    missing bounds and p-value (an empty one a missing mean).
    Reference: Welch (1947), Biometrika 34(1/2).
    """
    v = pd.Series(values, dtype=float)
    g = pd.Series(groups).reindex(v.index).astype(object)
    a = v[(g == group).to_numpy()].dropna()
    b = v[(g == reference).to_numpy()].dropna()
    ma, mb = (float(x.mean()) if len(x) else np.nan for x in (a, b))
    va, vb = (float(x.var(ddof=1)) if len(x) > 1 else np.nan for x in (a, b))
    d, lo, hi, p = _welch(ma, va, len(a), mb, vb, len(b), alpha)
    return GroupDifference(
        group=str(group),
        reference=str(reference),
        n=len(a),
        n_reference=len(b),
        mean=ma,
        mean_reference=mb,
        difference=float(d),
        low=float(lo),
        high=float(hi),
        p_value=float(p),
        alpha=alpha,
    )


def compare_to_rest(
    values: pd.Series, groups: pd.Series, alpha: float = 0.05, min_group_size: int = 2
) -> pd.DataFrame:
    """Each group's mean against the mean of everyone else, Bonferroni-adjusted.

    For each group with at least ``max(min_group_size, 2)`` users (m such groups): Welch's
    difference mean(group) − mean(rest) (:func:`mean_difference`'s formula) with a
    (1 − alpha/m) interval, and the p-value adjusted to min(1, m · p). Columns: group, users,
    mean, rest_mean, difference, low, high, p_value; sorted by mean, largest first.
    """
    v = pd.Series(values, dtype=float)
    g = pd.Series(groups).reindex(v.index)
    keep = g.notna() & v.notna()
    frame = pd.DataFrame({"group": g[keep].astype(str).to_numpy(), "v": v[keep].to_numpy()})
    frame["v2"] = frame["v"] ** 2
    agg = frame.groupby("group").agg(users=("v", "size"), s1=("v", "sum"), s2=("v2", "sum"))
    agg = agg.loc[agg["users"] >= max(min_group_size, 2)]
    cols = ["group", "users", "mean", "rest_mean", "difference", "low", "high", "p_value"]
    if agg.empty:
        return pd.DataFrame(columns=cols)
    n_all, s1_all, s2_all = len(frame), frame["v"].sum(), frame["v2"].sum()

    def moments(n, s1, s2):
        with np.errstate(invalid="ignore", divide="ignore"):
            return s1 / n, np.clip((s2 - s1**2 / n) / (n - 1), 0, None)

    n1, n2 = agg["users"].to_numpy(float), n_all - agg["users"].to_numpy(float)
    m1, v1 = moments(n1, agg["s1"].to_numpy(), agg["s2"].to_numpy())
    m2, v2 = moments(n2, s1_all - agg["s1"].to_numpy(), s2_all - agg["s2"].to_numpy())
    m = len(agg)
    d, lo, hi, p = _welch(m1, v1, n1, m2, v2, n2, alpha / m)
    out = pd.DataFrame(
        {
            "group": agg.index.to_numpy(),
            "users": agg["users"].to_numpy(),
            "mean": m1,
            "rest_mean": m2,
            "difference": d,
            "low": lo,
            "high": hi,
            "p_value": np.minimum(1.0, p * m),
        }
    )
    return out.sort_values("mean", ascending=False, ignore_index=True)[cols]


def last_full_day(as_of_local) -> pd.Timestamp:
    """Midnight starting the last full calendar day at or before ``as_of_local`` (a local
    timestamp): an as_of of 2025-06-30 00:00 gives 2025-06-29, of 2025-06-30 15:00 gives
    2025-06-30 (the day is counted up to as_of: the observation end of purchase histories).
    The daily KPI series end on the last *complete* day instead
    (``growthlab.data.daily.last_complete_day``: 2025-06-29 for 15:00); the two agree for an
    as_of at midnight, the default for a bare-date as_of."""
    return (pd.Timestamp(as_of_local) - pd.Timedelta(microseconds=1)).normalize()


@dataclass(frozen=True)
class ClvAnalysis:
    """Lifetime value of the buyers (see :func:`analyse_clv`).

    ``summary`` (per buyer, :func:`summarise` up to ``observation_end``), ``bgnbd`` and
    ``gamma_gamma`` fits, ``clv`` (:func:`lifetime_value`), ``horizon_days``; the holdout
    check of a fit on the calibration period (``calibration_end`` = observation_end −
    holdout_days, ``calibration_customers``): ``holdout`` (:class:`HoldoutCheck`) and
    ``holdout_table`` (:func:`holdout_calibration`).
    """

    summary: pd.DataFrame
    bgnbd: FitResult
    gamma_gamma: FitResult
    clv: pd.DataFrame
    observation_end: pd.Timestamp
    calibration_end: pd.Timestamp
    horizon_days: float
    holdout_days: float
    calibration_customers: int
    holdout: HoldoutCheck
    holdout_table: pd.DataFrame

    @property
    def buyers(self) -> int:
        """Customers with a purchase day up to ``observation_end``."""
        return int(len(self.clv))

    @property
    def total(self) -> float:
        """Σ CLV over the buyers."""
        return float(self.clv["clv"].sum())

    @property
    def mean(self) -> float:
        """total / buyers."""
        return float(self.clv["clv"].mean())

    @property
    def p_alive_mean(self) -> float:
        """Mean P(alive) of the buyers."""
        return float(self.clv["p_alive"].mean())

    @property
    def top10_share(self) -> float:
        """Share of the total CLV held by the 10 % of buyers with the highest CLV."""
        return top_share(self.clv["clv"], 0.10) if self.total > 0 else float("nan")

    def parameters(self, lang: str = "en", alpha: float = 0.05) -> pd.DataFrame:
        """Display table of both fits: ltv_model, ltv_parameter (name in ``lang``),
        ltv_estimate, ltv_se, low, high ((1 − alpha) Wald interval on the log scale)."""
        parts = []
        for fit, name in ((self.bgnbd, "BG/NBD"), (self.gamma_gamma, "Gamma-Gamma")):
            f = fit.to_frame(alpha)
            f["parameter"] = [i18n.t(f"param.{fit.model}.{k}", lang) for k in f["parameter"]]
            parts.append(f.assign(model=name))
        t = pd.concat(parts, ignore_index=True)
        t = t.rename(
            columns={
                "model": "ltv_model",
                "parameter": "ltv_parameter",
                "estimate": "ltv_estimate",
                "se": "ltv_se",
            }
        )
        return t[["ltv_model", "ltv_parameter", "ltv_estimate", "ltv_se", "low", "high"]]


def models_identified(summary: pd.DataFrame, repeaters: int = 3) -> bool:
    """Whether BG/NBD and Gamma-Gamma can be fitted to ``summary``: at least two customers and
    ``repeaters`` customers with a repeat purchase (frequency > 0)."""
    return len(summary) >= 2 and int((summary["frequency"] > 0).sum()) >= repeaters


def _check_stats_ends(stats: pd.DataFrame, calibration_end, observation_end) -> None:
    """The purchase statistics were computed for these calendar days (else a clear error)."""
    for key, want in (("calibration_end", calibration_end), ("observation_end", observation_end)):
        got = stats.attrs.get(key)
        if got is None or _to_day(got, key) != _to_day(want, key):
            raise AnalysisInputError(
                f"stats: computed for {key} {got}, but the analysis uses {pd.Timestamp(want)} "
                "(pass the same observation end and holdout to purchase_stats)"
            )


def purchase_summaries(
    orders: pd.DataFrame,
    observation_end,
    time_unit: str = "D",
    calibration_end=None,
) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """(calibration, full) BG/NBD summaries of ``orders`` up to ``observation_end``.

    ``orders``: one row per order (:func:`summarise`; timestamps as they are, pass local times
    for local calendar days) or the engine's purchase-day statistics (:func:`is_purchase_stats`,
    :func:`summarise_stats`; checked to be computed for these ends, else a clear error). The
    calibration summary covers purchases up to ``calibration_end`` with the rest as holdout;
    None without ``calibration_end``.
    """
    end = pd.Timestamp(observation_end)
    if is_purchase_stats(orders):
        cal_check = (
            orders.attrs.get("calibration_end") if calibration_end is None else calibration_end
        )
        _check_stats_ends(orders, cal_check, end)
        cal = (
            None
            if calibration_end is None
            else summarise_stats(orders, time_unit, calibration=True)
        )
        return cal, summarise_stats(orders, time_unit)
    cal = None
    if calibration_end is not None:
        cal = summarise(
            orders, pd.Timestamp(calibration_end), time_unit=time_unit, observation_end=end
        )
    return cal, summarise(orders, end, time_unit=time_unit)


def analyse_clv(
    orders: pd.DataFrame,
    observation_end,
    holdout_days: float = 60,
    time_unit: str = "D",
    horizon_days: float = 365,
    discount_period_days: float = 30,
    discount_rate: float = 0.01,
    max_frequency: int = 7,
    alpha: float = 0.05,
) -> ClvAnalysis | None:
    """BG/NBD + Gamma-Gamma lifetime value of the buyers in ``orders``, checked on a holdout.

    1. Holdout check: :func:`summarise` up to calibration_end = observation_end −
       ``holdout_days`` with the holdout up to ``observation_end``, :func:`fit_bgnbd`, then
       :func:`holdout_calibration` (by frequency, pooled from ``max_frequency``) and
       :func:`holdout_check` (total, with an interval);
    2. refit on everything up to ``observation_end`` (:func:`fit_bgnbd`,
       :func:`fit_gamma_gamma`) and :func:`lifetime_value` over ``horizon_days`` discounted at
       ``discount_rate`` per ``discount_period_days`` (converted to ``time_unit``).

    ``orders`` may instead be purchase-day statistics from the engine (:func:`is_purchase_stats`,
    ``growthlab.data.features.purchase_stats`` for the same observation end and holdout): one
    row per customer instead of one per order, the same summaries (:func:`summarise_stats`).
    Timestamps are taken as they are (pass local times for local calendar days). Returns None
    when the models are not identified: fewer than two buyers or no repeat purchase in the
    calibration period, or fewer than three repeat buyers in all.
    """
    if time_unit not in TIME_UNITS:
        raise AnalysisInputError(
            f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}"
        )
    scale = TIME_UNITS[time_unit]
    end = pd.Timestamp(observation_end)
    cal_end = end - pd.Timedelta(days=holdout_days)
    cal, summary = purchase_summaries(orders, end, time_unit, cal_end)
    if not (models_identified(cal, 1) and models_identified(summary, 3)):
        return None
    cal_fit = fit_bgnbd(cal)
    table = holdout_calibration(cal_fit, cal, max_frequency=max_frequency)
    holdout = holdout_check(cal_fit, cal, alpha)
    bg = fit_bgnbd(summary)
    gg = fit_gamma_gamma(summary)
    clv = lifetime_value(
        bg,
        gg,
        summary,
        horizon=horizon_days / scale,
        discount_period=discount_period_days / scale,
        discount_rate=discount_rate,
    )
    return ClvAnalysis(
        summary=summary,
        bgnbd=bg,
        gamma_gamma=gg,
        clv=clv,
        observation_end=end,
        calibration_end=cal_end,
        horizon_days=float(horizon_days),
        holdout_days=float(holdout_days),
        calibration_customers=int(len(cal)),
        holdout=holdout,
        holdout_table=table,
    )


#: Column formats of :meth:`ClvAnalysis.parameters` (for ``growthlab.report.show``).
PARAMETER_FORMATS = {
    "ltv_estimate": "{:.4g}",
    "ltv_se": "{:.2g}",
    "low": "{:.4g}",
    "high": "{:.4g}",
}
#: Column formats of :func:`group_table` (for ``growthlab.report.show``).
GROUP_TABLE_FORMATS = {
    "mean_clv": "{:,.1f}",
    "low": "{:,.1f}",
    "high": "{:,.1f}",
    "total_clv": "{:,.0f}",
    "clv_share": "{:.1%}",
}
_GROUP_COLUMN = {"tier": "tier", "channel": "acquisition_channel", "referral": "referral_status"}


def clv_by_group(
    clv: pd.Series, groups: pd.DataFrame, min_group_size: int = 0, alpha: float = 0.05
) -> dict[str, pd.DataFrame]:
    """:func:`value_by_group` of ``clv`` for every column of ``groups`` (e.g.
    ``growthlab.segments.buyer_groups``): {column: table}; groups under ``min_group_size``
    users pooled into one suppressed row (missing mean and interval)."""
    out = {}
    for name in groups.columns:  # a few groupings, not rows
        t = value_by_group(clv, groups[name], alpha)
        if min_group_size > 0:
            t = suppress_small_groups(t, "users", min_group_size, label=SUPPRESSED)
        out[name] = t
    return out


def group_table(table: pd.DataFrame, kind: str, lang: str = "en") -> pd.DataFrame:
    """Display table of a :func:`clv_by_group` table: the group named in ``lang`` (column
    ``tier``, ``acquisition_channel`` or ``referral_status`` for ``kind`` tier / channel /
    referral), ``buyers``, ``mean_clv``, ``low``, ``high``, ``total_clv``, ``clv_share``."""
    t = table.rename(
        columns={"users": "buyers", "mean": "mean_clv", "total": "total_clv", "share": "clv_share"}
    )
    column = _GROUP_COLUMN[kind]
    t.insert(0, column, t["group"].map(lambda k: group_label(k, lang, kind)))
    return t.drop(columns="group")
