"""Multi-touch attribution (SPEC §4.4, §7): rule-based, Markov chain (order 1-3), Shapley.

Input is a ``paths`` frame (SPEC §3): ``path`` = channels joined by ``>`` (whitespace around names
ignored), ``conversions``, optional ``nulls`` (non-converting journeys) and ``value``. Paths with no
channel (conversions without any touchpoint) cannot be credited to a channel: they are left out
(:attr:`ParsedPaths.unattributed_conversions`, :attr:`JourneySummary.attributable_share`). Every
model distributes exactly the conversions and the value of the remaining paths over channels.

Results are frames with documented columns or frozen dataclasses (:class:`MarkovResult`,
:class:`Comparison`, :class:`Economics`); nothing travels in ``DataFrame.attrs``. Journeys are
built in the engine by :mod:`growthlab.data.journeys` (the notebook passes the frames in).

Pure functions: no I/O, no plotting. Heavy work is vectorised over tokens (numpy / pyarrow) and
the Markov removal effects are solved exactly with sparse LU factorisations (no simulation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.linalg import bicgstab, splu

from growthlab.errors import AnalysisInputError

HEURISTIC_MODELS = ("first", "last", "linear", "position", "time_decay")
DEFAULT_MODELS = ("first", "last", "linear", "position", "time_decay", "markov", "shapley")


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ParsedPaths:
    """Paths as a token array: path i has channel codes ``codes[offsets[i]:offsets[i+1]]``."""

    channels: np.ndarray  # channel names, sorted; code k -> channels[k]
    offsets: np.ndarray  # int64, len n_paths + 1
    codes: np.ndarray  # int64 token channel codes
    conversions: np.ndarray  # float per path
    nulls: np.ndarray
    value: np.ndarray
    unattributed_conversions: float
    unattributed_value: float

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def parent(self) -> np.ndarray:
        return np.repeat(np.arange(self.lengths.size), self.lengths)


def _numeric(df: pd.DataFrame, col: str, default: float | None, nonneg: bool) -> np.ndarray:
    if col not in df.columns:
        if default is None:
            raise AnalysisInputError(f"paths: required column '{col}' missing")
        return np.full(len(df), default, dtype=float)
    x = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if col != "value" and np.isnan(x).any():
        raise AnalysisInputError(f"paths.{col}: must be numeric and not null")
    x = np.nan_to_num(x, nan=0.0)
    if not np.isfinite(x).all():
        raise AnalysisInputError(f"paths.{col}: must be finite")
    if nonneg and (x < 0).any():
        raise AnalysisInputError(f"paths.{col}: must be >= 0 ({int((x < 0).sum())} negative rows)")
    return x


def parse_paths(paths: pd.DataFrame) -> ParsedPaths:
    """Validate a ``paths`` frame and tokenise it (channels joined by ``>``, whitespace stripped).

    Empty tokens (``"a>>b"``, trailing ``>``) are ignored. Raises AnalysisInputError when a column
    is missing or breaks its rule (conversions / nulls numeric and >= 0).
    """
    if not isinstance(paths, pd.DataFrame):
        raise AnalysisInputError("paths: expected a pandas DataFrame")
    if "path" not in paths.columns:
        raise AnalysisInputError("paths: required column 'path' missing")
    conv = _numeric(paths, "conversions", None, True)
    nulls = _numeric(paths, "nulls", 0.0, True)
    value = _numeric(paths, "value", 0.0, False)
    col = paths["path"]
    try:
        text = pa.array(col, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        text = pa.array(col.astype("string").to_numpy(dtype=object), pa.string(), from_pandas=True)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    text = pc.fill_null(text, "")
    lists = pc.split_pattern(text, ">")
    parent = pc.list_parent_indices(lists).to_numpy()
    tokens = pc.list_flatten(lists)
    # encode first, then trim / drop empties on the (tiny) dictionary instead of every token
    enc = pc.dictionary_encode(tokens)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    raw_names = np.asarray(enc.dictionary.to_pylist(), dtype=object).astype(str)
    trimmed = np.char.strip(raw_names) if raw_names.size else raw_names
    names, code_of = np.unique(trimmed, return_inverse=True)  # sorted channel names
    codes = code_of[enc.indices.to_numpy()].astype(np.int64)
    if names.size and names[0] == "":  # empty tokens ("a>>b", trailing ">", blank path)
        keep = codes != 0
        codes = codes[keep] - 1
        parent = parent[keep]
        names = names[1:]
    lengths = np.bincount(parent, minlength=len(paths))
    has = lengths > 0
    offsets = np.concatenate([[0], np.cumsum(lengths[has])]).astype(np.int64)
    return ParsedPaths(
        channels=names.astype(str),
        offsets=offsets,
        codes=codes,
        conversions=conv[has],
        nulls=nulls[has],
        value=value[has],
        unattributed_conversions=float(conv[~has].sum()),
        unattributed_value=float(value[~has].sum()),
    )


def _frame(channels: np.ndarray, conv: np.ndarray, value: np.ndarray, **extra) -> pd.DataFrame:
    """Credits frame: channel, conversions, value (+ extra columns), most conversions first."""
    out = pd.DataFrame({"channel": channels, "conversions": conv, "value": value, **extra})
    out = out.sort_values(["conversions", "channel"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def _positions(pp: ParsedPaths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    parent = pp.parent
    pos = np.arange(pp.codes.size) - pp.offsets[:-1][parent]
    return parent, pos, pp.lengths[parent]


# --------------------------------------------------------------------------- rule-based


def position_weights(
    pos: np.ndarray, length: np.ndarray, first_weight: float = 0.4, last_weight: float = 0.4
) -> np.ndarray:
    """Position-based (U-shaped) credit of each touch; the weights of one path sum to 1.

    Length 1: 1. Length 2: first f/(f+l), last l/(f+l). Length L >= 3: first f, last l, each
    middle touch (1 - f - l)/(L - 2). Default 40/20/40 (Google Analytics "position based").
    """
    f, last = float(first_weight), float(last_weight)
    if f < 0 or last < 0 or f + last > 1 + 1e-12 or f + last <= 0:
        raise AnalysisInputError(
            "first_weight/last_weight: must be >= 0 with 0 < first_weight + last_weight <= 1"
        )
    pos = np.asarray(pos)
    length = np.asarray(length)
    w = np.zeros(pos.shape, dtype=float)
    w[length == 1] = 1.0
    two = length == 2
    w[two & (pos == 0)] = f / (f + last)
    w[two & (pos == 1)] = last / (f + last)
    many = length >= 3
    mid = (1.0 - f - last) / np.maximum(length - 2, 1)
    w[many] = np.where(pos[many] == 0, f, np.where(pos[many] == length[many] - 1, last, mid[many]))
    return w


def heuristic(
    paths: pd.DataFrame,
    model: str,
    *,
    first_weight: float = 0.4,
    last_weight: float = 0.4,
    half_life_days: float = 7.0,
) -> pd.DataFrame:
    """Rule-based attribution; columns channel, conversions, value.

    For a converting path with touches c_1..c_L, touch j gets weight w_j (Σ_j w_j = 1) and
    channel c receives Σ_paths conversions · Σ_{j: c_j = c} w_j (value likewise):

    - ``first``: w_1 = 1; ``last``: w_L = 1; ``linear``: w_j = 1/L;
    - ``position``: 40/20/40 U-shape, see :func:`position_weights` (weights are parameters);
    - ``time_decay``: w_j ∝ 2^(-(t_conv - t_j) / half_life) — needs timestamps, so ``paths``
      must then be a *touchpoints* frame (``growthlab.data.journeys.touchpoints``: user_id,
      conv_seq, channel, ts, conversion_ts, value, converted); each converting journey is one
      conversion.

    Reference: Kannan, Reinartz & Verhoef (2016), "The path to purchase and attribution
    modeling", IJRM 33(3); Google Analytics attribution model definitions.
    """
    if model not in HEURISTIC_MODELS:
        raise AnalysisInputError(f"model: must be one of {HEURISTIC_MODELS}, got {model!r}")
    if model == "time_decay":
        return time_decay(paths, half_life_days=half_life_days)
    pp = parse_paths(paths)
    parent, pos, length = _positions(pp)
    if model == "first":
        w = (pos == 0).astype(float)
    elif model == "last":
        w = (pos == length - 1).astype(float)
    elif model == "linear":
        w = 1.0 / length
    else:
        w = position_weights(pos, length, first_weight, last_weight)
    n = pp.channels.size
    conv = np.bincount(pp.codes, weights=w * pp.conversions[parent], minlength=n)
    val = np.bincount(pp.codes, weights=w * pp.value[parent], minlength=n)
    return _frame(pp.channels, conv, val)


def time_decay(touchpoints: pd.DataFrame, half_life_days: float = 7.0) -> pd.DataFrame:
    """Time-decay attribution from timestamped touchpoints; columns channel, conversions, value.

    In each converting journey touch j at time t_j gets w_j = 2^(-(t_conv - t_j)/h) / Σ_k
    2^(-(t_conv - t_k)/h) with h = ``half_life_days``; the journey's one conversion and its value
    are split by w. Journeys are identified by (user_id, conv_seq) or a ``journey_id`` column.
    Reference: Google Analytics "time decay" model (7-day half-life default).
    """
    need = ["channel", "ts", "conversion_ts", "converted"]
    if not isinstance(touchpoints, pd.DataFrame) or any(c not in touchpoints.columns for c in need):
        raise AnalysisInputError(
            f"touchpoints: time decay needs timestamped touchpoints with columns {need} "
            "(growthlab.data.journeys.touchpoints); a pre-aggregated paths table has no times"
        )
    if not half_life_days > 0:
        raise AnalysisInputError("half_life_days: must be > 0")
    tp = touchpoints[touchpoints["converted"].astype(bool)]
    tp = tp[tp["channel"].notna() & (tp["channel"].astype(str).str.strip() != "")]
    keys = ["journey_id"] if "journey_id" in tp.columns else ["user_id", "conv_seq"]
    if any(k not in tp.columns for k in keys):
        raise AnalysisInputError("touchpoints: need journey_id or (user_id, conv_seq) columns")
    age = (pd.to_datetime(tp["conversion_ts"]) - pd.to_datetime(tp["ts"])).dt.total_seconds()
    age = age.to_numpy(dtype=float) / 86400.0
    if np.isnan(age).any() or (age < 0).any():
        raise AnalysisInputError("touchpoints.ts: must be <= conversion_ts for converted rows")
    jid = tp.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    raw = np.exp2(-age / half_life_days)
    w = raw / np.bincount(jid, weights=raw)[jid]
    value = (
        pd.to_numeric(tp["value"], errors="coerce").fillna(0).to_numpy(dtype=float)
        if "value" in tp.columns
        else np.zeros(len(tp))
    )
    channels, codes = np.unique(
        tp["channel"].astype(str).str.strip().to_numpy(), return_inverse=True
    )
    n = channels.size
    conv = np.bincount(codes, weights=w, minlength=n)
    val = np.bincount(codes, weights=w * value, minlength=n)
    return _frame(channels, conv, val)


# --------------------------------------------------------------------------- Markov


def _state_ids(pp: ParsedPaths, order: int, pos: np.ndarray) -> np.ndarray:
    """Integer id of the order-k state at each token: base-(C+1) digits of the last k channels."""
    base = pp.channels.size + 1
    digits = pp.codes + 1
    if order == 1:
        return digits
    sid = np.zeros(pp.codes.size, dtype=np.int64)
    for i in range(order):
        shifted = np.empty_like(digits)
        shifted[i:] = digits[: digits.size - i] if i else digits
        shifted[:i] = 0
        sid += np.where(pos >= i, shifted, 0) * base**i
    return sid


#: systems up to this size are solved by sparse LU; larger ones by BiCGSTAB (LU fill-in of
#: higher-order chains grows quickly) with an LU fallback when it does not converge.
_DIRECT_MAX = 400


def _linear_solve(A: sp.csc_matrix, B: np.ndarray, rtol: float = 1e-13) -> np.ndarray:
    """Solve A X = B for the (few) columns of B: sparse LU, or BiCGSTAB to ``rtol`` (A = I - Q
    with Q substochastic and every state transient is a non-singular M-matrix)."""
    if A.shape[0] <= _DIRECT_MAX:
        return splu(A).solve(B)
    X = np.empty_like(B)
    for j in range(B.shape[1]):
        b = B[:, j]
        x, info = bicgstab(A, b, rtol=rtol, atol=0.0, maxiter=10 * A.shape[0])
        if info != 0 or not np.all(np.abs(A @ x - b) <= 1e-10 * (1.0 + np.abs(b).max())):
            return splu(A).solve(B)
        X[:, j] = x
    return X


@dataclass(frozen=True)
class MarkovResult:
    """A fitted Markov attribution (:func:`markov`).

    ``credits``: channel, conversions, value, removal_effect (most conversions first);
    ``conversion_probability``: P(START reaches CONV) of the fitted chain; ``n_states``: states of
    the chain besides START/CONV/NULL.
    """

    credits: pd.DataFrame
    order: int
    conversion_probability: float
    n_states: int
    n_channels: int


@dataclass(frozen=True)
class _Chain:
    """Absorbing chain of :func:`markov`: transient block ``Q`` (states + START last), rewards
    ``R`` (P(s -> CONV), P(s -> CONV) · mean value), current channel of each state (START -1)."""

    Q: sp.csr_matrix
    R: np.ndarray
    current: np.ndarray
    start: int


def _compact_states(pp: ParsedPaths, order: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(state id per token in 0..S-1, raw id of each state) for the order-k states."""
    sid_raw = _state_ids(pp, order, pos)
    space = (pp.channels.size + 1) ** order
    if space <= 1 << 24:  # compact the id space by counting, O(n) instead of a sort
        present = np.zeros(space, dtype=bool)
        present[sid_raw] = True
        uniq = np.flatnonzero(present)
        return (np.cumsum(present) - 1)[sid_raw], uniq
    uniq, sid = np.unique(sid_raw, return_inverse=True)
    return sid, uniq


def _chain(pp: ParsedPaths, order: int) -> _Chain:
    """Path-weighted transition probabilities of the order-k chain (see :func:`markov`)."""
    weight = pp.conversions + pp.nulls
    parent, pos, length = _positions(pp)
    sid, uniq = _compact_states(pp, order, pos)
    n_s = uniq.size
    start = n_s  # transient index of START
    n_t = n_s + 1
    w_tok = weight[parent]
    # from-state of each token: previous token's state, or START at position 0
    src = np.where(pos == 0, start, np.concatenate([[start], sid[:-1]]))
    last = pos == length - 1
    out_total = np.bincount(src, weights=w_tok, minlength=n_t)
    out_total += np.bincount(sid[last], weights=weight[parent[last]], minlength=n_t)
    conv_end = np.bincount(sid[last], weights=pp.conversions[parent[last]], minlength=n_t)
    val_end = np.bincount(sid[last], weights=pp.value[parent[last]], minlength=n_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(out_total > 0, 1.0 / out_total, 0.0)
    if n_t * n_t <= 1 << 22:  # aggregate transition counts densely, then sparsify
        dense = np.bincount(src * n_t + sid, weights=w_tok, minlength=n_t * n_t)
        Q = sp.csr_matrix(dense.reshape(n_t, n_t) * inv[:, None])
    else:
        Q = sp.coo_matrix((w_tok * inv[src], (src, sid)), shape=(n_t, n_t)).tocsr()
        Q.sum_duplicates()
    # rewards: P(s -> CONV) and P(s -> CONV) * mean value of conversions ending in s
    R = np.column_stack([conv_end * inv, val_end * inv])
    current = np.append(uniq % (pp.channels.size + 1) - 1, -1)
    return _Chain(Q=Q, R=R, current=current, start=start)


def _absorption(chain: _Chain, keep: np.ndarray) -> np.ndarray:
    """h_START of (I - Q) h = R restricted to the ``keep`` states (conversion, value)."""
    A = (sp.identity(chain.Q.shape[0], format="csr") - chain.Q)[keep][:, keep].tocsc()
    h = _linear_solve(A, chain.R[keep])
    return h[np.flatnonzero(keep) == chain.start][0]


def _removal_effects(chain: _Chain, n_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(h_START of the full chain, removal effects per channel: conversion and value columns)."""
    base = _absorption(chain, np.ones(chain.Q.shape[0], dtype=bool))
    removal = np.zeros((n_channels, 2))
    for c in range(n_channels):
        h = _absorption(chain, chain.current != c)
        with np.errstate(invalid="ignore", divide="ignore"):
            removal[c] = np.where(base > 0, 1.0 - h / base, 0.0)
    return base, np.clip(removal, 0.0, None)


def markov(paths: pd.DataFrame, order: int = 1) -> MarkovResult:
    """Markov-chain attribution with exact removal effects, fitted once: a :class:`MarkovResult`.

    States are the last ``order`` channels (shorter at the start of a path), plus START and the
    absorbing CONV and NULL. Transition probabilities are the path-weighted transition counts
    (weight conversions + nulls; the last state goes to CONV with weight conversions and to NULL
    with weight nulls). With Q the transient block and r_s = P(s -> CONV), the conversion
    probability is h_START where (I - Q) h = r. Removing channel c sends every transition into a
    state whose current channel is c to NULL, i.e. solves the same system on the states not
    ending in c: removal effect RE_c = 1 - h^(-c)_START / h_START. Conversions are split as
    total · RE_c / Σ RE. Value uses the same chain with reward r_s · v̄_s (v̄_s = mean value of
    the conversions whose path ends in state s). One sparse solve per channel (``scipy.sparse``:
    LU for small chains, BiCGSTAB to a 1e-13 relative residual for large higher-order chains,
    checked, with an LU fallback), no simulation. Journeys are not capped in length (the R/Python
    package ChannelAttribution simulates journeys capped at the longest observed path, so its
    removal effects are slightly lower).

    Reference: Anderson, E. (2013) "Mapping the customer journey" / Archak, Mirrokni &
    Muthukrishnan (2010); Kakalejčík et al. (2018) "Multichannel marketing attribution using
    Markov chains", J. Appl. Manag. Invest. 7(1); the removal effect of the R package
    ChannelAttribution (Altomare & Loris).
    """
    if order not in (1, 2, 3):
        raise AnalysisInputError(f"order: must be 1, 2 or 3, got {order!r}")
    pp = parse_paths(paths)
    total_conv = pp.conversions.sum()
    if total_conv <= 0:
        raise AnalysisInputError("paths.conversions: no conversion on any non-empty path")
    n_ch = pp.channels.size
    chain = _chain(pp, order)
    base, removal = _removal_effects(chain, n_ch)
    tot = removal.sum(axis=0)
    conv = total_conv * removal[:, 0] / tot[0]
    total_val = pp.value.sum()
    val = total_val * removal[:, 1] / tot[1] if tot[1] > 0 and total_val != 0 else np.zeros(n_ch)
    return MarkovResult(
        credits=_frame(pp.channels, conv, val, removal_effect=removal[:, 0]),
        order=order,
        conversion_probability=float(base[0]),
        n_states=int(chain.start),
        n_channels=int(n_ch),
    )


# --------------------------------------------------------------------------- Shapley


def _mobius(v: np.ndarray, n: int) -> np.ndarray:
    """Harsanyi dividends d(S) = Σ_{R ⊆ S} (-1)^{|S|-|R|} v(R) (fast Möbius transform)."""
    d = v.astype(float).copy()
    for i in range(n):
        view = d.reshape(-1, 2, 2**i)
        view[:, 1, :] -= view[:, 0, :]
    return d


def _zeta(g: np.ndarray, n: int) -> np.ndarray:
    """Subset sums G(T) = Σ_{S ⊆ T} g(S) (fast zeta transform), in place on a copy."""
    g = g.copy()
    for i in range(n):
        view = g.reshape(-1, 2, 2**i)
        view[:, 1, :] += view[:, 0, :]
    return g


def _popcount(n: int) -> np.ndarray:
    m = np.arange(2**n, dtype=np.int64)
    size = np.zeros(m.size, dtype=np.int64)
    for i in range(n):
        size += (m >> i) & 1
    return size


def shapley_values(worth: np.ndarray) -> np.ndarray:
    """Exact Shapley values of an n-player game given as a 2^n vector (bit i = player i).

    φ_i = Σ_{S ∌ i} |S|!(n-|S|-1)!/n! · (v(S ∪ i) - v(S)), computed through the Harsanyi
    dividends: φ_i = Σ_{S ∋ i} d(S)/|S| (Harsanyi 1963), O(n·2^n). Efficiency:
    Σ_i φ_i = v(N) - v(∅). Reference: Shapley (1953), Contributions to the Theory of Games II.
    """
    worth = np.asarray(worth, dtype=float)
    n = int(round(np.log2(worth.size)))
    if worth.size != 2**n:
        raise AnalysisInputError("worth: length must be a power of two (2^players)")
    d = _mobius(worth - worth[0], n)
    size = _popcount(n)
    m = np.arange(worth.size)
    share = np.where(size > 0, d / np.maximum(size, 1), 0.0)
    return np.array([share[(m >> i) & 1 == 1].sum() for i in range(n)])


def shapley(paths: pd.DataFrame, *, max_channels: int = 15) -> pd.DataFrame:
    """Shapley-value attribution over channel coalitions; columns channel, conversions, value.

    Each journey's channel *set* T is a coalition; its worth is the conversion rate
    v(T) = conversions(T) / (conversions(T) + nulls(T)) of journeys touching exactly T (0 if
    unobserved; v(∅) = 0). For every observed T, the Shapley values φ^T_c of the game restricted
    to subsets of T (which sum to v(T), efficiency) split T's conversions and value:
    credit_c = Σ_T conversions(T) · φ^T_c / v(T). Computed exactly for all T at once with the
    fast Möbius (dividend) and zeta transforms: φ^T_c = Σ_{S ⊆ T, c ∈ S} d(S)/|S|, cost
    O(C²·2^C). Raises AnalysisInputError beyond ``max_channels`` channels (default 15: 2^15
    coalitions); merge rare channels first.

    Credits can be negative for a channel whose presence lowers the conversion rate.
    Reference: Shapley (1953); Dalessandro et al. (2012) "Causally motivated attribution for
    online advertising", ADKDD; Zhao et al. (2018) "Shapley value methods for attribution
    modeling in online advertising", arXiv:1804.05327.
    """
    pp = parse_paths(paths)
    n = pp.channels.size
    if n > max_channels:
        raise AnalysisInputError(
            f"paths.path: {n} distinct channels; exact Shapley attribution supports at most "
            f"{max_channels} (2^{max_channels} coalitions) — merge rare channels into 'other'"
        )
    if pp.conversions.sum() <= 0:
        raise AnalysisInputError("paths.conversions: no conversion on any non-empty path")
    bits = np.left_shift(np.int64(1), pp.codes)
    masks = np.bitwise_or.reduceat(bits, pp.offsets[:-1]) if bits.size else np.zeros(0, int)
    size = 2**n
    conv_T = np.bincount(masks, weights=pp.conversions, minlength=size)
    null_T = np.bincount(masks, weights=pp.nulls, minlength=size)
    val_T = np.bincount(masks, weights=pp.value, minlength=size)
    tot_T = conv_T + null_T
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(tot_T > 0, conv_T / tot_T, 0.0)
    d = _mobius(v, n)
    card = _popcount(n)
    m = np.arange(size)
    observed = np.flatnonzero(conv_T > 0)
    scale_c = conv_T[observed] / v[observed]
    scale_v = val_T[observed] / v[observed]
    conv = np.zeros(n)
    val = np.zeros(n)
    base = np.where(card > 0, d / np.maximum(card, 1), 0.0)
    for c in range(n):
        phi = _zeta(np.where((m >> c) & 1 == 1, base, 0.0), n)[observed]
        conv[c] = (scale_c * phi).sum()
        val[c] = (scale_v * phi).sum()
    return _frame(pp.channels, conv, val)


# --------------------------------------------------------------------------- journeys


@dataclass(frozen=True)
class JourneySummary:
    """What a ``paths`` frame holds (:func:`journey_summary`).

    conversions = Σ conversions (every path, with or without a touchpoint); nulls = Σ nulls;
    paths = rows (distinct paths); channels = distinct channels; attributable_share =
    conversions on paths with at least one channel / conversions (nan without conversions);
    mean_path_length = Σ_p conversions_p · length_p / Σ_p conversions_p over those paths.
    """

    conversions: float
    nulls: float
    paths: int
    channels: int
    attributable_conversions: float
    attributable_share: float
    mean_path_length: float


def journey_summary(paths: pd.DataFrame) -> JourneySummary:
    """Counts of a ``paths`` frame (see :class:`JourneySummary` for the formulas)."""
    pp = parse_paths(paths)
    conversions = float(pp.conversions.sum() + pp.unattributed_conversions)
    attributable = float(pp.conversions.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_len = float((pp.lengths * pp.conversions).sum() / attributable)
    return JourneySummary(
        conversions=conversions,
        nulls=float(_numeric(paths, "nulls", 0.0, True).sum()),
        paths=len(paths),
        channels=int(pp.channels.size),
        attributable_conversions=attributable,
        attributable_share=attributable / conversions if conversions else float("nan"),
        mean_path_length=mean_len if attributable else float("nan"),
    )


def path_summary(paths: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The ``top`` converting paths: path, conversions, nulls, value, conversion_rate.

    Paths without a channel are left out; order: conversions, then nulls (both descending),
    then path. conversion_rate = conversions / (conversions + nulls) of journeys with exactly
    that path. ``value`` only when the input has it.
    """
    parse_paths(paths)  # validates the columns
    cols = ["path", "conversions", "nulls"] + (["value"] if "value" in paths.columns else [])
    out = paths.reindex(columns=cols).copy()
    out["nulls"] = out["nulls"].fillna(0)
    out = out[out["path"].fillna("").astype(str).str.replace(">", "").str.strip() != ""]
    out = out.sort_values(
        ["conversions", "nulls", "path"], ascending=[False, False, True], kind="stable"
    ).head(top)
    total = out["conversions"] + out["nulls"]
    out["conversion_rate"] = (out["conversions"] / total.where(total > 0)).astype(float)
    return out.reset_index(drop=True)


def touch_share(paths: pd.DataFrame) -> pd.Series:
    """Per channel: conversions whose journey touches the channel / attributable conversions.

    Index channel (sorted), values in [0, 1]; a journey touching a channel twice counts once.
    """
    pp = parse_paths(paths)
    pairs = np.unique(np.column_stack([pp.parent, pp.codes]), axis=0)
    if not pairs.size:
        return pd.Series(dtype=float, name="touch_share")
    conv = np.bincount(pairs[:, 1], weights=pp.conversions[pairs[:, 0]], minlength=pp.channels.size)
    total = pp.conversions.sum()
    share = conv / total if total else np.full(pp.channels.size, np.nan)
    return pd.Series(share, index=pd.Index(pp.channels, name="channel"), name="touch_share")


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class Comparison:
    """Every model fitted once (:func:`compare`).

    ``credits``: long frame model, channel, conversions, value, share (the channel's share of the
    model's attributed conversions), models in the order run; ``markov``: the fitted
    :class:`MarkovResult` per order (removal effects, conversion probability), in
    ``markov_orders`` order; ``skipped``: model -> reason (``too_many_channels``: Shapley beyond
    ``max_channels``; ``no_timestamps``: time decay without touchpoints); ``touch_share``:
    :func:`touch_share`.
    """

    credits: pd.DataFrame
    markov: tuple[MarkovResult, ...]
    n_channels: int
    touch_share: pd.Series
    skipped: Mapping[str, str] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        """Model names in the order run (``first`` ... ``markov_1`` ... ``shapley``)."""
        return list(dict.fromkeys(self.credits["model"]))

    @property
    def reference(self) -> str:
        """The model a verdict is based on: Shapley when computed, else the first Markov order,
        else the last model run."""
        if "shapley" in self.models:
            return "shapley"
        return f"markov_{self.markov[0].order}" if self.markov else self.models[-1]

    def shares(self) -> pd.DataFrame:
        """Wide shares: one row per channel (column ``channel``), one column per model, rows
        sorted by the reference model's share (descending)."""
        wide = self.credits.pivot(index="channel", columns="model", values="share")
        wide = wide[self.models].sort_values(self.reference, ascending=False, kind="stable")
        wide.columns.name = None
        return wide.reset_index()

    def top(self) -> tuple[str, float]:
        """(channel, share) with the largest share of conversions under the reference model."""
        ref = self.credits[self.credits["model"] == self.reference]
        row = ref.sort_values(["share", "channel"], ascending=[False, True]).iloc[0]
        return str(row["channel"]), float(row["share"])


def _credits(credits: pd.DataFrame) -> pd.DataFrame:
    """A credits frame computed elsewhere (channel, conversions, value), checked and ordered as
    the models' own (:func:`_frame`)."""
    need = ["channel", "conversions", "value"]
    if not isinstance(credits, pd.DataFrame) or any(c not in credits.columns for c in need):
        raise AnalysisInputError(f"decay_credits: need columns {need}")
    conv = pd.to_numeric(credits["conversions"], errors="coerce").to_numpy(dtype=float)
    val = pd.to_numeric(credits["value"], errors="coerce").fillna(0).to_numpy(dtype=float)
    if np.isnan(conv).any() or (conv < 0).any():
        raise AnalysisInputError("decay_credits.conversions: must be numeric and >= 0")
    return _frame(credits["channel"].astype(str).to_numpy(), conv, val)


def compare(
    paths: pd.DataFrame,
    *,
    touchpoints: pd.DataFrame | None = None,
    decay_credits: pd.DataFrame | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    markov_orders: Sequence[int] = (1,),
    first_weight: float = 0.4,
    last_weight: float = 0.4,
    half_life_days: float = 7.0,
    max_channels: int = 15,
) -> Comparison:
    """All models side by side, each fitted once: a :class:`Comparison`.

    ``share`` = the channel's share of the model's attributed conversions. ``time_decay`` runs
    only when ``touchpoints`` is given, or takes ``decay_credits`` (channel, conversions, value:
    the same credits summed in the engine, ``growthlab.data.journeys.time_decay``; then
    ``half_life_days`` is the caller's business); ``markov`` runs once per order in ``markov_orders``
    (model names ``markov_1`` ...); ``shapley`` is skipped (``skipped["shapley"]``) when the
    paths have more than ``max_channels`` channels (exact Shapley needs 2^channels coalitions).
    """
    n_channels = int(parse_paths(paths).channels.size)
    frames, fitted, skipped = [], [], {}
    for model in models:
        if model == "time_decay" and touchpoints is None and decay_credits is None:
            skipped[model] = "no_timestamps"
            continue
        if model == "shapley" and n_channels > max_channels:
            skipped[model] = "too_many_channels"
            continue
        if model == "time_decay" and touchpoints is None:
            res = {"time_decay": _credits(decay_credits)}
        elif model == "time_decay":
            res = {"time_decay": time_decay(touchpoints, half_life_days)}
        elif model in HEURISTIC_MODELS:
            res = {
                model: heuristic(paths, model, first_weight=first_weight, last_weight=last_weight)
            }
        elif model == "markov":
            mk = [markov(paths, order=k) for k in markov_orders]
            fitted.extend(mk)
            res = {f"markov_{m.order}": m.credits for m in mk}
        elif model == "shapley":
            res = {"shapley": shapley(paths, max_channels=max_channels)}
        else:
            raise AnalysisInputError(f"models: unknown model {model!r}")
        for name, df in res.items():
            part = df[["channel", "conversions", "value"]].copy()
            part.insert(0, "model", name)
            tot = part["conversions"].sum()
            part["share"] = part["conversions"] / tot if tot else np.nan
            frames.append(part)
    if not frames:
        raise AnalysisInputError("models: nothing to compare")
    return Comparison(
        credits=pd.concat(frames, ignore_index=True),
        markov=tuple(fitted),
        n_channels=n_channels,
        touch_share=touch_share(paths),
        skipped=skipped,
    )


# --------------------------------------------------------------------------- cost


def cpa_roas(attributed: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """Cost per acquisition and return on ad spend per model and channel.

    CPA_c = spend_c / attributed conversions_c; ROAS_c = attributed value_c / spend_c (nan when
    the denominator is 0). ``attributed``: model (optional), channel, conversions, value;
    ``costs``: channel, spend (already restricted to the attribution period by the caller).
    """
    for col in ("channel", "spend"):
        if col not in costs.columns:
            raise AnalysisInputError(f"costs: required column '{col}' missing")
    spend = pd.to_numeric(costs["spend"], errors="coerce")
    if spend.isna().any() or (spend < 0).any():
        raise AnalysisInputError("costs.spend: must be numeric and >= 0")
    per = costs.assign(spend=spend).groupby("channel", as_index=False)["spend"].sum()
    out = attributed.merge(per, on="channel", how="left")
    out["spend"] = out["spend"].fillna(0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["cpa"] = np.where(out["conversions"] > 0, out["spend"] / out["conversions"], np.nan)
        out["roas"] = np.where(out["spend"] > 0, out["value"] / out["spend"], np.nan)
    return out


@dataclass(frozen=True)
class Economics:
    """CPA and ROAS of the channels with spend (:func:`channel_economics`).

    ``table``: :func:`cpa_roas` rows (model, channel, conversions, value, spend, cpa, roas) for
    the compared models, channels with spend > 0 only; ``model``: the model the ranking uses;
    ``ranking``: that model's rows sorted by ROAS (descending, channels without a ROAS last)
    with ``spend_share`` = spend / Σ spend and ``roas_min``/``roas_max`` = the channel's ROAS
    range over the compared models.
    """

    table: pd.DataFrame
    model: str
    ranking: pd.DataFrame

    @property
    def best(self) -> pd.Series:
        """Ranking row of the channel with the highest ROAS."""
        return self.ranking.iloc[0]

    @property
    def worst(self) -> pd.Series:
        """Ranking row of the channel with the lowest ROAS (the best one when alone)."""
        return self.ranking.dropna(subset=["roas"]).iloc[-1]


def channel_economics(comparison: Comparison, costs: pd.DataFrame) -> Economics | None:
    """CPA / ROAS under last touch, the first Markov order and the reference model.

    :func:`cpa_roas` on ``comparison.credits`` of those models (each once), keeping channels
    with spend > 0; ranked under ``comparison.reference``. None when no attributed channel has
    spend (or none has a finite ROAS under the reference model).
    """
    markov_first = f"markov_{comparison.markov[0].order}" if comparison.markov else None
    wanted = dict.fromkeys(m for m in ("last", markov_first, comparison.reference) if m)
    models = [m for m in wanted if m in comparison.models]
    credits = comparison.credits[comparison.credits["model"].isin(models)]
    table = cpa_roas(credits, costs)
    table = table[table["spend"] > 0].reset_index(drop=True)
    ref = table[table["model"] == comparison.reference].copy()
    if ref["roas"].notna().sum() == 0:
        return None
    ranges = table.groupby("channel")["roas"].agg(roas_min="min", roas_max="max")
    ref["spend_share"] = ref["spend"] / ref["spend"].sum()
    ref = ref.join(ranges, on="channel").sort_values(
        ["roas", "channel"], ascending=[False, True], na_position="last", kind="stable"
    )
    return Economics(table=table, model=comparison.reference, ranking=ref.reset_index(drop=True))
