"""User segments: RFM scores and named segments, value tiers, lifecycle stages, clustering.

SPEC §4.3. Pure functions on the small per-user frames built in the engine by
:mod:`growthlab.data.features` (no I/O, no plotting, no printing). All thresholds are
parameters.

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

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from growthlab.data.features import SYSTEM_EVENTS
from growthlab.errors import AnalysisInputError, require_columns

__all__ = [
    "RFM_SEGMENTS",
    "TIERS",
    "STAGES",
    "quantile_scores",
    "rfm_scores",
    "value_tiers",
    "lifecycle_stages",
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
    "segment_label",
    "feature_label",
    "rfm_grid",
    "group_summary",
    "profile_z",
]

#: Named RFM segments on the recency × frequency score grid (labels in en / zh).
RFM_SEGMENTS: dict[str, dict[str, str]] = {
    "champions": {"en": "Champions", "zh": "核心客户"},
    "loyal": {"en": "Loyal", "zh": "忠诚客户"},
    "potential_loyalist": {"en": "Potential loyalists", "zh": "潜力客户"},
    "new_customers": {"en": "New customers", "zh": "新客户"},
    "promising": {"en": "Promising", "zh": "有希望客户"},
    "need_attention": {"en": "Need attention", "zh": "需要关注"},
    "about_to_sleep": {"en": "About to sleep", "zh": "即将沉睡"},
    "at_risk": {"en": "At risk", "zh": "流失风险"},
    "cant_lose": {"en": "Can't lose them", "zh": "不能失去"},
    "hibernating": {"en": "Hibernating", "zh": "休眠客户"},
}
#: Value tiers, best first.
TIERS: dict[str, dict[str, str]] = {
    "high": {"en": "High value", "zh": "高价值"},
    "medium": {"en": "Medium value", "zh": "中价值"},
    "potential": {"en": "Potential", "zh": "潜力"},
    "low": {"en": "Low value", "zh": "低价值"},
}
#: Lifecycle stages in the order they are assigned.
STAGES: dict[str, dict[str, str]] = {
    "new": {"en": "New", "zh": "新用户"},
    "returned": {"en": "Returned", "zh": "回流"},
    "active": {"en": "Active", "zh": "活跃"},
    "silent": {"en": "Silent", "zh": "沉默"},
    "at_risk": {"en": "At risk", "zh": "流失预警"},
    "churned": {"en": "Churned", "zh": "已流失"},
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


def segment_label(key: str, lang: str = "en") -> str:
    """Display label of an RFM segment, value tier or lifecycle stage key."""
    for table in (RFM_SEGMENTS, TIERS, STAGES):
        if key in table:
            return table[key].get(lang, table[key]["en"])
    return str(key)


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

    Input: :func:`growthlab.data.features.activity` (signup_at, last_active, previous_active).
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
    idle = ((ref - last) / day).to_numpy(dtype=float)
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


def default_cluster_columns(
    features: pd.DataFrame, system_events: Sequence[str] = SYSTEM_EVENTS
) -> list[str]:
    """Default clustering columns: engagement event counts (``ev_<type>`` for types not in
    ``system_events``) and the paid ``orders`` count.

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
    ``centers`` (standardised space), ``stability`` (mean ARI across seeds), ``prepared``."""

    k: int
    labels: pd.Series
    scores: pd.DataFrame
    centers: np.ndarray
    stability: float
    stability_min: float
    prepared: PreparedFeatures
    silhouette: float = float("nan")
    extra: dict = field(default_factory=dict)


def stability(
    X: np.ndarray,
    k: int,
    seeds: Sequence[int] = (1, 2, 3, 4, 5),
    sample_size: int | None = 20_000,
    n_init: int = 1,
    seed: int = 0,
) -> tuple[float, float]:
    """Stability of K-Means: mean and minimum adjusted Rand index between the labelling of a
    reference run and runs with other seeds, on a random sample of users.

    ARI = (RI − E[RI]) / (max RI − E[RI]) (Hubert & Arabie 1985); 1 = identical partitions.
    """
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
    return float(np.mean(aris)), float(np.min(aris))


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
    with threadpool_limits(limits=n_threads):
        return _cluster(features, k, k_range, silhouette_sample, fit_sample, n_init,
                        stability_seeds, seed)  # fmt: skip


def _cluster(features, k, k_range, silhouette_sample, fit_sample, n_init, stability_seeds, seed):
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
        stab, stab_min = stability(
            X, kk, stability_seeds, min(fit_sample or 20_000, 20_000), 1, seed
        )
    else:
        stab, stab_min = float("nan"), float("nan")
    return ClusterResult(
        k=kk,
        labels=pd.Series(labels, index=prep.index, name="cluster"),
        scores=scores,
        centers=centers,
        stability=stab,
        stability_min=stab_min,
        prepared=prep,
        silhouette=float(best["silhouette"]),
    )


_FEATURE_LABELS = {
    "events": ("events", "事件数"),
    "active_days": ("active days", "活跃天数"),
    "channels_used": ("channels used", "触达渠道数"),
    "orders": ("orders", "订单数"),
    "revenue": ("revenue", "消费金额"),
    "invitees": ("invitees", "邀请人数"),
    "share_rate": ("share rate", "分享率"),
    "recency_days": ("days since last order", "最近购买间隔"),
    "frequency": ("purchase days", "购买天数"),
    "monetary": ("spend", "消费金额"),
}


def feature_label(column: str, lang: str = "en") -> str:
    """Readable label of a feature column (``ev_share`` -> "share events", ``ch_wecom`` ->
    "wecom share of events")."""
    zh = lang == "zh"
    if column in _FEATURE_LABELS:
        return _FEATURE_LABELS[column][1 if zh else 0]
    name = column[3:].replace("_", " ")
    if column.startswith("ev_"):
        return f"{name} 事件" if zh else f"{name} events"
    if column.startswith("ch_"):
        return f"{name} 渠道占比" if zh else f"{name} channel share"
    return column.replace("_", " ")


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
    zh = lang == "zh"
    hi_word, lo_word = ("高", "低") if zh else ("high", "low")
    descriptions = []
    for c in zmean.index:  # one row per cluster (k is small)
        row = zmean.loc[c]
        ups = row[row > threshold].sort_values(ascending=False).head(top)
        downs = row[row < -threshold].sort_values().head(top)
        up = [f"{hi_word} {feature_label(f, lang)} ({v:+.1f} sd)" for f, v in ups.items()]
        dn = [f"{lo_word} {feature_label(f, lang)} ({v:+.1f} sd)" for f, v in downs.items()]
        if not up and not dn:
            text = "各项接近平均" if zh else "Close to average on every feature"
        else:
            sep = "；" if zh else "; "
            text = sep.join(p for p in ("、".join(up) if zh else ", ".join(up),
                                        "、".join(dn) if zh else ", ".join(dn)) if p)  # fmt: skip
            text = text[0].upper() + text[1:]
        descriptions.append(text)
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
def rfm_grid(scored: pd.DataFrame) -> pd.DataFrame:
    """R × F grid: users and mean monetary value per (r_score, f_score) cell (long format)."""
    _require(scored, ["r_score", "f_score", "monetary"], "scored")
    g = scored.groupby(["r_score", "f_score"], observed=True)["monetary"]
    return g.agg(users="size", mean_monetary="mean").reset_index()


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
