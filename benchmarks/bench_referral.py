"""Benchmark: referral forest and cascade metrics at 1M edges vs a per-tree networkx baseline.

Usage: ``python benchmarks/bench_referral.py [--edges 1000000] [--nx-edges 20000]``.
Prints a table and writes ``benchmarks/results/referral.json``.

The forest is a random recursive forest with string user ids: ``seeds`` roots, every later user
picks a uniformly random earlier user as inviter (depth ~ log n), plus one 5,000-long chain
(a worst case for level-by-level passes), random ``invited_at`` times and a few dirty rows
(self-referrals, second inviters, a 3-cycle) so the quarantine runs for real.

Measured pipeline (growthlab): clean_referrals → forest → cascades (size, depth, max breadth,
structural virality, duration) → generations (R_g) → spreaders/concentration.
Baseline (networkx, the straightforward way): one DiGraph, weakly connected components, and per
tree BFS generations, depth, breadth, subtree sizes by DFS post-order and structural virality
as ``nx.average_shortest_path_length`` — run on a smaller forest it can finish, and the
growthlab pipeline is timed on that same forest for the speed ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from growthlab import referral as r

RESULTS = Path(__file__).resolve().parent / "results" / "referral.json"


def make_referrals(n_edges: int, seed: int = 0, chain: int = 5000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    chain = min(chain, n_edges // 10)
    n_rand = n_edges - chain
    seeds = max(1, n_rand // 20)
    n = seeds + n_rand
    child = np.arange(seeds, n)
    parent = (rng.random(n_rand) * child).astype(np.int64)  # uniform earlier user
    # a long chain hanging from user 0
    c_nodes = np.arange(n, n + chain)
    c_par = np.concatenate([[0], c_nodes[:-1]])
    child = np.concatenate([child, c_nodes])
    parent = np.concatenate([parent, c_par])
    t0 = np.datetime64("2025-01-01T00:00:00", "s")
    t = t0 + (child * 10 + rng.integers(0, 10, child.size)).astype("timedelta64[s]")
    ids = np.char.add("U", np.char.zfill(np.arange(n + chain + 10).astype(str), 8))
    df = pd.DataFrame(
        {
            "inviter_id": ids[parent],
            "invitee_id": ids[child],
            "invited_at": t,
            "campaign_id": np.where(child % 2 == 0, "A", "B"),
        }
    )
    k = n + chain
    dirty = pd.DataFrame(
        {
            "inviter_id": [ids[5], ids[6], ids[k], ids[k + 1], ids[k + 2]],
            "invitee_id": [ids[5], ids[seeds + 1], ids[k + 1], ids[k + 2], ids[k]],
            "invited_at": [t[-1]] * 5,
            "campaign_id": "A",
        }
    )
    return pd.concat([df, dirty], ignore_index=True)


def growthlab_pipeline(ref: pd.DataFrame) -> dict:
    clean = r.clean_referrals(ref)
    f = r.forest(clean)
    cas = r.cascades(f)
    gen = r.generations(f)
    sp = r.spreaders(f)
    conc = r.concentration(sp["direct_invitees"])
    return {
        "trees": len(cas),
        "quarantined": clean.counts,
        "max_depth": int(cas["depth"].max()),
        "mean_virality": float(cas["structural_virality"].mean()),
        "generations": len(gen),
        "top_10pct": conc["top_10pct"],
    }


def networkx_pipeline(ref: pd.DataFrame) -> dict:
    import networkx as nx

    clean = r.clean_referrals(ref)  # same quarantine, not timed separately
    g = nx.DiGraph()
    g.add_edges_from(zip(clean.edges["inviter_id"], clean.edges["invitee_id"], strict=True))
    rows = []
    for comp in nx.weakly_connected_components(g):
        t = g.subgraph(comp)
        root = next(v for v in t if t.in_degree(v) == 0)
        gen = nx.single_source_shortest_path_length(t, root)
        levels: dict[int, int] = {}
        for d in gen.values():
            levels[d] = levels.get(d, 0) + 1
        size = {}
        for v in nx.dfs_postorder_nodes(t, root):
            size[v] = 1 + sum(size[c] for c in t.successors(v))
        vir = nx.average_shortest_path_length(t.to_undirected()) if len(t) > 1 else float("nan")
        rows.append((root, len(t), max(gen.values()), max(levels.values()), vir))
    cas = pd.DataFrame(rows, columns=["root", "size", "depth", "max_breadth", "virality"])
    return {"trees": len(cas), "mean_virality": float(cas["virality"].mean())}


def _rss_mib() -> float:
    """Current resident set size (Linux /proc), MiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(impl: str, n_edges: int, chain: int) -> dict:
    """Run one implementation in this (fresh) process; time it and measure its peak memory."""
    ref = make_referrals(n_edges, chain=chain)
    before = _rss_mib()
    fn = growthlab_pipeline if impl == "growthlab" else networkx_pipeline
    t = time.perf_counter()
    out = fn(ref)
    dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "implementation": impl,
        "edges": n_edges,
        "seconds": round(dt, 3),
        "peak_rss_mib": round(peak, 1),
        "rss_before_mib": round(before, 1),
        "result": out,
    }


def run_worker(impl: str, n_edges: int, chain: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        impl,
        "--edges",
        str(n_edges),
        "--chain",
        str(chain),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edges", type=int, default=1_000_000)
    ap.add_argument("--nx-edges", type=int, default=20_000)
    ap.add_argument("--chain", type=int, default=5000)
    ap.add_argument("--worker", choices=["growthlab", "networkx"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.edges, args.chain), default=str))
        return 0

    big = run_worker("growthlab", args.edges, args.chain)
    small_g = run_worker("growthlab", args.nx_edges, 200)
    small_n = run_worker("networkx", args.nx_edges, 200)
    rows = [big, small_g, small_n]
    same = small_g["result"]["trees"] == small_n["result"]["trees"] and bool(
        np.isclose(small_g["result"]["mean_virality"], small_n["result"]["mean_virality"])
    )
    ratio = small_n["seconds"] / small_g["seconds"]
    ok = big["seconds"] < 10 and big["peak_rss_mib"] < 2048

    print(
        f"{'implementation':<14}{'edges':>12}{'seconds':>10}{'peak RSS MiB':>14}{'RSS before':>12}"
    )
    for row in rows:
        print(
            f"{row['implementation']:<14}{row['edges']:>12,}{row['seconds']:>10.2f}"
            f"{row['peak_rss_mib']:>14.0f}{row['rss_before_mib']:>12.0f}"
        )
    print(f"speed ratio networkx / growthlab at {args.nx_edges:,} edges: {ratio:,.0f}x")
    print(f"same trees and mean structural virality: {same}")
    print(
        f"targets ({args.edges:,} edges < 10 s and < 2 GiB peak RSS): {'met' if ok else 'NOT met'}"
    )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "referral forest + cascade metrics",
        "pipeline": "clean_referrals, forest, cascades, generations, spreaders, concentration",
        "runs": rows,
        "speed_ratio_networkx_over_growthlab": round(ratio, 1),
        "results_agree": same,
        "targets_met": ok,
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "note": "shared 2-core machine; timings inflated by concurrent jobs; each run in a "
            "fresh process, peak RSS includes the interpreter, libraries and the input frame",
        },
    }
    RESULTS.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return 0 if ok and same else 1


if __name__ == "__main__":
    raise SystemExit(main())
