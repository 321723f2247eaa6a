"""Benchmark attribution: journeys from 10M events, Markov orders 1-3, Shapley, vs ChannelAttribution.

Run: ``.venv/bin/python benchmarks/bench_attribution.py [--events 10000000] [--paths 1000000]``.
Prints a table and writes ``benchmarks/results/attribution.json``.

Stages
1. ``growthlab.data.journeys.paths_expr`` on N synthetic events (+ orders) in DuckDB via Ibis
   (target: 10M events -> paths in < 60 s). Peak memory: process max RSS (DuckDB's memory is
   native, so tracemalloc cannot see it).
2. Markov orders 1-3 and Shapley on those paths: time and tracemalloc peak (numpy allocations).
3. Markov order 1 on ~1M distinct paths, side by side with the ``ChannelAttribution`` package
   (C++ core, removal effects by simulation) when installed: both times and the largest
   difference in attributed conversions (target: growthlab faster).

The machine is shared (2 cores, other jobs running): timings are inflated by contention.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from growthlab import attribution as A  # noqa: E402
from growthlab.data import journeys as J  # noqa: E402

CHANNELS = np.array(
    ["wecom", "wechat_group", "official_account", "app_push", "xiaohongshu", "douyin", "sms",
     "paid_ads", "live", "mini_program", "search", "moments"]
)  # fmt: skip
EFFECT = np.linspace(0.12, 0.01, CHANNELS.size)


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def synth_events(n_events: int, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    """Vectorised synthetic events/orders: ~10 touches per user, conversion by planted effect."""
    rng = np.random.default_rng(seed)
    n_users = max(n_events // 10, 1)
    user = rng.integers(0, n_users, n_events)
    ch = rng.integers(0, CHANNELS.size, n_events)
    t0 = np.datetime64("2025-01-01T00:00:00", "s")
    secs = rng.integers(0, 180 * 86400, n_events)
    # each touch converts with its channel's effect; the order follows it within 2 days
    conv = rng.random(n_events) < EFFECT[ch] * 0.3
    o_user = user[conv]
    o_secs = secs[conv] + rng.integers(60, 2 * 86400, conv.sum())
    uid = np.char.add("u", np.arange(n_users).astype(str))
    events = pa.table(
        {
            "user_id": pa.DictionaryArray.from_arrays(user.astype(np.int32), uid).cast(pa.string()),
            "ts": pa.array(t0 + secs.astype("timedelta64[s]"), pa.timestamp("us")),
            "channel": pa.DictionaryArray.from_arrays(ch.astype(np.int32), CHANNELS).cast(
                pa.string()
            ),
            "event": pa.array(np.full(n_events, "reach")),
        }
    )
    orders = pa.table(
        {
            "order_id": pa.array(np.arange(o_user.size).astype(str)),
            "user_id": pa.array(uid[o_user]),
            "ts": pa.array(t0 + o_secs.astype("timedelta64[s]"), pa.timestamp("us")),
            "amount": pa.array(np.round(rng.gamma(2.0, 50.0, o_user.size), 2)),
            "status": pa.array(np.full(o_user.size, "paid")),
        }
    )
    return events, orders


def distinct_paths(n_paths: int, seed: int = 1) -> pd.DataFrame:
    """``n_paths`` distinct paths (lengths 4-14 over 12 channels) with counts."""
    rng = np.random.default_rng(seed)
    m = int(n_paths * 1.25)
    length = rng.integers(4, 15, m)
    tok = rng.integers(0, CHANNELS.size, length.sum())
    parent = np.repeat(np.arange(m), length)
    # string building vectorised through pyarrow list -> join
    offsets = np.concatenate([[0], np.cumsum(length)])
    names = pa.DictionaryArray.from_arrays(pa.array(tok.astype(np.int32)), pa.array(CHANNELS))
    lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int64()), names.cast(pa.string()))
    import pyarrow.compute as pc

    path = pc.binary_join(lists, ">").to_numpy(zero_copy_only=False)
    p_conv = 1 - np.exp(np.bincount(parent, weights=np.log1p(-EFFECT[tok]), minlength=m))
    total = rng.integers(1, 40, m)
    conv = rng.binomial(total, p_conv)
    df = pd.DataFrame({"path": path, "conversions": conv, "nulls": total - conv})
    df["value"] = df["conversions"] * rng.gamma(2.0, 50.0, m)
    df = df.groupby("path", as_index=False, sort=False).sum()
    df = df.head(n_paths).reset_index(drop=True)
    return df


def timed(fn, *args, **kwargs):
    """(result, seconds, peak MB): timed without tracing, then re-run under tracemalloc."""
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    dt = time.perf_counter() - t
    tracemalloc.start()
    fn(*args, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, dt, peak / 2**20


def channel_attribution(paths: pd.DataFrame, order: int = 1, seed: int = 0):
    """ChannelAttribution.markov_model on the same paths, or None when not installed."""
    try:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            import ChannelAttribution as ca  # noqa: N813
    except ImportError:
        print("ChannelAttribution not installed: `pip install ChannelAttribution` to compare")
        return None
    import contextlib
    import io

    df = paths.rename(columns={"conversions": "total_conversions", "nulls": "total_null"})
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        res = ca.markov_model(
            df,
            var_path="path",
            var_conv="total_conversions",
            var_null="total_null",
            order=order,
            seed=seed,
            verbose=False,
            flg_pro=False,
        )
    dt = time.perf_counter() - t
    if isinstance(res, dict):
        res = res.get("result", next(iter(res.values())))
    res = res.rename(columns={"channel_name": "channel"}).set_index("channel")
    return res["total_conversions"], dt


class _Rows(list):
    """Stage rows, printed as they complete (long runs show progress)."""

    def append(self, row: dict) -> None:
        super().append(row)
        shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
        print(shown, flush=True)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--paths", type=int, default=1_000_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "attribution.json"))
    args = ap.parse_args(argv)
    import ibis

    rows = _Rows()
    result: dict = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "note": "shared 2-core machine with concurrent jobs; timings inflated by contention",
        },
        "notes": [
            "growthlab Markov removal effects are exact absorbing-chain probabilities (tests check "
            "them against dense matrix powers). ChannelAttribution estimates them by simulation "
            "and its journeys are capped at the longest observed path: on a 3-channel example its "
            "converged values (nsim 1e7, conv_par 0.001) equal the exact values of the chain "
            "truncated at 4 steps, so the differences below are mostly definitional, not noise.",
        ],
        "stages": rows,  # a list subclass: json-serialisable
    }

    # 1. journeys from events in DuckDB
    events, orders = synth_events(args.events)
    con = ibis.duckdb.connect()
    ev = con.create_table("events", events)
    od = con.create_table("orders", orders)
    del events
    rss0 = _max_rss_mb()
    t = time.perf_counter()
    paths = J._clean(J.paths_expr(ev, od, lookback_days=30).to_pandas())
    dt = time.perf_counter() - t
    rows.append(
        {
            "stage": "journeys (paths from events)",
            "n": args.events,
            "seconds": dt,
            "peak_mb": _max_rss_mb(),
            "peak_kind": "process max RSS",
            "rss_before_mb": rss0,
            "target_seconds": 60,
            "ok": dt < 60,
            "paths": len(paths),
            "conversions": int(paths["conversions"].sum()),
        }
    )
    con.disconnect()

    # 2. Markov 1-3, Shapley on those paths
    for order in (1, 2, 3):
        res, dt, peak = timed(A.markov, paths, order=order)
        rows.append(
            {
                "stage": f"markov order {order}",
                "n": len(paths),
                "seconds": dt,
                "peak_mb": peak,
                "peak_kind": "tracemalloc",
                "states": res.n_states,
            }
        )
    res, dt, peak = timed(A.shapley, paths)
    rows.append(
        {"stage": "shapley (exact)", "n": len(paths), "seconds": dt, "peak_mb": peak,
         "peak_kind": "tracemalloc", "channels": int(res["channel"].nunique())}
    )  # fmt: skip
    ca = channel_attribution(paths[paths["path"] != ""], order=1)
    if ca is not None:
        ours = A.markov(paths, order=1).credits.set_index("channel")["conversions"]
        diff = (ours - ca[0].reindex(ours.index)).abs()
        # the simulation's own noise: the same call with another seed
        ca2 = channel_attribution(paths[paths["path"] != ""], order=1, seed=1)
        noise = (ca2[0] - ca[0]).abs()
        rows.append(
            {"stage": "ChannelAttribution markov order 1 (journey paths)", "n": len(paths),
             "seconds": ca[1], "max_abs_diff_conversions": float(diff.max()),
             "max_rel_diff": float((diff / ours).max()),
             "ca_seed_to_seed_max_abs_diff": float(noise.max())}
        )  # fmt: skip

    # 3. Markov order 1 on ~1M distinct paths vs ChannelAttribution
    big = distinct_paths(args.paths)
    res, dt, peak = timed(A.markov, big, order=1)
    ours_row = {
        "stage": "markov order 1 (distinct paths)",
        "n": len(big),
        "seconds": dt,
        "peak_mb": peak,
        "peak_kind": "tracemalloc",
    }
    rows.append(ours_row)
    ca = channel_attribution(big, order=1)
    if ca is not None:
        ours = res.credits.set_index("channel")["conversions"]
        diff = (ours - ca[0].reindex(ours.index)).abs()
        rows.append(
            {
                "stage": "ChannelAttribution markov order 1 (distinct paths)",
                "n": len(big),
                "seconds": ca[1],
                "max_abs_diff_conversions": float(diff.max()),
                "max_rel_diff": float((diff / ours).max()),
                "total_conversions": float(big["conversions"].sum()),
            }
        )
        ours_row["faster_than_channelattribution"] = bool(dt < ca[1])
        ours_row["speedup"] = ca[1] / dt

    table = pd.DataFrame(list(rows))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
