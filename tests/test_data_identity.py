"""OneID identity stitching: connected components over users and shared identities."""

from __future__ import annotations

import networkx as nx
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from growthlab.data import load
from growthlab.data.identity import stitch, summarise


def test_transitive_merge_and_smallest_id():
    ident = pd.DataFrame(
        {
            "user_id": ["b", "c", "c", "d", "e", "f"],
            "id_type": ["phone_hash", "phone_hash", "device_id", "device_id", "openid", "openid"],
            "id_value": ["p", "p", "x", "x", "o1", "o2"],
        }
    )
    persons = stitch(["a", "b", "c", "d", "e", "f"], ident).set_index("user_id")["person_id"]
    assert persons.to_dict() == {"a": "a", "b": "b", "c": "b", "d": "b", "e": "e", "f": "f"}


def test_same_value_different_type_does_not_link():
    ident = pd.DataFrame(
        {"user_id": ["a", "b"], "id_type": ["phone_hash", "device_id"], "id_value": ["1", "1"]}
    )
    assert stitch(["a", "b"], ident)["person_id"].tolist() == ["a", "b"]


def test_no_identities_and_unknown_users():
    assert stitch(["x", "y"], None)["person_id"].tolist() == ["x", "y"]
    ident = pd.DataFrame({"user_id": ["ghost", "x"], "id_type": ["t", "t"], "id_value": ["v", "v"]})
    assert stitch(["x", "y"], ident)["person_id"].tolist() == ["x", "y"]


def test_summary_counts():
    persons = pd.DataFrame({"user_id": list("abcd"), "person_id": list("aacd")})
    counts, largest = summarise(persons)
    assert counts == {"users": 4, "persons": 3, "merged_persons": 1, "merged_users": 2}
    assert largest.to_dict("records") == [{"person_id": "a", "users": 2}]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 15), st.integers(0, 6)), max_size=40))
def test_components_match_networkx(links):
    users = [f"u{i:02d}" for i in range(16)]
    ident = pd.DataFrame(
        {
            "user_id": [users[u] for u, _ in links],
            "id_type": ["device_id"] * len(links),
            "id_value": [f"d{v}" for _, v in links],
        }
    )
    got = stitch(users, ident).set_index("user_id")["person_id"]
    g = nx.Graph()
    g.add_nodes_from(users)
    g.add_edges_from((users[u], f"id:d{v}") for u, v in links)
    for comp in nx.connected_components(g):
        members = sorted(n for n in comp if not n.startswith("id:"))
        if members:
            assert set(got[members]) == {members[0]}


def test_dataset_persons(frames):
    ds = load(frames)
    p = ds.persons.set_index("user_id")["person_id"].to_dict()
    assert p == {"u1": "u1", "u2": "u1", "u3": "u3", "u4": "u4"}
    users = ds.frame("users").set_index("user_id")
    assert users["person_id"].to_dict() == p
    assert ds.quality.identity["merged_users"] == 2
