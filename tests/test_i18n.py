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
