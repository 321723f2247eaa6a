"""Run index pages: ``reports/<run_id>/index.html`` and ``reports/index.html`` (SPEC §5).

Both are plain, self-contained HTML generated from the runs' ``manifest.json`` files, so they can
be rebuilt at any time (``growthlab index``). ``reports/latest`` points at the newest successful
run: a relative symlink, or, where symlinks are impossible, a ``latest.html`` redirect page.
"""

from __future__ import annotations

import html
import json
import os
import uuid
from pathlib import Path
from typing import Any

from growthlab import i18n
from growthlab.report.html import css, file_link

MANIFEST = "manifest.json"
LATEST = "latest"
LATEST_REDIRECT = "latest.html"


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _page(title: str, body: str, lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
        f"<title>{_e(title)}</title><style>{css()}</style></head>"
        f'<body><div class="gl-page">{body}</div></body></html>\n'
    )


def _status(s: str | None, lang: str = "en") -> str:
    s = s or "unknown"
    word = i18n.maybe(f"status.{s}", lang, s)
    return f'<span class="gl-status gl-status-{_e(s)}">{_e(word)}</span>'


def _dur(x: Any) -> str:
    try:
        return f"{float(x):.1f} s"
    except (TypeError, ValueError):
        return ""


def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    """The run's manifest, or None when missing/unreadable."""
    try:
        return json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def list_runs(out: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Published run folders (not temporary ``.``-folders) with manifests, newest first."""
    runs = []
    if not out.is_dir():
        return runs
    for d in out.iterdir():
        if d.name.startswith(".") or d.is_symlink() or not d.is_dir():
            continue
        m = read_manifest(d)
        if m is not None:
            runs.append((d, m))
    runs.sort(key=lambda r: (r[1].get("started_at") or "", r[0].name), reverse=True)
    return runs


def _lang(manifest: dict[str, Any]) -> str:
    """The run's page language: its ``lang`` parameter (en or zh), else en."""
    lang = (manifest.get("parameters") or {}).get("lang")
    return lang if lang in i18n.LANGUAGES else "en"


def run_index_html(manifest: dict[str, Any]) -> str:
    """The per-run page, in the run's language: status, the executive summary link, and every
    notebook with its status."""
    lang = _lang(manifest)

    def t(key: str, **fields: Any) -> str:
        return i18n.t(f"ui.{key}", lang, **fields)

    rows = []
    for nb in manifest.get("notebooks", []):
        links = []
        if nb.get("html"):
            links.append(f'<a href="{file_link(nb["html"])}">HTML</a>')
        if nb.get("ipynb"):
            links.append(f'<a href="{file_link(nb["ipynb"])}">ipynb</a>')
        err = f'<div class="gl-error">{_e(nb["error"])}</div>' if nb.get("error") else ""
        rows.append(
            f"<tr><td>{_e(nb.get('title') or nb.get('name'))}<br><small>{_e(nb.get('name'))}"
            f"</small></td><td>{_status(nb.get('status'), lang)}{err}</td>"
            f"<td>{_dur(nb.get('duration_s'))}</td><td>{' · '.join(links)}</td></tr>"
        )
    summary = next(
        (
            nb
            for nb in manifest.get("notebooks", [])
            if nb.get("name") == manifest.get("summary") and nb.get("html")
        ),
        None,
    )
    front = (
        f'<p><a href="{file_link(summary["html"])}"><strong>{_e(t("open_summary"))}</strong></a></p>'
        if summary
        else ""
    )
    err = f'<p class="gl-error">{_e(manifest["error"])}</p>' if manifest.get("error") else ""
    params = "".join(
        f"<code>{_e(k)} = {_e(v)}</code>" for k, v in (manifest.get("parameters") or {}).items()
    )
    git = manifest.get("git") or {}
    meta = [
        (t("status"), _status(manifest.get("status"), lang)),
        (t("source"), _e((manifest.get("source") or {}).get("path"))),
        (t("period"), _e(manifest.get("period"))),
        (t("config"), _e(manifest.get("config"))),
        (t("parameters"), f'<span class="gl-params">{params}</span>'),
        (t("started"), _e(manifest.get("started_at"))),
        (t("duration"), _dur(manifest.get("duration_s"))),
        (t("git"), _e(git.get("commit")) + (f" {t('modified')}" if git.get("dirty") else "")),
    ]
    meta_html = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in meta)
    title = t("run_title", run_id=manifest.get("run_id"))
    body = (
        f'<nav class="gl-nav"><a href="../index.html">{_e(t("all_runs"))}</a>'
        f'<a href="{MANIFEST}">manifest.json</a><a href="metrics.json">metrics.json</a></nav>'
        f"<h1>{_e(title)}</h1>{err}{front}"
        f'<table class="gl-meta">{meta_html}</table>'
        f'<h2>{_e(t("notebooks"))}</h2><table class="gl-table"><tr><th>{_e(t("notebook"))}</th>'
        f"<th>{_e(t('status'))}</th><th>{_e(t('duration'))}</th><th>{_e(t('output'))}</th></tr>"
        f"{''.join(rows)}</table>"
    )
    return _page(f"growthlab · {title}", body, lang)


def write_run_index(run_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write ``run_dir/index.html`` from ``manifest``."""
    path = run_dir / "index.html"
    atomic_write(path, run_index_html(manifest))
    return path


def reports_index_html(runs: list[tuple[Path, dict[str, Any]]], latest: str | None) -> str:
    """The list of every run, newest first, with status, duration and errors; in the language
    of the newest run."""
    lang = _lang(runs[0][1]) if runs else "en"

    def t(key: str, **fields: Any) -> str:
        return i18n.t(f"ui.{key}", lang, **fields)

    rows = []
    for d, m in runs:
        failed = [nb for nb in m.get("notebooks", []) if nb.get("status") not in ("ok", None)]
        problems = "".join(
            f'<div class="gl-error">{_e(nb.get("name"))}: {_e(nb.get("status"))}'
            + (f" — {_e(nb.get('error'))}" if nb.get("error") else "")
            + "</div>"
            for nb in failed
        )
        if m.get("error") and not failed:
            problems = f'<div class="gl-error">{_e(m["error"])}</div>'
        mark = f" ★ {_e(t('latest_mark'))}" if d.name == latest else ""
        rows.append(
            f'<tr><td><a href="{file_link(d.name)}/index.html">{_e(d.name)}</a>{mark}</td>'
            f"<td>{_status(m.get('status'), lang)}{problems}</td><td>{_e(m.get('started_at'))}</td>"
            f"<td>{_dur(m.get('duration_s'))}</td>"
            f"<td>{_e((m.get('source') or {}).get('path'))}</td><td>{_e(m.get('config'))}</td></tr>"
        )
    latest_link = (
        f'<p>{_e(t("latest"))}: <a href="{file_link(latest)}/index.html">{_e(latest)}</a></p>'
        if latest
        else f"<p>{_e(t('no_success'))}</p>"
    )
    heads = "".join(
        f"<th>{_e(t(k))}</th>" for k in ("run", "status", "started", "duration", "source", "config")
    )
    body = (
        f"<h1>{_e(t('reports'))}</h1>{latest_link}"
        f'<table class="gl-table"><tr>{heads}</tr>{"".join(rows)}</table>'
    )
    return _page(t("reports"), body, lang)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a unique temporary file and an atomic rename."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def current_latest(out: Path) -> str | None:
    """Name of the run ``reports/latest`` points at (symlink or redirect file), or None."""
    link = out / LATEST
    if link.is_symlink():
        return Path(os.readlink(link)).name
    red = out / LATEST_REDIRECT
    if red.is_file():
        m = __import__("re").search(r'data-run="([^"]+)"', red.read_text(encoding="utf-8"))
        return m.group(1) if m else None
    return None


def point_latest(out: Path, run_name: str) -> str:
    """Atomically point ``out/latest`` at ``run_name``; returns "symlink" or "redirect"."""
    tmp = out / f".latest.{uuid.uuid4().hex[:8]}"
    try:
        os.symlink(run_name, tmp, target_is_directory=True)
        os.replace(tmp, out / LATEST)
        mode = "symlink"
    except OSError:
        if tmp.is_symlink():
            tmp.unlink()
        mode = "redirect"
    href = f"{file_link(run_name)}/index.html"
    atomic_write(
        out / LATEST_REDIRECT,
        f'<!DOCTYPE html><html><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0; url={href}"><title>latest</title></head>'
        f'<body data-run="{_e(run_name)}"><a href="{href}">{_e(run_name)}</a></body></html>\n',
    )
    return mode


def rebuild(out: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """Regenerate every run's index, ``reports/index.html`` and ``latest`` from manifests.

    The caller holds the output folder's lock.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = list_runs(out)
    for d, m in runs:
        write_run_index(d, m)
    ok = [d.name for d, m in runs if m.get("status") == "success"]
    latest = ok[0] if ok else None
    if latest and current_latest(out) != latest:
        point_latest(out, latest)
    atomic_write(out / "index.html", reports_index_html(runs, latest or current_latest(out)))
    return runs
