"""User segments: RFM scores and named segments, value tiers, lifecycle stages, clustering.

SPEC §4.3. Pure functions on the small per-user frames built in the engine by
``growthlab.data.features`` (the notebook calls it and passes the frames in; this module
imports nothing from ``growthlab.data``, ``growthlab.plots`` or ``growthlab.report``). No I/O,
no plotting, no printing; all thresholds are parameters. Display words (segment, tier, stage and
feature names) come from :mod:`growthlab.i18n`.

References
----------
- Hughes, A. M. (1994). *Strategic Database Marketing* (RFM quintile scoring).
- Rousseeuw, P. J. (1987). Silhouettes. J. Comput. Appl. Math. 20, 53-65.
- Hubert, L. & Arabie, P. (1985). Comparing partitions. J. Classification 2, 193-218 (ARI).
- Arthur, D. & Vassilvitskii, S. (2007). k-means++. SODA.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from growthlab import i18n
from growthlab.errors import AnalysisInputError, require_columns
from growthlab.privacy import suppress_small_groups

if TYPE_CHECKING:
    from sklearn.cluster import KMeans

# scikit-learn (about half a second to import) is imported by the functions that cluster: the
# referral and value pages import this module for its labels and tables only.

__all__ = [
    "RFM_SEGMENTS",
    "TIERS",
    "STAGES",
    "quantile_scores",
    "rfm_scores",
    "value_tiers",
    "lifecycle_stages",
    "idle_days",
    "PreparedFeatures",
    "prepare_features",
    "default_cluster_columns",
    "select_k",
    "silhouette",
    "ClusterResult",
    "cluster",
    "stability",
    "personas",
    "pca_view",
    "feature_label",
    "rfm_grid",
    "group_summary",
    "profile_z",
    "group_label",
    "RfmSummary",
    "rfm_summary",
    "segment_table",
    "LifecycleSummary",
    "lifecycle_summary",
    "at_risk_by_tier",
    "in_stages",
    "valuable_at_risk",
    "VALUABLE_TIERS",
    "cluster_users",
    "persona_table",
    "buyer_groups",
    "SEGMENT_TABLE_FORMATS",
    "SUPPRESSED",
]

#: Named RFM segments on the recency × frequency score grid (display names: i18n ``rfm.<key>``).
RFM_SEGMENTS: tuple[str, ...] = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
)
#: Value tiers, best first (display names: i18n ``tier.<key>``).
TIERS: tuple[str, ...] = ("high", "medium", "potential", "low")
#: The value tiers whose buyers at risk are worth winning back (finding and list of buyers at
#: risk, metric ``valuable_buyers_at_risk``).
VALUABLE_TIERS: tuple[str, ...] = ("high", "medium")
#: Lifecycle stages in the order they are assigned (display names: i18n ``lifecycle.<key>``).
STAGES: tuple[str, ...] = ("new", "returned", "active", "silent", "at_risk", "churned")
#: Label of the pooled row of :func:`growthlab.privacy.suppress_small_groups`.
SUPPRESSED = "(suppressed)"
#: Group kinds of :func:`group_label` and their i18n prefixes.
_GROUP_PREFIX = {
    "rfm": "rfm",
    "tier": "tier",
    "stage": "lifecycle",
    "referral": "group",
    "channel": "channel",
}

# R score (rows 1..5) × F score (cols 1..5) -> segment key; the widely used RFM grid.
_GRID = np.array(
    [
        ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
        ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
        ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
        ["promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"],
        ["new_customers", "potential_loyalist", "potential_loyalist", "champions", "champions"],
    ],
    dtype=object,
)


def group_label(key, lang: str = "en", kind: str | None = None) -> str:
    """Display name of a group key in ``lang``: an RFM segment (``kind="rfm"``), value tier
    (``"tier"``), lifecycle stage (``"stage"``), ``"referral"`` (referred / organic) or
    ``"channel"`` key, from :mod:`growthlab.i18n`. Without ``kind`` the RFM segments, tiers and
    stages are tried in that order. The pooled small-group row gets the i18n "suppressed" text;
    unknown keys are returned unchanged (e.g. channel names from the data).
    """
    key = str(key)
    if key == SUPPRESSED:
        return i18n.t("ui.suppressed", lang)
    kinds = [kind] if kind is not None else ["rfm", "tier", "stage"]
    for k in kinds:
        name = f"{_GROUP_PREFIX[k]}.{key}"
        if name in i18n.TEXT:
            return i18n.t(name, lang)
    return key


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    require_columns(frame, list(columns), name, kind=pd.DataFrame)


# --------------------------------------------------------------------------------------------
# RFM
# --------------------------------------------------------------------------------------------
def quantile_scores(values, bins: int = 5, higher_is_better: bool = True) -> np.ndarray:
    """Quantile scores 1..``bins`` with ties sharing one score.

    score = 1 + ⌊bins · F(v⁻)⌋, where F(v⁻) is the share of units strictly worse than v
    (competition "min" rank − 1, over n). Tied values always get the same score; with distinct
    values every score holds n/bins units (±1). When one value covers more than a quantile (e.g.
    most buyers with a single order) the scores above it are skipped rather than splitting ties.
    """
    v = pd.Series(np.asarray(values, dtype=float))
    if v.isna().any():
        raise AnalysisInputError("quantile_scores: values must not be missing")
    if bins < 2:
        raise AnalysisInputError("quantile_scores: bins must be >= 2")
    n = len(v)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rank = (v if higher_is_better else -v).rank(method="min").to_numpy()
    return (1 + np.floor(bins * (rank - 1) / n)).astype(np.int64)


def rfm_scores(rfm: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """R, F, M quantile scores and the named RFM segment for each purchasing user.

    Input columns: ``recency_days`` (lower is better), ``frequency`` and ``monetary`` (higher
    is better), e.g. from :func:`growthlab.data.features.rfm_inputs`. Adds ``r_score``,
    ``f_score``, ``m_score`` (1..bins, see :func:`quantile_scores`), ``rfm`` (e.g. "545"),
    ``rfm_total`` and ``segment`` (key of :data:`RFM_SEGMENTS`, from the R × F grid with scores
    rescaled to 1..5). Reference: Hughes (1994).
    """
    _require(rfm, ["recency_days", "frequency", "monetary"], "rfm")
    for c in ("recency_days", "frequency", "monetary"):
        v = pd.to_numeric(rfm[c], errors="coerce")
        if v.isna().any():
            raise AnalysisInputError(f"rfm.{c}: missing or non-numeric values")
        if (v < 0).any():
            raise AnalysisInputError(f"rfm.{c}: must be >= 0")
    out = rfm.copy()
    out["r_score"] = quantile_scores(rfm["recency_days"], bins, higher_is_better=False)
    out["f_score"] = quantile_scores(rfm["frequency"], bins)
    out["m_score"] = quantile_scores(rfm["monetary"], bins)
    code = out["r_score"].to_numpy() * 10_000 + out["f_score"].to_numpy() * 100 + out["m_score"]
    codes, uniq = pd.factorize(code.to_numpy())  # label each distinct (R, F, M) once
    labels = np.array([f"{c // 10_000}{c // 100 % 100}{c % 100}" for c in uniq], dtype=object)
    out["rfm"] = labels[codes] if len(out) else pd.Series(dtype=object)
    out["rfm_total"] = out["r_score"] + out["f_score"] + out["m_score"]
    r5 = np.ceil(out["r_score"].to_numpy() * 5 / bins).astype(int)
    f5 = np.ceil(out["f_score"].to_numpy() * 5 / bins).astype(int)
    out["segment"] = _GRID[r5 - 1, f5 - 1] if len(out) else pd.Series(dtype=object)
    return out


def value_tiers(
    scored: pd.DataFrame,
    high_score: int = 4,
    medium_score: int = 3,
    potential_recency_score: int = 4,
) -> pd.Series:
    """The four value tiers from RFM scores (thresholds are parameters).

    - ``high``: m_score ≥ high_score and f_score ≥ high_score;
    - ``medium``: otherwise m_score ≥ medium_score;
    - ``potential``: otherwise r_score ≥ potential_recency_score (recent but not yet valuable);
    - ``low``: everyone else.
    """
    _require(scored, ["r_score", "f_score", "m_score"], "scored")
    r, f, m = (scored[c].to_numpy() for c in ("r_score", "f_score", "m_score"))
    tier = np.select(
        [(m >= high_score) & (f >= high_score), m >= medium_score, r >= potential_recency_score],
        ["high", "medium", "potential"],
        default="low",
    )
    return pd.Series(pd.Categorical(tier, categories=list(TIERS)), index=scored.index, name="tier")


def idle_days(last_active: pd.Series, as_of) -> np.ndarray:
    """Days without activity: (as_of − last_active) / 1 day (NaN when never active), the idle
    time :func:`lifecycle_stages` compares with its thresholds."""
    last = pd.to_datetime(pd.Series(last_active))
    return ((pd.Timestamp(as_of) - last) / pd.Timedelta(days=1)).to_numpy(dtype=float)


def lifecycle_stages(
    activity: pd.DataFrame,
    as_of,
    new_days: float = 30,
    active_days: float = 30,
    silent_days: float = 60,
    churn_days: float = 90,
) -> pd.Series:
    """Lifecycle stage per user from signup and activity days (thresholds in days).

    With age = as_of − signup_at, idle = as_of − last_active and gap = last_active −
    previous_active, the first rule that holds wins:

    - ``new``: age < new_days;
    - ``returned``: idle ≤ active_days and gap ≥ churn_days (came back after churning);
    - ``active``: idle ≤ active_days;  ``silent``: idle ≤ silent_days;
    - ``at_risk``: idle ≤ churn_days;  ``churned``: otherwise (or never active).

    Input: :func:`growthlab.data.features.activity` (signup_at, last_active, previous_active),
    with ``as_of`` in the same frame: that activity is in local wall-clock time with local
    calendar days, so ``as_of`` is the local instant (``ds.local(ds.as_of)``); for an as_of
    at local midnight (a bare-date as_of) idle is a whole number of days (1 = active on the
    day before).
    """
    _require(activity, ["signup_at", "last_active", "previous_active"], "activity")
    if not (0 < active_days <= silent_days <= churn_days):
        raise AnalysisInputError(
            "lifecycle thresholds: need 0 < active_days <= silent_days <= churn_days"
        )
    ref = pd.Timestamp(as_of)
    day = pd.Timedelta(days=1)
    signup = pd.to_datetime(activity["signup_at"])
    last = pd.to_datetime(activity["last_active"])
    prev = pd.to_datetime(activity["previous_active"])
    age = ((ref - signup) / day).to_numpy(dtype=float)
    idle = idle_days(last, ref)
    gap = ((last - prev) / day).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        stage = np.select(
            [
                age < new_days,
                (idle <= active_days) & (gap >= churn_days),
                idle <= active_days,
                idle <= silent_days,
                idle <= churn_days,
            ],
            ["new", "returned", "active", "silent", "at_risk"],
            default="churned",
        )
    return pd.Series(
        pd.Categorical(stage, categories=list(STAGES)), index=activity.index, name="stage"
    )


# --------------------------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PreparedFeatures:
    """Standardised feature matrix: z = (f(x) − mean) / std with f = log1p for skewed columns."""

    matrix: np.ndarray
    index: pd.Index
    columns: list[str]
    logged: list[str]
    mean: np.ndarray
    std: np.ndarray


def default_cluster_columns(features: pd.DataFrame, system_events: Sequence[str]) -> list[str]:
    """Default clustering columns: engagement event counts (``ev_<type>`` for types not in
    ``system_events``, e.g. ``growthlab.data.features.SYSTEM_EVENTS``) and the paid ``orders``
    count.

    Left out on purpose (they stay in the persona profile): totals that duplicate the per-type
    counts (events, active_days), per-user channel shares (very noisy for users with few
    events), and zero-inflated heavy-tailed amounts (revenue, invitees) whose long tail splits
    users along value rather than behaviour — value has its own view (RFM tiers, LTV).
    """
    skip = {f"ev_{e}" for e in system_events}
    cols = [c for c in features.columns if c.startswith("ev_") and c not in skip]
    if "orders" in features.columns:
        cols.append("orders")
    if not cols:
        raise AnalysisInputError("features: no engagement event or order columns to cluster on")
    return cols


def prepare_features(
    features: pd.DataFrame,
    columns: Sequence[str] | None = None,
    log: str | Sequence[str] = "auto",
    skew_threshold: float = 1.0,
) -> PreparedFeatures:
    """Log-transform skewed non-negative columns, drop constant ones, standardise.

    ``log="auto"`` applies log1p to non-negative columns with sample skewness > ``skew_threshold``;
    a list names the columns explicitly. Each column is then z-scored.
    """
    if not isinstance(features, pd.DataFrame) or features.empty:
        raise AnalysisInputError("features: need a non-empty DataFrame")
    cols = list(columns) if columns is not None else list(features.columns)
    missing = [c for c in cols if c not in features.columns]
    if missing:
        raise AnalysisInputError(f"features: missing column(s) {missing}")
    df = features[cols].apply(pd.to_numeric, errors="coerce")
    bad = [c for c in cols if not np.isfinite(df[c].to_numpy(dtype=float)).all()]
    if bad:
        raise AnalysisInputError(f"features: missing or non-finite values in {bad}")
    if isinstance(log, str):
        if log != "auto":
            raise AnalysisInputError("log must be 'auto' or a list of column names")
        skew = df.skew()
        logged = [c for c in cols if df[c].min() >= 0 and skew[c] > skew_threshold]
    else:
        logged = list(log)
    arr = df.to_numpy(dtype=float).copy()
    for c in logged:
        j = cols.index(c)
        if (arr[:, j] < 0).any():
            raise AnalysisInputError(f"features.{c}: log transform needs values >= 0")
        arr[:, j] = np.log1p(arr[:, j])
    mean = arr.mean(axis=0)
    std = arr.std(axis=0)
    keep = std > 1e-12
    if not keep.any():
        raise AnalysisInputError("features: every column is constant")
    z = (arr[:, keep] - mean[keep]) / std[keep]
    kept = [c for c, k in zip(cols, keep, strict=True) if k]
    return PreparedFeatures(
        matrix=z,
        index=features.index,
        columns=kept,
        logged=[c for c in logged if c in kept],
        mean=mean[keep],
        std=std[keep],
    )


def silhouette(X: np.ndarray, labels: np.ndarray, chunk: int = 1024) -> float:
    """Mean silhouette width with Euclidean distances (Rousseeuw 1987), vectorised.

    s(i) = (b_i − a_i) / max(a_i, b_i), a_i = mean distance from i to the other members of its
    cluster, b_i = smallest mean distance from i to another cluster; s(i) = 0 for singletons.
    Distances are computed in row chunks and reduced per cluster with one matrix product
    (D_chunk @ one-hot), so memory is O(chunk · n).
    """
    X = np.asarray(X, dtype=float)
    lab = pd.factorize(np.asarray(labels))[0]
    k = lab.max() + 1 if lab.size else 0
    if k < 2:
        return float("nan")
    onehot = np.zeros((lab.size, k))
    onehot[np.arange(lab.size), lab] = 1.0
    counts = onehot.sum(axis=0)
    sq = np.einsum("ij,ij->i", X, X)
    s = np.empty(lab.size)
    for start in range(0, lab.size, chunk):  # chunks of rows, not a loop over users
        sl = slice(start, start + chunk)
        d2 = sq[sl, None] + sq[None, :] - 2.0 * X[sl] @ X.T
        sums = np.sqrt(np.maximum(d2, 0.0)) @ onehot
        own = lab[sl]
        rows = np.arange(sums.shape[0])
        n_own = counts[own]
        with np.errstate(invalid="ignore", divide="ignore"):
            a = sums[rows, own] / (n_own - 1)
            means = sums / counts
        means[rows, own] = np.inf
        b = means.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            si = (b - a) / np.maximum(a, b)
        s[sl] = np.where(n_own > 1, np.nan_to_num(si), 0.0)
    return float(s.mean())


def _sample(n: int, size: int | None, rng: np.random.Generator) -> np.ndarray:
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size, replace=False))


def select_k(
    X: np.ndarray,
    k_range: Iterable[int] = range(2, 9),
    silhouette_sample: int = 5000,
    fit_sample: int | None = 100_000,
    n_init: int = 4,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[int, KMeans]]:
    """K-Means for each k; silhouette on a random sample of at most ``silhouette_sample`` users.

    For large n the models are fitted on a random ``fit_sample`` of the rows (k-means++ with
    ``n_init`` restarts). Silhouette s(i) = (b − a) / max(a, b) with a the mean distance to the
    own cluster and b to the nearest other cluster, averaged (Rousseeuw 1987).
    Returns (table k, silhouette, inertia; the fitted models by k).
    """
    from sklearn.cluster import KMeans

    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    ks = sorted({int(k) for k in k_range})
    if not ks or ks[0] < 2:
        raise AnalysisInputError("k_range: every k must be >= 2")
    if n <= ks[-1]:
        raise AnalysisInputError(f"features: need more than {ks[-1]} users to try k={ks[-1]}")
    rng = np.random.default_rng(seed)
    fit_idx = _sample(n, fit_sample, rng)
    sil_idx = fit_idx[_sample(fit_idx.size, silhouette_sample, rng)]
    Xf, Xs = X[fit_idx], X[sil_idx]
    rows, models = [], {}
    for k in ks:
        km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(Xf)
        lab = km.predict(Xs)
        sil = silhouette(Xs, lab)
        rows.append({"k": k, "silhouette": float(sil), "inertia": float(km.inertia_)})
        models[k] = km
    return pd.DataFrame(rows), models


@dataclass(frozen=True)
class ClusterResult:
    """K-Means segmentation: chosen ``k``, ``labels`` (Series by user), ``scores`` per k,
    ``centers`` (standardised space), ``stability`` / ``stability_min`` / ``stability_max``
    (mean, lowest and highest ARI between the reference run and the re-runs with other seeds;
    nan without re-runs), ``prepared``, ``silhouette`` of the chosen k and the number of
    sampled users it was computed on (``silhouette_users``)."""

    k: int
    labels: pd.Series
    scores: pd.DataFrame
    centers: np.ndarray
    stability: float
    stability_min: float
    prepared: PreparedFeatures
    silhouette: float = float("nan")
    stability_max: float = float("nan")
    silhouette_users: int = 0
    extra: dict = field(default_factory=dict)


def stability(
    X: np.ndarray,
    k: int,
    seeds: Sequence[int] = (1, 2, 3, 4, 5),
    sample_size: int | None = 20_000,
    n_init: int = 1,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Stability of K-Means: mean, minimum and maximum adjusted Rand index between the
    labelling of a reference run and runs with other seeds, on a random sample of users.

    ARI = (RI − E[RI]) / (max RI − E[RI]) (Hubert & Arabie 1985); 1 = identical partitions.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    X = np.asarray(X, dtype=float)
    idx = _sample(X.shape[0], sample_size, np.random.default_rng(seed))
    Xs = X[idx]
    ref = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(Xs)
    aris = [
        adjusted_rand_score(
            ref, KMeans(n_clusters=k, n_init=n_init, random_state=s).fit_predict(Xs)
        )
        for s in seeds
    ]
    return float(np.mean(aris)), float(np.min(aris)), float(np.max(aris))


def cluster(
    features: pd.DataFrame | PreparedFeatures,
    k: int | None = None,
    k_range: Iterable[int] = range(2, 9),
    silhouette_sample: int = 5000,
    fit_sample: int | None = 100_000,
    n_init: int = 4,
    stability_seeds: Sequence[int] = (1, 2, 3),
    seed: int = 0,
    n_threads: int | None = None,
) -> ClusterResult:
    """Cluster users with K-Means on prepared features, choosing k by sampled silhouette.

    Steps: :func:`prepare_features` (log1p skewed, standardise) → :func:`select_k` over
    ``k_range`` (unless ``k`` is given) → k = argmax silhouette → one K-Means pass over *all*
    users initialised at the sample centres → stability ARI across ``stability_seeds``.
    ``n_threads`` caps the BLAS/OpenMP threads (1 is fastest on a busy machine).
    Reference: Arthur & Vassilvitskii (2007); Rousseeuw (1987).
    """
    # scikit-learn loads its OpenMP runtime on import; threadpoolctl limits only the libraries
    # already loaded when the limit is entered, so import it first
    import sklearn.cluster  # noqa: F401

    with threadpool_limits(limits=n_threads):
        return _cluster(features, k, k_range, silhouette_sample, fit_sample, n_init,
                        stability_seeds, seed)  # fmt: skip


def _cluster(features, k, k_range, silhouette_sample, fit_sample, n_init, stability_seeds, seed):
    from sklearn.cluster import KMeans

    prep = features if isinstance(features, PreparedFeatures) else prepare_features(features)
    X = prep.matrix
    ks = [k] if k is not None else list(k_range)
    scores, models = select_k(X, ks, silhouette_sample, fit_sample, n_init, seed)
    best = scores.loc[scores["silhouette"].idxmax()] if k is None else scores.iloc[0]
    kk = int(best["k"])
    model = models[kk]
    if fit_sample is not None and X.shape[0] > fit_sample:
        model = KMeans(n_clusters=kk, init=model.cluster_centers_, n_init=1, max_iter=100).fit(X)
    labels = model.predict(X)
    # relabel clusters by size (0 = largest) for stable presentation
    order = np.argsort(-np.bincount(labels, minlength=kk), kind="stable")
    remap = np.empty(kk, dtype=np.int64)
    remap[order] = np.arange(kk)
    labels = remap[labels]
    centers = model.cluster_centers_[order]
    if stability_seeds:
        stab, stab_min, stab_max = stability(
            X, kk, stability_seeds, min(fit_sample or 20_000, 20_000), 1, seed
        )
    else:
        stab = stab_min = stab_max = float("nan")
    return ClusterResult(
        k=kk,
        labels=pd.Series(labels, index=prep.index, name="cluster"),
        scores=scores,
        centers=centers,
        stability=stab,
        stability_min=stab_min,
        prepared=prep,
        silhouette=float(best["silhouette"]),
        stability_max=stab_max,
        silhouette_users=min(silhouette_sample, min(fit_sample or X.shape[0], X.shape[0])),
    )


def feature_label(column: str, lang: str = "en") -> str:
    """Readable label of a feature column from :mod:`growthlab.i18n`: ``feature.<column>``, or
    ``ev_<type>`` -> "<type> events" (the type's funnel-step name when i18n has one),
    ``ch_<channel>`` -> "<channel> share of events"."""
    if f"feature.{column}" in i18n.TEXT:
        return i18n.t(f"feature.{column}", lang)
    name = column[3:]
    if column.startswith("ev_"):
        shown = i18n.maybe(f"step.{name}", lang, name.replace("_", " "))
        return i18n.t("feature.event_count", lang, name=shown)
    if column.startswith("ch_"):
        shown = i18n.maybe(f"channel.{name}", lang, name.replace("_", " "))
        return i18n.t("feature.channel_share", lang, name=shown)
    return column.replace("_", " ")


def _persona_text(row: pd.Series, lang: str, top: int, threshold: float) -> str:
    """One cluster's description from its mean standardised features (see :func:`personas`)."""
    ups = row[row > threshold].sort_values(ascending=False).head(top)
    downs = row[row < -threshold].sort_values().head(top)
    up = [i18n.t("persona.high", lang, feature=feature_label(f, lang), z=f"{v:+.1f}")
          for f, v in ups.items()]  # fmt: skip
    dn = [i18n.t("persona.low", lang, feature=feature_label(f, lang), z=f"{v:+.1f}")
          for f, v in downs.items()]  # fmt: skip
    if not up and not dn:
        return i18n.t("persona.average", lang)
    join = i18n.t("persona.join", lang)
    text = i18n.t("persona.sep", lang).join(join.join(p) for p in (up, dn) if p)
    return text[0].upper() + text[1:]


def personas(
    result: ClusterResult,
    features: pd.DataFrame,
    lang: str = "en",
    top: int = 2,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Persona table: one row per cluster with size, share, mean of each raw feature and a
    generated one-line description.

    The description names the ``top`` features whose cluster mean in standardised units
    (z = mean of the prepared columns within the cluster) is highest above +``threshold`` and
    lowest below −``threshold``: e.g. "High invitees (+2.1 sd), high share rate (+1.8 sd); low
    orders (−0.9 sd)". Clusters close to average everywhere are described as such.
    """
    labels = result.labels
    if not features.index.equals(labels.index):
        features = features.reindex(labels.index)
    cols = result.prepared.columns
    z = pd.DataFrame(result.prepared.matrix, columns=cols, index=labels.index)
    zmean = z.groupby(labels.to_numpy()).mean()
    raw = features[cols].groupby(labels.to_numpy()).mean()
    sizes = labels.value_counts().sort_index()
    # one description per cluster (k is small)
    descriptions = [_persona_text(zmean.loc[c], lang, top, threshold) for c in zmean.index]
    out = pd.DataFrame(
        {
            "cluster": zmean.index.astype(int),
            "users": sizes.reindex(zmean.index).to_numpy(),
            "share": (sizes.reindex(zmean.index) / sizes.sum()).to_numpy(),
            "description": descriptions,
        }
    )
    return pd.concat([out, raw.reset_index(drop=True)], axis=1)


def pca_view(
    result: ClusterResult, sample_size: int | None = 5000, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """2-D PCA of the prepared features (fitted on all users), for a random sample of points.

    Returns (frame pc1, pc2, cluster indexed by user; explained variance ratio of the 2 axes).
    """
    from sklearn.decomposition import PCA

    X = result.prepared.matrix
    n_comp = min(2, X.shape[1])
    pca = PCA(n_components=n_comp, random_state=seed).fit(X)
    idx = _sample(X.shape[0], sample_size, np.random.default_rng(seed))
    pts = pca.transform(X[idx])
    if n_comp == 1:
        pts = np.column_stack([pts, np.zeros(len(idx))])
    frame = pd.DataFrame(
        {"pc1": pts[:, 0], "pc2": pts[:, 1], "cluster": result.labels.to_numpy()[idx]},
        index=result.labels.index[idx],
    )
    return frame, pca.explained_variance_ratio_


# --------------------------------------------------------------------------------------------
# Small summary tables for charts and reports
# --------------------------------------------------------------------------------------------
def rfm_grid(scored: pd.DataFrame, min_group_size: int = 0) -> pd.DataFrame:
    """R × F grid: users and mean monetary value per (r_score, f_score) cell (long format).

    Columns ``r_score, f_score, users, mean_monetary``. Cells with fewer than
    ``min_group_size`` users are suppressed: both ``users`` and ``mean_monetary`` are missing
    there (the small-group rule of the report; charts draw such cells blank).
    """
    _require(scored, ["r_score", "f_score", "monetary"], "scored")
    g = scored.groupby(["r_score", "f_score"], observed=True)["monetary"]
    out = g.agg(users="size", mean_monetary="mean").reset_index()
    out["users"] = out["users"].astype(float)
    small = out["users"] < min_group_size
    out.loc[small, ["users", "mean_monetary"]] = np.nan
    return out


def group_summary(
    groups: pd.Series, values: pd.Series | None = None, order: Sequence[str] | None = None
) -> pd.DataFrame:
    """Users per group and, with ``values``, their total and share of the total value.

    Columns: group, users, user_share[, value, value_share, mean_value]. Groups keep the
    order of ``order`` (or the categorical order) and empty groups are kept with 0 users.
    """
    g = pd.Series(groups)
    if order is None and isinstance(g.dtype, pd.CategoricalDtype):
        order = list(g.cat.categories)
    frame = pd.DataFrame({"group": g.astype(object).to_numpy()})
    if values is not None:
        frame["value"] = pd.Series(values).reindex(g.index).fillna(0.0).to_numpy(dtype=float)
    agg = {"users": ("group", "size")}
    if values is not None:
        agg["value"] = ("value", "sum")
    out = frame.groupby("group").agg(**agg)
    if order is not None:
        out = out.reindex(list(order), fill_value=0)
    out["user_share"] = out["users"] / max(out["users"].sum(), 1)
    if values is not None:
        total = out["value"].sum()
        out["value_share"] = out["value"] / total if total > 0 else 0.0
        out["mean_value"] = out["value"] / out["users"].where(out["users"] > 0)
    return out.reset_index().rename(columns={"index": "group"})


def profile_z(result: ClusterResult) -> pd.DataFrame:
    """Mean standardised feature value per cluster (rows clusters, columns features)."""
    z = pd.DataFrame(result.prepared.matrix, columns=result.prepared.columns)
    return z.groupby(result.labels.to_numpy()).mean()


def _suppressed(table: pd.DataFrame, count_column: str, min_group_size: int) -> pd.DataFrame:
    """:func:`growthlab.privacy.suppress_small_groups` (no-op for ``min_group_size`` 0)."""
    if min_group_size <= 0:
        return table.copy()
    return suppress_small_groups(table, count_column, min_group_size, label=SUPPRESSED)


def _labelled(table: pd.DataFrame, column: str, lang: str, kind: str | None) -> pd.Series:
    return table[column].map(lambda k: group_label(k, lang, kind))


# --------------------------------------------------------------------------------------------
# Section results for the report (frames in, dataclasses out)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RfmSummary:
    """RFM scores, segments and value tiers of the buyers (see :func:`rfm_summary`).

    - ``scored``: one row per buyer (index user_id): the RFM inputs, ``r_score``, ``f_score``,
      ``m_score``, ``rfm``, ``rfm_total``, ``segment`` (RFM segment key) and ``tier``;
    - ``segments``: :func:`group_summary` of the segments (value = monetary), largest first;
    - ``tiers``: :func:`group_summary` of the tiers in tier order;
    - ``grid``: :func:`rfm_grid` with the small cells suppressed;
    - ``users``: all users; ``buyers``: users with a paid order.
    """

    scored: pd.DataFrame
    segments: pd.DataFrame
    tiers: pd.DataFrame
    grid: pd.DataFrame
    users: int
    buyers: int

    @property
    def buyer_share(self) -> float:
        """buyers / users (nan without users)."""
        return self.buyers / self.users if self.users else float("nan")

    def _segment(self, key: str, column: str) -> float:
        row = self.segments.loc[self.segments["group"] == key, column]
        return float(row.iloc[0]) if len(row) else 0.0

    @property
    def champions_share(self) -> float:
        """Buyers in the Champions segment / buyers."""
        return self._segment("champions", "user_share")

    @property
    def champions_value_share(self) -> float:
        """Revenue of the Champions segment / revenue."""
        return self._segment("champions", "value_share")

    def tier_share(self, tier: str) -> float:
        """Share of buyers in value tier ``tier``."""
        row = self.tiers.loc[self.tiers["group"].astype(str) == tier, "user_share"]
        return float(row.iloc[0]) if len(row) else 0.0

    def tier_value_share(self, tier: str) -> float:
        """Share of revenue (to date) of value tier ``tier``."""
        row = self.tiers.loc[self.tiers["group"].astype(str) == tier, "value_share"]
        return float(row.iloc[0]) if len(row) else 0.0

    @property
    def largest_segment(self) -> str:
        """Key of the RFM segment with most buyers."""
        return str(self.segments["group"].iloc[0])

    @property
    def largest_segment_share(self) -> float:
        """Share of buyers in the largest RFM segment."""
        return float(self.segments["user_share"].iloc[0])


def rfm_summary(
    rfm: pd.DataFrame,
    users: int,
    bins: int = 5,
    high_score: int = 4,
    medium_score: int = 3,
    potential_recency_score: int = 4,
    min_group_size: int = 0,
) -> RfmSummary:
    """RFM scores (:func:`rfm_scores`), value tiers (:func:`value_tiers`), segment and tier
    summaries (:func:`group_summary`, value = monetary) and the R × F grid (:func:`rfm_grid`,
    cells under ``min_group_size`` suppressed) of the purchasing users in ``rfm``
    (``growthlab.data.features.rfm_inputs``); ``users`` is the number of all users.
    """
    scored = rfm_scores(rfm[["recency_days", "frequency", "monetary"]], bins=bins)
    scored["tier"] = value_tiers(
        scored,
        high_score=high_score,
        medium_score=medium_score,
        potential_recency_score=potential_recency_score,
    )
    seg = group_summary(scored["segment"], scored["monetary"])
    seg = seg.sort_values("users", ascending=False, kind="stable", ignore_index=True)
    return RfmSummary(
        scored=scored,
        segments=seg,
        tiers=group_summary(scored["tier"], scored["monetary"]),
        grid=rfm_grid(scored, min_group_size),
        users=int(users),
        buyers=int(len(scored)),
    )


#: Column formats of :func:`segment_table` (for ``growthlab.report.show``).
SEGMENT_TABLE_FORMATS = {
    "buyer_share": "{:.1%}",
    "mean_revenue": "{:,.1f}",
    "revenue_share": "{:.1%}",
}


def segment_table(summary: RfmSummary, lang: str = "en", min_group_size: int = 0) -> pd.DataFrame:
    """Display table of the RFM segments: ``rfm_segment`` (name in ``lang``), ``buyers``,
    ``buyer_share``, ``mean_revenue``, ``revenue_share``; segments under ``min_group_size``
    buyers pooled into one suppressed row."""
    t = summary.segments.rename(
        columns={
            "users": "buyers",
            "user_share": "buyer_share",
            "mean_value": "mean_revenue",
            "value_share": "revenue_share",
        }
    )
    t = _suppressed(
        t[["group", "buyers", "buyer_share", "mean_revenue", "revenue_share"]],
        "buyers",
        min_group_size,
    )
    t.insert(0, "rfm_segment", _labelled(t, "group", lang, "rfm"))
    return t.drop(columns="group")


@dataclass(frozen=True)
class LifecycleSummary:
    """Lifecycle stages of every user (see :func:`lifecycle_summary`).

    ``stages`` (Series by user), ``table`` (:func:`group_summary` in stage order, stages under
    ``min_group_size`` users left out; shares are of all users), ``users``.
    """

    stages: pd.Series
    table: pd.DataFrame
    users: int

    def share(self, *stages: str) -> float:
        """Share of all users in the given stages (stages left out of ``table`` count 0)."""
        t = self.table.set_index("group")["user_share"]
        return float(sum(t.get(k, 0.0) for k in stages))

    def count(self, stage: str) -> int:
        """Users in ``stage`` (0 when the stage is under the small-group size)."""
        return int(self.table.set_index("group")["users"].get(stage, 0))


def lifecycle_summary(
    activity: pd.DataFrame,
    as_of,
    new_days: float = 30,
    active_days: float = 30,
    silent_days: float = 60,
    churn_days: float = 90,
    min_group_size: int = 0,
) -> LifecycleSummary:
    """:func:`lifecycle_stages` of every user of ``activity`` and the users per stage."""
    stages = lifecycle_stages(activity, as_of, new_days, active_days, silent_days, churn_days)
    table = group_summary(stages)
    table = table.loc[table["users"] >= min_group_size].reset_index(drop=True)
    return LifecycleSummary(stages=stages, table=table, users=int(len(stages)))


def in_stages(
    stages: pd.Series, index: pd.Index, at_risk: Sequence[str] = ("at_risk",)
) -> pd.Series:
    """True for each user of ``index`` whose lifecycle stage (``stages``, by user) is in
    ``at_risk``; users missing from ``stages`` are not at risk. The one "at risk" test of
    :func:`at_risk_by_tier` and of the list of buyers at risk."""
    return pd.Series(stages).reindex(index).astype(object).isin(list(at_risk))


def at_risk_by_tier(
    stages: pd.Series,
    tiers: pd.Series,
    revenue: pd.Series,
    at_risk: Sequence[str] = ("at_risk",),
) -> pd.DataFrame:
    """Buyers of each value tier whose lifecycle stage is in ``at_risk``, and their revenue.

    Columns: ``tier``, ``buyers`` (buyers in the tier), ``at_risk`` (of them at risk),
    ``at_risk_share`` = at_risk / buyers, ``at_risk_revenue`` (their revenue to date) and
    ``at_risk_revenue_share`` = at_risk_revenue / revenue of all buyers. ``tiers`` and
    ``revenue`` are indexed by buyer; ``stages`` by user (buyers missing from it count as not
    at risk). Tiers in :data:`TIERS` order.
    """
    t = pd.Series(tiers).astype(str)
    rev = pd.Series(revenue, dtype=float).reindex(t.index).fillna(0.0)
    risky = in_stages(stages, t.index, at_risk)
    frame = pd.DataFrame({"tier": t.to_numpy(), "risky": risky.to_numpy(), "rev": rev.to_numpy()})
    frame["risky_rev"] = frame["rev"].where(frame["risky"], 0.0)
    out = frame.groupby("tier").agg(
        buyers=("risky", "size"), at_risk=("risky", "sum"), at_risk_revenue=("risky_rev", "sum")
    )
    out = out.reindex(list(TIERS), fill_value=0)
    out["at_risk"] = out["at_risk"].astype(int)
    out["at_risk_share"] = out["at_risk"] / out["buyers"].where(out["buyers"] > 0)
    total = float(rev.sum())
    out["at_risk_revenue_share"] = out["at_risk_revenue"] / total if total > 0 else np.nan
    return out.reset_index().rename(columns={"index": "tier"})


def valuable_at_risk(at_risk: pd.DataFrame, tiers: Sequence[str] = VALUABLE_TIERS) -> int:
    """Buyers at risk in the valuable ``tiers`` (metric ``valuable_buyers_at_risk``): Σ of
    ``at_risk`` over those rows of :func:`at_risk_by_tier`."""
    return int(at_risk.loc[at_risk["tier"].astype(str).isin(list(tiers)), "at_risk"].sum())


def cluster_users(
    features: pd.DataFrame,
    system_events: Sequence[str],
    columns: Sequence[str] | None = None,
    k_range: Iterable[int] = range(2, 9),
    stability_runs: int = 3,
    seed: int = 0,
    **options,
) -> ClusterResult | None:
    """:func:`cluster` on ``columns`` of ``features`` (default :func:`default_cluster_columns`
    with ``system_events``), with ``stability_runs`` re-runs (seeds seed+1 ...) for the ARI.

    Returns None when there is nothing to cluster: no engagement event or order column (e.g.
    a source without ``events`` and ``orders``), no user, every column constant, or no more
    users than the largest k. ``options`` go to :func:`cluster` (silhouette_sample,
    fit_sample, n_init, n_threads).
    """
    skip = set(system_events)
    has_any = any(
        (c.startswith("ev_") and c[3:] not in skip) or c == "orders" for c in features.columns
    )
    if columns is None and not has_any:
        return None
    cols = list(columns) if columns else default_cluster_columns(features, system_events)
    ks = sorted({int(k) for k in k_range})
    if len(features) <= (ks[-1] if ks else 0):
        return None
    data = features[cols].apply(pd.to_numeric, errors="coerce")
    if not (data.std(ddof=0) > 1e-12).any():
        return None
    seeds = tuple(range(seed + 1, seed + 1 + stability_runs))
    return cluster(features[cols], k_range=ks, stability_seeds=seeds, seed=seed, **options)


def persona_table(
    result: ClusterResult,
    features: pd.DataFrame,
    lang: str = "en",
    min_group_size: int = 0,
    extra: Sequence[str] = ("orders", "revenue", "invitees", "active_days"),
) -> pd.DataFrame:
    """Display table of :func:`personas`: ``cluster``, ``users``, ``share``, ``persona``
    (description), then the mean of each clustering column and of the ``extra`` profile
    columns present, headed by their names in ``lang`` (:func:`feature_label`); clusters under
    ``min_group_size`` users pooled into one suppressed row."""
    persona = personas(result, features, lang=lang)
    cols = list(result.prepared.columns)
    cols += [c for c in extra if c in features.columns and c not in cols]
    extra_means = features.reindex(result.labels.index)[
        [c for c in cols if c not in persona.columns]
    ]
    if not extra_means.empty:
        means = extra_means.groupby(result.labels.to_numpy()).mean().reset_index(drop=True)
        persona = pd.concat([persona, means], axis=1)
    t = persona[["cluster", "users", "share", "description", *cols]].rename(
        columns={"description": "persona"}
    )
    t["cluster"] = t["cluster"].astype(str)
    t = _suppressed(t, "users", min_group_size)
    t["cluster"] = _labelled(t, "cluster", lang, None)
    return t.rename(columns={c: feature_label(c, lang) for c in cols})


def buyer_groups(users: pd.DataFrame, tiers: pd.Series | None = None) -> pd.DataFrame:
    """Groups of each user for value breakdowns (index user_id as text):

    ``channel`` (acquisition channel, "unknown" when missing), ``referral`` ("referred" when
    the user has an accepted inviter, else "organic") and, with ``tiers``, ``tier``.
    ``users`` needs ``user_id``, ``channel`` and ``referred``.
    """
    _require(users, ["user_id", "channel", "referred"], "users")
    idx = pd.Index(users["user_id"].astype(str), name="user_id")
    referred = users["referred"].fillna(False).astype(bool).to_numpy()
    out = pd.DataFrame(
        {
            "channel": users["channel"].astype(object).fillna("unknown").to_numpy(),
            "referral": np.where(referred, "referred", "organic"),
        },
        index=idx,
    )
    if tiers is not None:
        out["tier"] = pd.Series(tiers).astype(str).reindex(idx)
    return out
