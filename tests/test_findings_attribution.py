"""Attribution findings (growthlab.findings.attribution) on hand-made analysis results."""

from __future__ import annotations

import pandas as pd
import pytest

from growthlab import attribution as A
from growthlab.findings import POINT_ESTIMATE_CONFIDENCE
from growthlab.findings import attribution as FA


def _comparison(shares: dict[str, dict[str, float]], touch: dict[str, float]) -> A.Comparison:
    """A Comparison with the given shares (model -> channel -> share)."""
    rows = [
        {"model": m, "channel": c, "conversions": 100 * v, "value": 0.0, "share": v}
        for m, per in shares.items()
        for c, v in per.items()
    ]
    return A.Comparison(
        credits=pd.DataFrame(rows),
        markov=(),
        n_channels=len(touch),
        touch_share=pd.Series(touch, name="touch_share"),
    )


def test_disagreement_names_the_channel_and_the_budget_meaning():
    cmp = _comparison(
        {
            "last": {"wecom": 0.15, "sms": 0.45, "x": 0.40},
            "markov_1": {"wecom": 0.13, "sms": 0.47, "x": 0.40},
            "shapley": {"wecom": 0.27, "sms": 0.40, "x": 0.33},
        },
        {"wecom": 0.6, "sms": 0.9, "x": 0.5},
    )
    [f] = FA.model_disagreement(cmp)
    assert f.section == "attribution" and f.kind == "attribution_models_disagree"
    assert f.subject == "wecom"  # spread 0.14 against 0.07
    assert "13.0 %" in f.en and "27.0 %" in f.en and "Markov (order 1)" in f.en
    assert "under-credit" in f.en and "Do not cut WeCom 1:1" in f.action_en  # display names
    assert "对企业微信的分歧最大" in f.zh and "wecom" not in f.zh + f.action_zh
    assert "低估" in f.zh and f.action_zh
    assert f.effect == pytest.approx(0.14 / 0.27)
    assert f.reach == pytest.approx(0.6)
    assert f.confidence == POINT_ESTIMATE_CONFIDENCE


def test_disagreement_over_credit_by_last_touch():
    cmp = _comparison(
        {"last": {"a": 0.6, "b": 0.4}, "shapley": {"a": 0.3, "b": 0.7}}, {"a": 1.0, "b": 1.0}
    )
    [f] = FA.model_disagreement(cmp)
    assert f.subject == "a" and "over-credit" in f.en and "Do not add budget" in f.action_en


def test_no_disagreement_finding_below_the_minimum_spread_or_with_one_model():
    close = _comparison(
        {"last": {"a": 0.5, "b": 0.5}, "shapley": {"a": 0.52, "b": 0.48}}, {"a": 1.0, "b": 1.0}
    )
    assert FA.model_disagreement(close) == []
    assert FA.model_disagreement(close, min_spread=0.01) != []
    one = _comparison({"shapley": {"a": 0.2, "b": 0.8}}, {"a": 1.0, "b": 1.0})
    assert FA.model_disagreement(one) == []


def _economics(roas: dict[str, tuple[float, float, float]], spend: dict[str, float]):
    """Economics ranked under shapley; roas: channel -> (roas, roas_min, roas_max)."""
    ranking = pd.DataFrame(
        [
            {
                "model": "shapley",
                "channel": c,
                "conversions": 10.0,
                "value": r * spend[c],
                "spend": spend[c],
                "cpa": spend[c] / 10,
                "roas": r,
                "spend_share": spend[c] / sum(spend.values()),
                "roas_min": lo,
                "roas_max": hi,
            }
            for c, (r, lo, hi) in roas.items()
        ]
    ).sort_values("roas", ascending=False)
    return A.Economics(
        table=ranking.drop(columns=["spend_share"]), model="shapley", ranking=ranking
    )


def test_roas_best_and_worst_suggest_a_budget_shift():
    econ = _economics(
        {"sms": (3.8, 3.8, 12.7), "douyin": (1.2, 1.0, 1.3), "paid_ads": (0.17, 0.17, 0.85)},
        {"sms": 10.0, "douyin": 50.0, "paid_ads": 40.0},
    )
    worst, best = FA.roas_extremes(econ, currency="CNY")
    assert worst.kind == "channel_roas_below_break_even" and worst.subject == "paid_ads"
    assert "0.17" in worst.en and "4.00 CNY" in worst.en  # CPA = 40 / 10
    assert "shift it to SMS" in worst.action_en  # below 1 under every model, sms above 1
    assert worst.en.startswith("Paid ads brings") and "转投回报最高的短信" in worst.action_zh
    assert worst.effect == pytest.approx(0.83) and worst.reach == pytest.approx(0.4)
    assert best.kind == "channel_roas_best" and best.subject == "sms"
    assert "from Paid ads first" in best.action_en
    assert best.effect == 1.0 and best.reach == pytest.approx(0.1)
    assert {worst.confidence, best.confidence} == {POINT_ESTIMATE_CONFIDENCE}


def test_roas_worst_above_break_even_under_another_model_asks_for_a_test():
    econ = _economics({"a": (2.0, 1.5, 2.5), "b": (0.8, 0.8, 1.1)}, {"a": 10.0, "b": 10.0})
    worst, _ = FA.roas_extremes(econ)
    assert worst.subject == "b" and "holdout" in worst.action_en


def test_no_roas_finding_at_or_around_break_even():
    econ = _economics({"a": (1.0, 0.9, 1.1), "b": (1.0, 1.0, 1.0)}, {"a": 1.0, "b": 1.0})
    assert FA.roas_extremes(econ) == []
    alone = _economics({"a": (3.0, 3.0, 3.0)}, {"a": 1.0})
    assert FA.roas_extremes(alone) == []  # a best channel needs another one to shift from


def test_label_fields_and_sentences():
    assert FA.model_fields("markov_2") == {"model": "Markov (order 2)", "model_zh": "2 阶马尔可夫"}
    assert FA.model_name("unknown_model") == "unknown_model"
    s = A.JourneySummary(100, 20, 7, 3, 25, 0.25, 2.5)
    say = FA.journeys_text(s, "zh", lookback_days=30)
    assert say["attr"] == "25.0 %" and "{attr}" in say["zh"] and say["lb"] == "30"
    assert set(FA.skipped("no_costs")) == {"en", "zh"}
