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


# -- per-user and per-period counts: local calendar days, weeks and months -------------------
# Known truth: the same counts in pandas over ``Dataset.local`` (pandas' own zone conversion),
# or the UTC code path run on frames converted to local wall-clock time by pandas. Until these
# were local, a "day" for Asia/Shanghai ran 08:00-08:00 local.


def _local_frame(ds, table: str, cols: list[str], ts_cols: tuple[str, ...]) -> pd.DataFrame:
    df = ds.frame(table, cols)
    for c in ts_cols:
        df[c] = ds.local(pd.to_datetime(df[c]))
    return df


def test_activity_and_purchase_days_are_local_days(new_york):
    from growthlab.data import features

    ds = new_york
    as_of = ds.local(ds.as_of)
    ev = _local_frame(ds, "events", ["user_id", "ts", "event"], ("ts",)).dropna()
    ev = ev[~ev["event"].isin(["reach", "unsubscribe", "complaint"])]  # not activity
    ev = ev[["user_id", "ts"]]
    od = _local_frame(ds, "orders", ["user_id", "ts", "status", "amount"], ("ts",))
    od = od[(od["status"].fillna("paid") == "paid") & (od["ts"] <= as_of)]
    ev = ev[ev["ts"] <= as_of]
    days = pd.concat([ev[["user_id", "ts"]], od[["user_id", "ts"]]])
    days = days.assign(day=days["ts"].dt.normalize()).drop_duplicates(["user_id", "day"])
    days = days.sort_values(["user_id", "day"])
    per = days.groupby("user_id")["day"]
    want = pd.DataFrame(
        {
            "last_active": per.max(),
            "previous_active": per.nth(-2).set_axis(days.loc[per.nth(-2).index, "user_id"]),
            "active_days": per.size(),
        }
    )
    got = features.activity(ds)
    users = _local_frame(ds, "users", ["user_id", "signup_at"], ("signup_at",))
    np.testing.assert_array_equal(
        pd.to_datetime(got["signup_at"]).to_numpy(),
        users.set_index("user_id")["signup_at"].reindex(got.index).to_numpy(),
    )
    want = want.reindex(got.index)
    want["active_days"] = want["active_days"].fillna(0).astype("int64")
    for c in ("last_active", "previous_active"):
        np.testing.assert_array_equal(
            pd.to_datetime(got[c]).to_numpy(), pd.to_datetime(want[c]).to_numpy(), err_msg=c
        )
    assert (got["active_days"] == want["active_days"]).all()
    # the same users counted by UTC days differ (what the old code did), so this can fail
    utc = ds.frame("events", ["user_id", "ts", "event"]).dropna()
    utc = utc[~utc["event"].isin(["reach", "unsubscribe", "complaint"])]
    utc = utc[utc["ts"] <= ds.as_of]
    utc_days = utc.assign(d=utc["ts"].dt.normalize()).groupby("user_id")["d"].nunique()
    local_ev_days = ev.assign(d=ev["ts"].dt.normalize()).groupby("user_id")["d"].nunique()
    assert (utc_days.reindex(local_ev_days.index) != local_ev_days).sum() > 50
    # idle time against the local as_of is a whole number of days
    idle = segments_idle(got["last_active"], as_of)
    idle = idle[~np.isnan(idle)]
    assert len(idle) and np.array_equal(idle, np.round(idle))

    freq = features.rfm_inputs(ds)["frequency"]
    want_f = od.assign(d=od["ts"].dt.normalize()).groupby("user_id")["d"].nunique()
    assert (freq.sort_index() == want_f.reindex(freq.sort_index().index)).all()
    per_day = features.order_days(ds)
    want_d = od.assign(d=od["ts"].dt.normalize()).groupby(["user_id", "d"]).size()
    got_d = per_day.set_index(["user_id", "ts"])["orders"]
    assert got_d.sort_index().tolist() == want_d.sort_index().tolist()
    np.testing.assert_array_equal(
        pd.to_datetime(got_d.sort_index().index.get_level_values(1)).to_numpy(),
        want_d.sort_index().index.get_level_values(1).to_numpy(),
    )


def segments_idle(last_active, as_of):
    from growthlab import segments

    return segments.idle_days(last_active, as_of)


@pytest.fixture(scope="module")
def kolkata():
    """An offset of +5:30: UTC hours are not local hours."""
    frames, truth = synth.generate_frames(1500, seed=4)
    return data.load(frames, truth=truth, timezone="Asia/Kolkata")


@pytest.mark.parametrize("zone", ["new_york", "kolkata"])
def test_retention_contact_and_hour_periods_are_local(zone, request):
    from growthlab.data import funnel as dfunnel
    from growthlab.data import referral as dref

    ds = request.getfixturevalue(zone)
    users = _local_frame(ds, "users", ["user_id", "signup_at", "channel"], ("signup_at",))
    events = _local_frame(ds, "events", ["user_id", "ts", "event", "channel"], ("ts",))
    for period in ("W", "M"):
        got = dfunnel.cohort_activity(ds, period, by="channel")
        want = dfunnel.cohort_activity_frames(users, events, period, by="channel")
        for g, w in zip(got, want, strict=True):
            keys = [c for c in g.columns if c not in ("users", "active_users")]
            pd.testing.assert_frame_equal(
                g.sort_values(keys, ignore_index=True),
                w.sort_values(keys, ignore_index=True),
                check_dtype=False,
            )
    t = dfunnel.memtables(events=events)
    got = dfunnel.contact_response(ds).sort_values(["channel", "contacts"], ignore_index=True)
    want = dfunnel.contact_response_expr(t["events"]).to_pandas()
    want = want.sort_values(["channel", "contacts"], ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    got = dfunnel.hourly_counts(ds, ["visit"]).sort_values("hour", ignore_index=True)
    want = dfunnel.hourly_counts_expr(t["events"], ["visit"]).to_pandas()
    pd.testing.assert_frame_equal(got, want.sort_values("hour", ignore_index=True))
    weeks = dref.users(ds).set_index("user_id")["signup_week"]
    local = users.set_index("user_id")["signup_at"]
    want = local.dt.to_period("W-SUN").dt.start_time.reindex(weeks.index)
    np.testing.assert_array_equal(pd.to_datetime(weeks).to_numpy(), want.to_numpy())


def test_only_datasets_have_a_zone(new_york):
    """A ``timezone`` column of a plain table or frame is data, not the source's zone."""
    frame = pd.DataFrame(
        {"user_id": ["a"], "ts": [pd.Timestamp("2024-01-01 23:30")], "timezone": ["Asia/Tokyo"]}
    )
    table = ibis.memtable(frame)
    assert localtime.source_zone(frame) is None and localtime.source_zone(table) is None
    got = table.select(t=localtime.source_time(table, table.ts)).to_pandas()["t"]
    assert got.tolist() == frame["ts"].tolist()  # UTC kept
    assert localtime.source_zone(new_york) == "America/New_York"
    zone, span = localtime.local_of(new_york)
    assert span == localtime.data_span(new_york) and span[0] < new_york.as_of <= span[1]
