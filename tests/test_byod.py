"""Bring your own data (issue #12): growthlab.yaml, `growthlab init`, Excel input, errors that
teach, and as_of belonging to the data.

The messy export fixture is written from code (tests/byod.py): GBK CSV with Chinese headers,
an .xlsx with "¥1,299.00"/"￥105.15"/"元" amounts and 已支付/已退款, referrals split over two
monthly files, export file names with dates. The fast tests compare the validated tables with
the same rows in contract form; the slow test runs the whole report on both.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from byod import write_contract, write_messy

from growthlab import cli
from growthlab.data import contract as C
from growthlab.data import description, infer, load, synth
from growthlab.errors import ConfigError, DataContractError
from growthlab.report.config import load_config

GROWTHLAB = Path(sys.executable).with_name("growthlab")
ROOT = Path(__file__).resolve().parents[1]


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
        if p.is_file() and p.name != description.DESCRIPTION_FILE
    }


@pytest.fixture(scope="module")
def frames():
    f, _ = synth.generate_frames(600, 5)
    return f


@pytest.fixture(scope="module")
def pair(frames, tmp_path_factory):
    """(messy folder after `growthlab init`, contract folder): the same rows."""
    base = tmp_path_factory.mktemp("byod")
    messy = write_messy(base / "export", frames)
    before = _snapshot(messy)
    assert cli.main(["init", str(messy)]) == 0
    assert _snapshot(messy) == before, "init never changes the data files"
    return messy, write_contract(base / "contract", frames)


def test_init_writes_a_valid_description(pair):
    messy, _ = pair
    desc = description.read(messy)
    t = desc.tables
    assert t["users"].files == ("用户导出_20250630.csv",) and t["users"].encoding == "gb18030"
    assert t["users"].columns["user_id"] == ("用户ID",)
    assert t["users"].formats["signup_at"] == ("%Y/%m/%d %H:%M:%S",)
    assert t["referrals"].files == ("邀请记录_*.csv",)
    assert t["orders"].files == ("订单导出_2025Q2.xlsx",) and t["orders"].sheet == "订单"
    assert t["orders"].formats["amount"] == ("money",)
    assert t["orders"].values["status"] == {"已支付": "paid", "已退款": "refunded"}
    assert t["costs"].formats["spend"] == ("money",)
    assert set(t) == set(C.TABLES) - {"paths"}
    text = (messy / description.DESCRIPTION_FILE).read_text(encoding="utf-8")
    assert "# 手机号: personal data, never read" in text
    assert "手机号:" not in text.replace("# 手机号:", "")


def test_init_prints_what_it_mapped_and_the_next_command(pair, capsys, tmp_path):
    messy, _ = pair
    folder = tmp_path / "again"
    folder.mkdir()
    for p in messy.iterdir():
        if p.name != description.DESCRIPTION_FILE:
            (folder / p.name).write_bytes(p.read_bytes())
    assert cli.main(["init", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "users        <- 用户导出_20250630.csv, gb18030" in out
    assert "referrals    <- 邀请记录_*.csv (2 files)" in out
    assert "amount <- 实付金额 [money]" in out
    assert "files not used: 订单导出_2025Q2.xlsx [说明], 说明.txt" in out
    assert "personal data (never read): 手机号, 昵称" in out
    assert f"growthlab validate {folder}" in out and f"growthlab run --source {folder}" in out
    # an existing description is kept unless --force
    assert cli.main(["init", str(folder)]) == 2
    assert "--force" in capsys.readouterr().err
    assert cli.main(["init", str(folder), "--force"]) == 0
    assert (folder / f".{description.DESCRIPTION_FILE}.bak").is_file()


def test_messy_export_loads_exactly_as_the_contract_form(pair):
    messy, contract = pair
    a, b = load(messy), load(contract)
    assert a.as_of == b.as_of and a.tables == b.tables
    for t in b.tables:
        fa, fb = a.frame(t), b.frame(t)
        pd.testing.assert_frame_equal(fa, fb, check_dtype=False, obj=t)
    assert a.quality.counts() == b.quality.counts()
    assert a.quality.quarantine.drop(columns="detail").equals(
        b.quality.quarantine.drop(columns="detail")
    )
    paid = b.frame("orders").query("status == 'paid'")["amount"].sum()
    assert a.frame("orders").query("status == 'paid'")["amount"].sum() == pytest.approx(paid)
    notes = {(n.table, n.rule) for n in a.quality.notes}
    assert ("source", C.N_UNUSED_FILES) in notes  # 说明.txt is named, never read


def test_validate_cli_on_the_messy_export(pair, capsys):
    messy, _ = pair
    assert cli.main(["validate", str(messy)]) == 0
    out = capsys.readouterr().out
    assert "data contract: OK" in out and "read as described in" in out
    assert "as_of chosen from: latest timestamp in the data" in out


# -- the description is checked like a run config -------------------------------------------
def _folder(tmp_path: Path, yaml_text: str, files: dict[str, str] | None = None) -> Path:
    d = tmp_path / "src"
    d.mkdir(exist_ok=True)
    for name, text in (files or {"u.csv": "ID,Created\nu1,2025-01-01\n"}).items():
        (d / name).write_text(text, encoding="utf-8")
    (d / description.DESCRIPTION_FILE).write_text(yaml_text, encoding="utf-8")
    return d


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("tabels: {}\n", "unknown key 'tabels'; did you mean 'tables'?"),
        ("tables: {user: u.csv}\n", "tables.user: not a contract table; did you mean 'users'?"),
        (
            "tables: {users: {files: u.csv, columns: {userid: ID}}}\n",
            "tables.users.columns.userid: users has no column 'userid'; did you mean 'user_id'?",
        ),
        ("tables: {users: {files: x_*.csv}}\n", "no file matches 'x_*.csv'"),
        (
            "tables: {users: {files: u.csv, formats: {signup_at: money}}}\n",
            "'money' is not a timestamp format",
        ),
        (
            "tables: {orders: {files: u.csv, values: {status: {已支付: payed}}}}\n",
            "'payed' is not an order status (allowed: paid, refunded)",
        ),
        ("tables: {users: {files: ../u.csv}}\n", "must be a name or glob inside the source folder"),
        ("timezone: Mars/Base\ntables: {}\n", "'Mars/Base' is not a known time zone"),
        (
            "tables: {users: {files: u.csv, encodng: gbk}}\n",
            "unknown key; did you mean 'encoding'?",
        ),
    ],
)
def test_description_mistakes_name_the_key(tmp_path, yaml_text, message, capsys):
    d = _folder(tmp_path, yaml_text)
    with pytest.raises(ConfigError, match=None) as err:
        load(d)
    assert message in str(err.value)
    assert cli.main(["validate", str(d)]) == 2
    assert message in capsys.readouterr().err


def test_value_maps_formats_and_sheets(tmp_path):
    import openpyxl

    d = tmp_path / "src"
    d.mkdir()
    (d / "客户.csv").write_text(
        "标题：客户导出\n客户编号,加入日期,订阅\n c1 ,2025年01月02日,Y\nc2,2025年01月03日,N\n",
        encoding="utf-8",
    )
    wb = openpyxl.Workbook()
    wb.active.title = "封面"
    ws = wb.create_sheet("明细")
    ws.append(["单号", "客户", "时间", "金额", "状态"])
    ws.append(["o1", "c1", 45659.5, "1,299.50", "交易成功"])
    ws.append(["o2", "c2", 45660.25, "CNY 12", "退款中"])
    wb.save(d / "orders.xlsx")
    (d / description.DESCRIPTION_FILE).write_text(
        """
tables:
  users:
    files: 客户.csv
    skip_rows: 1
    columns: {user_id: 客户编号, signup_at: 加入日期, consent_marketing: 订阅}
    formats: {signup_at: "%Y年%m月%d日"}
    values: {consent_marketing: {y: true, n: false}}
  orders:
    files: orders.xlsx
    sheet: 明细
    columns: {order_id: 单号, user_id: 客户, ts: 时间, amount: 金额, status: 状态}
    formats: {ts: excel, amount: money}
    values: {status: {交易成功: paid, 退款中: refunded}}
""",
        encoding="utf-8",
    )
    ds = load(d, as_of="2025-01-10")
    u = ds.frame("users")
    assert list(u.user_id) == ["c1", "c2"] and list(u.consent_marketing) == [True, False]
    assert ds.local(u.signup_at).dt.strftime("%Y-%m-%d").tolist() == ["2025-01-02", "2025-01-03"]
    o = ds.frame("orders")
    assert list(o.amount) == [1299.5, 12.0] and list(o.status) == ["paid", "refunded"]
    assert ds.local(o.ts).dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2025-01-02 12:00",
        "2025-01-03 06:00",
    ]


def test_excel_file_named_after_its_table_is_read_without_description(tmp_path):
    import openpyxl

    d = tmp_path / "src"
    d.mkdir()
    wb = openpyxl.Workbook()
    wb.active.append(["user_id", "signup_at"])
    wb.active.append(["u1", pd.Timestamp("2025-01-01 10:00").to_pydatetime()])
    wb.active.append([12345, "2025-01-02 11:00:00"])  # a numeric id stays "12345"
    wb.save(d / "users.xlsx")
    ds = load(d)
    assert list(ds.frame("users").user_id) == ["u1", "12345"]
    assert ds.as_of_source.startswith("latest timestamp in the data (users.signup_at)")


# -- errors that teach ----------------------------------------------------------------------
def test_missing_table_lists_the_files_found(pair, tmp_path, capsys):
    messy, _ = pair
    d = tmp_path / "noyaml"
    d.mkdir()
    for p in messy.iterdir():
        if p.name != description.DESCRIPTION_FILE:
            (d / p.name).write_bytes(p.read_bytes())
    assert cli.main(["validate", str(d)]) == 2
    err = capsys.readouterr().err
    assert "users: rule 'table_required'" in err
    assert "用户导出_20250630.csv" in err and "订单导出_2025Q2.xlsx" in err
    assert "growthlab init" in err


def test_missing_column_lists_columns_and_the_likely_one(tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    (d / "users.csv").write_text("用户ID,注册时间,手机号\nu1,2025-01-01,13800000000\n", "utf-8")
    with pytest.raises(DataContractError) as err:
        load(d)
    p = next(p for p in err.value.problems if p.column == "user_id")
    assert p.rule == C.R_COLUMN and p.count == 0
    assert "users.csv has the column(s) '用户ID', '注册时间', '手机号'" in p.detail
    assert "'用户ID' looks like users.user_id" in p.detail
    assert "tables.users.columns.user_id: 用户ID" in p.detail


def test_type_error_shows_values_rows_and_the_fixing_key(tmp_path):
    d = _folder(
        tmp_path,
        "tables:\n  users: {files: u.csv, columns: {user_id: ID, signup_at: Created}}\n"
        "  orders: {files: 'o_*.csv', columns: {order_id: no, user_id: uid, ts: t, amount: amt}}\n",
        {
            "u.csv": "ID,Created\nu1,02.01.2025 10:00\nu2,03.01.2025 11:30\n",
            "o_1.csv": "no,uid,t,amt\no1,u1,2025-01-05,12\n",
            "o_2.csv": 'no,uid,t,amt\no2,u1,2025-01-06,"¥1,299.00"\no3,u2,2025-01-06,12,5\n',
        },
    )
    (d / "o_2.csv").write_text(
        'no,uid,t,amt\no2,u1,2025-01-06,"¥1,299.00"\no3,u2,2025-01-06,"12,5"\n', "utf-8"
    )
    with pytest.raises(DataContractError) as err:
        load(d)
    by = {(p.table, p.column): p for p in err.value.problems}
    ts = by[("users", "signup_at")]
    assert ts.rule == C.R_TYPE and ts.rows == (1, 2)
    assert "row 1 '02.01.2025 10:00'" in ts.detail
    assert "set tables.users.formats.signup_at: '%d.%m.%Y %H:%M'" in ts.detail
    amt = by[("orders", "amount")]
    assert amt.rows == (2, 3)
    assert "row 2 (o_2.csv row 1) '¥1,299.00'" in amt.detail
    assert "set tables.orders.formats.amount: money" in amt.detail


def test_money_never_misreads_a_decimal_comma(tmp_path):
    d = _folder(
        tmp_path,
        "tables:\n  users: {files: u.csv, columns: {user_id: ID, signup_at: Created}}\n"
        "  orders: {files: o.csv, formats: {amount: money}}\n",
        {
            "u.csv": "ID,Created\nu1,2025-01-02\n",
            "o.csv": 'order_id,user_id,ts,amount\no1,u1,2025-01-03,"12,5"\n'
            'o2,u1,2025-01-03,"￥12,345.60"\no3,u1,2025-01-03,-¥5\n',
        },
    )
    with pytest.raises(DataContractError) as err:
        load(d)
    (p,) = err.value.problems
    assert (p.column, p.rule, p.rows) == ("amount", C.R_TYPE, (1,))
    (d / "o.csv").write_text(
        'order_id,user_id,ts,amount\no2,u1,2025-01-03,"￥12,345.60"\no3,u1,2025-01-03,-¥5\n',
        "utf-8",
    )
    ds = load(d)
    assert list(ds.frame("orders").amount) == [12345.6]
    assert ds.quality.count("orders", C.Q_NEGATIVE) == 1


def test_unknown_status_lists_values_and_the_value_map(tmp_path):
    d = _folder(
        tmp_path,
        "tables:\n  users: {files: u.csv, columns: {user_id: ID, signup_at: Created}}\n",
        {
            "u.csv": "ID,Created\nu1,2025-01-02\n",
            "orders.csv": "order_id,user_id,ts,amount,status\no1,u1,2025-01-03,1,待付款\n"
            "o2,u1,2025-01-03,1,交易关闭\no3,u1,2025-01-03,1,待付款\n",
        },
    )
    with pytest.raises(DataContractError) as err:
        load(d)
    (p,) = err.value.problems
    assert p.rule == C.R_VOCAB
    assert "found: '待付款' (2), '交易关闭' (1)" in p.detail
    assert (
        "tables.orders.values.status: {待付款: paid|refunded, 交易关闭: paid|refunded}" in p.detail
    )


# -- as_of belongs to the data ----------------------------------------------------------------
@pytest.fixture(scope="module")
def later(tmp_path_factory):
    """The synthetic rows shifted to end on 2025-09-30 (after the sample's 2025-06-30), without
    the planted future rows and without truth.json: an export of another period."""
    f, truth = synth.generate_frames(600, 7)
    end = pd.Timestamp(truth["as_of"]) + pd.Timedelta(days=1)
    shift = pd.Timestamp("2025-10-01") - end
    out = {}
    for name, df in f.items():
        df = df.copy()
        tcol = {"costs": "date"}.get(name, C.TIME_COLUMNS.get(name))
        if tcol in df:
            ts = pd.to_datetime(df[tcol])
            df = df[~(ts >= end)]
        for col in C.time_columns(name):
            if col.name in df:
                shifted = pd.to_datetime(df[col.name]) + shift
                df[col.name] = shifted.dt.date if col.kind == C.DATE else shifted
        out[name] = df
    return write_contract(tmp_path_factory.mktemp("later") / "src", out)


def test_default_run_config_does_not_pin_the_sample_date(later):
    cfg = load_config(ROOT / "runs" / "default.yaml", source=str(later))
    assert cfg.parameters.get("as_of") is None
    from growthlab.report.runner import describe_source

    info = describe_source(cfg)
    assert info["as_of"] == "2025-09-30"
    assert info["as_of_source"].startswith("latest timestamp in the data")
    ds = load(later)
    assert ds.quality.counts()[C.Q_FUTURE] == 0


def test_the_sample_keeps_its_own_date(tmp_path):
    out = synth.write(tmp_path / "s", n_users=300, seed=2)
    ds = load(out)
    assert ds.as_of_source.startswith("truth.json")
    assert ds.as_of == pd.Timestamp(json.loads((out / "truth.json").read_text())["as_of_utc"])


def test_description_as_of_and_timezone_reach_the_run(tmp_path):
    d = _folder(
        tmp_path,
        "timezone: Europe/Berlin\nas_of: 2025-01-02\n"
        "tables:\n  users: {files: u.csv, columns: {user_id: ID, signup_at: Created}}\n",
        {"u.csv": "ID,Created\nu1,2025-01-01 10:00\nu2,2025-01-05 10:00\n"},
    )
    ds = load(d)
    assert ds.timezone == "Europe/Berlin" and ds.as_of_source.startswith("growthlab.yaml")
    assert ds.as_of == pd.Timestamp("2025-01-02 23:00")  # end of 2025-01-02 in Berlin, in UTC
    assert ds.quality.count("users", C.Q_FUTURE) == 1
    cfg = load_config(ROOT / "runs" / "default.yaml", source=str(d))
    assert all(s.parameters["timezone"] == "Europe/Berlin" for s in cfg.notebooks)
    cfg = load_config(ROOT / "runs" / "default.yaml", source=str(d), overrides=["timezone=UTC"])
    assert all(s.parameters["timezone"] == "UTC" for s in cfg.notebooks)


# -- -p parameters take the notebook's declared type ----------------------------------------
def _typed_config(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        'source = "x"\nas_of = None\nwindow_days = 30\nratio = 0.5\nlabel = "a"\nflag = False\n'
        "items = [1, 2]"
    )
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / "typed.ipynb")
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"notebook_dir: {tmp_path}\nsource: {tmp_path}\nnotebooks: [typed]\n", "utf-8")
    return cfg


def test_overrides_take_the_declared_type(tmp_path):
    cfg = _typed_config(tmp_path)
    ov = ["as_of=2025-06-30", "window_days=14", "ratio=1", "label=2025", "flag=true"]
    p = load_config(cfg, overrides=ov).notebooks[0].parameters
    assert p["as_of"] == "2025-06-30" and isinstance(p["as_of"], str)
    assert p["window_days"] == 14 and isinstance(p["window_days"], int)
    assert p["ratio"] == 1.0 and isinstance(p["ratio"], float)
    assert p["label"] == "2025" and p["flag"] is True
    json.dumps(p)  # papermill needs JSON values


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("window_days=abc", "parameter window_days='abc': notebook typed declares an integer"),
        ("window_days=14.0", "declares an integer"),
        ("ratio=high", "declares a number"),
        ("flag=maybe", "declares true or false"),
        ("items=3", "declares a list"),
        ("as_of=soon", "parameter as_of='soon' is not a date/time"),
    ],
)
def test_wrong_override_type_is_exit_2_naming_the_parameter(tmp_path, item, message, capsys):
    cfg = _typed_config(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_config(cfg, overrides=[item])
    assert message in str(err.value)
    assert cli.main(["run", "--config", str(cfg), "-p", item, "--out", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err


def test_run_finds_its_default_config_outside_the_checkout(tmp_path, monkeypatch):
    from growthlab.report import runner

    monkeypatch.chdir(tmp_path)  # the packaged default (tests/test_installed.py: from a wheel)
    assert Path(runner.default_config()) == ROOT / "notebooks" / "default.yaml"
    monkeypatch.chdir(ROOT)  # a checkout: its default run on the sample
    assert Path(runner.default_config()) == Path("runs") / "default.yaml"


# -- end to end: init -> validate -> run, numbers equal to the contract form -----------------
KEY_NUMBERS = [
    ("01_data_quality", "users"),
    ("01_data_quality", "rows"),
    ("01_data_quality", "quarantined_rows"),
    ("02_referral", "users"),
    ("02_referral", "k_factor"),
    ("02_referral", "referred_users"),
    ("03_segments_value", "buyers"),
    ("03_segments_value", "clv_total"),
    ("04_attribution_funnel", "conversions"),
    ("05_monitoring", "revenue_recent"),
    ("05_monitoring", "conversions_recent"),
]


def _metric(run: Path, ns: str, key: str):
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    v = m.get(ns, {}).get(key)
    return v.get("value") if isinstance(v, dict) else v


@pytest.mark.slow
def test_messy_export_to_report_equals_contract_form(later, tmp_path):
    """Messy export of data ending 2025-09-30 -> `growthlab init` (no hand edits) ->
    `growthlab validate` -> `growthlab run`: the same key numbers as the contract form, the
    data's own period, nothing quarantined as future."""
    frames = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in later.glob("*.csv")}
    frames = {k: v.replace("", None) for k, v in frames.items()}
    for name, df in frames.items():
        for col in C.time_columns(name):
            if col.name in df:
                df[col.name] = pd.to_datetime(df[col.name])
        for col in C.number_columns(name):
            if col.name in df:
                df[col.name] = pd.to_numeric(df[col.name])
        if "consent_marketing" in df:
            df["consent_marketing"] = df["consent_marketing"].map({"True": True, "False": False})
    messy = write_messy(tmp_path / "export", frames)
    env = {"GROWTHLAB_CACHE_DIR": str(tmp_path / "cache")}
    import os

    env = {**os.environ, **env}

    def sh(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(GROWTHLAB), *args], capture_output=True, text=True, env=env, cwd=tmp_path
        )

    r = sh("init", str(messy))
    assert r.returncode == 0, r.stdout + r.stderr
    r = sh("validate", str(messy))
    assert r.returncode == 0, r.stderr
    runs = {}
    for name, src in (("messy", messy), ("contract", later)):
        r = sh(
            "run", "--source", str(src), "--out", str(tmp_path / name)
        )  # from outside the checkout
        assert r.returncode == 0, r.stderr[-3000:]
        runs[name] = tmp_path / name / "latest"
    for ns, key in KEY_NUMBERS:
        a, b = _metric(runs["messy"], ns, key), _metric(runs["contract"], ns, key)
        assert a is not None, (ns, key)
        assert a == pytest.approx(b, rel=1e-9), (ns, key, a, b)
    for run in runs.values():
        m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        assert m["as_of"] == "2025-09-30" and m["period"].endswith("2025-09-30")
        assert m["as_of_source"].startswith("latest timestamp in the data")
        page = (run / "00_summary.html").read_text(encoding="utf-8")
        assert "as_of: latest timestamp in the data" in page
    ds = load(messy)
    assert ds.quality.counts()[C.Q_FUTURE] == 0
    assert infer.draft(messy).ok
