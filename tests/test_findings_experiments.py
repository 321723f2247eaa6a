"""Findings, result cards, tables and numbers of the experiments page (growthlab.findings.experiments)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from growthlab import experiments as ex
from growthlab import i18n, metrics, report
from growthlab.findings import experiments as fx


def _stats(
    arms: dict[str, tuple[int, int]], exp: str = "e1", guard: dict | None = None
) -> pd.DataFrame:
    """Sums of a conversion experiment: variant -> (users, conversions); ``guard``: variant ->
    unsubscribers."""
    rows = []
    for v, (n, x) in arms.items():
        rows.append(
            {
                "experiment_id": exp,
                "variant": v,
                "metric": "conversion",
                "n": n,
                "sum": x,
                "sum_sq": x,
            }
        )
        if guard is not None:
            g = guard[v]
            rows.append(
                {
                    "experiment_id": exp,
                    "variant": v,
                    "metric": "unsubscribe_rate",
                    "n": n,
                    "sum": g,
                    "sum_sq": g,
                }
            )
    return pd.DataFrame(rows)


def _results(stats: pd.DataFrame, **kw) -> ex.ExperimentResults:
    kw.setdefault("sequential", "never")
    return ex.analyse(stats, **kw)


WIN = {"control": (5000, 500), "treatment": (5000, 650)}


def test_win_is_a_ship_finding():
    (f,) = fx.ab_findings(_results(_stats(WIN, guard={"control": 50, "treatment": 52})))
    assert (f.section, f.kind, f.subject) == ("experiments", "ab_win", "e1")
    assert f.effect == pytest.approx(0.3) and f.reach == 1.0 and f.confidence == 1.0
    assert "treatment beats control on conversion: 13.0 % against 10.0 %" in f.en
    assert "+3.0 pp" in f.en and "fixed-horizon interval" in f.en and "adjusted p < 0.001" in f.en
    assert "unsubscribe rate not harmed" in f.en
    assert f.action_en == "Ship treatment to everyone the test targeted."
    assert "实验组" in f.zh and f.action_zh.startswith("将实验组")
    assert [e.metric for e in f.evidence][:3] == ["ab_lift", "ab_p_value", "ab_chance_to_win"]


def test_loss_and_guardrail_veto():
    loss = {"control": (5000, 650), "treatment": (5000, 500)}
    (f,) = fx.ab_findings(_results(_stats(loss)))
    assert f.kind == "ab_loss" and "does worse" in f.en and f.action_en.startswith("Stop treatment")
    vetoed = fx.ab_findings(_results(_stats(WIN, guard={"control": 50, "treatment": 150})))
    (g,) = vetoed
    assert g.kind == "ab_guardrail" and "shipping is vetoed" in g.en
    assert "unsubscribe rate 3.00 % against 1.00 %" in g.en
    assert g.action_en.startswith("Do not ship treatment") and g.effect == 1.0  # +200 % capped


def test_no_finding_when_the_interval_includes_zero():
    flat = {"control": (2000, 200), "treatment": (2000, 210)}
    res = _results(_stats(flat))
    assert res.verdicts["verdict"].iloc[0] == "inconclusive"
    assert fx.ab_findings(res) == [] and fx.ab_findings(None) == []


def test_srm_withholds_the_verdict_with_a_banner():
    res = _results(_stats({"control": (5000, 500), "treatment": (4400, 572)}))
    (f,) = fx.ab_findings(res)
    assert f.kind == "ab_srm" and "no verdict" in f.en and "p < 0.001" in f.en
    assert f.effect == 1.0 and f.confidence > 0.999
    (card,) = fx.cards(res, "en")
    html = report.sentence_html("en", **card)
    assert "<blockquote>" in html and "Sample-ratio mismatch" in html
    assert "split broken (SRM)" in html and "fix the split" in html


def test_underpowered_keeps_running_with_the_users_needed():
    res = _results(_stats({"control": (400, 40), "treatment": (400, 62)}), correction="none")
    (f,) = fx.ab_findings(res)
    assert f.kind == "ab_underpowered" and 0.95 < f.confidence < 1
    r = res.verdicts.iloc[0]
    n = fx.users_needed(r)
    assert n == pytest.approx(400 * (r["mde"] / r["diff"]) ** 2)
    assert f"{math.ceil(n):,} users per variant" in f.action_en
    assert math.isnan(fx.users_needed({**r.to_dict(), "diff": 0.0}))


def test_cards_one_per_experiment_with_every_variant():
    stats = pd.concat(
        [
            _stats(
                {"control": (3000, 300), "a": (3000, 390), "b": (3000, 300), "tiny": (4, 1)},
                "multi",
            ),
            _stats(WIN, "single"),
        ]
    )
    res = _results(stats, expected_shares=None, srm_alpha=1e-300)
    cards = fx.cards(res, "zh", min_group_size=10)
    assert len(cards) == 2
    multi = next(c for c in cards if c["experiment"] == "multi")
    html = report.sentence_html("zh", **multi)
    assert html.count("<li>") == 3 and "不予展示" in html  # "tiny" suppressed
    assert "胜过对照组的概率" in html and "跨指标与组别的 Holm 校正" in html
    en = report.sentence_html("en", **fx.cards(res, "en")[0])
    assert "chance to beat control" in en and "fixed-horizon interval" in en


def test_card_values_are_escaped():
    res = _results(_stats(WIN, exp="<b>x</b> 13812345678"))
    html = report.sentence_html("en", **fx.cards(res, "en")[0])
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "[phone]" in html


def test_metric_table_plan_headline_and_records():
    res = _results(_stats(WIN, guard={"control": 50, "treatment": 52}))
    t = fx.metric_table(res, "zh")
    assert list(t["ab_metric"]) == ["转化率", "退订率"]
    assert t["ab_value_control"].iloc[0] == "10.0 %" and t["ab_p_adj"].iloc[1].endswith("*")
    assert not t.isna().drop(columns=["users_control"]).any().any()
    small = _results(_stats({"control": (4, 1), "treatment": (5, 2)}))
    shown = fx.metric_table(small, "en", min_group_size=10)
    assert shown.empty or (shown["ab_variant"] == i18n.t("ui.suppressed", "en")).all()
    p = fx.plan_table(res, "en")
    assert p["plan_users_per_variant"].iloc[0] > 0 and p["plan_mde"].iloc[0].startswith("+10.0 %")
    h = fx.headline(res)
    assert h["ab_experiments"] == 1 and h["ab_verdict"] == "win" and h["ab_ship_vetoed"] == 0
    assert h["ab_lift"] == pytest.approx(0.03) and 0.99 < h["ab_chance_to_win"] <= 1
    assert set(h) <= set(metrics.CATALOGUE)
    recs = fx.ab_records(res)
    assert [r["metric"] for r in recs] == ["conversion", "unsubscribe_rate"]
    assert recs[0]["verdict"] == "win" and recs[1]["verdict"] is None
    assert fx.ab_records(res, min_group_size=10_000) == []
    assert fx.summary(res) == {
        "experiments": 1,
        "users": 10000,
        "running": 1,  # no assignment times: counted as running
        "sequential": 0,
        "srm": 0,
    }
    assert fx.headline(None) == {} and fx.main_variant(None) is None and fx.cards(None) == []
    assert fx.format_p(1e-5) == "< 0.001" and fx.format_p(None) == "–"


def test_findings_from_a_simulated_experiment():
    rng = np.random.default_rng(1)
    n = 20000
    users = pd.DataFrame(
        {
            "experiment_id": "e",
            "variant": np.repeat(["control", "t"], n // 2),
            "converted": (rng.random(n) < np.repeat([0.10, 0.13], n // 2)).astype(float),
        }
    )
    res = ex.analyse(ex.sufficient_stats(users, ex.METRICS[:1]))  # state unknown: sequential
    (f,) = fx.ab_findings(res)
    assert f.kind == "ab_win" and "sequential (always valid) interval" in f.en
