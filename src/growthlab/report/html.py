"""Executed notebook -> one self-contained HTML page (SPEC §5).

Code cells are hidden, images stay embedded as data URIs, nothing is loaded from the network
(the template drops nbconvert's require.js/MathJax/mermaid CDN scripts), and the page starts
with a header (data source, period, parameters, generation time, navigation) and a table of
contents built from the headings actually rendered.

Narrative markdown cells are written in English and carry their Chinese text in the cell
metadata (``growthlab.zh``); the page shows the run's ``lang`` (:func:`select_lang`).
"""

from __future__ import annotations

import copy
import functools
import html
import re
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

from growthlab import i18n

TEMPLATES = Path(__file__).with_name("templates")
_HEADING = re.compile(r"<h([1-3])((?:\s[^>]*)?)>(.*?)</h\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_ID = re.compile(r'\sid="([^"]*)"')

#: Keys of the page furniture in :mod:`growthlab.i18n` (``ui.<key>``).
_UI_KEYS = (
    "source",
    "period",
    "parameters",
    "generated",
    "run",
    "status",
    "contents",
    "summary",
    "run_index",
    "all_runs",
    "run_details",
)


def css() -> str:
    """The growthlab stylesheet shared by report pages and indexes."""
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")


def labels(lang: str) -> dict[str, str]:
    """Header/index labels in ``lang`` (en or zh; anything else falls back to en), from i18n."""
    lang = page_lang(lang)
    return {k: i18n.t(f"ui.{k}", lang) for k in _UI_KEYS}


def _value(v: Any) -> str:
    if v is None:
        return "None"
    return str(v)


def header_html(
    *,
    title: str,
    source: str,
    period: str | None,
    parameters: Mapping[str, Any],
    generated: str,
    run_id: str | None = None,
    status: str | None = None,
    lang: str = "en",
    nav: Sequence[tuple[str, str]] = (),
) -> str:
    """The page header (all escaped): navigation, the title, one line of facts a reader needs
    (period, data source name, generation time, status when not ok) and the run's details
    (full source path, parameters, run id) folded away in a ``<details>``.

    :func:`render` drops the title here when the notebook has its own H1.
    """
    lab = labels(lang)
    e = html.escape
    links = "".join(f'<a href="{e(href, quote=True)}">{e(text)}</a>' for text, href in nav)
    params = "".join(f"<code>{e(str(k))} = {e(_value(v))}</code>" for k, v in parameters.items())
    facts = []
    if period:
        facts.append(f"{lab['period']}: {e(period)}")
    facts.append(f"{lab['source']}: {e(Path(source).name or source)}")
    facts.append(f"{lab['generated']}: {e(generated)}")
    badge = ""
    if status:
        word = i18n.maybe(f"status.{status}", page_lang(lang), status)
        badge = f' <span class="gl-status gl-status-{e(status)}">{e(word)}</span>'
    rows = [
        (lab["source"], e(source)),
        (lab["parameters"], f'<span class="gl-params">{params}</span>'),
    ]
    if run_id:
        rows.append((lab["run"], e(run_id)))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (
        '<header class="gl-header">'
        f'<nav class="gl-nav">{links}</nav>'
        f'<h1 class="gl-title">{e(title)}</h1>'
        f'<p class="gl-facts">{" · ".join(facts)}{badge}</p>'
        f'<details class="gl-details"><summary>{lab["run_details"]}</summary>'
        f'<table class="gl-meta">{table}</table></details>'
        "</header>"
    )


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^\w\-]+", "-", text, flags=re.U).strip("-") or "section"
    slug, i = base, 2
    while slug in used:
        slug, i = f"{base}-{i}", i + 1
    used.add(slug)
    return slug


def add_toc(body: str, lang: str = "en", marker: str = "<!--GROWTHLAB-TOC-->") -> str:
    """Give every h1-h3 an id and replace ``marker`` with a linked table of contents."""
    used = set(_ID.findall(body))
    entries: list[tuple[int, str, str]] = []

    def repl(m: re.Match) -> str:
        level, attrs, inner = int(m.group(1)), m.group(2) or "", m.group(3)
        if 'class="gl-title"' in attrs:
            return m.group(0)
        text = html.unescape(_TAG.sub("", inner)).replace("¶", "").strip()
        found = _ID.search(attrs)
        if found:
            anchor = found.group(1)
        else:
            anchor = _slug(text, used)
            attrs = f'{attrs} id="{html.escape(anchor, quote=True)}"'
        if text:
            entries.append((level, anchor, text))
        return f"<h{level}{attrs}>{inner}</h{level}>"

    body = _HEADING.sub(repl, body)
    if not entries:
        return body.replace(marker, "")
    top = min(level for level, _, _ in entries)
    items = "".join(
        f'<li class="gl-toc-{level - top + 1}"><a href="#{html.escape(anchor, quote=True)}">'
        f"{html.escape(text)}</a></li>"
        for level, anchor, text in entries
        if level - top < 3
    )
    toc = (
        f'<details class="gl-toc"><summary>{labels(lang)["contents"]}</summary>'
        f"<ul>{items}</ul></details>"
    )
    return body.replace(marker, toc, 1)


#: Cell metadata holding a markdown cell's translations: ``{"growthlab": {"zh": "..."}}``.
TRANSLATIONS_KEY = "growthlab"


def page_lang(lang: Any) -> str:
    """``lang`` as a page language: one of :data:`growthlab.i18n.LANGUAGES`, anything else ``en``."""
    return lang if isinstance(lang, str) and lang in i18n.LANGUAGES else "en"


def run_lang(nb: Any, default: str = "en") -> str:
    """The ``lang`` papermill ran ``nb`` with (``metadata.papermill.parameters``), else ``default``."""
    params = ((nb.get("metadata") or {}).get("papermill") or {}).get("parameters") or {}
    return page_lang(params.get("lang", default))


def translation(cell: Any, lang: str) -> str | None:
    """The ``lang`` text of a markdown cell (cell metadata ``growthlab.<lang>``), or None."""
    meta = ((cell.get("metadata") or {}).get(TRANSLATIONS_KEY)) or {}
    text = meta.get(lang) if isinstance(meta, dict) else None
    return text if isinstance(text, str) and text.strip() else None


def select_lang(nb: Any, lang: str) -> Any:
    """Copy of ``nb`` whose narrative is in ``lang``.

    Narrative markdown cells are written once, in English, with their Chinese text in the cell
    metadata (``{"growthlab": {"zh": "..."}}``), so a researcher in JupyterLab sees every
    heading once and the translation travels with the cell. For ``lang`` other than ``en``
    each markdown cell with a translation shows it instead (after :func:`page_lang`).
    """
    lang = page_lang(lang)
    nb = copy.deepcopy(nb)
    if lang == "en":
        return nb
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            text = translation(cell, lang)
            if text is not None:
                cell["source"] = text
    return nb


def _clean(nb: Any, keep_errors: bool) -> Any:
    """Copy of ``nb`` without stderr streams (warnings) unless ``keep_errors``."""
    nb = copy.deepcopy(nb)
    if keep_errors:
        return nb
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    return nb


_GL_TITLE = re.compile(r'<h1 class="gl-title">.*?</h1>', re.S)
_H1_HTML = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S | re.I)


def notebook_title(nb: Any, default: str, lang: str | None = None) -> str:
    """The first H1 of the notebook (markdown cell, markdown or HTML output), else ``default``.

    Only cells shown in ``lang`` count (:func:`select_lang`); ``lang=None`` means the language
    the notebook was run with (:func:`run_lang`).
    """
    nb = select_lang(nb, run_lang(nb) if lang is None else lang)
    for cell in nb.cells:
        sources: list[tuple[str, str]] = []
        if cell.get("cell_type") == "markdown":
            sources.append(("text/markdown", cell.get("source", "")))
        for o in cell.get("outputs", []) or []:
            data = o.get("data") or {}
            for mime in ("text/markdown", "text/html"):
                if data.get(mime):
                    text = data[mime]
                    sources.append((mime, text if isinstance(text, str) else "".join(text)))
        for mime, src in sources:
            if mime == "text/html":
                m = _H1_HTML.search(src)
                if m:
                    return html.unescape(_TAG.sub("", m.group(1))).strip()
                continue
            m = re.search(r"^#\s+(.+)$", src, re.M)
            if m:
                return html.unescape(m.group(1).strip())
    return default


#: Cell tag of method details and model diagnostics, folded into "Methods" at the page's end.
METHODS_TAG = "methods"


def fold_methods(body: str, lang: str = "en") -> str:
    """Move every cell tagged :data:`METHODS_TAG` into one collapsed ``<details>`` ("Methods")
    at the end of the page, keeping their order; a page without such cells is unchanged.

    A reader sees findings and their evidence first; parameters, diagnostics and fits stay one
    click away.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser")
    cells = []
    for el in soup.select(f".celltag_{METHODS_TAG}"):
        cell = el if "jp-Cell" in (el.get("class") or []) else el.find_parent(class_="jp-Cell")
        if cell is not None and cell not in cells:
            cells.append(cell)
    if not cells:
        return body
    main = soup.find("main") or soup.body
    details = soup.new_tag("details", attrs={"class": "gl-methods"})
    summary = soup.new_tag("summary")
    summary.string = i18n.t("ui.methods", page_lang(lang))
    details.append(summary)
    for cell in cells:
        details.append(cell.extract())
    main.append(details)
    return str(soup)


@functools.cache
def _exporter(language_code: str) -> Any:
    """The page exporter for one language, made once per process: its templates are compiled
    on first use (about a third of a page's rendering), so the pages of a run share them."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="lab",
        template_file="report.html.j2",
        extra_template_paths=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        language_code=language_code,
    )


def render(
    nb_path: str | Path,
    out_path: str | Path,
    *,
    header: str,
    lang: str = "en",
    keep_errors: bool = False,
) -> Path:
    """Write ``nb_path`` (an executed notebook) as self-contained HTML to ``out_path``.

    ``header`` is HTML from :func:`header_html`; a table of contents follows it. Cells tagged
    for another language than ``lang`` are left out (:func:`select_lang`).
    """
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    exporter = _exporter("zh" if lang == "zh" else "en")
    title = notebook_title(nb, Path(nb_path).stem, lang)
    resources = {"growthlab_css": css(), "metadata": {"name": title}}
    body, _ = exporter.from_notebook_node(
        _clean(select_lang(nb, lang), keep_errors), resources=resources
    )
    if notebook_title(nb, "", lang):  # the notebook has its own H1: do not repeat it
        header = _GL_TITLE.sub("", header, count=1)
    body = body.replace("<!--GROWTHLAB-HEADER-->", header + "<!--GROWTHLAB-TOC-->", 1)
    body = fold_methods(body, lang)
    body = add_toc(body, lang=lang)
    found = active_content(body)
    if found:
        raise UnsafePageError(
            f"page would contain active content ({len(found)}: {'; '.join(found[:3])}); not written"
        )
    out = Path(out_path)
    out.write_text(body, encoding="utf-8")
    return out


#: Elements that run code, load other documents or submit data: a report page has none.
ACTIVE_ELEMENTS = frozenset(
    "script iframe frame frameset object embed applet form input button textarea select "
    "base portal noscript template".split()
)
#: Attributes holding URLs, checked for script schemes.
_URL_ATTRIBUTES = frozenset(
    "href src action formaction xlink:href data srcdoc poster background".split()
)
_SCRIPT_URL = re.compile(r"^\s*(?:javascript|vbscript|data\s*:\s*text/html)", re.I)


class _ActiveContent(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ACTIVE_ELEMENTS:
            self.found.append(f"<{tag}> element")
        if tag == "meta" and any(k == "http-equiv" for k, _ in attrs):
            self.found.append("<meta http-equiv>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...> event handler")
            elif name in _URL_ATTRIBUTES and value and _SCRIPT_URL.match(value.replace("\x00", "")):
                self.found.append(f"<{tag} {name}={value[:40]!r}>")
            elif (
                name == "style"
                and value
                and re.search(r"expression\(|url\(\s*['\"]?\s*javascript", value, re.I)
            ):
                self.found.append(f"<{tag} style=...> script in CSS")

    handle_startendtag = handle_starttag


def active_content(page: str) -> list[str]:
    """Everything in ``page`` that could run code or navigate by itself (empty for a safe page).

    Parses the HTML (no pattern matching on text) and lists: elements of
    :data:`ACTIVE_ELEMENTS`, ``<meta http-equiv>``, ``on*`` event-handler attributes, and
    ``javascript:``/``vbscript:``/``data:text/html`` URLs or CSS expressions. Report pages and
    indexes are static documents, so any finding means data text escaped the escaping boundary
    (:func:`growthlab.report.notebook.escape`); :func:`render` refuses to write such a page.
    """
    parser = _ActiveContent()
    parser.feed(page)
    parser.close()
    return parser.found


class UnsafePageError(ValueError):
    """A page would contain active content (see :func:`active_content`)."""


_FETCHED = re.compile(
    r"<(script|img|iframe|link|embed|source|audio|video|object)\b[^>]*?\s(src|href|data)\s*=\s*"
    r"(\"[^\"]*\"|'[^']*'|[^\s>]+)",
    re.I,
)


def external_references(text: str) -> list[str]:
    """Every resource the page would load from outside itself (URL or file path).

    Looks at ``src``/``href``/``data`` of script, img, iframe, link, embed, source, audio,
    video and object tags, CSS ``@import``/``url()`` and dynamic ``import()``; ``data:`` URIs and
    in-page ``#anchors`` are inside the file. Plain ``<a href>`` links are not fetched and do not
    count. A self-contained page gives [].
    """
    refs = []
    for _tag, _attr, value in _FETCHED.findall(text):
        v = value.strip("\"'").strip()
        if v and not v.lower().startswith("data:") and not v.startswith("#"):
            refs.append(v)
    for v in re.findall(r"url\(\s*[\"']?([^)\"']+)", text, re.I):
        if not v.strip().lower().startswith("data:") and not v.strip().startswith("#"):
            refs.append(v.strip())
    refs += re.findall(r"@import\s+[\"']([^\"']+)", text, re.I)
    refs += re.findall(r"\bimport\(\s*[\"']([^\"']+)", text)
    return refs


def file_link(name: str) -> str:
    """URL-quote a file name for an href."""
    return quote(name)
