"""The whole report on a hostile source (tests/hostile.py): safe to send (issue #10).

One real ``growthlab run`` of every notebook on a 3,000-user source whose labels are markup,
script URLs, Markdown, mathtext and personal data, with extra personal columns. The run must
succeed; no page may contain an element or attribute that could run (checked by parsing every
page); the hostile labels must still be readable as text; and no phone number, e-mail address,
nickname or raw id may appear in any file of the run (HTML, executed notebooks, metrics.json,
manifest.json) or the output folder's index.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import hostile
import pytest

from growthlab.report import html as rhtml
from growthlab.report import runner

ROOT = Path(__file__).resolve().parents[1]
#: Raw synthetic ids: users U0000001, orders O00000001 (synth's formats).
RAW_ID = re.compile(r"(?<![0-9A-Za-z])(?:U\d{7}|O\d{8})(?![0-9])")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _visible_text(page: str) -> str:
    p = _Text()
    p.feed(page)
    return " ".join(p.parts)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    source = hostile.write_hostile_source(tmp / "source")
    out = tmp / "reports"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(runner.CACHE_ENV, str(tmp / "cache"))
        code = runner.run(config=ROOT / "runs" / "default.yaml", source=str(source), out=out)
    runs = [d for d in out.iterdir() if d.is_dir() and not d.name.startswith(".")]
    return code, runs[0] if runs else None, out


def test_hostile_run_succeeds(hostile_run):
    code, run_dir, _ = hostile_run
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    failed = {e["name"]: e["error"] for e in manifest["notebooks"] if e["status"] != "ok"}
    assert code == 0 and not failed, failed


def test_no_page_has_active_content(hostile_run):
    _, run_dir, out = hostile_run
    pages = [*run_dir.glob("*.html"), out / "index.html"]
    assert len(pages) >= 8
    for page in pages:
        assert rhtml.active_content(page.read_text(encoding="utf-8")) == [], page.name


def test_hostile_labels_are_shown_as_text(hostile_run):
    _, run_dir, _ = hostile_run
    text = " ".join(_visible_text(p.read_text(encoding="utf-8")) for p in run_dir.glob("*.html"))
    for s in hostile.SHOWN_AS_TEXT:
        assert s in text, s


def test_no_personal_data_or_raw_id_in_any_output(hostile_run):
    _, run_dir, out = hostile_run
    files = [p for p in run_dir.rglob("*") if p.is_file()] + [out / "index.html"]
    assert any(p.suffix == ".ipynb" for p in files) and (run_dir / "metrics.json") in files
    assert any(p.suffix == ".csv" for p in files) and any(p.suffix == ".xlsx" for p in files)
    for f in files:
        if f.suffix == ".xlsx":
            import openpyxl

            # text cells (numbers are measurements; ids are text in the contract)
            cells = openpyxl.load_workbook(f).active.iter_rows(values_only=True)
            text = " ".join(v for row in cells for v in row if isinstance(v, str))
        else:
            text = f.read_text(encoding="utf-8", errors="replace")
        for pattern in (RAW_ID, PHONE, EMAIL):
            found = pattern.findall(text)
            assert not found, f"{f.name}: {found[:3]}"
        assert hostile.NICKNAME not in text, f.name
        assert hostile.EMAIL_DOMAIN not in text, f.name


def test_metric_ids_are_catalogued_and_agree_across_sections(hostile_run):
    """Every recorded id is in the catalogue, and an id recorded by two sections has one value."""
    from growthlab import metrics

    _, run_dir, _ = hostile_run
    recorded = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    seen: dict[str, tuple[str, object]] = {}
    assert sum(len(v) for v in recorded.values()) > 60
    for section, entries in recorded.items():
        for metric_id, entry in entries.items():
            m = metrics.get(metric_id)  # KeyError names an uncatalogued id
            assert entry["unit"] == m.unit and entry["better"] == m.better, metric_id
            if m.unit == "records":  # per-section lists (findings, alerts), not one number
                continue
            if metric_id in seen:
                other, value = seen[metric_id]
                assert entry["value"] == value, (metric_id, section, other)
            seen[metric_id] = (section, entry["value"])
    shared = [k for k in seen if sum(k in v for v in recorded.values()) > 1]
    assert "users" in shared
