"""The validated-load cache (growthlab.data.cache): hits equal fresh loads, keys, robustness."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import stat
from pathlib import Path

import ibis
import pandas as pd
import pytest

from growthlab import data
from growthlab.data import cache, synth
from growthlab.data.channels import load_map

AS_OF = "2025-06-30"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return synth.write(tmp_path_factory.mktemp("src") / "sample", n_users=600, seed=3)


@pytest.fixture(scope="module")
def fresh(source):
    return data.load(source, as_of=AS_OF)


@pytest.fixture(scope="module")
def primed(source, tmp_path_factory):
    """(cache folder holding the entry of ``source`` at AS_OF, the load that wrote it)."""
    d = tmp_path_factory.mktemp("cache")
    return d, data.load(source, as_of=AS_OF, cache_dir=d)


def _entries(d: Path) -> list[Path]:
    return sorted(d.glob(f"*{cache.SUFFIX}"))


def _assert_same(a: data.Dataset, b: data.Dataset) -> None:
    assert a.tables == b.tables
    for t in a.tables:
        pd.testing.assert_frame_equal(a.frame(t), b.frame(t), check_exact=True)
    pd.testing.assert_frame_equal(a.persons, b.persons)
    assert a.as_of == b.as_of and a.timezone == b.timezone and a.currency == b.currency
    assert a.truth == b.truth
    qa, qb = a.quality, b.quality
    assert qa.summary() == qb.summary()
    assert qa.quarantined == qb.quarantined and qa.warnings == qb.warnings
    assert qa.identity == qb.identity and qa.encodings == qb.encodings
    for name in ("tables", "nulls", "unknown_channels", "largest_persons", "quarantine"):
        pd.testing.assert_frame_equal(getattr(qa, name), getattr(qb, name))


def test_hit_equals_fresh_load(source, fresh, primed):
    d, first = primed
    assert first.cache["hit"] is False and _entries(d) == [Path(first.cache["path"])]
    second = data.load(source, as_of=AS_OF, cache_dir=d)
    assert second.cache["hit"] is True and "cache_open" in second.timings
    assert second.cache["build_timings"].keys() >= {"parse", "report"}
    _assert_same(fresh, first)
    _assert_same(fresh, second)
    # the session time zone of the validating engine is kept (local-time SQL gives the same)
    sql = "SELECT strftime(max(signup_at::TIMESTAMPTZ), '%Y-%m-%d %H') FROM users"
    assert first.con.raw_sql(sql).fetchone() == second.con.raw_sql(sql).fetchone()


def test_env_variable_enables_cache(source, primed, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(primed[0]))
    assert data.load(source, as_of=AS_OF).cache["hit"] is True
    assert cache.resolve_dir("elsewhere") == Path("elsewhere")
    monkeypatch.delenv(cache.ENV)
    assert cache.resolve_dir(None) is None


def test_cached_dataset_supports_memtables_and_temp_tables(source, primed):
    ds = data.load(source, as_of=AS_OF, cache_dir=primed[0])
    assert ds.cache["hit"]
    users = ds.frame("users", columns=["user_id"])
    picked = users.iloc[::7].assign(flag=1)
    joined = ds.table("users").join(ibis.memtable(picked), "user_id")
    assert joined.count().execute() == len(picked)
    assert joined.flag.sum().execute() == len(picked)
    tmp = ds.con.create_table("scratch", picked, temp=True)
    assert tmp.count().execute() == len(picked)
    per_user = ds.table("orders").group_by("user_id").agg(n=ibis._.count())
    expected = ds.frame("orders")["user_id"].isin(picked["user_id"]).sum()
    assert per_user.join(ibis.memtable(picked), "user_id").n.sum().execute() == expected


def _key(src, **kw):
    args = {
        "timezone": "Asia/Shanghai",
        "as_of": AS_OF,
        "currency": "CNY",
        "lookup": load_map(None),
        "encoding": None,
    }
    args.update(kw)
    return cache.cache_key(src, **args)


def test_key_changes_with_every_parameter_and_the_files(source, tmp_path):
    base = _key(source)
    assert base == _key(str(source)) == _key(source.parent / ".." / source.parent.name / "sample")
    variants = [
        _key(source, timezone="UTC"),
        _key(source, as_of="2025-06-29"),
        _key(source, as_of=pd.Timestamp(AS_OF)),
        _key(source, as_of=None, today=dt.date(2026, 1, 1)),
        _key(source, as_of=None, today=dt.date(2026, 1, 2)),
        _key(source, currency="USD"),
        _key(source, lookup=load_map({"wecom": ["新渠道"]})),
        _key(source, encoding="gb18030"),
    ]
    assert len({base, *variants}) == len(variants) + 1
    assert _key({"users": pd.DataFrame()}) is None
    assert _key(tmp_path / "missing") is None
    # a copy of the source elsewhere, then touched, then grown: new keys each time
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in source.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
        os.utime(copy / f.name, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns))
    k0 = _key(copy)
    assert k0 != base
    st = (copy / "orders.csv").stat()
    os.utime(copy / "orders.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    k1 = _key(copy)
    with open(copy / "orders.csv", "a", encoding="utf-8") as fh:
        fh.write("")
    os.utime(copy / "orders.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _key(copy) == k1  # same size and mtime: same key
    (copy / "truth.json").write_text("{}", encoding="utf-8")
    assert len({k0, k1, _key(copy)}) == 3


def test_source_change_invalidates(source, tmp_path):
    copy = synth.write(tmp_path / "src", n_users=300, seed=5)
    a = data.load(copy, as_of=AS_OF, cache_dir=tmp_path / "c")
    synth.write(copy, n_users=320, seed=6)
    b = data.load(copy, as_of=AS_OF, cache_dir=tmp_path / "c")
    assert b.cache["hit"] is False and b.cache["key"] != a.cache["key"]
    assert len(b.frame("users")) != len(a.frame("users"))


@pytest.mark.parametrize("damage", ["garbage", "truncate", "wrong_key"])
def test_corrupt_entry_is_rebuilt(source, fresh, primed, tmp_path, damage):
    good = Path(primed[1].cache["path"])
    as_of = AS_OF
    path = tmp_path / good.name
    if damage == "garbage":
        path.write_bytes(b"not a duckdb file" * 100)
    elif damage == "truncate":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    else:  # a valid entry under another key's name (another as_of)
        as_of = "2025-06-29"
        key = cache.cache_key(
            source,
            timezone="Asia/Shanghai",
            as_of=as_of,
            currency="CNY",
            lookup=load_map(None),
            encoding=None,
        )
        path = tmp_path / f"{key}{cache.SUFFIX}"
        path.write_bytes(good.read_bytes())
    rebuilt = data.load(source, as_of=as_of, cache_dir=tmp_path)
    assert rebuilt.cache["hit"] is False and rebuilt.cache["path"] == str(path)
    if damage == "wrong_key":
        assert rebuilt.as_of < fresh.as_of
    else:
        _assert_same(fresh, rebuilt)
    assert data.load(source, as_of=as_of, cache_dir=tmp_path).cache["hit"] is True


def test_unwritable_cache_dir_still_loads(source, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    ds = data.load(source, as_of=AS_OF, cache_dir=blocker / "sub")
    assert ds.cache is None and len(ds.frame("users")) > 0


def _load_in_child(args: tuple[str, str]) -> tuple[int, int, bool]:
    src, cdir = args
    ds = data.load(src, as_of=AS_OF, cache_dir=cdir)
    return len(ds.frame("users")), int(ds.table("events").count().execute()), ds.cache["hit"]


def test_concurrent_first_loads(source, fresh, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.map(_load_in_child, [(str(source), str(tmp_path))] * 2)
    expected = (len(fresh.frame("users")), int(fresh.table("events").count().execute()))
    assert [r[:2] for r in results] == [expected, expected]
    assert sorted(r[2] for r in results) == [False, True]  # one built, the other waited and hit
    assert len(_entries(tmp_path)) == 1 and not list(tmp_path.glob(".*.tmp"))


def test_prune_keeps_most_recent(tmp_path):
    now = 1_700_000_000
    keys = [f"{i:032x}" for i in range(6)]
    for i, k in enumerate(keys):
        f = tmp_path / f"{k}{cache.SUFFIX}"
        f.write_bytes(b"x")
        os.utime(f, (now + i, now + i))
    foreign = tmp_path / f"mine{cache.SUFFIX}"  # not written by the cache: never touched
    foreign.write_bytes(b"x")
    os.utime(foreign, (now, now))
    stale_tmp = tmp_path / f".{keys[0]}.123.ab.tmp"
    stale_tmp.write_bytes(b"x")
    os.utime(stale_tmp, (now, now))
    removed = cache.prune(tmp_path, keep=2)
    left = {p.name for p in _entries(tmp_path)}
    assert left == {f"{keys[4]}{cache.SUFFIX}", f"{keys[5]}{cache.SUFFIX}", foreign.name}
    assert stale_tmp in removed and not stale_tmp.exists()
    assert cache.prune(tmp_path / "missing") == []


# --- permissions: entries hold personal data, so the cache is private to the user ------------


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def loose_umask():
    """A careless umask (0o000): the cache must not rely on the user's umask."""
    old = os.umask(0o000)
    yield
    os.umask(old)


def test_new_cache_folder_and_files_are_private(source, tmp_path, loose_umask, monkeypatch):
    seen = {}
    real_replace = os.replace

    def spy(src, dst):  # the temporary entry is private before it becomes visible
        seen[Path(src).name] = _mode(Path(src))
        return real_replace(src, dst)

    monkeypatch.setattr(cache.os, "replace", spy)
    d = tmp_path / "home" / ".cache" / "growthlab" / "datasets"
    ds = data.load(source, as_of=AS_OF, cache_dir=d)
    assert ds.cache["hit"] is False and ds.cache["path"]
    assert list(seen.values()) == [0o600]
    assert _mode(d) == 0o700
    files = list(d.iterdir())
    assert {f.suffix for f in files} == {cache.SUFFIX, ".lock"}  # the entry and its lock
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_ensure_dir_creates_missing_parents_private(tmp_path, loose_umask):
    d = cache.ensure_dir(tmp_path / "a" / "b")
    assert _mode(d) == _mode(d.parent) == 0o700


def test_existing_cache_folder_is_tightened(tmp_path, loose_umask):
    """A folder holding only cache files (older versions left 0755/0644) becomes private."""
    d = tmp_path / "datasets"
    d.mkdir(mode=0o755)
    entry = d / f"{'a' * 32}{cache.SUFFIX}"
    lock = d / f".{'a' * 32}.lock"
    for f in (entry, lock):
        f.write_bytes(b"x")
        f.chmod(0o644)
    cache.prune(d, keep=8)
    assert (_mode(d), _mode(entry), _mode(lock)) == (0o700, 0o600, 0o600)


def test_shared_folder_keeps_its_mode_but_cache_files_are_private(source, tmp_path, loose_umask):
    d = tmp_path / "shared"
    d.mkdir(mode=0o755)
    d.chmod(0o755)
    other = d / "notes.txt"  # someone else's file: the folder is not the cache's to tighten
    other.write_text("x")
    other.chmod(0o644)
    ds = data.load(source, as_of=AS_OF, cache_dir=d)
    assert ds.cache["path"]
    assert _mode(d) == 0o755 and _mode(other) == 0o644
    assert _mode(Path(ds.cache["path"])) == 0o600 and _mode(d / f".{ds.cache['key']}.lock") == 0o600
