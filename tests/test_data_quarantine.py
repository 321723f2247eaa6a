"""Quarantine: exact counts on hand fixtures, the referral graph rules, the synthetic dirt."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from conftest import tiny_frames
from hypothesis import given, settings
from hypothesis import strategies as st

from growthlab.data import contract as C
from growthlab.data import load
from growthlab.data.validate import referral_graph_rules


@pytest.fixture(scope="module")
def dirty():
    f = tiny_frames()
    u = f["users"]
    f["users"] = pd.concat([u, u.iloc[[1]]], ignore_index=True)  # row 5: duplicate
    r = pd.DataFrame(
        {
            "inviter_id": ["u1", "u2", "u3", "u9", "u4", "u4", "u3", "u1"],
            "invitee_id": ["u2", "u3", "u1", "u1", "u4", "u2", "u2", "u4"],
            "invited_at": [
                "2024-01-02 09:00",  # 1 u1->u2 (cycle u1->u2->u3->u1)
                "2024-01-03 19:00",  # 2 u2->u3 (cycle)
                "2024-01-01 09:00",  # 3 u3->u1 (cycle)
                "2024-01-01 08:00",  # 4 orphan inviter
                "2024-01-05 08:00",  # 5 self-referral
                "2024-01-02 10:00",  # 6 second inviter of u2, later -> conflict
                "2024-01-02 09:00",  # 7 same time as row 1 -> conflict (row 1 wins, lower row)
                "2030-01-01 00:00",  # 8 future
            ],
        }
    )
    f["referrals"] = r
    e = f["events"]
    extra = pd.DataFrame(
        {
            "user_id": ["u1", "ghost", "u2"],
            "ts": ["2024-01-01 10:05:00", "2024-01-02 00:00:00", "2031-01-01 00:00:00"],
            "channel": ["WeCom", "push", "push"],
            "event": ["visit", "visit", "visit"],
        }
    )
    f["events"] = pd.concat([e, extra], ignore_index=True)  # rows 5 dup, 6 orphan, 7 future
    o = f["orders"]
    f["orders"] = pd.concat(
        [
            o,
            pd.DataFrame(
                {
                    "order_id": ["o4", "o5"],
                    "user_id": ["u3", "nobody"],
                    "ts": ["2024-01-05 00:00", "2024-01-05 00:00"],
                    "amount": [-3.0, -1.0],  # row 4 negative, row 5 negative AND orphan
                    "status": ["paid", "paid"],
                }
            ),
        ],
        ignore_index=True,
    )
    f["costs"] = pd.DataFrame(
        {"date": ["2024-01-01", "2024-01-02"], "channel": ["广告", "火星"], "spend": [5.0, -2.0]}
    )
    return load(f, as_of="2024-01-31")


EXPECTED = [
    ("users", C.Q_DUPLICATE, None, (5,)),
    ("referrals", C.Q_FUTURE, "invited_at", (8,)),
    ("referrals", C.Q_ORPHAN, "inviter_id", (4,)),
    ("referrals", C.Q_SELF, "invitee_id", (5,)),
    ("referrals", C.Q_CONFLICT, "invitee_id", (6, 7)),
    ("referrals", C.Q_CYCLE, "inviter_id", (1, 2, 3)),
    ("events", C.Q_DUPLICATE, None, (5,)),
    ("events", C.Q_ORPHAN, "user_id", (6,)),
    ("events", C.Q_FUTURE, "ts", (7,)),
    ("orders", C.Q_NEGATIVE, "amount", (4, 5)),
    ("costs", C.Q_NEGATIVE, "spend", (2,)),
]


@pytest.mark.parametrize(("table", "rule", "column", "rows"), EXPECTED)
def test_quarantine_exact(dirty, table, rule, column, rows):
    hits = [p for p in dirty.quality.quarantined if (p.table, p.rule) == (table, rule)]
    assert len(hits) == 1, [str(p) for p in dirty.quality.quarantined]
    assert hits[0].column == column
    assert hits[0].rows == rows and hits[0].count == len(rows)


def test_quarantine_totals_and_kept_rows(dirty):
    assert len(dirty.quality.quarantined) == len(EXPECTED)
    counts = dirty.quality.counts()
    assert counts[C.Q_CYCLE] == 3 and counts[C.Q_ORPHAN] == 2 and counts[C.Q_NEGATIVE] == 3
    assert len(dirty.frame("users")) == 4
    # every invitation was dirty: no valid row left, so the table is absent (and says why)
    assert not dirty.has("referrals") and "referrals" not in dirty.tables
    empty = [w for w in dirty.quality.warnings if w.rule == C.W_EMPTY_TABLE]
    assert [(w.table, w.detail.split(";")[0]) for w in empty] == [
        ("referrals", "all 8 row(s) were quarantined")
    ]
    assert not dirty.frame("users")["referred"].any()
    assert set(dirty.frame("events")["user_id"]) == {"u1", "u2", "u3", "u4"}
    q = dirty.quality.quarantine
    assert {"table", "column", "rule", "rows", "examples"} <= set(q.columns)
    t = dirty.quality.tables.set_index("table")
    assert t.loc["events", "rows_source"] == 7 and t.loc["events", "rows_kept"] == 4


def test_summary_names_every_rule(dirty):
    assert dirty.quality.unknown_channels.empty  # the only unknown name was on a quarantined row
    summary = dirty.quality.summary()
    for rule in (C.Q_DUPLICATE, C.Q_CYCLE, C.Q_CONFLICT, C.Q_SELF, C.Q_FUTURE):
        assert rule in summary


def test_unknown_channel_kept_as_is(frames):
    frames["events"].loc[0, "channel"] = " 火星快递 "
    ds = load(frames)
    assert "火星快递" in set(ds.frame("events")["channel"])
    unk = ds.quality.unknown_channels
    assert unk.to_dict("records") == [
        {"table": "events", "column": "channel", "raw": "火星快递", "rows": 1}
    ]
    assert any(w.rule == C.W_UNKNOWN_CHANNEL for w in ds.quality.warnings)


def test_synthetic_dirty_rows_match_truth():
    synth = pytest.importorskip("growthlab.data.synth")
    frames, truth = synth.generate_frames(1500, seed=3)
    ds = load(frames)  # default as_of: the latest timestamp not after the run's clock
    counts = ds.quality.counts()
    for rule, n in truth["dirty"].items():
        if rule == C.W_UNKNOWN_CHANNEL:
            assert int(ds.quality.unknown_channels["rows"].sum()) == n
        else:
            assert counts[rule] == n, (rule, counts, truth["dirty"])
    by_table = truth.get("dirty_by_table", {})
    for table, rules in by_table.items():
        for rule, n in rules.items():
            assert ds.quality.count(table, rule) == n, (table, rule)


# ---- the referral graph rules, against networkx on random graphs -----------------------


def _frame(edges):
    return pd.DataFrame(
        {
            "_row": np.arange(1, len(edges) + 1),
            "inviter_id": [f"u{a}" for a, _ in edges],
            "invitee_id": [f"u{b}" for _, b in edges],
            "invited_at": pd.to_datetime("2024-01-01")
            + pd.to_timedelta(np.arange(len(edges)), "s"),
        }
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=40))
def test_graph_rules_match_networkx(edges):
    df = _frame(edges)
    rows, rules = referral_graph_rules(df)
    flagged = dict(zip(rows.tolist(), rules, strict=True))
    # self-referrals
    assert {r for r, x in flagged.items() if x == C.Q_SELF} == {
        i + 1 for i, (a, b) in enumerate(edges) if a == b
    }
    # earliest invitation per invitee wins (times increase with the row number)
    winners: dict[int, int] = {}
    for i, (a, b) in enumerate(edges):
        if a != b and b not in winners:
            winners[b] = i
    conflict = {i + 1 for i, (a, b) in enumerate(edges) if a != b and winners[b] != i}
    assert {r for r, x in flagged.items() if x == C.Q_CONFLICT} == conflict
    # cycle edges = edges inside a strongly connected component of the winner graph
    g = nx.DiGraph()
    g.add_edges_from((edges[i][0], b) for b, i in winners.items())
    in_cycle = set()
    for comp in nx.strongly_connected_components(g):
        if len(comp) > 1:
            in_cycle |= {winners[b] + 1 for b in comp}
    assert {r for r, x in flagged.items() if x == C.Q_CYCLE} == in_cycle
    # what is left is a forest
    kept = [(a, b) for i, (a, b) in enumerate(edges) if i + 1 not in flagged]
    forest = nx.DiGraph(kept)
    assert nx.is_directed_acyclic_graph(forest)
    assert all(d <= 1 for _, d in forest.in_degree())


def test_long_cycle_is_found_vectorised():
    n = 5000
    edges = [(i, (i + 1) % n) for i in range(n)] + [(n + i, n + i + 1) for i in range(100)]
    rows, rules = referral_graph_rules(_frame(edges))
    assert len(rows) == n and set(rules) == {C.Q_CYCLE}
