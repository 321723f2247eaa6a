"""Report building blocks without running notebooks: config, HTML, summary, strip, profile, fonts."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import ibis
import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growthlab import monitor, report
from growthlab.errors import ConfigError
from growthlab.report import html as rhtml
from growthlab.report import strip, summary
from growthlab.report.config import load_config, parse_override

FIX = Path(__file__).parent / "fixtures" / "report"


def _cfg(tmp_path: Path, body: str) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    p = tmp_path / "run.yaml"
    p.write_text(body, encoding="utf-8")
    return p


BASE = f"""
name: unit
notebook_dir: {FIX}
source: src
parameters: {{lang: en, min_group_size: 10}}
notebooks:
  - ok
  - name: fail
    parameters: {{min_group_size: 5}}
"""


def test_config_precedence_and_types(tmp_path):
    cfg = load_config(
        _cfg(tmp_path, BASE), overrides=["scale=2.5", "fail.min_group_size=7", "as_of=2025-06-30"]
    )
    ok, fail = cfg.notebooks
    assert ok.parameters["scale"] == 2.5 and ok.parameters["min_group_size"] == 10
    assert fail.parameters["min_group_size"] == 7  # CLI beats the notebook's config entry
    assert str(ok.parameters["as_of"]) == "2025-06-30"
    assert ok.parameters["source"] == str((tmp_path / "src").resolve())
    assert "scale" in ok.declared and ok.defaults["scale"] == "1.0"
    cli = load_config(_cfg(tmp_path, BASE), source=str(tmp_path), overrides=["source=elsewhere"])
    assert cli.source == str(tmp_path.resolve())  # --source wins over -p source=


@pytest.mark.parametrize(
    "body, overrides, message",
    [
        (BASE, ["no_such_param=1"], "no notebook of this run declares"),
        (BASE, ["nope.scale=1"], "no notebook 'nope'"),
        (BASE, ["scale"], "key=value"),
        (BASE, ["lang=fr"], "lang must be"),
        (BASE.replace("  - ok\n", "  - missing_notebook\n"), [], "not found"),
        (BASE.replace("name: unit", "name: unit\nbogus: 1"), [], "unknown config key"),
        ("notebooks: []\nsource: src\n", [], "non-empty list"),
        (BASE + "  - ok\n", [], "listed twice"),
        ("[1, 2", [], "not valid YAML"),
        (BASE + "jobs: 0\n", [], "jobs"),
        (BASE + "cell_timeout: -1\n", [], "cell_timeout"),
    ],
)
def test_config_errors(tmp_path, body, overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_cfg(tmp_path, body), overrides=overrides)


def test_parse_override_values():
    assert parse_override("a=1") == (None, "a", 1)
    assert parse_override("nb.a=null") == ("nb", "a", None)
    assert parse_override("a=[1, 2]") == (None, "a", [1, 2])
    assert parse_override("a=x=y") == (None, "a", "x=y")


def test_toc_ids_and_external_references():
    body = (
        '<main><!--GROWTHLAB-TOC--><h1 id="T">T<a class="anchor-link" href="#T">¶</a></h1>'
        "<h2>Row counts &amp; more</h2><h2>Row counts &amp; more</h2><h3>渠道</h3></main>"
    )
    out = rhtml.add_toc(body, lang="zh")
    assert "目录" in out
    assert out.count('href="#Row-counts-more"') == 1 and 'href="#Row-counts-more-2"' in out
    assert 'id="渠道"' in out
    assert rhtml.external_references(out) == []
    bad = (
        '<script src="https://cdn.example/x.js"></script><img src="plot.png">'
        '<link rel="stylesheet" href="//cdn/x.css"><style>@import "https://f/x.css";</style>'
        '<img src="data:image/png;base64,AAAA"><a href="https://ok.example">a link</a>'
    )
    refs = rhtml.external_references(bad)
    assert "https://cdn.example/x.js" in refs and "plot.png" in refs and "//cdn/x.css" in refs
    assert not any(r.startswith("data:") or "ok.example" in r for r in refs)


def test_render_hides_code_and_embeds(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\n## Part"),
        nbformat.v4.new_code_cell(
            "secret_code_marker = 1",
            outputs=[
                nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="}),
                nbformat.v4.new_output("stream", name="stderr", text="a warning"),
            ],
        ),
    ]
    src = tmp_path / "n.ipynb"
    nbformat.write(nb, src)
    header = rhtml.header_html(
        title="T <b>",
        source="/data",
        period="2025-01-01 – 2025-06-30",
        parameters={"lang": "en", "campaign": "<script>"},
        generated="now",
    )
    out = rhtml.render(src, tmp_path / "n.html", header=header)
    text = out.read_text(encoding="utf-8")
    assert "secret_code_marker" not in text and "a warning" not in text
    assert "data:image/png;base64" in text
    assert rhtml.external_references(text) == []
    assert "&lt;script&gt;" in text
    # The notebook's own H1 is the title: the header does not repeat it...
    assert "T &lt;b&gt;" not in text and text.count("<h1") == 1
    assert 'href="#Part"' in text  # table of contents
    # ...but a notebook without one gets the header's title.
    nb.cells = nb.cells[1:]
    nbformat.write(nb, src)
    text = rhtml.render(src, tmp_path / "n.html", header=header).read_text(encoding="utf-8")
    assert "T &lt;b&gt;" in text


def test_render_shows_the_narrative_in_the_run_language(tmp_path):
    nb = nbformat.v4.new_notebook()
    md = nbformat.v4.new_markdown_cell("# Referral english_title\n\nenglish_narrative")
    md.metadata["growthlab"] = {"zh": "# 裂变 chinese_title\n\nchinese_narrative"}
    nb.cells = [md, nbformat.v4.new_markdown_cell("## shared_untranslated")]
    src = tmp_path / "n.ipynb"
    nbformat.write(nb, src)
    header = rhtml.header_html(title="T", source="s", period=None, parameters={}, generated="now")
    pages = {
        lang: rhtml.render(src, tmp_path / f"{lang}.html", header=header, lang=lang).read_text(
            encoding="utf-8"
        )
        for lang in ("en", "zh", "fr")
    }
    for lang, keep, drop in [("en", "english", "chinese"), ("zh", "chinese", "english")]:
        page = pages[lang]
        assert f"{keep}_narrative" in page and f"{drop}_narrative" not in page
        assert "shared_untranslated" in page and f"{drop}_title" not in page  # TOC too
    assert pages["fr"] == pages["en"]  # an unknown lang falls back to en
    assert '<html lang="zh">' in pages["zh"] and '<html lang="en">' in pages["en"]
    assert "<title>裂变 chinese_title</title>" in pages["zh"]
    assert len(nbformat.read(src, as_version=4).cells) == 2  # one cell per narrative step
    # the page title follows the language papermill ran the notebook with
    assert rhtml.notebook_title(nb, "n") == "Referral english_title"
    nb.metadata["papermill"] = {"parameters": {"lang": "zh"}}
    assert rhtml.notebook_title(nb, "n") == "裂变 chinese_title"
    assert rhtml.notebook_title(nb, "n", lang="en") == "Referral english_title"


def test_every_narrative_cell_has_its_chinese_text():
    """Each markdown cell of the report notebooks is written once, with zh in its metadata."""
    for path in sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type == "markdown" and cell.source.strip():
                assert rhtml.translation(cell, "zh"), (path.name, cell.source[:60])
                assert "tags" not in cell.metadata or not any(
                    t.startswith("lang-") for t in cell.metadata["tags"]
                ), path.name


METRICS = {
    "01_data_quality": {
        "users": {"value": 2000, "label": "Users", "unit": None, "better": None},
        "quarantine_rate": {"value": 0.02, "label": "Quarantined", "unit": "%", "better": "down"},
    },
    "02_referral": {
        "k_factor": {"value": 0.5, "label": "K-factor", "unit": None, "better": "up"},
        "note": {"value": "text", "label": "n", "unit": None, "better": None},
    },
    "05_monitoring": {
        "alerts": {
            "value": [
                {"date": "2025-03-08", "metric": "new_users", "observed": 99, "score": 5.1},
                {"date": "2025-03-09", "metric": "revenue", "observed": 1, "score": -8.0},
            ],
            "label": "Alerts",
            "unit": None,
            "better": None,
        }
    },
}


def test_compare_and_findings_follow_the_numbers():
    prev = json.loads(json.dumps(METRICS))
    prev["02_referral"]["k_factor"]["value"] = 0.4
    prev["01_data_quality"]["quarantine_rate"]["value"] = 0.01
    cmp = summary.compare(METRICS, prev)
    assert set(cmp["name"]) == {"users", "quarantine_rate", "k_factor"}  # numbers only
    k = cmp.set_index("name").loc["k_factor"]
    assert k["change"] == pytest.approx(0.1) and k["rel_change"] == pytest.approx(0.25)
    assert k["assessment"] == "better"
    assert cmp.set_index("name").loc["quarantine_rate", "assessment"] == "worse"
    assert cmp.set_index("name").loc["users", "assessment"] == "stable"
    moves = summary.moves_since(cmp, "en")
    assert list(moves["Metric"]) == ["Quarantined", "K-factor"]  # directional, largest first
    assert list(moves["Change"]) == ["▲ +1.0 pp", "▲ +25.0 %"]  # shares in points
    assert list(moves["Assessment"]) == ["worse", "better"]
    assert list(summary.moves_since(cmp, "zh")["评估"]) == ["变差", "改善"]
    table = summary.headline_table(cmp, "en")
    assert list(table["Value"]) == ["2,000", "2.0 %", "0.500"]


def test_findings_without_previous_and_alerts():
    cmp = summary.compare(METRICS, {})
    assert cmp["previous"].isna().all() and (cmp["assessment"] == "").all()
    assert summary.moves_since(cmp, "en").empty  # nothing to compare with
    a = summary.alerts(METRICS)
    assert list(a["metric"]) == ["revenue", "new_users"]  # strongest |score| first
    assert (a["section"] == "05_monitoring").all()
    assert summary.alerts({}).empty


def test_findings_escape_data_text():
    m = {"nb": {"x": {"value": 1.0, "label": "<img src=x>", "unit": None, "better": "up"}}}
    prev = {"nb": {"x": {"value": 2.0}}}
    moves = summary.moves_since(summary.compare(m, prev), "en")
    # Labels stay plain text in the frame; the page gets them through report.show, which escapes.
    assert list(moves["Metric"]) == ["<img src=x>"]
    page = report.table_html(moves)
    assert "<img" not in page and "&lt;img src=x&gt;" in page
    links = summary.sections_html(
        [{"name": "a", "title": "<b>", "html": "a.html", "status": "failed"}]
    )
    assert "&lt;b&gt;" in links and 'href="a.html"' in links and "failed" in links


def test_strip_clears_outputs_keeps_tags(tmp_path):
    nb = nbformat.read(FIX / "ok.ipynb", as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x")]
    nb.cells[2].execution_count = 3
    nb.metadata["papermill"] = {"duration": 1}
    p = tmp_path / "x.ipynb"
    nbformat.write(nb, p)
    assert strip.main(["--check", str(p)]) == 1
    assert strip.main([str(p)]) == 0
    clean = nbformat.read(p, as_version=4)
    assert all(not c.get("outputs") for c in clean.cells if c.cell_type == "code")
    assert "papermill" not in clean.metadata
    assert clean.cells[0].metadata["tags"] == ["parameters"]
    assert strip.main(["--check", str(p)]) == 0


def test_repository_notebooks_are_stripped():
    root = Path(__file__).parents[1] / "notebooks"
    dirty = [p.name for p in sorted(root.glob("*.ipynb")) if strip.strip_file(p, check=True)]
    assert dirty == []


def _tables():
    days = pd.date_range("2025-01-01", periods=56, freq="D")
    rng = np.random.default_rng(0)
    counts = rng.poisson(20, size=len(days))
    counts[30] = 200  # a planted spike
    ts = np.repeat(days.values, counts) + np.timedelta64(3, "h")
    events = pd.DataFrame({"user_id": [f"u{i % 50}" for i in range(len(ts))], "ts": ts})
    users = pd.DataFrame(
        {"user_id": [f"u{i}" for i in range(50)] + ["u1"], "signup_at": days[0], "city": None}
    )
    users.loc[:9, "city"] = "x"
    return {"events": ibis.memtable(events), "users": ibis.memtable(users)}, days[30]


def test_profile_counts_nulls_uniqueness_and_spike():
    from growthlab.data import profile

    tables, spike_day = _tables()
    ov = profile.table_overview(tables, as_of=pd.Timestamp("2025-03-01"))
    ev = ov.set_index("table").loc["events"]
    assert ev["days"] == 56 and ev["stale_days"] == pytest.approx(3.875)
    nulls = profile.null_rates(tables).set_index(["table", "column"])
    assert nulls.loc[("users", "city"), "nulls"] == 41
    assert nulls.loc[("users", "city"), "null_rate"] == pytest.approx(41 / 51)
    uq = profile.uniqueness(tables).set_index("table")
    assert uq.loc["users", "duplicates"] == 1 and not uq.loc["users", "unique"]
    daily = profile.daily_volume(tables, timezone="Asia/Shanghai")
    ev_daily = daily[daily["table"] == "events"]
    assert ev_daily["rows"].sum() == int(tables["events"].count().execute())
    flagged = monitor.volume_anomalies(daily)
    hits = flagged[flagged["is_anomaly"] & (flagged["table"] == "events")]
    assert list(hits["date"]) == [spike_day]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=60))
def test_volume_anomalies_scores_are_finite(counts):
    from growthlab import monitor

    daily = pd.DataFrame(
        {"table": "t", "date": pd.date_range("2025-01-01", periods=len(counts)), "rows": counts}
    )
    out = monitor.volume_anomalies(daily)
    assert len(out) == len(counts)
    assert np.isfinite(out["score"].dropna()).all()
    if len(set(counts)) == 1:
        assert not out["is_anomaly"].any()


def test_cjk_labels_render_with_a_cjk_font(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    from growthlab import plots
    from growthlab.plots import theme

    plots.apply()
    name = theme.cjk_font()
    if name is None:
        pytest.fail(
            "no CJK font installed: make test runs scripts/ensure-system-deps.sh to add one"
        )
    path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    font = FT2Font(path)
    assert all(font.get_char_index(ord(ch)) for ch in "各渠道用户数")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" would raise here
        fig, ax = plt.subplots()
        ax.set_title("各渠道用户数 企业微信")
        fig.savefig(tmp_path / "zh.png")
    plt.close(fig)


def test_methods_cells_fold_into_one_section_at_the_end(tmp_path):
    nb = nbformat.v4.new_notebook()
    fit = nbformat.v4.new_code_cell(
        "x",
        outputs=[nbformat.v4.new_output("display_data", data={"text/html": "<p>fit_params</p>"})],
    )
    fit.metadata["tags"] = ["methods"]
    note = nbformat.v4.new_markdown_cell("### How the model works\n\nmodel_note")
    note.metadata["tags"] = ["methods"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# T\n\n## Findings"),
        note,
        fit,
        nbformat.v4.new_markdown_cell("finding_text"),
    ]
    nbformat.write(nb, str(tmp_path / "n.ipynb"))
    page = rhtml.render(tmp_path / "n.ipynb", tmp_path / "n.html", header="", lang="zh").read_text()
    assert page.index("finding_text") < page.index('<details class="gl-methods">')
    assert page.index("<summary>方法与模型细节</summary>") < page.index("model_note")
    assert page.index("model_note") < page.index("fit_params")
    assert page.count('class="gl-methods"') == 1
    assert rhtml.fold_methods("<main><p>x</p></main>") == "<main><p>x</p></main>"
