"""OneID identity stitching: user_ids that share an identity are one person (SPEC §3).

Users and identity keys ``(id_type, id_value)`` are the two node sets of a bipartite graph with
an edge per ``identities`` row; the persons are its connected components (transitively: if u1
shares a phone hash with u2 and u2 a device with u3, all three are one person). Components are
found with ``scipy.sparse.csgraph.connected_components`` (linear time, no Python loops).
A person's id is the smallest ``user_id`` of its component, so it is stable and readable.

Reference: the "OneID"/identity-graph practice of customer data platforms; connected components
by breadth-first search (Tarjan 1972 / Hopcroft & Tarjan 1973).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from growthlab.errors import AnalysisInputError


def stitch(user_ids: pd.Series | np.ndarray, identities: pd.DataFrame | None) -> pd.DataFrame:
    """Map every user to a person: returns a frame ``user_id, person_id`` (one row per user).

    ``identities`` has columns ``user_id, id_type, id_value``; rows whose user is not in
    ``user_ids`` are ignored, missing ``id_value`` never links anyone. person_id = min(user_id)
    over the connected component of the user-identity graph.
    """
    users = pd.Series(pd.unique(pd.Series(user_ids, dtype="string").dropna()), dtype="string")
    n_users = len(users)
    if identities is None or len(identities) == 0 or n_users == 0:
        return pd.DataFrame({"user_id": users, "person_id": users})
    missing = {"user_id", "id_type", "id_value"} - set(identities.columns)
    if missing:
        raise AnalysisInputError(
            f"identities: missing column(s) {sorted(missing)} (rule: required)"
        )

    ident = identities[["user_id", "id_type", "id_value"]].dropna(subset=["id_value", "user_id"])
    user_code = pd.Index(users).get_indexer(ident["user_id"].astype("string"))
    keep = user_code >= 0
    user_code = user_code[keep]
    # identity key = (id_type, id_value), factorised as two integer codes (no string concat)
    type_code, _types = pd.factorize(ident["id_type"].astype("string").fillna("").to_numpy()[keep])
    value_code, _values = pd.factorize(ident["id_value"].astype("string").to_numpy()[keep])
    key_code, _keys = pd.factorize(
        type_code.astype(np.int64) * (int(value_code.max(initial=0)) + 1) + value_code
    )
    n_keys = int(key_code.max()) + 1 if len(key_code) else 0
    n = n_users + n_keys
    graph = coo_matrix(
        (np.ones(len(user_code), dtype=np.int8), (user_code, n_users + key_code)), shape=(n, n)
    )
    _, labels = connected_components(graph, directed=False)
    user_labels = labels[:n_users]
    # person_id = smallest user_id in the component
    order = np.argsort(users.to_numpy(dtype=object), kind="stable")
    first = pd.Series(order).groupby(user_labels[order], sort=False).transform("first")
    person = np.empty(n_users, dtype=object)
    person[order] = users.to_numpy(dtype=object)[first.to_numpy()]
    return pd.DataFrame({"user_id": users, "person_id": pd.array(person, dtype="string")})


def summarise(persons: pd.DataFrame, top: int = 10) -> tuple[dict[str, int], pd.DataFrame]:
    """Stitching result: counts ``users, persons, merged_users, merged_persons`` and the
    ``top`` largest groups (``person_id, users``), largest first."""
    sizes = persons.groupby("person_id", sort=False).size()
    merged = sizes[sizes > 1]
    counts = {
        "users": int(len(persons)),
        "persons": int(len(sizes)),
        "merged_persons": int(len(merged)),
        "merged_users": int(merged.sum()),
    }
    largest = (
        merged.sort_values(ascending=False, kind="stable")
        .head(top)
        .rename("users")
        .reset_index()
        .sort_values(["users", "person_id"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
    return counts, largest
