"""What notebooks call to communicate: record key numbers, say findings, show tables.

Inside a run, ``growthlab run`` sets ``GROWTHLAB_METRICS_FILE`` and ``GROWTHLAB_NOTEBOOK``;
``record`` then appends to that JSON file under the notebook's namespace, which becomes the
run's ``metrics.json``. Outside a run (JupyterLab, nbval) values are kept in ``RECORDED`` only.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from numbers import Number
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from growthlab import i18n, metrics
from growthlab.findings import Finding
from growthlab.privacy import mask_personal
from growthlab.report.downloads import csv_bytes, xlsx_bytes
from growthlab.report.index import atomic_write

METRICS_ENV = "GROWTHLAB_METRICS_FILE"
NOTEBOOK_ENV = "GROWTHLAB_NOTEBOOK"

#: Metrics recorded in this process (namespace -> name -> entry); for interactive use.
RECORDED: dict[str, dict[str, dict[str, Any]]] = {}


def _plain(value: Any) -> Any:
    """Convert numpy/pandas scalars to JSON-safe Python values (nan -> None), text masked."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, str):
        return mask_personal(value)
    if isinstance(value, dict):
        return {mask_personal(str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record(
    metric_id: str,
    value: Any,
    *,
    namespace: str | None = None,
    currency: str | None = None,
    **fields: Any,
) -> Any:
    """Record one key number of the current notebook under its catalogue id; return ``value``.

    ``metric_id`` must be in :data:`growthlab.metrics.CATALOGUE`, which gives the labels (en,
    zh), unit and better direction; ``fields`` fill the label's ``{placeholders}`` (e.g.
    ``window_days=30``), ``currency`` names the currency of a ``currency`` metric. The entry
    written to ``metrics.json`` is ``{value, label, label_zh, unit, better, currency}``.
    """
    m = metrics.get(metric_id)
    ns = namespace or os.environ.get(NOTEBOOK_ENV) or "interactive"
    entry = {
        "value": _plain(value),
        "label": m.label("en", **fields),
        "label_zh": m.label("zh", **fields),
        "unit": m.unit,
        "better": m.better,
        "currency": currency if m.unit == "currency" else None,
    }
    RECORDED.setdefault(ns, {})[metric_id] = entry
    path = os.environ.get(METRICS_ENV)
    if path:
        p = Path(path)
        data = json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
        data.setdefault(ns, {})[metric_id] = entry
        atomic_write(p, json.dumps(data, ensure_ascii=False, indent=2))
    return value


def escape(value: Any) -> str:
    """The one boundary from data text to HTML: mask personal data, then HTML-escape.

    ``escape(v) = html.escape(privacy.mask_personal(str(v)), quote=True)``. Every string that
    comes from the data reaches a page through this function (sentences via :func:`say`, table
    cells and headers via :func:`show`); nothing from the data is ever parsed as Markdown.

    >>> escape('<img src=x onerror=alert(1)> 13812345678')
    '&lt;img src=x onerror=alert(1)&gt; [phone]'
    """
    return html.escape(mask_personal(str(value)), quote=True)


def fmt(value: Any, kind: str = "num", digits: int = 2) -> str:
    """Format a number for a sentence: kind = num | int | pct | money."""
    if value is None or (isinstance(value, Number) and not math.isfinite(float(value))):
        return "n/a"
    if kind == "int":
        return f"{int(round(float(value))):,}"
    if kind == "pct":
        return f"{100 * float(value):.{max(digits - 1, 0)}f} %"
    if kind == "money":
        return f"{float(value):,.{digits}f}"
    return f"{float(value):,.{digits}f}"


def text(lang: str = "en", *, en: str, zh: str | None = None, **values: Any) -> str:
    """Pick the plain-text sentence for ``lang`` and fill it with ``values`` (``str.format``).

    The result is plain text, not HTML: pass it to :func:`say` as a value (it is escaped there)
    or use it as a chart label. Pre-format numbers with :func:`fmt`.
    """
    values = {k: str(v) for k, v in values.items()}
    if lang == "zh" and zh is not None:
        return i18n.spaced(zh, values).format(**values)
    return en.format(**values)


def _placeholder(i: int) -> str:
    # Letters and digits only: no Markdown syntax can start or end inside it.
    return f"GLVALUE{i}X{_NONCE}"


_NONCE = secrets.token_hex(4).upper()


def sentence_html(lang: str = "en", *, en: str, zh: str | None = None, **values: Any) -> str:
    """HTML of one finding: the template's Markdown rendered, the data values inserted as text.

    The template (``en``/``zh``, written in code) is rendered as Markdown with each ``{name}``
    replaced by an opaque placeholder; only then are the values put in, through :func:`escape`.
    So a value can never become a link, a heading or an element, whatever it contains.
    """
    import mistune

    template = zh if (lang == "zh" and zh is not None) else en
    if lang == "zh" and zh is not None:  # the spaces of i18n.t, from the values as shown
        template = i18n.spaced(template, {k: str(v) for k, v in values.items()})
    names = list(values)
    holders = {k: _placeholder(i) for i, k in enumerate(names)}
    rendered = mistune.html(template.format(**holders))
    for k in names:
        rendered = rendered.replace(holders[k], escape(values[k]))
    return rendered.strip()


def say(lang: str = "en", *, en: str, zh: str | None = None, **values: Any) -> None:
    """Display one finding sentence built by :func:`sentence_html` (an HTML output)."""
    from IPython.display import HTML, display

    display(HTML(sentence_html(lang, en=en, zh=zh, **values)))


def _masked_labels(labels: pd.Index) -> pd.Index:
    if isinstance(labels, pd.MultiIndex):
        return pd.MultiIndex.from_arrays(
            [_masked_labels(labels.get_level_values(i)) for i in range(labels.nlevels)],
            names=labels.names,
        )
    if labels.dtype == object or pd.api.types.is_string_dtype(labels.dtype):
        return pd.Index(mask_personal(pd.Series(labels, dtype=object)), name=labels.name)
    return labels


#: Columns holding canonical channel keys, shown with their display names.
_CHANNEL_COLUMNS = frozenset({"channel", "share_channel", "first_channel", "last_channel"})


def table_html(
    table: pd.DataFrame,
    formats: str | Mapping[str, Any] | None = None,
    *,
    na_rep: str = "–",
    precision: int = 2,
    index: bool = False,
    lang: str | None = None,
) -> str:
    """A data frame as an HTML table: every cell, header and index label masked and escaped.

    ``formats`` is what :meth:`pandas.io.formats.style.Styler.format` takes (one format string,
    or column -> format string/callable); the rest use ``precision`` decimals. Text cells go
    through :func:`growthlab.privacy.mask_personal` and are HTML-escaped (``escape="html"``),
    like column and index labels; the index is hidden unless ``index=True``. With ``lang``,
    column names with a ``column.<name>`` text in :mod:`growthlab.i18n` get that header and
    channel keys in channel columns their display name (``channel.<key>``).
    """
    shown, formats = display_frame(table, formats, lang=lang)
    return _styled(shown, formats, na_rep=na_rep, precision=precision, index=index)


def display_frame(
    table: pd.DataFrame, formats: str | Mapping[str, Any] | None = None, *, lang: str | None = None
) -> tuple[pd.DataFrame, str | Mapping[str, Any] | None]:
    """The table as shown: text masked (:func:`growthlab.privacy.mask_personal`), channel keys
    and column names in ``lang`` (when given); ``formats`` re-keyed to the shown names."""
    shown = table.copy()
    if lang is not None:
        for c in _CHANNEL_COLUMNS.intersection(shown.columns):
            shown[c] = shown[c].map(lambda v: i18n.maybe(f"channel.{v}", lang, v))
    if lang is not None and not isinstance(shown.columns, pd.MultiIndex):
        headers = i18n.columns(shown.columns, lang)
        shown = shown.rename(columns=headers)
        if isinstance(formats, Mapping):
            formats = {headers.get(c, c): f for c, f in formats.items()}
    for c in shown.columns:
        if shown[c].dtype == object or pd.api.types.is_string_dtype(shown[c].dtype):
            shown[c] = mask_personal(shown[c])
    shown.columns = _masked_labels(shown.columns)
    shown.index = _masked_labels(shown.index)
    return shown, formats


def _styled(
    shown: pd.DataFrame,
    formats: str | Mapping[str, Any] | None,
    *,
    na_rep: str,
    precision: int,
    index: bool,
) -> str:
    if isinstance(formats, Mapping):
        formats = {c: f for c, f in formats.items() if c in shown.columns}
    opts = dict(precision=precision, na_rep=na_rep, escape="html", thousands=",")
    st = shown.style.format(**opts)
    if isinstance(formats, Mapping) and formats:
        # subset: a dict format must not reset the other columns to the plain formatter
        st = st.format(formats, subset=list(formats), **opts)
    elif formats:
        st = st.format(formats, **opts)
    st = st.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    if not index:
        st = st.hide(axis="index")
    return st.to_html()


def show(
    table: pd.DataFrame,
    formats: str | Mapping[str, Any] | None = None,
    *,
    na_rep: str = "–",
    precision: int = 2,
    index: bool = False,
    lang: str | None = None,
    name: str | None = None,
) -> None:
    """Display a table in the report: :func:`table_html` as an HTML output (the only way).

    An empty table shows nothing (the sentence before it says why). Inside a run the table as
    shown is also saved as CSV and XLSX (:func:`save_table`) and linked under it.
    """
    from IPython.display import HTML, display

    if table.empty:
        return
    shown, shown_formats = display_frame(table, formats, lang=lang)
    page = _styled(shown, shown_formats, na_rep=na_rep, precision=precision, index=index)
    links = save_table(shown, name, index=index)
    if links:
        page += (
            '<p class="gl-downloads">'
            + " · ".join(
                f'<a href="{html.escape(h, quote=True)}" download>{k}</a>' for k, h in links
            )
            + "</p>"
        )
    display(HTML(page))


#: Set by ``growthlab run``: the folder of this notebook's downloadable tables.
TABLES_ENV = "GROWTHLAB_TABLES_DIR"
_TABLE_NUMBER = itertools.count(1)


def save_table(
    shown: pd.DataFrame, name: str | None = None, *, index: bool = False
) -> list[tuple[str, str]]:
    """Write a shown table as ``<name>.csv`` (UTF-8 with BOM, so Excel reads Chinese) and
    ``<name>.xlsx`` into ``$GROWTHLAB_TABLES_DIR``; return [(label, link relative to the page)].

    Outside a run (no such folder) nothing is written and [] is returned. ``name`` defaults to
    ``table_<n>``, numbered in display order. The content is what the page shows: masked,
    suppressed and pseudonymised like the page, numbers unformatted.
    """
    folder = os.environ.get(TABLES_ENV)
    if not folder:
        return []
    number = next(_TABLE_NUMBER)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", name or "").strip("_") or f"table_{number:02d}"
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    frame = shown.reset_index() if index else shown.reset_index(drop=True)
    # cells from data that Excel would run as formulas are neutralised (report.downloads)
    (out / f"{stem}.csv").write_bytes(csv_bytes(frame, float_format="%.6f")[0])
    (out / f"{stem}.xlsx").write_bytes(xlsx_bytes(frame, stem))
    base = f"tables/{out.name}"
    return [("CSV", f"{base}/{stem}.csv"), ("XLSX", f"{base}/{stem}.xlsx")]


def findings_html(items: Sequence[Finding], lang: str = "en") -> str:
    """Findings as an HTML list: each statement, then its suggested action, escaped."""
    if not items:
        return ""
    rows = []
    for f in items:
        action = f.action(lang)
        arrow = f'<br><span class="gl-action">→ {escape(action)}</span>' if action else ""
        rows.append(f'<li class="gl-finding">{escape(f.statement(lang))}{arrow}</li>')
    return f'<ul class="gl-findings">{"".join(rows)}</ul>'


def show_findings(items: Sequence[Finding], lang: str = "en") -> None:
    """Display a section's findings (:func:`findings_html`); nothing when there are none."""
    from IPython.display import HTML, display

    if items:
        display(HTML(findings_html(items, lang)))


def record_findings(items: Sequence[Finding], *, namespace: str | None = None) -> list[Finding]:
    """Record the section's findings (metric id ``findings``) for the summary; return them."""
    record("findings", [f.to_record() for f in items], namespace=namespace)
    return list(items)
