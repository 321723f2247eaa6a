"""A hostile source: a small synthetic source whose text values attack the report.

Every label a page shows from the data (channel, campaign, share channel, experiment, variant,
event names) is replaced, for a group large enough to survive small-group suppression, by
markup, script URLs, Markdown, mathtext or personal data; the users table carries extra
columns (phone, nickname, e-mail) that no analysis uses. Used by ``test_hostile_report.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from growthlab.data import synth

#: Raw channel name (as synth writes it) -> hostile replacement, applied in every table.
CHANNELS = {
    "抖音": '<script>alert("channel")</script>',
    "百度": "<img src=x onerror=alert(1)>",
    "短信": "13812345678",  # a mobile number used as a channel value
    "小红书": r"$\x$ cost",  # mathtext that matplotlib cannot parse
}
#: Campaign ids, in order of first appearance in referrals.
CAMPAIGNS = [
    '"><svg onload=alert(2)>',
    "[click me](javascript:alert(3))",
    r"$\alpha_x$ <u>camp</u>",
    "*bold* _it_ owner@example.com",
]
SHARE_CHANNEL = "<iframe src=javascript:alert(4)></iframe>"
EXPERIMENT = "<b onmouseover=alert(5)>exp</b>"
VARIANT = "<script>alert(6)</script>"
EVENT = ("engage", "<svg/onload=alert(7)>")
#: Extra personal columns of users: values must never reach any output file.
NICKNAME = "NICKSECRET"
PHONE_PREFIX = "1390000"
EMAIL_DOMAIN = "private-mail.example"

#: Strings whose escaped text must be readable somewhere in the pages (shown, not dropped);
#: in channel names ">" reads "›" (it separates channels in journey paths).
SHOWN_AS_TEXT = ('"><svg onload=alert(2)>', '<script›alert("channel")</script›')


def hostile_frames(n_users: int = 3000, seed: int = 1) -> dict[str, pd.DataFrame]:
    """The synthetic frames of ``synth.generate_frames`` with the hostile values planted."""
    frames, _ = synth.generate_frames(n_users, seed)
    for name, col in [
        ("users", "channel"),
        ("events", "channel"),
        ("costs", "channel"),
    ]:
        if name in frames and col in frames[name]:
            frames[name][col] = frames[name][col].replace(CHANNELS)
    camps = frames["referrals"]["campaign_id"].dropna().unique().tolist()
    mapping = dict(zip(camps, CAMPAIGNS, strict=False))
    for name in ("users", "referrals", "events", "costs"):
        if name in frames and "campaign_id" in frames[name]:
            frames[name]["campaign_id"] = frames[name]["campaign_id"].replace(mapping)
    share = frames["referrals"]["share_channel"]
    frames["referrals"]["share_channel"] = share.where(share != share.mode()[0], SHARE_CHANNEL)
    a = frames["assignments"]
    a["experiment_id"] = EXPERIMENT
    a["variant"] = a["variant"].replace({"treatment": VARIANT})
    frames["events"]["event"] = frames["events"]["event"].replace({EVENT[0]: EVENT[1]})
    users = frames["users"]
    # One value per user id (the source's duplicate rows of a user stay identical).
    number = users["user_id"].astype("category").cat.codes.astype(int)
    users["phone"] = PHONE_PREFIX + number.map("{:04d}".format)
    users["nickname"] = NICKNAME + number.astype(str)
    users["email"] = "user" + number.astype(str) + "@" + EMAIL_DOMAIN
    return frames


def write_hostile_source(folder: Path, n_users: int = 3000, seed: int = 1) -> Path:
    """Write :func:`hostile_frames` as ``<table>.csv`` files into ``folder``; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in hostile_frames(n_users, seed).items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder
