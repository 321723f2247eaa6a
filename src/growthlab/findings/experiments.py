"""Findings, result cards, tables and recorded numbers of the experiments page (key
``experiments``), from :func:`growthlab.experiments.analyse`.

Per treated variant the decision is its verdict (:data:`growthlab.experiments.VERDICTS`),
whose interval part is :func:`growthlab.stats.interval_verdict` of the primary metric's
decision interval (sequential or fixed-horizon, multiplicity-adjusted) against 0:

======================  ==================================  =================
verdict                 finding (kind)                      action
======================  ==================================  =================
srm                     ``ab_srm`` (verdict withheld)        fix the split
win                     ``ab_win``                           ship
loss                    ``ab_loss``                          stop
guardrail               ``ab_guardrail`` (ship vetoed)       do not ship
underpowered            ``ab_underpowered``                  keep running
no_effect               none (interval includes 0)           stop
inconclusive            none (interval includes 0)           keep running
======================  ==================================  =================

Importance (see :mod:`growthlab.findings`): effect = min(|relative lift|, 1) of the primary
metric (of the worst harmed guardrail for ``ab_guardrail``; 1 for a broken split: nothing the
experiment says can be used); reach = 1 (the decision applies to everyone the experiment
targets); confidence = 1 when the decision interval excludes 0 (``1 − p_adj`` for an
underpowered result, ``1 − p_SRM`` for a split check).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from growthlab import i18n, metrics, privacy
from growthlab.experiments import ACTIONS, ExperimentResults, metric_specs
from growthlab.findings import Evidence, Finding, confidence
from growthlab.stats import interval_verdict

SECTION = "experiments"
#: report.show formats of :func:`metric_table` and :func:`plan_table`.
TABLE_FORMATS = {"users": "{:,.0f}", "users_control": "{:,.0f}"}
PLAN_FORMATS = {
    "plan_users_per_variant": "{:,.0f}",
    "plan_daily_users": "{:,.1f}",
    "plan_days_needed": "{:,.0f}",
    "plan_days_run": "{:,.0f}",
    "plan_days_more": "{:,.0f}",
}
_LANGS = ("en", "zh")


def format_p(p: Any) -> str:
    """A p-value for readers: "< 0.001" below 0.001, else three decimals; "–" when missing."""
    if p is None or not math.isfinite(float(p)):
        return "–"
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def _ok(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _pct(v: Any, digits: int = 1) -> str:
    return f"{100 * float(v):.{digits}f} %" if _ok(v) else "–"


def _signed_pct(v: Any) -> str:
    return f"{100 * float(v):+.1f} %" if _ok(v) else "–"


def _variant(name: Any, lang: str) -> str:
    return i18n.maybe(f"variant.{name}", lang, str(name))


def value_text(v: Any, metric: str, lang: str, *, diff: bool = False) -> str:
    """A metric's value (``diff``: a difference) for readers: rates in % (differences in pp),
    money with two decimals."""
    if not _ok(v):
        return "–"
    kind = metric_specs()[metric].kind if metric in metric_specs() else "mean"
    if kind == "proportion":
        return metrics.format_value(float(v), "pp", lang=lang) if diff else _pct(v)
    return f"{float(v):+,.2f}" if diff else f"{float(v):,.2f}"


def _interval(low: Any, high: Any, metric: str, lang: str) -> str:
    if not (_ok(low) and _ok(high)):
        return "–"
    return i18n.t(
        "ui.ab.interval",
        lang,
        low=value_text(low, metric, lang, diff=True),
        high=value_text(high, metric, lang, diff=True),
    )


def users_needed(row: pd.Series | dict) -> float:
    """Users per variant at which the minimum detectable effect shrinks to the observed |diff|.

    The MDE scales as sqrt(1/n0 + 1/n1), so growing both groups by a factor f divides it by
    sqrt(f): n = mean(n0, n1) · (mde / |diff|)², with n0, n1 the control's and the variant's
    users (NaN when diff is 0 or missing).
    """
    diff, mde = float(row["diff"]), float(row["mde"])
    if not (math.isfinite(diff) and math.isfinite(mde)) or diff == 0:
        return float("nan")
    n_mean = (float(row["n"]) + float(row["n_control"])) / 2
    return n_mean * (mde / abs(diff)) ** 2


def _guardrail_rows(results: ExperimentResults, experiment: str, variant: str) -> pd.DataFrame:
    c = results.comparisons
    return c.loc[
        c["guardrail"].astype(bool) & (c["experiment_id"] == experiment) & (c["variant"] == variant)
    ]


def guardrail_text(results: ExperimentResults, experiment: str, variant: str, lang: str) -> str:
    """The guardrails of one variant in a phrase: each harmed one with its change, or "none
    harmed" (listing what was checked), or "none measured"."""
    g = _guardrail_rows(results, experiment, variant)
    if g.empty:
        return i18n.t("ui.ab.guardrails_none", lang)
    harmed = g.loc[g["position"] == np.where(g["better"] == "down", "above", "below")]
    if harmed.empty:
        names = "、".join if lang == "zh" else ", ".join
        return i18n.t(
            "ui.ab.guardrails_ok",
            lang,
            names=names(i18n.t(f"ab_metric.{m}", lang) for m in g["metric"]),
        )
    parts = [
        i18n.t(
            "ui.ab.guardrail_harmed",
            lang,
            metric=i18n.t(f"ab_metric.{r['metric']}", lang),
            v1=_pct(r["mean"], 2),
            v0=_pct(r["mean_control"], 2),
        )
        for r in harmed.to_dict("records")  # one per harmed guardrail
    ]
    return ("；" if lang == "zh" else "; ").join(parts)


def ab_findings(results: ExperimentResults | None) -> list[Finding]:
    """One finding per treated variant whose verdict is srm, win, loss, guardrail or
    underpowered (see the module docstring); none for a variant whose interval includes 0."""
    if results is None or results.verdicts.empty:
        return []
    out = []
    for r in results.verdicts.to_dict("records"):  # one row per treated variant
        verdict = r["verdict"]
        position = interval_verdict(r["low"], r["high"], 0.0)
        stated = verdict in ("win", "loss", "underpowered") and position != "includes"
        if not (verdict in ("srm", "guardrail") or stated):
            continue
        kind = f"ab_{verdict}"
        texts, actions = {}, {}
        for lang in _LANGS:
            fields = _finding_fields(results, r, lang)
            texts[lang] = i18n.t(f"finding.{kind}", lang, **fields)
            n = users_needed(r)
            actions[lang] = i18n.t(
                f"action.{kind}",
                lang,
                variant=fields["variant"],
                control=fields["control"],
                guardrails=fields["guardrails"],
                n=f"{math.ceil(n):,}" if math.isfinite(n) else "–",
            )
        effect = abs(float(r["rel_lift"])) if _ok(r["rel_lift"]) else 1.0
        if verdict == "srm":
            effect, conf = 1.0, confidence(p_value=r["srm_p_value"])
        elif verdict == "underpowered":
            conf = confidence(p_value=r["p_adj"])
        elif verdict == "guardrail":
            g = _guardrail_rows(results, r["experiment_id"], r["variant"])
            worst = g["rel_lift"].abs().max() if len(g) else 1.0
            effect, conf = float(worst) if _ok(worst) else 1.0, 1.0
        else:
            conf = confidence(low=r["low"], high=r["high"], threshold=0.0)
        out.append(
            Finding(
                SECTION,
                kind,
                texts["en"],
                texts["zh"],
                subject=str(r["experiment_id"]),
                action_en=actions["en"],
                action_zh=actions["zh"],
                evidence=(
                    Evidence("ab_lift", float(r["diff"]), float(r["low"]), float(r["high"])),
                    Evidence("ab_p_value", float(r["p_adj"])),
                    Evidence("ab_chance_to_win", float(r["chance_to_win"])),
                    Evidence("ab_mde", float(r["mde"])),
                    Evidence("ab_srm_p_value", float(r["srm_p_value"])),
                ),
                effect=min(effect, 1.0),
                reach=1.0,
                confidence=conf,
            )
        )
    return out


def _finding_fields(results: ExperimentResults, r: dict, lang: str) -> dict[str, str]:
    metric = r["metric"]
    return {
        "experiment": str(r["experiment_id"]),
        "variant": _variant(r["variant"], lang),
        "control": _variant(r["control"], lang),
        "metric": i18n.t(f"ab_metric.{metric}", lang),
        "v1": value_text(r["mean"], metric, lang),
        "v0": value_text(r["mean_control"], metric, lang),
        "diff": value_text(r["diff"], metric, lang, diff=True),
        "interval": _interval(r["low"], r["high"], metric, lang),
        "method": i18n.t(f"ui.ab.method.{r['method']}", lang),
        "p": format_p(r["srm_p_value"] if r["verdict"] == "srm" else r["p_adj"]),
        "rel": _signed_pct(r["rel_lift"]),
        "ctw": _pct(r["chance_to_win"]),
        "mde": value_text(r["mde"], metric, lang, diff=True).lstrip("+"),
        "guardrails": guardrail_text(results, r["experiment_id"], r["variant"], lang),
    }


# --------------------------------------------------------------------------------------------
# result cards


def cards(
    results: ExperimentResults | None, lang: str = "en", min_group_size: int = 10
) -> list[dict]:
    """One result card per experiment, as keyword arguments of ``report.say``: ``en`` and
    ``zh`` Markdown templates (written here, from i18n texts) and the values to insert (escaped
    there). A card says the state (running or finished, users, days), the interval method and
    the multiple-testing correction; a banner when the split check fails (verdict withheld);
    then per treated variant its verdict and action, the primary metric's effect with its
    interval, the chance to beat control and expected loss, CUPED's variance reduction, and the
    guardrails. Variants with fewer than ``min_group_size`` users (or such a control) are
    listed as suppressed."""
    if results is None or results.empty:
        return []
    out = []
    settings = results.settings
    for f in results.facts.to_dict("records"):  # one card per experiment
        exp = f["experiment_id"]
        v = results.verdicts.loc[results.verdicts["experiment_id"] == exp]
        values: dict[str, Any] = {
            "experiment": str(exp),
            "state": i18n.t("ui.ab.running" if f["running"] else "ui.ab.finished", lang),
            "users": f"{int(f['users']):,}",
            "days": f"{int(f['days'])}" if _ok(f["days"]) else "–",
            "method": i18n.t(f"ui.ab.method.{f['method']}", lang),
            "correction": i18n.t(f"ui.ab.correction.{settings.get('correction', 'holm')}", lang),
            "srm_p": format_p(f["srm_p_value"]),
        }
        templates = {}
        for tl in _LANGS:
            head = "### {experiment}\n\n"
            if f["srm"]:
                head += "> " + i18n.t("ui.ab.card_srm", tl) + "\n\n"
            head += i18n.t("ui.ab.card_head", tl) + "\n\n"
            templates[tl] = head
        for i, r in enumerate(v.to_dict("records")):  # one line per treated variant
            small = min(float(r["n"]), float(r["n_control"])) < min_group_size
            key = "ui.ab.card_suppressed" if small else "ui.ab.card_variant"
            for tl in _LANGS:
                line = i18n.t(key, tl)
                if not small and r["cuped"]:
                    line += i18n.t("ui.ab.card_cuped", tl)
                templates[tl] += "- " + line.replace("{", f"{{v{i}_") + "\n"
            values.update({f"v{i}_{k}": val for k, val in _card_values(results, r, lang).items()})
        out.append({"en": templates["en"], "zh": templates["zh"], **values})
    return out


def _card_values(results: ExperimentResults, r: dict, lang: str) -> dict[str, str]:
    metric = r["metric"]
    return {
        "variant": _variant(r["variant"], lang),
        "verdict": i18n.t(f"verdict.ab.{r['verdict']}", lang),
        "action": i18n.t(f"action.ab.{ACTIONS[r['verdict']]}", lang),
        "metric": i18n.t(f"ab_metric.{metric}", lang),
        "v1": value_text(r["mean"], metric, lang),
        "v0": value_text(r["mean_control"], metric, lang),
        "diff": value_text(r["diff"], metric, lang, diff=True),
        "interval": _interval(r["low"], r["high"], metric, lang),
        "p": format_p(r["p_adj"]),
        "ctw": _pct(r["chance_to_win"]),
        "loss": _pct(r["expected_loss"], 2),
        "vr": _pct(r["variance_reduction"]),
        "guardrails": guardrail_text(results, r["experiment_id"], r["variant"], lang),
    }


# --------------------------------------------------------------------------------------------
# tables and recorded numbers


def metric_table(
    results: ExperimentResults | None, lang: str = "en", min_group_size: int = 10
) -> pd.DataFrame:
    """Every metric of every treated variant, in ``lang``: experiment, variant, metric,
    users (of the variant) and of the control, control and variant values, difference with its
    decision interval, relative lift, adjusted p-value, chance to beat control, CUPED variance
    reduction and the interval method; comparisons where either group has fewer than
    ``min_group_size`` users are pooled into one suppressed row
    (``privacy.suppress_small_groups``)."""
    cols = ["experiment_id", "ab_variant", "ab_metric", "users", "users_control"]
    cols += ["ab_value_control", "ab_value", "ab_diff", "ab_diff_interval", "ab_rel_lift"]
    cols += ["ab_p_adj", "ab_chance_to_win", "ab_variance_reduction", "ab_method"]
    if results is None or results.comparisons.empty:
        return pd.DataFrame(columns=cols)
    c = results.comparisons.copy()
    c["_size"] = np.minimum(c["n"], c["n_control"])
    label = i18n.t("ui.suppressed", lang)
    t = privacy.suppress_small_groups(c, "_size", min_group_size, label=label)
    rows = t.to_dict("records")  # one row per comparison (a few dozen)

    def known(r: dict) -> bool:
        return r["metric"] in metric_specs()

    return pd.DataFrame(
        {
            "experiment_id": [str(r["experiment_id"]) for r in rows],
            "ab_variant": [_variant(r["variant"], lang) if known(r) else label for r in rows],
            "ab_metric": [
                i18n.t(f"ab_metric.{r['metric']}", lang) if known(r) else label for r in rows
            ],
            "users": [float(r["n"]) if known(r) else float(r["_size"]) for r in rows],
            "users_control": [float(r["n_control"]) if known(r) else np.nan for r in rows],
            "ab_value_control": [
                value_text(r["mean_control"], r["metric"], lang) if known(r) else "–" for r in rows
            ],
            "ab_value": [
                value_text(r["mean"], r["metric"], lang) if known(r) else "–" for r in rows
            ],
            "ab_diff": [
                value_text(r["diff"], r["metric"], lang, diff=True) if known(r) else "–"
                for r in rows
            ],
            "ab_diff_interval": [
                _interval(r["low"], r["high"], r["metric"], lang) if known(r) else "–" for r in rows
            ],
            "ab_rel_lift": [_signed_pct(r["rel_lift"]) for r in rows],
            "ab_p_adj": [
                (format_p(r["p_adj"]) + ("" if not r["guardrail"] else " *")) if known(r) else "–"
                for r in rows
            ],
            "ab_chance_to_win": [_pct(r["chance_to_win"]) for r in rows],
            "ab_variance_reduction": [
                _pct(r["variance_reduction"]) if known(r) and r["cuped"] else "–" for r in rows
            ],
            "ab_method": [
                i18n.t(f"ui.ab.method.{r['method']}", lang) if known(r) else "–" for r in rows
            ],
        }
    )[cols]


def plan_table(results: ExperimentResults | None, lang: str = "en") -> pd.DataFrame:
    """The planner in ``lang``: experiment, variant, baseline, MDE (relative and absolute),
    users per variant needed, observed daily users, days needed, days run and days more."""
    cols = ["experiment_id", "ab_variant", "plan_baseline", "plan_mde", "plan_users_per_variant"]
    cols += ["plan_daily_users", "plan_days_needed", "plan_days_run", "plan_days_more"]
    if results is None or results.plan.empty:
        return pd.DataFrame(columns=cols)
    rows = results.plan.to_dict("records")  # one row per treated variant
    return pd.DataFrame(
        {
            "experiment_id": [str(r["experiment_id"]) for r in rows],
            "ab_variant": [_variant(r["variant"], lang) for r in rows],
            "plan_baseline": [value_text(r["baseline"], r["metric"], lang) for r in rows],
            "plan_mde": [
                f"{_signed_pct(r['mde_rel'])} ({value_text(r['mde_abs'], r['metric'], lang, diff=True)})"
                for r in rows
            ],
            "plan_users_per_variant": [float(r["users_per_variant"]) for r in rows],
            "plan_daily_users": [float(r["daily_users"]) for r in rows],
            "plan_days_needed": [float(r["days_needed"]) for r in rows],
            "plan_days_run": [float(r["days_run"]) for r in rows],
            "plan_days_more": [float(r["days_more"]) for r in rows],
        }
    )[cols]


def main_variant(results: ExperimentResults | None) -> dict[str, Any] | None:
    """The treated variant with most users (first in table order on ties), or None."""
    if results is None or results.verdicts.empty:
        return None
    v = results.verdicts
    return v.loc[v["n"].idxmax()].to_dict()


def headline(results: ExperimentResults | None) -> dict[str, Any]:
    """Catalogue id -> value of the experiments' key numbers: ``ab_experiments``,
    ``ab_ship_vetoed`` (variants whose guardrail vetoed shipping), and for the
    :func:`main_variant` ``ab_experiment``, ``ab_verdict``, ``ab_lift`` (+ ``_low``/``_high``),
    ``ab_rel_lift``, ``ab_p_value``, ``ab_chance_to_win``, ``ab_expected_loss``,
    ``ab_variance_reduction``, ``ab_mde``, ``ab_srm_p_value``, ``ab_days_needed``."""
    if results is None or results.empty:
        return {}
    out: dict[str, Any] = {
        "ab_experiments": int(results.facts["experiment_id"].nunique()),
        "ab_ship_vetoed": int((results.verdicts["verdict"] == "guardrail").sum()),
    }
    main = main_variant(results)
    if main is not None:
        out["ab_experiment"] = str(main["experiment_id"])
        out["ab_verdict"] = str(main["verdict"])
        for key, col in (
            ("ab_lift", "diff"),
            ("ab_lift_low", "low"),
            ("ab_lift_high", "high"),
            ("ab_rel_lift", "rel_lift"),
            ("ab_p_value", "p_adj"),
            ("ab_chance_to_win", "chance_to_win"),
            ("ab_expected_loss", "expected_loss"),
            ("ab_variance_reduction", "variance_reduction"),
            ("ab_mde", "mde"),
            ("ab_srm_p_value", "srm_p_value"),
        ):
            out[key] = float(main[col])
        p = results.plan
        row = p.loc[
            (p["experiment_id"] == main["experiment_id"]) & (p["variant"] == main["variant"])
        ]
        if len(row):
            out["ab_days_needed"] = float(row["days_needed"].iloc[0])
    return out


def ab_records(results: ExperimentResults | None, min_group_size: int = 10) -> list[dict[str, Any]]:
    """The ``ab_results`` records: per experiment, treated variant and metric the users, values,
    difference with its decision interval, adjusted p-value, chance to beat control, method and
    (on the primary metric) the verdict; comparisons with a group under ``min_group_size`` are
    left out."""
    if results is None or results.comparisons.empty:
        return []
    c = results.comparisons
    c = c.loc[np.minimum(c["n"], c["n_control"]) >= min_group_size]
    verdict = results.verdicts.set_index(["experiment_id", "variant", "metric"])["verdict"]
    out = []
    for r in c.to_dict("records"):  # one row per comparison
        rec = {k: r[k] for k in ("experiment_id", "variant", "control", "metric", "method")}
        rec.update({k: int(r[k]) for k in ("n", "n_control")})
        for k in ("mean_control", "mean", "diff", "low", "high", "rel_lift", "p_adj"):
            rec[k] = float(r[k])
        rec["chance_to_win"] = float(r["chance_to_win"])
        rec["verdict"] = verdict.get((r["experiment_id"], r["variant"], r["metric"]))
        out.append(rec)
    return out


def correction_text(results: ExperimentResults | None, lang: str = "en") -> str:
    """The multiple-testing correction used, in words (for the page's opening sentence)."""
    corr = (results.settings.get("correction") if results is not None else None) or "holm"
    return i18n.t(f"ui.ab.correction.{corr}", lang)


def summary(results: ExperimentResults | None) -> dict[str, Any]:
    """experiments, users, running, sequential (counts) and srm (experiments with a broken
    split) — for the section's opening sentence."""
    if results is None or results.empty:
        return {"experiments": 0, "users": 0, "running": 0, "sequential": 0, "srm": 0}
    f = results.facts
    return {
        "experiments": int(len(f)),
        "users": int(f["users"].sum()),
        "running": int(f["running"].sum()),
        "sequential": int((f["method"] == "sequential").sum()),
        "srm": int(f["srm"].sum()),
    }
