"""Privacy helpers (SPEC §5): keyed pseudonyms and small-group suppression."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from growthlab import privacy


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
    monkeypatch.setenv(privacy.KEY_ENV, "secret-from-env")
    a = privacy.pseudonymise(["x"])
    assert a[0] == privacy.pseudonymise(["x"], key="secret-from-env")[0]
    monkeypatch.delenv(privacy.KEY_ENV)
    assert privacy.pseudonymise(["x"])[0] != a[0]


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
@given(st.lists(st.integers(0, 60), min_size=1, max_size=30), st.integers(1, 25))
def test_suppress_small_groups_never_shows_a_small_group(counts, k):
    t = pd.DataFrame({"g": [f"g{i}" for i in range(len(counts))], "n": counts})
    out = privacy.suppress_small_groups(t, "n", k)
    assert (out["n"] >= k).all()
    assert out["n"].sum() <= sum(counts)
    kept = out[out["g"] != "(suppressed)"]
    assert set(kept["g"]) == {f"g{i}" for i, c in enumerate(counts) if c >= k}
