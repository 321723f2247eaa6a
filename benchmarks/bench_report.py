"""Benchmark: the whole report (``growthlab run``), cold and warm, at growing sizes (issue #13).

Targets on a 2-core machine: 1M users (~25M events) cold — a fresh validated-load cache, as a
user's first run on new data — under 180 s wall and the whole process tree (runner + workers +
kernels) under 8 GB peak RSS; 100k users under 45 s; the default 20k sample under 30 s. Each
notebook within 10x of a plain DuckDB scan of the tables it reads (measured in the same
benchmark run), and at most 10x growth per notebook from 100k to 1M users.

For each size the source is made with ``growthlab synth --users N --format parquet`` into
``--data-dir`` (default ``~/.cache/growthlab-bench/users-N``) and reused when present. Then:

- ``floor``: a plain DuckDB pass over every source table (``SELECT count(*),
  sum(hash(COLUMNS(*)))``: every column read and hashed; best of ``--floor-repeats``, in a fresh
  process, default threads). A notebook's floor is the sum over the tables it reads
  (:data:`NOTEBOOK_TABLES`);
- ``cold``: ``growthlab run --source SRC`` with a fresh, empty ``GROWTHLAB_CACHE_DIR``;
- ``warm``: the same again, reusing that cache folder.

Runs use a copy of ``src/``, ``notebooks/`` and ``runs/`` taken at the start (``--code`` picks
another tree, ``--no-snapshot`` the live one), so edits made while it runs do not leak in.

While a run executes, ``/proc`` is sampled every ``--interval`` seconds: the resident set of
every process of the run's tree (summed: the peak is ``peak_rss_mb``; PSS, which counts shared
pages once, every 5th sample as ``peak_pss_mb``), each Jupyter kernel's CPU time (attributed to its notebook by
the ``GROWTHLAB_NOTEBOOK`` variable the runner sets), and the load average. Per-notebook wall
time comes from the run's ``manifest.json``; ``ratio_to_floor`` = wall / floor; ``phases``
splits it by papermill's timestamps (kernel start, first cell = imports and load, all cells,
kernel shutdown) to show the fixed cost of a notebook apart from its queries.

    .venv/bin/python benchmarks/bench_report.py [--sizes 100000 1000000] [--modes cold warm]
    .venv/bin/python benchmarks/bench_report.py --sizes 2000 --modes cold   # CI smoke test
    .venv/bin/python benchmarks/bench_report.py --source data/sample        # an existing source

Prints a table and writes benchmarks/results/report.json (``--out`` to change).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "report.json"
DATA_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "growthlab-bench"
BIN = Path(sys.executable).parent

#: Source tables each notebook reads (its DuckDB-scan floor is the sum of their scan times).
NOTEBOOK_TABLES: dict[str, tuple[str, ...]] = {
    "01_data_quality": (
        "users",
        "referrals",
        "events",
        "orders",
        "identities",
        "costs",
        "assignments",
        "paths",
    ),
    "02_referral": ("users", "referrals", "events", "orders"),
    "03_segments_value": ("users", "referrals", "events", "orders"),
    "04_attribution_funnel": ("users", "events", "orders", "costs", "paths"),
    "05_monitoring": ("users", "referrals", "events", "orders"),
    "06_experiments": ("assignments", "events", "orders"),
    "00_summary": ("users", "referrals", "events", "orders"),
}
#: (users at most, seconds) for a cold run: the issue's wall-time targets.
WALL_TARGETS = ((20_000, 30.0), (100_000, 45.0), (1_000_000, 180.0))
TARGET_PEAK_GB = 8.0
TARGET_RATIO = 10.0
TARGET_GROWTH = 10.0
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------ sources


def ensure_source(n: int, data_dir: Path) -> tuple[Path, float | None]:
    """The synthetic Parquet source of ``n`` users (made once; returns (folder, synth seconds))."""
    folder = data_dir / f"users-{n}"
    if (folder / "truth.json").is_file():
        return folder, None
    tmp = data_dir / f".users-{n}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cmd = [str(BIN / "growthlab"), "synth", "--users", str(n), "--format", "parquet"]
    subprocess.run([*cmd, "--out", str(tmp)], check=True, stdout=subprocess.DEVNULL)
    secs = time.perf_counter() - t0
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder, secs


def _table_files(source: Path) -> dict[str, Path]:
    out = {}
    for f in sorted(source.iterdir()):
        name = f.name.split(".")[0]
        if f.suffix in (".parquet", ".csv", ".gz") and name not in out:
            out[name] = f
    return out


_FLOOR_CHILD = r"""
import json, sys, time, duckdb
files, repeats = json.loads(sys.argv[1]), int(sys.argv[2])
con = duckdb.connect()
out = {}
for name, path in files.items():
    q = f"SELECT count(*), sum(hash(COLUMNS(*))) FROM '{path}'"
    best = None
    for _ in range(repeats):
        t = time.perf_counter()
        rows = con.execute(q).fetchone()[0]
        s = time.perf_counter() - t
        best = s if best is None else min(best, s)
    out[name] = {"seconds": round(best, 3), "rows": int(rows)}
print(json.dumps(out))
"""


def scan_floor(source: Path, repeats: int = 2) -> dict[str, dict]:
    """Seconds of a plain DuckDB pass over each table of ``source`` (fresh process)."""
    files = {k: str(v) for k, v in _table_files(source).items()}
    cmd = [sys.executable, "-c", _FLOOR_CHILD, json.dumps(files), str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ sampling


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _kids(pid: int) -> list[int]:
    out = []
    for tid in os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else ():
        raw = _read(f"/proc/{pid}/task/{tid}/children")
        if raw:
            out.extend(int(x) for x in raw.split())
    return out


def _tree(root: int) -> list[int]:
    """``root`` and its descendants (walking /proc/PID/task/TID/children: cheap)."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            todo.extend(_kids(pid))
        except OSError:
            pass
    return out


def _pss_kb(pid: int) -> int:
    raw = _read(f"/proc/{pid}/smaps_rollup")
    if raw is None:
        return 0
    for line in raw.splitlines():
        if line.startswith(b"Pss:"):
            return int(line.split()[1])
    return 0


class TreeSampler(threading.Thread):
    """Samples RSS/PSS of a process tree, each kernel's CPU time and the load average."""

    #: PSS (smaps_rollup walks the page tables: costly for large processes) every Nth sample
    PSS_EVERY = 5

    def __init__(self, root: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.stop = threading.Event()
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_procs = 0
        self.kernel_cpu: dict[str, dict[int, float]] = {}
        self._roles: dict[int, str | None] = {}
        self.loads: list[float] = []
        self.samples = 0

    def _notebook(self, pid: int) -> str | None:
        if pid in self._roles:
            return self._roles[pid]
        cmd = _read(f"/proc/{pid}/cmdline") or b""
        if b"ipykernel" not in cmd:
            return None  # not remembered: a process just forked shows its parent's command line
        name = None
        env = _read(f"/proc/{pid}/environ") or b""
        for item in env.split(b"\0"):
            if item.startswith(b"GROWTHLAB_NOTEBOOK="):
                name = item.split(b"=", 1)[1].decode()
        self._roles[pid] = name
        return name

    def sample(self) -> None:
        rss = pss = 0
        pids = _tree(self.root)
        with_pss = self.samples % self.PSS_EVERY == 0
        for pid in pids:
            statm = _read(f"/proc/{pid}/statm")
            if statm is None:
                continue
            rss += int(statm.split()[1]) * _PAGE
            if with_pss:
                pss += _pss_kb(pid) * 1024
            name = self._notebook(pid)
            if name is not None:
                stat = _read(f"/proc/{pid}/stat")
                if stat is not None:
                    f = stat[stat.rfind(b")") + 2 :].split()
                    cpu = (int(f[11]) + int(f[12])) / _TICK
                    self.kernel_cpu.setdefault(name, {})[pid] = cpu
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_procs = max(self.peak_procs, len(pids))
        self.loads.append(os.getloadavg()[0])
        self.samples += 1

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)


# ------------------------------------------------------------------------------ runs


def _parse_iso(s: str) -> float:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def snapshot(code: Path, dest: Path) -> Path:
    """Copy ``src``, ``notebooks`` and ``runs`` of the tree ``code`` to ``dest`` (returned).

    Runs then import growthlab and read notebooks from the copy, so edits made to the working
    tree while a long benchmark runs (say, by a colleague) neither leak into the measurement nor
    change the validated-load cache key (which covers the data layer's source) halfway.
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    for part in ("src", "notebooks", "runs"):
        shutil.copytree(code / part, dest / part, ignore=ignore)
    return dest


def phases(ipynb: Path) -> dict[str, float] | None:
    """Where a notebook's seconds went, from papermill's timestamps in the executed notebook.

    ``kernel_start``: papermill's start to the first cell (kernel launched and ready);
    ``first_cell``: the first code cell after the parameters (imports, ``data.load`` and, in
    some notebooks, the first query); ``cells``: every cell; ``slowest_cell``: the slowest one
    (its index in ``slowest_index``); ``after_cells``: the last cell's end to papermill's end
    (kernel shutdown, final save).
    """
    try:
        nb = json.loads(ipynb.read_text(encoding="utf-8"))
        pm = nb["metadata"]["papermill"]
        t0, t1 = _parse_iso(pm["start_time"]), _parse_iso(pm["end_time"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    cells = []
    for i, c in enumerate(nb.get("cells", [])):
        m = c.get("metadata", {}).get("papermill", {})
        if c.get("cell_type") == "code" and m.get("start_time") and m.get("end_time"):
            tags = c.get("metadata", {}).get("tags", [])
            cells.append((i, _parse_iso(m["start_time"]), _parse_iso(m["end_time"]), tags))
    if not cells:
        return None
    first = next(
        (c for c in cells if not {"parameters", "injected-parameters"} & set(c[3])), cells[0]
    )
    slow = max(cells, key=lambda c: c[2] - c[1])
    return {
        "kernel_start": round(cells[0][1] - t0, 2),
        "first_cell": round(first[2] - first[1], 2),
        "cells": round(sum(c[2] - c[1] for c in cells), 2),
        "slowest_cell": round(slow[2] - slow[1], 2),
        "slowest_index": slow[0],
        "after_cells": round(t1 - cells[-1][2], 2),
    }


def run_report(
    source: Path,
    config: Path,
    cache_dir: Path,
    out: Path,
    interval: float,
    extra: list[str],
    pythonpath: Path | None = None,
) -> dict:
    """One ``growthlab run`` of ``source`` with ``cache_dir``; returns its measurements."""
    env = dict(os.environ, GROWTHLAB_CACHE_DIR=str(cache_dir))
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(pythonpath), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    cmd = [str(BIN / "growthlab"), "run", "--config", str(config), "--source", str(source)]
    cmd += ["--out", str(out), *extra]
    load_before = os.getloadavg()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t_start = time.time()
    t0 = time.perf_counter()
    log = out.parent / f"{out.name}.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid, interval)
        sampler.start()
        code = proc.wait()
        sampler.stop.set()
        sampler.join()
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    runs = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    runs = [p for p in runs if (p / "manifest.json").is_file()]
    manifest = json.loads((runs[-1] / "manifest.json").read_text()) if runs else {}
    notebooks = {}
    for e in manifest.get("notebooks", []):
        kcpu = sampler.kernel_cpu.get(e["name"], {})
        notebooks[e["name"]] = {
            "status": e.get("status"),
            "seconds": e.get("duration_s"),
            "cpu_seconds": round(sum(kcpu.values()), 2) if kcpu else None,
            "error": e.get("error"),
            "phases": phases(runs[-1] / e["ipynb"]) if runs and e.get("ipynb") else None,
        }
    prepare = None
    if manifest.get("started_at"):
        prepare = round(_parse_iso(manifest["started_at"]) - t_start, 2)
    tail = log.read_text(errors="replace").splitlines()[-5:] if code else []
    return {
        "exit_code": code,
        "status": manifest.get("status"),
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "prepare_seconds": prepare,  # config + validation (or cache attach) before notebooks
        "peak_rss_mb": round(sampler.peak_rss / 2**20, 1),
        "peak_pss_mb": round(sampler.peak_pss / 2**20, 1),
        "peak_processes": sampler.peak_procs,
        "samples": sampler.samples,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "loadavg_mean_1m": round(sum(sampler.loads) / len(sampler.loads), 2)
        if sampler.loads
        else None,
        "notebooks": notebooks,
        "log_tail": tail,
    }


def wall_target(n: int) -> float | None:
    for limit, secs in WALL_TARGETS:
        if n <= limit:
            return secs
    return None


def _ratios(res: dict, floor: dict[str, dict]) -> None:
    for name, nb in res["notebooks"].items():
        tables = NOTEBOOK_TABLES.get(name, ())
        f = sum(floor[t]["seconds"] for t in tables if t in floor)
        nb["floor_seconds"] = round(f, 3) if tables else None
        ok = nb["seconds"] is not None and f > 0
        nb["ratio_to_floor"] = round(nb["seconds"] / f, 1) if ok else None


def _fmt(x, spec=".1f", none="-") -> str:
    return none if x is None else format(x, spec)


def print_table(rows: list[dict]) -> None:
    names = []
    for r in rows:
        for n in r["notebooks"]:
            if n not in names:
                names.append(n)
    short = [n[:2] for n in names]
    head = f"{'users':>9} {'mode':5} {'status':8} {'wall s':>7} {'cpu s':>7} {'prep s':>6} "
    head += " ".join(f"{s + ' s(cpu)':>12}" for s in short)
    head += f" {'peak RSS':>9} {'PSS':>7} {'load':>16}"
    print(head)
    for r in rows:
        line = f"{r['users']:>9,} {r['mode']:5} {r['status'] or '?':8} {r['seconds']:7.1f} "
        line += f"{r['cpu_seconds']:7.1f} {_fmt(r['prepare_seconds']):>6} "
        cells = []
        for n in names:
            nb = r["notebooks"].get(n)
            if nb is None:
                cells.append(f"{'':>12}")
                continue
            mark = "" if nb["status"] == "ok" else "!"
            cells.append(
                f"{_fmt(nb['seconds']) + mark + '(' + _fmt(nb['cpu_seconds'], '.0f') + ')':>12}"
            )
        line += " ".join(cells)
        load = "/".join(f"{x:.1f}" for x in r["loadavg_before"])
        line += f" {r['peak_rss_mb'] / 1024:7.2f}GB {r['peak_pss_mb'] / 1024:5.2f}GB {load:>16}"
        print(line)
    print(
        "\nper notebook: kernel start / first cell (imports, load) / all cells / after cells (s):"
    )
    for r in rows:
        cells = []
        for n in names:
            ph = (r["notebooks"].get(n) or {}).get("phases") or {}
            keys = ("kernel_start", "first_cell", "cells", "after_cells")
            cells.append("/".join(_fmt(ph.get(k)) for k in keys) if ph else "-")
        print(
            f"{r['users']:>9,} {r['mode']:5} "
            + " ".join(f"{n[:2]} {c:<18}" for n, c in zip(short, cells, strict=True))
        )
    print("\nratio to the DuckDB-scan floor of the tables each notebook reads (wall / floor):")
    print(f"{'users':>9} {'mode':5} {'floor s':>8} " + " ".join(f"{s:>7}" for s in short))
    for r in rows:
        cells = [_fmt(r["notebooks"].get(n, {}).get("ratio_to_floor")) for n in names]
        line = f"{r['users']:>9,} {r['mode']:5} {r['floor_total_seconds']:8.2f} "
        print(line + " ".join(f"{c:>7}" for c in cells))


def growth(rows: list[dict]) -> list[dict]:
    """Per mode, per notebook: wall at the largest size / wall at the next smaller size."""
    out = []
    for mode in sorted({r["mode"] for r in rows}):
        rs = sorted((r for r in rows if r["mode"] == mode), key=lambda r: r["users"])
        for a, b in zip(rs, rs[1:], strict=False):
            g = {}
            for name, nb in b["notebooks"].items():
                pa = a["notebooks"].get(name, {}).get("seconds")
                if pa and nb["seconds"] is not None:
                    g[name] = round(nb["seconds"] / pa, 2)
            out.append({"mode": mode, "from": a["users"], "to": b["users"], "growth": g})
    return out


def verdict(rows: list[dict], grow: list[dict]) -> dict:
    checks = []
    for r in rows:
        t = wall_target(r["users"])
        if r["mode"] == "cold" and t is not None:
            checks.append(
                {"check": f"{r['users']:,} cold wall < {t:.0f} s", "ok": r["seconds"] < t}
            )
        if r["mode"] == "cold":
            checks.append(
                {
                    "check": f"{r['users']:,} cold peak RSS < {TARGET_PEAK_GB:.0f} GB",
                    "ok": r["peak_rss_mb"] / 1024 < TARGET_PEAK_GB,
                }
            )
        checks.append({"check": f"{r['users']:,} {r['mode']} succeeded", "ok": r["exit_code"] == 0})
        worst = [
            (n, nb["ratio_to_floor"])
            for n, nb in r["notebooks"].items()
            if nb.get("ratio_to_floor") is not None
        ]
        if worst and r["users"] >= 100_000:
            n, x = max(worst, key=lambda p: p[1])
            checks.append(
                {
                    "check": f"{r['users']:,} {r['mode']} every notebook <= {TARGET_RATIO:.0f}x floor"
                    f" (worst {n} {x}x)",
                    "ok": x <= TARGET_RATIO,
                }
            )
    for g in grow:
        if g["growth"] and g["to"] >= 10 * g["from"] * 0.99:
            n, x = max(g["growth"].items(), key=lambda p: p[1])
            checks.append(
                {
                    "check": f"{g['mode']} growth {g['from']:,}->{g['to']:,} <= "
                    f"{TARGET_GROWTH:.0f}x per notebook (worst {n} {x}x)",
                    "ok": x <= TARGET_GROWTH,
                }
            )
    return {"checks": checks, "all_ok": all(c["ok"] for c in checks)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--source", type=Path, nargs="*", default=[], help="existing source folders")
    ap.add_argument("--modes", nargs="+", choices=["cold", "warm"], default=["cold", "warm"])
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR)
    ap.add_argument(
        "--config", type=Path, default=Path("runs/default.yaml"), help="relative to --code"
    )
    ap.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="tree whose src/, notebooks/ and runs/ are benchmarked (default: this checkout)",
    )
    ap.add_argument(
        "--no-snapshot",
        action="store_true",
        help="run the live tree instead of a copy taken at the start",
    )
    ap.add_argument("--interval", type=float, default=0.2, help="sampling period (s)")
    ap.add_argument("--floor-repeats", type=int, default=2)
    ap.add_argument("--label", default=None, help="free text stored in the JSON (e.g. 'before')")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--keep", action="store_true", help="keep the report folders and logs")
    ap.add_argument("-p", dest="params", action="append", default=[], help="run -p key=value")
    args = ap.parse_args(argv)

    sources: list[tuple[int | None, Path, float | None]] = []
    for n in args.sizes:
        folder, synth_s = ensure_source(n, args.data_dir)
        sources.append((n, folder, synth_s))
    for folder in args.source:
        sources.append((None, folder.resolve(), None))
    extra = [x for p in args.params for x in ("-p", p)]
    work = Path(tempfile.mkdtemp(prefix="growthlab-bench-report-"))
    rows: list[dict] = []
    try:
        code = args.code.resolve()
        if args.no_snapshot:
            pythonpath = code / "src" if code != ROOT else None
        else:
            code = snapshot(code, work / "code")
            pythonpath = code / "src"
        config = args.config if args.config.is_absolute() else code / args.config
        for n, folder, synth_s in sources:
            floor = scan_floor(folder, args.floor_repeats)
            users = n if n is not None else floor.get("users", {}).get("rows", 0)
            print(
                f"source {folder} ({users:,} users, "
                f"{floor.get('events', {}).get('rows', 0):,} events): DuckDB scan floor "
                + ", ".join(f"{t} {v['seconds']:.2f} s" for t, v in floor.items()),
                flush=True,
            )
            cache = work / f"cache-{users}"
            cache.mkdir()
            for mode in args.modes:
                if mode == "cold":
                    shutil.rmtree(cache)
                    cache.mkdir()
                out = work / f"report-{users}-{mode}"
                res = run_report(folder, config, cache, out, args.interval, extra, pythonpath)
                res.update(
                    users=users,
                    mode=mode,
                    source=str(folder),
                    synth_seconds=round(synth_s, 1) if synth_s else None,
                    floor=floor,
                    floor_total_seconds=round(sum(v["seconds"] for v in floor.values()), 3),
                )
                _ratios(res, floor)
                rows.append(res)
                nbs = ", ".join(
                    f"{k[:2]} {_fmt(v['seconds'])}" for k, v in res["notebooks"].items()
                )
                print(
                    f"  {mode}: {res['status']} in {res['seconds']:.1f} s "
                    f"(peak {res['peak_rss_mb'] / 1024:.2f} GB; load {res['loadavg_before'][0]:.2f}"
                    f"->{res['loadavg_after'][0]:.2f}) [{nbs}]",
                    flush=True,
                )
                if res["exit_code"] not in (0, 1):
                    print("\n".join(res["log_tail"]), file=sys.stderr)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print_table(rows)
    grow = growth(rows)
    for g in grow:
        print(
            f"growth {g['mode']} {g['from']:,} -> {g['to']:,}: "
            + ", ".join(f"{k[:2]} {v}x" for k, v in g["growth"].items())
        )
    ver = verdict(rows, grow)
    for c in ver["checks"]:
        print(f"  [{'ok' if c['ok'] else 'MISSED'}] {c['check']}")
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = None
    result = {
        "benchmark": "report: growthlab run, whole report, cold and warm",
        "label": args.label,
        "git_commit": commit,
        "code": str(args.code.resolve()),
        "snapshot": not args.no_snapshot,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "note": "shared machine: see each run's loadavg_before / loadavg_mean_1m",
        },
        "targets": {
            "cold_wall_seconds": {str(k): v for k, v in WALL_TARGETS},
            "peak_gb": TARGET_PEAK_GB,
            "ratio_to_floor": TARGET_RATIO,
            "growth_100k_to_1m": TARGET_GROWTH,
        },
        "notebook_tables": NOTEBOOK_TABLES,
        "runs": rows,
        "growth": grow,
        "verdict": ver,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0 if all(r["exit_code"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
