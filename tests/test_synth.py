"""Synthetic source: determinism, exact sizes, and that the planted truth is what was generated."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from growthlab.data import synth
from growthlab.data.channels import load_map

N = 4000
SEED = 3


@pytest.fixture(scope="module")
def sample():
    return synth.generate_frames(N, SEED)


def _as_of(truth) -> pd.Timestamp:
    """End of the observation period in local naive time (files are local)."""
    return pd.Timestamp(truth["as_of"]) + pd.Timedelta(days=1)


def _clean(frames, truth):
    """The tables with the planted dirty rows removed the way the contract prescribes."""
    as_of = _as_of(truth)
    users = frames["users"].drop_duplicates()
    ids = set(users.user_id)
    ev = frames["events"].drop_duplicates()
    ev = ev[(ev.ts < as_of) & ev.user_id.isin(ids)]
    od = frames["orders"].drop_duplicates()
    od = od[(od.ts < as_of) & (od.amount >= 0) & od.user_id.isin(ids)]
    bad = set(truth["dirty_details"]["cycle_user_ids"])
    rf = frames["referrals"]
    rf = rf[rf.inviter_id.isin(ids) & rf.invitee_id.isin(ids) & (rf.inviter_id != rf.invitee_id)]
    rf = rf[~(rf.inviter_id.isin(bad) & rf.invitee_id.isin(bad))]
    rf = rf.sort_values("invited_at", kind="stable").drop_duplicates("invitee_id")
    return users, rf, ev, od


def _known(raw: pd.Series) -> pd.Series:
    return raw.str.strip().str.lower().isin(set(load_map()))


# ----------------------------------------------------------------------------- determinism
def test_same_seed_same_frames_and_truth(sample):
    frames, truth = sample
    again, truth2 = synth.generate_frames(N, SEED)
    assert truth == truth2
    for name in synth.TABLES:
        pd.testing.assert_frame_equal(frames[name], again[name])


def test_different_seed_differs(sample):
    frames, truth = sample
    other, truth2 = synth.generate_frames(N, SEED + 1)
    assert truth["segments"]["user_segment"] != truth2["segments"]["user_segment"]
    assert not frames["orders"]["amount"].equals(other["orders"]["amount"])
    assert not frames["users"]["signup_at"].equals(other["users"]["signup_at"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_is_byte_identical_atomic_and_overwrites(tmp_path, fmt):
    a, b = tmp_path / "a", tmp_path / "b"
    assert synth.write(a, n_users=1500, seed=7, fmt=fmt) == a
    synth.write(b, n_users=1500, seed=7, fmt=fmt)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted([f"{t}.{fmt}" for t in synth.TABLES] + ["truth.json"])
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # overwriting an earlier sample (other size/seed) leaves exactly the new files
    synth.write(a, n_users=300, seed=1, fmt=fmt)
    assert sorted(p.name for p in a.iterdir()) == names
    assert json.loads((a / "truth.json").read_text("utf-8"))["n_users"] == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no temp leftovers
    synth.write(a, n_users=1500, seed=7, fmt=fmt)
    assert (a / f"events.{fmt}").read_bytes() == (b / f"events.{fmt}").read_bytes()


def test_truth_json_sorted_and_round_trips(tmp_path):
    out = synth.write(tmp_path / "s", n_users=800, seed=2)
    text = (out / "truth.json").read_text("utf-8")
    _, truth = synth.generate_frames(800, 2)
    assert json.loads(text) == truth
    assert text == json.dumps(truth, sort_keys=True, ensure_ascii=False, indent=1) + "\n"
    csv = pd.read_csv(out / "users.csv", dtype=str)
    assert csv["signup_at"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_users"):
        synth.generate_frames(0)
    with pytest.raises(ValueError, match="fmt"):
        synth.write("unused", n_users=10, fmt="xlsx")


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 700), seed=st.integers(0, 2**31))
def test_exactly_n_users_and_consistent_truth(n, seed):
    frames, truth = synth.generate_frames(n, seed)
    users = frames["users"].drop_duplicates()
    assert len(users) == n and users.user_id.is_unique
    assert set(truth["segments"]["user_segment"]) == set(users.user_id)
    assert truth["rows"] == {t: len(f) for t, f in frames.items()}
    seeds = sum(c["seeds"] for c in truth["referral"]["campaigns"].values())
    assert seeds <= n
    json.dumps(truth)  # serialisable


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 50), st.integers(0, 11), st.integers(0, 5)),
        min_size=1,
        max_size=200,
    ),
    split=st.integers(0, 200),
)
def test_sorted_events_sorted_unique_and_only_moved_forward(rows, split):
    a = np.array(rows, dtype=np.int64)
    k = min(split, len(a))
    parts = [(p[:, 0], p[:, 1], p[:, 3], p[:, 2].astype(np.int8)) for p in (a[:k], a[k:]) if len(p)]
    user, sec, name, ch = synth._sorted_events(parts, 10, 6)
    out = pd.DataFrame({"sec": sec, "user": user, "name": name, "ch": ch})
    assert len(out) == len(a) and not out.duplicated().any()
    keys = list(zip(sec, user, name, ch, strict=True))
    assert keys == sorted(keys)
    # same (user, event, channel) multiset; seconds only ever move forward
    src = pd.DataFrame(a, columns=["user", "sec", "name", "ch"])
    g_src = src.groupby(["user", "name", "ch"]).sec.agg(["size", "sum", "min"])
    g_out = out.groupby(["user", "name", "ch"]).sec.agg(["size", "sum", "min"])
    assert (g_out["size"] == g_src["size"]).all()
    assert (g_out["sum"] >= g_src["sum"]).all() and (g_out["min"] == g_src["min"]).all()


# ----------------------------------------------------------------------------- shapes
def test_shapes_and_time_bounds(sample):
    frames, truth = sample
    users, rf, ev, od = _clean(frames, truth)
    start, as_of = pd.Timestamp(truth["start"]), _as_of(truth)
    for t, col in [(users, "signup_at"), (ev, "ts"), (od, "ts"), (rf, "invited_at")]:
        assert t[col].min() >= start and t[col].max() < as_of
    assert 15 <= len(ev) / N <= 30  # ~20 events per user
    assert 1.5 <= len(od) / N <= 3.0  # ~2 orders per user
    paid = od[od.status == "paid"]
    assert paid.amount.max() > 10 * paid.amount.median()  # heavy tail
    signup = users.set_index("user_id").signup_at
    assert (ev.ts >= ev.user_id.map(signup)).all()
    assert (od.ts >= od.user_id.map(signup)).all()
    assert (rf.invitee_id.map(signup) >= rf.invited_at).all()
    window = pd.Timedelta(days=truth["referral"]["window_days"])
    assert (rf.invited_at - rf.inviter_id.map(signup) < window).all()
    local = ev.ts.dt.hour
    assert local.between(19, 22).mean() > 3 * local.between(2, 5).mean()  # hour rhythm
    assert _known(frames["users"].channel).all()  # raw names all in channels.yaml
    assert frames["users"].channel.str.contains(r"[\u4e00-\u9fff]").any()  # Chinese raw names


def test_identity_persons_match_truth(sample):
    frames, truth = sample
    ids = frames["identities"]
    users = frames["users"].drop_duplicates().user_id
    u_code = pd.Index(users).get_indexer(ids.user_id)
    v_code, _ = pd.factorize(ids.id_value)
    n = len(users)
    g = sparse.coo_matrix(
        (np.ones(len(ids)), (u_code, n + v_code)), shape=(n + v_code.max() + 1,) * 2
    )
    _, labels = connected_components(g, directed=False)
    assert np.unique(labels[:n]).size == truth["identity"]["n_persons"] < n


# ----------------------------------------------------------------------------- dirty rows
def test_dirty_counts_recomputed_from_frames(sample):
    frames, truth = sample
    as_of = _as_of(truth)
    by = {t: {} for t in ("users", "referrals", "events", "orders")}
    users = frames["users"]
    by["users"]["duplicate"] = int(users.duplicated().sum())
    ids = set(users.user_id)
    for t in ("events", "orders"):
        f = frames[t]
        dup = f.duplicated()
        fut = ~dup & (f.ts >= as_of)
        neg = ~dup & ~fut & (f.amount < 0) if t == "orders" else fut & False
        orph = ~dup & ~fut & ~neg & ~f.user_id.isin(ids)
        by[t] = {
            "duplicate": int(dup.sum()),
            "future_timestamp": int(fut.sum()),
            "orphan": int(orph.sum()),
        }
        if t == "orders":
            by[t]["negative_amount"] = int(neg.sum())
    rf = frames["referrals"]
    orph = ~rf.inviter_id.isin(ids) | ~rf.invitee_id.isin(ids)
    self_ = ~orph & (rf.inviter_id == rf.invitee_id)
    rest = rf[~orph & ~self_]
    first = rest.sort_values("invited_at", kind="stable").duplicated("invitee_id")
    conflict = int(first.sum())
    # cycles: edges whose ends are in one strongly connected component of size > 1
    kept = rest[~first.reindex(rest.index)]
    codes, uniq = pd.factorize(pd.concat([kept.inviter_id, kept.invitee_id]))
    m = len(kept)
    g = sparse.coo_matrix((np.ones(m), (codes[:m], codes[m:])), shape=(len(uniq),) * 2)
    _, lab = connected_components(g, directed=True, connection="strong")
    size = np.bincount(lab)
    cycle = int(((lab[codes[:m]] == lab[codes[m:]]) & (size[lab[codes[:m]]] > 1)).sum())
    by["referrals"] = {
        "orphan": int(orph.sum()),
        "self_referral": int(self_.sum()),
        "inviter_conflict": conflict,
        "cycle": cycle,
    }
    assert by == truth["dirty_by_table"]
    total: dict[str, int] = {}
    for t in by.values():
        for r, c in t.items():
            total[r] = total.get(r, 0) + c
    total["unknown_channel"] = int((~_known(frames["events"].channel)).sum())
    assert total == truth["dirty"]
    assert all(v > 0 for v in truth["dirty"].values())


# ----------------------------------------------------------------------------- planted truth
def test_offspring_means_recovered(sample):
    frames, truth = sample
    users, rf, _, _ = _clean(frames, truth)
    window = truth["referral"]["window_days"]
    mature = users[users.signup_at < _as_of(truth) - pd.Timedelta(days=window)]
    kids = rf.groupby("inviter_id").size()
    k = mature.user_id.map(kids).fillna(0)
    for camp, spec in truth["referral"]["campaigns"].items():
        x = k[mature.campaign_id == camp].to_numpy()
        assert x.size >= 100, camp
        se = np.sqrt(x.var(ddof=1) / x.size)
        assert abs(x.mean() - spec["offspring_mean"]) < 4 * se, (camp, x.mean(), se)
    assert max(c["offspring_mean"] for c in truth["referral"]["campaigns"].values()) >= 1
    assert min(c["offspring_mean"] for c in truth["referral"]["campaigns"].values()) < 1


def test_fraud_ring_is_bursty_shares_devices_and_is_inactive(sample):
    frames, truth = sample
    ring = truth["fraud_ring"]
    assert ring["inviters"] and ring["invitees"]
    rf = frames["referrals"]
    rf = rf[rf.invitee_id.isin(ring["invitees"])]
    assert set(rf.inviter_id) == set(ring["inviters"])
    gaps = rf.sort_values("invited_at").groupby("inviter_id").invited_at.diff().dropna()
    assert gaps.max() <= pd.Timedelta(minutes=6)
    ids = frames["identities"]
    dev = ids[ids.id_type == "device_id"].set_index("user_id").id_value
    ring_dev = dev.reindex(ring["invitees"])
    assert ring_dev.notna().all()
    shared = ring_dev.map(dev.value_counts()) > 1
    assert shared.all()
    assert dev.reindex(ring["inviters"]).isin(set(ring_dev)).all()
    ev = frames["events"]
    acts = ev[ev.user_id.isin(ring["invitees"])].event
    assert set(acts) <= {"signup", "invite_click"}
    assert not frames["orders"].user_id.isin(ring["invitees"]).any()


def test_anomaly_day_stands_out(sample):
    frames, truth = sample
    _, _, _, od = _clean(frames, truth)
    paid = od[od.status == "paid"]
    rev = paid.groupby(paid.ts.dt.normalize()).amount.sum()
    day = pd.Timestamp(truth["anomaly"]["date"])
    same_weekday = [day + pd.Timedelta(weeks=w) for w in (-3, -2, -1, 1, 2)]
    baseline = rev.reindex(same_weekday).median()
    assert rev[day] > 2 * baseline
    assert truth["anomaly"]["factor"] > 2 and truth["anomaly"]["metric"] == "revenue"


def test_ab_test_shares_and_lift(sample):
    frames, truth = sample
    ab = truth["ab_test"]
    a = frames["assignments"]
    assert a.user_id.is_unique  # the experiments' signup windows do not overlap
    assert set(a.experiment_id) == {ab["experiment_id"], *truth["experiments"]}
    a = a[a.experiment_id == ab["experiment_id"]]
    n = len(a)
    treat = (a.variant == "treatment").sum()
    assert abs(treat - n / 2) < 4 * np.sqrt(n / 4)
    _, _, _, od = _clean(frames, truth)
    first = od[od.status == "paid"].groupby("user_id").ts.min()
    conv = (a.user_id.map(first) - a.assigned_at) < pd.Timedelta(days=ab["window_days"])
    rate = conv.groupby(a.variant).mean()
    p0 = ab["variants"]["control"]["conversion"]
    p1 = ab["variants"]["treatment"]["conversion"]
    assert abs(ab["lift"] - (p1 - p0)) < 1e-12 and ab["lift"] > 0.05
    se = np.sqrt(p0 * (1 - p0) / (n / 2) + p1 * (1 - p1) / (n / 2))
    assert abs((rate["treatment"] - rate["control"]) - ab["lift"]) < 4 * se
    assert abs(rate["control"] - p0) < 4 * np.sqrt(p0 * (1 - p0) / (n / 2))
    assert a.assigned_at.min() >= pd.Timestamp(ab["start"])
    assert a.assigned_at.max() < pd.Timestamp(ab["end"]) + pd.Timedelta(days=1)


def test_extra_experiments_planted_split_and_window(sample):
    """checkout_redesign lost a quarter of its treatment assignments (treatment share 3/7 of
    the logged users, not the planned 1/2); share_card_v2 assigns up to as_of."""
    frames, truth = sample
    a = frames["assignments"]
    for exp, t in truth["experiments"].items():
        g = a[a.experiment_id == exp]
        n, treat = len(g), int((g.variant == "treatment").sum())
        assert (n, treat) == (t["users"], t["treatment_users"]) and n > 100
        share = t["expected_treatment_share"]
        assert abs(treat - share * n) < 4 * np.sqrt(n * share * (1 - share))
        assert g.assigned_at.min() >= pd.Timestamp(t["start"])
        assert g.assigned_at.max() < pd.Timestamp(t["end"]) + pd.Timedelta(days=1)
    srm = truth["experiments"]["checkout_redesign"]
    assert srm["planted"] == "srm" and srm["expected_treatment_share"] == pytest.approx(3 / 7)
    running = truth["experiments"]["share_card_v2"]
    assert running["planted"] == "running" and running["end"] == truth["as_of"]


def test_daily_push_treatment_unsubscribes_more(sample):
    """daily_push: 5 % of its treatment users get a planted app-push unsubscribe within the
    outcome window; control users only opt out at the usual rate."""
    frames, truth = sample
    t = truth["experiments"]["daily_push"]
    assert t["planted"] == "guardrail" and t["unsubscribe_lift"] == 0.05
    window = pd.Timedelta(days=truth["ab_test"]["window_days"])
    a = frames["assignments"].query("experiment_id == 'daily_push'")
    ev = frames["events"]
    un = ev[ev.event == "unsubscribe"].merge(a, on="user_id")
    un = un[(un.ts >= un.assigned_at) & (un.ts < un.assigned_at + window)]
    quit_ = un.drop_duplicates("user_id").groupby("variant").size()
    n = a.groupby("variant").size()
    rate = quit_.reindex(n.index, fill_value=0) / n
    # the planted opt-outs alone: Binomial(treatment users, .05), all inside the window
    n1 = n["treatment"]
    planted = t["unsubscribed_by_treatment"]
    assert abs(planted - 0.05 * n1) < 4 * np.sqrt(n1 * 0.05 * 0.95)
    assert quit_["treatment"] >= planted  # each planted user, in the window
    diff, se = rate["treatment"] - rate["control"], np.sqrt(0.06 / n1 + 0.01 / n["control"])
    assert abs(diff - 0.05) < 4 * se and rate["control"] < 0.02


def test_channel_effects_drive_first_conversion(sample):
    frames, truth = sample
    users, _, ev, od = _clean(frames, truth)
    effect = truth["channels"]["conversion_effect"]
    touches = ev[ev.event.isin(truth["channels"]["touch_events"])]
    from growthlab.data.channels import normalise

    canon = normalise(touches.channel)
    assert set(canon) == set(effect)
    buyers = set(od[od.status == "paid"].user_id)
    conv = touches.user_id.isin(buyers)
    rate = conv.groupby(canon.to_numpy()).mean()
    order = sorted(effect, key=effect.get)
    assert rate[order[-1]] > rate[order[0]] + 0.05
    assert np.corrcoef([effect[c] for c in rate.index], rate.to_numpy())[0, 1] > 0.8
    # first paid order comes after every touchpoint of the user
    first = od[od.status == "paid"].groupby("user_id").ts.min()
    t = touches.assign(first=touches.user_id.map(first)).dropna(subset=["first"])
    assert (t.ts <= t["first"]).all()


def test_clicks_follow_reaches_with_fatigue(sample):
    frames, truth = sample
    _, _, ev, od = _clean(frames, truth)
    from growthlab.data.channels import normalise

    ev = ev.assign(canon=normalise(ev.channel).to_numpy())
    reach = ev[ev.event == "reach"].groupby(["user_id", "canon"]).size().rename("c")
    clicks = ev[ev.event == "click"].groupby(["user_id", "canon"]).size()
    per = reach.to_frame().assign(clicks=clicks.reindex(reach.index, fill_value=0))
    assert (per.clicks <= per.c).all() and clicks.index.isin(reach.index).all()
    rate = per.groupby(per.c.clip(upper=3)).clicks.sum() / per.groupby(per.c.clip(upper=3)).c.sum()
    law = truth["channels"]["click"]
    assert abs(rate[1] - law["base"]) < 0.03
    assert rate[1] > rate[2] > rate[3]  # fatigue
    first = od[od.status == "paid"].groupby("user_id").ts.min()
    c = ev[ev.event == "click"]
    paid_at = c.user_id.map(first)  # clicks come before a user's first paid order, if any
    assert (paid_at.isna() | (c.ts < paid_at)).all()


def test_segments_are_recoverable(sample):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    frames, truth = sample
    seg = truth["segments"]
    users, _, ev, _ = _clean(frames, truth)
    counts = pd.crosstab(ev.user_id, ev.event).reindex(users.user_id, fill_value=0)
    x = np.log1p(counts[seg["features"]].to_numpy(float))
    x = (x - x.mean(0)) / x.std(0)
    labels = KMeans(seg["k"], n_init=4, random_state=0).fit_predict(x)
    planted = users.user_id.map(seg["user_segment"])
    assert adjusted_rand_score(planted, labels) >= 0.8


def test_repeat_buying_is_bgnbd_like(sample):
    frames, truth = sample
    _, _, _, od = _clean(frames, truth)
    paid = od[od.status == "paid"]
    per = paid.groupby("user_id").ts.agg(["count", "min", "max"])
    repeaters = (per["count"] > 1).mean()
    assert 0.3 < repeaters < 0.9
    assert truth["bgnbd"]["buyers"] == len(per)
    p, q, v = (truth["gamma_gamma"][k] for k in ("p", "q", "v"))
    cal = paid[paid.ts < pd.Timestamp(truth["bgnbd"]["calibration_end"])]
    assert abs(cal.amount.mean() / (p * v / (q - 1)) - 1) < 0.15


# ----------------------------------------------------------------------------- the loader
def test_loads_without_contract_error_and_quarantine_matches_truth():
    ds = synth.generate(1200, seed=5)
    truth = ds.truth
    assert truth["n_users"] == 1200
    counts = ds.quality.counts()
    expected = {k: v for k, v in truth["dirty"].items() if k != "unknown_channel"}
    assert {k: counts.get(k, 0) for k in expected} == expected
    for t, rules in truth["dirty_by_table"].items():
        for rule, c in rules.items():
            assert ds.quality.count(t, rule) == c, (t, rule)
    assert len(ds.frame("users")) == 1200
    assert ds.persons.person_id.nunique() == truth["identity"]["n_persons"]
