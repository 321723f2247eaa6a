"""Findings, recorded numbers and the result table of the A/B tests (``05_monitoring``, key
``experiments``).

Pure functions from a :func:`growthlab.monitor.ab_test` frame. Per treated variant the decision
is read from its verdict (:data:`growthlab.monitor.VERDICTS`), whose interval part is
:func:`growthlab.stats.interval_verdict` of the difference against 0:

======================  ==================================  =================
verdict                 finding (kind)                      action
======================  ==================================  =================
srm                     ``ab_srm`` (verdict withheld)        fix the split
win                     ``ab_win``                           ship
loss                    ``ab_loss``                          stop
underpowered            ``ab_underpowered``                  keep running
no_effect               none (interval includes 0)           stop
inconclusive            none (interval includes 0)           keep running
======================  ==================================  =================

Importance (see :mod:`growthlab.findings`): effect = min(|relative lift|, 1) (1 for a broken
split: nothing the experiment says can be used); reach = 1 (the decision applies to everyone
the experiment targets); confidence = 1 when the 95 % interval of the difference excludes 0
(``1 − p`` for an underpowered result, ``1 − p_SRM`` for a split check).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from growthlab import i18n, metrics, privacy
from growthlab.findings import Evidence, Finding, confidence
from growthlab.stats import interval_verdict

SECTION = "experiments"
#: report.show formats of :func:`result_table`.
RESULT_FORMATS = {"users": "{:,.0f}"}
#: Verdict of ``ab_test`` -> suggested action (keys ``action.ab.<action>`` in i18n).
ACTIONS = {
    "win": "ship",
    "loss": "stop",
    "underpowered": "keep_running",
    "inconclusive": "keep_running",
    "no_effect": "stop",
    "srm": "fix_split",
}


def format_p(p: Any) -> str:
    """A p-value for readers: "< 0.001" below 0.001, else three decimals; "–" when missing."""
    if p is None or not math.isfinite(float(p)):
        return "–"
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def _pp(v: Any, lang: str) -> str:
    return metrics.format_value(v, "pp", lang=lang) if v is not None else "–"


def _pct(v: Any) -> str:
    return "–" if v is None or not math.isfinite(float(v)) else f"{100 * float(v):.1f} %"


def _variant(name: Any, lang: str) -> str:
    return i18n.maybe(f"variant.{name}", lang, str(name))


def users_needed(row: pd.Series | dict) -> float:
    """Users per variant at which the minimum detectable effect shrinks to the observed |diff|.

    The MDE scales as sqrt(1/n0 + 1/n1), so growing both groups by a factor f divides it by
    sqrt(f): n = mean(n0, n1) · (mde / |diff|)², with n0, n1 the control's and the variant's
    users (NaN when diff is 0 or missing).
    """
    diff, mde = float(row["diff"]), float(row["mde"])
    if not (math.isfinite(diff) and math.isfinite(mde)) or diff == 0:
        return float("nan")
    n_mean = (float(row["users"]) + float(row["control_users"])) / 2
    return n_mean * (mde / abs(diff)) ** 2


def _treated(ab: pd.DataFrame) -> pd.DataFrame:
    """Treated rows with the control's users and conversion alongside (control_*)."""
    ctrl = ab.loc[ab["is_control"].astype(bool)].set_index("experiment_id")
    t = ab.loc[~ab["is_control"].astype(bool)].copy()
    t["control"] = t["experiment_id"].map(ctrl["variant"])
    t["control_users"] = t["experiment_id"].map(ctrl["users"])
    t["control_conversion"] = t["experiment_id"].map(ctrl["conversion"])
    return t


def ab_findings(ab: pd.DataFrame) -> list[Finding]:
    """One finding per treated variant whose verdict is srm, win, loss or underpowered (see
    the module docstring); none for a variant whose interval includes 0."""
    if ab is None or ab.empty:
        return []
    out = []
    for r in _treated(ab).to_dict("records"):  # one row per treated variant
        verdict = r["verdict"]
        position = interval_verdict(r["diff_low"], r["diff_high"], 0.0)
        stated = verdict in ("win", "loss", "underpowered") and position != "includes"
        if not (verdict == "srm" or stated):
            continue
        kind = f"ab_{verdict}"
        texts, actions = {}, {}
        for lang in ("en", "zh"):
            fields = {
                "experiment": str(r["experiment_id"]),
                "variant": _variant(r["variant"], lang),
                "control": _variant(r["control"], lang),
                "p1": _pct(r["conversion"]),
                "p0": _pct(r["control_conversion"]),
                "diff": _pp(r["diff"], lang),
                "low": _pp(r["diff_low"], lang),
                "high": _pp(r["diff_high"], lang),
                "p": format_p(r["srm_p_value"] if verdict == "srm" else r["p_value"]),
                "rel": f"{100 * r['rel_lift']:+.1f} %" if math.isfinite(r["rel_lift"]) else "–",
                "mde": _pp(r["mde"], lang).lstrip("+"),
            }
            texts[lang] = i18n.t(f"finding.{kind}", lang, **fields)
            n = users_needed(r)
            actions[lang] = i18n.t(
                f"action.{kind}",
                lang,
                variant=fields["variant"],
                control=fields["control"],
                n=f"{math.ceil(n):,}" if math.isfinite(n) else "–",
            )
        if verdict == "srm":
            effect, conf = 1.0, confidence(p_value=r["srm_p_value"])
        elif verdict == "underpowered":
            effect, conf = abs(float(r["rel_lift"])), confidence(p_value=r["p_value"])
        else:
            effect = abs(float(r["rel_lift"]))
            conf = confidence(low=r["diff_low"], high=r["diff_high"], threshold=0.0)
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
                    Evidence(
                        "ab_lift", float(r["diff"]), float(r["diff_low"]), float(r["diff_high"])
                    ),
                    Evidence("ab_p_value", float(r["p_value"])),
                    Evidence("ab_mde", float(r["mde"])),
                    Evidence("ab_srm_p_value", float(r["srm_p_value"])),
                ),
                effect=min(effect if math.isfinite(effect) else 1.0, 1.0),
                reach=1.0,
                confidence=conf,
            )
        )
    return out


def main_variant(ab: pd.DataFrame) -> dict[str, Any] | None:
    """The treated variant with most assigned users (first in table order on ties), or None."""
    if ab is None or ab.empty:
        return None
    t = ab.loc[~ab["is_control"].astype(bool)]
    if t.empty:
        return None
    return t.loc[t["users"].idxmax()].to_dict()


def headline(ab: pd.DataFrame) -> dict[str, Any]:
    """Catalogue id -> value of the experiments' key numbers: ``ab_experiments``, and for the
    :func:`main_variant` ``ab_experiment``, ``ab_verdict``, ``ab_lift`` (+ ``_low``/``_high``),
    ``ab_rel_lift``, ``ab_p_value``, ``ab_mde``, ``ab_srm_p_value``."""
    if ab is None or ab.empty:
        return {}
    out: dict[str, Any] = {"ab_experiments": int(ab["experiment_id"].nunique())}
    main = main_variant(ab)
    if main is not None:
        out["ab_experiment"] = str(main["experiment_id"])
        out["ab_verdict"] = str(main["verdict"])
        for key, col in (
            ("ab_lift", "diff"),
            ("ab_lift_low", "diff_low"),
            ("ab_lift_high", "diff_high"),
            ("ab_rel_lift", "rel_lift"),
            ("ab_p_value", "p_value"),
            ("ab_mde", "mde"),
            ("ab_srm_p_value", "srm_p_value"),
        ):
            out[key] = float(main[col])
    return out


def ab_records(ab: pd.DataFrame, min_group_size: int = 10) -> list[dict[str, Any]]:
    """The ``ab_results`` records: per experiment and variant users, conversion, diff with
    interval, p-value, relative lift, mde, SRM p-value and verdict (None on control rows);
    variants with fewer than ``min_group_size`` users are left out."""
    if ab is None or ab.empty:
        return []
    ab = ab.loc[ab["users"] >= min_group_size]
    cols = ["diff", "diff_low", "diff_high", "p_value", "rel_lift", "mde"]
    out = []
    for r in ab.to_dict("records"):  # one row per variant
        rec = {
            "experiment_id": r["experiment_id"],
            "variant": r["variant"],
            "users": int(r["users"]),
            "conversion": float(r["conversion"]),
        }
        rec.update({c: None if r["is_control"] else float(r[c]) for c in cols})
        rec["srm_p_value"] = float(r["srm_p_value"])
        rec["verdict"] = r["verdict"]
        out.append(rec)
    return out


def summary(ab: pd.DataFrame) -> dict[str, int]:
    """experiments, users (assigned) — for the section's opening sentence."""
    if ab is None or ab.empty:
        return {"experiments": 0, "users": 0}
    return {"experiments": int(ab["experiment_id"].nunique()), "users": int(ab["users"].sum())}


def result_table(ab: pd.DataFrame, lang: str = "en", min_group_size: int = 10) -> pd.DataFrame:
    """The A/B table in ``lang``, small variants pooled (``privacy.suppress_small_groups``):
    experiment_id, ab_variant, users, ab_conversion, ab_diff, ab_diff_interval, ab_p_value,
    ab_rel_lift, ab_revenue_per_user, ab_rpu_diff, ab_mde, ab_srm_p_value, ab_verdict,
    ab_action — all text but users; "–" where a value does not apply (control rows)."""
    keep = ["experiment_id", "variant", "users", "conversion", "diff", "diff_low", "diff_high"]
    keep += ["p_value", "rel_lift", "revenue_per_user", "rpu_diff", "mde", "srm_p_value"]
    keep += ["verdict"]
    label = i18n.t("ui.suppressed", lang)
    t = privacy.suppress_small_groups(ab[keep], "users", min_group_size, label=label)

    def money(v: Any, signed: bool = False) -> str:
        if v is None or not math.isfinite(float(v)):
            return "–"
        return f"{float(v):+,.2f}" if signed else f"{float(v):,.2f}"

    rows = t.to_dict("records")  # one row per variant
    return pd.DataFrame(
        {
            "experiment_id": [str(r["experiment_id"]) for r in rows],
            "ab_variant": [_variant(r["variant"], lang) for r in rows],
            "users": t["users"].astype(int).to_numpy(),
            "ab_conversion": [_pct(r["conversion"]) for r in rows],
            "ab_diff": [_pp(r["diff"], lang) if np.isfinite(r["diff"]) else "–" for r in rows],
            "ab_diff_interval": [
                f"{_pp(r['diff_low'], lang)} … {_pp(r['diff_high'], lang)}"
                if np.isfinite(r["diff_low"]) and np.isfinite(r["diff_high"])
                else "–"
                for r in rows
            ],
            "ab_p_value": [format_p(r["p_value"]) for r in rows],
            "ab_rel_lift": [
                f"{100 * r['rel_lift']:+.1f} %" if np.isfinite(r["rel_lift"]) else "–" for r in rows
            ],
            "ab_revenue_per_user": [money(r["revenue_per_user"]) for r in rows],
            "ab_rpu_diff": [money(r["rpu_diff"], signed=True) for r in rows],
            "ab_mde": [
                _pp(r["mde"], lang).lstrip("+") if np.isfinite(r["mde"]) else "–" for r in rows
            ],
            "ab_srm_p_value": [format_p(r["srm_p_value"]) for r in rows],
            "ab_verdict": [
                i18n.maybe(f"verdict.ab.{r['verdict']}", lang, str(r["verdict"])) for r in rows
            ],
            "ab_action": [
                i18n.t(f"action.ab.{ACTIONS[r['verdict']]}", lang)
                if r["verdict"] in ACTIONS
                else "–"
                for r in rows
            ],
        }
    )
