"""Deterministic synthetic source with planted ground truth (SPEC §3 "Sample data", issue #2).

API
---
``generate_frames(n_users, seed)`` -> (frames, truth): the raw tables of SPEC §3 (users,
referrals, events, orders, identities, costs, assignments; no ``paths``) as pandas frames exactly
as the written files hold them (raw channel names, naive local timestamps, dirty rows included);
``generate(n_users, seed)`` -> ``growthlab.data.load(frames, as_of=truth["as_of"])`` with
``.truth`` set; ``write(out, n_users, seed, fmt)`` writes ``<table>.csv|.parquet`` and
``truth.json`` (sorted keys) atomically; ``generate_tables`` gives the pyarrow tables. Everything
is drawn from ``numpy.random.Generator(PCG64(seed))`` (the experiments besides welcome_coupon
from their own ``PCG64([seed, 1])``) and vectorised (the branching process is generated level
by level over all campaigns at once): same seed -> identical frames and byte-identical files.
Cost: 1M users (25M events, 2.2M orders) take ~22 s CPU to generate (+ ~12 s to write CSV),
peak RSS ~3 GB.

Clock
-----
Observation period: 181 days, ``start`` = 2025-01-01 00:00 to the end of ``as_of`` = 2025-06-30
(local Asia/Shanghai). Dates in truth are local calendar dates; a bare ``as_of`` date means the
end of that local day (as ``growthlab.data.load`` reads it); ``*_utc`` keys give the instants in
naive UTC (``as_of_utc`` = 2025-06-30T16:00:00). Timestamps are written as naive local ISO strings
``YYYY-MM-DD HH:MM:SS`` (whole seconds). Every law below is stated in *operational days*
u ∈ [0, 181) since ``start``; the written time is ``t = W(u)``, one monotone map shared by all
timestamps whose density is proportional to a weekday factor (Mon..Sun :data:`WEEKDAY`, weekend
+10 %) times an hour-of-day profile (:data:`HOURLY`: night x0.1, peaks 12:00 and 20:00-22:00),
normalised so that W(0) = 0 and W(181) = 181. W is monotone, so orderings survive and durations
move by < 1 day; it only adds the rhythm. All clean timestamps lie in [start, end of as_of).

Users (exactly ``n_users`` distinct rows; ids ``U0000001``... in signup order)
-------------------------------------------------------------------------------
* **Campaign trees** (truth["referral"]): campaign c has offspring mean m_c and
  ``round(seed_share_c * n_users)`` seed users signing up uniformly in its seed window
  (:data:`CAMPAIGNS`: member_day m=0.35, share .05, days 10-150; cny_poster 0.6, .04, 15-55;
  group_buy 0.85, .015, 55-100; help_unlock 1.1 (super-critical), .018, 120-150). Every tree
  user draws ``Poisson(m_c * w_s)`` invitees, w_s the share propensity of its segment
  (:data:`SEGMENT_INVITE` normalised so that E[w] = 1 over :data:`SEGMENT_SHARE`): a mixed Poisson
  law with mean exactly m_c, variance m_c + m_c² Var(w) (Var(w) ≈ 0.15). Invite delay
  ``invited_at - inviter signup`` ~ Gamma(shape 2, scale 3 d) truncated to < 28 d (all invites
  within ``window_days`` = 30); the invitee signs up Exp(mean 30 min, capped 3 h) after
  ``invited_at`` and inherits the campaign; the referral row carries the campaign's reward (CNY)
  and a share channel drawn from the campaign's mix. Invitees who would sign up after as_of are
  not observed (right censoring, which is what bounds help_unlock); users who signed up >= 30 d
  before as_of are never censored, so their mean invitee count estimates m_c. If the trees
  overflow ``n_users`` (tiny n) whole random trees are dropped; ``seeds``/``users`` in truth are
  what was kept. At n = 20000: ~1450-2200 mature users per campaign, standard error of K 2-5 %.
* **Fraud ring** (truth["fraud_ring"]): ``max(1, round(0.0004 n))`` inviters (none if n < 500)
  of campaign ``cashback`` (not in truth["referral"]["campaigns"]), signing up on days 40-140 at
  08:00-12:00; each brings a burst of 8 + Poisson(6) invitees 1-5 minutes apart (from 10:00-18:00
  of a day 1-10 days later), each signing up 1-3 minutes after its invite. Devices: each inviter
  has one device_id; an invitee uses its inviter's device (always the first of a burst, else with
  probability 1/4) or one of 3 ring devices. Invitees are inactive after signup: only ``signup``
  and ``invite_click`` events, no orders, no assignment; planted segment ``dormant``.
* **Organic users**: the rest, no campaign, signing up uniformly over [0, 181), acquisition
  channel from :data:`ACQUISITION` (referred users: ``referral``).
* city (Zipf-like over :data:`CITIES`), gender (F .52, M .44, U .04), age_band
  (:data:`AGE_SHARE`), consent_marketing (Bernoulli .85): independent noise.

Segments (truth["segments"]: k = 4, names, features, mean_events, user_segment)
------------------------------------------------------------------------------
Segment i.i.d. with shares browsers .30, engagers .25, sharers .15, dormant .30. Behaviour
events of type e ~ Poisson(:data:`SEGMENT_EVENTS`[s, e]) for e in visit, engage, add_to_cart,
share, invite_sent (browsers 14/2/4/.4/.2, engagers 5/14/1.5/1/.5, sharers 4/3/1/7/6,
dormant .8/.3/.1/.05/.05), independent of tenure, spread uniformly over the first
min(90 d, time to as_of) after signup, on a channel from the segment's mix over the owned
channels mini_program, live, moments, channels_video (:data:`SEGMENT_CHANNEL_MIX`). K-Means on
standardised log1p counts by type recovers them (ARI ~0.9 at n = 4000). Orders, touches and
conversion do not depend on the segment; invite propensity does (above).

Touchpoints and first conversion (truth["channels"])
----------------------------------------------------
Every active user (not a fraud invitee) gets 2 + Poisson(2) ``reach`` events at signup + U(0, 6) d,
each on a channel drawn uniformly from the 8 attribution channels of :data:`CHANNEL_EFFECT`
(wecom .40, wechat_group .30, official_account .22, app_push .16, xiaohongshu .11, douyin .07,
sms .04, paid_ads .02). Each touch converts independently with probability effect_c, so
P(convert | touches) = 1 - Π_touches (1 - effect_c); an A/B treatment user also converts with
probability ``AB_DELTA`` = .14. The first paid order is at the last touch + Exp(mean 1.5 d)
truncated to < 6.5 d (censored after as_of). Only ``reach`` events are touchpoints
(truth["channels"]["touch_events"]); all other events are on non-attribution channels; repeat
orders have no touchpoint before them. Reach events on paid channels carry a unit ``cost``.
Each reach is ``click``-ed (same channel, 1-30 min later) with probability
0.5 x 0.6^(c - 1), c = the user's reaches on that channel (contact fatigue); clicks after the
user's first order are dropped; clicks do not change conversion (truth["channels"]["click"]).

Repeat purchases and spend (truth["bgnbd"], truth["gamma_gamma"])
-----------------------------------------------------------------
From its first order at t0 (time 0, unit days) every buyer follows BG/NBD (Fader, Hardie & Lee
2005) with r = 0.9, alpha = 12, a = 0.6, b = 4.5: λ ~ Gamma(r, rate α), p ~ Beta(a, b); repeat
purchases arrive as a Poisson(λ) process and after each repeat purchase the buyer drops out with
probability p, observed up to as_of (T = as_of - t0, in operational days). Every paid order's
amount ~ Gamma(shape p, rate ν) with a per-buyer ν ~ Gamma(q, rate v), p = 6, q = 3.5, v = 50
(Gamma-Gamma, Fader, Hardie & Lee 2005b; mean spend p v / (q - 1) = 120 CNY; heavy tail),
rounded to 0.01 (min 0.01). ``calibration_end`` = 2025-05-01 (the instant 2025-05-01 00:00 local =
``calibration_end_utc``), ``observation_end`` = as_of. Extra noise, not part of the model: one
``refunded`` order for 3 % of buyers; on the anomaly day amounts are x3 (after calibration_end).

Anomaly (truth["anomaly"]) and A/B test (truth["ab_test"])
---------------------------------------------------------
Daily paid revenue on 2025-06-10 (local date; day 160) is multiplied by factor 3 (every paid
order's amount that day). Experiment ``welcome_coupon``: every active user signing up on
2025-05-01 .. 2025-05-30 (local) is assigned at signup (``assigned_at`` = signup_at), control or
treatment with probability .5. Outcome: a paid order within ``window_days`` = 14 after
assignment (always observable: first orders come < 12.5 d after signup). Closed form:
p0 = 1 - q̄² exp(-2 (1 - q̄)), q̄ = mean_c(1 - effect_c); p1 = 1 - (1 - p0)(1 - .14);
lift = p1 - p0 (≈ .07).

Three more experiments change nothing users buy (conversion lift 0; truth["experiments"],
drawn from their own generator so every other table is the same for a seed, apart from the
unsubscribe events appended to ``events`` below): ``checkout_redesign`` (signups
2025-02-10 .. 2025-03-11) planned 50/50, but a quarter of its treatment assignments were never
logged, so treatment holds 3/7 of its users: a sample ratio mismatch the experiments page must
flag instead of drawing a verdict; ``share_card_v2`` (signups from 2025-06-24) is still
assigning at as_of: running, read with the sequential interval; ``daily_push`` (signups
2025-03-22 .. 2025-04-20) sends its treatment a daily app push, and 5 % of the treatment users
unsubscribe because of it (an ``unsubscribe`` event on app push uniform in the 14 days after
assignment, besides the usual opt-outs): a guardrail the page must let veto shipping.

Campaign economics (truth["campaign_economics"], issue #16)
----------------------------------------------------------
Computed from the laws above, with no random draw and no change to any table. Reward rule:
every accepted invitation of campaign c pays ``reward_c`` CNY (:data:`CAMPAIGNS`: member_day
5, cny_poster 10, group_buy 8, help_unlock 3; the fraud ring's cashback 20), written in
``referrals.reward`` and booked in ``costs`` (channel ``referral``) on the invitation's local
day, so the campaign's spend is exactly its rewards (no other spend). Invitee value: invitees
follow the same conversion, BG/NBD and Gamma-Gamma laws as every active user; fraud-ring
invitees never buy. Per campaign: cost = reward_c × invitations; cost_per_invitee = reward_c
(over the invitees of inviters outside the fraud ring); expected buyers, expected revenue to
date and the expected discounted value over :data:`ECONOMICS` (365 days, 1 % per 30 days) of
the invitees who bought, each conditional on the invitees' signup times (exact up to a
0.01-day integration grid: :func:`_economics_truth`), hence roi_to_date, roi_predicted,
ltv_cac and cost_per_buyer; abuse_cost = the fraud ring's rewards.

Other events and tables
-----------------------
Events (~25 per user): ``signup`` at signup (acquisition channel); ``invite_sent`` by the inviter
at each ``invited_at`` (plus the segment's unsuccessful ones) and ``invite_click`` by the invitee
at its signup (share channel); a ``purchase`` event per paid order (mini_program); ``unsubscribe``
(3 % of users) and ``complaint`` (1 %) an exponential time after signup (mean
``OPT_OUT_MEAN_DAYS``, censored at the period's end), on sms/wecom/app_push, and the daily_push
experiment's extra app-push unsubscribes (appended last, see above). Accidental exact
duplicates (same user, second, event, channel) are moved on by one second.
identities: ``openid`` and ``unionid`` per user, ``phone_hash`` for 70 %, ``device_id`` for 50 %
(all fraud users); 1 % of organic users are second accounts sharing another organic user's
phone_hash. OneID persons = connected components (truth["identity"]["n_persons"]).
costs: per day and paid channel (paid_ads, douyin, xiaohongshu, search, sms), spend = base x
n_users/20000 x weekday factor x Gamma(20, 1/20); plus per day and campaign the referral rewards
(channel ``referral``). Raw channel names are messy Chinese/English variants (:data:`RAW_NAMES`,
all known to channels.yaml).

Dirty rows (truth["dirty"] by the loader's rule names; truth["dirty_by_table"], ["dirty_details"])
-------------------------------------------------------------------------------------------------
Appended to otherwise clean tables, each breaking exactly one rule: exact duplicate rows (users 2,
events 5, orders 3) -> ``duplicate``; events 3 / orders 2 dated 2031-03 -> ``future_timestamp``;
3 orders with a negative amount -> ``negative_amount``; events 4, orders 2, referrals 2 referencing
user ids absent from users (``X...``) -> ``orphan``; 2 self-referrals -> ``self_referral``; 2
second inviters, later than the accepted one -> ``inviter_conflict``; one 3-cycle among organic
users (3 rows) -> ``cycle``; 4 events with unknown raw channels -> ``unknown_channel`` (a warning,
rows kept). No dirty rows when n_users < 100.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.special import hyp2f1
from scipy.stats import gamma as _gamma_dist

# ----------------------------------------------------------------------------- parameters
START = np.datetime64("2025-01-01T00:00:00", "s")
PERIOD_DAYS = 181  # 2025-01-01 .. 2025-06-30 (local), as_of = end of 2025-06-30
#: Mean days from signup to an unsubscribe or complaint (those after the period are unseen).
OPT_OUT_MEAN_DAYS = 45.0
WINDOW_DAYS = 30
MAX_INVITE_DELAY = 28.0
CALIBRATION_DAYS = 120  # calibration_end = start + 120 d
#: Mon..Sun intensity factors (normalised).
WEEKDAY = np.array([0.92, 0.95, 0.97, 1.0, 1.04, 1.12, 1.0])
#: Hour-of-day intensity (local time), 0..23.
HOURLY = np.array(
    [0.35, 0.2, 0.12, 0.08, 0.08, 0.12, 0.3, 0.7, 1.0, 1.15, 1.2, 1.3,
     1.55, 1.35, 1.1, 1.0, 1.0, 1.1, 1.3, 1.6, 1.9, 2.0, 1.6, 0.9]
)  # fmt: skip

#: campaign_id -> offspring mean, seed share of n_users, seed window (op. days), reward CNY,
#: share channels (canonical) with probabilities.
CAMPAIGNS: dict[str, dict[str, Any]] = {
    "member_day": {"m": 0.35, "seed_share": 0.05, "window": (10.0, 150.0), "reward": 5.0,
                   "share": {"wechat_group": 0.6, "moments": 0.4}},
    "cny_poster": {"m": 0.6, "seed_share": 0.04, "window": (15.0, 55.0), "reward": 10.0,
                   "share": {"moments": 0.7, "wechat_group": 0.3}},
    "group_buy": {"m": 0.85, "seed_share": 0.015, "window": (55.0, 100.0), "reward": 8.0,
                  "share": {"wechat_group": 0.8, "mini_program": 0.2}},
    "help_unlock": {"m": 1.1, "seed_share": 0.018, "window": (120.0, 150.0), "reward": 3.0,
                    "share": {"wecom": 0.5, "wechat_group": 0.3, "moments": 0.2}},
}  # fmt: skip
FRAUD_CAMPAIGN = "cashback"

SEGMENT_NAMES = ("browsers", "engagers", "sharers", "dormant")
SEGMENT_SHARE = np.array([0.30, 0.25, 0.15, 0.30])
#: relative share/invite propensity per segment (normalised so that its mean is 1).
SEGMENT_INVITE = np.array([0.8, 1.0, 1.8, 0.7])
BEHAVIOUR_EVENTS = ("visit", "engage", "add_to_cart", "share", "invite_sent")
#: mean count per user of each behaviour event (rows: segments, columns: BEHAVIOUR_EVENTS).
SEGMENT_EVENTS = np.array(
    [
        [14.0, 2.0, 4.0, 0.4, 0.2],  # browsers
        [5.0, 14.0, 1.5, 1.0, 0.5],  # engagers
        [4.0, 3.0, 1.0, 7.0, 6.0],  # sharers
        [0.8, 0.3, 0.1, 0.05, 0.05],  # dormant
    ]
)
BEHAVIOUR_CHANNELS = ("mini_program", "live", "moments", "channels_video")
SEGMENT_CHANNEL_MIX = np.array(
    [[0.75, 0.05, 0.05, 0.15], [0.30, 0.45, 0.05, 0.20], [0.30, 0.05, 0.55, 0.10],
     [0.70, 0.10, 0.10, 0.10]]
)  # fmt: skip

#: planted per-touch conversion effect of each attribution channel.
CHANNEL_EFFECT = {
    "wecom": 0.40, "wechat_group": 0.30, "official_account": 0.22, "app_push": 0.16,
    "xiaohongshu": 0.11, "douyin": 0.07, "sms": 0.04, "paid_ads": 0.02,
}  # fmt: skip
TOUCH_BASE = 2
TOUCH_MEAN_EXTRA = 2.0
TOUCH_SPAN = 6.0
CONVERSION_DELAY_MEAN = 1.5
CONVERSION_DELAY_MAX = 6.5
#: a reach is clicked with probability CLICK_BASE * CLICK_FATIGUE**(c - 1), c = the user's reaches
#: on that channel (contact fatigue); clicks do not change conversion.
CLICK_BASE = 0.5
CLICK_FATIGUE = 0.6
UNIT_COST = {"paid_ads": 1.2, "douyin": 0.8, "xiaohongshu": 0.9, "sms": 0.05}

BGNBD = {"r": 0.9, "alpha": 12.0, "a": 0.6, "b": 4.5}
GAMMA_GAMMA = {"p": 6.0, "q": 3.5, "v": 50.0}
REFUND_SHARE = 0.03

AB = {"experiment_id": "welcome_coupon", "start_day": 120, "end_day": 150, "window_days": 14}
AB_DELTA = 0.14
#: Experiments besides ``welcome_coupon`` that change nothing users buy (truth["experiments"]):
#: active users signing up in [start_day, end_day) are assigned at signup, 50/50 as planned;
#: ``checkout_redesign`` lost a quarter of its treatment assignments to a logging bug (a sample
#: ratio mismatch), ``share_card_v2`` is still assigning at as_of (running), ``daily_push``
#: makes a share ``unsubscribe`` of its treatment users unsubscribe within
#: ``AB["window_days"]`` of assignment (a harmed guardrail).
EXTRA_EXPERIMENTS = (
    {"experiment_id": "checkout_redesign", "start_day": 40, "end_day": 70, "lost": 0.25,
     "planted": "srm"},
    {"experiment_id": "share_card_v2", "start_day": 174, "end_day": PERIOD_DAYS, "lost": 0.0,
     "planted": "running"},
    {"experiment_id": "daily_push", "start_day": 80, "end_day": 110, "lost": 0.0,
     "planted": "guardrail", "unsubscribe": 0.05},
)  # fmt: skip
ANOMALY = {"day": 160, "metric": "revenue", "factor": 3.0}
#: Campaign economics truth (truth["campaign_economics"]): the value section's CLV horizon
#: and discounting (notebook 03 defaults) and the step of the numerical integration (days).
ECONOMICS = {"horizon_days": 365.0, "discount_period_days": 30.0, "discount_rate": 0.01}
ECONOMICS_GRID = 0.01

ACQUISITION = {
    "organic": 0.18, "search": 0.10, "paid_ads": 0.14, "douyin": 0.12, "xiaohongshu": 0.10,
    "official_account": 0.10, "wecom": 0.08, "offline": 0.08, "mini_program": 0.06,
    "live": 0.04,
}  # fmt: skip
#: canonical channel -> raw spellings found in exports (all known to channels.yaml).
RAW_NAMES = {
    "wecom": ["企业微信", "企微", "WeCom", "wecom_1v1"],
    "wechat_group": ["社群", "微信群"],
    "mini_program": ["小程序", "微信小程序"],
    "official_account": ["公众号", "服务号"],
    "channels_video": ["视频号"],
    "live": ["直播", "直播间"],
    "moments": ["朋友圈"],
    "sms": ["短信", "sms"],
    "app_push": ["push", "App推送"],
    "douyin": ["抖音"],
    "xiaohongshu": ["小红书", "xhs"],
    "search": ["搜索", "百度"],
    "paid_ads": ["广告", "信息流广告"],
    "offline": ["线下", "门店"],
    "organic": ["自然流量", "organic"],
    "referral": ["老带新", "邀请"],
}
UNKNOWN_RAW = ["火星快递", "mystery_app"]
COST_BASE = {"paid_ads": 900.0, "douyin": 700.0, "xiaohongshu": 500.0, "search": 400.0, "sms": 60.0}
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "苏州", "西安",
          "重庆", "长沙", "天津", "郑州", "青岛", "厦门"]  # fmt: skip
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55+"]
AGE_SHARE = np.array([0.18, 0.36, 0.26, 0.13, 0.07])

EVENT_NAMES = (
    "reach", "click", "visit", "engage", "share", "invite_sent", "invite_click", "signup",
    "add_to_cart", "purchase", "unsubscribe", "complaint",
)  # fmt: skip
START_EPOCH = int(START.astype("int64"))
DAY0 = int(START.astype("datetime64[D]").astype("int64"))
#: dirty "future" rows are dated 2031-03-01 10:00 local (after any as_of and the wall clock).
FUTURE_SEC = int((np.datetime64("2031-03-01T10:00:00", "s") - START).astype("int64"))
N_GHOSTS = 6  # user ids referenced by orphan rows (absent from users)

TABLES = ("users", "referrals", "events", "orders", "identities", "costs", "assignments")


# ----------------------------------------------------------------------------- clock
class _Clock:
    """Operational days -> wall-clock days W(u): density ∝ weekday × hour-of-day intensity."""

    def __init__(self) -> None:
        hours = np.arange(-48, (PERIOD_DAYS + 40) * 24 + 1)  # knots, hour index since start
        day = np.floor_divide(hours[:-1], 24)
        weekday = (day + 2) % 7  # 2025-01-01 is a Wednesday (Mon = 0)
        w = WEEKDAY[weekday] * HOURLY[hours[:-1] % 24]
        lam = np.concatenate([[0.0], np.cumsum(w)]) / 24.0
        lam -= lam[hours == 0][0]
        lam *= PERIOD_DAYS / lam[hours == PERIOD_DAYS * 24][0]
        self.knots = hours / 24.0
        self.lam = lam

    def wall(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.lam, self.knots)

    def op(self, t: np.ndarray) -> np.ndarray:
        return np.interp(t, self.knots, self.lam)


def _trunc_gamma(rng: np.random.Generator, n: int, shape: float, scale: float, upper: float):
    u = rng.random(n) * _gamma_dist.cdf(upper, shape, scale=scale)
    return np.minimum(_gamma_dist.ppf(u, shape, scale=scale), upper * (1 - 1e-9))


def _trunc_exp(rng: np.random.Generator, n: int, mean: float, upper: float):
    u = rng.random(n) * (1.0 - np.exp(-upper / mean))
    return np.minimum(-mean * np.log1p(-u), upper * (1 - 1e-9))


def _choice(rng: np.random.Generator, n: int, probs) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right").clip(0, len(p) - 1)


def _expand(counts: np.ndarray) -> np.ndarray:
    """Owner index of each item: counts [2, 0, 1] -> [0, 0, 2]."""
    return np.repeat(np.arange(len(counts)), counts)


def _rank_in_group(owner: np.ndarray) -> np.ndarray:
    """0-based position of each item within its (contiguous, sorted) owner group."""
    if owner.size == 0:
        return owner.copy()
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, owner.size]))
    return np.arange(owner.size) - first


class _Raw:
    """Canonical channel index -> raw spelling (random variant per row)."""

    def __init__(self) -> None:
        self.canon = list(RAW_NAMES)
        self.index = {c: i for i, c in enumerate(self.canon)}
        self.names: list[str] = []
        self.first = []
        for c in self.canon:
            self.first.append(len(self.names))
            self.names.extend(RAW_NAMES[c])
        self.first = np.array(self.first)
        self.count = np.array([len(RAW_NAMES[c]) for c in self.canon])

    def idx(self, names) -> np.ndarray:
        return np.array([self.index[c] for c in names])

    def draw(self, rng: np.random.Generator, canon_idx: np.ndarray) -> np.ndarray:
        """Index into ``self.names`` of a random raw variant of each canonical channel."""
        k = self.count[canon_idx]
        return self.first[canon_idx] + np.floor(rng.random(canon_idx.size) * k).astype(np.int64)


# ----------------------------------------------------------------------------- economics truth
def _repeat_purchases(t) -> np.ndarray:
    """E[X(t)]: expected BG/NBD repeat purchases within t op-days of the first purchase
    (Fader, Hardie & Lee 2005, eq. 9) under :data:`BGNBD`; 0 for t <= 0."""
    r, alpha, a, b = (BGNBD[k] for k in ("r", "alpha", "a", "b"))
    t = np.maximum(np.asarray(t, dtype=float), 0.0)
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def _delay_masses(h: float, no_convert: float) -> np.ndarray:
    """Sub-probability masses of the delay L = first paid order − signup of a buyer, on cells
    of width ``h`` (mass m sits at (m + 1) h), times P(convert).

    L = TOUCH_SPAN · max(U_1..U_N) + D with N = TOUCH_BASE + Poisson(TOUCH_MEAN_EXTRA) touches
    and D ~ Exp(CONVERSION_DELAY_MEAN) truncated at CONVERSION_DELAY_MAX; given N the user
    converts with probability 1 − q̄^N · ``no_convert`` (q̄ = mean_c(1 − effect_c); the A/B
    treatment's extra chance enters through ``no_convert``), independently of the touch times.
    """
    qbar = float(np.mean(1 - np.array(list(CHANNEL_EFFECT.values()))))
    k = np.arange(60)
    pk = np.exp(
        k * np.log(TOUCH_MEAN_EXTRA) - TOUCH_MEAN_EXTRA - np.cumsum(np.log(np.r_[1, k[1:]]))
    )
    n_touch = TOUCH_BASE + k
    w = pk * (1 - qbar**n_touch * no_convert)
    edges = np.arange(int(np.ceil(TOUCH_SPAN / h)) + 1) * h / TOUCH_SPAN
    cdf = np.minimum(edges, 1.0)[None, :] ** n_touch[:, None]
    span_mass = w @ np.diff(cdf, axis=1)
    d_edges = np.minimum(np.arange(int(np.ceil(CONVERSION_DELAY_MAX / h)) + 1) * h,
                         CONVERSION_DELAY_MAX)  # fmt: skip
    d_cdf = 1 - np.exp(-d_edges / CONVERSION_DELAY_MEAN)
    d_mass = np.diff(d_cdf) / d_cdf[-1]
    return np.convolve(span_mass, d_mass)


def _economics_truth(
    clock: _Clock,
    names: list[str],
    rewards: np.ndarray,
    inv_camp: np.ndarray,
    inv_signup_op: np.ndarray,
    inv_ab: np.ndarray,
    inv_fraud: np.ndarray,
) -> dict[str, Any]:
    """truth["campaign_economics"] from the generator's own laws (no random draw, no table).

    Per campaign c, over its accepted invitations i (signup op-day s_i): cost = Σ reward_c (the
    campaign's ``costs`` rows are exactly these rewards, booked on the invitation's day);
    credible invitees = invitees of inviters outside the fraud ring. For a credible invitee,
    conditional on s_i (the expectations are exact up to a 0.01-day integration grid):

    - P(buyer to date) = ∫ f_L(l) 1{s_i + l < as_of} dl (:func:`_delay_masses`);
    - E[paid revenue to date] = ∫ f_L(l) g(s_i + l) dl with g(t0) = μ · (1 + E[X(as_of − t0)]
      + (factor − 1) · E[orders of the anomaly day]), μ = p γ / (q − 1) = 120 the Gamma-Gamma
      mean spend and E[X(t)] the BG/NBD mean (:func:`_repeat_purchases`);
    - E[discounted value over the horizon] of those who bought by as_of =
      ∫ f_L(l) μ Σ_k (E[X(T + e_k)] − E[X(T + e_{k−1})]) / (1 + d)^k dl, T = as_of − t0,
      e_k the ends of the discounting periods (the estimand of ``value.lifetime_value``,
      averaged over customers).

    Fraud-ring invitees never buy. Ratios are ratios of expectations: cost_per_invitee =
    cost / credible invitees (= the reward: every invitation is rewarded), cost_per_buyer =
    cost / E[buyers], roi_to_date = E[revenue] / cost − 1, roi_predicted = (E[revenue] +
    E[value over the horizon]) / cost − 1, ltv_cac = roi_predicted + 1 (None when undefined).
    """
    h = ECONOMICS_GRID
    mu = GAMMA_GAMMA["p"] * GAMMA_GAMMA["v"] / (GAMMA_GAMMA["q"] - 1)
    factor = ANOMALY["factor"]
    a1, a2 = (float(x) for x in clock.op(np.array([ANOMALY["day"], ANOMALY["day"] + 1.0])))
    end = float(PERIOD_DAYS)
    t0 = np.arange(int(round((end + TOUCH_SPAN + CONVERSION_DELAY_MAX) / h)) + 4) * h
    bought = t0 < end
    ex_to_date = _repeat_purchases(end - t0)
    on_day = ((t0 >= a1) & (t0 < a2)).astype(float)
    # repeat purchases on the anomaly day (op interval [a1, a2)) of a buyer who started at t0
    in_day = _repeat_purchases(a2 - t0) - _repeat_purchases(np.maximum(a1, t0) - t0)
    anomaly_orders = on_day + np.where(t0 < a2, in_day, 0.0)
    g_rev = np.where(bought, mu * (1 + ex_to_date + (factor - 1) * anomaly_orders), 0.0)
    hz, per, rate = (
        ECONOMICS[k] for k in ("horizon_days", "discount_period_days", "discount_rate")
    )
    ends = np.append(np.arange(per, hz, per), hz)
    cum = np.column_stack([_repeat_purchases(end - t0 + e) for e in np.r_[0.0, ends]])
    disc = (1 + rate) ** -np.arange(1, ends.size + 1)
    g_fut = np.where(bought, mu * (np.diff(cum, axis=1) @ disc), 0.0)
    g_buy = bought.astype(float)
    s_grid = np.arange(int(round(end / h)) + 1) * h
    per_signup = {}
    for ab, no_convert in ((False, 1.0), (True, 1 - 0.5 * AB_DELTA)):
        mass = _delay_masses(h, no_convert)
        per_signup[ab] = [
            np.convolve(g[1:], mass[::-1], mode="valid")[: s_grid.size]
            for g in (g_buy, g_rev, g_fut)
        ]
    credible = ~inv_fraud
    exp = np.zeros((3, inv_camp.size))
    for ab in (False, True):
        sel = credible & (inv_ab == ab)
        for j in range(3):
            exp[j, sel] = np.interp(inv_signup_op[sel], s_grid, per_signup[ab][j])
    out: dict[str, Any] = {}
    for ci, c in enumerate(names):
        sel = inv_camp == ci
        n_inv, n_cred = int(sel.sum()), int((sel & credible).sum())
        cost = float(rewards[ci]) * n_inv
        buyers, revenue, future = (float(exp[j, sel].sum()) for j in range(3))

        def ratio(num: float, den: float) -> float | None:
            return num / den if den > 0 else None

        roi = ratio(revenue, cost)
        pred = ratio(revenue + future, cost)
        out[c] = {
            "reward_per_invitation": float(rewards[ci]),
            "invitations": n_inv,
            "credible_invitees": n_cred,
            "cost": cost,
            "other_spend": 0.0,
            "abuse_cost": float(rewards[ci]) * int((sel & inv_fraud).sum()),
            "cost_per_invitee": ratio(cost, n_cred),
            "expected_buyers": buyers,
            "cost_per_buyer": ratio(cost, buyers),
            "expected_revenue_to_date": revenue,
            "expected_value_horizon": future,
            "roi_to_date": None if roi is None else roi - 1,
            "roi_predicted": None if pred is None else pred - 1,
            "ltv_cac": pred,
        }
    return {
        **ECONOMICS,
        "mean_order_value": mu,
        "abuse_cost": float(sum(v["abuse_cost"] for v in out.values())),
        "rule": "cost = rewards of every accepted invitation (costs rows = these rewards); "
        "return = invitees of inviters outside the fraud ring",
        "campaigns": out,
    }


# ----------------------------------------------------------------------------- generator
def _sec(days) -> np.ndarray:
    """Wall-clock days since START -> whole seconds since START (floored)."""
    return np.floor(np.asarray(days, dtype=float) * 86400.0).astype(np.int64)


def _ts_array(sec: np.ndarray) -> pa.Array:
    """Seconds since START -> naive ``timestamp[s]`` (local wall-clock time)."""
    return pa.array(np.asarray(sec, np.int64) + START_EPOCH, pa.timestamp("s"))


def _dict(indices: np.ndarray, dictionary) -> pa.DictionaryArray:
    """Dictionary-encoded strings; a negative index is a null."""
    idx = np.asarray(indices)
    if not isinstance(dictionary, pa.Array):
        dictionary = pa.array(list(dictionary), pa.string())
    mask = idx < 0
    arr = pa.array(np.where(mask, 0, idx).astype(np.int32), mask=mask if mask.any() else None)
    return pa.DictionaryArray.from_arrays(arr, dictionary)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers, e.g. U0000001."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, np.int64)), pa.string()), width, "0")
    return pc.utf8_replace_slice(digits, 0, 0, prefix)


def _hex_ids(rng: np.random.Generator, prefix: str, n: int) -> pa.Array:
    """``prefix`` + 16 random hex digits (an opaque hashed identifier)."""
    lut = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")
    raw = rng.integers(0, 2**63 - 1, size=n, dtype=np.int64).view(np.uint8).reshape(n, 8)
    hexs = np.ascontiguousarray(lut[raw]).view("S16").ravel()
    return pc.utf8_replace_slice(pa.array(hexs, pa.binary()).cast(pa.string()), 0, 0, prefix)


def _sorted_events(parts, n_users: int, n_channels: int):
    """Concatenate event parts and sort by (ts, user, event, channel) with one int64 sort key.

    Two clean events of one user with the same second, event and channel would be an exact
    duplicate row (a dirty-row rule), so the later copy is moved one second on until none is
    left. Returns user, second, event and channel arrays in that order.
    """
    ub, cb = int(n_users).bit_length(), int(n_channels).bit_length()
    user = np.concatenate([p[0] for p in parts])
    sec = np.concatenate([p[1] for p in parts])
    ch = np.concatenate([p[2] for p in parts])
    name = np.concatenate([p[3] for p in parts])
    if 25 + ub + 4 + cb > 62:  # pragma: no cover - beyond ~100M users: lexsort
        while True:
            order = np.lexsort((ch, name, user, sec))
            user, sec, ch, name = user[order], sec[order], ch[order], name[order]
            same = (np.diff(sec) == 0) & (np.diff(user) == 0)
            same &= (np.diff(name) == 0) & (np.diff(ch) == 0)
            if not same.any():
                return user, sec, name.astype(np.int8), ch
            sec[1:][same] += 1
    key = sec << (ub + 4 + cb)
    key |= user << (4 + cb)
    key |= name.astype(np.int64) << cb
    key |= ch
    del user, sec, ch, name
    key.sort()
    while True:
        same = key[1:] == key[:-1]
        if not same.any():
            break
        key[1:][same] += np.int64(1) << (ub + 4 + cb)
        key.sort()
    ch = (key & ((1 << cb) - 1)).astype(np.int64)
    name = ((key >> cb) & 15).astype(np.int8)
    user = (key >> (4 + cb)) & ((1 << ub) - 1)
    sec = key >> (ub + 4 + cb)
    return user, sec, name, ch


def _grow_trees(rng: np.random.Generator, n_users: int):
    """Level-by-level branching process over all campaigns. Returns per-user arrays."""
    camp_names = list(CAMPAIGNS)
    m = np.array([CAMPAIGNS[c]["m"] for c in camp_names])
    w = SEGMENT_INVITE / float(SEGMENT_INVITE @ SEGMENT_SHARE)
    seeds = [int(round(CAMPAIGNS[c]["seed_share"] * n_users)) for c in camp_names]
    camp = np.repeat(np.arange(len(camp_names)), seeds)
    lo = np.array([CAMPAIGNS[c]["window"][0] for c in camp_names])[camp]
    hi = np.array([CAMPAIGNS[c]["window"][1] for c in camp_names])[camp]
    signup = lo + rng.random(camp.size) * (hi - lo)
    seg = _choice(rng, camp.size, SEGMENT_SHARE)
    parent = np.full(camp.size, -1, dtype=np.int64)
    invited = np.full(camp.size, np.nan)
    levels = [(signup, camp, seg, parent, invited)]
    offset, frontier = 0, np.arange(camp.size)
    cap = 4 * n_users + 100  # runaway guard; the censoring at as_of ends every tree first
    total = camp.size
    while frontier.size and total < cap:
        f_signup, f_camp, f_seg = levels[-1][0], levels[-1][1], levels[-1][2]
        k = rng.poisson(m[f_camp] * w[f_seg])
        own = _expand(k)
        delay = _trunc_gamma(rng, own.size, 2.0, 3.0, MAX_INVITE_DELAY)
        inv = f_signup[own] + delay
        lag = _trunc_exp(rng, own.size, 30 / 1440, 3 / 24)
        c_signup = inv + lag
        keep = c_signup < PERIOD_DAYS
        own, inv, c_signup = own[keep], inv[keep], c_signup[keep]
        c_camp = f_camp[own]
        c_seg = _choice(rng, own.size, SEGMENT_SHARE)
        c_parent = offset + own
        offset += frontier.size
        levels.append((c_signup, c_camp, c_seg, c_parent, inv))
        frontier = np.arange(own.size)
        total += own.size
    signup, camp, seg, parent, invited = (np.concatenate(x) for x in zip(*levels, strict=True))
    gen = np.concatenate([np.full(lv[0].size, g) for g, lv in enumerate(levels)])
    # root of each node: levels are contiguous and parents precede children
    root = np.arange(signup.size)
    bounds = np.cumsum([0] + [lv[0].size for lv in levels])
    for lo_, hi_ in zip(bounds[1:-1], bounds[2:], strict=True):
        root[lo_:hi_] = root[parent[lo_:hi_]]
    return {
        "signup": signup, "camp": camp, "seg": seg, "parent": parent, "invited": invited,
        "gen": gen, "root": root, "names": camp_names,
    }  # fmt: skip


def _drop_trees(rng: np.random.Generator, trees: dict, budget: int) -> dict:
    """Drop whole trees (random order) until the trees fit into ``budget`` users."""
    n = trees["signup"].size
    if n <= budget:
        return trees
    roots = np.flatnonzero(trees["parent"] < 0)
    size = np.bincount(trees["root"], minlength=n)[roots]
    order = rng.permutation(roots.size)
    kept_size = np.cumsum(size[order])
    keep_roots = roots[order][kept_size <= budget]
    keep = np.isin(trees["root"], keep_roots)
    new_index = np.cumsum(keep) - 1
    out = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in trees.items()}
    out["parent"] = np.where(out["parent"] >= 0, new_index[np.maximum(out["parent"], 0)], -1)
    out["root"] = new_index[out["root"]]
    return out


#: event name -> its code (index in :data:`EVENT_NAMES`)
_EVENT_CODE = {e: i for i, e in enumerate(EVENT_NAMES)}


def _day(d) -> str:
    """The local calendar date ``d`` days after START (ISO)."""
    return str(START.astype("datetime64[D]") + np.timedelta64(int(d), "D"))


@dataclass
class _People:
    """Every user, in signup order (index k = user id ``U{k+1}``)."""

    n: int
    trees: dict  # the kept campaign trees (:func:`_grow_trees`; truth counts their seeds)
    camp_names: list[str]  # the trees' campaigns, then the fraud ring's
    kind: np.ndarray  # 0 tree, 1 fraud inviter, 2 fraud invitee, 3 organic
    signup_wall: np.ndarray  # wall-clock days
    invited_wall: np.ndarray  # wall-clock days of the accepted invitation (NaN: not referred)
    seg: np.ndarray  # planted segment
    camp: np.ndarray  # campaign index into camp_names (-1: none)
    parent: np.ndarray  # inviter's index (-1: not referred)
    uid: pa.Array  # user ids
    ghost: pa.Array  # ids of users absent from users (orphan rows)

    def __post_init__(self) -> None:
        self.user_dict = pa.concat_arrays([self.uid, self.ghost])  # index n + i = ghost i
        self.uid_np = np.asarray(self.uid.to_numpy(zero_copy_only=False), dtype=object)
        self.signup_sec = _sec(self.signup_wall)
        self.active = self.kind != 2  # fraud invitees are inactive after signup
        self.fraud_inviters = np.flatnonzero(self.kind == 1)
        self.fraud_invitees = np.flatnonzero(self.kind == 2)


@dataclass
class _Touches:
    """Reach touches of the active users (op days) and the conversions they cause."""

    in_ab: np.ndarray  # user in the A/B test
    treat: np.ndarray  # user in its treatment group
    act: np.ndarray  # indices of the active users
    t_own: np.ndarray  # touch -> user
    t_ch: np.ndarray  # touch -> attribution channel (index into CHANNEL_EFFECT)
    t_time: np.ndarray  # touch -> op day
    first_buy: np.ndarray  # user -> op day of the first paid order (if converted)
    buyer: np.ndarray  # user converted with the first order before as_of


@dataclass
class _Orders:
    """Orders in time order (BG/NBD repeat purchases, Gamma-Gamma amounts, refunds)."""

    b_idx: np.ndarray  # the buyers
    user: np.ndarray
    sec: np.ndarray
    amount: np.ndarray
    status: np.ndarray  # 0 paid, 1 refunded

    @property
    def paid(self) -> np.ndarray:
        return self.status == 0


@dataclass
class _Rows:
    """The rows of the tables with dirty rows appended (column arrays in table order)."""

    u_rows: np.ndarray  # users: index of the user of each row
    refs: tuple  # referrals: inviter, invitee, second, campaign, reward, raw share channel
    events: tuple  # events: user, second, event code, raw channel
    orders: tuple  # orders: user, second, amount, status, order number
    dirty_by_table: dict[str, dict[str, int]]
    details: dict[str, Any]


def _build(n_users: int, seed: int) -> tuple[dict[str, pa.Table], dict]:
    """The raw tables and the truth of :func:`generate_tables`.

    Every step draws from one ``PCG64(seed)`` generator, in the order below; that order is
    what makes a seed reproducible, so a new draw goes at the end (or in a new generator).
    """
    if n_users < 1:
        raise ValueError("n_users must be >= 1")
    rng = np.random.default_rng(np.random.PCG64(seed))
    clock = _Clock()
    raw = _Raw()
    people = _people(rng, clock, n_users)
    signup_op = clock.op(people.signup_wall)
    acq, share_canon, rewards = _channels(rng, raw, people)
    profile = _profiles(rng, raw, people.n, acq)
    child = np.flatnonzero(people.parent >= 0)  # referrals (sorted by invited_at)
    child = child[np.argsort(people.invited_wall[child], kind="stable")]
    r_sec = _sec(people.invited_wall[child])
    r_share = raw.draw(rng, share_canon[child])
    touches = _touches(rng, clock, people, signup_op)
    orders = _orders(rng, clock, people.n, touches)
    events = _events(
        rng, clock, raw, people, signup_op, acq, touches, (child, r_sec, r_share), orders
    )
    ident = _identities(rng, people)
    costs = _costs(rng, raw, people, child, r_sec, rewards)
    refs = (people.parent[child], child, r_sec, people.camp[child], rewards[people.camp[child]])
    rows = _dirty_rows(
        rng, raw, people, ident[-1], child, (*refs, r_share), events, orders, touches.act
    )
    # its own generator: every table and draw above stays as it was for a seed; the opt-outs
    # it plants are appended to the events
    extra, experiments, opt_outs = _extra_experiments(
        np.random.default_rng(np.random.PCG64([seed, 1])), clock, raw, people, signup_op
    )
    rows.events = _append(rows.events, opt_outs)
    tables = _tables(rng, raw, people, profile, rows, ident, costs, touches.in_ab, touches.treat)
    tables["assignments"] = pa.concat_tables([tables["assignments"], extra]).combine_chunks()
    truth = _truth(
        seed, clock, people, signup_op, rewards, child, touches, orders, ident, rows, tables
    )
    truth["experiments"] = experiments
    return tables, truth


def _extra_experiments(
    rng: np.random.Generator, clock: _Clock, raw: _Raw, people: _People, signup_op: np.ndarray
):
    """The assignments of :data:`EXTRA_EXPERIMENTS`, truth["experiments"] and the planted
    opt-out events (user, second, event code, raw channel). Each active user signing up in the
    window is assigned at signup, treatment with probability .5, and a treatment assignment is
    lost (never logged) with probability ``lost``. Expected treatment share of the logged
    users: .5 (1 - lost) / (1 - .5 lost) (3/7 for lost = .25). A treatment user unsubscribes
    with probability ``unsubscribe`` (on app push, uniform in the ``AB["window_days"]`` after
    assignment, before the period ends), drawn after every assignment."""
    users, exp_ids, variants, truth = [], [], [], {}
    for spec in EXTRA_EXPERIMENTS:
        lo, hi = clock.op(np.array([spec["start_day"], spec["end_day"]], float))
        who = np.flatnonzero(people.active & (signup_op >= lo) & (signup_op < hi))
        treat = rng.random(who.size) < 0.5
        logged = ~treat | (rng.random(who.size) >= spec["lost"])
        who, treat = who[logged], treat[logged]
        users.append(who)
        variants.append(treat)
        exp_ids += [spec["experiment_id"]] * who.size
        lost = float(spec["lost"])
        truth[spec["experiment_id"]] = {
            "planted": spec["planted"],
            "planned_split": {"control": 0.5, "treatment": 0.5},
            "lost_treatment_share": lost,
            "expected_treatment_share": 0.5 * (1 - lost) / (1 - 0.5 * lost),
            "lift": 0.0,
            "unsubscribe_lift": float(spec.get("unsubscribe", 0.0)),
            "start": _day(spec["start_day"]),
            "end": _day(spec["end_day"] - 1),
            "users": int(who.size),
            "treatment_users": int(treat.sum()),
        }
    table = _assignments(people, np.concatenate(users), exp_ids, np.concatenate(variants))
    parts = []
    for spec, who, treat in zip(EXTRA_EXPERIMENTS, users, variants, strict=True):
        if not spec.get("unsubscribe"):
            continue
        treated = who[treat]
        quit_ = treated[rng.random(treated.size) < spec["unsubscribe"]]
        # calendar (wall-clock) days after assignment, strictly inside the outcome window
        offset = rng.random(quit_.size) * (AB["window_days"] - 1 / 86400)
        sec = people.signup_sec[quit_] + _sec(offset)
        seen = clock.op(people.signup_wall[quit_] + offset) < PERIOD_DAYS
        quit_, sec = quit_[seen], sec[seen]
        truth[spec["experiment_id"]]["unsubscribed_by_treatment"] = int(quit_.size)
        parts.append(
            (
                quit_,
                sec,
                np.full(quit_.size, _EVENT_CODE["unsubscribe"], np.int8),
                raw.draw(rng, np.full(quit_.size, raw.index["app_push"])),
            )
        )
    opt_outs = tuple(
        np.concatenate([p[i] for p in parts]) if parts else np.array([], np.int64) for i in range(4)
    )
    return table, truth, opt_outs


# ----------------------------------------------------------------------------- users
def _people(rng: np.random.Generator, clock: _Clock, n_users: int) -> _People:
    """Every user: the campaign trees (:func:`_grow_trees`; whole trees dropped when they
    overflow), the fraud ring (:func:`_fraud_ring`) and the organic users (signup uniform over
    the period), with segment, campaign and inviter, ordered by signup."""
    n_fraud_inv = 0 if n_users < 500 else max(1, int(round(0.0004 * n_users)))
    fraud_sizes = 8 + rng.poisson(6, n_fraud_inv)
    n_fraud = int(n_fraud_inv + fraud_sizes.sum())
    trees = _drop_trees(rng, _grow_trees(rng, n_users), max(0, n_users - n_fraud))
    n_tree = trees["signup"].size
    n_org = n_users - n_tree - n_fraud
    f_inv_wall, f_owner, f_invited_wall, f_signup_wall = _fraud_ring(rng, fraud_sizes)
    org_signup = rng.random(n_org) * PERIOD_DAYS
    kind = np.concatenate(
        [
            np.zeros(n_tree, np.int8),
            np.ones(n_fraud_inv, np.int8),
            np.full(f_owner.size, 2, np.int8),
            np.full(n_org, 3, np.int8),
        ]
    )  # 0 tree, 1 fraud inviter, 2 fraud invitee, 3 organic
    signup_wall = np.concatenate(
        [clock.wall(trees["signup"]), f_inv_wall, f_signup_wall, clock.wall(org_signup)]
    )
    seg = np.concatenate(
        [trees["seg"], _choice(rng, n_fraud_inv, SEGMENT_SHARE), np.full(f_owner.size, 3),
         _choice(rng, n_org, SEGMENT_SHARE)]
    )  # fmt: skip
    n_camp = len(trees["names"])
    camp = np.concatenate(
        [trees["camp"], np.full(n_fraud_inv + f_owner.size, n_camp), np.full(n_org, -1)]
    )
    parent_local = np.concatenate(
        [trees["parent"], np.full(n_fraud_inv, -1), n_tree + f_owner, np.full(n_org, -1)]
    )
    invited_wall = np.concatenate(
        [
            clock.wall(trees["invited"]),
            np.full(n_fraud_inv, np.nan),
            f_invited_wall,
            np.full(n_org, np.nan),
        ]
    )
    # order users by signup: user k gets id U{k+1}
    n = n_users
    order = np.argsort(signup_wall, kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    signup_wall, seg, camp, kind, invited_wall = (
        a[order] for a in (signup_wall, seg, camp, kind, invited_wall)
    )
    parent = np.where(parent_local >= 0, rank[np.maximum(parent_local, 0)], -1)[order]
    width = max(7, len(str(n + 10)))
    uid = _ids("U", np.arange(1, n + 1), width)
    ghost = _ids("X", np.arange(1, N_GHOSTS + 1), width)
    camp_names = trees["names"] + [FRAUD_CAMPAIGN]
    return _People(
        n, trees, camp_names, kind, signup_wall, invited_wall, seg, camp, parent, uid, ghost
    )


def _fraud_ring(rng: np.random.Generator, fraud_sizes: np.ndarray):
    """Wall-clock times of the fraud ring (generated directly, not through the clock):
    inviters sign up on days 40-140 at 08:00-12:00; each brings a burst of ``fraud_sizes``
    invitees 1-5 minutes apart from 10:00-18:00 of a day 1-10 days later, each signing up
    1-3 minutes after its invite. Returns the inviters' signups, each invitee's inviter
    (0-based within the ring), invited_at and signup."""
    n_fraud_inv = fraud_sizes.size
    f_inv_wall = (
        np.floor(40 + rng.random(n_fraud_inv) * 100) + (8 + rng.random(n_fraud_inv) * 4) / 24
    )
    burst_day = np.floor(f_inv_wall) + 1 + rng.integers(0, 10, n_fraud_inv)
    burst_start = burst_day + (10 + rng.random(n_fraud_inv) * 8) / 24
    f_owner = _expand(fraud_sizes)
    gaps = (1 + rng.random(f_owner.size) * 4) / 1440
    cum = np.cumsum(gaps)
    first_cum = np.r_[0.0, cum][np.r_[0, np.cumsum(fraud_sizes)][:-1]][f_owner]
    f_invited_wall = burst_start[f_owner] + (cum - first_cum)
    f_signup_wall = f_invited_wall + (1 + rng.random(f_owner.size) * 2) / 1440
    return f_inv_wall, f_owner, f_invited_wall, f_signup_wall


def _channels(rng: np.random.Generator, raw: _Raw, people: _People):
    """Each user's acquisition channel (canonical index; referred users: ``referral``) and the
    share channel its invitation came through (the campaign's mix), and each campaign's
    reward per invitation (the fraud ring's cashback last)."""
    n = people.n
    acq = raw.idx(list(ACQUISITION))[_choice(rng, n, list(ACQUISITION.values()))]
    acq = np.where(people.parent >= 0, raw.index["referral"], acq)
    share_canon = np.full(n, raw.index["wechat_group"])
    for ci, c in enumerate(people.trees["names"]):
        sel = np.flatnonzero(people.camp == ci)
        opts = list(CAMPAIGNS[c]["share"])
        share_canon[sel] = raw.idx(opts)[
            _choice(rng, sel.size, list(CAMPAIGNS[c]["share"].values()))
        ]
    rewards = np.array([CAMPAIGNS[c]["reward"] for c in people.trees["names"]] + [20.0])
    return acq, share_canon, rewards


def _profiles(rng: np.random.Generator, raw: _Raw, n: int, acq: np.ndarray):
    """Independent user attributes: city (Zipf-like), gender, age band, marketing consent,
    and the raw spelling of the acquisition channel."""
    city = _choice(rng, n, 1.0 / np.arange(1, len(CITIES) + 1) ** 0.8)
    gender = _choice(rng, n, [0.52, 0.44, 0.04])
    age = _choice(rng, n, AGE_SHARE)
    consent = rng.random(n) < 0.85
    acq_raw = raw.draw(rng, acq)
    return city, gender, age, consent, acq_raw


# ----------------------------------------------------------------------------- touches, orders
def _touches(
    rng: np.random.Generator, clock: _Clock, people: _People, signup_op: np.ndarray
) -> _Touches:
    """A/B assignment (active users signing up in the test's window, treatment with
    probability .5), the reach touches of every active user (2 + Poisson(2), uniform
    attribution channels, within TOUCH_SPAN days of signup), conversion (each touch converts
    with its channel's effect; the treatment adds AB_DELTA) and the first paid order (last
    touch + truncated Exp delay; a buyer only when before as_of)."""
    n = people.n
    active = people.active
    ab_lo, ab_hi = clock.op(np.array([AB["start_day"], AB["end_day"]], float))
    in_ab = active & (signup_op >= ab_lo) & (signup_op < ab_hi)
    treat = in_ab & (rng.random(n) < 0.5)
    act = np.flatnonzero(active)
    n_touch = TOUCH_BASE + rng.poisson(TOUCH_MEAN_EXTRA, act.size)
    t_own = act[_expand(n_touch)]
    eff = np.array(list(CHANNEL_EFFECT.values()))
    t_ch = rng.integers(0, len(CHANNEL_EFFECT), t_own.size)
    t_time = signup_op[t_own] + rng.random(t_own.size) * TOUCH_SPAN
    hit = rng.random(t_own.size) < eff[t_ch]
    converted = np.zeros(n, bool)
    converted[t_own[hit]] = True
    converted |= treat & (rng.random(n) < AB_DELTA)
    last_touch = np.full(n, -np.inf)
    np.maximum.at(last_touch, t_own, t_time)
    first_buy = last_touch + _trunc_exp(rng, n, CONVERSION_DELAY_MEAN, CONVERSION_DELAY_MAX)
    buyer = converted & (first_buy < PERIOD_DAYS)
    keep_touch = t_time < PERIOD_DAYS
    t_own, t_ch, t_time = t_own[keep_touch], t_ch[keep_touch], t_time[keep_touch]
    return _Touches(in_ab, treat, act, t_own, t_ch, t_time, first_buy, buyer)


def _orders(rng: np.random.Generator, clock: _Clock, n: int, touches: _Touches) -> _Orders:
    """Every buyer's orders: the first paid order and its BG/NBD repeat purchases with
    Gamma-Gamma amounts (:func:`_repeat_orders`), plus one refunded order for REFUND_SHARE
    of the buyers (not part of BG/NBD); sorted by (second, user)."""
    first_buy = touches.first_buy
    b_idx = np.flatnonzero(touches.buyer)
    o_user, o_sec, amount, nu_user = _repeat_orders(rng, clock, n, b_idx, first_buy)
    status = np.zeros(o_user.size, np.int8)
    # refunded extras (not part of BG/NBD)
    rf_users = b_idx[rng.random(b_idx.size) < REFUND_SHARE]
    rf_time = first_buy[rf_users] + rng.random(rf_users.size) * (PERIOD_DAYS - first_buy[rf_users])
    rf_amount = np.maximum(np.round(rng.gamma(GAMMA_GAMMA["p"], 1.0 / nu_user[rf_users]), 2), 0.01)
    o_user = np.concatenate([o_user, rf_users])
    o_sec = np.concatenate([o_sec, _sec(clock.wall(rf_time))])
    amount = np.concatenate([amount, rf_amount])
    status = np.concatenate([status, np.ones(rf_users.size, np.int8)])
    o_sort = np.lexsort((o_user, o_sec))
    return _Orders(b_idx, o_user[o_sort], o_sec[o_sort], amount[o_sort], status[o_sort])


def _repeat_orders(
    rng: np.random.Generator, clock: _Clock, n: int, b_idx: np.ndarray, first_buy: np.ndarray
):
    """Paid orders of the buyers ``b_idx``: the first at ``first_buy``, then BG/NBD repeat
    purchases (Poisson(λ) arrivals, drop-out with probability p after each) up to as_of;
    Gamma-Gamma amounts (per-buyer ν), x ANOMALY factor on the anomaly day, rounded to 0.01
    (min 0.01). Returns user, second and amount of each order, and ν per user."""
    t0 = first_buy[b_idx]
    T = PERIOD_DAYS - t0
    lam = rng.gamma(BGNBD["r"], 1.0 / BGNBD["alpha"], b_idx.size)
    pdrop = rng.beta(BGNBD["a"], BGNBD["b"], b_idx.size)
    n_arr = rng.poisson(lam * T)
    j_max = rng.geometric(np.clip(pdrop, 1e-12, 1.0))
    key = _expand(n_arr) + rng.random(int(n_arr.sum()))
    key.sort()  # per buyer: sorted uniform arrival fractions of (0, T)
    r_own = key.astype(np.int64)
    r_frac = key - r_own
    r_keep = _rank_in_group(r_own) < j_max[r_own]  # drop out after the J-th repeat purchase
    r_own, r_frac = r_own[r_keep], r_frac[r_keep]
    o_user = np.concatenate([b_idx, b_idx[r_own]])
    o_time_op = np.concatenate([t0, t0[r_own] + r_frac * T[r_own]])
    del key, r_own, r_frac, r_keep
    nu_user = np.zeros(n)
    nu_user[b_idx] = rng.gamma(GAMMA_GAMMA["q"], 1.0 / GAMMA_GAMMA["v"], b_idx.size)
    amount = rng.gamma(GAMMA_GAMMA["p"], 1.0 / nu_user[o_user])
    o_sec = _sec(clock.wall(o_time_op))
    on_day = o_sec // 86400 == ANOMALY["day"]
    amount = np.where(on_day, amount * ANOMALY["factor"], amount)
    amount = np.maximum(np.round(amount, 2), 0.01)
    return o_user, o_sec, amount, nu_user


# ----------------------------------------------------------------------------- events
class _EventParts:
    """Event rows collected in parts of (user, second, raw channel, event code)."""

    def __init__(self) -> None:
        self.parts: list[tuple] = []

    def add(self, u, sec, ch_raw, name) -> None:
        name = np.full(u.size, _EVENT_CODE[name], np.int8) if isinstance(name, str) else name
        self.parts.append((u.astype(np.int64), sec, np.asarray(ch_raw, np.int64), name))


def _events(
    rng: np.random.Generator,
    clock: _Clock,
    raw: _Raw,
    people: _People,
    signup_op: np.ndarray,
    acq: np.ndarray,
    touches: _Touches,
    referrals: tuple,
    orders: _Orders,
):
    """All clean events, sorted (:func:`_sorted_events`): signup, reach and click
    (:func:`_touch_events`), behaviour (:func:`_behaviour_events`), invite_sent and
    invite_click of every accepted invitation, a purchase per paid order, unsubscribe and
    complaint (an exponential time after signup, unseen after the period). Returns user, second, event code and raw channel arrays."""
    ev = _EventParts()
    _touch_events(ev, rng, clock, raw, people, acq, touches)
    _behaviour_events(ev, rng, clock, raw, people, signup_op, touches.act)
    # invites: inviter's invite_sent at invited_at, invitee's invite_click at its signup
    child, r_sec, r_share = referrals
    ev.add(people.parent[child], r_sec, r_share, "invite_sent")
    ev.add(child, people.signup_sec[child], r_share, "invite_click")
    # purchases
    paid = orders.paid
    ev.add(
        orders.user[paid],
        orders.sec[paid],
        raw.draw(rng, np.full(int(paid.sum()), raw.index["mini_program"])),
        "purchase",
    )
    act = touches.act
    for name, share in (("unsubscribe", 0.03), ("complaint", 0.01)):
        uu = act[rng.random(act.size) < share]
        # Time from signup ~ Exponential(OPT_OUT_MEAN_DAYS), censored at the period's end: the
        # daily rate follows the recently joined users, with no pile-up before as_of (a uniform
        # time over the remaining period crowded late signups' events into the last days).
        tt = signup_op[uu] - OPT_OUT_MEAN_DAYS * np.log1p(-rng.random(uu.size))
        chn = raw.idx(["sms", "wecom", "app_push"])[rng.integers(0, 3, uu.size)]
        names = raw.draw(rng, chn)
        seen = tt < PERIOD_DAYS
        ev.add(uu[seen], _sec(clock.wall(tt[seen])), names[seen], name)
    return _sorted_events(ev.parts, people.n, len(raw.names) + len(UNKNOWN_RAW))


def _touch_events(
    ev: _EventParts,
    rng: np.random.Generator,
    clock: _Clock,
    raw: _Raw,
    people: _People,
    acq: np.ndarray,
    touches: _Touches,
) -> None:
    """``signup`` at signup (acquisition channel), a ``reach`` per touch, and its ``click``:
    1-30 min after the reach with probability CLICK_BASE x CLICK_FATIGUE^(c - 1) (c = the
    user's reaches on that channel), never after the user's first order."""
    t_own, t_ch, t_time = touches.t_own, touches.t_ch, touches.t_time
    attr = list(CHANNEL_EFFECT)
    ev.add(np.arange(people.n), people.signup_sec, raw.draw(rng, acq), "signup")
    attr_canon = raw.idx(attr)
    ev.add(t_own, _sec(clock.wall(t_time)), raw.draw(rng, attr_canon[t_ch]), "reach")
    pair = t_own * len(attr) + t_ch
    _, pair_inv, pair_n = np.unique(pair, return_inverse=True, return_counts=True)
    p_click = CLICK_BASE * CLICK_FATIGUE ** (pair_n[pair_inv] - 1)
    c_time = t_time + (1 + rng.random(t_own.size) * 29) / 1440
    clicked = (rng.random(t_own.size) < p_click) & (c_time < PERIOD_DAYS)
    clicked &= ~(touches.buyer[t_own] & (c_time >= touches.first_buy[t_own]))
    ev.add(
        t_own[clicked],
        _sec(clock.wall(c_time[clicked])),
        raw.draw(rng, attr_canon[t_ch[clicked]]),
        "click",
    )


def _behaviour_events(
    ev: _EventParts,
    rng: np.random.Generator,
    clock: _Clock,
    raw: _Raw,
    people: _People,
    signup_op: np.ndarray,
    act: np.ndarray,
) -> None:
    """Behaviour events of the active users: Poisson counts per (user, type) by segment
    (SEGMENT_EVENTS), uniform over min(90 d, time to as_of) after signup, on a channel from
    the segment's mix (SEGMENT_CHANNEL_MIX)."""
    seg = people.seg
    counts = rng.poisson(SEGMENT_EVENTS[seg[act]])
    flat = _expand(counts.ravel())
    del counts
    b_own = act[flat // len(BEHAVIOUR_EVENTS)]
    codes = np.array([_EVENT_CODE[e] for e in BEHAVIOUR_EVENTS], np.int8)
    b_name = codes[flat % len(BEHAVIOUR_EVENTS)]
    del flat
    b_op = signup_op[b_own]
    b_time = b_op + rng.random(b_own.size) * np.minimum(90.0, PERIOD_DAYS - b_op)
    del b_op
    b_seg = seg[b_own]
    u = rng.random(b_own.size)
    b_ch = np.zeros(b_own.size, np.int64)
    for si in range(len(SEGMENT_NAMES)):
        sel = b_seg == si
        cum = np.cumsum(SEGMENT_CHANNEL_MIX[si])
        b_ch[sel] = np.searchsorted(cum / cum[-1], u[sel], side="right")
    del u, b_seg
    b_canon = raw.idx(BEHAVIOUR_CHANNELS)[b_ch.clip(0, len(BEHAVIOUR_CHANNELS) - 1)]
    del b_ch
    ev.add(b_own, _sec(clock.wall(b_time)), raw.draw(rng, b_canon), b_name)


# ----------------------------------------------------------------------------- identities, costs
def _identities(rng: np.random.Generator, people: _People):
    """openid and unionid per user, phone_hash for 70 % (1 % of organic users are second
    accounts sharing another organic user's phone), device_id for 50 % and every fraud user
    (a fraud invitee uses its inviter's device or one of 3 ring devices), as integer value
    codes; OneID persons = connected components. Returns the rows (user, id type, value code;
    sorted), the value strings, the number of persons and the duplicate-account pairs."""
    n, kind, parent = people.n, people.kind, people.parent
    phone_code = np.arange(n)
    org = np.flatnonzero(kind == 3)
    n_dup = int(round(0.01 * org.size))
    dup_pairs = (
        rng.choice(org, size=(n_dup, 2), replace=False)
        if 2 * n_dup <= org.size
        else np.empty((0, 2), np.int64)
    )
    phone_code[dup_pairs[:, 1]] = dup_pairs[:, 0]
    has_phone = rng.random(n) < 0.7
    has_phone[dup_pairs.ravel()] = True
    device_code = np.arange(n)
    fraud_invitees = people.fraud_invitees
    if people.fraud_inviters.size:
        pick = rng.integers(0, 4, fraud_invitees.size)
        _, first_of_burst = np.unique(parent[fraud_invitees], return_index=True)
        pick[first_of_burst] = 0  # the first invitee of each burst uses the inviter's device
        device_code[fraud_invitees] = np.where(pick == 0, parent[fraud_invitees], n + pick - 1)
    has_dev = rng.random(n) < 0.5
    has_dev[kind == 1] = True
    has_dev[kind == 2] = True
    ph_u, dv_u = np.flatnonzero(has_phone), np.flatnonzero(has_dev)
    i_user = np.concatenate([np.arange(n), np.arange(n), ph_u, dv_u])
    i_type = np.concatenate(
        [np.zeros(n, np.int8), np.ones(n, np.int8), np.full(ph_u.size, 2, np.int8),
         np.full(dv_u.size, 3, np.int8)]
    )  # fmt: skip
    # value codes: openid [0, n), unionid [n, 2n), phone [2n, 3n), device [3n, 4n + 3)
    i_code = np.concatenate(
        [np.arange(n), n + np.arange(n), 2 * n + phone_code[ph_u], 3 * n + device_code[dv_u]]
    )
    values = pa.concat_arrays(
        [
            _hex_ids(rng, "ou_", n),
            _hex_ids(rng, "un_", n),
            _hex_ids(rng, "ph_", n),
            _hex_ids(rng, "dv_", n + 3),
        ]
    )
    m = 4 * n + 3
    g = sparse.coo_matrix((np.ones(i_user.size), (i_user, n + i_code)), shape=(n + m, n + m))
    _, labels = connected_components(g, directed=False)
    n_persons = int(np.unique(labels[:n]).size)
    id_sort = np.lexsort((i_type, i_user))
    return i_user[id_sort], i_type[id_sort], i_code[id_sort], values, n_persons, dup_pairs


def _costs(
    rng: np.random.Generator,
    raw: _Raw,
    people: _People,
    child: np.ndarray,
    r_sec: np.ndarray,
    rewards: np.ndarray,
):
    """Spend per day and paid channel (COST_BASE x n/20000 x weekday x Gamma(20, 1/20)),
    plus the referral rewards per campaign and day of the invitation (channel ``referral``),
    sorted by (day, channel). Returns day, canonical channel, spend and campaign arrays."""
    camp = people.camp
    days = np.arange(PERIOD_DAYS)
    c_names = list(COST_BASE)
    c_day = np.repeat(days, len(c_names))
    c_ch = np.tile(np.arange(len(c_names)), PERIOD_DAYS)
    spend = (
        np.array(list(COST_BASE.values()))[c_ch] * (people.n / 20000) * WEEKDAY[(c_day + 2) % 7]
        * rng.gamma(20, 1 / 20, c_day.size)
    )  # fmt: skip
    rw = np.zeros((len(people.camp_names), PERIOD_DAYS))
    np.add.at(rw, (camp[child], np.clip(r_sec // 86400, 0, PERIOD_DAYS - 1)), rewards[camp[child]])
    nz_c, nz_d = np.nonzero(rw)
    cost_day = np.concatenate([c_day, nz_d])
    cost_canon = np.concatenate([raw.idx(c_names)[c_ch], np.full(nz_d.size, raw.index["referral"])])
    cost_spend = np.round(np.concatenate([spend, rw[nz_c, nz_d]]), 2)
    cost_camp = np.concatenate([np.full(c_day.size, -1), nz_c])
    cs = np.lexsort((cost_canon, cost_day))
    return tuple(a[cs] for a in (cost_day, cost_canon, cost_spend, cost_camp))


# ----------------------------------------------------------------------------- dirty rows
def _dirty_rows(
    rng: np.random.Generator,
    raw: _Raw,
    people: _People,
    dup_pairs: np.ndarray,
    child: np.ndarray,
    refs: tuple,
    events: tuple,
    orders: _Orders,
    act: np.ndarray,
) -> _Rows:
    """The clean rows with dirty rows appended, each breaking exactly one rule (none when
    n_users < 100 or too few candidates): users :func:`_dirty_users`, events
    :func:`_dirty_events`, orders :func:`_dirty_orders`, referrals :func:`_dirty_referrals`."""
    n, kind = people.n, people.kind
    o_cols = (orders.user, orders.sec, orders.amount, orders.status, np.arange(orders.user.size))
    rows = _Rows(np.arange(n), refs, events, o_cols, {t: {} for t in _DIRTY_TABLES}, {})
    free = np.flatnonzero((kind == 3) & ~np.isin(np.arange(n), dup_pairs.ravel()))
    slow = (people.signup_wall[child] - people.invited_wall[child] > 600 / 86400) & (
        kind[child] == 0
    )
    if n >= 100 and free.size >= 20 and orders.b_idx.size >= 5 and slow.sum() >= 2:
        pick_free = rng.choice(free, size=8, replace=False)
        users_dup = _dirty_users(rng, rows, n)
        _dirty_events(rng, raw, rows, people, act)
        _dirty_orders(rng, rows, people, orders.b_idx)
        self_u, cyc_from, conf_child = _dirty_referrals(
            rng, raw, rows, people, pick_free, free, child[slow]
        )
        uid_np = people.uid_np
        rows.details = {
            "duplicate_user_ids": sorted(uid_np[users_dup].tolist()),
            "cycle_user_ids": uid_np[cyc_from].tolist(),
            "self_referral_user_ids": sorted(uid_np[self_u].tolist()),
            "conflict_invitee_ids": sorted(uid_np[conf_child].tolist()),
            "orphan_user_ids": people.ghost.to_pylist(),
            "unknown_channels": sorted(UNKNOWN_RAW),
        }
    return rows


_DIRTY_TABLES = ("users", "referrals", "events", "orders")


def _append(columns: tuple, extra: tuple) -> tuple:
    """Column arrays with ``extra`` rows appended."""
    return tuple(np.concatenate([a, b]) for a, b in zip(columns, extra, strict=True))


def _dirty_users(rng: np.random.Generator, rows: _Rows, n: int) -> np.ndarray:
    """users: 2 exact duplicate rows (``duplicate``). Returns the duplicated users."""
    users_dup = np.sort(rng.choice(n, 2, replace=False))
    rows.u_rows = np.concatenate([rows.u_rows, users_dup])
    rows.dirty_by_table["users"]["duplicate"] = 2
    return users_dup


def _dirty_events(
    rng: np.random.Generator, raw: _Raw, rows: _Rows, people: _People, act: np.ndarray
) -> None:
    """events: 5 exact duplicates, 3 dated 2031-03 (``future_timestamp``), 4 of absent
    users (``orphan``) and 4 on unknown raw channels (``unknown_channel``, a warning)."""
    e_user, e_sec, e_name, e_ch = rows.events
    n = people.n
    mp = raw.index["mini_program"]
    ev_dup = np.sort(rng.choice(e_user.size, 5, replace=False))
    fut_u = rng.choice(act, 3)
    unk_u = rng.choice(act, 4)
    x_user = np.concatenate([e_user[ev_dup], fut_u, n + np.arange(4), unk_u])
    x_sec = np.concatenate(
        [e_sec[ev_dup], FUTURE_SEC + 3600 * np.arange(3), _sec(10 + rng.random(4) * 150),
         np.maximum(people.signup_sec[unk_u], _sec(np.full(4, 100.5)))]
    )  # fmt: skip
    x_name = np.concatenate(
        [e_name[ev_dup], np.full(7, _EVENT_CODE["visit"]), np.full(4, _EVENT_CODE["engage"])]
    ).astype(np.int8)
    x_ch = np.concatenate(
        [e_ch[ev_dup], raw.draw(rng, np.full(7, mp)), len(raw.names) + np.arange(4) % 2]
    )
    rows.events = _append(rows.events, (x_user, x_sec, x_name, x_ch))
    rows.dirty_by_table["events"] = {"duplicate": 5, "future_timestamp": 3, "orphan": 4}


def _dirty_orders(
    rng: np.random.Generator, rows: _Rows, people: _People, b_idx: np.ndarray
) -> None:
    """orders: 3 exact duplicates, 3 ``negative_amount``, 2 dated 2031-03
    (``future_timestamp``) and 2 of absent users (``orphan``; new order ids)."""
    o_user, o_sec, amount, status, _ = rows.orders
    n = people.n
    o_dup = np.sort(rng.choice(o_user.size, 3, replace=False))
    neg_u, fut_o = rng.choice(b_idx, 3), rng.choice(b_idx, 2)
    k0 = o_user.size
    xo_user = np.concatenate([o_user[o_dup], neg_u, fut_o, n + 4 + np.arange(2)])
    xo_sec = np.concatenate(
        [o_sec[o_dup], np.maximum(people.signup_sec[neg_u], _sec(np.full(3, 90.4))),
         FUTURE_SEC + 86400 * np.arange(2), _sec(20 + rng.random(2) * 100)]
    )  # fmt: skip
    xo_amount = np.concatenate(
        [
            amount[o_dup],
            -np.round(10 + rng.random(3) * 50, 2),
            np.round(20 + rng.random(4) * 80, 2),
        ]
    )
    xo_status = np.concatenate([status[o_dup], np.zeros(7, np.int8)])
    xo_id = np.concatenate([o_dup, k0 + np.arange(7)])
    rows.orders = _append(rows.orders, (xo_user, xo_sec, xo_amount, xo_status, xo_id))
    rows.dirty_by_table["orders"] = {
        "duplicate": 3,
        "negative_amount": 3,
        "future_timestamp": 2,
        "orphan": 2,
    }


def _dirty_referrals(
    rng: np.random.Generator,
    raw: _Raw,
    rows: _Rows,
    people: _People,
    pick_free: np.ndarray,
    free: np.ndarray,
    slow_children: np.ndarray,
):
    """referrals: 2 ``self_referral``, one 3-``cycle`` among organic users, 2 second
    inviters later than the accepted one (``inviter_conflict``) and 2 invitees absent from
    users (``orphan``). Returns the self-referring users, the cycle's inviters and the
    conflicting invitees."""
    signup_wall, invited_wall, n = people.signup_wall, people.invited_wall, people.n
    self_u = pick_free[:2]
    cyc_from, cyc_to = pick_free[2:5], pick_free[[3, 4, 2]]
    conf_child = rng.choice(slow_children, 2, replace=False)
    conf_t = invited_wall[conf_child] + (signup_wall[conf_child] - invited_wall[conf_child]) / 2
    cand = free[~np.isin(free, pick_free)]  # organic, signed up >= 1 day before the invite
    conf_inv = cand[(np.searchsorted(signup_wall[cand], conf_t - 1.0)).clip(1, cand.size) - 1]
    orph_inv = pick_free[5:7]
    r_at = np.concatenate(
        [_sec(signup_wall[self_u] + 1.0), _sec(signup_wall[cyc_to] - 1 / 24), _sec(conf_t),
         _sec(signup_wall[orph_inv] + 2.0)]
    )  # fmt: skip
    extra = (
        np.concatenate([self_u, cyc_from, conf_inv, orph_inv]),
        np.concatenate([self_u, cyc_to, conf_child, n + np.arange(2)]),
        r_at,
        np.full(9, -1),
        np.full(9, np.nan),
        np.full(9, raw.first[raw.index["wechat_group"]] + 1),
    )
    rows.refs = _append(rows.refs, extra)
    rows.dirty_by_table["referrals"] = {
        "self_referral": 2,
        "cycle": 3,
        "inviter_conflict": 2,
        "orphan": 2,
    }
    return self_u, cyc_from, conf_child


# ----------------------------------------------------------------------------- arrow tables
def _tables(
    rng: np.random.Generator,
    raw: _Raw,
    people: _People,
    profile: tuple,
    rows: _Rows,
    ident: tuple,
    costs: tuple,
    in_ab: np.ndarray,
    treat: np.ndarray,
) -> dict[str, pa.Table]:
    """The seven tables as pyarrow tables with dictionary-encoded strings (raw channel
    spellings; the costs' spellings are the generator's last draw)."""
    ch_dict = pa.array(raw.names + UNKNOWN_RAW, pa.string())
    camp_dict = pa.array(people.camp_names, pa.string())
    user_dict = people.user_dict
    city, gender, age, consent, acq_raw = profile
    u_rows, camp = rows.u_rows, people.camp
    r_from, r_to, r_at, r_camp, r_reward, r_ch = rows.refs
    tables = {
        "users": pa.table(
            {
                "user_id": people.uid.take(pa.array(u_rows)),
                "signup_at": _ts_array(people.signup_sec[u_rows]),
                "channel": _dict(acq_raw[u_rows], ch_dict),
                "campaign_id": _dict(camp[u_rows], camp_dict),
                "city": _dict(city[u_rows], CITIES),
                "gender": _dict(gender[u_rows], ["F", "M", "U"]),
                "age_band": _dict(age[u_rows], AGE_BANDS),
                "consent_marketing": pa.array(consent[u_rows]),
            }
        ),
        "referrals": pa.table(
            {
                "inviter_id": _dict(r_from, user_dict),
                "invitee_id": _dict(r_to, user_dict),
                "invited_at": _ts_array(r_at),
                "campaign_id": _dict(r_camp, camp_dict),
                "share_channel": _dict(r_ch, ch_dict),
                "reward": pa.array(r_reward, pa.float64(), from_pandas=True),
            }
        ),
        "events": _events_table(raw, people, rows.events, ch_dict, camp_dict),
    }
    o_user, o_sec, amount, status, o_num = rows.orders
    tables["orders"] = pa.table(
        {
            "order_id": _ids("O", o_num + 1, max(8, len(str(o_num.size + 10)))),
            "user_id": _dict(o_user, user_dict),
            "ts": _ts_array(o_sec),
            "amount": pa.array(amount, pa.float64()),
            "status": _dict(status, ["paid", "refunded"]),
        }
    )
    i_user, i_type, i_code, values = ident[:4]
    tables["identities"] = pa.table(
        {
            "user_id": _dict(i_user, user_dict),
            "id_type": _dict(i_type, ["openid", "unionid", "phone_hash", "device_id"]),
            "id_value": _dict(i_code, values),
        }
    )
    cost_day, cost_canon, cost_spend, cost_camp = costs
    tables["costs"] = pa.table(
        {
            "date": pa.array(cost_day.astype(np.int32) + DAY0, pa.date32()),
            "channel": _dict(raw.draw(rng, cost_canon), ch_dict),
            "spend": pa.array(cost_spend, pa.float64()),
            "campaign_id": _dict(cost_camp, camp_dict),
        }
    )
    a_idx = np.flatnonzero(in_ab)
    tables["assignments"] = _assignments(
        people, a_idx, [AB["experiment_id"]] * a_idx.size, treat[a_idx]
    )
    return tables


def _assignments(people: _People, idx: np.ndarray, experiment_ids: list, treat: np.ndarray):
    """Assignment rows of users ``idx`` (assigned at signup; ``treat``: in treatment)."""
    return pa.table(
        {
            "user_id": _dict(idx, people.user_dict),
            "experiment_id": pa.array(experiment_ids, pa.string()),
            "variant": _dict(np.asarray(treat).astype(np.int8), ["control", "treatment"]),
            "assigned_at": _ts_array(people.signup_sec[idx]),
        }
    )


def _events_table(
    raw: _Raw, people: _People, events: tuple, ch_dict: pa.Array, camp_dict: pa.Array
) -> pa.Table:
    """The events table: the user's campaign on every event but touches (and orphans), a
    unit ``cost`` on reaches of paid channels."""
    n = people.n
    e_user, e_sec, e_name, e_ch = events
    reach = e_name == _EVENT_CODE["reach"]
    touch = reach | (e_name == _EVENT_CODE["click"])
    e_camp = np.where(touch | (e_user >= n), -1, people.camp[np.minimum(e_user, n - 1)])
    canon_of_raw = np.concatenate([np.repeat(np.arange(len(raw.canon)), raw.count), [-1, -1]])
    unit = np.array([UNIT_COST.get(c, np.nan) for c in raw.canon] + [np.nan])
    e_cost = np.where(reach, unit[canon_of_raw[e_ch]], np.nan)
    return pa.table(
        {
            "user_id": _dict(e_user, people.user_dict),
            "ts": _ts_array(e_sec),
            "channel": _dict(e_ch, ch_dict),
            "event": _dict(e_name, EVENT_NAMES),
            "campaign_id": _dict(e_camp, camp_dict),
            "cost": pa.array(e_cost, pa.float64(), from_pandas=True),
        }
    )


# ----------------------------------------------------------------------------- truth
def _truth(
    seed: int,
    clock: _Clock,
    people: _People,
    signup_op: np.ndarray,
    rewards: np.ndarray,
    child: np.ndarray,
    touches: _Touches,
    orders: _Orders,
    ident: tuple,
    rows: _Rows,
    tables: dict[str, pa.Table],
) -> dict:
    """truth.json: the planted parameters and what was drawn (see the module docstring)."""
    n_persons, dup_pairs = ident[4], ident[5]
    uid_np, camp, in_ab = people.uid_np, people.camp, touches.in_ab
    return {
        "seed": int(seed),
        "n_users": int(people.n),
        "start": _day(0),
        "as_of": _day(PERIOD_DAYS - 1),
        "as_of_utc": str(START + np.timedelta64(PERIOD_DAYS * 24 - 8, "h")),
        "start_utc": str(START - np.timedelta64(8, "h")),
        "timezone": "Asia/Shanghai",
        "currency": "CNY",
        "referral": _referral_truth(people),
        "segments": {
            "k": len(SEGMENT_NAMES),
            "names": list(SEGMENT_NAMES),
            "features": list(BEHAVIOUR_EVENTS),
            "mean_events": {
                s: dict(zip(BEHAVIOUR_EVENTS, SEGMENT_EVENTS[i].tolist(), strict=True))
                for i, s in enumerate(SEGMENT_NAMES)
            },  # fmt: skip
            "user_segment": dict(
                zip(uid_np.tolist(), np.array(SEGMENT_NAMES)[people.seg].tolist(), strict=True)
            ),
        },
        "bgnbd": {
            **BGNBD,
            "unit": "D",
            "calibration_end": _day(CALIBRATION_DAYS),
            "observation_end": _day(PERIOD_DAYS - 1),
            "calibration_end_utc": str(START + np.timedelta64(CALIBRATION_DAYS * 24 - 8, "h")),
            "buyers": int(orders.b_idx.size),
        },  # fmt: skip
        "gamma_gamma": dict(GAMMA_GAMMA),
        "channels": _channels_truth(),
        "fraud_ring": {
            "inviters": sorted(uid_np[people.fraud_inviters].tolist()),
            "invitees": sorted(uid_np[people.fraud_invitees].tolist()),
            "campaign_id": FRAUD_CAMPAIGN,
        },
        "anomaly": {
            "date": _day(ANOMALY["day"]),
            "metric": ANOMALY["metric"],
            "factor": float(ANOMALY["factor"]),
        },  # fmt: skip
        "ab_test": _ab_truth(int(in_ab.sum())),
        "identity": {"n_persons": n_persons, "duplicate_accounts": int(dup_pairs.shape[0])},
        "campaign_economics": _economics_truth(
            clock,
            people.camp_names,
            rewards,
            camp[child],
            signup_op[child],
            in_ab[child],
            people.kind[child] == 2,
        ),  # fmt: skip
        "dirty": _dirty_truth(rows),
        "dirty_by_table": {t: dict(sorted(v.items())) for t, v in rows.dirty_by_table.items()},
        "dirty_details": rows.details,
        "rows": {t: int(tbl.num_rows) for t, tbl in tables.items()},
    }


def _referral_truth(people: _People) -> dict:
    """truth["referral"]: per campaign its offspring mean and the seeds and users kept."""
    trees = people.trees
    seeds_kept = np.bincount(trees["camp"][trees["parent"] < 0], minlength=len(trees["names"]))
    return {
        "window_days": WINDOW_DAYS,
        "campaigns": {
            c: {
                "offspring_mean": float(CAMPAIGNS[c]["m"]),
                "seeds": int(seeds_kept[i]),
                "users": int((trees["camp"] == i).sum()),
                "law": "Poisson(m * w_segment), E[w] = 1 (mixed Poisson, mean m)",
            }
            for i, c in enumerate(trees["names"])
        },
        "invite_delay": "Gamma(2, scale 3 d) truncated < 28 d; invitee signs up Exp(30 min) later",
        "referred_users": int((people.parent >= 0).sum()),
        "fraud_campaign": FRAUD_CAMPAIGN,
    }


def _channels_truth() -> dict:
    """truth["channels"]: the planted conversion effects and the click law."""
    return {
        "conversion_effect": dict(CHANNEL_EFFECT),
        "touch_events": ["reach"],
        "conversion": "first paid order",
        "law": "P(convert) = 1 - prod over reach touches (1 - effect_c); channels uniform",
        "lookback_days": 30,
        "click": {
            "base": CLICK_BASE,
            "fatigue": CLICK_FATIGUE,
            "law": "P(click | reach) = base * fatigue^(c-1), c = user's reaches on the channel",
        },
    }


def _ab_truth(n_assigned: int) -> dict:
    """truth["ab_test"] with the closed-form conversions p0 = 1 - q̄² exp(-2 (1 - q̄)) and
    p1 = 1 - (1 - p0)(1 - AB_DELTA), q̄ = mean_c(1 - effect_c)."""
    qbar = float(np.mean(1 - np.array(list(CHANNEL_EFFECT.values()))))
    p0 = 1 - qbar**TOUCH_BASE * float(np.exp(-TOUCH_MEAN_EXTRA * (1 - qbar)))
    p1 = 1 - (1 - p0) * (1 - AB_DELTA)
    return {
        "experiment_id": AB["experiment_id"],
        "variants": {
            "control": {"share": 0.5, "conversion": p0},
            "treatment": {"share": 0.5, "conversion": p1},
        },  # fmt: skip
        "lift": p1 - p0,
        "start": _day(AB["start_day"]),
        "end": _day(AB["end_day"] - 1),
        "window_days": AB["window_days"],
        "outcome": "paid order within window_days after assigned_at",
        "users": n_assigned,
    }


def _dirty_truth(rows: _Rows) -> dict[str, int]:
    """truth["dirty"]: dirty rows per loader rule over all tables (every rule listed)."""
    dirty: dict[str, int] = {}
    for t in rows.dirty_by_table.values():
        for r, c in t.items():
            dirty[r] = dirty.get(r, 0) + c
    dirty["unknown_channel"] = 4 if rows.details else 0
    for r in ("duplicate", "future_timestamp", "negative_amount", "orphan", "self_referral",
              "inviter_conflict", "cycle"):  # fmt: skip
        dirty.setdefault(r, 0)
    return dict(sorted(dirty.items()))


# ----------------------------------------------------------------------------- public API
def generate_tables(n_users: int, seed: int = 0) -> tuple[dict[str, pa.Table], dict]:
    """The raw tables as pyarrow Tables (what ``write`` writes) and the truth dict."""
    return _build(int(n_users), int(seed))


def generate_frames(n_users: int, seed: int = 0) -> tuple[dict[str, pd.DataFrame], dict]:
    """Raw tables of SPEC §3 as pandas frames (as read from the files) and the planted truth.

    Timestamps are naive local (Asia/Shanghai) ``datetime64[s]``; see the module docstring for
    every generative law. Same ``seed`` -> identical frames.
    """
    tables, truth = generate_tables(n_users, seed)
    frames = {}
    for name, tbl in tables.items():
        cols = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in tbl.columns]
        frames[name] = pa.table(cols, names=tbl.column_names).to_pandas()
    return frames, truth


def generate(n_users: int, seed: int = 0, **load_params):
    """``growthlab.data.load`` of the synthetic frames, with ``.truth`` set (SPEC §7).

    ``as_of`` defaults to truth["as_of"] (local midnight, Asia/Shanghai).
    """
    from growthlab.data import load

    frames, truth = generate_frames(n_users, seed)
    load_params.setdefault("as_of", truth["as_of"])
    ds = load(frames, **load_params)
    ds.truth = truth
    return ds


def _write_table(tbl: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(tbl, path, compression="zstd")
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(tbl, path, write_options=pcsv.WriteOptions(quoting_style="needed"))


def write(out: str | os.PathLike, n_users: int = 20000, seed: int = 0, fmt: str = "csv") -> Path:
    """Write ``<table>.csv|.parquet`` and ``truth.json`` into ``out`` atomically; return it.

    Files are built in a temporary sibling folder and renamed into place (an earlier sample in
    ``out`` is replaced). Same arguments -> byte-identical files.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tables, truth = generate_tables(n_users, seed)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        for name, tbl in tables.items():
            _write_table(tbl, tmp / f"{name}.{fmt}", fmt)
        (tmp / "truth.json").write_text(
            json.dumps(truth, sort_keys=True, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rename(out, old / "x")
        os.rename(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
