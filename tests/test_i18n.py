"""growthlab.i18n: the one table of report words, and how Chinese text is filled."""

from __future__ import annotations

from string import Formatter

import pytest

from growthlab import i18n


def test_chinese_values_get_a_space_where_latin_meets_han():
    text = i18n.t(
        "finding.contact_fatigue",
        "zh",
        days=7,
        channels="App 推送",
        metric="退订率",
        details="App 推送 2.1 %（此前 1.0 %）",
    )
    # template Han before a Latin value, a number between Han; the value is left as it is
    assert text.startswith("最近 7 天 App 推送的退订率上升：App 推送 2.1 %（此前 1.0 %）")
    # a Latin value followed by a Han value
    move = i18n.t(
        "finding.kpi_move",
        "zh",
        days=7,
        metric="GMV",
        moved="上升",
        change="3 %",
        last="1",
        previous="2",
        low="1 %",
        high="5 %",
        news="是好消息",
    )
    assert move.startswith("最近 7 天 GMV 上升 3 %：1，此前 7 天为 2")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("双11大促", "双11大促"),  # a value's own text is never changed
        ("（A）", "（A）"),  # full-width punctuation needs no space
        ("Push", " Push "),
        ("", ""),
        ("企业微信", "企业微信"),
        (3, " 3 "),  # not a string: formatted first
    ],
)
def test_only_the_joins_beside_a_value_get_a_space(value, expected):
    i18n.TEXT["_test.join"] = ("{v}", "渠道{v}上升")
    try:
        assert i18n.t("_test.join", "zh", v=value) == f"渠道{expected}上升"
        assert i18n.t("_test.join", "en", v=value) == str(value)
    finally:
        del i18n.TEXT["_test.join"]


def test_every_chinese_template_fills_like_str_format_apart_from_spaces():
    # the filled text differs from str.format only by the spaces added at joins
    for key, (_en, zh) in i18n.TEXT.items():
        names = [f for _, f, _, _ in Formatter().parse(zh) if f]
        if not names:
            continue
        fields = {n.split(".")[0].split("[")[0]: "x1" for n in names}
        filled = i18n.t(key, "zh", **fields)
        assert filled.replace(" ", "") == zh.format(**fields).replace(" ", ""), key


def test_format_specs_and_conversions_fill_as_str_format():
    i18n.TEXT["_test.spec"] = ("{v:>{w}}|{s!r}", "渠道{v:>{w}}{s!r}")
    try:
        assert i18n.t("_test.spec", "en", v=7, w=3, s="x") == "  7|'x'"
        assert i18n.t("_test.spec", "zh", v=7, w=3, s="x") == "渠道  7'x'"
    finally:
        del i18n.TEXT["_test.spec"]


def test_report_sentences_and_metric_labels_get_the_same_spaces():
    # one mechanism (i18n.spaced) for every zh template: t, report.text, report.say's HTML
    # and metric labels
    from growthlab import metrics
    from growthlab.report import notebook

    assert i18n.spaced("最近{n}天{ch}的", {"n": 7, "ch": "App 推送"}) == "最近 {n} 天 {ch}的"
    assert i18n.spaced("{{字面}}字{v}", {"v": "A"}) == "{{字面}}字 {v}"  # braces stay escaped
    assert notebook.text("zh", en="-", zh="共{n}个实验", n=4) == "共 4 个实验"
    assert notebook.text("en", en="{n}x", zh="共{n}个", n=4) == "4x"
    html = notebook.sentence_html("zh", en="-", zh="告警：{a}，**{b}**项", a="GMV上升", b=3)
    assert html == "<p>告警：GMV上升，<strong>3</strong>项</p>"  # markup joins get none
    html = notebook.sentence_html("zh", en="-", zh="渠道{a}上升", a="App<b>")
    assert html == "<p>渠道 App&lt;b&gt;上升</p>"  # value escaped, join spaced
    metric = metrics.Metric("m", "Users in {period}", "{period}内用户", "count", "-")
    assert metric.label("zh", period="Q3") == "Q3 内用户"
