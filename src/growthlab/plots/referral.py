"""Charts for the referral analysis (SPEC §4.2). Layout only: numbers come from
``growthlab.referral`` / ``referral_outcomes`` results; every word from :mod:`growthlab.i18n`
(``chart.referral.*``, ``step.invite.*``, ``outcome.*``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from growthlab import i18n
from growthlab.plots.theme import log_axis, percent_axis

#: Group columns holding canonical channel keys: shown by their display names.
_CHANNEL_GROUPS = frozenset({"channel", "share_channel"})


def _l(lang: str, key: str, **fields) -> str:
    """Chart text ``chart.referral.<key>`` of :mod:`growthlab.i18n`."""
    return i18n.t(f"chart.referral.{key}", lang, **fields)


def k_by_group(
    k: pd.DataFrame,
    group: str,
    *,
    title: str | None = None,
    lang: str = "en",
    order: str = "k",
) -> Figure:
    """Horizontal K with its interval per group (``k_factor`` output), K = 1 marked.

    ``order="k"`` puts the largest K on top; ``order="given"`` keeps the frame's order from
    top to bottom. ``group`` values are shown as text (channel keys by their display names,
    timestamps as dates; :func:`k_by_week` draws weeks on a time axis). The title defaults to
    ``chart.referral.k_by_<group>`` when defined.
    """
    if title is None:
        key = f"chart.referral.k_by_{group}"
        title = i18n.t(key, lang) if key in i18n.TEXT else None
    d = k.dropna(subset=["k"])
    d = d.sort_values("k") if order == "k" else d.iloc[::-1]
    labels = d[group]
    if pd.api.types.is_datetime64_any_dtype(labels):
        labels = labels.dt.strftime("%Y-%m-%d")
    elif group in _CHANNEL_GROUPS:
        labels = labels.map(lambda v: i18n.name("channel", v, lang))
    fig, ax = plt.subplots(figsize=(8, 0.5 * max(len(d), 2) + 1.2))
    y = np.arange(len(d))
    err = np.vstack([d["k"] - d["k_low"].fillna(d["k"]), d["k_high"].fillna(d["k"]) - d["k"]])
    ax.errorbar(d["k"], y, xerr=np.clip(err, 0, None), fmt="o", capsize=4)
    ax.axvline(1.0, color="crimson", ls="--", lw=1, label=_l(lang, "viral"))
    ax.set_yticks(y, labels.astype(str))
    ax.set_xlabel(_l(lang, "k"))
    ax.set_xlim(left=0)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    return fig


def k_by_week(k: pd.DataFrame, *, lang: str = "en", column: str = "signup_week") -> Figure:
    """K with its 95 % interval per signup week on a time axis (oldest week left; a
    :func:`growthlab.referral.k_by_signup_week` frame), K = 1 marked."""
    d = k.dropna(subset=["k"]).sort_values(column)
    weeks = pd.to_datetime(d[column])
    fig, ax = plt.subplots(figsize=(9, 3.8))
    err = np.vstack([d["k"] - d["k_low"].fillna(d["k"]), d["k_high"].fillna(d["k"]) - d["k"]])
    ax.errorbar(weeks, d["k"], yerr=np.clip(err, 0, None), fmt="o-", ms=4, capsize=3, lw=1)
    ax.axhline(1.0, color="crimson", ls="--", lw=1, label=_l(lang, "viral"))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(_l(lang, "signup_week"))
    ax.set_ylabel(_l(lang, "k"))
    ax.legend(loc="upper left")
    ax.set_title(_l(lang, "k_by_signup_week"))
    fig.autofmt_xdate()
    return fig


def generation_decay(gen: pd.DataFrame, *, lang: str = "en") -> Figure:
    """Users per generation (log scale) and R_g with its interval (``generations`` output)."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 6.6))  # stacked: readable on a phone
    a1.bar(gen["generation"], gen["users"], color="C0")
    log_axis(a1, "y")
    a1.set_xlabel(_l(lang, "generation"))
    a1.set_ylabel(_l(lang, "users"))
    a1.set_title(_l(lang, "users_title"))
    g = gen.loc[gen["users"] > 0]
    err = np.vstack([g["r"] - g["r_low"].fillna(g["r"]), g["r_high"].fillna(g["r"]) - g["r"]])
    a2.errorbar(g["generation"], g["r"], yerr=np.clip(err, 0, None), fmt="o-", capsize=3)
    a2.axhline(1.0, color="crimson", ls="--", lw=1)
    a2.set_xlabel(_l(lang, "generation"))
    a2.set_ylabel(_l(lang, "r"))
    a2.set_ylim(bottom=0)
    a2.set_title(_l(lang, "r_title"))
    fig.suptitle(_l(lang, "generations"))
    fig.tight_layout()
    return fig


def ccdf(
    cascades: pd.DataFrame,
    columns: Sequence[str] = ("size", "depth", "max_breadth", "structural_virality"),
    *,
    lang: str = "en",
) -> Figure:
    """Complementary CDF P(X ≥ x) of cascade metrics on log–log axes, two panels a row (readable
    on a phone)."""
    ncols = min(len(columns), 2)
    nrows = int(np.ceil(len(columns) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.2 * nrows + 0.4), squeeze=False)
    for ax in axes.flat[len(columns) :]:
        ax.set_visible(False)
    axes = axes.flat[: len(columns)]
    for ax, col in zip(axes, columns, strict=True):
        v = np.sort(cascades[col].dropna().to_numpy(dtype=float))
        v = v[v > 0]
        if v.size == 0:
            ax.text(0.5, 0.5, _l(lang, "nodata"), ha="center", transform=ax.transAxes)
            continue
        x, first = np.unique(v, return_index=True)
        ax.step(x, 1 - first / v.size, where="post")
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xlabel(_l(lang, col))
        if ax in axes[::ncols]:  # the first panel of each row
            ax.set_ylabel(_l(lang, "ccdf"))
    fig.suptitle(_l(lang, "ccdf_title"))
    fig.tight_layout()
    return fig


def concentration_curve(curve: pd.DataFrame, *, lang: str = "en") -> Figure:
    """Cumulative share of invitees brought by the top share of spreaders."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot(np.r_[0, curve["share_of_units"]], np.r_[0, curve["share_of_total"]], lw=2, color="C0")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label=_l(lang, "equal"))
    for f in (0.01, 0.1):
        i = max(int(np.ceil(f * len(curve))) - 1, 0)
        if len(curve):
            y = float(curve["share_of_total"].iloc[i])
            ax.plot([f], [y], "o", color="crimson")
            ax.annotate(f"{f:.0%} → {y:.0%}", (f, y), xytext=(8, -12), textcoords="offset points")
    ax.set_xlabel(_l(lang, "share_units"))
    ax.set_ylabel(_l(lang, "share_total"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    percent_axis(ax, "x")
    percent_axis(ax, "y")
    ax.legend(loc="lower right")
    ax.set_title(_l(lang, "concentration"))
    return fig


def cycle_time_hist(ct: pd.DataFrame, *, window_days: float = 30, lang: str = "en") -> Figure:
    """Histogram of days from signup to the first successful invite, median marked."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    d = ct["days"].to_numpy(dtype=float)
    if d.size:
        hi = max(window_days, float(np.quantile(d, 0.99)))
        ax.hist(np.clip(d, 0, hi), bins=60, color="C0")
        median = float(np.median(d))
        ax.axvline(
            median, color="crimson", ls="--", lw=1.2, label=_l(lang, "median", days=f"{median:.1f}")
        )
        ax.legend(loc="upper right")
    ax.set_xlabel(_l(lang, "days"))
    ax.set_ylabel(_l(lang, "count"))
    ax.set_title(_l(lang, "cycle_time"))
    return fig


def invite_funnel(funnel: pd.DataFrame, *, lang: str = "en") -> Figure:
    """Horizontal funnel bars (``referral_outcomes.invite_funnel``): each step's count of
    invitations and its share of the first step; step names from ``step.invite.<step>``."""
    f = funnel.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(f) + 1.6))
    names = [i18n.maybe(f"step.invite.{s}", lang, str(s)) for s in f["step"]]
    ax.barh(names, f["count"], color="C0")
    for y, (n, r) in enumerate(zip(f["count"], f["overall_rate"], strict=True)):
        ax.text(n, y, f"  {n:,.0f} ({r:.1%})", va="center")
    ax.set_xlabel(_l(lang, "invitations"))
    ax.set_xlim(0, float(f["count"].max()) * 1.35 if len(f) else 1)
    ax.set_title(_l(lang, "funnel"))
    return fig


def referred_vs_organic(res: pd.DataFrame, *, currency: str = "", lang: str = "en") -> Figure:
    """Referred users vs users not referred per metric with intervals (``referred_vs_organic``
    output); panel titles from ``outcome.<metric>``."""
    d = res.loc[res["group"].isin(["referred", "organic"])]
    metrics = list(dict.fromkeys(d["metric"]))
    ncols = min(len(metrics), 3)  # at most three panels a row: readable on a phone
    nrows = int(np.ceil(len(metrics) / ncols))
    fig, grid = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.3 * nrows + 0.5), squeeze=False)
    for ax in grid.flat[len(metrics) :]:
        ax.set_visible(False)
    axes = grid.flat[: len(metrics)]
    firsts = list(grid[:, 0])
    for ax, m in zip(axes, metrics, strict=True):
        x = d.loc[d["metric"] == m].set_index("group").reindex(["referred", "organic"])
        err = np.vstack(
            [x["value"] - x["low"].fillna(x["value"]), x["high"].fillna(x["value"]) - x["value"]]
        )
        ax.bar([0, 1], x["value"], color=["C1", "C0"])
        ax.errorbar([0, 1], x["value"], yerr=np.clip(err, 0, None), fmt="none", ecolor="k")
        ax.set_xticks([0, 1], [_l(lang, "referred"), _l(lang, "not_referred")])
        if m == "value_per_user":
            ax.set_ylabel(_l(lang, "per_user", currency=currency))
        else:  # shares of users; the axis named once
            percent_axis(ax, "y")
            if ax in firsts:
                ax.set_ylabel(_l(lang, "share"))
        title = (
            i18n.t(f"outcome.{m}", lang, currency=currency) if f"outcome.{m}" in i18n.TEXT else m
        )
        ax.set_title(title, fontsize=9, wrap=True)
    fig.suptitle(_l(lang, "outcomes"))
    fig.tight_layout()
    return fig


def _tidy_layout(g: nx.DiGraph, root) -> dict:
    """Hierarchical layout: y = −generation, leaves spaced evenly in DFS order, parents centred."""
    pos: dict = {}
    nxt = 0.0
    depth = nx.single_source_shortest_path_length(g, root)
    for v in nx.dfs_postorder_nodes(g, root):
        kids = list(g.successors(v))
        if kids:
            x = float(np.mean([pos[c][0] for c in kids]))
        else:
            x, nxt = nxt, nxt + 1.0
        pos[v] = (x, -depth[v])
    return pos


def cascade_trees(
    nodes: pd.DataFrame,
    roots: Sequence[str],
    *,
    labels: dict | Callable[[pd.Series], pd.Series] | None = None,
    max_nodes: int = 400,
    lang: str = "en",
) -> Figure:
    """Draw the cascades of ``roots`` as trees (hierarchical layout, nodes coloured by
    generation). ``nodes``: ``Forest.nodes``; ``labels`` maps a root to its displayed
    (pseudonymised) name, or is a function of the roots (e.g. ``privacy.pseudonymise``).
    Trees larger than ``max_nodes`` show their first generations.
    """
    roots = list(roots)
    if callable(labels):
        labels = dict(zip(roots, labels(pd.Series(roots, dtype=object)), strict=True))
    k = len(roots)
    fig, axes = plt.subplots(1, max(k, 1), figsize=(6 * max(k, 1), 5.2), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, root in zip(axes[0], roots, strict=False):
        sub = nodes.loc[nodes["root"] == root]
        n_all, depth_all = len(sub), int(sub["generation"].max())
        sub = sub.sort_values(["generation"], kind="mergesort").head(max_nodes)
        g = nx.DiGraph()
        g.add_node(root)
        e = sub.loc[sub["inviter_id"].notna()]
        g.add_edges_from(zip(e["inviter_id"], e["user_id"], strict=True))
        pos = _tidy_layout(g, root)
        segs = [(pos[a], pos[b]) for a, b in g.edges]
        ax.add_collection(LineCollection(segs, colors="0.6", linewidths=0.6))
        xy = np.array([pos[v] for v in g.nodes])
        gens = -xy[:, 1]
        ax.scatter(
            xy[:, 0], xy[:, 1], c=gens, cmap=cmap, s=max(6, 900 / max(len(xy), 1) ** 0.8), zorder=3
        )
        ax.set_yticks(-np.arange(int(gens.max()) + 1), np.arange(int(gens.max()) + 1))
        ax.set_ylabel(_l(lang, "generation"))
        ax.set_xticks([])
        ax.grid(False)
        name = (labels or {}).get(root, root)
        title = _l(lang, "tree").format(root=name, n=n_all, d=depth_all)
        if n_all > len(sub):
            title += _l(lang, "truncated").format(m=len(sub))
        ax.set_title(title, fontsize=10)
        ax.autoscale()
    fig.suptitle(_l(lang, "trees"))
    fig.tight_layout()
    return fig
