"""The metric catalogue (growthlab.metrics): one id, one definition, labels in en and zh."""

from __future__ import annotations

import math

import pytest

from growthlab import metrics


def test_every_entry_is_complete():
    for m in metrics.CATALOGUE.values():
        assert m.en and m.zh and m.definition, m.id
        assert m.unit in metrics.UNITS
        # Chinese labels are Chinese (or a formula name such as "BG/NBD r").
        assert m.zh != m.en or m.id.startswith("bgnbd_"), m.id


def test_labels_fill_their_fields_in_both_languages():
    k = metrics.get("k_factor")
    assert k.label("en", window_days=30) == "K-factor (30-day window)"
    assert k.label("zh", window_days=30) == "K 因子（30 天窗口）"
    assert k.label("en") == "K-factor ({window_days}-day window)"  # unfilled stays visible


@pytest.mark.parametrize(
    ("unit", "value", "lang", "text"),
    [
        ("fraction", 0.1234, "en", "12.3 %"),
        ("fraction", 0.0004, "en", "0.04 %"),
        ("fraction", 253.817, "en", "25,382 %"),
        ("fraction", -12.5, "zh", "-1,250 %"),
        ("fraction", 9.99, "en", "999.0 %"),
        ("fraction", 9.9996, "en", "1,000 %"),
        ("pp", 0.0587, "en", "+5.9 pp"),
        ("pp", -0.0587, "zh", "-5.9 个百分点"),
        ("count", 12345.0, "en", "12,345"),
        ("currency", 1234.5, "en", "1,234.50 CNY"),
        ("days", 3.89, "zh", "3.9 天"),
        ("ratio", 0.35735, "en", "0.36"),
        ("fraction", math.nan, "en", "n/a"),
        ("count", None, "zh", "无"),
        ("text", "win", "en", "win"),
    ],
)
def test_format_value(unit, value, lang, text):
    assert metrics.format_value(value, unit, lang=lang, currency="CNY") == text


def test_unknown_id_names_the_catalogue():
    with pytest.raises(KeyError, match="not in growthlab.metrics.CATALOGUE"):
        metrics.get("no_such_metric")


def test_define_keeps_one_definition_per_id():
    m = metrics.define("test_extra_metric", "Extra", "额外", "count", "a test metric")
    assert metrics.define("test_extra_metric", "Extra", "额外", "count", "a test metric") == m
    with pytest.raises(ValueError, match="already defined differently"):
        metrics.define("test_extra_metric", "Extra", "额外", "fraction", "another definition")
    with pytest.raises(ValueError, match="unknown unit"):
        metrics.define("test_bad_unit", "x", "x", "%", "x")
    del metrics.CATALOGUE["test_extra_metric"]
