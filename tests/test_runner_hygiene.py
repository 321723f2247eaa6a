"""Process hygiene (issue #10): when `growthlab run` dies, even by SIGKILL, its workers and
Jupyter kernels end within seconds and nothing writes into the run's temporary folder.

The notebooks here record a metric every 0.2 s (the kernel writes into ``.tmp-<run>/.metrics``)
for longer than the test lasts, so a surviving kernel or worker would show up as a live process
or as a file changing after the runner is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

GROWTHLAB = Path(sys.executable).with_name("growthlab")

TICK = """\
import time

from growthlab import metrics, report

metrics.define("ticks", "Ticks", "计数", "count", "loop iterations (test)")
t0 = time.monotonic()
i = 0
while time.monotonic() - t0 < seconds:
    i += 1
    report.record("ticks", i)
    time.sleep(0.2)
"""


def _ticking_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("seconds = 60")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(TICK)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


def _config(tmp: Path, names: list[str], jobs: int) -> Path:
    src = tmp / "src"
    src.mkdir(exist_ok=True)
    (src / "users.csv").write_text("user_id,signup_at\nT1,2025-01-01\nT2,2025-01-02\n")
    lines = [f"name: hyg{jobs}", f"source: {src}", f"jobs: {jobs}", "notebooks:"]
    for name in names:
        lines.append(f"  - {{name: {name}, path: {_ticking_notebook(tmp / f'{name}.ipynb')}}}")
    cfg = tmp / f"hyg{jobs}.yaml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cfg


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def _descendants(pid: int) -> dict[int, tuple[int, str]]:
    """Every live descendant: pid -> (start time, command line)."""
    found: dict[int, tuple[int, str]] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            for c in children:
                st = _stat(c)
                if c in found or st is None:
                    continue
                try:
                    cmd = Path(f"/proc/{c}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    cmd = ""
                found[c] = (st[1], cmd)
                todo.append(c)
    return found


def _alive(procs: dict[int, tuple[int, str]]) -> dict[int, str]:
    """The processes of ``procs`` still running (zombies and reused pids do not count)."""
    out = {}
    for pid, (start, cmd) in procs.items():
        st = _stat(pid)
        if st is not None and st[1] == start and st[0] not in "ZX":
            out[pid] = cmd
    return out


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.mark.parametrize("jobs", [2, 1])
def test_sigkilled_runner_leaves_no_process_and_no_writes(tmp_path, jobs):
    names = ["tick_a", "tick_b"]
    cfg = _config(tmp_path, names, jobs)
    out = tmp_path / "reports"
    proc = subprocess.Popen(
        [str(GROWTHLAB), "run", "--config", str(cfg), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Running = every notebook that runs at once has recorded a tick (its kernel is busy).
        busy = names if jobs > 1 else names[:1]
        deadline = time.monotonic() + 60
        tmp = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            tmps = list(out.glob(".tmp-*")) if out.exists() else []
            if tmps and all((tmps[0] / ".metrics" / f"{n}.json").exists() for n in busy):
                tmp = tmps[0]
                break
            time.sleep(0.2)
        assert tmp is not None, "the notebooks never started"
        procs = _descendants(proc.pid)
        kernels = [c for c, cmd in procs.values() if "ipykernel" in cmd]
        assert len(kernels) == len(busy), procs
        if jobs > 1:
            assert sum("multiprocessing" in cmd for _, cmd in procs.values()) >= jobs, procs

        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        gone = time.time()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()

    deadline = time.monotonic() + 10
    while _alive(procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = _alive(procs)
    for pid in survivors:  # do not leave them running when the test fails
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not survivors, f"still running after the runner was killed: {survivors}"
    ended = time.monotonic()

    before = _snapshot(tmp)
    # The kill reaches the kernels through their dying parents within moments, not the
    # notebooks' 0.2 s between writes (ipykernel's own parent poller would take up to 1 s).
    assert max(before.values()) / 1e9 <= gone + 0.15, "the run folder was written after the kill"
    time.sleep(max(0.0, 3 - (time.monotonic() - ended)))
    assert _snapshot(tmp) == before, "the run folder changed after the runner was killed"
    ticks = json.loads((tmp / ".metrics" / f"{busy[0]}.json").read_text(encoding="utf-8"))
    assert ticks[busy[0]]["ticks"]["value"] >= 1
