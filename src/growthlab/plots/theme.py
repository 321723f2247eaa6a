"""The one look of every growthlab chart, including a CJK-capable font when one is installed."""

from __future__ import annotations

import logging
import os

import matplotlib
import matplotlib.figure
import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib import font_manager

# No matplotlib.use() here: inside a Jupyter kernel (papermill runs) the inline backend must
# stay active so figures land in the notebook; headless scripts fall back to Agg by themselves.

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


#: File name fragments of CJK fonts, used when matplotlib's font cache predates their install.
_CJK_FILES = (
    "wqy",
    "notosanscjk",
    "notoserifcjk",
    "sourcehansans",
    "simhei",
    "msyh",
    "droidsansfallback",
)


def _installed_cjk() -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    return None


def _register_system_cjk_fonts() -> bool:
    """Add CJK font files that matplotlib's (possibly stale) font cache does not know yet.

    matplotlib builds its font list once and caches it; a font installed later (e.g. by
    scripts/ensure-system-deps.sh) stays invisible until the cache is rebuilt. This scans the
    system font folders, registers matching files and rewrites the cache so the next process
    finds them directly. Returns True when a font was added.
    """
    known = {f.fname for f in font_manager.fontManager.ttflist}
    added = False
    for path in font_manager.findSystemFonts():
        low = os.path.basename(path).lower().replace("-", "").replace("_", "")
        if path not in known and any(k in low for k in _CJK_FILES):
            try:
                font_manager.fontManager.addfont(path)
                added = True
            except (OSError, RuntimeError, ValueError):
                continue
    if added:
        cache = os.path.join(
            matplotlib.get_cachedir(), f"fontlist-v{font_manager.FontManager.__version__}.json"
        )
        try:
            font_manager.json_dump(font_manager.fontManager, cache)
        except OSError:
            pass
    return added


def cjk_font() -> str | None:
    """Name of an installed font with CJK glyphs, or None.

    Falls back to scanning the system font folders when matplotlib's cached font list has
    none (the cache is refreshed then).
    """
    name = _installed_cjk()
    if name is None and _register_system_cjk_fonts():
        name = _installed_cjk()
    return name


def apply() -> None:
    """Set the seaborn theme, the palette and a font list that covers Latin and CJK text."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    # CJK fonts ship one weight; matplotlib would log "failed to find font weight bold" per title.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
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
            # Labels come from the data (channel, campaign, variant names): a "$" in one must
            # print as a dollar sign, never be parsed as mathtext (which can raise and stop the
            # notebook). No growthlab chart uses mathtext.
            "text.parse_math": False,
        }
    )
    _install_chart_descriptions()


def chart_description(fig: matplotlib.figure.Figure) -> str:
    """Alternative text of a chart: its titles and axis names, in the chart's own language.

    ``"K by campaign — x: campaign, y: K"``; several axes are joined with "; ". Used as the
    ``alt`` of the chart's image in the report (:func:`apply` installs it).
    """
    parts = []
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text():
        parts.append(sup.get_text())
    for ax in fig.axes:
        bits = [ax.get_title()] if ax.get_title() else []
        axes = [f"{n}: {lab}" for n, lab in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())) if lab]
        if axes:
            bits.append(", ".join(axes))
        if bits:
            parts.append(" — ".join(bits))
    return "; ".join(parts) or "chart"


#: Colours kept when a chart's PNG is reduced to a palette (charts use a few flat colours).
PNG_COLOURS = 128


def chart_png(fig: matplotlib.figure.Figure) -> bytes:
    """The chart as a palette PNG (:data:`PNG_COLOURS` colours, no dithering, optimised).

    Charts are flat colours on white, so a palette keeps them sharp at about a quarter of the
    size of the full-colour PNG (pages stay under 500 KB).
    """
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    image = image.quantize(
        colors=PNG_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _png_with_description(fig: matplotlib.figure.Figure):
    import base64

    return base64.b64encode(chart_png(fig)).decode("ascii"), {"alt": chart_description(fig)}


def _install_chart_descriptions() -> None:
    """In a Jupyter kernel, charts are displayed as PNG with :func:`chart_description` as alt."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the kernel
        return
    ip = get_ipython()
    if ip is None:
        return
    from matplotlib.figure import Figure

    # The inline backend registers its own PNG formatter when it is first loaded (at the first
    # figure); load it now so that ours, registered after, is the one that stays.
    plt.close(plt.figure())
    ip.display_formatter.formatters["image/png"].for_type(Figure, _png_with_description)


def _plain_number(v: float, _pos=None) -> str:
    """A log-axis tick as a plain number: 1,000 / 10 / 0.01 (never mathtext)."""
    if v <= 0:
        return ""
    if v >= 1:
        return f"{v:,.0f}"
    return f"{v:.10f}".rstrip("0").rstrip(".")


def log_axis(ax, axis: str = "x") -> None:
    """Put ``axis`` ("x" or "y") of ``ax`` on a log scale with plain-number ticks.

    The default log tick labels are mathtext ("$10^{3}$"), which the theme turns off
    (``text.parse_math=False``): they would print as code. Call it after drawing: an axis that
    spans at most three decades gets ticks at 1, 2 and 5 of each decade (else one a decade);
    minor ticks get no label.
    """
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 0.0
    subs = (1.0, 2.0, 5.0) if decades <= 3 else (1.0,)
    target.set_major_locator(LogLocator(base=10, subs=subs))
    target.set_major_formatter(FuncFormatter(_plain_number))
    target.set_minor_formatter(NullFormatter())


def percent_axis(ax, axis: str = "y", digits: int = 0) -> None:
    """Show fractions on ``axis`` ("x" or "y") of ``ax`` as percentages ("25%")."""
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: f"{100 * v:.{digits}f}%")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)
