"""The one referral graph rule (growthlab.referral_rules): tie-break on known inputs, and the
loader and the analysis accepting the same invitations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growthlab import referral as r
from growthlab import referral_rules as rr
from growthlab.data import load
from growthlab.data.validate import referral_graph_rules

T0 = pd.Timestamp("2024-01-02 09:00")


def _rows(rows):
    """rows: (inviter, invitee, hours after T0, campaign)."""
    return pd.DataFrame(
        {
            "inviter_id": [a for a, _, _, _ in rows],
            "invitee_id": [b for _, b, _, _ in rows],
            "invited_at": [T0 + pd.Timedelta(hours=h) for _, _, h, _ in rows],
            "campaign_id": [c for _, _, _, c in rows],
        }
    )


def _winner(df: pd.DataFrame, invitee: str) -> tuple[str, str]:
    res = rr.graph_rules(df["inviter_id"], df["invitee_id"], df["invited_at"])
    won = df.loc[(res.reason == rr.ACCEPTED) & (df["invitee_id"] == invitee).to_numpy()]
    assert len(won) == 1
    return won["inviter_id"].iloc[0], won["campaign_id"].iloc[0]


def test_earliest_invitation_wins_whatever_the_ids():
    df = _rows([("a", "x", 2, "c1"), ("z", "x", 1, "c2")])
    assert _winner(df, "x") == ("z", "c2")


@pytest.mark.parametrize("flip", [False, True])
def test_tie_in_time_smallest_inviter_id_as_text_wins_in_any_row_order(flip):
    # "u10" < "u9" as text (code points), whichever row comes first
    df = _rows([("u9", "x", 0, "c9"), ("u10", "x", 0, "c10"), ("u2", "x", 1, "late")])
    df = df.iloc[::-1].reset_index(drop=True) if flip else df
    assert _winner(df, "x") == ("u10", "c10")
    res = rr.graph_rules(df["inviter_id"], df["invitee_id"], df["invited_at"])
    assert sorted(res.rule_names()) == ["", "inviter_conflict", "inviter_conflict"]


def test_copies_of_one_invitation_keep_the_lowest_row_number():
    df = _rows([("a", "x", 0, "second"), ("a", "x", 0, "first")])
    res = rr.graph_rules(df["inviter_id"], df["invitee_id"], df["invited_at"], row=[7, 3])
    assert res.reason.tolist() == [rr.INVITER_CONFLICT, rr.ACCEPTED]


def test_missing_time_counts_as_latest():
    df = _rows([("a", "x", 0, "c")]).astype({"invited_at": object})
    df = pd.concat([df.assign(inviter_id="0", invited_at=None), df], ignore_index=True)
    res = rr.graph_rules(df["inviter_id"], df["invitee_id"], df["invited_at"])
    assert res.reason.tolist() == [rr.INVITER_CONFLICT, rr.ACCEPTED]


def test_self_referral_and_cycle_codes():
    df = _rows([("s", "s", 0, ""), ("a", "b", 0, ""), ("b", "c", 1, ""), ("c", "a", 2, "")])
    df = pd.concat([df, _rows([("c", "d", 3, "")])], ignore_index=True)
    res = rr.graph_rules(df["inviter_id"], df["invitee_id"], df["invited_at"])
    assert res.rule_names().tolist() == ["self_referral", "cycle", "cycle", "cycle", ""]


def test_cycle_nodes_on_known_parent_arrays():
    # 0 <- 1 <- 2 (a chain), 3 -> 4 -> 3 (a 2-cycle), 5 hangs below the cycle
    parent = np.array([-1, 0, 1, 4, 3, 3])
    assert rr.cycle_nodes(parent).tolist() == [False, False, False, True, True, False]


def test_loader_and_analysis_accept_the_same_invitations():
    users = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u9", "u10", "x", "y"],
            "signup_at": ["2024-01-01 08:00"] * 4 + ["2024-01-02 08:00"] * 2,
        }
    )
    raw = pd.DataFrame(
        {
            "inviter_id": ["u9", "u10", "u1", "u2", "u1"],
            "invitee_id": ["x", "x", "y", "y", "y"],
            # x: a tie at 09:00 between u9 and u10; y: u2 earliest, u1 twice later
            "invited_at": ["09:00", "09:00", "11:00", "10:00", "12:00"],
            "campaign_id": ["c9", "c10", "late", "early", "later"],
        }
    )
    raw["invited_at"] = "2024-01-02 " + raw["invited_at"]
    ds = load({"users": users, "referrals": raw}, as_of="2024-02-01", timezone="UTC")
    loaded = ds.frame("referrals")[["inviter_id", "invitee_id", "campaign_id"]]
    analysed = r.clean_referrals(raw).edges[["inviter_id", "invitee_id", "campaign_id"]]
    key = ["invitee_id"]
    assert loaded.sort_values(key).to_numpy().tolist() == [
        ["u10", "x", "c10"],
        ["u2", "y", "early"],
    ]
    assert (
        analysed.sort_values(key).to_numpy().tolist() == loaded.sort_values(key).to_numpy().tolist()
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 8), st.integers(0, 3)), min_size=1, max_size=30
    )
)
def test_validator_wrapper_and_analysis_exclude_the_same_rows(rows):
    df = pd.DataFrame(
        {
            "_row": np.arange(1, len(rows) + 1),
            "inviter_id": [f"u{a}" for a, _, _ in rows],
            "invitee_id": [f"u{b}" for _, b, _ in rows],
            "invited_at": [T0 + pd.Timedelta(hours=h) for _, _, h in rows],
        }
    )
    q_rows, q_rules = referral_graph_rules(df)
    from_validator = dict(zip(q_rows.tolist(), q_rules, strict=True))
    # the analysis sees the same rows without _row (exact copies would be its own duplicate rule)
    raw = df.drop(columns="_row").assign(n=np.arange(len(df)))
    clean = r.clean_referrals(raw)
    from_analysis = {
        int(n) + 1: q
        for n, q in zip(clean.quarantined["n"], clean.quarantined["reason"], strict=True)
    }
    assert from_analysis == from_validator
