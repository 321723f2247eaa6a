"""Benchmark: the campaign-economics step of the referral page (issue #16) at growing sizes.

Target: at 1M users the step (everything the campaign-economics section adds to 02_referral)
takes at most 10 % of the 1M cold report budget of ``bench_report.py`` (180 s on 2 cores),
i.e. 18 s, and adds little memory beyond the loaded dataset.

For each size the source is ``~/.cache/growthlab-bench/users-N`` (Parquet, made with
``growthlab synth --users N --format parquet`` when absent; an existing one is only read). The
step reads users, referrals, orders, identities (OneID, for the abuse flags) and costs, so a
temporary folder of symbolic links to those five files is loaded (events are never read by the
step; ``--all-tables`` loads the whole folder instead). Each size runs in a fresh child
process. Stages:

- ``load``: ``growthlab.data.load`` (validation, quarantine, OneID) - context, not the step;
- ``forest_abuse``: ``referral.forest`` + ``referral_abuse.suspicious_inviters`` (bursts and
  shared identities) - already computed by the referral page, context, not the step;
- the step: ``inputs`` (``data.campaigns.inputs``: engine aggregations), ``orders``
  (``data.campaigns.local_orders``), ``clv`` (``campaigns.fit_value``: BG/NBD + Gamma-Gamma with
  the value page's defaults, one fit), ``analyse`` (``campaigns.analyse``: costs,
  cascades, 1,000-draw bootstraps, payback, marginal returns), ``report`` (findings section
  with its tables in both languages and the chart).

The load average is sampled every second while each size runs (mean, max) and recorded with
the values before and after. Writes ``benchmarks/results/campaigns.json`` and prints a table.

    .venv/bin/python benchmarks/bench_campaigns.py [--sizes 100000 1000000] [--all-tables]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "campaigns.json"
DATA_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "growthlab-bench"
STEP_TABLES = ("users", "referrals", "orders", "identities", "costs")
STEP = ("inputs", "orders", "clv", "analyse", "report")
#: (users, seconds): the step's budget (10 % of bench_report's 1M cold target).
TARGET_SECONDS = 18.0
TARGET_USERS = 1_000_000


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _source(n: int) -> Path:
    src = DATA_DIR / f"users-{n}"
    if not (src / "users.parquet").exists():
        cli = Path(sys.executable).with_name("growthlab")
        cmd = [str(cli), "synth", "--users", str(n), "--format", "parquet", "--out", str(src)]
        subprocess.run(cmd, check=True)
    return src


def child(n: int, all_tables: bool) -> dict:
    """One size in this process: time every stage, return the record."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from growthlab import campaigns, data, plots, referral, referral_abuse, value
    from growthlab.data import campaigns as dc
    from growthlab.findings import campaigns as cfind
    from growthlab.plots import campaigns as cplots
    from growthlab.plots.theme import chart_png

    plots.apply()
    src = _source(n)
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-campaigns-") as tmp:
        if all_tables:
            folder = src
        else:
            folder = Path(tmp)
            for t in STEP_TABLES:
                (folder / f"{t}.parquet").symlink_to(src / f"{t}.parquet")
        t0 = time.perf_counter()
        ds = data.load(folder, as_of="2025-06-30")
        times["load"] = time.perf_counter() - t0
        rss_loaded = _status("VmRSS")

        t0 = time.perf_counter()
        users = ds.frame("users", columns=["user_id", "signup_at"])
        fo = referral.forest(ds.frame("referrals"), users)
        sus = referral_abuse.suspicious_inviters(fo, ds.persons, None)
        times["forest_abuse"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        flagged = campaigns.flagged_inviters(sus)
        cin = dc.inputs(ds, flagged)
        times["inputs"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        orders = dc.local_orders(ds)
        times["orders"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ltv = campaigns.fit_value(orders, value.last_full_day(ds.local(ds.as_of)))
        times["clv"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        econ = campaigns.analyse(cin, fo, flagged, ltv, as_of=ds.as_of)
        times["analyse"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for lang in ("en", "zh"):
            sec = cfind.economics_section(econ, 10, ds.currency, lang)
            fig = cplots.return_per_yuan(econ.table, lang=lang)
            chart_png(fig)
            plt.close(fig)
        times["report"] = time.perf_counter() - t0
        times["step"] = sum(times[k] for k in STEP)
        rows = {k: len(v) for k, v in cin.items() if hasattr(v, "__len__") and k != "as_of"}
        return {
            "users": n,
            "seconds": {k: round(v, 3) for k, v in times.items()},
            "rows": {
                **rows,
                "orders": len(orders) if orders is not None else 0,
                "cascades": len(econ.units),
                "flagged_inviters": len(flagged),
            },
            "campaigns": econ.table[["campaign_id", "cost", "ltv_cac", "verdict"]].to_dict(
                "records"
            ),
            "findings": len(sec.findings),
            "rss_loaded_mb": round(rss_loaded / 1024, 1),
            "peak_rss_mb": round(_status("VmHWM") / 1024, 1),
            "step_extra_rss_mb": round((_status("VmHWM") - rss_loaded) / 1024, 1),
        }


class _LoadSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.values: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.values.append(os.getloadavg()[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--all-tables", action="store_true", help="load every table of the source")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.all_tables), default=str))
        return 0
    results = []
    for n in args.sizes:
        sampler = _LoadSampler()
        before = os.getloadavg()
        sampler.start()
        cmd = [sys.executable, __file__, "--child", str(n)]
        if args.all_tables:
            cmd.append("--all-tables")
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        sampler.stop.set()
        sampler.join()
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        rec = json.loads(proc.stdout.strip().splitlines()[-1])
        loads = sampler.values or [os.getloadavg()[0]]
        rec["loadavg"] = {
            "before": [round(x, 2) for x in before],
            "after": [round(x, 2) for x in os.getloadavg()],
            "mean_1m": round(sum(loads) / len(loads), 2),
            "max_1m": round(max(loads), 2),
        }
        if n == TARGET_USERS:
            rec["target_seconds"] = TARGET_SECONDS
            rec["within_target"] = rec["seconds"]["step"] <= TARGET_SECONDS
        results.append(rec)
    head = ["users", "load", "forest_abuse", *STEP, "step", "peak MB", "load avg"]
    print(" | ".join(f"{h:>12}" for h in head))
    for r in results:
        s = r["seconds"]
        cells = [f"{r['users']:,}", *(f"{s[k]:.2f}" for k in ("load", "forest_abuse", *STEP))]
        cells += [f"{s['step']:.2f}", f"{r['peak_rss_mb']:.0f}", f"{r['loadavg']['mean_1m']:.2f}"]
        print(" | ".join(f"{c:>12}" for c in cells))
    out = {
        "benchmark": "campaigns",
        "target": f"step <= {TARGET_SECONDS} s at {TARGET_USERS:,} users",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "all_tables": args.all_tables,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
