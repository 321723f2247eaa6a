"""Shared test fixtures (kept small: most tests build their own hand-made frames)."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import settings

# CI runs property tests on a fixed example sequence, so a landing never depends on luck;
# locally each run explores new examples (and replays failures from .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def tiny_frames() -> dict[str, pd.DataFrame]:
    """A clean, hand-made source: 4 users, one referral chain, a few events and orders."""
    users = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u4"],
            "signup_at": [
                "2024-01-01 10:00:00",
                "2024-01-02 09:30:00",
                "2024-01-03 20:00:00",
                "2024-01-05 08:00:00",
            ],
            "channel": ["企微", "社群", "小程序", "短信"],
            "campaign_id": ["c1", "c1", None, None],
        }
    )
    referrals = pd.DataFrame(
        {
            "inviter_id": ["u1", "u2"],
            "invitee_id": ["u2", "u3"],
            "invited_at": ["2024-01-02 09:00:00", "2024-01-03 19:00:00"],
            "share_channel": ["微信群", "朋友圈"],
        }
    )
    events = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u4"],
            "ts": [
                "2024-01-01 10:05:00",
                "2024-01-02 10:00:00",
                "2024-01-04 12:00:00",
                "2024-01-05 09:00:00",
            ],
            "channel": ["WeCom", "push", "视频号", "抖音"],
            "event": ["visit", "click", "share", "visit"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "user_id": ["u1", "u2", "u1"],
            "ts": ["2024-01-02 12:00:00", "2024-01-03 12:00:00", "2024-01-06 12:00:00"],
            "amount": [10.0, 25.5, 7.25],
            "status": ["paid", None, "refunded"],
        }
    )
    identities = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3"],
            "id_type": ["phone_hash", "phone_hash", "device_id"],
            "id_value": ["p1", "p1", "d9"],
        }
    )
    return {
        "users": users,
        "referrals": referrals,
        "events": events,
        "orders": orders,
        "identities": identities,
    }


@pytest.fixture
def frames() -> dict[str, pd.DataFrame]:
    """A fresh copy of :func:`tiny_frames` (tests may modify it)."""
    return tiny_frames()


@pytest.fixture(autouse=True, scope="session")
def _pseudonym_key_file(tmp_path_factory):
    """Pseudonym keys live in a temporary file, never in the real ``~/.config/growthlab``.

    Session-scoped so module-scoped fixtures (report runs) see it too; notebook kernels they
    start inherit the environment. A developer's own ``$GROWTHLAB_PSEUDONYM_KEY`` is hidden so
    the tests do not depend on it.
    """
    from growthlab import privacy

    path = tmp_path_factory.mktemp("growthlab-config") / "pseudonym.key"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(privacy.KEY_FILE_ENV, str(path))
        mp.delenv(privacy.KEY_ENV, raising=False)
        yield path


@pytest.fixture(autouse=True, scope="session")
def _chart_theme():
    """Every chart in the tests uses the project theme (and so a CJK-capable font)."""
    from growthlab import plots

    plots.apply()


@pytest.fixture(autouse=True)
def _close_figures():
    """Free the figures a test drew (matplotlib keeps them alive otherwise)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
