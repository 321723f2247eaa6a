"""Per-user tables built once per validated load and stored with the cache entry (issue #13).

A report's kernels open the same cache entry; the per-user aggregates that lifecycle stages,
clustering, the referral abuse signals and ``growthlab lists`` read (``growthlab.data.rollups``)
are built when the entry is written and read from it afterwards. These tests hold that the
stored tables give exactly what a fresh computation gives, that a hit reads them instead of the
events, that other parameters still compute their own, and that a failure to build them never
fails a load.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from growthlab import data
from growthlab.data import features, referral, rollups, shared, synth
from growthlab.errors import GrowthlabError

AS_OF = "2025-06-30"
STORED = {"user_day_stats", "event_channel_mix", "user_event_counts", "user_activity"}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return synth.write(tmp_path_factory.mktemp("src") / "s", n_users=800, seed=11)


@pytest.fixture(scope="module")
def fresh(source):
    return data.load(source, as_of=AS_OF)


@pytest.fixture(scope="module")
def primed(source, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cache")
    first = data.load(source, as_of=AS_OF, cache_dir=d)
    assert first.cache["hit"] is False and first.timings["shared_tables"] > 0
    return d


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


def test_entry_stores_the_shared_per_user_tables(hit):
    assert {key[0] for key in hit.stored} == STORED
    assert all(name.startswith(shared.STORED_PREFIX) for name in hit.stored.values())
    day_keys = [k for k in hit.stored if k[0] == "user_day_stats"]
    assert day_keys == [("user_day_stats", pd.Timestamp(hit.as_of))]


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
    # the same question at another instant reads the events (none here), not the stored table
    other = data.load(source, as_of=AS_OF, cache_dir=primed)
    emptied = features.activity(_without_events(other), as_of=earlier)
    assert (
        emptied["active_days"].sum() < features.activity(fresh, as_of=earlier)["active_days"].sum()
    )


def test_a_failing_build_never_fails_the_load(source, tmp_path, monkeypatch):
    def broken(ds):
        raise GrowthlabError("no")

    monkeypatch.setattr(rollups, "build", broken)
    first = data.load(source, as_of=AS_OF, cache_dir=tmp_path)
    second = data.load(source, as_of=AS_OF, cache_dir=tmp_path)
    assert second.cache["hit"] is True and second.stored == {}
    assert first.cache["hit"] is False
    pd.testing.assert_frame_equal(features.activity(second), features.activity(first))


def test_sources_without_events_store_what_they_can(tmp_path):
    frames, truth = synth.generate_frames(300, seed=2)
    src = tmp_path / "src"
    src.mkdir()
    for name in ("users", "orders"):
        frames[name].to_csv(src / f"{name}.csv", index=False)
    ds = data.load(src, cache_dir=tmp_path / "c")
    ds = data.load(src, cache_dir=tmp_path / "c")
    assert {k[0] for k in ds.stored} == {"user_day_stats", "user_activity"}
    assert features.activity(ds)["active_days"].sum() > 0
