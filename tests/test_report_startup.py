"""Start-up cost of a notebook (issue #13): what importing the report's modules pulls in, how
kernels start and what they leave behind.

At 100k users a notebook's queries take about a second; a kernel's start-up, its imports and its
shutdown were as much again. These tests hold the rules that keep them down, so a new import
does not silently undo them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from growthlab.report import runner

HEAVY = ("matplotlib", "seaborn", "scipy.stats", "sklearn", "statsmodels")


def _imported(code: str) -> set[str]:
    """Which of :data:`HEAVY` a fresh interpreter has imported after running ``code``."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_summary_page_imports_no_plotting_or_statistics_library():
    # the front page (00_summary) draws no chart and tests nothing
    code = (
        "from growthlab import data, report\n"
        "from growthlab.data import daily\n"
        "from growthlab.report import summary\n"
        "summary.lists_note('en')"
    )
    assert _imported(code) == set()


def test_scikit_learn_is_imported_by_clustering_only():
    # the referral page imports value (and so segments) for labels and CLV, never clusters
    code = "from growthlab import campaigns, referral, segments, value"
    assert "sklearn" not in _imported(code)
    assert "sklearn" in _imported(code + "\nimport numpy as np\nsegments.stability(np.eye(6), 2)")


def test_clustering_keeps_its_thread_limit():
    # threadpoolctl limits only the libraries loaded when the limit is entered: importing
    # scikit-learn inside it would leave K-Means with every core (slower on a busy machine)
    code = """
import json, numpy as np, pandas as pd
from threadpoolctl import threadpool_info
from growthlab import segments
seen = []
fit = segments._cluster
def spy(*a):
    seen.extend(i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openmp")
    return fit(*a)
segments._cluster = spy
rng = np.random.default_rng(0)
segments.cluster(pd.DataFrame(rng.normal(size=(60, 3)), columns=list("abc")), k=2, n_threads=1)
print(json.dumps(seen))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen and set(seen) == {1}


def test_kernel_command_drops_the_debugger_only_for_ipykernel():
    spec = ["/v/bin/python", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{cf}"]
    lean = runner._lean_kernel_cmd(spec)
    # the runner's own interpreter, whatever Python the kernelspec names
    assert lean[0] == sys.executable and lean[-2:] == ["-f", "{cf}"]
    assert "-Xfrozen_modules=off" not in lean and "ipykernel_launcher" not in lean
    assert lean[lean.index("-c") + 1] == runner._KERNEL_LAUNCHER
    other = ["/usr/bin/R", "--slave", "-e", "IRkernel::main()", "--args", "{cf}"]
    assert runner._lean_kernel_cmd(other) == other


PROBE = """\
import json, os, sys, tempfile

kept = tempfile.mkdtemp(prefix="left-behind-")  # a killed kernel never removes it
open(os.path.join(kept, "spill.bin"), "wb").write(b"x" * 1000)
with open(out_file, "w") as fh:
    debugger = sys.modules.get("debugpy") is not None or "pydevd" in sys.modules
    json.dump({"tmp": tempfile.gettempdir(), "kept": kept, "debugger": debugger}, fh)
"""


def _probe_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('out_file = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(PROBE)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


def test_kernel_folders_of_dead_runners_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs
    dead = tmp_path / f"{runner.KERNEL_TMP_PREFIX}{gone.pid}-abc"
    alive = tmp_path / f"{runner.KERNEL_TMP_PREFIX}{os.getpid()}-abc"
    other = tmp_path / "growthlab-kernels-notapid"
    for d in (dead, alive, other):
        (d / "growthlab-x").mkdir(parents=True)
    assert runner._remove_stale_kernel_tmp() == [dead]
    assert not dead.exists() and alive.exists() and other.exists()


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_kernels_start_without_debugger_and_leave_no_temporary_files(tmp_path, jobs):
    src = tmp_path / "src"
    src.mkdir()
    (src / "users.csv").write_text("user_id,signup_at\nT1,2025-01-01\nT2,2025-01-02\n")
    names = ["probe_a", "probe_b"]
    lines = [f"name: startup{jobs}", f"source: {src}", f"jobs: {jobs}", "notebooks:"]
    for name in names:
        nb = _probe_notebook(tmp_path / f"{name}.ipynb")
        out_file = tmp_path / f"{name}.json"
        lines.append(f"  - {{name: {name}, path: {nb}, parameters: {{out_file: '{out_file}'}}}}")
    cfg = tmp_path / "startup.yaml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert runner.run(config=cfg, out=tmp_path / "reports") == 0
    for name in names:
        seen = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        assert seen["debugger"] is False  # the lean launcher ran
        # the kernel's temporary files lived in the run's folder, removed with it
        assert Path(seen["tmp"]).name.startswith(f"growthlab-kernels-{os.getpid()}-")
        assert Path(seen["kept"]).parent == Path(seen["tmp"])
        assert not Path(seen["tmp"]).exists()
