"""Referral (fission) analytics, SPEC §4.2: forest, K-factor, cascades, spreaders.

Everything here is pure (frames in, frames out) and vectorised: the forest is held as an
integer ``parent`` array and every per-node quantity is computed with numpy (pointer jumping
for roots and generations, level-by-level scatter-adds for subtree sizes, ``bincount`` for
per-tree sums). There is no Python loop over users or edges; the only Python loops run over
tree *levels* (at most the depth of the deepest cascade) or over pointer-jumping rounds
(⌈log2 depth⌉ + 1).

Quarantine rules for raw ``referrals``, applied by :func:`clean_referrals`, so the functions are
correct on raw frames as well as on loaded datasets (where the loader has already applied them):

1. ``duplicate`` — an exact copy of an earlier row (every column), like the loader's rule;
2. the referral graph rules of the data contract — ``self_referral``, ``inviter_conflict``
   (one accepted inviter per invitee: earliest ``invited_at``, then smallest ``inviter_id``,
   then first row) and ``cycle`` — implemented once in :mod:`growthlab.referral_rules` and
   shared with the loader.

References: Goel, Anderson, Hofman & Watts (2016), "The structural virality of online diffusion",
Management Science 62(1); Wiener (1947) for W = Σ_edges s·(n−s); Harris (1963), *The Theory of
Branching Processes*, for R_g and K as offspring means.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from growthlab import referral_rules
from growthlab.errors import AnalysisInputError, require_columns
from growthlab.stats import (
    gini,
    grouped_mean_interval,
    interval_verdict,
    top_share,
    wilson_interval,
)

REFERRAL_COLUMNS = ("inviter_id", "invitee_id", "invited_at")
USER_COLUMNS = ("user_id", "signup_at")
QUARANTINE_RULES = ("duplicate", *referral_rules.RULES)


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    require_columns(frame, list(columns), name, kind=pd.DataFrame)


def _ids(series: pd.Series, table: str, column: str) -> np.ndarray:
    return _id_series(series, table, column).to_numpy(dtype=object)


def _times(series: pd.Series, table: str, column: str, allow_null: bool = False) -> pd.Series:
    try:
        ts = pd.to_datetime(series)
    except (TypeError, ValueError) as exc:  # pragma: no cover - message path
        raise AnalysisInputError(f"{table}.{column}: not parseable as timestamps ({exc})") from exc
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    if not allow_null and ts.isna().any():
        raise AnalysisInputError(
            f"{table}.{column}: {int(ts.isna().sum())} missing timestamp(s); must be non-null"
        )
    return ts.astype("datetime64[ns]")


# --------------------------------------------------------------------------------------------
# quarantine
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CleanReferrals:
    """Accepted referral edges plus the quarantined rows (column ``reason``) and their counts."""

    edges: pd.DataFrame
    quarantined: pd.DataFrame
    counts: dict[str, int]
    #: sorted id dictionary and the integer codes of ``edges`` (inviter, invitee) into it
    ids: pd.Index | None = field(default=None, repr=False)
    inviter_code: np.ndarray | None = field(default=None, repr=False)
    invitee_code: np.ndarray | None = field(default=None, repr=False)


def _id_series(series: pd.Series, table: str, column: str) -> pd.Series:
    if series.isna().any():
        raise AnalysisInputError(
            f"{table}.{column}: {int(series.isna().sum())} missing id(s); ids must be non-null"
        )
    return series.astype("str").reset_index(drop=True)


_REASONS = np.array(["", *QUARANTINE_RULES], dtype=object)


def clean_referrals(referrals: pd.DataFrame) -> CleanReferrals:
    """Apply the referral quarantine rules (module docstring) and count each rule exactly.

    Returns the accepted edges (one inviter per invitee, no self-referral, no cycle; ids as
    strings, ``invited_at`` as naive timestamps, sorted by ``invited_at``, ties in input
    order), the quarantined rows with a ``reason`` column, and ``counts`` {rule: rows}. Extra
    columns are kept. The graph rules are :func:`growthlab.referral_rules.graph_rules`.
    """
    _require(referrals, REFERRAL_COLUMNS, "referrals")
    df = referrals.reset_index(drop=True)
    base = df.assign(
        inviter_id=_id_series(df["inviter_id"], "referrals", "inviter_id"),
        invitee_id=_id_series(df["invitee_id"], "referrals", "invitee_id"),
        invited_at=_times(df["invited_at"], "referrals", "invited_at"),
    )
    reason = np.where(base.duplicated().to_numpy(), 1, 0).astype(np.int8)  # 1 = duplicate
    live = np.flatnonzero(reason == 0)
    sub = base.iloc[live]
    rules = referral_rules.graph_rules(sub["inviter_id"], sub["invitee_id"], sub["invited_at"])
    reason[live] = np.where(rules.reason > 0, rules.reason + 1, 0)
    ok = np.flatnonzero(rules.reason == referral_rules.ACCEPTED)
    t = sub["invited_at"].to_numpy(dtype="datetime64[ns]")
    ok = ok[np.argsort(t[ok], kind="stable")]  # by invited_at, ties in input order
    edges = sub.iloc[ok].reset_index(drop=True)
    bad = np.flatnonzero(reason != 0)
    quarantined = base.iloc[bad].assign(reason=_REASONS[reason[bad]]).reset_index(drop=True)
    counts = {r: int((reason == i + 1).sum()) for i, r in enumerate(QUARANTINE_RULES)}
    return CleanReferrals(
        edges, quarantined, counts, rules.ids, rules.inviter_code[ok], rules.invitee_code[ok]
    )


# --------------------------------------------------------------------------------------------
# forest
# --------------------------------------------------------------------------------------------
def _root_and_depth(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pointer jumping: anc_{k+1} = anc_k[anc_k], dist_{k+1} = dist_k + dist_k[anc_k].

    Invariant: anc_k[i] is the 2^k-th ancestor of i (capped at the root) and dist_k[i] the
    number of edges between them; stops when every anc is a root (⌈log2 depth⌉ + 1 rounds).
    Requires an acyclic parent array.
    """
    n = parent.size
    anc = np.where(parent >= 0, parent, np.arange(n, dtype=parent.dtype))
    dist = (parent >= 0).astype(np.int32)
    while True:
        nxt = anc[anc]
        if np.array_equal(nxt, anc):
            return anc, dist
        dist = dist + dist[anc]
        anc = nxt


def _subtree_sizes(parent: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """s_v = 1 + Σ_{children c} s_c, accumulated level by level from the deepest level up."""
    n = parent.size
    size = np.ones(n, dtype=np.int64)
    if n == 0:
        return size
    order = np.argsort(depth, kind="stable")
    bounds = np.searchsorted(depth[order], np.arange(int(depth.max()) + 2))
    for d in range(int(depth.max()), 0, -1):
        idx = order[bounds[d] : bounds[d + 1]]
        np.add.at(size, parent[idx], size[idx])
    return size


@dataclass(frozen=True)
class Forest:
    """The referral forest.

    ``nodes`` has one row per user: ``user_id``, ``inviter_id`` (accepted inviter or missing),
    ``root`` (seed of the user's cascade), ``generation`` (0 = not invited), ``direct_invitees``
    (children), ``descendants`` (subtree size − 1), ``invited_at`` and, for the edge attributes
    present (``campaign_id``, ``share_channel``), the values of the accepted edge.
    ``edges`` are the accepted referrals, ``quarantined``/``counts`` what was excluded and why.
    ``parent``/``root_idx``/``size`` are the integer arrays behind ``nodes`` (row order).
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    quarantined: pd.DataFrame
    counts: dict[str, int]
    parent: np.ndarray = field(repr=False)
    root_idx: np.ndarray = field(repr=False)
    size: np.ndarray = field(repr=False)
    #: node index of the inviter / invitee of every row of ``edges``
    edge_parent: np.ndarray | None = field(default=None, repr=False)
    edge_child: np.ndarray | None = field(default=None, repr=False)


def forest(referrals: pd.DataFrame | CleanReferrals, users: pd.DataFrame | None = None) -> Forest:
    """Build the referral forest (generation, root, subtree size of every user).

    ``referrals`` may be raw (the quarantine rules of :func:`clean_referrals` are applied) or an
    already cleaned :class:`CleanReferrals`. When ``users`` (column ``user_id``) is given every
    user gets a row — users never invited and never inviting are their own one-node tree.

    generation(v) = number of edges from v up to its root (pointer jumping);
    size(v) = 1 + Σ_children size(c) (level-by-level scatter-add); descendants = size − 1.
    """
    clean = referrals if isinstance(referrals, CleanReferrals) else clean_referrals(referrals)
    if clean.ids is None:  # built by hand: re-derive the codes
        clean = clean_referrals(clean.edges)
    edges = clean.edges
    ids = clean.ids
    child, par = clean.invitee_code, clean.inviter_code
    keep = np.zeros(len(ids), dtype=bool)
    keep[child] = True
    keep[par] = True
    if users is not None:
        _require(users, ("user_id",), "users")
        uid = _id_series(users["user_id"], "users", "user_id")
        pos = ids.get_indexer(uid)
        keep[pos[pos >= 0]] = True
        new = pd.unique(uid[pos < 0])
        if len(new):
            ids = ids.append(pd.Index(new, dtype=ids.dtype))
            keep = np.concatenate([keep, np.ones(len(new), dtype=bool)])
    # compact to the users of the forest
    remap = np.cumsum(keep) - 1
    ids = ids[keep]
    child, par = remap[child], remap[par]
    n = len(ids)
    parent = np.full(n, -1, dtype=np.int64)
    parent[child] = par
    root, depth = _root_and_depth(parent)
    size = _subtree_sizes(parent, depth)
    children = np.bincount(par, minlength=n)

    arr = ids.array
    edge_of = np.full(n, -1, dtype=np.int64)
    edge_of[child] = np.arange(len(edges))
    nodes = pd.DataFrame(
        {
            "user_id": arr,
            "inviter_id": arr.take(parent, allow_fill=True),
            "root": arr.take(root),
            "generation": depth.astype(np.int64),
            "direct_invitees": children.astype(np.int64),
            "descendants": (size - 1).astype(np.int64),
        }
    )
    # edge_of = -1 (not invited) picks the appended NaT
    invited = np.append(edges["invited_at"].to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT"))
    nodes["invited_at"] = invited[edge_of]
    for col in ("campaign_id", "share_channel"):
        if col in edges.columns:
            nodes[col] = edges[col].array.take(edge_of, allow_fill=True)
    return Forest(nodes, edges, clean.quarantined, clean.counts, parent, root, size, par, child)


# --------------------------------------------------------------------------------------------
# cascades and structural virality
# --------------------------------------------------------------------------------------------
def _tree_metrics(f: Forest) -> pd.DataFrame:
    """Per-root metrics for every tree of ``f`` (including one-node trees)."""
    parent, root, size = f.parent, f.root_idx, f.size
    n = parent.size
    gen = f.nodes["generation"].to_numpy()
    is_root = parent < 0
    roots = np.flatnonzero(is_root)
    tree_n = size[roots]
    nonroot = ~is_root
    s = size[nonroot].astype(np.float64)
    nt = size[root[nonroot]].astype(np.float64)
    wiener = np.bincount(root[nonroot], weights=s * (nt - s), minlength=n)[roots]
    with np.errstate(invalid="ignore", divide="ignore"):
        virality = np.where(tree_n > 1, 2 * wiener / (tree_n * (tree_n - 1.0)), np.nan)
    depth = np.zeros(n, dtype=np.int64)
    np.maximum.at(depth, root, gen)
    # max breadth: largest count of nodes sharing (root, generation)
    g1 = int(gen.max()) + 1 if n else 1
    key = root.astype(np.int64) * g1 + gen
    uk, cnt = np.unique(key, return_counts=True)
    breadth = np.zeros(n, dtype=np.int64)
    np.maximum.at(breadth, uk // g1, cnt)
    out = pd.DataFrame(
        {
            "root": f.nodes["user_id"].to_numpy()[roots],
            "size": tree_n.astype(np.int64),
            "depth": depth[roots],
            "max_breadth": breadth[roots],
            "structural_virality": virality,
        }
    )
    # duration: first to last accepted invitation inside the tree
    t = f.nodes["invited_at"].to_numpy(dtype="datetime64[ns]")
    has = ~np.isnat(t)
    ti = t.view(np.int64)
    big = np.iinfo(np.int64).max
    lo = np.full(n, big, dtype=np.int64)
    hi = np.full(n, -big, dtype=np.int64)
    np.minimum.at(lo, root[has], ti[has])
    np.maximum.at(hi, root[has], ti[has])
    nat = np.datetime64("NaT", "ns")
    lo_r, hi_r = lo[roots], hi[roots]
    out["start"] = np.where(lo_r == big, nat, lo_r.view("datetime64[ns]"))
    out["end"] = np.where(hi_r == -big, nat, hi_r.view("datetime64[ns]"))
    out["duration"] = out["end"] - out["start"]
    if "campaign_id" in f.nodes.columns:
        # campaign of the tree = campaign of its earliest accepted edge
        first = f.nodes.loc[has, ["root", "invited_at", "campaign_id"]].sort_values(
            "invited_at", kind="mergesort"
        )
        first = first.drop_duplicates("root").set_index("root")["campaign_id"]
        out["campaign_id"] = out["root"].map(first)
    return out


def cascades(referrals: pd.DataFrame | Forest) -> pd.DataFrame:
    """One row per referral tree (cascade with at least one accepted edge).

    Columns: ``root`` (seed user), ``size`` (users incl. the seed), ``depth`` (largest
    generation), ``max_breadth`` (most users in one generation), ``structural_virality``,
    ``duration`` (first to last invitation, Timedelta), plus ``start``, ``end`` and, when
    referrals carry it, ``campaign_id`` (of the tree's earliest edge). Sorted by size, then
    structural virality, descending.

    Structural virality (Goel et al. 2016) is the mean shortest-path distance over all
    unordered pairs of the n nodes; for a tree it equals 2W / (n(n−1)) with the Wiener index
    W = Σ_edges s·(n−s), s the size of the subtree below the edge — linear time.
    """
    f = referrals if isinstance(referrals, Forest) else forest(referrals)
    out = _tree_metrics(f)
    out = out[out["size"] > 1]
    # largest first; ties by root order in the forest (numeric keys only: no string sort)
    order = np.lexsort(
        (np.arange(len(out)), -out["structural_virality"].to_numpy(), -out["size"].to_numpy())
    )
    return out.iloc[order].reset_index(drop=True)


def structural_virality(edges: Iterable[tuple]) -> float:
    """Structural virality of ONE tree given as (parent, child) pairs: 2W / (n(n−1)).

    W = Σ_edges s·(n−s) is the Wiener index (sum of all pairwise distances), s the subtree size
    below the edge (Goel et al. 2016). A star with n nodes gives 2(n−1)/n, a path (n+1)/3.
    No edges (a single node) gives nan. Edges that do not form one rooted tree (a node with two
    parents, a cycle, several roots) raise :class:`AnalysisInputError`.
    """
    pairs = list(edges)
    if not pairs:
        return float("nan")
    if any(len(p) != 2 for p in pairs):
        raise AnalysisInputError("structural_virality: edges must be (parent, child) pairs")
    arr = np.asarray(pairs, dtype=object)
    codes, uniques = pd.factorize(np.concatenate([arr[:, 1].astype(str), arr[:, 0].astype(str)]))
    m, n = len(pairs), len(uniques)
    child, par = codes[:m], codes[m:]
    if np.any(child == par):
        raise AnalysisInputError("structural_virality: edge (parent, child) with parent == child")
    if np.bincount(child, minlength=n).max() > 1:
        raise AnalysisInputError("structural_virality: a child has two parents; not a tree")
    if m != n - 1:
        raise AnalysisInputError(
            f"structural_virality: {n} nodes and {m} edges do not form one tree (needs n−1)"
        )
    parent = np.full(n, -1, dtype=np.int64)
    parent[child] = par
    if referral_rules.cycle_nodes(parent).any():
        raise AnalysisInputError("structural_virality: the edges contain a cycle; not a tree")
    _, depth = _root_and_depth(parent)
    size = _subtree_sizes(parent, depth).astype(np.float64)
    s = size[child]
    return float(2 * np.sum(s * (n - s)) / (n * (n - 1.0)))


# --------------------------------------------------------------------------------------------
# K-factor, generations, amplification
# --------------------------------------------------------------------------------------------
def _as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _users_frame(users: pd.DataFrame) -> pd.DataFrame:
    _require(users, USER_COLUMNS, "users")
    u = users.copy()
    u["user_id"] = _ids(u["user_id"], "users", "user_id")
    if u["user_id"].duplicated().any():
        raise AnalysisInputError(
            f"users.user_id: {int(u['user_id'].duplicated().sum())} duplicate id(s); must be unique"
        )
    u["signup_at"] = _times(u["signup_at"], "users", "signup_at", allow_null=True)
    return u


def _default_as_of(u: pd.DataFrame, edges: pd.DataFrame) -> pd.Timestamp:
    cands = [u["signup_at"].max()]
    if len(edges):
        cands.append(edges["invited_at"].max())
    return pd.Timestamp(max(c for c in cands if pd.notna(c)))


def _eligible(u: pd.DataFrame, edges: pd.DataFrame, window_days: float, as_of) -> pd.DataFrame:
    """Users whose window is complete: signup_at ≤ as_of − window_days (as_of defaults to the
    latest signup or invitation seen; aware timestamps are converted to naive UTC)."""
    as_of = _default_as_of(u, edges) if as_of is None else pd.Timestamp(as_of)
    if as_of.tzinfo is not None:
        as_of = as_of.tz_convert("UTC").tz_localize(None)
    window = pd.Timedelta(days=float(window_days))
    return u.loc[u["signup_at"].notna() & (u["signup_at"] <= as_of - window)]


def k_factor(
    users: pd.DataFrame,
    referrals: pd.DataFrame | CleanReferrals | Forest,
    window_days: float = 30,
    by: str | Sequence[str] | None = None,
    as_of=None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """K-factor (viral coefficient) with a maturation window and right-censoring.

    For every *eligible* user u (signed up at least ``window_days`` before ``as_of``):
    x_u = accepted invitees whose ``invited_at`` lies in [signup_u, signup_u + window].
    K = mean(x_u), interval mean ± t·s/√n (from Σx, Σx², n; ``alpha`` two-sided). Users
    younger than the window are excluded, because their window is not complete.

    ``by``: columns of ``users`` (e.g. ``campaign_id``, ``channel``; the user's own attribute
    defines both numerator and denominator), ``signup_week`` (Monday of the signup week: the
    users' own column when they have one, e.g. the local weeks of
    ``growthlab.data.referral.users``, else the week of the naive ``signup_at``),
    ``generation`` (from the forest), or edge columns of ``referrals`` that users do not have
    (e.g. ``share_channel``): those split the invitees only, the denominator stays all
    eligible users of the group, so the per-channel K add up to the overall K.
    ``as_of`` defaults to the latest signup or invitation seen.

    Returns the ``by`` columns, ``users`` (eligible), ``invitees``, ``k``, ``k_low``, ``k_high``.
    Reference: the branching-process offspring mean (Harris 1963); K-factor as used in viral
    marketing (e.g. Skok 2009, "Lessons learned – viral marketing").
    """
    if window_days <= 0:
        raise AnalysisInputError(f"k_factor: window_days must be > 0, got {window_days}")
    u = _users_frame(users)
    if isinstance(referrals, Forest):
        f = referrals
    else:
        f = forest(referrals)
    edges = f.edges
    by_cols = _as_list(by)
    if "signup_week" in by_cols and "signup_week" not in u.columns:
        u["signup_week"] = u["signup_at"].dt.to_period("W-SUN").dt.start_time
    if "generation" in by_cols and "generation" not in u.columns:
        gen = f.nodes.set_index("user_id")["generation"]
        u["generation"] = u["user_id"].map(gen).fillna(0).astype(np.int64)
    user_by = [c for c in by_cols if c in u.columns]
    edge_by = [c for c in by_cols if c not in u.columns]
    bad = [c for c in edge_by if c not in edges.columns]
    if bad:
        raise AnalysisInputError(f"k_factor: by column(s) {bad} are in neither users nor referrals")

    elig = _eligible(u, edges, window_days, as_of)[["user_id", "signup_at", *user_by]]
    window = pd.Timedelta(days=float(window_days))

    e = edges[["inviter_id", "invited_at", *edge_by]].merge(
        elig, left_on="inviter_id", right_on="user_id", how="inner"
    )
    lag = e["invited_at"] - e["signup_at"]
    e = e.loc[(lag >= pd.Timedelta(0)) & (lag <= window)]

    # per (user, edge group) counts -> Σx and Σx² per group; zero users add nothing to either
    per_user = e.groupby(["user_id", *user_by, *edge_by], dropna=False, sort=False).size()
    per_user = per_user.rename("x").reset_index()
    per_user["x2"] = per_user["x"].astype(np.float64) ** 2
    if user_by:
        denom = elig.groupby(user_by, dropna=False).size().rename("users")
    else:
        denom = pd.Series([len(elig)], index=pd.Index([0], name="_all"), name="users")
        per_user["_all"] = 0
    keys = user_by or ["_all"]
    num = per_user.groupby([*keys, *edge_by], dropna=False)[["x", "x2"]].sum()
    if edge_by:
        out = num.reset_index().merge(denom.reset_index(), on=keys, how="left")
    else:
        out = denom.reset_index().merge(num.reset_index(), on=keys, how="left")
    out[["x", "x2"]] = out[["x", "x2"]].fillna(0)
    k, lo, hi = grouped_mean_interval(out["x"], out["x2"], out["users"], alpha=alpha)
    res = out[[*user_by, *edge_by]].copy() if by_cols else pd.DataFrame(index=out.index)
    res = res[by_cols] if by_cols else res
    res["users"] = out["users"].astype(np.int64)
    res["invitees"] = out["x"].astype(np.int64)
    res["k"] = k
    res["k_low"] = np.clip(lo, 0, None)  # counts are >= 0
    res["k_high"] = hi
    if by_cols:
        res = res.sort_values(by_cols, kind="mergesort")
    return res.reset_index(drop=True)


def k_decomposition(
    users: pd.DataFrame,
    referrals: pd.DataFrame | CleanReferrals | Forest,
    invites: pd.DataFrame | None,
    window_days: float = 30,
    by: str | Sequence[str] | None = None,
    as_of=None,
    alpha: float = 0.05,
) -> pd.DataFrame | None:
    """``K = i × c``: invitations sent per eligible user × invitee conversion per invitation.

    ``invites``: columns ``user_id`` and ``invites`` = invite_sent events of that user within
    ``window_days`` after signup (``growthlab.data.referral.invites_sent`` computes it in the
    engine). Over the eligible users of :func:`k_factor` (same window and censoring):
    i = Σ invites / users (t interval), c = Σ invitees / Σ invites (Wilson interval),
    k = i·c (equals K of :func:`k_factor`). ``by`` must be columns of ``users``.
    Returns None when there is no invitation to split K by (``invites`` None or all zero).
    """
    if invites is None or not len(invites):
        return None
    _require(invites, ("user_id", "invites"), "invites")
    if not invites["invites"].sum() > 0:
        return None
    by_cols = _as_list(by)
    f = referrals if isinstance(referrals, Forest) else forest(referrals)
    kf = k_factor(users, f, window_days, by=by_cols or None, as_of=as_of, alpha=alpha)
    u = _users_frame(users)
    elig = _eligible(u, f.edges, window_days, as_of)
    missing = [c for c in by_cols if c not in elig.columns]
    if missing:
        raise AnalysisInputError(f"k_decomposition: by column(s) {missing} not in users")
    inv = invites.assign(user_id=invites["user_id"].astype(str))
    inv = inv.groupby("user_id")["invites"].sum()
    x = elig["user_id"].map(inv).fillna(0).astype(np.float64)
    g = elig.assign(i=x, i2=x**2)
    agg = g.groupby(by_cols or (lambda _: 0), dropna=False)[["i", "i2"]].sum()
    agg["n"] = g.groupby(by_cols or (lambda _: 0), dropna=False).size()
    agg = agg.reset_index(drop=not by_cols)
    out = kf.merge(agg, on=by_cols, how="left") if by_cols else kf.join(agg)
    i, i_lo, i_hi = grouped_mean_interval(out["i"], out["i2"], out["n"], alpha=alpha)
    c_lo, c_hi = wilson_interval(np.minimum(out["invitees"], out["i"]), out["i"], alpha=alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(out["i"] > 0, out["invitees"] / out["i"], np.nan)
    res = out[[*by_cols, "users"]].copy()
    res["invites"] = out["i"].astype(np.int64)
    res["invitees"] = out["invitees"]
    res["i"], res["i_low"], res["i_high"] = i, i_lo, i_hi
    res["c"], res["c_low"], res["c_high"] = c, c_lo, c_hi
    res["k"] = i * c
    return res


def generations(f: Forest | pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Users per generation and the generation reproduction ratio R_g = n_{g+1} / n_g.

    Every user of generation g+1 has exactly one inviter in generation g, so R_g is the mean
    number of direct invitees over generation-g users; its interval is the t interval of that
    mean. No maturation window here (later generations are younger: use
    ``k_factor(..., by="generation")`` for the censored version).
    ``f`` is a :class:`Forest` or a subset of its ``nodes`` (e.g. the users of one campaign:
    whole trees, so that every invitee's inviter is in the subset).
    """
    nodes = f.nodes if isinstance(f, Forest) else f
    _require(nodes, ("generation", "direct_invitees"), "nodes")
    gen = nodes["generation"].to_numpy()
    ch = nodes["direct_invitees"].to_numpy().astype(np.float64)
    g1 = int(gen.max()) + 1 if len(gen) else 0
    n_g = np.bincount(gen, minlength=g1)
    s1 = np.bincount(gen, weights=ch, minlength=g1)
    s2 = np.bincount(gen, weights=ch**2, minlength=g1)
    r, lo, hi = grouped_mean_interval(s1, s2, n_g, alpha=alpha)
    nxt = np.append(n_g[1:], 0)
    return pd.DataFrame(
        {
            "generation": np.arange(g1),
            "users": n_g,
            "next_users": nxt,
            "r": r,
            "r_low": np.clip(lo, 0, None),
            "r_high": hi,
        }
    )


def amplification(nodes: pd.DataFrame, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Amplification factor = all users in the cascades / seed users (generation 0).

    ``nodes``: :attr:`Forest.nodes` (optionally with ``by`` columns merged in). Built from
    referrals only, the seeds are the cascade roots; built with ``users``, every generation-0
    user is a seed (also those whose invitation brought nobody).
    Returns the ``by`` columns, ``seeds``, ``users``, ``amplification``.
    """
    _require(nodes, ("generation",), "nodes")
    by_cols = _as_list(by)
    d = nodes.assign(_seed=(nodes["generation"] == 0).astype(np.int64), _one=1)
    if by_cols:
        agg = d.groupby(by_cols, dropna=False)[["_seed", "_one"]].sum().reset_index()
    else:
        agg = pd.DataFrame({"_seed": [d["_seed"].sum()], "_one": [d["_one"].sum()]})
    agg = agg.rename(columns={"_seed": "seeds", "_one": "users"})
    with np.errstate(invalid="ignore", divide="ignore"):
        agg["amplification"] = np.where(agg["seeds"] > 0, agg["users"] / agg["seeds"], np.nan)
    return agg


# --------------------------------------------------------------------------------------------
# cycle time, spreaders, concentration
# --------------------------------------------------------------------------------------------
def cycle_time(users: pd.DataFrame, referrals: pd.DataFrame | CleanReferrals | Forest):
    """Referral cycle time per inviter: join → first accepted invitation, in days.

    Returns ``user_id``, ``signup_at``, ``first_invite_at``, ``days`` for every user with a
    signup time and at least one accepted invitee (invitations before signup are ignored).
    """
    u = _users_frame(users)
    edges = (
        referrals.edges
        if isinstance(referrals, Forest | CleanReferrals)
        else clean_referrals(referrals).edges
    )
    first = edges.groupby("inviter_id")["invited_at"].min().rename("first_invite_at")
    out = u[["user_id", "signup_at"]].merge(first, left_on="user_id", right_index=True)
    out["days"] = (out["first_invite_at"] - out["signup_at"]) / pd.Timedelta(days=1)
    out = out.loc[out["days"] >= 0]
    return out.sort_values("days", kind="mergesort").reset_index(drop=True)


def spreaders(f: Forest, top: int | None = None) -> pd.DataFrame:
    """Users ranked by direct invitees, then by descendants (whole subtree below them).

    Columns: ``user_id``, ``direct_invitees``, ``descendants``, ``generation``, ``root``;
    only users with at least one accepted invitee; ``top`` keeps the first rows.
    """
    n = f.nodes
    s = n.loc[n["direct_invitees"] > 0, ["user_id", "direct_invitees", "descendants"]]
    s = s.join(n.loc[s.index, ["generation", "root"]])
    order = np.lexsort((-s["descendants"].to_numpy(), -s["direct_invitees"].to_numpy()))
    s = s.iloc[order].reset_index(drop=True)
    return s.head(top) if top is not None else s


def concentration(values, fractions: Sequence[float] = (0.01, 0.10)) -> dict[str, float]:
    """Concentration of invitees over spreaders: top-share for each fraction and the Gini.

    top_share(f) = Σ of the largest ⌈f·n⌉ values / Σ values; Gini (stats.gini). Returned keys:
    ``n``, ``total``, ``top_1pct``/``top_10pct`` (for the default fractions), ``gini``.
    """
    v = np.asarray(values, dtype=float)
    out: dict[str, float] = {"n": int(v.size), "total": float(v.sum())}
    for fr in fractions:
        out[f"top_{round(fr * 100):g}pct"] = top_share(v, fr)
    out["gini"] = gini(v)
    return out


def concentration_curve(values) -> pd.DataFrame:
    """Cumulative share of the total held by the top share of units (values sorted desc)."""
    v = np.sort(np.asarray(values, dtype=float))[::-1]
    n = v.size
    tot = v.sum()
    return pd.DataFrame(
        {
            "share_of_units": np.arange(1, n + 1) / max(n, 1),
            "share_of_total": np.cumsum(v) / tot if tot > 0 else np.zeros(n),
        }
    )


# --------------------------------------------------------------------------------------------
# the breakdowns the referral page shows (02_referral), each a frame or a small dataclass
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ForestSummary:
    """Size of the referral forest and what the graph rules excluded.

    ``users``: rows of ``users``; ``referred_users``: forest nodes with generation > 0 (an
    accepted inviter); ``cascades``: trees with at least one accepted invitation;
    ``max_generation``: deepest generation; ``excluded``: rows per rule of
    :data:`QUARANTINE_RULES`, quarantined at load time plus excluded by :func:`clean_referrals`.
    """

    users: int
    referred_users: int
    cascades: int
    max_generation: int
    excluded: dict[str, int]

    @property
    def referred_share(self) -> float:
        """referred_users / users (nan without users)."""
        return self.referred_users / self.users if self.users else float("nan")


def forest_summary(
    f: Forest, users: pd.DataFrame, quarantine: pd.DataFrame | None = None
) -> ForestSummary:
    """:class:`ForestSummary` of ``f``; ``quarantine``: the loader's quarantine counts (columns
    ``table, rule, rows``, e.g. ``Dataset.quality.quarantine``), of which the ``referrals``
    rows are added to the forest's own counts."""
    excluded = dict(f.counts)
    if quarantine is not None and len(quarantine):
        q = quarantine.loc[quarantine["table"] == "referrals"].groupby("rule")["rows"].sum()
        for rule in QUARANTINE_RULES:
            excluded[rule] = int(excluded.get(rule, 0) + q.get(rule, 0))
    gen = f.nodes["generation"]
    trees = int(np.count_nonzero((f.parent < 0) & (f.size > 1)))
    return ForestSummary(len(users), int((gen > 0).sum()), trees, int(gen.max()), excluded)


def _with_user_campaign(users: pd.DataFrame) -> pd.DataFrame | None:
    """Users with a campaign_id (the campaign that acquired them), or None when there are none."""
    if "campaign_id" not in users.columns or not users["campaign_id"].notna().any():
        return None
    return users.loc[users["campaign_id"].notna()]


def k_by_campaign(
    users: pd.DataFrame,
    f: Forest,
    window_days: float = 30,
    as_of=None,
    min_users: int = 1,
) -> pd.DataFrame | None:
    """K per campaign (``users.campaign_id``, the campaign that acquired the user) over the
    campaigns with at least ``min_users`` eligible users, largest K first.

    Columns of :func:`k_factor` plus ``verdict`` = ``stats.interval_verdict(k_low, k_high, 1)``:
    ``above`` (self-sustaining), ``below`` (each generation smaller), ``includes``.
    None when users carry no campaign.
    """
    camp = _with_user_campaign(users)
    if camp is None:
        return None
    k = k_factor(camp, f, window_days=window_days, by="campaign_id", as_of=as_of)
    k = k.loc[k["users"] >= min_users].sort_values("k", ascending=False, kind="mergesort")
    verdicts = [
        interval_verdict(lo, hi, 1.0) for lo, hi in zip(k["k_low"], k["k_high"], strict=True)
    ]
    return k.assign(verdict=verdicts).reset_index(drop=True)


def k_by_share_channel(
    users: pd.DataFrame, f: Forest, window_days: float = 30, as_of=None
) -> pd.DataFrame | None:
    """K split by the channel each accepted invitation travelled through (``share_channel``;
    the denominator is every eligible user, so the channels add up to the overall K), largest
    K first. None when referrals have no share_channel."""
    if "share_channel" not in f.edges.columns:
        return None
    k = k_factor(users, f, window_days=window_days, by="share_channel", as_of=as_of)
    return k.sort_values("k", ascending=False, kind="mergesort").reset_index(drop=True)


def k_by_signup_week(
    users: pd.DataFrame, f: Forest, window_days: float = 30, as_of=None, min_users: int = 1
) -> pd.DataFrame:
    """K per signup week (Monday of the week, ``signup_week``) with at least ``min_users``
    eligible users, in time order."""
    k = k_factor(users, f, window_days=window_days, by="signup_week", as_of=as_of)
    return k.loc[k["users"] >= min_users].reset_index(drop=True)


@dataclass(frozen=True)
class GenerationSummary:
    """Generations of the campaigns' users (all users when none carries a campaign).

    ``generations``: :func:`generations` (generations with users); ``k``: K per generation
    (censored, groups with at least ``min_users`` eligible users); ``amplification``: users of
    the cascades / seed users; ``by_campaign``: :func:`amplification` per campaign or None.
    """

    generations: pd.DataFrame
    k: pd.DataFrame
    amplification: float
    by_campaign: pd.DataFrame | None


def generation_summary(
    f: Forest,
    users: pd.DataFrame,
    window_days: float = 30,
    as_of=None,
    min_users: int = 1,
) -> GenerationSummary:
    """:class:`GenerationSummary`; the users' own ``campaign_id`` selects the campaign users
    (whole trees: a campaign's invitees carry its id), so R_g and amplification describe the
    campaigns rather than the organic base."""
    camp = _with_user_campaign(users)
    nodes = f.nodes.drop(columns=["campaign_id"], errors="ignore")
    if camp is not None:
        nodes = nodes.merge(camp[["user_id", "campaign_id"]], on="user_id", how="inner")
        chosen = camp
    else:
        chosen = users
    gen = generations(nodes)
    k = k_factor(chosen, f, window_days=window_days, by="generation", as_of=as_of)
    amp = float(amplification(nodes)["amplification"].iloc[0])
    by_camp = amplification(nodes, "campaign_id") if camp is not None else None
    return GenerationSummary(
        gen.loc[gen["users"] > 0].reset_index(drop=True),
        k.loc[k["users"] >= min_users].reset_index(drop=True),
        amp,
        by_camp,
    )


def cascade_stats(cas: pd.DataFrame) -> pd.DataFrame:
    """Distribution of the cascade measures of :func:`cascades`: one row per ``measure``
    (size, depth, max_breadth, structural_virality) with mean, median, p90, p99, max."""
    cols = ["size", "depth", "max_breadth", "structural_virality"]
    d = cas[cols].astype(float)
    return pd.DataFrame(
        {
            "measure": cols,
            "mean": d.mean().to_numpy(),
            "median": d.median().to_numpy(),
            "p90": d.quantile(0.9).to_numpy(),
            "p99": d.quantile(0.99).to_numpy(),
            "max": d.max().to_numpy(),
        }
    )


def cycle_time_summary(ct: pd.DataFrame, within_days: float = 7) -> dict[str, float]:
    """From :func:`cycle_time`: ``inviters``, ``median_days`` and ``within_share`` (share of
    inviters whose first successful invitation came within ``within_days`` of signup)."""
    d = ct["days"].to_numpy(dtype=float)
    return {
        "inviters": int(d.size),
        "median_days": float(np.median(d)) if d.size else float("nan"),
        "within_share": float((d <= within_days).mean()) if d.size else float("nan"),
    }


__all__ = [
    "QUARANTINE_RULES",
    "CleanReferrals",
    "Forest",
    "ForestSummary",
    "GenerationSummary",
    "amplification",
    "cascade_stats",
    "cascades",
    "clean_referrals",
    "concentration",
    "concentration_curve",
    "cycle_time",
    "cycle_time_summary",
    "forest",
    "forest_summary",
    "generation_summary",
    "generations",
    "k_by_campaign",
    "k_by_share_channel",
    "k_by_signup_week",
    "k_decomposition",
    "k_factor",
    "spreaders",
    "structural_virality",
]
