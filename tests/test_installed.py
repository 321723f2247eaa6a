"""``pip install`` ships the notebooks and the default run: ``growthlab run --source DIR`` works
from any folder without a checkout (issue #12 item 5).

The notebooks have one copy (``notebooks/``, installed as ``growthlab.notebooks``) and the default
run one definition (``notebooks/default.yaml``, which ``runs/default.yaml`` extends with the
sample). The slow test builds a wheel, installs it into a fresh virtual environment and runs the
report from an empty folder with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from growthlab import cli
from growthlab.errors import ConfigError
from growthlab.report import runner
from growthlab.report.config import load_config, packaged_default

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).parent / "fixtures" / "report"
NOTEBOOK_NAMES = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


# -- the package lists what it ships ------------------------------------------------------------
def test_pyproject_lists_every_package_and_maps_the_notebooks():
    st = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    src = ROOT / "src"
    folders = {
        ".".join(d.relative_to(src).parts)
        for d in (src / "growthlab").rglob("*")
        if d.is_dir() and d.name != "__pycache__" and not d.name.endswith(".egg-info")
    }
    assert set(st["packages"]) == folders | {"growthlab", "growthlab.notebooks"}
    assert st["package-dir"] == {"": "src", "growthlab.notebooks": "notebooks"}
    assert set(st["package-data"]["growthlab.notebooks"]) == {"*.ipynb", "default.yaml"}


def test_the_packaged_default_is_the_checkouts_notebooks_folder():
    # an editable install (make): growthlab.notebooks is the checkout's notebooks/ itself
    assert packaged_default() == ROOT / "notebooks" / "default.yaml"


def test_one_default_run_the_checkout_adds_only_the_sample():
    packaged = yaml.safe_load(packaged_default().read_text(encoding="utf-8"))
    assert "source" not in packaged
    assert sorted(packaged["notebooks"]) == NOTEBOOK_NAMES  # every notebook, summary last
    assert packaged["notebooks"][-1] == "00_summary"
    checkout = yaml.safe_load((ROOT / "runs" / "default.yaml").read_text(encoding="utf-8"))
    assert checkout == {"extends": "../notebooks/default.yaml", "source": "../data/sample"}

    cfg = load_config(ROOT / "runs" / "default.yaml")
    assert cfg.name == "default"
    assert [s.name for s in cfg.notebooks] == packaged["notebooks"]
    assert {s.path.parent for s in cfg.notebooks} == {ROOT / "notebooks"}
    assert cfg.source == str(ROOT / "data" / "sample")
    assert cfg.parameters["min_group_size"] == packaged["parameters"]["min_group_size"]
    assert cfg.cell_timeout == packaged["cell_timeout"]


# -- extends ------------------------------------------------------------------------------------
def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_extends_merges_parameters_and_keeps_each_files_paths(tmp_path):
    nbs = tmp_path / "base" / "nbs"
    nbs.mkdir(parents=True)
    (nbs / "tiny.ipynb").write_bytes((FIX / "tiny.ipynb").read_bytes())
    (nbs / "ok.ipynb").write_bytes((FIX / "ok.ipynb").read_bytes())
    (tmp_path / "base" / "data").mkdir()
    _write(
        tmp_path / "base" / "base.yaml",
        "name: basename\nnotebook_dir: nbs\nsource: data\ncell_timeout: 7\n"
        "parameters: {lang: en, value: 2.0}\nnotebooks: [tiny, ok]\n",
    )
    child = _write(
        tmp_path / "mine" / "child.yaml",
        "extends: ../base/base.yaml\nparameters: {lang: zh}\nnotebooks: [tiny]\n",
    )
    cfg = load_config(child)
    assert cfg.name == "child"  # the name is the file's own, never inherited
    assert [s.path for s in cfg.notebooks] == [nbs / "tiny.ipynb"]  # base's notebook_dir
    assert cfg.source == str(tmp_path / "base" / "data")  # relative to the base file
    assert cfg.notebooks[0].parameters["lang"] == "zh"
    assert cfg.notebooks[0].parameters["value"] == 2.0  # merged, not replaced
    assert cfg.cell_timeout == 7

    # a notebook path given by the extending file is relative to that file
    _write(tmp_path / "mine" / "own.ipynb", (FIX / "ok.ipynb").read_text(encoding="utf-8"))
    other = _write(
        tmp_path / "mine" / "other.yaml",
        "extends: ../base/base.yaml\nnotebooks: [tiny, {name: own, path: own.ipynb}]\n",
    )
    specs = load_config(other).notebooks
    assert [s.path for s in specs] == [nbs / "tiny.ipynb", tmp_path / "mine" / "own.ipynb"]


def test_extends_default_runs_packaged_notebooks_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg_file = _write(
        tmp_path / "quick.yaml",
        "extends: default\nnotebooks: [01_data_quality, 00_summary]\nparameters: {lang: zh}\n",
    )
    cfg = load_config(cfg_file, source=str(tmp_path))
    assert cfg.name == "quick"
    assert [s.path for s in cfg.notebooks] == [
        packaged_default().parent / "01_data_quality.ipynb",
        packaged_default().parent / "00_summary.ipynb",
    ]
    assert cfg.parameters["lang"] == "zh"
    assert cfg.parameters["min_group_size"] == 10  # from the packaged default


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"}, "goes round in a circle"),
        ({"a.yaml": "extends: missing.yaml\n"}, "extends missing.yaml: config file"),
        ({"a.yaml": "extends: b.yaml\n", "b.yaml": "notebookz: [x]\n"}, "b.yaml: unknown config"),
        ({"a.yaml": "extends: 3\n"}, "'extends' must name a config file or 'default'"),
        ({"a.yaml": "extends: b.yaml\nparameters: [1]\n", "b.yaml": "parameters: {}\n"}, "mapping"),
    ],
)
def test_extends_problems_are_config_errors(tmp_path, files, message, capsys, monkeypatch):
    for name, text in files.items():
        _write(tmp_path / name, text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "a.yaml", source=str(tmp_path))
    monkeypatch.chdir(tmp_path)  # a mapping: relative to the working folder, same messages
    with pytest.raises(ConfigError, match=message):
        load_config(yaml.safe_load(files["a.yaml"]), source=str(tmp_path))
    assert cli.main(["run", "--config", str(tmp_path / "a.yaml"), "--out", str(tmp_path)]) == 2
    assert message.split(":")[0] in capsys.readouterr().err


def test_run_without_a_source_outside_a_checkout_is_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert Path(runner.default_config()) == packaged_default()
    assert cli.main(["run", "--out", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err
    assert "no source: pass --source DIR" in err and "Traceback" not in err
    assert not (tmp_path / "reports").exists()


# -- a wheel, installed elsewhere ---------------------------------------------------------------
def _env(home: Path) -> dict[str, str]:
    """The environment of a user of the installed package: nothing pointing at this checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV", "GROWTHLAB_CACHE"))
    }
    env["XDG_CACHE_HOME"] = str(home / "cache")
    env["MPLCONFIGDIR"] = str(home / "mpl")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel of this tree installed; its bin folder.

    The wheel is built (offline: no build isolation) from a copy of the files it is made of, so
    the checkout gets no build/ folder. The environment reuses this one's dependencies through a
    plain path line in a .pth file placed after its own site-packages: growthlab is the wheel's,
    and this environment's editable finder (a .pth of its own) is never loaded there.
    """
    tmp = tmp_path_factory.mktemp("installed")
    tree = tmp / "tree"
    skip = ("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    for part in ("src", "notebooks"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns(*skip))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", tmp / "dist"]
        + [tree],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp / "dist").glob("growthlab-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "zz_growthlab_dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n", encoding="utf-8"
    )
    # nbconvert's page templates are data files of its installation (share/jupyter), which a
    # pip install puts in the new environment; its kernel specs stay out (make's python3 kernel
    # there runs this environment's Python: exactly what the installed runner must not use)
    share = venv / "share" / "jupyter"
    share.mkdir(parents=True)
    (share / "nbconvert").symlink_to(Path(sys.prefix) / "share" / "jupyter" / "nbconvert")
    subprocess.run(
        [python, "-m", "pip", "-q", "install", "--no-deps", "--no-index", wheel],
        check=True,
        capture_output=True,
    )
    return venv / "bin"


@pytest.mark.slow
def test_the_wheel_ships_the_notebooks_and_the_default_run(installed, tmp_path):
    shown = subprocess.run(
        [installed / "python", "-m", "pip", "show", "-f", "growthlab"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(tmp_path),
    ).stdout
    files = {line.strip() for line in shown.splitlines()}
    for name in NOTEBOOK_NAMES:
        assert f"growthlab/notebooks/{name}.ipynb" in files
    assert "growthlab/notebooks/default.yaml" in files
    assert f"Location: {installed.parent}" in shown


@pytest.mark.slow
def test_growthlab_run_source_works_from_any_folder_after_pip_install(installed, tmp_path):
    """The README's command from an empty folder with the installed package only: every
    notebook of the packaged default runs from the installation, in a kernel of that
    installation."""
    work = tmp_path / "anywhere"
    work.mkdir()
    env = _env(tmp_path)

    def growthlab(*args: str | Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [installed / "growthlab", *map(str, args)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    where = subprocess.run(
        [installed / "python", "-c", "import growthlab; print(growthlab.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    package = Path(where).parent
    assert package.is_relative_to(installed.parent), where  # the wheel's, not the checkout's

    assert (
        growthlab("synth", "--users", 2000, "--seed", 3, "--out", tmp_path / "src").returncode == 0
    )
    no_source = growthlab("run", "--out", tmp_path / "none")
    assert no_source.returncode == 2, no_source.stderr
    assert "no source: pass --source DIR" in no_source.stderr
    assert "Traceback" not in no_source.stderr
    assert growthlab("validate", tmp_path / "src").returncode == 0
    assert growthlab("init", "--print", tmp_path / "src").returncode == 0

    done = growthlab("run", "--source", tmp_path / "src", "--out", tmp_path / "reports")
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = [d for d in (tmp_path / "reports").iterdir() if d.is_dir() and not d.is_symlink()]
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    packaged = yaml.safe_load(packaged_default().read_text(encoding="utf-8"))
    assert [nb["name"] for nb in manifest["notebooks"]] == packaged["notebooks"]
    for nb in manifest["notebooks"]:
        assert nb["status"] == "ok", nb
        assert Path(nb["input"]).parent == package / "notebooks"
        assert (run_dir / nb["html"]).stat().st_size > 1000
    assert Path(manifest["config"]) == package / "notebooks" / "default.yaml"
    assert manifest["source"]["path"] == str(tmp_path / "src")
    assert (run_dir / "index.html").is_file()

    # the kernels run the installation's Python and import the installed growthlab
    probe = nbformat.v4.new_notebook()
    probe.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    probe.cells = [
        nbformat.v4.new_code_cell('source = ""', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import json, sys, growthlab\n"
            f"open({str(tmp_path / 'kernel.json')!r}, 'w').write(json.dumps("
            "{'python': sys.executable, 'growthlab': growthlab.__file__}))"
        ),
    ]
    nbformat.write(probe, work / "probe.ipynb")
    _write(work / "probe.yaml", "extends: default\nnotebooks: [{name: probe, path: probe.ipynb}]\n")
    probed = growthlab(
        "run", "--config", "probe.yaml", "--source", tmp_path / "src", "--out", tmp_path / "p"
    )
    assert probed.returncode == 0, probed.stderr[-3000:]
    kernel = json.loads((tmp_path / "kernel.json").read_text(encoding="utf-8"))
    assert kernel["python"] == str(installed / "python")
    assert Path(kernel["growthlab"]) == Path(where)
