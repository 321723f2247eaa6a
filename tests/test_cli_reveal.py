"""`growthlab reveal`: the key holder maps report pseudonyms back to ids (issue #10)."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from growthlab import cli, privacy

STRONG = "5e0c2b8f1a7d4e6093b1c8f2a4d6e0b7"


@pytest.fixture
def source(tmp_path, frames) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture
def key_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "cfg" / "pseudonym.key"
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(path))
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    return path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_reveal_round_trips(source, key_file, capsys):
    # what a report shows: users as u_..., persons (OneID) as p_...
    users = privacy.pseudonymise(["u1", "u3"])
    person = privacy.pseudonymise(["u1"], prefix="p_")[0]  # u1 and u2 share a phone: person u1
    code, out, err = _run(capsys, "reveal", users[0], users[1], person, "--source", str(source))
    assert code == 0, err
    assert out.splitlines() == [f"{users[0]}\tu1", f"{users[1]}\tu3", f"{person}\tu1"]
    assert privacy.key_fingerprint() in err and str(key_file) in err


def test_reveal_lists_what_it_cannot_find(source, key_file, capsys):
    ours = privacy.pseudonymise(["u2"])[0]
    stranger = privacy.pseudonymise(["u2"], key=STRONG)[0]  # another key
    code, out, err = _run(capsys, "reveal", ours, stranger, "--source", str(source))
    assert code == 1
    assert out == f"{ours}\tu2\n"
    assert "not found (1)" in err and stranger in err


def test_reveal_with_env_key_and_ids_file(tmp_path, key_file, monkeypatch, capsys):
    monkeypatch.setenv(privacy.KEY_ENV, STRONG)
    ids = tmp_path / "ids.txt"
    ids.write_text("A-1\nB-2\n\n")
    p = privacy.pseudonymise(["B-2"])[0]
    monkeypatch.setattr("sys.stdin", io.StringIO(p + "\n"))
    code, out, err = _run(capsys, "reveal", "-", "--ids-file", str(ids))
    assert (code, out) == (0, f"{p}\tB-2\n")
    assert "$GROWTHLAB_PSEUDONYM_KEY" in err and STRONG not in err + out
    assert not key_file.exists()


def test_reveal_exit_2_on_unusable_source_or_key(tmp_path, source, key_file, monkeypatch, capsys):
    # no key yet: reveal must not invent one (it could never match a report)
    code, _, err = _run(capsys, "reveal", "u_0123456789", "--source", str(source))
    assert code == 2 and "no pseudonym key" in err and not key_file.exists()
    privacy.pseudonymise(["u1"])  # a report made the key
    code, _, err = _run(capsys, "reveal", "u_0123456789", "--source", str(tmp_path / "nope"))
    assert code == 2 and "does not exist" in err
    code, _, err = _run(capsys, "reveal", "u_0123456789", "--ids-file", str(tmp_path / "nope"))
    assert code == 2 and "cannot read ids file" in err
    key_file.chmod(0o644)
    code, _, err = _run(capsys, "reveal", "u_0123456789", "--source", str(source))
    assert code == 2 and "chmod 600" in err
    key_file.chmod(0o600)
    monkeypatch.setenv(privacy.KEY_ENV, "too-short")
    code, _, err = _run(capsys, "reveal", "u_0123456789", "--source", str(source))
    assert code == 2 and "too short" in err
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
