"""Customer lifetime value: BG/NBD repeat purchases and Gamma-Gamma spend (SPEC §4.3, §7).

Pure functions on pandas frames (no I/O, no plotting). Both models are fitted by maximum
likelihood with vectorised log-likelihoods and analytic gradients (scipy.special), optimised on
the log of the parameters with L-BFGS-B. Standard errors come from the observed information
(finite-difference Hessian of the analytic gradient), mapped back with the delta method.

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
from scipy.special import betaln, digamma, gammaln, hyp2f1, roots_jacobi
from threadpoolctl import threadpool_limits

from growthlab.errors import AnalysisInputError, require_columns
from growthlab.stats import grouped_mean_interval, z_value

__all__ = [
    "FitResult",
    "summarise",
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
]

_UNITS = {"D": 1.0, "W": 7.0}


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
    unit: str = "D",
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

    durations are in ``unit``: "D" days or "W" weeks (= days / 7). Customers whose first purchase
    is after ``calibration_end`` are left out. With ``observation_end`` the holdout columns
    ``frequency_holdout`` (purchase days in (calibration_end, observation_end]) and
    ``duration_holdout`` (= observation_end − calibration_end, in ``unit``) are added.
    Rows with ``status == "refunded"`` are ignored when a ``status`` column exists.
    ``by_day=False`` keeps exact timestamps instead (a transaction = a distinct timestamp,
    durations in fractional days, ``calibration_end`` an instant) for continuous-time data.

    Reference: Fader, Hardie & Lee (2005), Marketing Science 24(2) — the CDNOW summary.
    """
    _require(orders, ["user_id", "ts", "amount"], "orders")
    if unit not in _UNITS:
        raise AnalysisInputError(f"unit must be one of {sorted(_UNITS)}, got {unit!r}")
    scale = _UNITS[unit]
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
    # one row per (user, purchase day): sort an int64 key, sum amounts per key (no Python loop)
    d0 = np.floor(day.min()) if day.size else 0.0
    if by_day:
        dk = (day - d0).astype(np.int64)
    else:  # exact timestamps: rank distinct times so they fit in an integer key
        dk = pd.factorize(day, sort=True)[0].astype(np.int64)
    span = int(dk.max()) + 1 if dk.size else 1
    key = code.astype(np.int64) * span + dk
    ukey, inv = np.unique(key, return_inverse=True)
    value_day = np.bincount(inv.reshape(-1), weights=amount, minlength=ukey.size)
    ucode = ukey // span
    if by_day:
        uday = (ukey % span).astype(float) + d0
    else:
        uday = np.sort(np.unique(day))[ukey % span]
    in_cal = uday <= cal
    c_cal, d_cal, v_cal = ucode[in_cal], uday[in_cal], value_day[in_cal]
    users, start, n_days = np.unique(c_cal, return_index=True, return_counts=True)
    end_ = start + n_days - 1  # rows are sorted by (user, day)
    first, last = d_cal[start], d_cal[end_]
    total = np.add.reduceat(v_cal, start) if start.size else np.zeros(0)
    first_value = v_cal[start]
    x = (n_days - 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(x > 0, (total - first_value) / x, 0.0)
    out = pd.DataFrame(
        {
            "frequency": x,
            "recency": (last - first) / scale,
            "T": (cal - first) / scale,
            "monetary": monetary,
        },
        index=pd.Index(np.asarray(uniques)[users], name="user_id"),
    )
    if obs is not None:
        hold = (uday > cal) & (uday <= obs)
        hcount = np.bincount(ucode[hold], minlength=len(uniques))[users]
        out["frequency_holdout"] = hcount.astype(float)
        out["duration_holdout"] = (obs - cal) / scale
    return out


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
    r, alpha, a, b = theta
    posu = ux > 0
    ux1 = np.where(posu, ux - 1, 0.0)  # x − 1, guarded for x = 0 (term unused there)
    g1 = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
    b2 = betaln(a, b + ux) - betaln(a, b)
    b3 = np.where(posu, betaln(a + 1, b + ux1) - betaln(a, b), -np.inf)
    lT = np.log(alpha + T)
    ltx = np.log(alpha + tx)
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
    dr1 = digamma(r + ux) - digamma(r) + np.log(alpha)
    da2 = psi_ab - psi_abx
    db2 = digamma(b + ux) - psi_abx - psi_b + psi_ab
    da3 = np.where(posu, digamma(a + 1) - psi_abx - psi_a + psi_ab, 0.0)
    db3 = np.where(posu, digamma(b + ux1) - psi_abx - psi_b + psi_ab, 0.0)
    d_r = dr1[inv] - w2 * lT - w3 * ltx
    d_al = r / alpha - w2 * rx / (alpha + T) - w3 * rx / (alpha + tx)
    d_a = w2 * da2[inv] + w3 * da3[inv]
    d_b = w2 * db2[inv] + w3 * db3[inv]
    return ll, np.vstack([d_r, d_al, d_a, d_b])


def bgnbd_loglik(params: Mapping, summary: pd.DataFrame) -> float:
    """Total BG/NBD log-likelihood of ``summary`` (frequency, recency, T) at ``params``.

    For a customer with (x, t_x, T), Fader, Hardie & Lee (2005) eq. (6)::

        L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
          + 1{x>0} · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))
    """
    _check_summary(summary, ["frequency", "recency", "T"])
    theta = np.array([params["r"], params["alpha"], params["a"], params["b"]], dtype=float)
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
    """Fit the BG/NBD model (r, α, a, b) by maximum likelihood.

    Purchases while active follow a Poisson process with rate λ ~ Gamma(r, α); after each
    purchase the customer drops out with probability p ~ Beta(a, b). The log-likelihood
    (see :func:`bgnbd_loglik`) is evaluated once per distinct (x, t_x, T) row, weighted by its
    count, with an analytic gradient. Time is in the unit of ``summary`` (α scales with it).

    Returns a :class:`FitResult` mapping with ``r, alpha, a, b, loglik``.
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
    return _fit(nll_grad, theta0, ["r", "alpha", "a", "b"], int(w.sum()), "bgnbd")


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
    r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, tx, T = _arr(summary, "frequency"), _arr(summary, "recency"), _arr(summary, "T")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(al + T) - np.log(al + tx))
    odds = np.where(x > 0, np.exp(np.minimum(log_odds, 700)), 0.0)
    return pd.Series(1.0 / (1.0 + odds), index=summary.index, name="p_alive")


def expected_purchases_population(params: Mapping, t) -> np.ndarray:
    """E[X(t)] for a randomly chosen new customer (Fader, Hardie & Lee 2005, eq. 9)::

    E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))]
    """
    r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    a = a + 1e-9 if abs(a - 1) < 1e-9 else a
    t = np.asarray(t, dtype=float)
    z = t / (al + t)
    return (a + b - 1) / (a - 1) * (1 - (al / (al + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def expected_purchases(params: Mapping, summary: pd.DataFrame, t) -> pd.Series:
    """Expected repeat purchases in the next ``t`` time units, given (x, t_x, T) (eq. 10)::

        E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) ·
            [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
            / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))

    ``t`` is a scalar or one value per customer. Valid for any a ≠ 1 (the ratio and the bracket
    change sign together when a < 1, e.g. CDNOW's a = 0.79); a = 1 is nudged by 1e-9.
    """
    _check_summary(summary, ["frequency", "recency", "T"])
    r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    a = a + 1e-9 if abs(a - 1) < 1e-9 else a
    x, T = _arr(summary, "frequency"), _arr(summary, "T")
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
    # the bracket depends on (x, T, t) only: evaluate it once per distinct triple
    (ux, uT, ut), inv = _unique_rows([x, T, t])
    bracket = _bracket(r, al, a, b, ux, uT, ut)
    head = (a + b + x - 1) / (a - 1)
    out = head * bracket[inv] * p_alive(params, summary).to_numpy()
    return pd.Series(out, index=summary.index, name="expected_purchases")


@lru_cache(maxsize=4096)
def _jacobi(nodes: int, alpha_j: float, beta_j: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi nodes on [0, 1] for weight u^beta (1−u)^alpha, weights normalised to 1."""
    s_nodes, s_w = roots_jacobi(nodes, alpha_j, beta_j)
    return (1.0 + s_nodes) / 2.0, s_w / s_w.sum()


def _bracket(r, al, a, b, x, T, t, nodes: int = 48) -> np.ndarray:
    """1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t)) of eq. (10).

    By Pfaff's transformation this equals 1 − ₂F₁(r+x, a−1; a+b+x−1; w) with w = −t/(α+T) ≤ 0,
    whose Euler integral (Abramowitz & Stegun 15.3.1)

        ₂F₁(a−1, r+x; c; w) = ∫₀¹ u^(r+x−1) (1−u)^(c−r−x−1) (1 − w u)^(1−a) du / B(r+x, c−r−x)

    has a smooth, bounded integrand; it is computed by Gauss-Jacobi quadrature (nodes once per
    distinct x). This avoids scipy's hyp2f1 near z → 1, which is slow and loses accuracy for
    large b + x. Needs c − r − x = a + b − 1 − r > 0; otherwise scipy's hyp2f1 is used.
    """
    x, T, t = (np.asarray(v, dtype=float) for v in (x, T, t))
    alpha_j = a + b - r - 2.0  # exponent of (1 − u)
    if alpha_j <= -1 or x.size == 0:
        z = t / (al + T + t)
        return 1 - ((al + T) / (al + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    w = -t / (al + T)
    order = np.argsort(x, kind="stable")
    ux, starts = np.unique(x[order], return_index=True)
    bounds = np.append(starts, x.size)
    out = np.empty(x.size)
    for j, xv in enumerate(ux):  # loop over distinct purchase counts (a few dozen), not users
        u, wts = _jacobi(nodes, float(alpha_j), float(r + xv - 1.0))
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
    period: float = 30.0,
    discount_rate: float = 0.01,
) -> pd.DataFrame:
    """Discounted expected value over ``horizon`` (same time unit as ``summary``).

    The horizon is cut into periods of length ``period`` (the last may be shorter); with
    E_i = E[Y(t_i) | x, t_x, T] (t_i = end of period i) and S = E[M | x, m_x]::

        CLV = Σ_i (E_i − E_{i−1}) · S / (1 + d)^i     (d = ``discount_rate`` per period)

    Returns columns ``p_alive``, ``expected_purchases`` (undiscounted, whole horizon),
    ``expected_spend``, ``clv``. Reference: Fader, Hardie & Lee (2005), JMR 42(4).
    """
    if horizon <= 0 or period <= 0:
        raise AnalysisInputError("horizon and period must be > 0")
    if discount_rate <= -1:
        raise AnalysisInputError("discount_rate must be > -1")
    ends = np.arange(period, horizon + period * 1e-9, period)
    if ends.size == 0 or ends[-1] < horizon - 1e-9:
        ends = np.append(ends, horizon)
    _check_summary(summary, ["frequency", "recency", "T"])
    r, al, a, b = (bgnbd[k] for k in ("r", "alpha", "a", "b"))
    a = a + 1e-9 if abs(a - 1) < 1e-9 else a
    x, T = _arr(summary, "frequency"), _arr(summary, "T")
    (ux, uT), inv = _unique_rows([x, T])  # the bracket depends on (x, T) and t only
    head = (a + b + x - 1) / (a - 1) * p_alive(bgnbd, summary).to_numpy()
    cum = np.column_stack(
        [head * _bracket(r, al, a, b, ux, uT, np.full(ux.size, t))[inv] for t in ends]
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
