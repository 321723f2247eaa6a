"""What counts as a user's activity: one rule for lifecycle, retention and activity after signup.

A delivered message (``reach``) is the brand's action, and an unsubscribe or complaint is a user
leaving: neither is activity. Counted as activity, one push to every dormant user made them all
"active" on the value page, "retained" in the cohort matrix and "active after signup" on the
referral page. Known truth: a hand-made source where the only late events of one user are a
push, an unsubscribe and a complaint.
"""

from __future__ import annotations

import pandas as pd
import pytest

from growthlab import data, segments
from growthlab.data import features, referral
from growthlab.data import funnel as dfunnel

AS_OF = "2025-03-31"


@pytest.fixture(scope="module")
def ds():
    users = pd.DataFrame(
        {
            "user_id": ["engaged", "pushed"],
            "signup_at": pd.to_datetime(["2025-01-06 10:00", "2025-01-06 11:00"]),
            "channel": ["wecom", "wecom"],
        }
    )
    t = pd.to_datetime
    events = pd.DataFrame(
        {
            "user_id": ["engaged", "pushed", "engaged", "pushed", "pushed", "pushed"],
            "ts": t(
                [
                    "2025-01-06 10:05",
                    "2025-01-06 11:05",
                    "2025-03-24 12:00",  # engaged: a visit in the last week
                    "2025-03-24 12:00",  # pushed: a message delivered ...
                    "2025-03-25 09:00",  # ... then unsubscribes
                    "2025-03-26 09:00",  # ... and complains
                ]
            ),
            "channel": ["wecom"] * 6,
            "event": ["visit", "visit", "visit", "reach", "unsubscribe", "complaint"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1"],
            "user_id": ["engaged"],
            "ts": t(["2025-01-07 10:00"]),
            "amount": [10.0],
            "status": ["paid"],
        }
    )
    return data.load(
        {"users": users, "events": events, "orders": orders}, as_of=AS_OF, timezone="UTC"
    )


def test_a_push_does_not_make_a_dormant_user_active(ds):
    act = features.activity(ds)
    assert act.loc["pushed", "last_active"] == pd.Timestamp("2025-01-06")
    assert act.loc["pushed", "active_days"] == 1
    assert act.loc["engaged", "last_active"] == pd.Timestamp("2025-03-24")
    stages = segments.lifecycle_stages(act, ds.local(ds.as_of))
    assert stages["engaged"] == "active" and stages["pushed"] == "at_risk"  # 85 days idle, not 8


def test_a_push_does_not_retain_a_user(ds):
    _, active = dfunnel.cohort_activity(ds, "W")
    last_week = active[active["period_start"] == pd.Timestamp("2025-03-24")]
    assert last_week["active_users"].sum() == 1  # the engaged user only


def test_a_push_is_not_activity_after_signup(ds):
    act = referral.user_activity(ds).set_index("user_id")
    assert act.loc["pushed", "activity"] == 1  # the visit 5 minutes after signup, no more
    assert act.loc["pushed", "last_active_at"] == pd.Timestamp("2025-01-06 11:05")
    assert act.loc["engaged", "activity"] == 3  # two visits and the order
