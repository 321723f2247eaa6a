"""Figures from analysis results, one theme (seaborn/matplotlib). No computation beyond layout.

Each topic has its own module (``plots.referral``, ``plots.value``, ...); all call
:func:`growthlab.plots.theme.apply` so every chart looks alike and renders CJK labels.
"""

from growthlab.plots.theme import PALETTE, apply

__all__ = ["PALETTE", "apply"]
