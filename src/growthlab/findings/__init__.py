"""Findings as data: what a section found, about whom, on which evidence, and what to do.

A :class:`Finding` is produced by a tested function of a topic module
(``growthlab.findings.<topic>``) from analysis results — never written in a notebook. The
notebook shows its section's findings (``growthlab.report.show_findings``) and records them
(``growthlab.report.record_findings``); the executive summary ranks every section's findings by
:attr:`Finding.importance`.

Importance (documented rule, tested)::

    importance = min(effect, 1) × min(reach, 1) × confidence

- ``effect``: size of what was found on a scale where 1 is "as large as it gets": a relative
  change |Δ| / baseline, a share, or a ratio's distance from its threshold relative to it;
- ``reach``: share of users (or of revenue, conversions) the finding concerns;
- ``confidence``: :func:`confidence` — 1 when the 95 % interval lies beyond the threshold,
  ``1 − p`` from a test, 0.5 for a point estimate with no interval.

So a large effect on a few users ranks below a moderate effect on everyone, and nothing whose
interval includes the threshold is stated as a finding at all (the topic functions do not emit
one; see :func:`growthlab.stats.interval_verdict`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

#: Confidence of a point estimate without an interval or a test.
POINT_ESTIMATE_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Evidence:
    """One number behind a finding: a catalogue metric id (or a column name) and its value."""

    metric: str
    value: float | str | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Finding:
    """One finding (see the module docstring).

    ``section`` is the notebook's topic key (``quality``, ``referral``, ``value``,
    ``attribution``, ``funnel``, ``monitoring``, ``experiments``); ``kind`` names the rule that
    produced it (e.g. ``campaign_self_sustaining``); ``subject`` is the campaign, channel,
    segment or experiment it is about (text from the data: shown escaped); ``en``/``zh`` are
    the statement and ``action_en``/``action_zh`` the suggested action, plain text.
    """

    section: str
    kind: str
    en: str
    zh: str
    subject: str | None = None
    action_en: str | None = None
    action_zh: str | None = None
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    effect: float = 0.0
    reach: float = 0.0
    confidence: float = POINT_ESTIMATE_CONFIDENCE

    def __post_init__(self) -> None:
        for name in ("effect", "reach", "confidence"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ValueError(f"finding {self.kind}: {name} must be a finite number >= 0")
        if self.confidence > 1:
            raise ValueError(f"finding {self.kind}: confidence must be at most 1")

    @property
    def importance(self) -> float:
        """min(effect, 1) × min(reach, 1) × confidence (module docstring)."""
        return min(self.effect, 1.0) * min(self.reach, 1.0) * self.confidence

    def statement(self, lang: str = "en") -> str:
        """The finding in ``lang`` (en or zh)."""
        return self.zh if lang == "zh" else self.en

    def action(self, lang: str = "en") -> str | None:
        """The suggested action in ``lang``, or None."""
        return self.action_zh if lang == "zh" else self.action_en

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict (with ``importance``), as stored in metrics.json."""
        out = asdict(self)
        out["evidence"] = [asdict(e) for e in self.evidence]
        out["importance"] = self.importance
        return out

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Finding:
        """Inverse of :meth:`to_record` (``importance`` is recomputed, not read)."""
        fields = {k: v for k, v in record.items() if k != "importance"}
        fields["evidence"] = tuple(Evidence(**e) for e in record.get("evidence") or ())
        return cls(**fields)


def confidence(
    *,
    low: float | None = None,
    high: float | None = None,
    threshold: float | None = None,
    p_value: float | None = None,
) -> float:
    """Confidence of a finding: 1 if [low, high] excludes ``threshold``, 0 if it includes it;
    else ``1 − p_value``; else :data:`POINT_ESTIMATE_CONFIDENCE`.

    >>> confidence(low=1.1, high=1.4, threshold=1.0), confidence(p_value=0.2)
    (1.0, 0.8)
    """
    if threshold is not None and low is not None and high is not None:
        if any(isinstance(x, float) and math.isnan(x) for x in (low, high)):
            return POINT_ESTIMATE_CONFIDENCE
        return 1.0 if (low > threshold or high < threshold) else 0.0
    if p_value is not None and math.isfinite(p_value):
        return float(min(max(1.0 - p_value, 0.0), 1.0))
    return POINT_ESTIMATE_CONFIDENCE


def rank(findings: Iterable[Finding], n: int | None = None) -> list[Finding]:
    """Findings by decreasing importance (stable: equal importance keeps the given order)."""
    ordered = sorted(findings, key=lambda f: -f.importance)
    return ordered if n is None else ordered[:n]


def from_records(records: Sequence[Mapping[str, Any]] | None) -> list[Finding]:
    """Findings back from metrics.json records; malformed records are skipped."""
    out = []
    for r in records or ():
        try:
            out.append(Finding.from_record(r))
        except (TypeError, ValueError):
            continue
    return out
