"""The one look of every growthlab chart, including a CJK-capable font when one is installed."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import font_manager  # noqa: E402

PALETTE = "deep"
#: Fonts tried in order for Chinese glyphs (installed by scripts/ensure-system-deps.sh).
CJK_FONTS = (
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "SimHei",
    "Microsoft YaHei",
)


def cjk_font() -> str | None:
    """Name of an installed font with CJK glyphs, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    return None


def apply() -> None:
    """Set the seaborn theme, the palette and a font list that covers Latin and CJK text."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    fonts = ["DejaVu Sans"]
    cjk = cjk_font()
    if cjk:
        fonts = [cjk, *fonts]
    plt.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": fonts + list(plt.rcParams["font.sans-serif"]),
            "axes.unicode_minus": False,
            "figure.figsize": (8, 4.5),
            "figure.dpi": 100,
            "savefig.bbox": "tight",
            "axes.titleweight": "bold",
        }
    )
