"""What notebooks call to communicate: record key numbers, say findings, show tables.

Inside a run, ``growthlab run`` sets ``GROWTHLAB_METRICS_FILE`` and ``GROWTHLAB_NOTEBOOK``;
``record`` then appends to that JSON file under the notebook's namespace, which becomes the
run's ``metrics.json``. Outside a run (JupyterLab, nbval) values are kept in ``RECORDED`` only.
"""

from __future__ import annotations

import html
import json
import math
import os
from numbers import Number
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

METRICS_ENV = "GROWTHLAB_METRICS_FILE"
NOTEBOOK_ENV = "GROWTHLAB_NOTEBOOK"

#: Metrics recorded in this process (namespace -> name -> entry); for interactive use.
RECORDED: dict[str, dict[str, dict[str, Any]]] = {}


def _plain(value: Any) -> Any:
    """Convert numpy/pandas scalars to JSON-safe Python values (nan -> None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record(
    name: str,
    value: Any,
    *,
    label: str | None = None,
    unit: str | None = None,
    better: str | None = None,
    namespace: str | None = None,
) -> Any:
    """Record one key number of the current notebook and return ``value`` unchanged.

    ``label`` is the human name shown in the summary, ``unit`` e.g. "%" or "CNY", ``better``
    is "up" or "down" (which direction is good, for the period-over-period arrow).
    """
    if better not in (None, "up", "down"):
        raise ValueError("better must be 'up', 'down' or None")
    ns = namespace or os.environ.get(NOTEBOOK_ENV) or "interactive"
    entry = {"value": _plain(value), "label": label or name, "unit": unit, "better": better}
    RECORDED.setdefault(ns, {})[name] = entry
    path = os.environ.get(METRICS_ENV)
    if path:
        p = Path(path)
        data = json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
        data.setdefault(ns, {})[name] = entry
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(p)
    return value


def escape(value: Any) -> str:
    """HTML-escape text that comes from the data before it enters markdown output."""
    return html.escape(str(value), quote=True).replace("*", "&#42;").replace("_", "&#95;")


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
    """Pick the sentence for ``lang`` and fill it with ``values`` (each HTML-escaped).

    Values are inserted with ``str.format``; pre-format numbers with :func:`fmt`.
    """
    template = zh if (lang == "zh" and zh is not None) else en
    return template.format(**{k: escape(v) for k, v in values.items()})


def say(lang: str = "en", *, en: str, zh: str | None = None, **values: Any) -> None:
    """Display one finding sentence (markdown) built by :func:`text`."""
    from IPython.display import Markdown, display

    display(Markdown(text(lang, en=en, zh=zh, **values)))
