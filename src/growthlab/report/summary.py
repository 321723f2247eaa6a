"""The executive summary's logic (SPEC §4.6): the front page's ranked findings, KPI tiles,
recent alerts and the moves since the previous comparable run.

``metrics.json`` (written by :func:`growthlab.report.record`) maps notebook -> metric id ->
``{value, label, label_zh, unit, better, currency}`` (units of :mod:`growthlab.metrics`; files
written before the catalogue used "%" for a fraction); ``better`` "up"/"down" says which
direction is good; the id ``findings`` holds the section's findings; list values
whose name contains "alert" are alert tables (records with e.g. date, metric, observed, low,
high, score, direction), as recorded by ``05_monitoring``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from numbers import Number
from pathlib import Path
from typing import Any

import pandas as pd

from growthlab import i18n, metrics
from growthlab.data.daily import last_complete_day
from growthlab.findings import Finding, from_records, rank
from growthlab.metrics import UNITS
from growthlab.privacy import mask_personal
from growthlab.report.notebook import fmt

#: Relative changes smaller than this (in absolute value) count as "no change".
STABLE = 0.005

COLUMNS = [
    "section",
    "name",
    "label",
    "label_zh",
    "currency",
    "unit",
    "better",
    "value",
    "previous",
    "change",
    "rel_change",
    "assessment",
]


def load_metrics(path: str | Path | None) -> dict[str, dict[str, dict[str, Any]]]:
    """Read a run's ``metrics.json``; a missing path or file gives {}."""
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        return {}
    data = json.loads(p.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _scalar(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, Number):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def compare(
    current: Mapping[str, Mapping[str, Mapping[str, Any]]],
    previous: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> pd.DataFrame:
    """One row per numeric metric of ``current`` with its value in ``previous``.

    change = value − previous; rel_change = change / |previous| (NaN when previous is 0 or
    missing); assessment = "better"/"worse" by the metric's ``better`` direction, "stable"
    when |rel_change| < :data:`STABLE` (or change = 0), "" when not comparable.
    Non-numeric metrics (lists, text) are left out. Order: notebooks, then recording order.
    """
    previous = previous or {}
    rows = []
    for section, entries in current.items():
        if not isinstance(entries, Mapping):
            continue
        for name, entry in entries.items():
            if not isinstance(entry, Mapping):
                continue
            v = _scalar(entry.get("value"))
            if v is None:
                continue
            p_entry = (previous.get(section) or {}).get(name) or {}
            p = _scalar(p_entry.get("value")) if isinstance(p_entry, Mapping) else None
            change = v - p if p is not None else math.nan
            rel = change / abs(p) if p not in (None, 0.0) else math.nan
            better = entry.get("better")
            if p is None:
                assess = ""
            elif change == 0 or (not math.isnan(rel) and abs(rel) < STABLE):
                assess = "stable"
            elif better in ("up", "down"):
                good = change > 0 if better == "up" else change < 0
                assess = "better" if good else "worse"
            else:
                assess = "changed"
            rows.append(
                {
                    "section": section,
                    "name": name,
                    "label": entry.get("label") or name,
                    "label_zh": entry.get("label_zh") or entry.get("label") or name,
                    "currency": entry.get("currency"),
                    "unit": entry.get("unit") if isinstance(entry.get("unit"), str) else None,
                    "better": better,
                    "value": v,
                    "previous": p if p is not None else math.nan,
                    "change": change,
                    "rel_change": rel,
                    "assessment": assess,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


#: Units of metrics.json files written before the metric catalogue -> catalogue units.
_LEGACY_UNITS = {"%": "fraction", "pct": "fraction", "share": "fraction", "rate": "fraction"}


def _unit(unit: Any) -> str | None:
    if not isinstance(unit, str):
        return None
    return _LEGACY_UNITS.get(unit, unit)


def format_value(
    value: Any, unit: str | None, lang: str = "en", currency: str | None = None
) -> str:
    """A metric value for display (:func:`growthlab.metrics.format_value` of its unit)."""
    u = _unit(unit)
    currency = currency if isinstance(currency, str) else None
    if u in UNITS:
        return metrics.format_value(value, u, lang=lang, currency=currency, digits=3)
    v = _scalar(value)
    if v is None:
        return "n/a"
    s = fmt(v, "int") if float(v).is_integer() else fmt(v, "num", digits=3 if abs(v) < 10 else 2)
    return f"{s} {u}" if u else s


def format_change(row: Mapping[str, Any]) -> str:
    """The change since the previous run: percentage points for fractions, else relative %.

    A share moving from 5.3 % to 69.2 % is "+63.9 pp", not "+1201.4 %".
    """
    rel, change = row.get("rel_change"), row.get("change")
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return ""
    arrow = "▲" if change > 0 else ("▼" if change < 0 else "=")
    if _unit(row.get("unit")) in ("fraction", "pp"):
        return f"{arrow} {100 * change:+.1f} pp"
    if rel is not None and not (isinstance(rel, float) and math.isnan(rel)):
        return f"{arrow} {100 * rel:+.1f} %"
    return f"{arrow} {change:+,.3g}"


HEADINGS = {
    "section": ("Section", "章节"),
    "label": ("Metric", "指标"),
    "value": ("Value", "本次"),
    "previous": ("Previous run", "上次"),
    "change": ("Change", "变化"),
    "assessment": ("Assessment", "评估"),
}
ASSESSMENT = {
    "better": ("better", "改善"),
    "worse": ("worse", "变差"),
    "stable": ("stable", "持平"),
    "changed": ("changed", "有变化"),
    "": ("", ""),
}


def headline_table(
    cmp: pd.DataFrame, lang: str = "en", titles: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Display frame of :func:`compare`: section title, metric, value, previous, change, verdict."""
    i = 1 if lang == "zh" else 0
    titles = titles or {}
    out = pd.DataFrame(
        {
            HEADINGS["section"][i]: [titles.get(s, s) for s in cmp["section"]],
            HEADINGS["label"][i]: cmp["label_zh" if lang == "zh" else "label"]
            .astype(str)
            .to_list(),
            HEADINGS["value"][i]: [
                format_value(r["value"], r["unit"], lang, r["currency"])
                for r in cmp.to_dict("records")
            ],
            HEADINGS["previous"][i]: [
                ""
                if pd.isna(r["previous"])
                else format_value(r["previous"], r["unit"], lang, r["currency"])
                for r in cmp.to_dict("records")
            ],
            HEADINGS["change"][i]: [format_change(r) for r in cmp.to_dict("records")],
            HEADINGS["assessment"][i]: [ASSESSMENT.get(a, (a, a))[i] for a in cmp["assessment"]],
        }
    )
    return out


def alerts(metrics: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> pd.DataFrame:
    """All alert records found in ``metrics`` (list values whose name contains "alert").

    Returns one row per alert with a ``section`` column first, sorted by |score| when present.
    """
    frames = []
    for section, entries in metrics.items():
        if not isinstance(entries, Mapping):
            continue
        for name, entry in entries.items():
            v = entry.get("value") if isinstance(entry, Mapping) else None
            if "alert" in name.lower() and isinstance(v, list) and v:
                recs = [r for r in v if isinstance(r, Mapping)]
                if recs:
                    f = pd.DataFrame(recs)
                    f.insert(0, "section", section)
                    frames.append(f)
    if not frames:
        return pd.DataFrame(columns=["section"])
    out = pd.concat(frames, ignore_index=True)
    if "score" in out.columns:
        order = pd.to_numeric(out["score"], errors="coerce").abs().sort_values(ascending=False)
        out = out.loc[order.index].reset_index(drop=True)
    return out


def sections_html(sections: Sequence[Mapping[str, Any]], lang: str = "en") -> str:
    """An HTML list linking each section's page, with its status when it did not succeed."""
    items = []
    for s in sections:
        title = html.escape(str(s.get("title") or s.get("name") or ""))
        status = s.get("status")
        note = ""
        if status and status != "ok":
            word = {"failed": "失败", "interrupted": "中断"}.get(status, status)
            note = (
                f' <span class="gl-status gl-status-{html.escape(status)}">'
                f"{html.escape(word if lang == 'zh' else status)}</span>"
            )
        if s.get("html"):
            href = html.escape(str(s["html"]), quote=True)
            items.append(f'<li><a href="{href}">{title}</a>{note}</li>')
        else:
            items.append(f"<li>{title}{note}</li>")
    return f"<ul>{''.join(items)}</ul>"


# --- the executive front page ----------------------------------------------------------------

#: KPIs of the front page tiles (daily series of ``growthlab.data.daily``), in display order.
TILE_METRICS = ("new_users", "invitees", "k_factor", "conversions", "revenue", "unsubscribes")
#: KPIs that are ratios: the tile compares the latest value with the value ``days`` earlier
#: instead of window totals.
RATIO_METRICS = frozenset({"k_factor"})
#: Days of the trend line drawn in each tile.
TREND_DAYS = 56


#: A section's best finding is moved ahead of other sections' findings only from this
#: importance on (below it, it competes by importance like the rest).
SECTION_LEAD_IMPORTANCE = 0.01


def front_findings(
    current: Mapping[str, Mapping[str, Mapping[str, Any]]], n: int = 7
) -> list[tuple[str, Finding]]:
    """The front page's findings: (section, finding), at most ``n``, most important first.

    Rule: each section's most important finding comes first when its importance is at least
    :data:`SECTION_LEAD_IMPORTANCE` (so no section with something to act on is crowded out),
    ordered by importance; then every other finding by importance. Findings with importance 0
    (confirmations such as "the data can be trusted") are left out.
    """
    per_section: list[list[tuple[str, Finding]]] = []
    for section, entries in current.items():
        if not isinstance(entries, Mapping):
            continue
        entry = entries.get("findings")
        if isinstance(entry, Mapping) and isinstance(entry.get("value"), list):
            found = [f for f in rank(from_records(entry["value"])) if f.importance > 0]
            if found:
                per_section.append([(section, f) for f in found])
    leads = [s[0] for s in per_section if s[0][1].importance >= SECTION_LEAD_IMPORTANCE]
    firsts = sorted(leads, key=lambda p: -p[1].importance)
    rest = sorted(
        (p for s in per_section for p in s if p not in leads), key=lambda p: -p[1].importance
    )
    return (firsts + rest)[:n]


def kpi_tiles(series: pd.DataFrame, windows: Sequence[int] = (7, 28)) -> pd.DataFrame:
    """One row per KPI of :data:`TILE_METRICS` found in ``series`` (overall daily series).

    For each window w: ``last_w`` and ``previous_w`` (totals of the last w days and the w days
    before; for ratio KPIs the latest value and the value w days earlier) and ``change_w`` =
    last / previous − 1. ``trend``: the last :data:`TREND_DAYS` daily values (for the line).
    """
    from growthlab import monitor

    cols = ["metric", *[f"{k}_{w}" for w in windows for k in ("last", "previous", "change")]]
    if series.empty:
        return pd.DataFrame(columns=[*cols, "trend"])
    s = series.loc[series["metric"].isin(TILE_METRICS), ["date", "metric", "value"]].copy()
    s["date"] = pd.to_datetime(s["date"])
    rows = {m: {"metric": m} for m in TILE_METRICS if (s["metric"] == m).any()}
    for w in windows:
        sums = monitor.period_comparison(s.loc[~s["metric"].isin(RATIO_METRICS)], days=w)
        for r in sums.itertuples():
            rows[r.metric].update({f"last_{w}": r.last, f"previous_{w}": r.previous})
        for m in RATIO_METRICS & set(rows):
            v = s.loc[s["metric"] == m].sort_values("date").set_index("date")["value"]
            prev = v.get(v.index.max() - pd.Timedelta(days=w), math.nan)
            rows[m].update({f"last_{w}": float(v.iloc[-1]), f"previous_{w}": float(prev)})
        for r in rows.values():
            last, prev = r.get(f"last_{w}", math.nan), r.get(f"previous_{w}", math.nan)
            r[f"change_{w}"] = last / prev - 1 if prev and not math.isnan(prev) else math.nan
    for m, r in rows.items():
        v = s.loc[s["metric"] == m].sort_values("date")["value"]
        r["trend"] = [float(x) for x in v.tail(TREND_DAYS)]
    return pd.DataFrame(list(rows.values()), columns=[*cols, "trend"])


def sparkline_svg(values: Sequence[float], width: int = 120, height: int = 28) -> str:
    """A trend line as inline SVG (no script, no external reference); "" for < 2 values."""
    v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    if len(v) < 2:
        return ""
    lo, hi = min(v), max(v)
    span = (hi - lo) or 1.0
    pts = " ".join(
        f"{i * (width - 2) / (len(v) - 1) + 1:.1f},{height - 1 - (x - lo) / span * (height - 2):.1f}"
        for i, x in enumerate(v)
    )
    return (
        f'<svg class="gl-spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-hidden="true"><polyline fill="none" stroke="#4c72b0" '
        f'stroke-width="1.5" points="{pts}"/></svg>'
    )


def tiles_html(
    tiles: pd.DataFrame, lang: str = "en", currency: str | None = None, days: int = 7
) -> str:
    """KPI tiles: the KPI over the last ``days`` days, its change against the ``days`` before
    (and 28 against 28), colored by the catalogue's better direction, and a trend line."""
    e = html.escape
    out = []
    for r in tiles.to_dict("records"):
        mid = "k_factor_latest" if r["metric"] in RATIO_METRICS else f"{r['metric']}_recent"
        m = metrics.get(mid)
        label = m.label(lang, days=days, window_days=28)
        value = m.format(r.get(f"last_{days}"), lang, currency)
        changes = []
        for w in (days, 28):
            c = r.get(f"change_{w}")
            if c is None or not math.isfinite(c):
                continue
            good = (c > 0) == (m.better == "up") if m.better and c != 0 else None
            cls = "" if good is None else (" gl-good" if good else " gl-bad")
            arrow = "▲" if c > 0 else ("▼" if c < 0 else "=")
            key = "ui.vs_previous" if w == days else "ui.window_vs_previous"
            vs = i18n.t(key, lang, days=w)
            changes.append(f'<span class="gl-change{cls}">{arrow} {100 * c:+.1f} % {e(vs)}</span>')
        out.append(
            '<div class="gl-tile">'
            f'<div class="gl-tile-label">{e(label)}</div>'
            f'<div class="gl-tile-value">{e(value)}</div>'
            f'<div class="gl-tile-changes">{"<br>".join(changes)}</div>'
            f"{sparkline_svg(r.get('trend') or [])}</div>"
        )
    return f'<div class="gl-tiles">{"".join(out)}</div>'


def front_findings_html(
    items: Sequence[tuple[str, Finding]],
    lang: str = "en",
    links: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """The front page's findings: statement, action, and a link to the section with the
    evidence (``links``: section -> (title, html file)); all text escaped."""
    e = html.escape
    links = links or {}
    rows = []
    for section, f in items:
        action = f.action(lang)
        act = f'<div class="gl-action">→ {e(mask_personal(action))}</div>' if action else ""
        title, href = links.get(section, (None, None))
        more = (
            f' <a class="gl-evidence" href="{e(href, quote=True)}">{e(i18n.t("ui.evidence", lang, section=title))}</a>'
            if href
            else ""
        )
        rows.append(f'<li class="gl-finding">{e(mask_personal(f.statement(lang)))}{more}{act}</li>')
    return f'<ol class="gl-findings gl-front">{"".join(rows)}</ol>'


def recent_alerts(alert_table: pd.DataFrame, as_of_local: Any, days: int = 7) -> pd.DataFrame:
    """Alerts dated within the last ``days`` local calendar days: the days ending on the last
    complete day at ``as_of_local`` (local time, ``ds.local(ds.as_of)``;
    :func:`growthlab.data.daily.last_complete_day`, the last day of the monitoring page's
    series). The rest stay on the monitoring page; all when the table has no dates."""
    if alert_table.empty or "date" not in alert_table.columns or as_of_local is None:
        return alert_table
    dates = pd.to_datetime(alert_table["date"], errors="coerce")
    last = last_complete_day(pd.Timestamp(as_of_local))
    start = last - pd.Timedelta(days=days - 1)
    return alert_table.loc[(dates >= start) & (dates <= last)].reset_index(drop=True)


def alerts_display(alert_table: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Alert records for reading: date, KPI and channel names in ``lang``, observed vs the
    expected band, and how far outside it (robust z); strongest first."""
    cols = ["date", "metric", "segment", "observed", "expected", "low", "high", "score"]
    if alert_table.empty:
        return pd.DataFrame(columns=[i18n.maybe(f"column.alert_{c}", lang, c) for c in cols[:6]])
    t = alert_table.reindex(columns=cols)
    out = pd.DataFrame(
        {
            "date": t["date"].astype(str),
            "metric": [i18n.maybe(f"kpi.{m}", lang, str(m)) for m in t["metric"]],
            "segment": [i18n.maybe(f"channel.{s}", lang, str(s)) for s in t["segment"]],
            "observed": t["observed"].map(lambda v: f"{v:,.0f}" if pd.notna(v) else "—"),
            "band": [
                f"{lo:,.0f} – {hi:,.0f}" if pd.notna(lo) and pd.notna(hi) else "—"
                for lo, hi in zip(t["low"], t["high"], strict=True)
            ],
            "score": t["score"].map(lambda v: f"{v:+.1f}" if pd.notna(v) else "—"),
        }
    )
    out["segment"] = out["segment"].replace({"all": i18n.t("group.all", lang)})
    names = {c: i18n.maybe(f"column.alert_{c}", lang, c) for c in out.columns}
    return out.rename(columns=names)


def moves_since(cmp: pd.DataFrame, lang: str = "en", n: int = 10) -> pd.DataFrame:
    """The metrics that moved most since the previous comparable run (|relative change| at
    least :data:`STABLE`, directional first), for reading: metric, before, now, change, verdict."""
    if cmp.empty or not cmp["previous"].notna().any():
        return pd.DataFrame()
    moved = cmp[cmp["rel_change"].notna() & (cmp["rel_change"].abs() >= STABLE)].copy()
    moved["_dir"] = moved["better"].isin(["up", "down"])
    moved["_size"] = moved["rel_change"].abs()
    moved = moved.sort_values(["_dir", "_size"], ascending=False).head(n)
    return headline_table(moved, lang).drop(columns=[HEADINGS["section"][1 if lang == "zh" else 0]])


def incomplete_html(sections: Sequence[Mapping[str, Any]], lang: str = "en") -> str:
    """One line per section that did not complete: its findings and numbers are missing."""
    e = html.escape
    rows = [
        "<li>"
        + e(
            i18n.t(
                "ui.section_incomplete",
                lang,
                section=s.get("title") or s.get("name"),
                status=i18n.maybe(f"status.{s.get('status')}", lang, str(s.get("status"))),
            )
        )
        + "</li>"
        for s in sections
        if s.get("status") not in ("ok", None)
    ]
    return f'<ul class="gl-error">{"".join(rows)}</ul>' if rows else ""


def alerts_sentence(
    recent: pd.DataFrame, all_alerts: pd.DataFrame, lang: str = "en", days: int = 7
) -> dict[str, Any]:
    """Arguments of ``report.say`` for the alerts paragraph of the front page."""
    if len(recent):
        return dict(
            lang=lang,
            en="{n} alert(s) in the last {d} days, the strongest first ({total} in the whole "
            "period, on the monitoring page).",
            zh="最近 {d} 天共 {n} 条告警，按强度排序（整个时间范围共 {total} 条，见监控页面）。",
            n=f"{len(recent):,}",
            d=days,
            total=f"{len(all_alerts):,}",
        )
    return dict(
        lang=lang,
        en="No alert in the last {d} days ({total} earlier in the period, on the monitoring page).",
        zh="最近 {d} 天没有告警（更早共 {total} 条，见监控页面）。",
        d=days,
        total=f"{len(all_alerts):,}",
    )


def comparison_sentence(previous_metrics_file: str | None, lang: str = "en") -> dict[str, Any]:
    """Arguments of ``report.say``: which earlier run this one is compared with, or none.

    The runner passes only a run of the same source and configuration, so an empty
    ``previous_metrics_file`` means there is no comparable run.
    """
    if not previous_metrics_file:
        en, zh = i18n.TEXT["ui.no_comparable_run"]
        return dict(lang=lang, en=en, zh=zh)
    return dict(
        lang=lang,
        en="Compared with run **{run}** (same source and configuration): the numbers that moved most.",
        zh="与运行 **{run}**（同一数据源与配置）相比变化最大的指标：",
        run=Path(previous_metrics_file).parent.name,
    )


def lists_note(lang: str = "en") -> dict[str, Any]:
    """Arguments of ``report.say`` for the front page: which lists of people exist and how to
    make them (``growthlab lists``; never where they are, never a link: they hold raw ids and
    are not part of the report)."""
    en, zh = i18n.TEXT["lists.note"]
    return {"lang": lang, "en": en, "zh": zh}
