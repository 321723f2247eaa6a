"""Known-truth tests: the referral analysis recovers what the synthetic source planted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthlab import referral as r
from growthlab import referral_abuse as ra
from growthlab.data import identity
from growthlab.data import referral as dr

synth = pytest.importorskip("growthlab.data.synth")


@pytest.fixture(scope="module")
def raw():
    frames, truth = synth.generate_frames(20000, seed=0)
    frames["users"] = frames["users"].drop_duplicates()  # dirty duplicate rows (loader rule)
    return frames, truth


@pytest.fixture(scope="module")
def clean(raw):
    return r.clean_referrals(raw[0]["referrals"])


def test_quarantine_counts_match_planted_dirty_rows(raw, clean):
    dirty = raw[1]["dirty"]
    for rule in ("self_referral", "inviter_conflict", "cycle"):
        assert clean.counts[rule] == dirty.get(rule, 0), rule


def test_k_factor_recovers_planted_offspring_means(raw, clean):
    """Tolerance: the planted law is mixed Poisson with mean m, and every invitee of a mature
    user (signed up >= 30 d before as_of) is observed, so K is unbiased for m. Its standard
    error is s/sqrt(n) (about 0.02-0.05 here for n ~ 1,500 mature users per campaign); we
    require m inside the 99.9 % interval (a failure probability of 0.1 % per campaign for an
    honest estimator, and the seed is fixed) and a relative error below 15 %."""
    users, truth = raw[0]["users"], raw[1]
    as_of = pd.Timestamp(truth["as_of"])
    k = r.k_factor(users, clean, window_days=30, by="campaign_id", as_of=as_of, alpha=0.001)
    k = k.set_index("campaign_id")
    planted = truth["referral"]["campaigns"]
    assert len(planted) >= 3
    assert any(c["offspring_mean"] >= 1 for c in planted.values())
    for cid, c in planted.items():
        m = c["offspring_mean"]
        row = k.loc[cid]
        assert row["users"] >= 300, cid
        assert row["k_low"] <= m <= row["k_high"], (cid, m, row.to_dict())
        assert abs(row["k"] - m) / m < 0.15, (cid, m, row["k"])
    # campaigns are told apart: ranking by K equals ranking by planted m
    order_k = k.loc[list(planted), "k"].sort_values().index.tolist()
    assert order_k == sorted(planted, key=lambda c: planted[c]["offspring_mean"])


def test_cascades_partition_referred_users_and_amplification(raw, clean):
    users, truth = raw
    users = users["users"]
    f = r.forest(clean, users)
    cas = r.cascades(f)
    invitees = clean.edges["invitee_id"]
    assert invitees.is_unique
    assert int((cas["size"] - 1).sum()) == len(invitees)
    # each referred user sits in exactly one cascade: its root's tree
    nodes = f.nodes.set_index("user_id")
    assert nodes.loc[invitees, "root"].isin(cas["root"]).all()
    assert (nodes.loc[invitees, "generation"] >= 1).all()
    # amplification per planted campaign = campaign users / seeds (truth counts)
    camp = users.set_index("user_id")["campaign_id"]
    amp = r.amplification(f.nodes.assign(campaign_id=f.nodes["user_id"].map(camp)), "campaign_id")
    amp = amp.set_index("campaign_id")
    for cid, c in truth["referral"]["campaigns"].items():
        if "users" in c:
            assert amp.loc[cid, "users"] == c["users"]
        assert amp.loc[cid, "seeds"] == c["seeds"]


def test_planted_fraud_ring_flagged(raw, clean):
    frames, truth = raw
    ring = set(truth["fraud_ring"]["inviters"])
    assert ring
    persons = identity.stitch(frames["users"]["user_id"], frames["identities"])
    activity = dr.user_activity(frames)
    table = ra.suspicious_inviters(clean, persons, activity)
    flagged = table.loc[table["fraud_like"], "inviter_id"]
    precision, recall = ra.precision_recall(flagged, ring)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    # the data errors are listed as suspicious with their reason, not as fraud
    errors = table.loc[~table["fraud_like"]]
    assert errors["reasons"].str.contains("self-referral|cycle").all()
    assert np.isin(
        table.loc[table["self_referral"] > 0, "inviter_id"],
        clean.quarantined.loc[clean.quarantined["reason"] == "self_referral", "inviter_id"],
    ).all()
