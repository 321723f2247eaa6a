"""Findings and display tables of the monitoring section (``05_monitoring``, key ``monitoring``).

Pure functions from ``growthlab.monitor`` results to :class:`~growthlab.findings.Finding` lists
and to display frames in the report's language. Every verdict on an interval goes through
:func:`growthlab.stats.interval_verdict`; a change whose interval includes 0 is not a finding.
Whether a rise is good news comes from the metric catalogue: the ``better`` direction of the
KPI's ``<metric>_recent`` entry (unsubscribes and complaints: down).

Rules (importance = effect × reach × confidence, see :mod:`growthlab.findings`):

- :func:`kpi_move_findings` — the largest period-over-period move of an overall KPI whose
  paired 95 % interval of the change excludes 0; effect |change|, reach 1 (all users),
  confidence 1;
- :func:`alert_findings` — the alerts worth acting on: those of the recent period only (older
  ones are on the page, not news), the strongest day per series, the ``n`` strongest series;
  effect |observed / expected − 1|, reach the series' share of its metric (1 overall),
  confidence 1 − p of the score read as a normal deviate;
- :func:`contact_fatigue_findings` — unsubscribes or complaints rising on channels: per such
  metric, the channels whose paired interval of the change lies above 0; effect the combined
  relative rise, reach their share of the metric's recent total, confidence 1.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as st

from growthlab import i18n, metrics
from growthlab.findings import Evidence, Finding, confidence
from growthlab.stats import interval_verdict

SECTION = "monitoring"
#: Metrics whose rise on a channel signals contact fatigue.
FATIGUE_METRICS = ("unsubscribes", "complaints")
#: Segment value of the all-channel series (``growthlab.monitor.OVERALL``).
OVERALL = "all"
#: report.show formats of :func:`comparison_table` and :func:`alerts_table`.
COMPARISON_FORMATS = {"kpi_recent": "{:,.0f}", "kpi_previous": "{:,.0f}"}
ALERT_FORMATS = {"alert_observed": "{:,.1f}", "alert_expected": "{:,.1f}", "alert_score": "{:+.1f}"}


def _both(key: str, **fields) -> tuple[str, str]:
    return i18n.t(key, "en", **fields), i18n.t(key, "zh", **fields)


def better(metric: str) -> str | None:
    """The catalogue's better direction of a KPI (``<metric>_recent``), None if uncatalogued."""
    m = metrics.CATALOGUE.get(f"{metric}_recent")
    return m.better if m is not None else None


def _kpi(metric: str, lang: str) -> str:
    return i18n.maybe(f"kpi.{metric}", lang, metric)


def _segment(segment: str, lang: str) -> str:
    if segment == OVERALL:
        return i18n.t("group.all", lang)
    return i18n.maybe(f"channel.{segment}", lang, str(segment))


def _num(value: float, metric: str, lang: str, currency: str | None = None) -> str:
    """A KPI value: counts without decimals, revenue with two and its ``currency`` (as the
    front page's tiles write it)."""
    unit = "currency" if metric == "revenue" else "count"
    return metrics.format_value(value, unit, lang=lang, currency=currency)


def _signed_pct(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{100 * value:+.1f} %"


def _good(metric: str, up: bool) -> bool:
    return (better(metric) == "down") != up


def kpi_move_findings(
    comparison: pd.DataFrame, *, days: int, currency: str | None = None
) -> list[Finding]:
    """The largest move of an overall KPI over the last ``days`` days (at most one finding).

    ``comparison``: :func:`growthlab.monitor.period_comparison` of the overall series (columns
    metric, last, previous, change, change_low/high, diff_low/high). Candidates: rows whose
    interval of the difference lies above or below 0 (:func:`interval_verdict`) and whose
    change is defined; the one with the largest |change| is the finding. Good or bad news by the
    catalogue's ``better`` direction; the action for a bad move of unsubscribes or complaints
    points at contact frequency.
    """
    if comparison.empty:
        return []
    c = comparison.loc[comparison["segment"] == OVERALL] if "segment" in comparison else comparison
    verdicts = [
        interval_verdict(lo, hi, 0.0) for lo, hi in zip(c["diff_low"], c["diff_high"], strict=True)
    ]
    c = c.assign(_v=verdicts)
    c = c.loc[(c["_v"] != "includes") & np.isfinite(c["change"].astype(float))]
    if c.empty:
        return []
    r = c.loc[c["change"].abs().idxmax()]
    metric, up = str(r["metric"]), r["_v"] == "above"
    good = _good(metric, up)
    fields = {
        lang: {
            "metric": _kpi(metric, lang),
            "moved": i18n.t("word.rose" if up else "word.fell", lang),
            "change": metrics.format_value(abs(float(r["change"])), "fraction", lang=lang),
            "days": int(days),
            "last": _num(r["last"], metric, lang, currency),
            "previous": _num(r["previous"], metric, lang, currency),
            "low": _signed_pct(r["change_low"]),
            "high": _signed_pct(r["change_high"]),
            "news": i18n.t("word.good_news" if good else "word.bad_news", lang),
        }
        for lang in ("en", "zh")
    }
    action = (
        "action.kpi_move.good"
        if good
        else ("action.kpi_move.fatigue" if metric in FATIGUE_METRICS else "action.kpi_move.bad")
    )
    return [
        Finding(
            SECTION,
            "kpi_move",
            i18n.t("finding.kpi_move", "en", **fields["en"]),
            i18n.t("finding.kpi_move", "zh", **fields["zh"]),
            subject=metric,
            action_en=i18n.t(action, "en", days=int(days)),
            action_zh=i18n.t(action, "zh", days=int(days)),
            evidence=(
                Evidence(f"{metric}_recent", float(r["last"])),
                Evidence(
                    "change", float(r["change"]), float(r["change_low"]), float(r["change_high"])
                ),
            ),
            effect=min(abs(float(r["change"])), 1.0),
            reach=1.0,
            confidence=confidence(low=r["diff_low"], high=r["diff_high"], threshold=0.0),
        )
    ]


def alert_sentence(alert: dict, lang: str = "en", currency: str | None = None) -> str:
    """One alert (a row of :func:`growthlab.monitor.alert_table` as a dict) as plain text:
    KPI and channel, date, observed against expected and band, above/below, score."""
    metric = str(alert["metric"])
    return i18n.t(
        "finding.kpi_alert",
        lang,
        metric=_kpi(metric, lang),
        segment=_segment(str(alert.get("segment", OVERALL)), lang),
        date=str(pd.Timestamp(alert["date"]).date()),
        observed=_num(alert["observed"], metric, lang, currency),
        expected=_num(alert["expected"], metric, lang, currency),
        low=_num(alert["low"], metric, lang, currency),
        high=_num(alert["high"], metric, lang, currency),
        direction=i18n.t("verdict.above" if alert["direction"] == "up" else "verdict.below", lang),
        score=f"{float(alert['score']):+.1f}",
    )


def alert_findings(
    alerts: pd.DataFrame,
    *,
    recent_start: pd.Timestamp,
    shares: pd.DataFrame | None = None,
    n: int = 3,
    currency: str | None = None,
) -> list[Finding]:
    """Findings for the recent alerts: dated on or after ``recent_start``, the strongest day
    of each (metric, segment) series, the ``n`` strongest series.

    ``alerts``: :func:`growthlab.monitor.alert_table`; ``shares``:
    :func:`growthlab.monitor.segment_shares` (reach of a channel series; 1 without it). Effect
    = min(|observed / expected − 1|, 1) (1 when expected is 0); confidence = 1 − p with p the
    two-sided normal tail of the score. Good or bad news by the catalogue's ``better``.
    """
    if alerts.empty:
        return []
    a = alerts.loc[pd.to_datetime(alerts["date"]) >= pd.Timestamp(recent_start)]
    a = a.assign(_abs=a["score"].abs()).sort_values("_abs", ascending=False, kind="stable")
    a = a.drop_duplicates(["metric", "segment"]).head(max(int(n), 0))
    if shares is not None and len(a):
        a = a.merge(shares, on=["metric", "segment"], how="left")
    out = []
    for r in a.to_dict("records"):  # at most n rows
        metric, segment, up = str(r["metric"]), str(r["segment"]), r["direction"] == "up"
        exp = float(r["expected"])
        effect = abs(float(r["observed"]) / exp - 1) if exp > 0 else 1.0
        share = r.get("share", 1.0)
        reach = 1.0 if segment == OVERALL or share is None or not np.isfinite(share) else share
        texts = {lang: alert_sentence(r, lang, currency) for lang in ("en", "zh")}
        action = "action.kpi_alert.good" if _good(metric, up) else "action.kpi_alert.bad"
        out.append(
            Finding(
                SECTION,
                "kpi_alert",
                texts["en"],
                texts["zh"],
                subject=segment if segment != OVERALL else metric,
                action_en=i18n.t(action, "en"),
                action_zh=i18n.t(action, "zh"),
                evidence=(
                    Evidence(metric, float(r["observed"]), float(r["low"]), float(r["high"])),
                    Evidence("score", float(r["score"])),
                ),
                effect=min(effect, 1.0),
                reach=min(max(float(reach), 0.0), 1.0),
                confidence=confidence(p_value=float(2 * st.norm.sf(abs(float(r["score"]))))),
            )
        )
    return out


def _counts_rose(last: pd.Series, previous: pd.Series, level: float) -> np.ndarray:
    """True where the count ``last`` is significantly above ``previous`` (same window
    length): the exact conditional test of two Poisson counts, one-sided p < ``level``."""
    lo = np.rint(last.fillna(0).to_numpy(float)).astype(np.int64)
    hi = lo + np.rint(previous.fillna(0).to_numpy(float)).astype(np.int64)
    p = np.array(
        [
            st.binomtest(int(k), int(n), 0.5, alternative="greater").pvalue if n > 0 else 1.0
            for k, n in zip(lo, hi, strict=True)
        ]
    )
    return p < level if len(p) else np.zeros(0, dtype=bool)


def contact_fatigue_findings(
    channel_comparison: pd.DataFrame, *, days: int, max_channels: int = 3, alpha: float = 0.05
) -> list[Finding]:
    """Contact-fatigue signals: per metric of :data:`FATIGUE_METRICS`, the channels whose
    unsubscribes (complaints) rose over the last ``days`` days with a paired interval of the
    difference above 0 (:func:`interval_verdict`) **and** an exact test of the two counts
    agreeing; one finding per metric naming at most ``max_channels`` of them, largest rise
    first.

    The exact test: opt-outs are rare counts, and a paired t interval over a week of daily
    counts such as 1,1,1,1,1,0,0 against 0s lies above 0 although five events against none
    is weak evidence. Under equal Poisson rates in the two windows, last | last + previous ~
    Binomial(last + previous, 1/2) (the conditional test of two Poisson counts, Przyborowski
    & Wilenski 1940); a channel is named only when its one-sided p-value is below
    ``alpha`` / 2, the level of the interval's lower bound (5 against 0: p = 1/32, not named).

    ``channel_comparison``: :func:`growthlab.monitor.period_comparison` with a segment column
    (the overall row gives the reach denominator). Effect = min(Σ last / Σ previous − 1 over
    those channels, 1); reach = their share of the metric's recent total; confidence 1.
    """
    c = channel_comparison
    if c.empty or "segment" not in c.columns:
        return []
    out = []
    for metric in FATIGUE_METRICS:  # two metrics
        m = c.loc[c["metric"] == metric]
        total = m.loc[m["segment"] == OVERALL, "last"].sum()
        ch = m.loc[m["segment"] != OVERALL]
        verdicts = [
            interval_verdict(lo, hi, 0.0)
            for lo, hi in zip(ch["diff_low"], ch["diff_high"], strict=True)
        ]
        rising = ch.loc[np.asarray(verdicts, dtype=object) == "above"]
        rising = rising.loc[_counts_rose(rising["last"], rising["previous"], alpha / 2)]
        if rising.empty:
            continue
        rising = rising.sort_values("diff", ascending=False).head(max_channels)
        last, prev = float(rising["last"].sum()), float(rising["previous"].sum())
        effect = min(last / prev - 1, 1.0) if prev > 0 else 1.0
        total = total if total > 0 else float(m.loc[m["segment"] != OVERALL, "last"].sum())
        reach = min(last / total, 1.0) if total > 0 else 1.0
        texts, actions = {}, {}
        for lang in ("en", "zh"):
            sep = "、" if lang == "zh" else ", "
            names = sep.join(_segment(s, lang) for s in rising["segment"])
            details = sep.join(
                i18n.t(
                    "finding.contact_fatigue.detail",
                    lang,
                    channel=_segment(r["segment"], lang),
                    last=_num(r["last"], metric, lang),
                    previous=_num(r["previous"], metric, lang),
                )
                for r in rising.to_dict("records")
            )
            texts[lang] = i18n.t(
                "finding.contact_fatigue",
                lang,
                metric=_kpi(metric, lang),
                channels=names,
                days=int(days),
                details=details,
            )
            actions[lang] = i18n.t("action.contact_fatigue", lang, channels=names)
        out.append(
            Finding(
                SECTION,
                "contact_fatigue",
                texts["en"],
                texts["zh"],
                subject=", ".join(map(str, rising["segment"])),
                action_en=actions["en"],
                action_zh=actions["zh"],
                evidence=tuple(
                    Evidence(
                        f"{metric}:{r['segment']}",
                        float(r["last"]),
                        float(r["diff_low"]),
                        float(r["diff_high"]),
                    )
                    for r in rising.to_dict("records")
                ),
                effect=max(effect, 0.0),
                reach=reach,
                confidence=1.0,
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# recorded numbers and display tables


def recent_metrics(comparison: pd.DataFrame) -> dict[str, float]:
    """Catalogue id -> value of each overall KPI's total over the recent period
    (``<metric>_recent``, e.g. ``unsubscribes_recent``) from the overall comparison."""
    c = comparison.loc[comparison["segment"] == OVERALL] if "segment" in comparison else comparison
    return {f"{m}_recent": float(v) for m, v in zip(c["metric"], c["last"], strict=True)}


def comparison_table(comparison: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """The headline table: metric (in ``lang``), kpi_recent, kpi_previous (numbers; formats
    :data:`COMPARISON_FORMATS`), kpi_change and kpi_change_interval (signed %, "–" when the
    previous total is 0), kpi_move (the interval's verdict in ``lang``)."""
    c = comparison
    verdicts = [
        interval_verdict(lo, hi, 0.0) for lo, hi in zip(c["diff_low"], c["diff_high"], strict=True)
    ]
    interval = [
        "–"
        if not (np.isfinite(lo) and np.isfinite(hi))
        else f"{_signed_pct(lo)} … {_signed_pct(hi)}"
        for lo, hi in zip(
            c["change_low"].astype(float), c["change_high"].astype(float), strict=True
        )
    ]
    return pd.DataFrame(
        {
            "metric": [_kpi(m, lang) for m in c["metric"]],
            "kpi_recent": c["last"].to_numpy(float),
            "kpi_previous": c["previous"].to_numpy(float),
            "kpi_change": [_signed_pct(v) for v in c["change"].astype(float)],
            "kpi_change_interval": interval,
            "kpi_move": [i18n.t(f"verdict.move.{v}", lang) for v in verdicts],
        }
    )


def alerts_table(alerts: pd.DataFrame, lang: str = "en", n: int | None = None) -> pd.DataFrame:
    """The alerts table (first ``n`` rows of :func:`growthlab.monitor.alert_table`): date,
    metric and channel in ``lang``, alert_observed, alert_expected, alert_band (text),
    alert_score, alert_direction (in ``lang``)."""
    a = alerts if n is None else alerts.head(n)
    return pd.DataFrame(
        {
            "date": [str(pd.Timestamp(d).date()) for d in a["date"]],
            "metric": [_kpi(m, lang) for m in a["metric"]],
            "channel": [_segment(s, lang) for s in a["segment"]],
            "alert_observed": a["observed"].to_numpy(float),
            "alert_expected": a["expected"].to_numpy(float),
            "alert_band": [
                f"{lo:,.1f} – {hi:,.1f}" for lo, hi in zip(a["low"], a["high"], strict=True)
            ],
            "alert_score": a["score"].to_numpy(float),
            "alert_direction": [i18n.t(f"direction.{d}", lang) for d in a["direction"]],
        }
    )
