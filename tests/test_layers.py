"""The layer rules of docs/DEVELOPING.md hold (import-linter contracts in pyproject.toml).

data -> analysis -> findings / plots -> report -> cli: analysis modules import nothing from the
data layer, plots or report; plots nothing from data or report; the foundation modules (stats,
privacy, metrics, i18n, errors, referral_rules) nothing above them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [str(LINT), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_package_keeps_its_layers():
    result = _lint(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_analysis_module_importing_the_data_layer_breaks_the_contracts(tmp_path):
    """The same contracts on a copy of the package whose referral module imports the data
    layer: lint-imports must fail and name the broken contracts."""
    shutil.copytree(ROOT / "src" / "growthlab", tmp_path / "src" / "growthlab")
    referral = tmp_path / "src" / "growthlab" / "referral.py"
    referral.write_text(
        "from growthlab.data import features  # a layer leak\n" + referral.read_text("utf-8"),
        encoding="utf-8",
    )
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lines = ["[tool.importlinter]", 'root_packages = ["growthlab"]']
    for c in config["tool"]["importlinter"]["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        for k, v in c.items():
            lines.append(f"{k} = {v!r}".replace("'", '"'))
    (tmp_path / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _lint(tmp_path, tmp_path / "src")
    assert result.returncode != 0
    assert "Analysis modules do not use the data layer" in result.stdout
    assert "growthlab.referral -> growthlab.data.features" in result.stdout
