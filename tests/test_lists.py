"""Lists of people to act on (issue #12 item 6): ``growthlab.audiences`` and ``growthlab lists``.

The selections are checked on hand-made frames against the numbers the report computes from the
same inputs; the command is checked end to end against a real run of the referral, value and
summary notebooks on a synthetic source: every list has as many rows as the report's number for
it (metrics.json), the raw ids are in the lists and in no file of the run, the files are
owner-only and outside the reports, and bad input is a clear exit 2.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from growthlab import audiences, cli, referral, segments
from growthlab.errors import ConfigError
from growthlab.report import downloads, lists, runner

ROOT = Path(__file__).parents[1]
NOTEBOOKS = ROOT / "notebooks"
RAW_ID = re.compile(r"(?<![0-9A-Za-z])U\d{7}(?![0-9])")


# --------------------------------------------------------------------------------------------
# the selections, on hand-made frames
# --------------------------------------------------------------------------------------------
def _spreaders(n: int = 25) -> pd.DataFrame:
    """n spreaders as referral.spreaders returns them (sorted), user i invited 30 − i."""
    direct = np.arange(30, 30 - n, -1)
    return pd.DataFrame(
        {
            "user_id": [f"s{i:02d}" for i in range(n)],
            "direct_invitees": direct,
            "descendants": direct * 2,
            "generation": np.ones(n, dtype=int),
            "root": ["r0"] * n,
        }
    )


def _suspicious(ids, fraud) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "inviter_id": ids,
            "invitees": np.full(n, 9),
            "max_burst": np.full(n, 6),
            "shared_identity": np.zeros(n, dtype=int),
            "inactive_invitees": np.zeros(n, dtype=int),
            "self_referral": np.zeros(n, dtype=int),
            "cycle": np.array([0 if f else 1 for f in fraud]),
            "signals": np.full(n, 2),
            "fraud_like": fraud,
            "suspicious": [True] * n,
            "reasons": ["burst"] * n,
        }
    )


def test_top_spreaders_are_the_top_tenth_of_the_ranking_less_the_fraud_like():
    sp = _spreaders(25)  # ⌈0.1 · 25⌉ = 3: s00, s01, s02
    sus = _suspicious(["s01", "s07"], [True, True])
    top = audiences.top_spreaders(sp, sus)
    assert top["user_id"].tolist() == ["s00", "s02"]
    assert top["rank"].tolist() == [1, 3]  # the place in the ranking; s01 removed
    assert top["seed_id"].tolist() == ["r0", "r0"]
    # the three ranked users are the spreaders of metric top10_share
    share = referral.concentration(sp["direct_invitees"])["top_10pct"]
    assert share == pytest.approx((30 + 29 + 28) / sp["direct_invitees"].sum())
    # an inviter that is suspicious only for a cycle row (not fraud-like) stays on the list
    kept = audiences.top_spreaders(sp, _suspicious(["s01"], [False]))
    assert kept["user_id"].tolist() == ["s00", "s01", "s02"]


def test_inviters_to_review_are_the_suspicious_rows():
    sus = _suspicious(["a", "b", "c"], [True, False, True])
    sus.loc[1, "suspicious"] = False
    out = audiences.inviters_to_review(sus)
    assert out["user_id"].tolist() == ["a", "c"]
    assert out.columns[0] == "user_id" and "reasons" in out.columns
    assert out["fraud_like"].dtype == bool


def _scored() -> tuple[pd.DataFrame, pd.Series]:
    idx = pd.Index([f"b{i}" for i in range(8)], name="user_id")
    scored = pd.DataFrame(
        {
            "recency_days": [70.0, 80, 65, 5, 75, 85, 3, 62],
            "frequency": [5, 4, 2, 9, 1, 3, 2, 6],
            "monetary": [900.0, 800, 300, 2000, 50, 400, 20, 1000],
            "segment": ["at_risk"] * 3 + ["champions"] + ["hibernating"] * 4,
            "tier": ["high", "medium", "medium", "high", "low", "potential", "low", "high"],
        },
        index=idx,
    )
    stages = pd.Series(
        ["at_risk", "at_risk", "silent", "active", "at_risk", "at_risk", "new", "at_risk", "x"],
        index=[*idx, "not_a_buyer"],
    )
    return scored, stages


def test_valuable_at_risk_has_the_rows_the_report_counts():
    scored, stages = _scored()
    clv = pd.DataFrame(
        {"clv": [10.0, 99.0, 1.0, 5.0], "p_alive": 0.5, "expected_purchases": 1.0},
        index=["b0", "b1", "b3", "b2"],  # b7 has no CLV (the model did not score it)
    )
    last_active = pd.Series(pd.to_datetime(["2025-04-01"] * 8), index=scored.index)
    out = audiences.valuable_at_risk(
        stages, scored, last_active=last_active, as_of=pd.Timestamp("2025-06-30"), clv=clv
    )
    # high/medium tier and stage at_risk: b0, b1, b7; highest CLV first, no CLV last
    assert out["user_id"].tolist() == ["b1", "b0", "b7"]
    assert np.isnan(out["clv"].iloc[-1])
    assert out["inactive_days"].tolist() == [90.0] * 3
    table = segments.at_risk_by_tier(stages, scored["tier"], scored["monetary"])
    assert segments.valuable_at_risk(table) == len(out) == 3


def test_segment_members_partition_the_buyers():
    scored = segments.rfm_scores(
        pd.DataFrame(
            {
                "recency_days": np.arange(40, dtype=float),
                "frequency": np.arange(40) % 7 + 1,
                "monetary": np.arange(40) * 10.0 + 5,
            },
            index=pd.Index([f"u{i}" for i in range(40)], name="user_id"),
        )
    )
    scored["tier"] = segments.value_tiers(scored)
    members = audiences.segment_members(scored)
    assert list(members) == list(segments.RFM_SEGMENTS)
    assert sum(len(m) for m in members.values()) == len(scored)
    for key, m in members.items():
        assert set(m["user_id"]) == set(scored.index[scored["segment"] == key])
        assert (m["segment"] == key).all()
        totals = scored.loc[m["user_id"], "rfm_total"].to_numpy()
        assert (np.diff(totals) <= 0).all()  # best RFM total first


# --------------------------------------------------------------------------------------------
# the files
# --------------------------------------------------------------------------------------------
def test_csv_quotes_cells_excel_would_run_and_keeps_the_rest():
    frame = pd.DataFrame(
        {
            "user_id": ['=HYPERLINK("http://x")', "-5", "+8613800000000", "@SUM(A1)", "u1"],
            "n": [1, 2, 3, 4, 5],
        }
    )
    data, quoted = downloads.csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads Chinese
    back = pd.read_csv(io.BytesIO(data), dtype=str, encoding="utf-8-sig")
    assert back["user_id"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "-5",
        "+8613800000000",
        "'@SUM(A1)",
        "u1",
    ]
    assert quoted == 2


def test_xlsx_stores_text_as_text():
    frame = pd.DataFrame({"user_id": ["=1+1", "用户\x01甲"], "clv": [1.5, np.nan]})
    wb = openpyxl.load_workbook(io.BytesIO(downloads.xlsx_bytes(frame, "x", [["a", "b"]])))
    rows = list(wb.worksheets[0].iter_rows())
    assert [c.value for c in rows[0]] == ["user_id", "clv"]
    assert rows[1][0].value == "=1+1" and rows[1][0].data_type == "s"
    assert rows[2][0].value == "用户\ufffd甲" and rows[2][1].value is None
    assert wb.worksheets[1]["A1"].value == "a"


def test_lists_never_go_into_reports_or_a_folder_with_other_files(tmp_path):
    reports = tmp_path / "reports"
    run = reports / "20250101T000000Z-default-abcd"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"run_id": run.name}))
    for bad in (reports, reports / "lists", run / "x"):
        with pytest.raises(ConfigError, match="reports"):
            lists.check_out(bad, reports)
    # another reports folder than the one named: recognised by its run folders and index
    other = tmp_path / "elsewhere"
    (other / "r1").mkdir(parents=True)
    (other / "r1" / "manifest.json").write_text(json.dumps({"run_id": "r1"}))
    with pytest.raises(ConfigError, match="run folder"):
        lists.check_out(other / "r1" / "lists", reports)
    (other / ".lock").touch()
    (other / "index.html").write_text("<html></html>")
    with pytest.raises(ConfigError, match="reports folder"):
        lists.check_out(other / "lists", reports)
    mixed = tmp_path / "home"
    mixed.mkdir()
    (mixed / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="other files"):
        lists.check_out(mixed, reports)
    assert lists.check_out(tmp_path / "lists" / "x", reports) == (tmp_path / "lists" / "x")
    assert lists.default_out(reports, "default", "2025-06-30") == (
        tmp_path / "lists" / "default-2025-06-30"
    )


def test_a_source_without_referrals_skips_their_lists_and_says_so(tmp_path, monkeypatch):
    from conftest import tiny_frames

    monkeypatch.setenv(runner.CACHE_ENV, str(tmp_path / "cache"))
    src = tmp_path / "src"
    src.mkdir()
    for name, frame in tiny_frames().items():
        if name != "referrals":
            frame.to_csv(src / f"{name}.csv", index=False)
    out = tmp_path / "out"
    folder, m = lists.make(
        ROOT / "runs" / "default.yaml", source=str(src), out=out, reports=tmp_path / "reports"
    )
    assert folder == out.resolve()
    assert {s["list"] for s in m["skipped"]} == {"top_spreaders", "suspicious_inviters"}
    assert all("no referrals table" in s["reason"] for s in m["skipped"])
    names = {p.name for p in out.iterdir()}
    assert "high_value_at_risk.csv" in names and "top_spreaders.csv" not in names
    # the buyers u1 and u2 are in their RFM segments
    listed = set()
    for e in m["lists"]:
        if e["name"].startswith("segment_"):
            listed |= set(_read(out / f"{e['name']}.csv")["user_id"])
    assert listed == {"u1", "u2"}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, encoding="utf-8-sig")


# --------------------------------------------------------------------------------------------
# end to end: a run of the report and `growthlab lists` on the same source and configuration
# --------------------------------------------------------------------------------------------
def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A run of 02_referral, 03_segments_value and 00_summary, then `growthlab lists` with the
    same configuration, written to the default folder beside the reports."""
    from growthlab import data
    from growthlab.data import referral as dref
    from growthlab.data import synth

    tmp = tmp_path_factory.mktemp("lists")
    source = synth.write(str(tmp / "source"), n_users=3000, seed=4)
    cfg = tmp / "run.yaml"
    cfg.write_text(
        f"name: listcheck\nnotebook_dir: {NOTEBOOKS}\nsource: {source}\n"
        "parameters: {lang: en, min_group_size: 10}\n"
        "notebooks: [02_referral, 03_segments_value, 00_summary]\n",
        encoding="utf-8",
    )
    reports = tmp / "reports"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(runner.CACHE_ENV, str(tmp / "cache"))
        code = runner.run(config=cfg, out=reports)
        assert code == 0
        argv = ["lists", "--config", str(cfg), "--reports", str(reports)]
        assert cli.main(argv) == 0
    run_dir = next(d for d in reports.iterdir() if d.is_dir() and not d.is_symlink())
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    as_of = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["as_of"]
    folder = tmp / "lists" / f"listcheck-{as_of}"
    manifest = json.loads((folder / "lists.json").read_text(encoding="utf-8"))
    ds = data.load(str(source), cache_dir=tmp / "cache")
    spreaders = referral.spreaders(referral.forest(dref.edges(ds), dref.users(ds)))
    return {
        "tmp": tmp,
        "source": Path(source),
        "cfg": cfg,
        "reports": reports,
        "run": run_dir,
        "metrics": metrics,
        "folder": folder,
        "manifest": manifest,
        "spreaders": spreaders,
    }


def _rows(made, name: str) -> pd.DataFrame:
    return pd.read_csv(made["folder"] / f"{name}.csv", dtype=str, encoding="utf-8-sig")


def _entry(made, name: str) -> dict:
    return next(e for e in made["manifest"]["lists"] if e["name"] == name)


def _metric(made, notebook: str, metric_id: str):
    return made["metrics"][notebook][metric_id]["value"]


@pytest.mark.slow
def test_lists_have_the_rows_the_report_counts(made):
    assert _entry(made, "suspicious_inviters")["rows"] == len(_rows(made, "suspicious_inviters"))
    sus = _rows(made, "suspicious_inviters")
    assert len(sus) == _metric(made, "02_referral", "suspicious_inviters") > 0
    assert (sus["fraud_like"] == "True").sum() == _metric(
        made, "02_referral", "fraud_like_inviters"
    )

    # top spreaders: the spreaders behind the report's top10_share, less the fraud-like ones
    top = _entry(made, "top_spreaders")
    sp = made["spreaders"]
    k = math.ceil(0.1 * len(sp))
    assert (top["spreaders"], top["top"]) == (len(sp), k)
    assert _metric(made, "02_referral", "top10_share") == pytest.approx(
        sp["direct_invitees"].head(k).sum() / sp["direct_invitees"].sum()
    )
    fraud = set(sus.loc[sus["fraud_like"] == "True", "user_id"])
    expected = [u for u in sp["user_id"].head(k).astype(str) if u not in fraud]
    assert _rows(made, "top_spreaders")["user_id"].tolist() == expected
    assert top["rows"] + top["excluded_fraud_like"] == k

    risk = _rows(made, "high_value_at_risk")
    n_risk = _metric(made, "03_segments_value", "valuable_buyers_at_risk")
    assert len(risk) == n_risk > 0
    assert set(risk["tier"]) <= set(segments.VALUABLE_TIERS)

    seg = {k: _rows(made, f"segment_{k}") for k in segments.RFM_SEGMENTS}
    buyers = _metric(made, "03_segments_value", "buyers")
    assert sum(len(f) for f in seg.values()) == buyers
    share = _metric(made, "03_segments_value", "champions_share")
    assert len(seg["champions"]) / buyers == pytest.approx(share)


@pytest.mark.slow
def test_lists_hold_raw_ids_and_the_report_pseudonyms_no_page_holds_a_raw_id(made):
    users = set(pd.read_csv(made["source"] / "users.csv", dtype=str)["user_id"])
    listed: set[str] = set()
    for e in made["manifest"]["lists"]:
        rows = _rows(made, e["name"])
        assert list(rows.columns[:2]) == ["user_id", "pseudonym"]
        assert set(rows["user_id"]) <= users
        listed |= set(rows["user_id"])
    assert len(listed) > 100
    # a reader matches a report row to a list row by its pseudonym: the spreader table of the
    # referral page shows the pseudonyms of the list's first rows
    page = (made["run"] / "02_referral.html").read_text(encoding="utf-8")
    first = _rows(made, "top_spreaders").head(3)
    assert all(p in page for p in first["pseudonym"])
    assert not any(u in page for u in first["user_id"])
    # no raw id in any file of the run (pages, notebooks, metrics, tables) or the run index
    files = [p for p in made["run"].rglob("*") if p.is_file()] + [made["reports"] / "index.html"]
    for f in files:
        if f.suffix == ".xlsx":
            cells = openpyxl.load_workbook(f).active.iter_rows(values_only=True)
            text = " ".join(str(v) for row in cells for v in row if v is not None)
        else:
            text = f.read_text(encoding="utf-8", errors="replace")
        assert not RAW_ID.findall(text), f.name
    # the lists folder is beside the reports, not in them
    assert made["reports"].resolve() not in made["folder"].resolve().parents


@pytest.mark.slow
def test_the_front_page_names_the_lists_without_a_link(made):
    html = (made["run"] / "00_summary.html").read_text(encoding="utf-8")
    assert "growthlab lists --source" in html
    assert "top spreaders to reward" in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert not any("lists" in h for h in hrefs), hrefs


@pytest.mark.slow
def test_lists_are_owner_only(made):
    folder = made["folder"]
    assert _mode(folder) == 0o700 and _mode(folder.parent) == 0o700
    files = list(folder.iterdir())
    names = {p.name for p in files}
    assert "lists.json" in names
    for name in ("top_spreaders", "suspicious_inviters", "high_value_at_risk", "segment_loyal"):
        assert {f"{name}.csv", f"{name}.xlsx"} <= names
    assert all(_mode(p) == 0o600 for p in files)
    assert not [n for n in names if n.startswith(".")]  # no temporary file left


@pytest.mark.slow
def test_xlsx_holds_the_rows_of_the_csv(made):
    for name in ("top_spreaders", "suspicious_inviters", "high_value_at_risk", "segment_champions"):
        csv = _rows(made, name)
        sheet = openpyxl.load_workbook(made["folder"] / f"{name}.xlsx").worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == list(csv.columns)
        assert len(rows) - 1 == len(csv)
        assert [r[0] for r in rows[1:]] == csv["user_id"].tolist()
        assert [r[1] for r in rows[1:]] == csv["pseudonym"].tolist()


@pytest.mark.slow
def test_manifest_says_what_each_list_is(made):
    m = made["manifest"]
    run = json.loads((made["run"] / "manifest.json").read_text(encoding="utf-8"))
    assert m["as_of"] == run["as_of"]
    assert m["source"]["path"] == run["source"]["path"]
    assert m["source"]["files"] == run["inputs"]["source"]
    assert m["skipped"] == []
    from growthlab import metrics

    for e in m["lists"]:
        assert e["definition"]["en"] and e["definition"]["zh"]
        for metric_id in e["metrics"]:
            metrics.get(metric_id)  # catalogued
        assert set(e["columns"]) == set(_rows(made, e["name"]).columns)
    params = _entry(made, "suspicious_inviters")["parameters"]
    assert (params["burst_minutes"], params["burst_size"], params["inactive_share"]) == (30, 5, 0.8)


@pytest.mark.slow
def test_p_overrides_reach_the_lists(made, tmp_path, monkeypatch):
    """-p changes the thresholds of the lists as it changes the report's: burst_size=3 gives
    the suspicious inviters referral_abuse finds with that threshold (CSV files only here)."""
    from growthlab import data, referral_abuse
    from growthlab.data import referral as dref

    monkeypatch.setenv(runner.CACHE_ENV, str(made["tmp"] / "cache"))
    out = tmp_path / "lists3"
    argv = ["lists", "--config", str(made["cfg"]), "--out", str(out), "--lang", "zh"]
    assert cli.main([*argv, "-p", "02_referral.burst_size=3", "--format", "csv"]) == 0
    assert not list(out.glob("*.xlsx")) and (out / "segment_loyal.csv").is_file()
    m = json.loads((out / "lists.json").read_text(encoding="utf-8"))
    entry = next(e for e in m["lists"] if e["name"] == "suspicious_inviters")
    assert entry["parameters"]["burst_size"] == 3 and m["lang"] == "zh"
    ds = data.load(str(made["source"]))
    users = dref.users(ds)
    fo = referral.forest(dref.edges(ds), users)
    sus = referral_abuse.suspicious_inviters(
        fo, ds.persons, dref.user_activity(ds), 30, 3, 0.8, lang="zh"
    )
    rows = pd.read_csv(out / "suspicious_inviters.csv", dtype=str, encoding="utf-8-sig")
    assert rows["user_id"].tolist() == sus["inviter_id"].astype(str).tolist()
    assert len(rows) >= _metric(made, "02_referral", "suspicious_inviters")
    assert rows["reasons"].str.contains("分钟").any()  # the reasons in the run's language


@pytest.mark.slow
def test_cli_errors_are_exit_2_without_traceback(made, tmp_path, capsys):
    cfg = str(made["cfg"])
    cases = [
        (["--source", str(tmp_path / "missing")], "does not exist"),
        (["--out", str(made["reports"] / "mine")], "inside the reports folder"),
        (["--out", str(made["run"] / "lists")], "inside the reports folder"),
        (["--out", str(made["run"] / "lists"), "--reports", "elsewhere"], "run folder"),
        (["-p", "no_such_parameter=1"], "no_such_parameter"),
    ]
    for extra, message in cases:
        code = cli.main(["lists", "--config", cfg, "--reports", str(made["reports"]), *extra])
        err = capsys.readouterr().err
        assert code == 2, extra
        assert message in err and "Traceback" not in err, err
    assert not (made["reports"] / "mine").exists()
    assert not (made["run"] / "lists").exists()
    assert os.listdir(tmp_path) == []


def test_an_engine_source_is_fingerprinted_by_its_tables():
    """lists.json names an engine by its label and fingerprints its tables (no files)."""
    engine = {"source": "spark sc://h:15002 database=crm", "tables": {"users": {"n": 3}}}
    fp = lists._fingerprint("sc://h:15002?database=crm", engine)
    assert fp["path"] == engine["source"] and fp["files"] == engine["tables"]
    other = lists._fingerprint(
        "sc://h:15002?database=crm", {**engine, "tables": {"users": {"n": 4}}}
    )
    assert other["sha256"] != fp["sha256"]
