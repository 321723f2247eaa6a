"""Per-user tables kept beside the validated-load cache entry (issue #13).

The per-user aggregates that lifecycle stages, clustering, the referral abuse signals and
``growthlab lists`` read are derived where they are first needed and kept beside the Dataset's
cache entry; every later process on the same entry reads them. These tests hold that a kept
table gives exactly what a fresh computation gives, that a later load reads it instead of the
events, that other parameters still compute their own, that the files are private and go
with their entry, and that a damaged file is derived again.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from growthlab import data
from growthlab.data import cache, features, referral, synth

AS_OF = "2025-06-30"
KEPT = 4  # day statistics, (event, channel) mix, event counts, activity after signup


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return synth.write(tmp_path_factory.mktemp("src") / "s", n_users=800, seed=11)


@pytest.fixture(scope="module")
def fresh(source):
    return data.load(source, as_of=AS_OF)


@pytest.fixture(scope="module")
def primed(source, tmp_path_factory) -> Path:
    """A cache folder whose entry has its per-user tables kept (derived by a first 'kernel')."""
    d = tmp_path_factory.mktemp("cache")
    first = data.load(source, as_of=AS_OF, cache_dir=d)
    assert first.cache["hit"] is False
    features.activity(first)
    features.user_features(first)
    referral.user_activity(first)
    return d


def _kept(d: Path) -> list[Path]:
    return sorted(d.glob(f"*{cache.SIDE_SUFFIX}/*.parquet"))


@pytest.fixture
def hit(source, primed):
    ds = data.load(source, as_of=AS_OF, cache_dir=primed)
    assert ds.cache["hit"] is True
    return ds


def _without_events(ds):
    """``ds`` with its events emptied in place: a question answered from the stored tables
    still sees every event, one that scans the events table sees none."""
    ds.con.raw_sql("CREATE OR REPLACE VIEW main.events AS SELECT * FROM _gl_cache.main.events "
                   "WHERE false")  # fmt: skip
    assert ds.table("events").count().to_pyarrow().as_py() == 0
    return ds


def test_the_first_derivation_is_kept_private_beside_the_entry(primed):
    files = _kept(primed)
    assert len(files) == KEPT and all(f.stat().st_size > 0 for f in files)
    if os.name == "posix":
        assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
        assert stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700
    assert not list(primed.glob("*/.*.tmp"))


@pytest.mark.parametrize("fn", [features.activity, features.user_features, referral.user_activity])
def test_stored_tables_equal_a_fresh_computation(fresh, hit, fn):
    got, want = fn(_without_events(hit)), fn(fresh)
    assert len(got) == len(want) > 700
    floats = [c for c in ("revenue",) if c in want.columns]
    pd.testing.assert_frame_equal(got.drop(columns=floats), want.drop(columns=floats))
    for c in floats:  # a float sum: the engine adds in thread order
        np.testing.assert_allclose(got[c], want[c], rtol=1e-12)


def test_the_stored_features_are_not_trivial(hit):
    feats = features.user_features(hit)
    assert feats["events"].sum() == hit.table("events").count().to_pyarrow().as_py()
    assert {"ev_visit", "orders", "invitees", "share_rate"} <= set(feats.columns)
    mix = feats.filter(like="ch_").sum(axis=1).round(9)  # shares of the 8 largest channels
    assert mix.between(0.0, 1.0).all() and (mix == 1.0).mean() > 0.2


def test_other_parameters_compute_their_own(source, primed, fresh, hit):
    got = features.user_features(hit, max_event_types=3, max_channels=2)
    want = features.user_features(fresh, max_event_types=3, max_channels=2)
    pd.testing.assert_frame_equal(got.drop(columns="revenue"), want.drop(columns="revenue"))
    assert len([c for c in got.columns if c.startswith("ev_")]) == 3
    earlier = pd.Timestamp(hit.as_of) - pd.Timedelta(days=30)
    pd.testing.assert_frame_equal(
        features.activity(hit, as_of=earlier), features.activity(fresh, as_of=earlier)
    )
    # a question at an instant not asked before reads the events (none here), not a kept table
    other = data.load(source, as_of=AS_OF, cache_dir=primed)
    new = earlier - pd.Timedelta(days=15)
    emptied = features.activity(_without_events(other), as_of=new)
    assert emptied["active_days"].sum() < features.activity(fresh, as_of=new)["active_days"].sum()


def test_a_damaged_file_is_derived_again(source, fresh, tmp_path):
    d = tmp_path / "c"
    features.activity(data.load(source, as_of=AS_OF, cache_dir=d))
    (kept,) = _kept(d)
    kept.write_bytes(b"PAR1 not parquet")
    got = features.activity(data.load(source, as_of=AS_OF, cache_dir=d))
    pd.testing.assert_frame_equal(got, features.activity(fresh))
    assert kept.read_bytes()[:4] == b"PAR1" and kept.stat().st_size > 100  # written again


def test_kept_tables_go_with_their_entry(source, tmp_path):
    d = tmp_path / "c"
    features.activity(data.load(source, as_of=AS_OF, cache_dir=d))
    features.activity(data.load(source, as_of="2025-05-31", cache_dir=d))
    assert len(_kept(d)) == 2
    oldest = min(d.glob(f"*{cache.SUFFIX}"), key=lambda f: f.stat().st_mtime)
    os.utime(oldest, (1, 1))
    cache.prune(d, keep=1)
    (left,) = _kept(d)
    assert left.parent.name.removesuffix(cache.SIDE_SUFFIX) != oldest.name.removesuffix(
        cache.SUFFIX
    )


def test_loads_without_a_cache_keep_nothing(source, tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    ds = data.load(source, as_of=AS_OF)
    assert ds.cache is None
    features.activity(ds)
    referral.user_activity(ds)
    assert list(tmp_path.iterdir()) == []


def test_a_kept_table_read_survives_pruning(source, fresh, tmp_path):
    """A kept file is copied into the engine when read: pruning its entry while a kernel
    still uses it (the runner prunes after every run) breaks no later query."""
    d = tmp_path / "c"
    features.activity(data.load(source, as_of=AS_OF, cache_dir=d))
    reader = data.load(source, as_of=AS_OF, cache_dir=d)
    days = features.user_day_stats(reader)
    for f in d.iterdir():
        if f.is_dir():
            shutil.rmtree(f)
    assert days.count().to_pyarrow().as_py() > 700
    pd.testing.assert_frame_equal(features.activity(reader), features.activity(fresh))


def test_an_entry_written_again_drops_the_old_kept_tables(source, tmp_path):
    d = tmp_path / "c"
    features.activity(data.load(source, as_of=AS_OF, cache_dir=d))
    (entry,) = d.glob(f"*{cache.SUFFIX}")
    (kept,) = _kept(d)
    entry.unlink()  # e.g. deleted by hand after the data files were edited in place
    data.load(source, as_of=AS_OF, cache_dir=d)
    assert not kept.exists()


def test_engine_sources_keep_nothing_on_local_disk(source, tmp_path, monkeypatch):
    """An engine source's ``cache`` names its scratch tables (``db.prefix*``), not a file: its
    shared tables stay in the engine (a relative path once put a folder in the working dir)."""
    ds = data.load(source, as_of=AS_OF)
    ds.cache = {"key": "0" * 24, "path": "gl_scratch.gl_0000*", "hit": True}
    monkeypatch.chdir(tmp_path)
    features.activity(ds)
    referral.user_activity(ds)
    assert list(tmp_path.iterdir()) == []


def test_a_time_zone_rule_change_derives_the_tables_again(source, primed, fresh, monkeypatch):
    # A kept table counts local days under this machine's time-zone rules; after a tzdata
    # update that moves the zone's offset, reusing it would bucket days under the old rules.
    from growthlab.data import localtime

    assert fresh.timezone and features.activity(fresh)["active_days"].sum() > 0
    reused = features.activity(_without_events(data.load(source, as_of=AS_OF, cache_dir=primed)))
    pd.testing.assert_frame_equal(reused, features.activity(fresh))
    real = localtime.offset_changes
    monkeypatch.setattr(
        localtime,
        "offset_changes",
        lambda zone, start, end: [(at, s + 3600) for at, s in real(zone, start, end)],
    )
    other = _without_events(data.load(source, as_of=AS_OF, cache_dir=primed))
    # derived again: from the paid orders only, since its events are gone
    assert 0 < features.activity(other)["active_days"].sum() < reused["active_days"].sum() / 2
