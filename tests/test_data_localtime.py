"""Local calendar days in the engine follow daylight saving (growthlab.data.localtime).

Known truth: pandas' own zone conversion of every row (``Dataset.local``). The daily KPI
series (05, 00), the data-volume series (01) and the experiments' daily looks (06) used to shift
every row by the UTC offset at as_of, which put an hour of rows into the wrong local day for
half of the year in a zone with daylight saving.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from growthlab import data
from growthlab.data import daily, experiments, localtime, profile, synth

ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Shanghai", "UTC"]


@pytest.mark.parametrize("zone", ZONES)
def test_local_time_equals_pandas_for_every_instant(zone):
    rng = np.random.default_rng(1)
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2025-12-31")
    spread = start + pd.to_timedelta(rng.integers(0, 730 * 86400, 4000), unit="s")
    # every minute of the days around each offset change, where a fixed offset goes wrong
    near = [
        pd.date_range(at - pd.Timedelta(hours=30), at + pd.Timedelta(hours=30), freq="min")
        for at, _ in localtime.offset_changes(zone, start, end)[1:]
    ]
    ts = pd.DatetimeIndex(spread).append(near).astype("datetime64[us]")
    t = ibis.memtable(pd.DataFrame({"ts": ts}))
    got = t.select(
        local=localtime.local_time(t.ts, zone, start, end),
        day=localtime.local_day(t.ts, zone, start, end),
    ).to_pandas()
    want = ts.tz_localize("UTC").tz_convert(zone).tz_localize(None)
    np.testing.assert_array_equal(pd.to_datetime(got["local"]).to_numpy(), want.to_numpy())
    np.testing.assert_array_equal(
        pd.to_datetime(got["day"]).to_numpy(), want.normalize().to_numpy()
    )
    if zone in ("America/New_York", "Europe/London", "Australia/Sydney"):
        assert len(near) == 4  # two changes a year, two years


def test_offset_changes_names_the_instants():
    changes = localtime.offset_changes("America/New_York", "2025-01-01", "2025-12-31")
    assert changes == [
        (pd.Timestamp("2024-12-31"), -300),
        (pd.Timestamp("2025-03-09 07:00"), -240),
        (pd.Timestamp("2025-11-02 06:00"), -300),
    ]
    assert localtime.offset_changes("Asia/Shanghai", "2025-01-01", "2025-12-31") == [
        (pd.Timestamp("2024-12-31"), 480)
    ]
    with pytest.raises(Exception, match="unknown time zone"):
        localtime.offset_changes("Mars/Olympus", "2025-01-01", "2025-01-02")


@pytest.fixture(scope="module")
def new_york():
    """The synthetic sample read as New York time: it spans the March change."""
    frames, truth = synth.generate_frames(1500, seed=4)
    return data.load(frames, truth=truth, timezone="America/New_York")


def _by_local_day(ds, stamps: pd.Series) -> pd.Series:
    days = ds.local(pd.to_datetime(stamps.dropna())).dt.normalize()
    return days.value_counts().sort_index()


def test_daily_kpis_count_by_each_rows_own_local_day(new_york):
    ds = new_york
    series = daily.kpi_series(ds, by_channel=False, metrics=["new_users", "conversions"])
    got = series.set_index(["metric", "date"])["value"]
    want = _by_local_day(ds, ds.frame("users", ["signup_at"])["signup_at"])
    new_users = got.loc["new_users"]
    want = want.reindex(new_users.index, fill_value=0)
    assert (new_users.to_numpy() == want.to_numpy()).all()
    orders = ds.frame("orders", ["ts", "status"])
    paid = orders.loc[orders["status"].fillna("paid") == "paid", "ts"]
    conv = got.loc["conversions"]
    assert (conv.to_numpy() == _by_local_day(ds, paid).reindex(conv.index, fill_value=0)).all()
    # the days after the change moved: a fixed offset at as_of would count them differently
    summer = conv.index >= pd.Timestamp("2025-03-10")
    assert summer.sum() > 30 and conv[summer].sum() > 100


def test_daily_volume_counts_by_local_day(new_york):
    ds = new_york
    vol = profile.daily_volume(ds)
    events = vol[vol["table"] == "events"].set_index("date")["rows"]
    want = _by_local_day(ds, ds.frame("events", ["ts"])["ts"]).reindex(events.index, fill_value=0)
    assert (events.to_numpy() == want.to_numpy()).all()


def test_experiment_looks_use_local_days(new_york):
    ds = new_york
    looks = experiments.daily_looks(ds, window_days=14)
    assert len(looks)
    assigned = ds.frame("assignments", ["experiment_id", "variant", "assigned_at"])
    assigned["day"] = ds.local(pd.to_datetime(assigned["assigned_at"])).dt.normalize()
    first = assigned.groupby(["experiment_id", "variant"])["day"].min()
    got = looks.groupby(["experiment_id", "variant"])["day"].min()
    pd.testing.assert_series_equal(
        pd.to_datetime(got).rename("day"), first.rename("day"), check_index_type=False
    )
