"""End-to-end: `growthlab run` on a small synthetic source (SPEC §5, issue #3).

Each run starts Jupyter kernels, so the runs are shared: one module-scoped pair of successful
runs feeds the layout/manifest/HTML/privacy checks; failure, invalid input, interruption and
concurrency each use their own output folder and tiny fixture notebooks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from growthlab import cli
from growthlab.errors import GrowthlabError
from growthlab.report import html as rhtml
from growthlab.report import index as rindex
from growthlab.report import runner, summary

pytestmark = pytest.mark.slow

FIX = Path(__file__).parent / "fixtures" / "report"
NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
GROWTHLAB = Path(sys.executable).with_name("growthlab")


def _config(tmp: Path, name: str, notebooks: list, source: str | Path) -> Path:
    lines = [f"name: {name}", f"notebook_dir: {FIX}", f"source: {source}", "notebooks:"]
    for nb in notebooks:
        lines.append(f"  - {nb}")
    p = tmp / f"{name}.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _runs(out: Path) -> list[Path]:
    return sorted(d for d in out.iterdir() if d.is_dir() and not d.is_symlink())


def _snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    return {
        str(p.relative_to(folder)): (
            p.stat().st_mtime_ns,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    from growthlab.data import synth

    out = tmp_path_factory.mktemp("src") / "small"
    synth.write(str(out), n_users=2000, seed=3)
    return out


@pytest.fixture(scope="module")
def tiny_source(tmp_path_factory) -> Path:
    """A 30-user source: validation is instant, for tests about the runner's mechanics."""
    out = tmp_path_factory.mktemp("tiny") / "src"
    out.mkdir()
    users = pd.DataFrame(
        {
            "user_id": [f"T{i:03d}" for i in range(30)],
            "signup_at": pd.date_range("2025-01-01", periods=30, freq="D").astype(str),
        }
    )
    users.to_csv(out / "users.csv", index=False)
    return out


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, source):
    """Two successful runs (fixture notebook + the real 00_summary) into one output folder."""
    tmp = tmp_path_factory.mktemp("runs")
    summary_entry = f"  - name: 00_summary\n    path: {NOTEBOOKS / '00_summary.ipynb'}\n"
    head = f"notebook_dir: {FIX}\nsource: {source}\nparameters: {{as_of: '2025-06-30'}}\n"
    cfg = tmp / "e2e.yaml"
    cfg.write_text(f"name: e2e\n{head}notebooks:\n  - ok\n  - tiny\n{summary_entry}")
    cfg2 = tmp / "e2e2.yaml"
    cfg2.write_text(f"name: e2e\n{head}notebooks:\n  - tiny\n{summary_entry}")
    out = tmp / "reports"
    code1 = cli.main(["run", "--config", str(cfg), "--out", str(out)])
    first = _runs(out)
    snap = {d.name: _snapshot(d) for d in first}
    time.sleep(1.1)  # distinct run ids / start times
    code2 = cli.main(["run", "--config", str(cfg2), "--out", str(out), "-p", "tiny.value=2"])
    return {"out": out, "codes": (code1, code2), "first": first, "snapshot": snap, "cfg": cfg}


def test_run_folder_layout(two_runs):
    out = two_runs["out"]
    assert two_runs["codes"] == (0, 0)
    runs = _runs(out)
    assert len(runs) == 2
    expected = {"00_summary.ipynb", "00_summary.html", "tiny.ipynb", "tiny.html"}
    expected |= {"metrics.json", "manifest.json", "index.html"}
    for d, extra in zip(runs, [{"ok.ipynb", "ok.html"}, set()], strict=True):
        assert {p.name for p in d.iterdir()} - {"tables"} == expected | extra
        # downloadable tables: tables/<notebook>/<name>.csv|.xlsx, one pair per table shown
        files = [p for p in (d / "tables").rglob("*") if p.is_file()]
        assert {p.parent.name for p in files} <= {"ok", "tiny", "00_summary"}
        assert {p.suffix for p in files} <= {".csv", ".xlsx"}
        assert len([p for p in files if p.suffix == ".csv"]) * 2 == len(files)
    assert any((d / "tables").rglob("*.csv") for d in runs)
    assert (out / "index.html").is_file()
    assert rindex.current_latest(out) == runs[-1].name
    assert (out / "latest" / "manifest.json").is_file()
    assert not list(out.glob(".tmp-*"))
    top = (out / "index.html").read_text(encoding="utf-8")
    assert top.index(runs[-1].name) < top.index(runs[0].name)  # newest first


def test_second_run_does_not_touch_the_first(two_runs):
    for name, snap in two_runs["snapshot"].items():
        assert _snapshot(two_runs["out"] / name) == snap


def test_manifest_content(two_runs, source):
    first, second = _runs(two_runs["out"])
    m = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "success" and m["exit_code"] == 0 and m["run_id"] == second.name
    assert m["previous_run"] == first.name
    assert [nb["name"] for nb in m["notebooks"]] == ["tiny", "00_summary"]
    assert all(nb["status"] == "ok" and nb["duration_s"] > 0 for nb in m["notebooks"])
    assert m["notebooks"][0]["parameters"]["value"] == 2
    assert m["notebooks"][0]["parameters"]["lang"] == "en"  # the notebook's default, shown
    assert m["parameters"]["source"] == str(source)
    users = next(f for f in m["inputs"]["source"] if f["path"] == "users.csv")
    assert users["sha256"] == hashlib.sha256((source / "users.csv").read_bytes()).hexdigest()
    assert len(m["inputs"]["notebooks"]) == 2 and m["inputs"]["config"]["sha256"]
    assert m["packages"]["papermill"] and m["packages"]["python"]
    assert "commit" in m["git"]
    assert m["period"] and m["period"].endswith("2025-06-30")


def test_html_is_self_contained_without_code_or_raw_ids(two_runs, source):
    ids = set(pd.read_csv(source / "users.csv", usecols=["user_id"], dtype=str)["user_id"])
    assert ids
    pages = list(two_runs["out"].glob("*/*.html"))
    assert len(pages) >= 5
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert rhtml.external_references(text) == [], page
        assert not re.search(r"<script[^>]+src=", text), page
        assert 'class="jp-InputArea-editor' not in text, page  # no code cell input
        tokens = set(re.findall(r"[A-Za-z0-9_\-]+", text))
        assert not (tokens & ids), f"raw user id in {page}"
        if page.name == "ok.html":
            assert "data.load(" not in text and "privacy.pseudonymise" not in text
            assert "data:image/png;base64," in text  # the chart is embedded
            assert 'class="gl-toc"' in text and "Data source" in text
            assert str(source) in text and "2025-06-30" in text


def test_summary_reports_recorded_numbers_and_changes(two_runs):
    first, second = _runs(two_runs["out"])
    m1 = summary.load_metrics(first / "metrics.json")
    m2 = summary.load_metrics(second / "metrics.json")
    assert m1["tiny"]["value"]["value"] == 1.0 and m2["tiny"]["value"]["value"] == 2
    assert m1["ok"]["users"]["value"] > 0
    page = (second / "00_summary.html").read_text(encoding="utf-8")
    cmp = summary.compare({"tiny": m2["tiny"]}, {"tiny": m1["tiny"]})
    row = cmp.set_index("name").loc["value"]
    assert summary.format_value(row["value"], None) in page
    assert summary.format_value(row["previous"], None) in page
    assert "+100.0 %" in page and ">better<" in page
    assert first.name in page
    assert 'href="tiny.html"' in page
    page1 = (first / "00_summary.html").read_text(encoding="utf-8")
    assert "no earlier run of the same source and configuration" in page1


def test_summary_never_compares_runs_of_another_source_or_configuration(
    two_runs, tmp_path, tiny_source
):
    out = tmp_path / "reports"
    shutil.copytree(two_runs["out"], out, symlinks=True)
    cfg = two_runs["cfg"].with_name("e2e2.yaml")  # tiny + summary: runs on any source
    runs = {}
    for label, extra in [
        ("other_source", ["--source", str(tiny_source)]),
        ("other_config", ["-p", "lang=zh"]),
    ]:
        before = set(_runs(out))
        assert cli.main(["run", "--config", str(cfg), "--out", str(out), *extra]) == 0
        (new,) = set(_runs(out)) - before
        runs[label] = new
    for label, d in runs.items():
        m = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
        assert m["previous_run"] is None, label
        page = (d / "00_summary.html").read_text(encoding="utf-8")
        assert two_runs["first"][0].name not in page, label
    # a later run of the first source and configuration is compared with its own kind only
    assert cli.main(["run", "--config", str(cfg), "--out", str(out)]) == 0
    m = json.loads((_runs(out)[-1] / "manifest.json").read_text(encoding="utf-8"))
    assert m["previous_run"] not in {d.name for d in runs.values()}
    assert m["previous_run"] is not None


def test_comparable_rule():
    from growthlab.report.config import load_config

    cfg = load_config(
        {"name": "x", "source": "/data", "notebooks": ["tiny"], "notebook_dir": str(FIX)}
    )
    base = {"source": {"path": cfg.source}, "config_name": "x", "parameters": dict(cfg.parameters)}
    assert runner.comparable(base, cfg)
    assert runner.comparable(
        {**base, "parameters": {**base["parameters"], "as_of": "2025-01-01"}}, cfg
    )
    assert not runner.comparable({**base, "source": {"path": "/other"}}, cfg)
    assert not runner.comparable({**base, "config_name": "y"}, cfg)
    assert not runner.comparable({**base, "parameters": {**base["parameters"], "lang": "zh"}}, cfg)


def test_failing_notebook_marks_run_failed_and_keeps_latest(two_runs, tmp_path, tiny_source):
    out = tmp_path / "reports"
    shutil.copytree(two_runs["out"], out, symlinks=True)
    latest = rindex.current_latest(out)
    cfg = _config(tmp_path, "broken", ["tiny", "fail"], tiny_source)
    code = runner.run(config=cfg, out=out)
    assert code == 1
    assert rindex.current_latest(out) == latest
    failed = [d for d in _runs(out) if "-broken-" in d.name]
    assert len(failed) == 1
    m = json.loads((failed[0] / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "failed" and m["exit_code"] == 1
    by = {nb["name"]: nb for nb in m["notebooks"]}
    assert by["tiny"]["status"] == "ok" and by["fail"]["status"] == "failed"
    assert "deliberate failure" in by["fail"]["error"]
    assert (failed[0] / "fail.ipynb").is_file() and (failed[0] / "fail.html").is_file()
    assert "deliberate failure" in (failed[0] / "fail.html").read_text(encoding="utf-8")
    assert json.loads((failed[0] / "metrics.json").read_text())["fail"]["before_failure"]
    top = (out / "index.html").read_text(encoding="utf-8")
    assert "gl-status-failed" in top and "deliberate failure" in top


def test_invalid_source_exits_2_before_running(tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "users.csv").write_text("id,signup_at\n1,2025-01-01\n", encoding="utf-8")
    out = tmp_path / "reports"
    cfg = _config(tmp_path, "bad", ["tiny"], bad)
    assert cli.main(["run", "--config", str(cfg), "--out", str(out)]) == 2
    assert "user_id" in capsys.readouterr().err
    assert not out.exists() or not [d for d in out.iterdir() if d.is_dir()]
    assert cli.main(["run", "--config", str(cfg), "--source", str(tmp_path / "nope")]) == 2
    assert cli.main(["run", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert cli.main(["run", "--config", str(cfg), "-p", "typo_param=1"]) == 2


def test_busy_output_folder_waits_then_gives_up_with_exit_2(tmp_path, tiny_source, capsys):
    from filelock import FileLock

    out = tmp_path / "reports"
    out.mkdir()
    cfg = _config(tmp_path, "locked", ["tiny"], tiny_source)
    cfg.write_text(cfg.read_text() + "lock_timeout: 1\n")
    with FileLock(str(out / runner.LOCK_NAME)):
        assert runner.run(config=cfg, out=out) == 2
    err = capsys.readouterr().err
    assert "another run is writing" in err and "gave up" in err
    assert not [d for d in out.iterdir() if d.is_dir()]


def _refused(cfg: Path, out: Path, capsys, *extra: str) -> str:
    assert cli.main(["run", "--config", str(cfg), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(out) in err, err
    return err


def test_output_under_a_file_is_refused(tmp_path, tiny_source, capsys):
    cfg = _config(tmp_path, "nowhere", ["tiny"], tiny_source)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    err = _refused(cfg, a_file / "reports", capsys)
    assert "cannot create output folder" in err and "Not a directory" in err
    err = _refused(cfg, a_file, capsys)
    assert "is not a folder" in err
    assert a_file.read_text() == "x"
    assert cli.main(["index", "--out", str(a_file / "reports")]) == 2
    assert "cannot create output folder" in capsys.readouterr().err


@pytest.mark.parametrize("errno_, text", [(13, "Permission denied"), (30, "Read-only file system")])
def test_unwritable_output_folder_is_refused(
    tmp_path, tiny_source, capsys, monkeypatch, errno_, text
):
    """A folder that exists but takes no new files (simulated: root ignores permission bits)."""
    cfg = _config(tmp_path, "readonly", ["tiny"], tiny_source)
    out = tmp_path / "reports"
    out.mkdir()
    real = runner.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):  # noqa: A002 - tempfile's own name
        if dir is not None and Path(dir) == out:
            raise OSError(errno_, text, str(Path(dir) / ".write-test-x"))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(runner.tempfile, "mkstemp", mkstemp)
    err = _refused(cfg, out, capsys)
    assert f"output folder {out} is not writable" in err and text in err
    assert list(out.iterdir()) == []
    with pytest.raises(GrowthlabError, match="is not writable"):
        runner.rebuild_index(out)


def _permission_bits_apply() -> list[str]:
    """Command prefix under which permission bits stop this user (root: drop that power)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    prefix = [str(setpriv), "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]
    if not setpriv or subprocess.run([*prefix, "true"], capture_output=True).returncode:
        pytest.skip("root ignores permission bits and setpriv cannot drop that")
    return prefix


def test_read_only_output_folder_is_refused(tmp_path, tiny_source):
    cfg = _config(tmp_path, "readonly", ["tiny"], tiny_source)
    out = tmp_path / "reports"
    out.mkdir()
    out.chmod(0o555)
    try:
        res = subprocess.run(
            [*_permission_bits_apply(), str(GROWTHLAB), "run", "--config", str(cfg)]
            + ["--out", str(out)],
            capture_output=True,
            text=True,
            env={**os.environ, runner.CACHE_ENV: str(tmp_path / "cache")},
            timeout=120,
        )
    finally:
        out.chmod(0o755)
    assert res.returncode == 2, res.stderr
    assert f"output folder {out} is not writable" in res.stderr and "Traceback" not in res.stderr
    assert list(out.iterdir()) == []


def test_date_override_reaches_the_notebook_as_text(tmp_path, tiny_source):
    """-p as_of=2025-06-30 used to reach papermill as a datetime.date and fail every notebook."""
    cfg = _config(tmp_path, "dated", ["name: slow\n    parameters: {seconds: 0}"], tiny_source)
    out = tmp_path / "reports"
    assert runner.run(config=cfg, out=out, overrides=["as_of=2025-06-30"]) == 0
    (run,) = _runs(out)
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert m["notebooks"][0]["parameters"]["as_of"] == "2025-06-30"
    nb = json.loads((run / "slow.ipynb").read_text(encoding="utf-8"))
    assert any('as_of = "2025-06-30"' in "".join(c["source"]) for c in nb["cells"])


def test_concurrent_runs_do_not_corrupt_each_other(tmp_path, tiny_source):
    out = tmp_path / "reports"
    cfgs = [_config(tmp_path, f"c{i}", ["tiny"], tiny_source) for i in range(2)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen(
            [str(GROWTHLAB), "run", "--config", str(c), "--out", str(out), "-p", f"value={i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i, c in enumerate(cfgs)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    runs = _runs(out)
    assert len(runs) == 2 and not list(out.glob(".tmp-*"))
    values = set()
    for d in runs:
        m = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
        assert m["status"] == "success"
        metrics = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
        assert list(metrics) == ["tiny"]
        values.add(metrics["tiny"]["value"]["value"])
    assert values == {0, 1}  # each run kept its own numbers
    top = (out / "index.html").read_text(encoding="utf-8")
    assert all(d.name in top for d in runs)
    assert rindex.current_latest(out) in {d.name for d in runs}


def test_interrupt_leaves_no_successful_looking_run(tmp_path, tiny_source):
    out = tmp_path / "reports"
    cfg = _config(tmp_path, "slow", ["slow", "tiny"], tiny_source)  # parallel workers
    proc = subprocess.Popen(
        [str(GROWTHLAB), "run", "--config", str(cfg), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    started = False
    while time.time() < deadline and not started:
        time.sleep(0.5)
        for tmp in out.glob(".tmp-*") if out.exists() else []:
            m = rindex.read_manifest(tmp) or {}
            started = any(nb.get("status") == "running" for nb in m.get("notebooks", []))
    assert started, "the slow notebook never started"
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    runs = _runs(out)
    assert len(runs) == 1 and not list(out.glob(".tmp-*"))
    m = json.loads((runs[0] / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "interrupted"
    assert rindex.current_latest(out) is None


def test_rebuild_index_from_run_folders(two_runs, tmp_path):
    out = tmp_path / "reports"
    shutil.copytree(two_runs["out"], out, symlinks=True)
    (out / "index.html").unlink()
    (out / "latest").unlink()
    stale = out / ".tmp-20000101T000000Z-dead-0000"
    stale.mkdir()
    (stale / "manifest.json").write_text('{"run_id": "dead", "status": "running"}')
    assert cli.main(["index", "--out", str(out)]) == 0
    runs = _runs(out)
    assert (
        rindex.current_latest(out)
        == max(
            (d for d in runs if rindex.read_manifest(d)["status"] == "success"),
            key=lambda d: rindex.read_manifest(d)["started_at"],
        ).name
    )
    top = (out / "index.html").read_text(encoding="utf-8")
    assert "20000101T000000Z-dead-0000" in top and "died before" in top
