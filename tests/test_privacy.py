"""Privacy helpers (SPEC §5): keyed pseudonyms, the key, and small-group suppression."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growthlab import privacy
from growthlab.errors import ConfigError

STRONG = "3f9a1c7e5b2d4086a1e9c3b7d5f20468"  # 32 hex characters = 128 bits


def test_pseudonymise_keyed_stable_and_opaque():
    ids = pd.Series(["U0000001", "U0000002", "U0000001", None])
    a = privacy.pseudonymise(ids, key="k1")
    assert a[0] == a[2] and a[0] != a[1]
    assert pd.isna(a[3])
    expected = "u_" + hmac.new(b"k1", b"U0000001", hashlib.sha256).hexdigest()[:10]
    assert a[0] == expected
    assert not any("U000000" in str(x) for x in a.dropna())
    b = privacy.pseudonymise(ids, key="k2")
    assert a[0] != b[0]  # another key gives other pseudonyms


def test_pseudonymise_uses_env_key(monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, STRONG)
    a = privacy.pseudonymise(["x"])
    assert a[0] == privacy.pseudonymise(["x"], key=STRONG)[0]
    assert privacy.resolve_key().source == "env"
    monkeypatch.delenv(privacy.KEY_ENV)
    assert privacy.pseudonymise(["x"])[0] != a[0]  # now the key file
    assert privacy.resolve_key().source == "file"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=40))
def test_pseudonymise_is_injective_on_sample(ids):
    out = privacy.pseudonymise(ids, key="k")
    mapping = dict(zip(ids, out, strict=True))
    assert len(set(mapping.values())) == len(mapping)  # no collision among distinct ids


def test_suppress_small_groups_pools_and_keeps_total():
    t = pd.DataFrame({"channel": ["a", "b", "c", "d"], "users": [50, 4, 7, 30], "k": [1.0] * 4})
    out = privacy.suppress_small_groups(t, "users", 10)
    assert out["users"].sum() == t["users"].sum()
    assert "(suppressed)" in set(out["channel"])
    assert not ((out["users"] < 10) & (out["channel"] != "(suppressed)")).any()
    assert np.isnan(out.loc[out["channel"] == "(suppressed)", "k"]).all()


def test_suppress_small_groups_drops_tiny_pool():
    t = pd.DataFrame({"channel": ["a", "b"], "users": [50, 3]})
    out = privacy.suppress_small_groups(t, "users", 10)
    assert list(out["channel"]) == ["a"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 60), min_size=1, max_size=30),
    st.integers(privacy.MIN_GROUP_SIZE_FLOOR, 25),
)
def test_suppress_small_groups_never_shows_a_small_group(counts, k):
    t = pd.DataFrame({"g": [f"g{i}" for i in range(len(counts))], "n": counts})
    out = privacy.suppress_small_groups(t, "n", k)
    assert (out["n"] >= k).all()
    assert out["n"].sum() <= sum(counts)
    kept = out[out["g"] != "(suppressed)"]
    assert set(kept["g"]) == {f"g{i}" for i, c in enumerate(counts) if c >= k}


@pytest.mark.parametrize("k", [-1, 0, 1, 4, 4.9, float("nan")])
def test_suppress_small_groups_refuses_a_size_below_the_floor(k):
    t = pd.DataFrame({"g": ["a"], "n": [1]})
    with pytest.raises(ValueError, match="below the floor 5"):
        privacy.suppress_small_groups(t, "n", k)


# --- the pseudonymisation key -------------------------------------------------------------------


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    """A key-file location of this test's own (the session fixture's file is shared)."""
    path = tmp_path / "conf" / "growthlab" / "pseudonym.key"
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(path))
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    return path


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_tests_never_touch_the_real_config_folder():
    real = {Path.home() / ".config", Path(os.environ.get("XDG_CONFIG_HOME") or "/nonexistent")}
    assert not real & set(privacy.default_key_file().parents)


def test_key_file_created_private_on_first_use(key_file):
    old = os.umask(0o000)  # a careless umask must not make the key readable
    try:
        assert not key_file.exists()
        a = privacy.pseudonymise(["U1"])[0]
    finally:
        os.umask(old)
    assert _mode(key_file) == 0o600
    assert _mode(key_file.parent) == 0o700 and _mode(key_file.parent.parent) == 0o700
    text = key_file.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", text)  # 256 random bits, hex
    assert a == privacy.pseudonymise(["U1"], key=text)[0]  # HMAC key = the file's text
    assert privacy.pseudonymise(["U1"])[0] == a  # stable: the file is reused
    assert privacy.key_info() == {
        "pseudonym_key_fingerprint": privacy.key_fingerprint(text),
        "key_source": "file",
    }
    assert not list(key_file.parent.glob(".*.tmp"))  # no temporary file left behind


def test_default_location_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv(privacy.KEY_FILE_ENV)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert privacy.default_key_file() == tmp_path / "growthlab" / "pseudonym.key"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/path")  # ignored (XDG spec)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert privacy.default_key_file() == tmp_path / "home" / ".config/growthlab/pseudonym.key"
    (tmp_path / "home").mkdir()
    privacy.pseudonymise(["x"])
    assert _mode(tmp_path / "home" / ".config" / "growthlab" / "pseudonym.key") == 0o600
    monkeypatch.setenv(privacy.KEY_FILE_ENV, "relative.key")
    with pytest.raises(ConfigError, match="absolute"):
        privacy.pseudonymise(["x"])


def test_no_built_in_key(key_file):
    """Nobody can reproduce the pseudonyms by hashing candidates with the old default key."""
    ours = privacy.pseudonymise(["U0000001"])[0]
    old = "u_" + hmac.new(b"growthlab-default-key", b"U0000001", hashlib.sha256).hexdigest()[:10]
    assert ours != old
    assert not hasattr(privacy, "_DEFAULT_KEY")


def test_env_key_wins_over_key_file(key_file, monkeypatch):
    from_file = privacy.pseudonymise(["U1"])[0]
    monkeypatch.setenv(privacy.KEY_ENV, STRONG)
    assert privacy.pseudonymise(["U1"])[0] == privacy.pseudonymise(["U1"], key=STRONG)[0]
    assert privacy.pseudonymise(["U1"])[0] != from_file
    assert privacy.key_info()["key_source"] == "env"
    # the explicit argument wins over both
    assert privacy.pseudonymise(["U1"], key="k1")[0] == "u_" + _h(b"k1", b"U1")


def _h(key: bytes, msg: bytes) -> str:
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:10]


@pytest.mark.parametrize(
    "weak",
    [
        "secret",
        "growthlab-default-key",
        "a" * 64,
        "ab" * 32,
        "0123456789" * 4,
        "0123456789abcdef0123456789abcde",
    ],
)
def test_weak_env_key_refused(key_file, monkeypatch, weak):
    monkeypatch.setenv(privacy.KEY_ENV, weak)
    with pytest.raises(ConfigError, match=privacy.KEY_ENV):
        privacy.pseudonymise(["x"])
    assert not key_file.exists()  # no silent fallback to the key file


def test_world_readable_key_file_refused(key_file):
    privacy.pseudonymise(["x"])
    for mode in (0o644, 0o640, 0o606):
        key_file.chmod(mode)
        with pytest.raises(ConfigError, match=f"chmod 600 {re.escape(str(key_file))}"):
            privacy.pseudonymise(["x"])
    key_file.chmod(0o600)
    privacy.pseudonymise(["x"])


def test_weak_or_empty_key_file_refused(key_file):
    key_file.parent.mkdir(parents=True)
    key_file.write_text("short\n")
    key_file.chmod(0o600)
    with pytest.raises(ConfigError, match="too short"):
        privacy.pseudonymise(["x"])


def test_key_reread_when_the_file_changes(key_file):
    a = privacy.key_fingerprint()
    key_file.unlink()  # rotation: move or delete the key file
    b = privacy.key_fingerprint()
    assert a != b and key_file.exists()


def test_fingerprint_stable_and_does_not_reveal_the_key(key_file):
    text = (privacy.resolve_key(), key_file.read_text().strip())[1]
    fp = privacy.key_fingerprint()
    assert re.fullmatch(r"[0-9a-f]{16}", fp)
    assert fp == privacy.key_fingerprint() == privacy.key_fingerprint(text)
    assert fp not in text and text[:16] not in fp
    assert fp != hashlib.sha256(text.encode()).hexdigest()[:16]  # domain-separated
    assert fp != privacy.key_fingerprint(STRONG)
    assert text not in repr(privacy.resolve_key())
    assert (
        privacy.key_fingerprint(STRONG)
        == (hashlib.sha256(b"growthlab-key-fingerprint\0" + STRONG.encode()).hexdigest()[:16])
    )


_RACE = """
import sys
from growthlab import privacy
sys.stdin.read()  # start together
print(privacy.key_fingerprint())
"""


def test_concurrent_first_use_makes_one_key(key_file):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    time.sleep(1.5)  # let them all import
    outs = [p.communicate("", timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    fingerprints = {o[0].strip() for o in outs}
    assert fingerprints == {privacy.key_fingerprint()}
    assert [f.name for f in key_file.parent.iterdir()] == ["pseudonym.key"]


def test_reveal_maps_pseudonyms_back(key_file):
    users = ["U1", "U2", "U3"]
    u = privacy.pseudonymise(users)
    p = privacy.pseudonymise(["U1"], prefix="p_")[0]
    out = privacy.reveal([u[1], p, "u_0000000000", "nonsense!"], {"u_": users, "p_": ["U1"]})
    assert out == {u[1]: ["U2"], p: ["U1"], "u_0000000000": [], "nonsense!": []}
    # another digest length and an unknown prefix still work (tried against every id)
    short = privacy.pseudonymise(["U3"], prefix="x_", length=6)[0]
    assert privacy.reveal([short], {"u_": users})[short] == ["U3"]


def test_losing_the_creation_race_uses_the_winners_key(key_file, monkeypatch):
    """Deterministic version of the race: another process links its key in first."""
    winner = secrets.token_hex(32)
    real_link = os.link

    def link_after_rival(src, dst):
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, winner.encode())
        os.close(fd)
        return real_link(src, dst)  # raises FileExistsError

    monkeypatch.setattr(privacy.os, "link", link_after_rival)
    assert privacy.key_fingerprint() == privacy.key_fingerprint(winner)
    assert key_file.read_text() == winner


def test_manifest_records_only_the_fingerprint(key_file, monkeypatch):
    from growthlab.report import manifest

    env = manifest.environment()
    assert env["pseudonymisation"] == manifest.privacy_info() == privacy.key_info()
    assert env["pseudonymisation"]["key_source"] == "file"
    assert key_file.read_text().strip() not in repr(env)
    monkeypatch.setenv(privacy.KEY_ENV, "weak")
    with pytest.raises(ConfigError):
        manifest.privacy_info()
    assert "too short" in manifest.environment()["pseudonymisation"]["error"]
