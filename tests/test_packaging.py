"""pyproject.toml and environment.yml pin exactly the same dependencies (issue #2)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> tuple[str, str]:
    """``Name[extra]==1.0`` -> (canonical name with extras, pin)."""
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(==\s*[^;\s]+)?\s*", req)
    assert m, f"not an exact requirement: {req!r}"
    name = re.sub(r"[-_.]+", "-", m.group(1)).lower() + (m.group(2) or "").lower()
    return name, (m.group(3) or "").replace(" ", "")


def test_pyproject_and_environment_pin_the_same_set():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pinned = [r for r in pip if not r.startswith("-e")]
    py = dict(_norm(r) for r in declared)
    conda = dict(_norm(r) for r in pinned)
    assert py == conda
    assert all(pin.startswith("==") for pin in py.values()), "every dependency is pinned exactly"
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])
    assert project["requires-python"].startswith(">=3.11")


def test_channel_map_ships_with_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = project["tool"]["setuptools"]["package-data"]["growthlab"]
    assert "data/*.yaml" in data
    assert (ROOT / "src" / "growthlab" / "data" / "channels.yaml").is_file()
