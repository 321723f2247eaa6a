"""Funnel, retention and reach-timing findings (section ``funnel``).

Pure functions from :mod:`growthlab.funnel` results to ``list[Finding]`` (importance rule:
:mod:`growthlab.findings`). Every comparison of rates goes through
:func:`growthlab.stats.interval_verdict` or :func:`growthlab.stats.intervals_overlap`: when the
95 % interval includes the threshold (or two intervals overlap) there is no finding.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from growthlab import i18n, metrics
from growthlab.findings import POINT_ESTIMATE_CONFIDENCE, Evidence, Finding
from growthlab.funnel import Completion, DropOff, FatigueContrast, PeakTime, RetentionContrast
from growthlab.stats import interval_verdict, intervals_overlap

SECTION = "funnel"


def step_name(step: str, lang: str = "en") -> str:
    """Display name of a funnel step (``step.<event>`` in :mod:`growthlab.i18n`, else as is)."""
    return i18n.maybe(f"step.{step}", lang, str(step))


#: Group columns holding canonical channel keys: their values are shown by display name.
CHANNEL_COLUMNS = frozenset({"channel", "share_channel", "first_channel", "last_channel"})


def group_name(value: Any, by: str, lang: str = "en") -> str:
    """Display name of a group value of column ``by``: channel keys by ``channel.<key>``, other
    values (campaigns, names from the data) as they are."""
    if by in CHANNEL_COLUMNS:
        return i18n.name("channel", value, lang)
    return str(value)


def period_name(period: int, unit: str, lang: str = "en") -> str:
    """ "week 4" / "第 4 周" for retention period ``period`` of unit ``W`` or ``M``."""
    return i18n.t(f"period.{unit}", lang, n=int(period))


def period_fields(period: int, unit: str) -> dict[str, str]:
    """Label fields ``period``/``period_zh`` of the cohort-retention metrics."""
    return {"period": period_name(period, unit, "en"), "period_zh": period_name(period, unit, "zh")}


def _pct(v: float, lang: str) -> str:
    return metrics.format_value(v, "fraction", lang=lang)


def _int(v: float, lang: str) -> str:
    return metrics.format_value(v, "count", lang=lang)


#: (English, Chinese) templates of the findings below; ``{fields}`` are filled per language.
TEMPLATES: dict[str, tuple[str, str]] = {
    "drop": (
        "The funnel loses the most users between {a} and {b}: {drop} of the {n} users who "
        "reached {a} ({lost} users; 95 % CI {lo} to {hi}) do not reach {b} within {w} days.",
        "漏斗流失最多的一步是从{a}到{b}：到达{a}的 {n} 名用户中有 {drop}（{lost} 人；95% 置信区间 "
        "{lo} 至 {hi}）没有在 {w} 天内到达{b}。",
    ),
    "drop_action": (
        "Work on the {a} → {b} step first: it loses more users than any other.",
        "优先优化从{a}到{b}这一步：它流失的用户比其他任何一步都多。",
    ),
    "group_best": (
        "Users from {by} {g} complete the funnel most often: {c} reach the last step (95 % CI "
        "{lo} to {hi}), against {all} of all users.",
        "{by}「{g}」的用户漏斗完成率最高：{c} 的用户走完漏斗（95% 置信区间 {lo} 至 {hi}），整体为 "
        "{all}。",
    ),
    "group_best_action": (
        "Give {g} a larger share of acquisition effort, and find out what its users do "
        "differently to apply it to the other groups.",
        "加大{g}的获客投入，并找出这部分用户的不同之处，推广到其他群体。",
    ),
    "group_worst": (
        "Users from {by} {g} complete the funnel least often: {c} reach the last step (95 % CI "
        "{lo} to {hi}), against {all} of all users; their largest drop-off is {a} → {b} ({d}).",
        "{by}「{g}」的用户漏斗完成率最低：{c} 的用户走完漏斗（95% 置信区间 {lo} 至 {hi}），整体为 "
        "{all}；他们流失最大的一步是从{a}到{b}（{d}）。",
    ),
    "group_worst_action": (
        "Review {g}'s {a} → {b} step (landing page, offer, onboarding) before adding spend there.",
        "在给{g}加投之前，先检查它从{a}到{b}这一步（落地页、优惠、新手引导）。",
    ),
    "retention_higher": (
        "Users acquired through the referral channel stay longer: {a} are active in {p} after "
        "signup (95 % CI {alo} to {ahi}) against {b} of users from other channels ({blo} to "
        "{bhi}).",
        "邀请渠道获客的用户留存更好：注册后{p}仍有 {a} 活跃（95% 置信区间 {alo} 至 {ahi}），"
        "其他渠道用户为 {b}（{blo} 至 {bhi}）。",
    ),
    "retention_higher_action": (
        "Count this retention in the value of the referral channel when setting its rewards "
        "and budget.",
        "设定邀请奖励和预算时，把这部分留存优势计入邀请渠道的价值。",
    ),
    "retention_lower": (
        "Users acquired through the referral channel leave sooner: {a} are active in {p} after "
        "signup (95 % CI {alo} to {ahi}) against {b} of users from other channels ({blo} to "
        "{bhi}).",
        "邀请渠道获客的用户流失更快：注册后{p}仅 {a} 活跃（95% 置信区间 {alo} 至 {ahi}），"
        "其他渠道用户为 {b}（{blo} 至 {bhi}）。",
    ),
    "retention_lower_action": (
        "Check whether referral rewards attract one-off reward hunters; add onboarding for "
        "invited users, or reward the inviter only after the invitee stays active.",
        "检查邀请奖励是否吸引了只为领奖的用户；为受邀用户增加新手引导，或在受邀人持续活跃后再给邀请人奖励。",
    ),
    "fatigue": (
        "Each extra weekly contact earns fewer responses: users contacted {k0_times} a week "
        "respond to {r0} of contacts, users contacted {k1} or more times only to {r1} (95 % "
        "intervals do not overlap).",
        "每周多触达一次，收到的响应就更少：每周触达 {k0_times}的用户，每次触达的响应率为 {r0}；"
        "每周触达 {k1} 次及以上时只有 {r1}（95% 区间不重叠）。",
    ),
    "fatigue_action": (
        "Cap marketing contacts at {cap} per user and week ({share} of user-weeks are above it "
        "now) and spend the saved reach on users not contacted yet.",
        "把营销触达限制在每人每周 {cap} 次以内（目前 {share} 的用户周超过这一上限），"
        "把省下的触达用于尚未触达的用户。",
    ),
    "peak": (
        "Engagement peaks at {h}:00 local time ({tz}): {share} of engagement events fall in "
        "that hour (95 % CI {lo} to {hi}), against {even} for an even spread; the busiest slot "
        "of the week is {day} {dh}:00, the quietest hour {q}:00.",
        "互动高峰在当地时间（{tz}）{h}:00：{share} 的互动事件发生在这一小时（95% 置信区间 {lo} 至 "
        "{hi}），均匀分布时应为 {even}；一周中最繁忙的时段是{day} {dh}:00，最冷清的是 {q}:00。",
    ),
    "peak_action": (
        "Schedule pushes, posts and group messages to arrive between {before}:00 and {h}:00.",
        "把推送、朋友圈和社群消息安排在 {before}:00 至 {h}:00 之间送达。",
    ),
}


def _finding(kind: str, values: Any, **fields: Any) -> Finding:
    """A funnel-section finding whose statement/action are ``TEMPLATES[kind]`` /
    ``TEMPLATES[kind + "_action"]`` filled with ``values(lang)``."""
    key = fields.pop("template", kind)
    en, zh = (TEMPLATES[key][i].format(**values(lang)) for i, lang in enumerate(("en", "zh")))
    action = TEMPLATES[f"{key}_action"]
    return Finding(
        section=SECTION,
        kind=kind,
        en=en,
        zh=zh,
        action_en=action[0].format(**values("en")),
        action_zh=action[1].format(**values("zh")),
        **fields,
    )


def largest_drop(drop: DropOff, *, window_days: float) -> list[Finding]:
    """The step that loses the most users, with the suggestion to work on it first.

    Rule: one finding when the drop-off is > 0. effect = drop-off (1 − users_k / users_{k−1});
    reach = users at the step before / users at the first step; confidence = 1 when the
    drop-off's 95 % interval does not overlap the runner-up's (it is measurably the largest),
    else the point-estimate confidence.
    """
    if not drop.drop_off > 0:
        return []
    separated = not intervals_overlap(drop.low, drop.high, drop.runner_up_low, drop.runner_up_high)

    def values(lang: str) -> dict[str, Any]:
        return {
            "a": step_name(drop.from_step, lang),
            "b": step_name(drop.to_step, lang),
            "drop": _pct(drop.drop_off, lang),
            "lo": _pct(drop.low, lang),
            "hi": _pct(drop.high, lang),
            "n": _int(drop.from_users, lang),
            "lost": _int(drop.lost_users, lang),
            "w": f"{window_days:g}",
        }

    return [
        _finding(
            "funnel_largest_drop_off",
            values,
            template="drop",
            subject=f"{drop.from_step} → {drop.to_step}",
            evidence=(Evidence("largest_drop_off", drop.drop_off, drop.low, drop.high),),
            effect=float(drop.drop_off),
            reach=drop.from_users / drop.first_users if drop.first_users else 0.0,
            confidence=1.0 if separated else POINT_ESTIMATE_CONFIDENCE,
        )
    ]


def segment_completion(table: pd.DataFrame, overall: float, *, by: str) -> list[Finding]:
    """The groups that complete the funnel measurably best and worst.

    ``table`` from :func:`growthlab.funnel.completion_by` (possibly after
    ``privacy.suppress_small_groups``: rows without a completion rate, such as the pooled
    small groups, are skipped); ``overall`` = completion of all users. Rule: a group's verdict
    is :func:`interval_verdict` of its 95 % interval against ``overall``; the best group is the
    highest completion among groups ``above`` it, the worst the lowest among groups ``below``
    it (no finding when every interval includes ``overall``). effect = |completion − overall|
    / overall; reach = the group's share of users who started; confidence = 1 (the interval
    excludes ``overall``).
    """
    rows = table.dropna(subset=["completion", "low", "high"])
    if rows.empty or not overall > 0:
        return []
    verdict = pd.Series(
        [
            interval_verdict(lo, hi, overall)
            for lo, hi in zip(rows["low"], rows["high"], strict=True)
        ],
        index=rows.index,
    )
    total = float(table["started"].sum())
    picks = (
        ("funnel_group_best", "group_best", rows[verdict == "above"].nlargest(1, "completion")),
        ("funnel_group_worst", "group_worst", rows[verdict == "below"].nsmallest(1, "completion")),
    )
    out = []
    for kind, template, part in picks:
        if part.empty:
            continue
        r = part.iloc[0]

        def values(lang: str, r: Any = r) -> dict[str, Any]:
            return {
                "g": group_name(r[by], by, lang),
                "by": i18n.maybe(f"column.{by}", lang, by).lower(),
                "c": _pct(r["completion"], lang),
                "lo": _pct(r["low"], lang),
                "hi": _pct(r["high"], lang),
                "all": _pct(overall, lang),
                "a": step_name(r.get("weakest_from"), lang),
                "b": step_name(r.get("weakest_to"), lang),
                "d": _pct(r.get("weakest_drop_off"), lang),
            }

        completion = float(r["completion"])
        out.append(
            _finding(
                kind,
                values,
                template=template,
                subject=str(r[by]),
                evidence=(
                    Evidence("completion", completion, float(r["low"]), float(r["high"])),
                    Evidence("funnel_conversion", float(overall)),
                ),
                effect=abs(completion - overall) / overall,
                reach=float(r["started"] / total) if total else 0.0,
                confidence=1.0,
            )
        )
    return out


def acquisition_retention(contrast: RetentionContrast, *, unit: str) -> list[Finding]:
    """Whether users acquired through the referral channel stay longer than other users.

    Rule: a finding only when the two groups' 95 % intervals in ``contrast.period`` do not
    overlap (:func:`intervals_overlap`); the statement says which group retains better.
    effect = |retention − other| / other; reach = the referral-channel group's share of the
    users at risk; confidence = 1.
    """
    c = contrast
    if intervals_overlap(c.low, c.high, c.other_low, c.other_high):
        return []
    direction = "higher" if c.retention > c.other_retention else "lower"

    def values(lang: str) -> dict[str, Any]:
        return {
            "p": period_name(c.period, unit, lang),
            "a": _pct(c.retention, lang),
            "alo": _pct(c.low, lang),
            "ahi": _pct(c.high, lang),
            "b": _pct(c.other_retention, lang),
            "blo": _pct(c.other_low, lang),
            "bhi": _pct(c.other_high, lang),
        }

    users = c.users + c.other_users
    return [
        _finding(
            f"retention_referral_channel_{direction}",
            values,
            template=f"retention_{direction}",
            subject="referral",
            evidence=(
                Evidence("cohort_retention_referral_channel", c.retention, c.low, c.high),
                Evidence(
                    "cohort_retention_other_channels", c.other_retention, c.other_low, c.other_high
                ),
            ),
            effect=abs(c.retention - c.other_retention) / c.other_retention
            if c.other_retention > 0
            else 1.0,
            reach=c.users / users if users else 0.0,
            confidence=1.0,
        )
    ]


def fatigue_cap(contrast: FatigueContrast) -> int:
    """Highest weekly contact count whose responses per contact are not measurably lower than at
    the lowest frequency: buckets are scanned upwards and the scan stops at the first bucket
    whose 95 % interval does not overlap the lowest bucket's."""
    curve = contrast.curve.sort_values("contacts")
    overlaps = [
        intervals_overlap(lo, hi, contrast.low_low, contrast.low_high)
        for lo, hi in zip(curve["per_contact_low"], curve["per_contact_high"], strict=True)
    ]
    n_ok = overlaps.index(False) if False in overlaps else len(overlaps)
    return int(curve["contacts"].iloc[n_ok - 1]) if n_ok else contrast.low_contacts


def contact_fatigue(contrast: FatigueContrast) -> list[Finding]:
    """Contact fatigue: responses per contact fall as weekly contacts rise -> cap contacts.

    Rule: a finding when the highest-frequency bucket's responses per contact lie below the
    lowest-frequency bucket's with non-overlapping 95 % intervals (no finding otherwise, nor
    when more contacts earn more per contact). The suggested cap is :func:`fatigue_cap`.
    effect = 1 − rate_high / rate_low; reach = share of user-weeks with more contacts than the
    cap; confidence = 1.
    """
    c = contrast
    if intervals_overlap(c.low_low, c.low_high, c.high_low, c.high_high) or not (
        c.high_rate < c.low_rate
    ):
        return []
    cap = fatigue_cap(c)
    weeks = c.curve["user_weeks"].to_numpy(dtype=float)
    above = float(weeks[c.curve["contacts"].to_numpy() > cap].sum() / weeks.sum())

    def values(lang: str) -> dict[str, Any]:
        times = {"en": f"{c.low_contacts} times", "zh": f"{c.low_contacts} 次"}[lang]
        return {
            "k0_times": {"en": "once", "zh": "1 次"}[lang] if c.low_contacts == 1 else times,
            "k1": c.high_contacts,
            "r0": _pct(c.low_rate, lang),
            "r1": _pct(c.high_rate, lang),
            "cap": cap,
            "share": _pct(above, lang),
        }

    return [
        _finding(
            "contact_fatigue",
            values,
            template="fatigue",
            evidence=(
                Evidence("responses_per_contact_low_frequency", c.low_rate, c.low_low, c.low_high),
                Evidence(
                    "responses_per_contact_high_frequency", c.high_rate, c.high_low, c.high_high
                ),
            ),
            effect=float(1 - c.high_rate / c.low_rate),
            reach=above,
            confidence=1.0,
        )
    ]


def peak_hour(peak: PeakTime, *, timezone: str) -> list[Finding]:
    """When to reach users: the busiest local hour, if it stands out.

    Rule: a finding when the busiest hour's share of engagement has a 95 % interval above 1/24
    (the share of an hour if engagement were spread evenly; :func:`interval_verdict`).
    effect = min(share × 24 − 1, 1) (how much busier than an even hour); reach = the hour's
    share of engagement; confidence = 1.
    """
    even = 1 / 24
    if interval_verdict(peak.low, peak.high, even) != "above":
        return []

    def values(lang: str) -> dict[str, Any]:
        return {
            "h": peak.busiest_hour,
            "share": _pct(peak.share, lang),
            "lo": _pct(peak.low, lang),
            "hi": _pct(peak.high, lang),
            "even": _pct(even, lang),
            "day": i18n.t(f"weekday.{peak.weekday}", lang),
            "dh": peak.hour,
            "q": peak.quietest_hour,
            "tz": timezone,
            "before": (peak.busiest_hour - 1) % 24,
        }

    return [
        _finding(
            "engagement_peak_hour",
            values,
            template="peak",
            subject=f"{peak.busiest_hour}:00",
            evidence=(
                Evidence("peak_hour", peak.busiest_hour),
                Evidence("peak_hour_share", peak.share, peak.low, peak.high),
            ),
            effect=float(min(peak.share * 24 - 1, 1.0)),
            reach=float(peak.share),
            confidence=1.0,
        )
    ]


# ------------------------------------------------------------------ sentences for report.say
# Each returns the keyword arguments of ``report.say(lang, **...)``: the English and Chinese
# templates (trusted Markdown, written here) and the values (formatted here, escaped by say).

_SKIPPED = {
    "no_funnel": (
        "_No `events` table, or no user reached the first step: the funnel is skipped._",
        "_没有 `events` 表，或没有用户到达漏斗第一步：跳过漏斗分析。_",
    ),
    "no_events": (
        "_No `events` table: retention and reach timing are skipped._",
        "_没有 `events` 表：跳过留存与触达时机分析。_",
    ),
    "no_engagement": ("_No engagement events._", "_没有互动事件。_"),
    "no_fatigue": (
        "_No contact events, or fewer than two weekly contact frequencies to compare._",
        "_没有触达事件，或可比较的每周触达频次少于两个。_",
    ),
}


def skipped(reason: str) -> dict[str, str]:
    """The note shown when a part of the page is skipped (keys of ``_SKIPPED``)."""
    en, zh = _SKIPPED[reason]
    return {"en": en, "zh": zh}


def completion_text(done: Completion, lang: str = "en", *, window_days: float) -> dict[str, Any]:
    """Funnel completion, first step to last step, with its interval."""
    return {
        "en": "{conv} of users who reached **{first}** completed **{last}** within {w} days "
        "(95 % CI {lo} to {hi}).",
        "zh": "到达**{first}**的用户中，有 {conv} 在 {w} 天内完成了**{last}**（95% 置信区间 {lo} 至 "
        "{hi}）。",
        "conv": _pct(done.rate, lang),
        "first": step_name(done.first_step, lang),
        "last": step_name(done.last_step, lang),
        "w": f"{window_days:g}",
        "lo": _pct(done.low, lang),
        "hi": _pct(done.high, lang),
    }


def retention_text(contrast: RetentionContrast, lang: str = "en", *, unit: str) -> dict[str, Any]:
    """Retention of referral-channel users against other users in one period, with intervals."""
    return {
        "en": "In {p} after signup, {r} of users acquired through the referral channel are still "
        "active (95 % CI {rl} to {rh}) against {o} of users from other channels ({ol} to {oh}).",
        "zh": "注册后{p}，邀请渠道获客的用户仍有 {r} 活跃（95% 置信区间 {rl} 至 {rh}），其他渠道用户为 "
        "{o}（{ol} 至 {oh}）。",
        "p": period_name(contrast.period, unit, lang),
        "r": _pct(contrast.retention, lang),
        "rl": _pct(contrast.low, lang),
        "rh": _pct(contrast.high, lang),
        "o": _pct(contrast.other_retention, lang),
        "ol": _pct(contrast.other_low, lang),
        "oh": _pct(contrast.other_high, lang),
    }
