"""Run configs (issue #10): privacy floors and parameter checks for every notebook, YAML dates,
config files that are not UTF-8 text or cannot be read. No notebook is executed here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from growthlab import cli
from growthlab.errors import ConfigError
from growthlab.report import config as rconfig
from growthlab.report.config import MIN_GROUP_SIZE_FLOOR, load_config, parse_override

FIX = Path(__file__).parent / "fixtures" / "report"
GROWTHLAB = Path(sys.executable).with_name("growthlab")
FLOOR = MIN_GROUP_SIZE_FLOOR

BASE = f"""
name: floors
notebook_dir: {FIX}
source: src
parameters: {{lang: en, min_group_size: 10}}
notebooks:
  - ok
  - name: fail
    parameters: {{min_group_size: 12}}
"""


def _cfg(tmp_path: Path, body: str | bytes) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    p = tmp_path / "run.yaml"
    if isinstance(body, bytes):
        p.write_bytes(body)
    else:
        p.write_text(body, encoding="utf-8")
    return p


def test_floor_is_five():
    assert FLOOR == 5


@pytest.mark.parametrize(
    "body, overrides, message",
    [
        # shared: config parameters and -p key=value
        (
            BASE.replace("min_group_size: 10", "min_group_size: -1"),
            [],
            f"^parameter min_group_size=-1 is below its floor {FLOOR} "
            r"\(small-group suppression cannot be switched off\)$",
        ),
        (BASE, ["min_group_size=1"], f"^parameter min_group_size=1 is below its floor {FLOOR}"),
        (BASE, [f"min_group_size={FLOOR - 1}"], "is below its floor"),
        (BASE, ["min_group_size=0"], "is below its floor"),
        # one notebook: -p nb.key=value and the notebook's parameters in the config
        (BASE, ["fail.min_group_size=1"], "^notebook fail: parameter min_group_size=1 is below"),
        (BASE.replace("min_group_size: 12", "min_group_size: 2"), [], "^notebook fail: .*=2 is"),
        (BASE, ["fail.lang=fr"], "^notebook fail: parameter lang must be 'en' or 'zh', not 'fr'"),
        (BASE.replace("min_group_size: 12", "lang: de"), [], "^notebook fail: parameter lang"),
        (BASE, ["lang=fr"], "^parameter lang must be"),
        # not integers
        (BASE, ["min_group_size=10.5"], "min_group_size=10.5 must be an integer"),
        (BASE, ["min_group_size=10.0"], "must be an integer"),
        (BASE, ["min_group_size=ten"], "min_group_size='ten' must be an integer"),
        (BASE, ["min_group_size=true"], "must be an integer"),
        (BASE, ["min_group_size=null"], "must be an integer"),
        (BASE, ["fail.min_group_size=[10]"], "^notebook fail: .*must be an integer"),
        # as_of
        (BASE, ["as_of=yesterday-ish"], "as_of='yesterday-ish' is not a date/time"),
        (BASE, ["fail.as_of=2025-13-45"], "^notebook fail: parameter as_of='2025-13-45' is not"),
        (BASE, ["as_of=20250630"], "as_of=20250630 is not a date/time"),
        (BASE, ["as_of=''"], "is not a date/time"),
        # values papermill cannot pass
        (BASE.replace("lang: en,", "lang: en, blob: !!binary aGk=,"), [], "not a JSON value"),
    ],
)
def test_parameter_checks(tmp_path, body, overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_cfg(tmp_path, body), overrides=overrides)


def test_the_floor_itself_and_larger_values_pass(tmp_path):
    cfg = load_config(
        _cfg(tmp_path, BASE), overrides=[f"min_group_size={FLOOR}", "fail.min_group_size=50"]
    )
    ok, fail = cfg.notebooks
    assert ok.parameters["min_group_size"] == FLOOR and fail.parameters["min_group_size"] == 50
    assert cfg.parameters["min_group_size"] == FLOOR


def _notebook(path: Path, parameters: str) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("x = 1")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


def test_notebook_defaults_are_effective_parameters(tmp_path):
    """A notebook whose own default is below the floor runs with it unless the run sets one."""
    nb = _notebook(tmp_path / "lax.ipynb", 'lang = "en"\nmin_group_size = 2\nas_of = None')
    body = f"source: src\nnotebooks:\n  - {{name: lax, path: {nb}}}\n"
    with pytest.raises(ConfigError, match="^notebook lax: parameter min_group_size=2 is below"):
        load_config(_cfg(tmp_path, body))
    cfg = load_config(_cfg(tmp_path, body), overrides=["min_group_size=10"])
    assert cfg.notebooks[0].parameters["min_group_size"] == 10
    # a default that is an expression is only known when the notebook runs: not refused here
    _notebook(nb, 'lang = "en"\nmin_group_size = int("2")')
    load_config(_cfg(tmp_path, body))


def test_yaml_dates_stay_iso_text(tmp_path):
    """PyYAML would make dates datetime.date, which papermill cannot pass to a notebook."""
    body = BASE.replace("lang: en,", "lang: en, as_of: 2025-06-30, until: 2025-07-01 08:30:00,")
    body = body.replace("min_group_size: 12", "min_group_size: 12, windows: [2025-01-01]")
    cfg = load_config(_cfg(tmp_path, body), overrides=["ok.as_of=2025-05-31"])
    ok, fail = cfg.notebooks
    assert ok.parameters["as_of"] == "2025-05-31" and fail.parameters["as_of"] == "2025-06-30"
    assert cfg.parameters["as_of"] == "2025-06-30"
    assert fail.parameters["until"] == "2025-07-01 08:30:00"
    assert fail.parameters["windows"] == ["2025-01-01"]
    for spec in cfg.notebooks:  # what papermill needs: JSON values
        json.dumps(spec.parameters)
    assert parse_override("as_of=2025-06-30") == (None, "as_of", "2025-06-30")
    assert parse_override("nb.t=2025-06-30T01:02:03Z")[2] == "2025-06-30T01:02:03Z"
    assert parse_override("as_of=null") == (None, "as_of", None)
    assert parse_override("d=!!timestamp 2025-06-30")[2] == "2025-06-30"  # explicit tag
    assert parse_override("d=!!timestamp 2025-06-30 01:02:03")[2] == "2025-06-30T01:02:03"
    cfg = load_config(_cfg(tmp_path, BASE), overrides=["as_of=2025-06-30 12:00:00+08:00"])
    assert cfg.parameters["as_of"] == "2025-06-30 12:00:00+08:00"


def test_impossible_dates_are_messages_not_tracebacks(tmp_path):
    body = BASE.replace("lang: en,", "lang: en, as_of: 2025-13-45,")
    with pytest.raises(ConfigError, match="as_of='2025-13-45' is not a date/time"):
        load_config(_cfg(tmp_path, body))
    body = BASE.replace("lang: en,", "lang: en, as_of: !!timestamp 2025-13-45,")
    with pytest.raises(ConfigError, match="is not valid YAML: month must be in 1..12"):
        load_config(_cfg(tmp_path, body))


# --- config files that cannot be read -------------------------------------------------------


def test_gbk_config_is_refused_with_a_message(tmp_path, capsys):
    body = BASE.replace("name: floors", "name: floors\ndescription: 增长报告")
    path = _cfg(tmp_path, body.encode("gbk"))
    with pytest.raises(ConfigError, match=rf"^config file {path} is not UTF-8 text: "):
        load_config(path)
    assert cli.main(["run", "--config", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "is not UTF-8 text" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_binary_config_is_refused(tmp_path):
    path = _cfg(tmp_path, bytes(range(256)) * 4)
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(path)
    path.write_bytes(b"name: x\x00\x01\n")  # UTF-8, but not YAML text
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(path)


def test_utf8_with_bom_and_chinese_text_is_fine(tmp_path):
    body = BASE.replace("name: floors", "name: floors\ndescription: 增长报告")
    cfg = load_config(_cfg(tmp_path, b"\xef\xbb\xbf" + body.encode("utf-8")))
    assert cfg.raw["description"] == "增长报告"


def test_every_os_error_reading_the_config_is_a_config_error(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "a_file" / "run.yaml")  # a path under a regular file
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path)  # a folder
    with pytest.raises(ConfigError, match="config file"):
        load_config(str(tmp_path / "nul\x00.yaml"))
    path = _cfg(tmp_path, BASE)

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ConfigError, match=f"^cannot read config file {path}: .*Permission denied"):
        load_config(path)


def test_unreadable_config_file(tmp_path):
    """Permission bits for real (as root: without the power to ignore them, via setpriv)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        prefix = [str(setpriv), "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]
        if not setpriv or subprocess.run([*prefix, "true"], capture_output=True).returncode:
            pytest.skip("root reads any file and setpriv cannot drop that")
    path = _cfg(tmp_path, BASE)
    path.chmod(0)
    try:
        res = subprocess.run(
            [*prefix, str(GROWTHLAB), "run", "--config", str(path), "--out", str(tmp_path / "o")],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        path.chmod(0o644)
    assert res.returncode == 2, res.stderr
    assert f"cannot read config file {path}: [Errno 13] Permission denied" in res.stderr
    assert "Traceback" not in res.stderr


def test_checks_live_in_one_function(monkeypatch, tmp_path):
    """Shared parameters and every notebook's go through check_parameters."""
    seen = []
    real = rconfig.check_parameters
    monkeypatch.setattr(rconfig, "check_parameters", lambda p, w="": seen.append(w) or real(p, w))
    load_config(_cfg(tmp_path, BASE))
    assert seen == ["", "notebook ok", "notebook fail"]


def test_every_shipped_notebook_parameter_is_declared():
    """Each name assigned in a notebook's parameters cell is one papermill (and so ``-p``)
    knows: a comment papermill cannot parse (e.g. one holding '=') silently hides it."""
    import re

    from growthlab.report.config import _declared_parameters

    root = Path(__file__).resolve().parents[1] / "notebooks"
    for path in sorted(root.glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assigned = set(re.findall(r"^([A-Za-z_]\w*)\s*=", cell.source, flags=re.M))
        assert assigned == set(_declared_parameters(path)), path.name
