"""Two real, public randomised experiments shipped inside a PyPI package (``causaldata`` 0.1.5,
the data sets of Cunningham's "Causal Inference: The Mixtape" and Huntington-Klein's "The
Effect"), reproducing their published effects with growthlab.experiments.

1. Thornton (2008), "The Demand for, and Impact of, Learning HIV Status", American Economic
   Review 98(5): 1829–63 (``causaldata.thornton_hiv``). Malawians tested for HIV were randomly
   offered cash incentives to collect their results. Published: "Without any incentive, 34
   percent of the participants learned their HIV results. However, even the smallest incentive
   doubled that share" (abstract); the OLS effect of any incentive is 0.431 (s.e. 0.023) with
   controls (Table 4, col. 1). A conversion experiment, with several arms (incentive amounts).
2. The National Supported Work demonstration, Dehejia & Wahba (1999), "Causal Effects in
   Nonexperimental Studies", JASA 94(448): 1053–62, Table 3: the experimental estimate of the
   training's effect on 1978 earnings is $1,794 (s.e. 633) on their 445-person subsample
   (``causaldata.nsw_mixtape``, treated 185, control 260). A revenue-per-user experiment with a
   pre-period value of the same metric (1975 earnings): CUPED.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthlab import experiments as ex

causaldata = pytest.importorskip("causaldata")

RPU = (ex.Metric("revenue_per_user", "mean", "revenue", covariate="pre_revenue"),)


@pytest.fixture(scope="module")
def hiv() -> pd.DataFrame:
    from causaldata import thornton_hiv

    d = thornton_hiv.load_pandas().data.dropna(subset=["got", "any", "tinc"])
    return d


def test_thornton_any_incentive_reproduces_the_published_effect(hiv):
    users = pd.DataFrame(
        {
            "experiment_id": "hiv_results",
            "variant": np.where(hiv["any"] == 1, "treatment", "control"),
            "converted": hiv["got"].astype(float),
        }
    )
    stats = ex.sufficient_stats(users, ex.METRICS[:1])
    # the design gave ~22 % no incentive (not an equal split): state it, or SRM fires
    res = ex.analyse(
        stats, sequential="never", expected_shares={"control": 0.22, "treatment": 0.78}
    )
    v = res.verdicts.iloc[0]
    assert len(hiv) == 2834  # the paper's 2,812 who tested, give or take its exclusions
    assert v["mean_control"] == pytest.approx(0.34, abs=0.005)  # "34 percent"
    assert v["mean"] / v["mean_control"] >= 2  # "doubled that share"
    assert v["low"] <= 0.431 <= v["high"]  # Table 4, col. 1: 0.431
    assert v["diff"] == pytest.approx(0.431, abs=2 * 0.023)
    assert v["verdict"] == "win" and v["chance_to_win"] > 0.999
    # against an equal split, the split check fires and withholds the verdict
    assert ex.analyse(stats, sequential="never").verdicts["verdict"].iloc[0] == "srm"


def test_thornton_every_incentive_arm_beats_no_incentive_after_holm(hiv):
    arm = pd.cut(
        hiv["tinc"], [-0.01, 0.0, 1.0, 2.0, 3.01], labels=["control", "up_to_1", "1_to_2", "2_to_3"]
    )
    users = pd.DataFrame(
        {"experiment_id": "hiv_results", "variant": arm.astype(str), "converted": hiv["got"]}
    )
    stats = ex.sufficient_stats(users, ex.METRICS[:1])
    c = ex.compare(stats, correction="holm")
    assert set(c["variant"]) == {"up_to_1", "1_to_2", "2_to_3"}
    assert (c["position"] == "above").all() and (c["p_adj"] >= c["p_value"]).all()
    smallest = c.set_index("variant").loc["up_to_1"]
    assert smallest["mean"] >= 2 * smallest["mean_control"] - 0.05  # even the smallest ~doubles


def test_nsw_training_effect_and_cuped():
    from causaldata import nsw_mixtape

    d = nsw_mixtape.load_pandas().data
    users = pd.DataFrame(
        {
            "experiment_id": "nsw",
            "variant": np.where(d["treat"] == 1, "treatment", "control"),
            "revenue": d["re78"],
            "pre_revenue": d["re75"],
        }
    )
    stats = ex.sufficient_stats(users, RPU)
    plain = ex.compare(stats, metrics=RPU, cuped=False).iloc[0]
    assert (plain["n_control"], plain["n"]) == (260, 185)
    assert plain["diff"] == pytest.approx(1794.34, abs=0.01)  # Dehejia & Wahba: $1,794
    assert plain["se"] == pytest.approx(633, rel=0.1)  # theirs 633; Welch's unequal-variance 671
    assert plain["fixed_low"] > 0 and plain["fixed_p"] < 0.01
    # CUPED with 1975 earnings: it removes the share rho^2 of the variance, which is small here
    adjusted = ex.compare(stats, metrics=RPU).iloc[0]
    rho = np.corrcoef(d["re78"], d["re75"])[0, 1]
    assert adjusted["cuped"]
    assert adjusted["variance_reduction"] == pytest.approx(rho**2, abs=0.005)
    assert adjusted["fixed_low"] <= 1794.34 <= adjusted["fixed_high"]
