"""The executive summary's logic (SPEC §4.6): compare two runs' metrics and phrase findings.

``metrics.json`` (written by :func:`growthlab.report.record`) maps notebook -> metric name ->
``{value, label, unit, better}``. Conventions read here: ``unit`` "%" marks a fraction
(0.125 is shown as 12.5 %); ``better`` "up"/"down" says which direction is good; list values
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

from growthlab import metrics
from growthlab.findings import Finding, from_records, rank
from growthlab.metrics import UNITS
from growthlab.report.notebook import fmt, text

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


def findings(
    cmp: pd.DataFrame,
    lang: str = "en",
    n: int = 5,
    titles: Mapping[str, str] | None = None,
    previous_run: str | None = None,
) -> list[str]:
    """Up to ``n`` plain sentences generated from the numbers.

    With a previous run: the metrics with a direction (``better``) and the largest relative
    change |rel_change| ≥ :data:`STABLE` (the largest of each section first, then the next
    largest of each, ...), phrased as rose/fell with the verdict; when nothing
    moved, one sentence saying so. Without one: the first directional (else first) metric of
    each section, stated. Plain text (labels may contain data text): display them with
    :func:`growthlab.report.say`, which escapes.
    """
    titles = titles or {}
    out: list[str] = []
    if cmp.empty:
        return out
    has_prev = cmp["previous"].notna().any()
    if has_prev:
        moved = cmp[
            cmp["better"].isin(["up", "down"])
            & cmp["rel_change"].notna()
            & (cmp["rel_change"].abs() >= STABLE)
        ]
        # Largest movers first, but one per section before a section gets a second sentence.
        moved = moved.assign(_size=moved["rel_change"].abs())
        moved = moved.sort_values("_size", ascending=False)
        moved = moved.assign(_rank=moved.groupby("section").cumcount())
        moved = moved.sort_values(["_rank", "_size"], ascending=[True, False])
        for r in moved.head(n).to_dict("records"):
            up = r["change"] > 0
            good = r["assessment"] == "better"
            out.append(
                text(
                    lang,
                    en="{section}: {label} {dir} from {prev} to {value} ({rel}), {verdict}.",
                    zh="{section}：{label}从 {prev} {dir}至 {value}（{rel}），{verdict}。",
                    section=titles.get(r["section"], r["section"]),
                    label=r["label_zh" if lang == "zh" else "label"],
                    dir=("rose" if up else "fell") if lang != "zh" else ("上升" if up else "下降"),
                    prev=format_value(r["previous"], r["unit"], lang, r["currency"]),
                    value=format_value(r["value"], r["unit"], lang, r["currency"]),
                    rel=format_change(r).lstrip("▲▼= "),
                    verdict=("an improvement" if good else "a deterioration")
                    if lang != "zh"
                    else ("向好" if good else "变差"),
                )
            )
        if not out:
            out.append(
                text(
                    lang,
                    en="No key number moved by {t} or more since run {run}.",
                    zh="与上次运行 {run} 相比，没有关键指标变化超过 {t}。",
                    t=f"{100 * STABLE:.1f} %",
                    run=previous_run or "",
                )
            )
        return out
    for section, g in cmp.groupby("section", sort=False):
        directional = g[g["better"].isin(["up", "down"])]
        r = (directional if len(directional) else g).iloc[0]
        out.append(
            text(
                lang,
                en="{section}: {label} is {value}.",
                zh="{section}：{label}为 {value}。",
                section=titles.get(section, section),
                label=r["label_zh" if lang == "zh" else "label"],
                value=format_value(r["value"], r["unit"], lang, r["currency"]),
            )
        )
        if len(out) >= n:
            break
    return out


def top_findings(
    current: Mapping[str, Mapping[str, Mapping[str, Any]]], n: int | None = None
) -> list[Finding]:
    """Every section's recorded findings (metric id ``findings``), ranked by importance.

    Ranking is :func:`growthlab.findings.rank` (importance = effect × reach × confidence), so
    the front page leads with what matters most across sections, whatever page it came from.
    """
    found: list[Finding] = []
    for entries in current.values():
        if isinstance(entries, Mapping):
            entry = entries.get("findings")
            if isinstance(entry, Mapping) and isinstance(entry.get("value"), list):
                found += from_records(entry["value"])
    return rank(found, n)


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
