"""load(): every source kind gives the same frames; encodings, time zones, as_of, CLI."""

from __future__ import annotations

import hashlib
import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import tiny_frames

from growthlab import cli
from growthlab.data import Dataset, load
from growthlab.errors import ConfigError


def _write(folder, frames, fmt="csv", encoding="utf-8"):
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in frames.items():
        if fmt == "csv":
            df.to_csv(folder / f"{name}.csv", index=False, encoding=encoding)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _all(ds: Dataset) -> dict[str, pd.DataFrame]:
    return {t: ds.frame(t) for t in ds.tables}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    frames = tiny_frames()
    base = tmp_path_factory.mktemp("sources")
    csv = _write(base / "csv", frames)
    pq = _write(base / "parquet", frames, fmt="parquet")
    db = base / "src.duckdb"
    con = duckdb.connect(str(db))
    for name, df in frames.items():
        con.register("tmp", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM tmp")
        con.unregister("tmp")
    con.close()
    return {
        "dict": load(frames),
        "csv": load(csv),
        "parquet": load(pq),
        "duckdb": load(db),
        "paths": (csv, db),
    }


@pytest.mark.parametrize("kind", ["csv", "parquet", "duckdb"])
def test_sources_give_equal_frames(loaded, kind):
    want, got = _all(loaded["dict"]), _all(loaded[kind])
    assert list(got) == list(want)
    for t in want:
        pd.testing.assert_frame_equal(got[t], want[t], check_dtype=True)


def test_normalised_columns(loaded):
    ds = loaded["dict"]
    users = ds.frame("users")
    assert users["signup_at"].dtype == "datetime64[us]"
    # naive Asia/Shanghai wall-clock time -> UTC (8 hours earlier)
    assert users.loc[0, "signup_at"] == pd.Timestamp("2024-01-01 02:00:00")
    assert users["channel"].tolist() == ["wecom", "wechat_group", "mini_program", "sms"]
    assert users["channel_raw"].tolist() == ["企微", "社群", "小程序", "短信"]
    assert users["referred"].tolist() == [False, True, True, False]
    orders = ds.frame("orders")
    assert orders["status"].tolist() == ["paid", "paid", "refunded"]
    assert orders["amount"].dtype == "float64"
    assert ds.frame("referrals")["share_channel"].tolist() == ["wechat_group", "moments"]
    assert ds.local(users["signup_at"]).iloc[0] == pd.Timestamp("2024-01-01 10:00:00")
    assert ds.local(users.loc[0, "signup_at"]) == pd.Timestamp("2024-01-01 10:00:00")


def test_dataset_api(loaded):
    ds = loaded["dict"]
    assert ds.tables == ["users", "referrals", "events", "orders", "identities"]
    assert ds.has("orders") and not ds.has("costs")
    assert ds.table("events").count().to_pyarrow().as_py() == 4
    assert list(ds.frame("orders", columns=["order_id"]).columns) == ["order_id"]
    assert ds.as_of == pd.Timestamp("2024-01-06 04:00:00")  # latest timestamp (orders.o3)
    assert ds.timezone == "Asia/Shanghai" and ds.currency == "CNY" and ds.truth is None
    assert len(ds.persons) == 4
    with pytest.raises(ConfigError, match="costs"):
        ds.table("costs")


def test_gbk_and_explicit_encoding(tmp_path):
    frames = tiny_frames()
    folder = _write(tmp_path / "gbk", frames, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        (folder / "users.csv").read_text(encoding="utf-8")
    ds = load(folder)
    assert ds.quality.encodings["users"] == "gb18030"
    assert ds.frame("users")["channel_raw"].tolist() == ["企微", "社群", "小程序", "短信"]
    ds2 = load(folder, encoding="gbk")
    pd.testing.assert_frame_equal(ds.frame("events"), ds2.frame("events"))


def test_explicit_offsets_and_tz_aware_frames(frames):
    frames["events"]["ts"] = [
        "2024-01-01T10:05:00+08:00",
        "2024-01-02T02:00:00Z",
        "2024-01-04 04:00:00+00:00",
        "2024-01-05 09:00:00",
    ]
    frames["orders"]["ts"] = pd.to_datetime(frames["orders"]["ts"]).dt.tz_localize("UTC")
    ds = load(frames, timezone="Asia/Shanghai")
    ts = ds.frame("events")["ts"].tolist()
    assert ts == [
        pd.Timestamp("2024-01-01 02:05"),
        pd.Timestamp("2024-01-02 02:00"),
        pd.Timestamp("2024-01-04 04:00"),
        pd.Timestamp("2024-01-05 01:00"),
    ]
    assert ds.frame("orders")["ts"].iloc[0] == pd.Timestamp("2024-01-02 12:00")


def test_daylight_saving_zone(frames):
    frames["events"]["ts"] = ["2024-01-15 12:00", "2024-07-15 12:00", "2024-01-16", "2024-01-17"]
    ds = load(frames, timezone="Europe/London", as_of="2024-12-31")
    ts = ds.frame("events")["ts"]
    assert ts.iloc[0] == pd.Timestamp("2024-01-15 12:00")
    assert ts.iloc[1] == pd.Timestamp("2024-07-15 11:00")


def test_as_of_date_is_end_of_local_day_and_future_rows(frames):
    ds = load(frames, as_of="2024-01-05")
    assert ds.as_of == pd.Timestamp("2024-01-05 16:00:00")  # 2024-01-06 00:00 Shanghai
    assert ds.frame("orders")["order_id"].tolist() == ["o1", "o2"]  # o3 is after as_of
    assert ds.quality.count("orders", "future_timestamp") == 1
    with pytest.raises(ConfigError, match="as_of"):
        load(frames, as_of="not a date")
    with pytest.raises(ConfigError, match="timezone"):
        load(frames, timezone="Mars/Olympus")


def test_default_as_of_ignores_future_rows(frames):
    frames["events"].loc[3, "ts"] = "2999-01-01 00:00:00"
    ds = load(frames)
    assert ds.as_of == pd.Timestamp("2024-01-06 04:00:00")
    assert ds.quality.count("events", "future_timestamp") == 1


def test_source_never_modified_and_truth_json(tmp_path):
    folder = _write(tmp_path / "src", tiny_frames())
    (folder / "truth.json").write_text(json.dumps({"seed": 7}), encoding="utf-8")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    ds = load(folder)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert before == after
    assert ds.truth == {"seed": 7}


def test_truth_json_read_only_when_used(tmp_path, monkeypatch):
    """as_of comes from truth.json's members up to ``as_of``; the whole file (tens of MB at a
    million users) is parsed only when ``ds.truth`` is read."""
    from growthlab.data import dataset as dmod

    folder = _write(tmp_path / "src", tiny_frames())
    truth = {"a_big": list(range(1000)), "as_of": "2024-01-05", "z": {"users": ["u1"] * 50}}
    (folder / "truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    parsed = []
    real = dmod._read_truth
    monkeypatch.setattr(dmod, "_read_truth", lambda src: parsed.append(src) or real(src))
    ds = load(folder)
    assert ds.as_of_source.startswith("truth.json")
    assert ds.local(ds.as_of) == pd.Timestamp("2024-01-06")  # the end of the local day
    assert parsed == []
    assert ds.truth == truth and len(parsed) == 1
    assert ds.truth == truth and len(parsed) == 1  # read once


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"as_of": "2025-06-30"}', "2025-06-30"),
        (
            '{ "ab": {"as_of": "no"}, "x": [1, {"as_of": 2}] ,\n "as_of" :"2025-01-02", "z": 1}',
            "2025-01-02",
        ),
        ('{"ab": "\\"as_of\\": \\"no\\"", "as_of": "2024-02-29"}', "2024-02-29"),
        ('{"seed": 7}', None),
        ('{"as_of": null}', None),
        ('{"as_of": ""}', None),
        ('{"as_of": 0}', None),
        ('{"a": 1, "as_of": 20250630}', "20250630"),
        ("[1, 2]", None),
        ("{}", None),
        ('{"a": 1,} ', "error"),
        ('{"a": 1 "as_of": "2025-01-01"}', "error"),
        ('{"a": [1, 2}', "error"),
        ("", "error"),
        ('\ufeff{"as_of": "2025-01-01"}', "error"),
    ],
)
def test_truth_as_of_matches_a_full_parse(tmp_path, text, expected):
    """The partial parse answers as a full parse would, and a broken file is an error naming
    it (never a silently different as_of)."""
    from growthlab.data import dataset as dmod
    from growthlab.errors import ConfigError

    (tmp_path / "truth.json").write_text(text, encoding="utf-8")
    if expected == "error":
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        with pytest.raises(ConfigError, match="truth.json: not valid JSON"):
            dmod._truth_as_of(tmp_path)
        return
    full = json.loads(text)
    assert expected == dmod._planted_as_of(full)
    assert dmod._truth_as_of(tmp_path) == expected


def test_ibis_connection_source(frames):
    import ibis

    con = ibis.duckdb.connect()
    for name, df in frames.items():
        con.create_table(name, df)
    ds = load(con)
    pd.testing.assert_frame_equal(ds.frame("users"), load(frames).frame("users"))


def test_cli_validate_exit_codes(loaded, tmp_path, capsys):
    csv, db = loaded["paths"]
    assert cli.main(["validate", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "data contract: OK" in out and "identity (OneID)" in out
    bad = _write(tmp_path / "bad", tiny_frames())
    df = pd.read_csv(bad / "orders.csv", dtype=str)
    df.loc[0, "amount"] = "lots"
    df.to_csv(bad / "orders.csv", index=False)
    assert cli.main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "orders.amount: rule 'type'" in err and "Traceback" not in err
    assert cli.main(["validate", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_unreadable_file_is_a_contract_error(tmp_path, capsys):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "users.parquet").write_bytes(b"this is not a parquet file")
    assert cli.main(["validate", str(folder)]) == 2
    assert "users.parquet: cannot be read" in capsys.readouterr().err


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
def test_time_zone_conversion_matches_pandas(zone):
    rng = np.random.default_rng(1)
    local = pd.Timestamp("2023-01-01") + pd.to_timedelta(
        rng.integers(0, 2 * 365 * 86400, 300), unit="s"
    )
    utc = pd.Series(local).dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    keep = utc.notna().to_numpy()
    local, utc = local[keep], utc[keep]
    users = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(len(local))],
            "signup_at": local.strftime("%Y-%m-%d %H:%M:%S"),
        }
    )
    got = load({"users": users}, timezone=zone, as_of="2030-01-01").frame("users")["signup_at"]
    want = utc.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("us")
    assert (got.to_numpy() == want.to_numpy()).all()


def test_local_orders_are_in_the_sources_time_zone(frames):
    from growthlab.data import campaigns, features, load

    ds = load(frames, as_of="2024-02-01")
    out = features.local_orders(ds)
    assert list(out.columns) == ["user_id", "ts", "amount", "status"]
    pd.testing.assert_series_equal(out["ts"], ds.local(ds.frame("orders")["ts"]), check_names=False)
    assert campaigns.local_orders is features.local_orders  # one definition


def test_decay_touchpoints_need_touch_times(frames):
    from growthlab.data import journeys, load

    ds = load(frames, as_of="2024-02-01")
    tp = journeys.decay_touchpoints(ds, lookback_days=30)
    assert tp is not None and tp["converted"].all()
    frames["paths"] = pd.DataFrame({"path": ["a > b"], "conversions": [3], "nulls": [1]})
    assert journeys.decay_touchpoints(load(frames, as_of="2024-02-01")) is None
