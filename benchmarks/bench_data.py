"""Benchmark: synthetic source -> load + validate (+ quarantine, normalise, OneID), 10k -> 1M users.

Targets (issue #2): 1M users (about 20 events and 2 orders per user) loaded and validated in
under 60 s and under 6 GB peak on a 2-core machine. Each (stage, size) runs in a fresh child
process so its peak memory is its own: the maximum resident set size from
``resource.getrusage`` (``ru_maxrss``) covers DuckDB's native allocations, which tracemalloc
does not see. Stages: ``synth`` (``growthlab.data.synth.write`` to files) and ``load``
(``growthlab.data.load`` of those files with the default as_of, timings per internal stage).

    .venv/bin/python benchmarks/bench_data.py [--sizes 10000 100000 1000000] [--fmt parquet|csv]

Prints a table and writes benchmarks/results/data.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "data.json"
TARGET_SECONDS = 60.0
TARGET_GB = 6.0


def _child(stage: str, folder: str, n: int, fmt: str) -> dict:
    """Run one stage in this (fresh) process and return its measurements."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    out: dict = {"stage": stage, "users": n, "fmt": fmt}
    if stage == "synth":
        from growthlab.data import synth

        synth.write(folder, n_users=n, seed=0, fmt=fmt)
        out["bytes"] = sum(f.stat().st_size for f in Path(folder).iterdir())
    else:
        from growthlab.data import load

        ds = load(folder)
        out["rows"] = {r.table: int(r.rows_source) for r in ds.quality.tables.itertuples()}
        out["quarantined"] = ds.quality.counts()
        out["stages"] = {k: round(v, 2) for k, v in ds.timings.items()}
        truth = json.loads((Path(folder) / "truth.json").read_text(encoding="utf-8"))
        out["dirty_matches_truth"] = all(
            out["quarantined"].get(rule, 0) == cnt
            for rule, cnt in truth["dirty"].items()
            if rule != "unknown_channel"
        )
        ds.close()
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["cpu_seconds"] = round(time.process_time() - c0, 2)
    out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def _run(stage: str, folder: Path, n: int, fmt: str) -> dict:
    cmd = [sys.executable, __file__, "--child", stage, str(folder), str(n), fmt]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{stage} at {n:,} users failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--fmt", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        stage, folder, n, fmt = args.child
        print(json.dumps(_child(stage, folder, int(n), fmt)))
        return 0

    rows = []
    for n in args.sizes:
        tmp = Path(tempfile.mkdtemp(prefix="growthlab-bench-"))
        try:
            folder = tmp / "source"
            s = _run("synth", folder, n, args.fmt)
            ld = _run("load", folder, n, args.fmt)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        rows.append({"synth": s, "load": ld})
        ev = ld["rows"].get("events", 0)
        print(
            f"{n:>10,} users {ev:>11,} events | synth {s['seconds']:7.1f} s "
            f"{s['peak_mb']:7.0f} MB | load+validate {ld['seconds']:7.1f} s "
            f"(cpu {ld['cpu_seconds']:6.1f} s) {ld['peak_mb']:7.0f} MB | "
            f"dirty==truth {ld['dirty_matches_truth']}",
            flush=True,
        )
    big = [r for r in rows if r["load"]["users"] >= 1_000_000]
    verdict = None
    if big:
        ld = big[-1]["load"]
        verdict = {
            "seconds_ok": ld["seconds"] < TARGET_SECONDS,
            "memory_ok": ld["peak_mb"] / 1024 < TARGET_GB,
        }
        print(
            f"1M target (< {TARGET_SECONDS:.0f} s, < {TARGET_GB:.0f} GB): "
            f"time {'OK' if verdict['seconds_ok'] else 'MISSED'}, "
            f"memory {'OK' if verdict['memory_ok'] else 'MISSED'}"
        )
    result = {
        "benchmark": "data: synth + load + validate",
        "format": args.fmt,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg()[0],
            "note": "shared 2-core box; wall times are inflated by other jobs (see cpu_seconds)",
        },
        "targets": {"seconds": TARGET_SECONDS, "peak_gb": TARGET_GB},
        "verdict_1m": verdict,
        "runs": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
