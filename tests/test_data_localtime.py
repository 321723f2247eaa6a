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

ZONES = [
    ("America/New_York", "2024-01-01", "2025-12-31"),
    ("Europe/London", "2024-01-01", "2025-12-31"),
    ("Australia/Sydney", "2024-01-01", "2025-12-31"),
    ("Asia/Shanghai", "2024-01-01", "2025-12-31"),
    ("UTC", "2024-01-01", "2025-12-31"),
    # changes off the quarter hour: 00:01 local until 2011; an offset of -0:44:30
    ("America/St_Johns", "2009-01-01", "2011-12-31"),
    ("Africa/Monrovia", "1971-06-01", "1972-06-01"),
]


@pytest.mark.parametrize(("zone", "first", "last"), ZONES)
def test_local_time_equals_pandas_for_every_instant(zone, first, last):
    start, end = pd.Timestamp(first), pd.Timestamp(last)
    # every 7th minute and every second around each change found by pandas itself (not by
    # offset_changes, which is under test): a fixed offset, or a change put on the wrong
    # quarter hour, fails here
    dense = pd.date_range(start, end, freq="7min")
    offsets = dense.tz_localize("UTC").tz_convert(zone).tz_localize(None) - dense
    turns = dense[1:][(offsets[1:] != offsets[:-1])]
    near = [pd.date_range(at - pd.Timedelta(minutes=8), at, freq="s") for at in turns]
    ts = dense.append(near).astype("datetime64[us]")
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
        (pd.Timestamp("2024-12-31"), -5 * 3600),
        (pd.Timestamp("2025-03-09 07:00"), -4 * 3600),
        (pd.Timestamp("2025-11-02 06:00"), -5 * 3600),
    ]
    assert localtime.offset_changes("Asia/Shanghai", "2025-01-01", "2025-12-31") == [
        (pd.Timestamp("2024-12-31"), 8 * 3600)
    ]
    # 2010-11-07 00:01 NDT (-2:30) in St. John's, Newfoundland
    assert localtime.offset_changes("America/St_Johns", "2010-11-01", "2010-11-10")[1] == (
        pd.Timestamp("2010-11-07 02:31"),
        -(3 * 3600 + 1800),
    )
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


def test_experiment_looks_use_local_days():
    # as_of in winter time (EST), assignments in May (EDT): the old offset at as_of moved 5 of
    # the 301 assignments to another day
    frames, truth = synth.generate_frames(1500, seed=4)
    ds = data.load(frames, truth=truth, timezone="America/New_York", as_of="2025-11-15")
    looks = experiments.daily_looks(ds, window_days=14)
    assert len(looks)
    assigned = ds.frame("assignments", ["experiment_id", "user_id", "variant", "assigned_at"])
    first = assigned.groupby(["experiment_id", "user_id", "variant"])["assigned_at"].min()
    first = first.reset_index()
    first["day"] = ds.local(pd.to_datetime(first["assigned_at"])).dt.normalize()
    # n at the end of each local day = users assigned by then (cumulative, per arm)
    for (exp, var), g in looks.groupby(["experiment_id", "variant"]):
        arm = first[(first["experiment_id"] == exp) & (first["variant"] == var)]
        want = [int((arm["day"] <= d).sum()) for d in pd.to_datetime(g["day"])]
        assert g["n"].astype(int).tolist() == want, (exp, var)
