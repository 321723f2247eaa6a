"""Referral findings (section ``referral``, notebook 02_referral): what the page concludes, the
key numbers it records, the values of its sentences and its tables.

Pure functions from the results of :mod:`growthlab.referral`, :mod:`growthlab.referral_abuse`
and :mod:`growthlab.referral_outcomes`. Each ``*_section`` function returns a :class:`Section`
(numbers to record, formatted sentence values, display tables, findings) so the notebook only
shows and narrates.

Verdict rules (importance = effect × reach × confidence, :mod:`growthlab.findings`):

=========================  ===============================================  ===================
function / kind            rule                                             effect; reach
=========================  ===============================================  ===================
:func:`campaign_findings`  ``interval_verdict(k_low, k_high, 1)``: above →  |K − 1|; campaign's
``campaign_self_sustain``  self-sustaining (scale it), below → shrinks       eligible users /
``campaign_sub_critical``  each generation (judge it by acquisition cost);  all eligible users
                           includes → no finding
:func:`share_channel_      the channel with the largest K, when its         (K1 − K2) / K1;
findings`                  interval lies above the runner-up's              K1 / overall K
``best_share_channel``     (``intervals_overlap`` False); else none
:func:`concentration_      top-10 % share of invitees ≥                     (top10 − 0.1) / 0.9;
findings`                  :data:`CONCENTRATED_TOP10` → concentrated, else  referred share;
``spreaders_concentrated`` spread out (point estimates: confidence 0.5)     confidence 0.5
``spreaders_spread_out``
:func:`fraud_findings`     at least one fraud-like inviter → hold their     1; their invitees /
``fraud_like_inviters``    rewards for review (confidence 0.5: a rule, not  referred users
                           a test)
:func:`outcome_findings`   per conversion and value per user,               |Δ| / not-referred
``referred_converts_...``  ``interval_verdict(diff_low, diff_high, 0)``:    value; referred
``referred_value_...``     above → higher, below → lower; includes → none   share
:func:`funnel_findings`    the measured step with the lowest step rate,     1 − rate; referred
``invite_funnel_drop``     when its interval lies below every other         share
                           measured step's; else none
=========================  ===============================================  ===================

"Referred" means: has an accepted inviter in ``referrals``. It is not the acquisition channel
``referral`` of ``users.channel`` that the attribution page's funnels use, and the 30-day
activity here ("active on or after day 30") is not the attribution page's cohort retention.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from growthlab import i18n, metrics
from growthlab.findings import POINT_ESTIMATE_CONFIDENCE, Evidence, Finding, confidence
from growthlab.privacy import suppress_small_groups
from growthlab.referral import ForestSummary, GenerationSummary, cascade_stats, concentration
from growthlab.referral import cycle_time_summary as _cycle_time_summary
from growthlab.referral_abuse import fraud_like_summary, top_suspicious
from growthlab.stats import interval_verdict, intervals_overlap

SECTION = "referral"

#: Spreaders are "concentrated" when the top 10 % of them brought at least this share of invitees.
CONCENTRATED_TOP10 = 0.5

Pseudonymise = Callable[[pd.Series], pd.Series]


#: The sentences of the page: key -> (English, Chinese) Markdown templates whose ``{fields}``
#: are the ``text`` values of the section that names the key (filled and escaped by
#: ``report.say``).
SENTENCES: dict[str, tuple[str, str]] = {
    "forest": (
        "{referred_users} of {users} users ({referred_share}) joined through an invitation, in "
        "{cascades} cascades reaching generation {max_generation}. Excluded when loading: "
        "{self_referral} self-referral(s), {inviter_conflict} later invitation(s) of an already "
        "invited user, {cycle} row(s) forming referral cycles.",
        "{users} 名用户中有 {referred_users} 名（{referred_share}）通过邀请加入，分布在 {cascades} "
        "棵传播树中，最深到第 {max_generation} 代。加载时剔除：自己邀请自己 {self_referral} 条、"
        "对已被邀请用户的后续邀请 {inviter_conflict} 条、构成循环邀请的 {cycle} 条。",
    ),
    "k": (
        "Overall K = {k} {k_interval} over {eligible} users with a complete {window_days}-day "
        "window: on average each user brings {k} new users within {window_days} days of joining.",
        "整体 K = {k} {k_interval}（{eligible} 名已满 {window_days} 天窗口的用户）：平均每名用户"
        "在加入后 {window_days} 天内带来 {k} 名新用户。",
    ),
    "week": (
        "Users who joined in the week of {week} were the most prolific: K = {k} {k_interval}.",
        "{week} 这一周注册的用户邀请最多：K = {k} {k_interval}。",
    ),
    "decomposition": (
        "Each user sends {i} {i_interval} invitations in the window and {c} {c_interval} of "
        "invitations bring a new user: K = {i} × {c} = {k}.",
        "每名用户在窗口内发出 {i} {i_interval} 次邀请，其中 {c} {c_interval} 带来新用户："
        "K = {i} × {c} = {k}。",
    ),
    "generations": (
        "Every seed user became {amplification} users on average. Generation 0 reproduced at "
        "R = {r0}, generation 1 at R = {r1}; the deepest wave is generation {deepest}. K by "
        "generation (users whose window is complete) and amplification by campaign:",
        "平均每名种子用户最终带来 {amplification} 名用户。第 0 代的裂变倍数 R = {r0}，第 1 代 "
        "R = {r1}；最深到第 {deepest} 代。按代计算的 K（仅含窗口已满的用户）和各活动的放大倍数：",
    ),
    "cascades": (
        "Most cascades are small: {small_share} have at most 3 users. The largest has {size} "
        "users over {depth} generations (structural virality {virality}, {days} days from "
        "first to last invite).",
        "大多数传播树很小：{small_share} 不超过 3 人。最大的一棵有 {size} 人、{depth} 代"
        "（结构传播度 {virality}，从首次到最后一次邀请共 {days} 天）。",
    ),
    "cycle_time": (
        "Half of the inviters brought their first user within {median_days} days of joining; "
        "{within_week} did so within the first week.",
        "一半的邀请人在加入后 {median_days} 天内带来第一位用户；{within_week} 在第一周内完成。",
    ),
    "spreaders": (
        "{spreaders} users invited at least one person. 10 % of spreaders brought {top10} of "
        "invitees and 1 % brought {top1} (Gini {gini}).",
        "{spreaders} 名用户至少邀请了一人。前 10 % 的传播者带来 {top10} 的受邀用户，前 1 % 带来 "
        "{top1}（基尼系数 {gini}）。",
    ),
    "abuse": (
        "{suspicious} inviter(s) are suspicious; {fraud_like} look fraud-like and brought "
        "{invitees} invitees ({share} of referred users).",
        "可疑邀请人 {suspicious} 名；其中 {fraud_like} 名疑似作弊，共带来 {invitees} 名受邀用户"
        "（占受邀用户的 {share}）。",
    ),
}


@dataclass(frozen=True)
class Section:
    """What one part of the referral page shows.

    ``numbers``: catalogue id → value to record (:mod:`growthlab.metrics`); ``text``: sentence
    field → value formatted for the page's language; ``tables``: display tables (headers
    are column names with ``column.<name>`` texts, cells formatted, no missing values);
    ``findings``: the section's :class:`~growthlab.findings.Finding` list; ``sentence``: the
    key of its sentence in :data:`SENTENCES` (or None).
    """

    numbers: dict[str, Any] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    sentence: str | None = None

    @property
    def say(self) -> dict[str, str]:
        """``en``/``zh`` templates and values for ``report.say(lang, **section.say)``."""
        if self.sentence is None:
            raise ValueError("this section has no sentence")
        en, zh = SENTENCES[self.sentence]
        return {"en": en, "zh": zh, **self.text}


_SKIPPED = {
    "no_referrals": (
        "**No referrals in this source: the referral analysis is skipped.**",
        "**数据源中没有邀请记录：跳过裂变分析。**",
    ),
    "no_invites": (
        "No `invite_sent` events: the i × c split is skipped.",
        "没有“发出邀请”事件（`invite_sent`）：跳过 i × c 拆分。",
    ),
}


def skipped(reason: str) -> dict[str, str]:
    """``en``/``zh`` of the note shown when a part is skipped (``no_referrals``, ``no_invites``),
    for ``report.say(lang, **skipped(reason))``."""
    en, zh = _SKIPPED[reason]
    return {"en": en, "zh": zh}


def key_numbers(sections: Sequence[Section]) -> dict[str, Any]:
    """Every section's numbers in one dict (catalogue id → value), in page order."""
    out: dict[str, Any] = {}
    for s in sections:
        out.update(s.numbers)
    return out


def all_findings(sections: Sequence[Section]) -> list[Finding]:
    """Every section's findings, in page order."""
    return [f for s in sections for f in s.findings]


# --------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------
MISSING = "—"


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float | np.floating) and not math.isfinite(float(v)))


def _fmt(v: Any, unit: str, lang: str, currency: str | None = None, digits: int = 2) -> str:
    """``v`` in ``unit`` (:func:`growthlab.metrics.format_value`), "—" when missing."""
    if _missing(v):
        return MISSING
    return metrics.format_value(float(v), unit, lang=lang, currency=currency, digits=digits)


def _interval(lo: Any, hi: Any, unit: str, lang: str, digits: int = 2) -> str:
    """ "[lo, hi]" in ``unit`` (a difference in pp without repeating the unit), "—" when missing."""
    if _missing(lo) or _missing(hi):
        return MISSING
    if unit == "pp":
        return f"[{100 * float(lo):+.1f}, {100 * float(hi):+.1f}]"
    return f"[{_fmt(lo, unit, lang, digits=digits)}, {_fmt(hi, unit, lang, digits=digits)}]"


def _both(key: str, **fields: Any) -> tuple[str, str]:
    return i18n.t(key, "en", **fields), i18n.t(key, "zh", **fields)


def _channel(key: Any, lang: str) -> str:
    """Display name of a share channel key (``channel.<key>`` when defined, else the key)."""
    return i18n.maybe(f"channel.{key}", lang, str(key))


def _counts(series: pd.Series, lang: str) -> list[str]:
    return [_fmt(v, "count", lang) for v in series]


def _suppressed(frame: pd.DataFrame, count: str, min_group_size: int, lang: str) -> pd.DataFrame:
    label = i18n.t("ui.suppressed", lang)
    return suppress_small_groups(frame, count, min_group_size, label=label)


# --------------------------------------------------------------------------------------------
# forest and overall K
# --------------------------------------------------------------------------------------------
def forest_section(fs: ForestSummary, lang: str = "en") -> Section:
    """Referred users, cascades, the deepest generation and the rows the graph rules excluded."""
    numbers = {
        "users": fs.users,
        "referred_users": fs.referred_users,
        "referred_share": fs.referred_share,
        "cascades": fs.cascades,
        "max_generation": fs.max_generation,
    }
    text = {
        "users": _fmt(fs.users, "count", lang),
        "referred_users": _fmt(fs.referred_users, "count", lang),
        "referred_share": _fmt(fs.referred_share, "fraction", lang),
        "cascades": _fmt(fs.cascades, "count", lang),
        "max_generation": _fmt(fs.max_generation, "count", lang),
        **{r: _fmt(fs.excluded.get(r, 0), "count", lang) for r in fs.excluded},
    }
    return Section(numbers, text, sentence="forest")


def k_section(k_all: pd.DataFrame, window_days: float, lang: str = "en") -> Section:
    """Overall K (one-row :func:`growthlab.referral.k_factor` frame) and its interval."""
    row = k_all.iloc[0]
    numbers = {
        "k_factor": float(row["k"]),
        "k_factor_low": float(row["k_low"]),
        "k_factor_high": float(row["k_high"]),
    }
    text = {
        "k": _fmt(row["k"], "ratio", lang),
        "k_interval": _interval(row["k_low"], row["k_high"], "ratio", lang),
        "eligible": _fmt(row["users"], "count", lang),
        "window_days": f"{window_days:g}",
    }
    return Section(numbers, text, sentence="k")


# --------------------------------------------------------------------------------------------
# campaigns
# --------------------------------------------------------------------------------------------
def campaign_findings(
    k_campaign: pd.DataFrame, eligible_users: int, window_days: float = 30
) -> list[Finding]:
    """Self-sustaining / shrinking campaigns (module table); none when the interval includes 1.

    ``k_campaign``: :func:`growthlab.referral.k_by_campaign` (``campaign_id, users, k, k_low,
    k_high``); ``eligible_users``: users with a complete window over all campaigns and organic
    users (the reach denominator).
    """
    out = []
    for r in k_campaign.itertuples(index=False):
        verdict = interval_verdict(r.k_low, r.k_high, 1.0)
        if verdict == "includes":
            continue
        c, w = str(r.campaign_id), f"{window_days:g}"
        k, lo, hi = (_fmt(x, "ratio", "en") for x in (r.k, r.k_low, r.k_high))
        if verdict == "above":
            kind = "campaign_self_sustaining"
            en = (
                f"Campaign {c} grows by itself: each of its users brings K = {k} [{lo}, {hi}] "
                f"new users within {w} days, so every generation is larger than the last."
            )
            zh = (
                f"活动 {c} 能自我裂变：每名用户在 {w} 天内带来 K = {k} [{lo}, {hi}] 名新用户，"
                "每一代都比上一代多。"
            )
            act_en = (
                "Scale it: give it more seed users and budget, and watch its abuse signals "
                "and reward cost as it grows."
            )
            act_zh = "加大投入：给它更多种子用户和预算，同时盯住作弊信号和奖励成本。"
        else:
            kind = "campaign_sub_critical"
            en = (
                f"Campaign {c} shrinks with each generation: K = {k} [{lo}, {hi}] new users "
                f"per user within {w} days is below 1, so it grows only while new seed users "
                "are added."
            )
            zh = (
                f"活动 {c} 的裂变逐代衰减：每名用户 {w} 天内只带来 K = {k} [{lo}, {hi}] 名新用户"
                "（低于 1），只有持续投入种子用户才会增长。"
            )
            act_en = (
                "Judge it by its cost per acquired user, not as viral growth; test a stronger "
                "reward or another share channel before scaling it."
            )
            act_zh = "按获客成本评估它，不要指望裂变；扩大投放前先测试更强的奖励或其他分享渠道。"
        out.append(
            Finding(
                SECTION,
                kind,
                en,
                zh,
                subject=c,
                action_en=act_en,
                action_zh=act_zh,
                evidence=(Evidence("k_factor", float(r.k), float(r.k_low), float(r.k_high)),),
                effect=min(abs(float(r.k) - 1.0), 1.0),
                reach=float(r.users) / eligible_users if eligible_users else 0.0,
                confidence=confidence(low=r.k_low, high=r.k_high, threshold=1.0),
            )
        )
    return out


def campaign_table(k_campaign: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Display table of :func:`growthlab.referral.k_by_campaign` with the verdict in words."""
    k = k_campaign
    return pd.DataFrame(
        {
            "campaign_id": k["campaign_id"].astype(str).to_numpy(),
            "users": _counts(k["users"], lang),
            "invitees": _counts(k["invitees"], lang),
            "k": [_fmt(v, "ratio", lang) for v in k["k"]],
            "k_interval": [
                _interval(lo, hi, "ratio", lang)
                for lo, hi in zip(k["k_low"], k["k_high"], strict=True)
            ],
            "k_verdict": [i18n.t(f"verdict.k.{v}", lang) for v in k["verdict"]],
        }
    )


def campaign_section(
    k_campaign: pd.DataFrame, k_all: pd.DataFrame, window_days: float, lang: str = "en"
) -> Section:
    """K per campaign: the table, the count of self-sustaining campaigns and the findings."""
    numbers = {
        "campaigns_viral": int((k_campaign["verdict"] == "above").sum()),
        "k_by_campaign": {
            str(c): round(float(k), 3)
            for c, k in zip(k_campaign["campaign_id"], k_campaign["k"], strict=True)
        },
    }
    eligible = int(k_all["users"].iloc[0])
    return Section(
        numbers,
        tables={"k": campaign_table(k_campaign, lang)},
        findings=campaign_findings(k_campaign, eligible, window_days),
    )


# --------------------------------------------------------------------------------------------
# share channels, signup weeks, i x c
# --------------------------------------------------------------------------------------------
def share_channel_findings(k_share: pd.DataFrame, k_overall: float) -> list[Finding]:
    """The most productive share channel, when its K interval lies above the runner-up's.

    ``k_share``: :func:`growthlab.referral.k_by_share_channel` (``share_channel, k, k_low,
    k_high``); rows without K (pooled small groups) are ignored. No finding with fewer than two
    channels or overlapping intervals.
    """
    d = k_share.dropna(subset=["k"]).sort_values("k", ascending=False, kind="mergesort")
    if len(d) < 2:
        return []
    top, second = d.iloc[0], d.iloc[1]
    if intervals_overlap(top["k_low"], top["k_high"], second["k_low"], second["k_high"]):
        return []
    share = float(top["k"]) / k_overall if k_overall > 0 else float("nan")
    values = {lang: _share_channel_values(top, second, share, lang) for lang in ("en", "zh")}
    v, z = values["en"], values["zh"]
    en = (
        f"The most productive share channel is {v['ch']}: {v['k']} {v['ci']} accepted invitees "
        f"per eligible user, {v['share']} of the overall K; the next, {v['ch2']}, brings "
        f"{v['k2']} {v['ci2']}."
    )
    zh = (
        f"产出最高的分享渠道是{z['ch']}：每名合格用户带来 {z['k']} {z['ci']} 名受邀用户，"
        f"占整体 K 的 {z['share']}；其次是{z['ch2']}，{z['k2']} {z['ci2']}。"
    )
    return [
        Finding(
            SECTION,
            "best_share_channel",
            en,
            zh,
            subject=str(top["share_channel"]),
            action_en=(
                f"Put the share button and the reward message on {v['ch']} first, and test "
                "whether invitations on the other channels convert worse or are simply sent less."
            ),
            action_zh=(
                f"优先在{z['ch']}上放分享入口和奖励文案，并检验其他渠道是转化更差还是发出更少。"
            ),
            evidence=(
                Evidence("k_factor", float(top["k"]), float(top["k_low"]), float(top["k_high"])),
                Evidence("k_factor", float(second["k"]), float(second["k_low"]), None),
            ),
            effect=(float(top["k"]) - float(second["k"])) / float(top["k"]),
            reach=min(share, 1.0) if math.isfinite(share) else 0.0,
            confidence=1.0,
        )
    ]


def _share_channel_values(top: pd.Series, second: pd.Series, share: float, lang: str) -> dict:
    return {
        "ch": _channel(top["share_channel"], lang),
        "k": _fmt(top["k"], "ratio", lang, digits=3),
        "ci": _interval(top["k_low"], top["k_high"], "ratio", lang, digits=3),
        "share": _fmt(share, "fraction", lang),
        "ch2": _channel(second["share_channel"], lang),
        "k2": _fmt(second["k"], "ratio", lang, digits=3),
        "ci2": _interval(second["k_low"], second["k_high"], "ratio", lang, digits=3),
    }


def share_channel_section(
    k_share: pd.DataFrame, k_all: pd.DataFrame, min_group_size: int, lang: str = "en"
) -> Section:
    """K per share channel: table (channels with fewer than ``min_group_size`` invitees pooled)
    and the best-channel finding."""
    shown = _suppressed(k_share, "invitees", min_group_size, lang)
    table = pd.DataFrame(
        {
            "share_channel": [_channel(c, lang) for c in shown["share_channel"]],
            "invitees": _counts(shown["invitees"], lang),
            "k": [_fmt(v, "ratio", lang, digits=3) for v in shown["k"]],
            "k_interval": [
                _interval(lo, hi, "ratio", lang, digits=3)
                for lo, hi in zip(shown["k_low"], shown["k_high"], strict=True)
            ],
        }
    )
    kept = k_share.loc[k_share["invitees"] >= min_group_size]
    found = share_channel_findings(kept, float(k_all["k"].iloc[0]))
    return Section(tables={"k": table}, findings=found)


def week_section(k_week: pd.DataFrame, lang: str = "en") -> Section:
    """The signup week with the largest K (:func:`growthlab.referral.k_by_signup_week`)."""
    if not len(k_week.dropna(subset=["k"])):
        text = {"week": MISSING, "k": MISSING, "k_interval": MISSING}
        return Section(text=text, sentence="week")
    best = k_week.loc[k_week["k"].idxmax()]
    text = {
        "week": pd.Timestamp(best["signup_week"]).strftime("%Y-%m-%d"),
        "k": _fmt(best["k"], "ratio", lang),
        "k_interval": _interval(best["k_low"], best["k_high"], "ratio", lang),
    }
    return Section(text=text, sentence="week")


def decomposition_section(kd: pd.DataFrame, lang: str = "en") -> Section:
    """K = i × c (one-row :func:`growthlab.referral.k_decomposition` frame)."""
    r = kd.iloc[0]
    numbers = {"invites_per_user": float(r["i"]), "invite_conversion": float(r["c"])}
    text = {
        "i": _fmt(r["i"], "ratio", lang),
        "i_interval": _interval(r["i_low"], r["i_high"], "ratio", lang),
        "c": _fmt(r["c"], "fraction", lang),
        "c_interval": _interval(r["c_low"], r["c_high"], "fraction", lang),
        "k": _fmt(r["k"], "ratio", lang),
    }
    table = pd.DataFrame(
        {
            "users": _counts(kd["users"], lang),
            "invites": _counts(kd["invites"], lang),
            "invitees": _counts(kd["invitees"], lang),
            "invites_per_user": [_fmt(v, "ratio", lang, digits=3) for v in kd["i"]],
            "invites_per_user_interval": [
                _interval(lo, hi, "ratio", lang, digits=3)
                for lo, hi in zip(kd["i_low"], kd["i_high"], strict=True)
            ],
            "invite_conversion": [_fmt(v, "fraction", lang) for v in kd["c"]],
            "invite_conversion_interval": [
                _interval(lo, hi, "fraction", lang)
                for lo, hi in zip(kd["c_low"], kd["c_high"], strict=True)
            ],
            "k": [_fmt(v, "ratio", lang, digits=3) for v in kd["k"]],
        }
    )
    return Section(numbers, text, {"split": table}, sentence="decomposition")


# --------------------------------------------------------------------------------------------
# generations, cascades, cycle time
# --------------------------------------------------------------------------------------------
def generation_section(gs: GenerationSummary, min_group_size: int, lang: str = "en") -> Section:
    """Amplification, R of generations 0 and 1, K per generation and amplification per
    campaign (campaigns with fewer than ``min_group_size`` seeds pooled)."""
    gen = gs.generations.set_index("generation")["r"]
    text = {
        "amplification": _fmt(gs.amplification, "ratio", lang),
        "r0": _fmt(gen.get(0, float("nan")), "ratio", lang),
        "r1": _fmt(gen.get(1, float("nan")), "ratio", lang),
        "deepest": _fmt(gs.generations["generation"].max(), "count", lang),
    }
    k = gs.k
    tables = {
        "k": pd.DataFrame(
            {
                "generation": k["generation"].astype(int).to_numpy(),
                "users": _counts(k["users"], lang),
                "invitees": _counts(k["invitees"], lang),
                "k": [_fmt(v, "ratio", lang) for v in k["k"]],
                "k_interval": [
                    _interval(lo, hi, "ratio", lang)
                    for lo, hi in zip(k["k_low"], k["k_high"], strict=True)
                ],
            }
        )
    }
    if gs.by_campaign is not None:
        amp = _suppressed(gs.by_campaign, "seeds", min_group_size, lang)
        tables["campaigns"] = pd.DataFrame(
            {
                "campaign_id": amp["campaign_id"].astype(str).to_numpy(),
                "seeds": _counts(amp["seeds"], lang),
                "users": _counts(amp["users"], lang),
                "amplification": [_fmt(v, "ratio", lang) for v in amp["amplification"]],
            }
        )
    return Section({"amplification": gs.amplification}, text, tables, sentence="generations")


def cascade_section(
    cas: pd.DataFrame, top_n: int, pseudonymise: Pseudonymise, lang: str = "en"
) -> Section:
    """Cascade distribution, the ``top_n`` largest cascades (seeds pseudonymised) and the
    largest one described in a sentence (:func:`growthlab.referral.cascades` input)."""
    if not len(cas):
        return Section()
    stats = cascade_stats(cas)
    stats_table = pd.DataFrame(
        {
            "cascade_measure": [i18n.t(f"cascade.{m}", lang) for m in stats["measure"]],
            **{
                f"cascade_{c}": [_fmt(v, "ratio", lang) for v in stats[c]]
                for c in ("mean", "median", "p90", "p99", "max")
            },
        }
    )
    top = cas.head(top_n)
    days = top["duration"] / pd.Timedelta(days=1)
    top_table = pd.DataFrame(
        {
            "seed": pseudonymise(top["root"]).to_numpy(),
            **(
                {"campaign_id": top["campaign_id"].fillna(MISSING).astype(str).to_numpy()}
                if "campaign_id" in top
                else {}
            ),
            "cascade_size": _counts(top["size"], lang),
            "cascade_depth": _counts(top["depth"], lang),
            "max_breadth": _counts(top["max_breadth"], lang),
            "structural_virality": [_fmt(v, "ratio", lang) for v in top["structural_virality"]],
            "duration_days": [_fmt(v, "ratio", lang, digits=1) for v in days],
        }
    )
    big = cas.iloc[0]
    numbers = {
        "largest_cascade": int(big["size"]),
        "mean_structural_virality": float(cas["structural_virality"].mean()),
    }
    text = {
        "small_share": _fmt(float((cas["size"] <= 3).mean()), "fraction", lang),
        "size": _fmt(big["size"], "count", lang),
        "depth": _fmt(big["depth"], "count", lang),
        "virality": _fmt(big["structural_virality"], "ratio", lang),
        "days": _fmt(big["duration"] / pd.Timedelta(days=1), "ratio", lang, digits=1),
    }
    tables = {"distribution": stats_table, "largest": top_table}
    return Section(numbers, text, tables, sentence="cascades")


def cycle_time_section(ct: pd.DataFrame, lang: str = "en") -> Section:
    """Median days from signup to the first successful invitation and the share within a week
    (:func:`growthlab.referral.cycle_time` input)."""
    s = _cycle_time_summary(ct, within_days=7)
    numbers = {"cycle_time_median_days": s["median_days"]} if s["inviters"] else {}
    text = {
        "median_days": _fmt(s["median_days"], "ratio", lang, digits=1),
        "within_week": _fmt(s["within_share"], "fraction", lang),
    }
    return Section(numbers, text, sentence="cycle_time")


# --------------------------------------------------------------------------------------------
# spreaders
# --------------------------------------------------------------------------------------------
def concentration_findings(
    conc: dict[str, float],
    referred_share: float,
    *,
    flagged_in_top: int = 0,
    top_n: int = 0,
    top10_without_flagged: float | None = None,
) -> list[Finding]:
    """Concentrated or spread-out spreaders (module table), with a caution when fraud-like
    inviters are among the ``top_n`` spreaders (``flagged_in_top`` of them).

    ``conc``: :func:`growthlab.referral.concentration` of direct invitees per spreader.
    """
    if not conc.get("n"):
        return []
    top10, top1, g = conc["top_10pct"], conc["top_1pct"], conc["gini"]
    t10_en, t1_en = _fmt(top10, "fraction", "en"), _fmt(top1, "fraction", "en")
    g_txt = _fmt(g, "ratio", "en")
    if top10 >= CONCENTRATED_TOP10:
        kind = "spreaders_concentrated"
        en = (
            f"Invitations are concentrated: the top 10 % of spreaders brought {t10_en} of "
            f"invitees and the top 1 % brought {t1_en} (Gini {g_txt})."
        )
        zh = (
            f"邀请高度集中：前 10 % 的传播者带来了 {t10_en} 的受邀用户，前 1 % 带来 {t1_en}"
            f"（基尼系数 {g_txt}）。"
        )
        act_en = (
            "Run a KOC programme: recognise and retain the top spreaders, and check them for "
            "abuse before paying their rewards."
        )
        act_zh = "建立 KOC 运营：识别并维护头部传播者，发放奖励前先核查是否作弊。"
    else:
        kind = "spreaders_spread_out"
        en = (
            f"Invitations are spread across many users: the top 10 % of spreaders brought "
            f"{t10_en} of invitees and the top 1 % brought {t1_en} (Gini {g_txt})."
        )
        zh = (
            f"邀请分散在大量用户中：前 10 % 的传播者带来 {t10_en} 的受邀用户，前 1 % 带来 "
            f"{t1_en}（基尼系数 {g_txt}）。"
        )
        act_en = (
            "Growth does not hinge on a few KOCs: reward sharing broadly (e.g. a reward for "
            "every inviter's first accepted invitation)."
        )
        act_zh = "增长不依赖少数 KOC：面向所有用户激励分享（例如每位邀请人首次邀请成功即奖励）。"
    if flagged_in_top:
        rest = _fmt(top10_without_flagged, "fraction", "en")
        en += (
            f" {flagged_in_top} of the top {top_n} spreaders look fraud-like; without them the "
            f"top 10 % brought {rest}."
        )
        zh += f"前 {top_n} 名传播者中有 {flagged_in_top} 名疑似作弊；剔除后前 10 % 带来 {rest}。"
    return [
        Finding(
            SECTION,
            kind,
            en,
            zh,
            action_en=act_en,
            action_zh=act_zh,
            evidence=(
                Evidence("top10_share", top10),
                Evidence("top1_share", top1),
                Evidence("spreader_gini", g),
            ),
            effect=max(top10 - 0.1, 0.0) / 0.9,
            reach=referred_share if math.isfinite(referred_share) else 0.0,
            confidence=POINT_ESTIMATE_CONFIDENCE,
        )
    ]


def spreader_section(
    spreaders: pd.DataFrame,
    suspicious: pd.DataFrame,
    fs: ForestSummary,
    top_n: int,
    pseudonymise: Pseudonymise,
    lang: str = "en",
) -> Section:
    """Concentration of invitees over spreaders (:func:`growthlab.referral.spreaders`), the
    ``top_n`` spreaders with their abuse flag (``suspicious``: referral_abuse table); ``fs``
    gives the referred share (the findings' reach)."""
    conc = concentration(spreaders["direct_invitees"])
    fraud_ids = set(suspicious.loc[suspicious["fraud_like"], "inviter_id"].astype(str))
    top = spreaders.head(top_n)
    flagged = top["user_id"].astype(str).isin(fraud_ids).to_numpy()
    clean = spreaders.loc[~spreaders["user_id"].astype(str).isin(fraud_ids), "direct_invitees"]
    found = concentration_findings(
        conc,
        fs.referred_share,
        flagged_in_top=int(flagged.sum()),
        top_n=len(top),
        top10_without_flagged=concentration(clean)["top_10pct"] if flagged.any() else None,
    )
    table = pd.DataFrame(
        {
            "spreader": pseudonymise(top["user_id"]).to_numpy(),
            "direct_invitees": _counts(top["direct_invitees"], lang),
            "descendants": _counts(top["descendants"], lang),
            "generation": top["generation"].astype(int).to_numpy(),
            "seed": pseudonymise(top["root"]).to_numpy(),
            "fraud_flag": [i18n.t("flag.fraud_like" if f else "flag.none", lang) for f in flagged],
        }
    )
    numbers = {
        "top10_share": conc["top_10pct"],
        "top1_share": conc["top_1pct"],
        "spreader_gini": conc["gini"],
    }
    text = {
        "spreaders": _fmt(conc["n"], "count", lang),
        "top10": _fmt(conc["top_10pct"], "fraction", lang),
        "top1": _fmt(conc["top_1pct"], "fraction", lang),
        "gini": _fmt(conc["gini"], "ratio", lang),
    }
    return Section(numbers, text, {"top": table}, found, sentence="spreaders")


# --------------------------------------------------------------------------------------------
# invite funnel
# --------------------------------------------------------------------------------------------
_DROP_ACTIONS = {
    "invite_click": (
        "Make the shared card worth opening (message, picture, the reward shown up front): "
        "most invitations are never clicked.",
        "让分享卡片更值得点开（文案、图片、奖励前置）：大多数邀请从未被点击。",
    ),
    "signup": (
        "Shorten the way from the click to the account (one-tap WeChat login, the reward "
        "shown on the landing page).",
        "缩短从点击到注册的路径（微信一键登录、落地页直接展示奖励）。",
    ),
    "first_paid_order": (
        "Give invitees a first-order offer and remind them within their first week.",
        "给受邀人首单优惠，并在注册第一周内提醒下单。",
    ),
}


def funnel_findings(funnel: pd.DataFrame, referred_share: float) -> list[Finding]:
    """The largest drop of the invite funnel (:func:`growthlab.referral_outcomes.invite_funnel`):
    the measured step with the lowest step rate, when its interval lies below the interval of
    every other measured step. No finding with fewer than two measured steps."""
    m = funnel.dropna(subset=["step_rate"]).sort_values("step_rate", kind="mergesort")
    if len(m) < 2:
        return []
    worst = m.iloc[0]
    others = m.iloc[1:]
    if any(
        intervals_overlap(worst["step_low"], worst["step_high"], lo, hi)
        for lo, hi in zip(others["step_low"], others["step_high"], strict=True)
    ):
        return []
    step = str(worst["step"])
    prev = funnel["step"].iloc[list(funnel["step"]).index(step) - 1]
    second = others.iloc[0]
    vals = {
        lang: {
            "s": i18n.maybe(f"step.invite.{step}", lang, step),
            "p": i18n.maybe(f"step.invite.{prev}", lang, str(prev)),
            "r": _fmt(worst["step_rate"], "fraction", lang),
            "ci": _interval(worst["step_low"], worst["step_high"], "fraction", lang),
            "s2": i18n.maybe(f"step.invite.{second['step']}", lang, str(second["step"])),
            "r2": _fmt(second["step_rate"], "fraction", lang),
        }
        for lang in ("en", "zh")
    }
    v, z = vals["en"], vals["zh"]
    act_en, act_zh = _DROP_ACTIONS.get(step, ("Work on this step first.", "优先改进这一步。"))
    return [
        Finding(
            SECTION,
            "invite_funnel_drop",
            f"The invite funnel loses most at '{v['s']}': only {v['r']} {v['ci']} of "
            f"'{v['p']}' get there (next weakest step: '{v['s2']}', {v['r2']}).",
            f"邀请漏斗流失最大的环节是「{z['s']}」：「{z['p']}」中只有 {z['r']} {z['ci']} "
            f"到达这一步（其次是「{z['s2']}」，{z['r2']}）。",
            subject=step,
            action_en=act_en,
            action_zh=act_zh,
            evidence=(
                Evidence(
                    "invite_step_rate",
                    float(worst["step_rate"]),
                    float(worst["step_low"]),
                    float(worst["step_high"]),
                ),
            ),
            effect=1.0 - float(worst["step_rate"]),
            reach=referred_share if math.isfinite(referred_share) else 0.0,
            confidence=1.0,
        )
    ]


def funnel_section(funnel: pd.DataFrame, fs: ForestSummary, lang: str = "en") -> Section:
    """Invite funnel table (rates that cannot be measured say why), ``invite_to_paid`` when the
    funnel starts at invite_sent, and the largest-drop finding (reach: ``fs.referred_share``)."""
    rate = [
        i18n.t(f"note.invite.{n}", lang) if n else _fmt(r, "fraction", lang)
        for r, n in zip(funnel["step_rate"], funnel["note"], strict=True)
    ]
    rate[0] = MISSING
    table = pd.DataFrame(
        {
            "invite_step": [i18n.maybe(f"step.invite.{s}", lang, str(s)) for s in funnel["step"]],
            "invite_count": _counts(funnel["count"], lang),
            "invite_step_rate": rate,
            "invite_step_interval": [
                _interval(lo, hi, "fraction", lang)
                for lo, hi in zip(funnel["step_low"], funnel["step_high"], strict=True)
            ],
            "invite_overall_rate": [_fmt(v, "fraction", lang) for v in funnel["overall_rate"]],
        }
    )
    numbers = {}
    if len(funnel) and funnel["step"].iloc[0] == "invite_sent":
        numbers["invite_to_paid"] = float(funnel["overall_rate"].iloc[-1])
    return Section(numbers, {}, {"funnel": table}, funnel_findings(funnel, fs.referred_share))


# --------------------------------------------------------------------------------------------
# abuse
# --------------------------------------------------------------------------------------------
def fraud_findings(summary: dict[str, float]) -> list[Finding]:
    """At least one fraud-like inviter → hold their rewards for review (module table).

    ``summary``: :func:`growthlab.referral_abuse.fraud_like_summary`.
    """
    n = int(summary["fraud_like"])
    if n == 0:
        return []
    m = _fmt(summary["fraud_like_invitees"], "count", "en")
    share = _fmt(summary["fraud_like_invitees_share"], "fraction", "en")
    return [
        Finding(
            SECTION,
            "fraud_like_inviters",
            f"{n} inviters look fraud-like (two or more of: bursts of invitees, invitees who "
            f"share their identity, invitees never active); they brought {m} invitees, "
            f"{share} of referred users.",
            f"{n} 名邀请人疑似作弊（短时集中邀请、受邀人身份重合、受邀人从不活跃中至少两项），"
            f"共带来 {m} 名受邀用户，占受邀用户的 {share}。",
            action_en=(
                "Hold their rewards until reviewed, and leave their invitees out when judging "
                "campaigns."
            ),
            action_zh="暂停发放他们的奖励，审核后再处理；评估活动效果时剔除其受邀用户。",
            evidence=(
                Evidence("fraud_like_inviters", n),
                Evidence("fraud_like_invitees_share", summary["fraud_like_invitees_share"]),
            ),
            effect=1.0,
            reach=float(summary["fraud_like_invitees_share"]),
            confidence=POINT_ESTIMATE_CONFIDENCE,
        )
    ]


def abuse_section(
    suspicious: pd.DataFrame,
    fs: ForestSummary,
    top_n: int,
    pseudonymise: Pseudonymise,
    lang: str = "en",
) -> Section:
    """Suspicious and fraud-like inviters (:func:`growthlab.referral_abuse.suspicious_inviters`
    table): counts, the ``top_n`` rows (inviters pseudonymised) and the fraud finding; ``fs``
    gives the referred users (the share's denominator)."""
    s = fraud_like_summary(suspicious, fs.referred_users)
    numbers = {
        "suspicious_inviters": s["suspicious"],
        "fraud_like_inviters": s["fraud_like"],
        "fraud_like_invitees_share": s["fraud_like_invitees_share"],
    }
    text = {
        "suspicious": _fmt(s["suspicious"], "count", lang),
        "fraud_like": _fmt(s["fraud_like"], "count", lang),
        "invitees": _fmt(s["fraud_like_invitees"], "count", lang),
        "share": _fmt(s["fraud_like_invitees_share"], "fraction", lang),
    }
    shown = top_suspicious(suspicious.loc[suspicious["suspicious"]], top_n, pseudonymise)
    for c in ("invitees", "max_burst", "shared_identity", "inactive_invitees"):
        shown[c] = _counts(shown[c], lang)
    return Section(numbers, text, {"inviters": shown}, fraud_findings(s), sentence="abuse")


# --------------------------------------------------------------------------------------------
# referred vs not referred
# --------------------------------------------------------------------------------------------
_OUTCOME_TEXT = {
    ("conversion", "below"): (
        "referred_converts_less",
        "Referred users pay less often: {a} of referred users (accepted invitation) paid at "
        "least once so far, against {b} of users not referred, a difference of {d} {ci}.",
        "受邀用户付费更少：受邀用户（接受邀请注册）中至今有 {a} 付过费，非受邀用户为 {b}，"
        "差值 {d} {ci}。",
        "Reward the inviter on the invitee's first paid order rather than on signup, and find "
        "which campaigns bring invitees who never pay.",
        "把邀请奖励改为在受邀人首次付费后发放，而不是注册即发，并找出带来不付费受邀人的活动。",
    ),
    ("conversion", "above"): (
        "referred_converts_more",
        "Referred users pay more often: {a} of referred users (accepted invitation) paid at "
        "least once so far, against {b} of users not referred, a difference of {d} {ci}.",
        "受邀用户付费更多：受邀用户（接受邀请注册）中至今有 {a} 付过费，非受邀用户为 {b}，"
        "差值 {d} {ci}。",
        "Grow the referral programme: invited users buy more readily than others.",
        "扩大邀请裂变：受邀用户比其他用户更容易付费。",
    ),
    ("value_per_user", "below"): (
        "referred_value_lower",
        "Referred users are worth less so far: {a} paid revenue per referred user against {b} "
        "per user not referred, a difference of {d} {ci}.",
        "受邀用户目前价值更低：受邀用户人均付费 {a}，非受邀用户 {b}，差值 {d} {ci}。",
        "Keep the reward per invitee well below a referred user's value, and judge campaigns "
        "by their invitees' revenue, not by invitee counts.",
        "每个受邀人的奖励要明显低于受邀用户的价值；按受邀人带来的收入而不是人数评估活动。",
    ),
    ("value_per_user", "above"): (
        "referred_value_higher",
        "Referred users are worth more so far: {a} paid revenue per referred user against {b} "
        "per user not referred, a difference of {d} {ci}.",
        "受邀用户目前价值更高：受邀用户人均付费 {a}，非受邀用户 {b}，差值 {d} {ci}。",
        "A higher reward per invitee still pays off: referred users bring more revenue.",
        "提高每个受邀人的奖励仍然划算：受邀用户带来更多收入。",
    ),
}


def outcome_findings(
    rvo: pd.DataFrame, referred_share: float, currency: str | None = None
) -> list[Finding]:
    """Referred vs not referred users for conversion and value per user (module table).

    ``rvo``: :func:`growthlab.referral_outcomes.referred_vs_organic` (long format with the
    ``difference`` rows). No finding when the difference's interval includes 0.
    """
    out = []
    val = rvo.set_index(["metric", "group"])
    for metric in ("conversion", "value_per_user"):
        if (metric, "difference") not in val.index:
            continue
        d = val.loc[(metric, "difference")]
        verdict = interval_verdict(d["low"], d["high"], 0.0)
        if verdict == "includes":
            continue
        kind, en, zh, act_en, act_zh = _OUTCOME_TEXT[(metric, verdict)]
        a, b = val.loc[(metric, "referred"), "value"], val.loc[(metric, "organic"), "value"]
        unit, diff_unit = ("fraction", "pp") if metric == "conversion" else ("currency",) * 2
        fields = {
            lang: {
                "a": _fmt(a, unit, lang, currency),
                "b": _fmt(b, unit, lang, currency),
                "d": _fmt(d["value"], diff_unit, lang, currency),
                "ci": _interval(d["low"], d["high"], diff_unit, lang),
            }
            for lang in ("en", "zh")
        }
        out.append(
            Finding(
                SECTION,
                kind,
                en.format(**fields["en"]),
                zh.format(**fields["zh"]),
                action_en=act_en,
                action_zh=act_zh,
                evidence=(
                    Evidence(f"{metric}_referred", float(a)),
                    Evidence(f"{metric}_not_referred", float(b)),
                    Evidence(
                        f"{metric}_difference", float(d["value"]), float(d["low"]), float(d["high"])
                    ),
                ),
                effect=min(abs(float(d["value"])) / abs(float(b)), 1.0) if b else 1.0,
                reach=referred_share if math.isfinite(referred_share) else 0.0,
                confidence=confidence(low=d["low"], high=d["high"], threshold=0.0),
            )
        )
    return out


def outcome_table(
    rvo: pd.DataFrame, min_group_size: int, currency: str | None = None, lang: str = "en"
) -> pd.DataFrame:
    """One row per outcome: referred and not-referred values with intervals, the difference
    with its interval and p-value, and the users counted; a group with fewer than
    ``min_group_size`` users shows "—"."""
    val = rvo.set_index(["metric", "group"])
    rows = []
    for metric in dict.fromkeys(rvo["metric"]):
        unit, diff_unit = (
            ("currency", "currency") if metric == "value_per_user" else ("fraction", "pp")
        )
        cells = {}
        for g, col in (("referred", "referred_value"), ("organic", "not_referred_value")):
            r = val.loc[(metric, g)]
            ok = r["users"] >= min_group_size
            cells[col] = (
                f"{_fmt(r['value'], unit, lang)} {_interval(r['low'], r['high'], unit, lang)}"
                if ok
                else MISSING
            )
            cells[col.replace("_value", "_n")] = _fmt(r["users"], "count", lang) if ok else MISSING
        d = val.loc[(metric, "difference")]
        both = all(val.loc[(metric, g), "users"] >= min_group_size for g in ("referred", "organic"))
        rows.append(
            {
                "outcome": i18n.t(f"outcome.{metric}", lang, currency=currency or "")
                if f"outcome.{metric}" in i18n.TEXT
                else str(metric),
                "referred_value": cells["referred_value"],
                "not_referred_value": cells["not_referred_value"],
                "referred_minus_not": (
                    f"{_fmt(d['value'], diff_unit, lang)} "
                    f"{_interval(d['low'], d['high'], diff_unit, lang)}"
                    if both
                    else MISSING
                ),
                "difference_p_value": format_p(d["p_value"]) if both else MISSING,
                "referred_n": cells["referred_n"],
                "not_referred_n": cells["not_referred_n"],
            }
        )
    return pd.DataFrame(rows)


def format_p(p: Any) -> str:
    """A p-value for readers: "< 0.001", else three decimals; "—" when missing."""
    if _missing(p):
        return MISSING
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def outcome_section(
    rvo: pd.DataFrame,
    fs: ForestSummary,
    min_group_size: int,
    currency: str | None = None,
    lang: str = "en",
) -> Section:
    """Referred vs not referred: the table, the recorded numbers and the findings (reach:
    ``fs.referred_share``)."""
    val = rvo.set_index(["metric", "group"])["value"]
    numbers = {
        "conversion_referred": float(val[("conversion", "referred")]),
        "conversion_organic": float(val[("conversion", "organic")]),
    }
    if ("retention_30d", "referred") in val.index:
        numbers["still_active_day30_referred"] = float(val[("retention_30d", "referred")])
        numbers["still_active_day30_organic"] = float(val[("retention_30d", "organic")])
    numbers["value_diff_referred_minus_organic"] = float(val[("value_per_user", "difference")])
    return Section(
        numbers,
        tables={"outcomes": outcome_table(rvo, min_group_size, currency, lang)},
        findings=outcome_findings(rvo, fs.referred_share, currency),
    )
