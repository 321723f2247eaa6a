"""Findings, numbers and table of the A/B tests (growthlab.findings.experiments)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from growthlab import i18n, monitor
from growthlab.findings import experiments


def _ab(rows: list[dict]) -> pd.DataFrame:
    """A hand-made ab_test frame: control row first, then treated rows (given fields)."""
    base = {c: np.nan for c in monitor.AB_COLUMNS}
    control = {
        **base,
        "experiment_id": "e1",
        "variant": "control",
        "is_control": True,
        "users": 1000,
        "conversions": 100,
        "conversion": 0.10,
        "revenue_per_user": 5.0,
        "srm_p_value": 0.5,
        "srm": False,
        "verdict": "control",
    }
    treated = []
    for r in rows:
        t = {
            **base,
            "experiment_id": "e1",
            "variant": "treatment",
            "is_control": False,
            "users": 1000,
            "conversions": 130,
            "conversion": 0.13,
            "diff": 0.03,
            "diff_low": 0.004,
            "diff_high": 0.056,
            "p_value": 0.03,
            "rel_lift": 0.3,
            "revenue_per_user": 6.0,
            "rpu_diff": 1.0,
            "mde": 0.025,
            "srm_p_value": 0.5,
            "srm": False,
            "verdict": "win",
        }
        t.update(r)
        treated.append(t)
    return pd.DataFrame([control, *treated])[monitor.AB_COLUMNS]


def test_win_is_a_ship_finding():
    (f,) = experiments.ab_findings(_ab([{}]))
    assert (f.section, f.kind, f.subject) == ("experiments", "ab_win", "e1")
    assert f.effect == pytest.approx(0.3) and f.reach == 1.0 and f.confidence == 1.0
    assert "treatment converts better than control" in f.en and "+3.0 pp" in f.en
    assert "p 0.030" in f.en and "2.5 pp" in f.en  # the MDE
    assert f.action_en == "Ship treatment to everyone the test targeted."
    assert "实验组" in f.zh and f.action_zh.startswith("将实验组")


def test_loss_is_a_stop_finding():
    row = {"diff": -0.03, "diff_low": -0.056, "diff_high": -0.004, "rel_lift": -0.3}
    (f,) = experiments.ab_findings(_ab([{**row, "verdict": "loss"}]))
    assert f.kind == "ab_loss" and "worse" in f.en and f.action_en.startswith("Stop treatment")


def test_no_finding_when_the_interval_includes_zero():
    row = {"diff": 0.01, "diff_low": -0.01, "diff_high": 0.03, "p_value": 0.3}
    assert experiments.ab_findings(_ab([{**row, "verdict": "inconclusive"}])) == []
    assert experiments.ab_findings(_ab([{**row, "verdict": "no_effect"}])) == []
    # even a (mislabelled) win is not stated when its interval includes 0
    assert experiments.ab_findings(_ab([{**row, "verdict": "win"}])) == []
    assert experiments.ab_findings(None) == [] and experiments.ab_findings(_ab([]).iloc[:0]) == []


def test_srm_withholds_the_verdict():
    (f,) = experiments.ab_findings(_ab([{"verdict": "srm", "srm_p_value": 1e-6, "srm": True}]))
    assert f.kind == "ab_srm" and "no verdict" in f.en and "p < 0.001" in f.en
    assert f.effect == 1.0 and f.confidence == pytest.approx(1 - 1e-6)
    assert f.action_en.startswith("Fix the assignment")
    # an SRM finding is stated whatever the difference's interval says
    row = {"verdict": "srm", "srm_p_value": 1e-4, "diff_low": -0.01, "diff_high": 0.03}
    assert [g.kind for g in experiments.ab_findings(_ab([row]))] == ["ab_srm"]


def test_underpowered_keeps_running_with_the_users_needed():
    row = {"verdict": "underpowered", "diff": 0.02, "diff_low": 0.001, "diff_high": 0.04}
    row.update({"mde": 0.04, "p_value": 0.04, "rel_lift": 0.2})
    (f,) = experiments.ab_findings(_ab([row]))
    assert f.kind == "ab_underpowered" and f.confidence == pytest.approx(0.96)
    # MDE 4 pp with 1,000 users per variant; to detect 2 pp: 1,000 x (4/2)^2 = 4,000 users
    assert "4,000 users per variant" in f.action_en
    r = {"diff": 0.02, "mde": 0.04, "users": 1000, "control_users": 1000}
    assert experiments.users_needed(r) == pytest.approx(4000)
    assert math.isnan(experiments.users_needed({**r, "diff": 0.0}))


def test_users_needed_matches_the_mde_formula():
    rng = np.random.default_rng(0)
    a = pd.DataFrame(
        {
            "user_id": range(4000),
            "experiment_id": "e",
            "variant": np.where(np.arange(4000) % 2, "treatment", "control"),
        }
    )
    o = pd.DataFrame({"user_id": range(4000), "converted": rng.random(4000) < 0.2})
    ab = monitor.ab_test(a, o)
    t = ab.loc[~ab["is_control"]].iloc[0].to_dict()
    n = experiments.users_needed({**t, "control_users": 2000})
    p0 = ab.loc[ab["is_control"], "conversion"].iloc[0]
    z = 1.959963984540054 + 0.8416212335729143
    assert z * math.sqrt(p0 * (1 - p0) * 2 / n) == pytest.approx(abs(t["diff"]), rel=1e-9)


def test_headline_records_and_table():
    ab = _ab([{}])
    h = experiments.headline(ab)
    assert h["ab_experiments"] == 1 and h["ab_experiment"] == "e1" and h["ab_verdict"] == "win"
    assert h["ab_lift"] == pytest.approx(0.03) and h["ab_mde"] == pytest.approx(0.025)
    recs = experiments.ab_records(ab)
    assert recs[0]["diff"] is None and recs[1]["diff"] == pytest.approx(0.03)
    assert experiments.ab_records(ab, min_group_size=2000) == []
    t = experiments.result_table(ab, "zh")
    assert list(t["ab_variant"]) == ["对照组", "实验组"]
    assert list(t["ab_verdict"]) == [
        i18n.t("verdict.ab.control", "zh"),
        i18n.t("verdict.ab.win", "zh"),
    ]
    assert list(t["ab_action"]) == ["–", i18n.t("action.ab.ship", "zh")]
    assert t["ab_p_value"].tolist() == ["–", "0.030"] and t["ab_diff"].iloc[0] == "–"
    assert not t.isna().any().any()
    assert experiments.format_p(1e-5) == "< 0.001" and experiments.format_p(None) == "–"
    assert experiments.summary(ab) == {"experiments": 1, "users": 2000}
    assert experiments.headline(None) == {} and experiments.main_variant(ab.iloc[:1]) is None
    # small variants are pooled in the table
    small = _ab([{"users": 4, "variant": "b"}, {"users": 3, "variant": "c"}, {"users": 5}])
    shown = experiments.result_table(small, "en", min_group_size=10)
    assert i18n.t("ui.suppressed", "en") in shown["ab_variant"].tolist()
    assert shown["users"].tolist() == [1000, 12]


def test_findings_from_a_real_ab_test():
    rng = np.random.default_rng(1)
    n = 20000
    a = pd.DataFrame(
        {"user_id": range(n), "experiment_id": "e", "variant": np.repeat(["control", "t"], n // 2)}
    )
    p = np.repeat([0.10, 0.13], n // 2)
    o = pd.DataFrame({"user_id": range(n), "converted": rng.random(n) < p})
    (f,) = experiments.ab_findings(monitor.ab_test(a, o))
    assert f.kind == "ab_win" and f.subject == "e"
