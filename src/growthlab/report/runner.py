"""``growthlab run``: execute the configured notebooks with papermill into a versioned run folder.

Layout of one run (SPEC §5)::

    reports/<run_id>/
        <notebook>.ipynb   executed notebook (partial when it failed)
        <notebook>.html    self-contained page: code hidden, images embedded, header, contents
        metrics.json       key numbers recorded by the notebooks (namespace = notebook name)
        manifest.json      status/duration per notebook, parameters, fingerprints, versions, git
        index.html         the run's page (links to the executive summary and every section)
    reports/index.html     every run, newest first, with status and errors
    reports/latest         -> newest successful run (symlink; latest.html redirect as fallback)

Guarantees: config and source are validated before anything executes (exit 2); the run is built
in ``reports/.tmp-<run_id>`` and renamed when complete; a failed notebook makes the run
``failed`` (exit 1) and never moves ``latest``; Ctrl-C/SIGTERM publish the run as
``interrupted``; a file lock serialises runs writing to the same output folder; an output
folder that cannot be written is refused up front (exit 2).

Process hygiene: worker processes and Jupyter kernels end with the process that started them,
however it ends (even ``kill -9``), so nothing writes into a dead run's temporary folder. On
Linux each worker and each kernel asks for ``SIGKILL`` when its parent dies
(``prctl(PR_SET_PDEATHSIG)``, then re-checks its parent to close the start-up race); elsewhere
workers poll their parent and kernels rely on ipykernel's parent poller.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import inspect
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from growthlab.data.engine import SNAPSHOT_ENV, is_engine_url
from growthlab.data.engine import URL_ENV as ENGINE_URL_ENV
from growthlab.data.engine import label as engine_label
from growthlab.data.localtime import to_local
from growthlab.errors import ConfigError, GrowthlabError
from growthlab.report import html as rhtml
from growthlab.report import index as rindex
from growthlab.report import manifest as rman
from growthlab.report.config import (
    NotebookSpec,
    RunConfig,
    load_config,
    packaged_default,
    passed_parameters,
)
from growthlab.report.notebook import METRICS_ENV, NOTEBOOK_ENV, TABLES_ENV

# nbformat (papermill, nbconvert; imported lazily below) imports jsonschema, which imports the
# optional ``rfc3987_syntax`` when installed: that builds an Earley parser at import time (~3 s
# in this process and again in every worker). Nothing here validates "iri" formats, so block it
# (jsonschema suppresses the ImportError and just lacks that format check).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

LOCK_NAME = ".lock"
SUMMARY = "00_summary"
_LOAD_KEYS = ("timezone", "as_of", "currency", "channel_map")
CACHE_ENV = "GROWTHLAB_CACHE_DIR"  # = growthlab.data.cache.ENV (not imported: keeps CLI start fast)
CACHE_KEEP = 8  # cache entries kept after a run (most recently used)


#: a run whose newest data is older than this (days before the run) says so in every header
STALE_DAYS = 30


def default_config() -> str:
    """The run configuration ``growthlab run`` uses without ``--config``.

    ``runs/default.yaml`` of the current folder (a checkout: the default run on the sample),
    else the default run installed with the package (``config.packaged_default()``: every
    notebook, no source), so ``growthlab run --source DIR`` works from any folder after
    ``pip install``.
    """
    here = Path("runs") / "default.yaml"
    if here.is_file():
        return str(here)
    return str(packaged_default())


def _as_of_note(as_of_source: str | None) -> dict[str, str]:
    """How as_of was chosen, for page headers (en, zh)."""
    text = as_of_source or ""
    if not text:
        return {}
    zh = text
    if text.startswith("latest timestamp in the data"):
        where = text[text.find("(") + 1 : text.find(")")] if "(" in text else ""
        zh = f"数据中的最新时间（{where}），不晚于运行时刻"
    elif text.startswith("growthlab.yaml"):
        zh = "数据源的 growthlab.yaml"
    elif text.startswith("truth.json"):
        zh = "truth.json（合成样本的日期）"
    elif text == "given":
        text, zh = "the run's as_of parameter", "运行参数 as_of"
    return {"en": f"as_of: {text}", "zh": f"分析日期来源：{zh}"}


def _stale_note(latest: str | None, days: int | None) -> dict[str, str]:
    if latest is None or days is None or days <= STALE_DAYS:
        return {}
    return {
        "en": f"the newest data ({latest}) is {days} days older than this run",
        "zh": f"最新数据（{latest}）比本次运行早 {days} 天",
    }


def default_cache_dir() -> Path:
    """Where runs keep validated loads unless ``$GROWTHLAB_CACHE_DIR`` is set.

    ``$XDG_CACHE_HOME/growthlab/datasets`` (default ``~/.cache/...``): outside the output folder,
    whose contents are run folders only, and shared by runs writing to different folders.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "growthlab" / "datasets"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _write_json(path: Path, data: Any) -> None:
    rindex.atomic_write(path, json.dumps(data, ensure_ascii=False, indent=2, default=str))


def load_source(source: str, **kwargs: Any) -> Any:
    """``growthlab.data.load(source, **kwargs)`` for a command: a missing folder or file and an
    unreadable source are ConfigError (exit 2), never a traceback."""
    from growthlab import data

    if not is_engine_url(source) and not Path(source).exists():
        raise ConfigError(f"source {source} does not exist")
    try:
        return data.load(source, **kwargs)
    except GrowthlabError:
        raise
    except Exception as err:  # noqa: BLE001 - unreadable input is a message, not a traceback
        raise ConfigError(f"cannot read source {source}: {type(err).__name__}: {err}") from err


def describe_source(cfg: RunConfig) -> dict[str, Any]:
    """Validate the source with ``growthlab.data.load`` and describe it for report headers.

    Raises DataContractError (exit 2) when the source is unusable; nothing has run yet.
    Returns ``{"tables": [...], "period": "first – as_of", "as_of": ...}``.
    """
    from growthlab import data

    accepted = inspect.signature(data.load).parameters
    kwargs = {
        k: cfg.parameters[k]
        for k in _LOAD_KEYS
        if k in cfg.parameters and cfg.parameters[k] is not None and k in accepted
    }
    ds = load_source(cfg.source, **kwargs)
    info: dict[str, Any] = {"tables": sorted(getattr(ds, "tables", []) or [])}
    # an engine source is fingerprinted by its tables' schemas, row counts and latest times
    info["engine"] = getattr(ds, "engine", None)
    as_of = getattr(ds, "as_of", None)
    info["as_of_source"] = getattr(ds, "as_of_source", None) or None
    info["latest"] = info["stale_days"] = None
    with contextlib.suppress(Exception):
        last = pd.to_datetime(ds.quality.tables["last"]).max()
        if pd.notna(last):
            info["latest"] = str(to_local(last, ds.timezone).date())
            now = pd.Timestamp.now(tz="UTC").tz_localize(None)
            info["stale_days"] = int((now - last) / pd.Timedelta(days=1))
    # Shown as local calendar dates of the source time zone.
    info["as_of"] = None
    if as_of is not None:
        local = pd.Timestamp(as_of)
        with contextlib.suppress(Exception):
            local = to_local(local, ds.timezone)
        if local == local.normalize():  # midnight = the end of the previous day
            local -= pd.Timedelta(microseconds=1)
        info["as_of"] = str(local.date())
    try:
        first = pd.Timestamp(ds.table("users").signup_at.min().execute())
        info["start"] = str(to_local(first, ds.timezone).date())
    except Exception:  # noqa: BLE001 - a header nicety, never a reason to fail
        info["start"] = None
    if info.get("start") or info.get("as_of"):
        info["period"] = f"{info.get('start') or '…'} – {info.get('as_of') or '…'}"
    else:
        info["period"] = None
    with contextlib.suppress(Exception):
        con = getattr(ds, "con", None)
        if con is not None and hasattr(con, "disconnect"):
            con.disconnect()
    return info


def comparable(manifest: dict[str, Any], cfg: RunConfig) -> bool:
    """True when a run (its ``manifest``) analysed the same source with the same configuration.

    Same source path, same config name and the same shared parameters (``as_of`` aside: a later
    run on refreshed data is what a comparison is for). Only such a run is compared with on the
    executive summary; a run of another source or configuration never is.
    """

    def params(p: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in (p or {}).items() if k not in ("as_of", "source")}

    source = engine_label(cfg.source) if is_engine_url(cfg.source) else cfg.source
    return (
        (manifest.get("source") or {}).get("path") == source
        and manifest.get("config_name") == cfg.name
        and params(manifest.get("parameters"))
        == params(json.loads(json.dumps(cfg.parameters, default=str)))
    )


def _previous_comparable(out: Path, cfg: RunConfig) -> tuple[str, Path] | None:
    """The newest successful run in ``out`` that is :func:`comparable` with ``cfg``, or None."""
    for d, m in rindex.list_runs(out):
        if m.get("status") == "success" and comparable(m, cfg):
            return d.name, d
    return None


def _notebook_parameters(
    spec: NotebookSpec, runner_params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(parameters passed to papermill, parameters shown in the page header).

    Only parameters the notebook declares are passed (plus ``source``); the header shows the
    notebook's defaults overlaid with what was passed, without the runner's own plumbing.
    """
    params = passed_parameters(spec)
    declared = set(spec.declared)
    shown: dict[str, Any] = {
        k: (None if v == "None" else v.strip("\"'"))
        for k, v in spec.defaults.items()
        if k not in runner_params
    }
    shown.update(params)
    for k, v in runner_params.items():
        if k in declared:
            params[k] = v
    return params, shown


@contextlib.contextmanager
def environment(**values: str):
    """Set environment variables for the ``with`` block (the run's processes inherit them),
    restoring the previous values after."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Treat SIGTERM (cron/Airflow cancelling a task) like Ctrl-C while the run executes."""

    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@functools.cache
def _prctl() -> Any:
    """libc ``prctl`` (Linux), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    fn.restype = ctypes.c_int
    return fn


def _die_with_parent(prctl: Any, parent: int) -> bool:
    """Have Linux SIGKILL this process when its parent dies; False when that is unavailable.

    Ends the process at once when ``parent`` is already gone (it may have died before the
    request took effect). Safe between fork and exec (kernel ``preexec_fn``): no imports, no
    locks.
    """
    ok = prctl is not None and prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    if os.getppid() != parent:
        os._exit(1)
    return ok


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _worker_init(parent: int) -> None:
    """Process-pool initializer: the worker ends with the runner ``parent``, even on SIGKILL."""
    if not _die_with_parent(_prctl(), parent):
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


#: How kernels start: ``ipykernel_launcher`` without its debugger. ipykernel imports debugpy at
#: start when it is installed (about a quarter of a kernel's start-up); nothing debugs a report's
#: kernels, so it is blocked (ipykernel then runs without a debugger, as when debugpy is absent).
#: The rest is what ``ipykernel_launcher`` does: drop the working folder from ``sys.path``, start.
_KERNEL_LAUNCHER = (
    "import sys; sys.modules['debugpy'] = None\n"
    "if sys.path and sys.path[0] == '': del sys.path[0]\n"
    "from ipykernel import kernelapp; kernelapp.launch_new_instance()"
)


def _lean_kernel_cmd(cmd: list[str]) -> list[str]:
    """``cmd`` of a kernelspec that runs ``python -m ipykernel_launcher`` with the lean launcher
    (:data:`_KERNEL_LAUNCHER`; ``-Xfrozen_modules=off``, only there for the debugger, dropped)
    and the runner's own interpreter (``sys.executable``).

    Any other command (another kernel) is returned unchanged.
    """
    for i in range(1, len(cmd) - 1):
        if cmd[i] == "-m" and cmd[i + 1] == "ipykernel_launcher":
            head = [a for a in cmd[1:i] if a != "-Xfrozen_modules=off"]
            # the runner's own Python: a user-level "python3" kernelspec of another
            # installation must not run this growthlab's notebooks with another growthlab
            return [sys.executable, *head, "-c", _KERNEL_LAUNCHER, *cmd[i + 2 :]]
    return list(cmd)


@functools.cache
def _kernel_manager_class() -> type:
    """jupyter_client's AsyncKernelManager whose kernels die with the process that starts them.

    ipykernel's own parent poller (``JPY_PARENT_PID``) notices a dead parent only within about a
    second, long enough to write into a dead run's folder; the parent-death signal is immediate.
    Kernels start without the debugger (:func:`_lean_kernel_cmd`).
    """
    from jupyter_client.manager import AsyncKernelManager

    class KernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            prctl = _prctl()
            if prctl is not None and "preexec_fn" not in kw:
                kw["preexec_fn"] = functools.partial(_die_with_parent, prctl, os.getpid())
            return await super()._async_launch_kernel(_lean_kernel_cmd(kernel_cmd), **kw)

    return KernelManager


def _execute_one(
    path: Path, params: dict[str, Any], out_nb: Path, cell_timeout: int | None, progress: dict
) -> tuple[str, str | None]:
    """Run one notebook with papermill (cwd = its folder); returns (status, error message)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        pm.execute_notebook(
            str(path),
            str(out_nb),
            parameters=params,
            kernel_name="python3",
            kernel_manager_class=_kernel_manager_class(),
            cwd=str(path.parent),
            progress_bar={"file": sys.stderr, "leave": False, "unit": "cell", **progress},
            log_output=False,
            start_timeout=120,
            execution_timeout=cell_timeout,
            # Once the last cell has run (or one failed) the kernel has nothing left to do: kill
            # it rather than wait for it to wind down (0.3-1 s a notebook). Its files are written
            # and closed by then; its temporary folders live in the run's (see _Run.kernel_tmp).
            shutdown_kernel="immediate",
        )
        return "ok", None
    except PapermillExecutionError as err:
        return "failed", f"cell {err.exec_count}: {err.ename}: {err.evalue}".strip()
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - kernel died, timeout, unreadable notebook...
        return "failed", f"{type(err).__name__}: {err}"


def _worker(
    path: str,
    params: dict[str, Any],
    out_nb: str,
    env: dict[str, str],
    cell_timeout: int | None,
    progress: dict,
) -> tuple[str, str | None, float]:
    """Process-pool entry point: one notebook in its own process (own environment)."""
    os.environ.update(env)
    t0 = time.perf_counter()
    status, error = _execute_one(Path(path), params, Path(out_nb), cell_timeout, progress)
    return status, error, round(time.perf_counter() - t0, 3)


def _cell_count(path: Path) -> int:
    try:
        return len(json.loads(path.read_text(encoding="utf-8")).get("cells", []))
    except (OSError, ValueError):
        return 0


def _render(
    entry: dict[str, Any],
    run_dir: Path,
    cfg: RunConfig,
    info: dict[str, Any],
    shown: dict[str, Any],
    run_id: str,
) -> None:
    import nbformat

    ipynb = run_dir / entry["ipynb"]
    if not ipynb.exists():
        entry["ipynb"] = None
        return
    lang = str(shown.get("lang", cfg.parameters.get("lang", "en")))
    lab = rhtml.labels(lang)
    try:
        nb = nbformat.read(str(ipynb), as_version=4)
        entry["title"] = rhtml.notebook_title(nb, entry["name"])
    except Exception:  # noqa: BLE001
        entry["title"] = entry["name"]
    nav = [(lab["run_index"], "index.html"), (lab["all_runs"], "../index.html")]
    if entry["name"] != SUMMARY and any(nb.name == SUMMARY for nb in cfg.notebooks):
        nav.insert(0, (lab["summary"], f"{SUMMARY}.html"))
    period = info.get("period")
    notes = [
        n[lang if lang in n else "en"]
        for n in (
            _as_of_note(info.get("as_of_source")),
            _stale_note(info.get("latest"), info.get("stale_days")),
        )
        if n
    ]
    if period and notes:
        period = f"{period} · " + " · ".join(notes)
    header = rhtml.header_html(
        title=entry["title"],
        source=cfg.source,
        period=period,
        parameters={k: v for k, v in shown.items() if k != "source"},
        generated=_iso(_now()),
        run_id=run_id,
        status=None if entry["status"] == "ok" else entry["status"],
        lang=lang,
        nav=nav,
    )
    html_name = f"{entry['name']}.html"
    try:
        rhtml.render(
            ipynb,
            run_dir / html_name,
            header=header,
            lang=lang,
            keep_errors=entry["status"] != "ok",
        )
        entry["html"] = html_name
    except Exception as err:  # noqa: BLE001 - a broken page must not hide the run's outcome
        entry["html"] = None
        entry["status"] = "failed"
        entry["error"] = (entry.get("error") or "") + f" (HTML export failed: {err})"


def run(
    config: str | Path | dict = "runs/default.yaml",
    source: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    out: str | Path = "reports",
) -> int:
    """Execute a run (see module docstring); returns the exit code 0, 1 or 2.

    Invalid config or source print a message and return 2 before anything executes.
    KeyboardInterrupt is re-raised after the run has been published as ``interrupted``.
    """
    out = Path(out)
    # Validated-load cache shared by the validation below and every notebook kernel (they
    # inherit the environment): the source is validated once per run instead of per notebook.
    cache_env = {} if os.environ.get(CACHE_ENV) else {CACHE_ENV: str(default_cache_dir())}
    with environment(**cache_env):
        return _run_cached(config, source, overrides, out)


def _run_cached(config: str | Path | dict, source: str | None, overrides: Any, out: Path) -> int:
    try:
        cfg = load_config(config, source=source, overrides=list(overrides))
    except GrowthlabError as err:
        _log(f"growthlab run: {err}")
        return err.exit_code
    # an engine source: its full URL (credentials) for this run's processes only, and the
    # snapshot of its tables the run validates, so every notebook analyses the same data
    with environment(**({ENGINE_URL_ENV: cfg.engine_url} if cfg.engine_url else {})):
        try:
            info = describe_source(cfg)
        except GrowthlabError as err:
            _log(f"growthlab run: {err}")
            return err.exit_code
        engine = info.get("engine") or {}
        snap = {SNAPSHOT_ENV: json.dumps({engine["source"]: engine["tables"]})} if engine else {}
        with environment(**snap):
            return _run_with_info(cfg, info, out)


def _run_with_info(cfg: RunConfig, info: dict[str, Any], out: Path) -> int:
    try:
        _prepare_out(out)
    except ConfigError as err:
        _log(f"growthlab run: {err}")
        return 2
    lock = FileLock(str(out / LOCK_NAME))
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            _log(
                f"growthlab run: another run is writing to {out}; "
                f"waiting (up to {cfg.lock_timeout:.0f} s)"
            )
            lock.acquire(timeout=cfg.lock_timeout)
    except Timeout:
        _log(f"growthlab run: gave up waiting for the lock on {out}")
        return 2
    except OSError as err:
        _log(f"growthlab run: cannot lock output folder {out}: {err}")
        return 2
    try:
        return _run_locked(cfg, info, out)
    finally:
        with contextlib.suppress(Exception):
            from growthlab.data.cache import prune

            prune(os.environ[CACHE_ENV], keep=CACHE_KEEP)
        lock.release()


def _prepare_out(out: Path) -> None:
    """Create the output folder and prove a file can be created in it, else ConfigError.

    Permission bits alone do not tell (root ignores them; read-only mounts, full disks), so a
    probe file is created and removed.
    """
    try:
        if out.exists() and not out.is_dir():
            raise ConfigError(f"output folder {out} is not a folder")
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create output folder {out}: {err}") from err
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ConfigError(f"output folder {out} is not writable: {err}") from err


def _run_locked(cfg: RunConfig, info: dict[str, Any], out: Path) -> int:
    """One run, holding the output folder's lock: set up, execute, publish (see :class:`_Run`)."""
    run = _Run.start(cfg, info, out)
    interrupted = run.execute()
    code = run.publish(interrupted)
    if interrupted:
        raise KeyboardInterrupt
    return code


def _new_manifest(
    cfg: RunConfig, info: dict[str, Any], run_id: str, started: dt.datetime, prev: Any
) -> dict[str, Any]:
    """The manifest of a run that is about to execute (status ``running``)."""
    return {
        "run_id": run_id,
        "status": "running",
        "config": str(cfg.path) if cfg.path else None,
        "config_name": cfg.name,
        "started_at": _iso(started),
        "finished_at": None,
        "duration_s": None,
        "exit_code": None,
        "summary": SUMMARY,
        "previous_run": prev[0] if prev else None,
        # an engine source is named by its label (URL query keys, which may hold tokens, dropped)
        "source": {
            "path": (info.get("engine") or {}).get("source") or cfg.source,
            "tables": info.get("tables"),
        },
        "period": info.get("period"),
        "as_of": info.get("as_of"),
        "as_of_source": info.get("as_of_source"),
        "latest_data": info.get("latest"),
        "stale_days": info.get("stale_days"),
        "parameters": {k: v for k, v in cfg.parameters.items()},
        "notebooks": [
            {
                "name": spec.name,
                "title": spec.name,
                "input": str(spec.path),
                "ipynb": f"{spec.name}.ipynb",
                "html": None,
                "status": "pending",
                "error": None,
                "duration_s": None,
                "cells": _cell_count(spec.path),
                "parameters": {},
            }
            for spec in cfg.notebooks
        ],
        "inputs": {
            "source": (
                info.get("engine")
                if is_engine_url(cfg.source)
                else rman.source_fingerprint(cfg.source)
            ),
            "config": rman.file_fingerprint(cfg.path) if cfg.path else None,
            "notebooks": [rman.file_fingerprint(s.path) for s in cfg.notebooks],
        },
        "packages": rman.package_versions(),
        "environment": rman.environment(),
        "git": rman.git_info(cfg.notebooks[0].path.parent),
    }


class _Run:
    """The execution state of one run (papermill-style: the state lives in an object).

    ``start`` creates ``<out>/.tmp-<run_id>`` with its manifest; ``execute`` runs the notebooks
    (in parallel worker processes, the summary last and alone), rendering each page as it
    finishes; ``publish`` writes the final manifest and indexes, renames the folder into place
    and moves ``latest`` on success.
    """

    def __init__(
        self, cfg: RunConfig, info: dict[str, Any], out: Path, run_id: str, manifest: dict
    ) -> None:
        self.cfg, self.info, self.out, self.run_id = cfg, info, out, run_id
        self.manifest = manifest
        self.entries: list[dict[str, Any]] = manifest["notebooks"]
        self.tmp = out / f".tmp-{run_id}"
        self.metrics = self.tmp / "metrics.json"
        self.metrics_dir = self.tmp / ".metrics"
        self.prev_metrics: str | None = None
        self.t_run = time.perf_counter()
        #: the kernels' temporary folder (their $TMPDIR) while notebooks execute, then removed:
        #: kernels are killed when done (see _execute_one), so their own clean-up never runs
        self.kernel_tmp: str | None = None

    @classmethod
    def start(cls, cfg: RunConfig, info: dict[str, Any], out: Path) -> _Run:
        """Create the run's temporary folder, manifest and (empty) metrics; log the run."""
        started = _now()
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{cfg.name}-{secrets.token_hex(2)}"
        prev = _previous_comparable(out, cfg)
        run = cls(cfg, info, out, run_id, _new_manifest(cfg, info, run_id, started, prev))
        if prev:
            run.prev_metrics = str((prev[1] / "metrics.json").resolve())
        run.tmp.mkdir()
        run.metrics_dir.mkdir()
        _write_json(run.metrics, {})
        run.save()
        _log(f"growthlab run {run_id}: {len(cfg.notebooks)} notebook(s), source {cfg.source}")
        if info.get("as_of"):
            note = _as_of_note(info.get("as_of_source")).get("en", "")
            _log(f"  period {info.get('period')} ({note})")
        stale = _stale_note(info.get("latest"), info.get("stale_days"))
        if stale:
            _log(f"  note: {stale['en']}")
        run.t_run = time.perf_counter()
        return run

    def save(self) -> None:
        """Write the manifest as it is now (the run index reads it)."""
        _write_json(self.tmp / rindex.MANIFEST, self.manifest)

    def _label(self, i: int) -> str:
        return f"[{i + 1}/{len(self.entries)}] {self.cfg.notebooks[i].name}"

    def prepare(self, i: int) -> tuple[dict[str, Any], dict[str, str]]:
        """Papermill parameters and environment of notebook ``i``; marks it running."""
        spec, entry = self.cfg.notebooks[i], self.entries[i]
        sections = [
            {k: e.get(k) for k in ("name", "title", "html", "status")}
            for e in self.entries
            if e is not entry
        ]
        runner_params = {
            "metrics_file": str(self.metrics.resolve()),
            "previous_metrics_file": self.prev_metrics,
            "sections": sections,
            "run_id": self.run_id,
        }
        params, shown = _notebook_parameters(spec, runner_params)
        entry["parameters"] = shown
        entry["status"] = "running"
        env = {
            METRICS_ENV: str((self.metrics_dir / f"{spec.name}.json").resolve()),
            NOTEBOOK_ENV: spec.name,
            TABLES_ENV: str((self.tmp / "tables" / spec.name).resolve()),
        }
        if self.kernel_tmp:
            env["TMPDIR"] = self.kernel_tmp
        return params, env

    def finish(self, i: int, status: str, error: str | None, duration: float) -> None:
        """Record notebook ``i``'s outcome, merge its metrics and render its page."""
        entry = self.entries[i]
        entry.update(status=status, error=error, duration_s=duration)
        _merge_metrics(self.metrics, self.metrics_dir, self.cfg)
        _render(entry, self.tmp, self.cfg, self.info, entry["parameters"], self.run_id)
        mark = "ok" if entry["status"] == "ok" else f"FAILED — {entry['error']}"
        _log(f"{self._label(i)}: {mark} ({duration:.1f} s)")
        self.save()

    def run_inline(self, i: int) -> None:
        """Execute notebook ``i`` in this process (its kernel dies with it)."""
        params, env = self.prepare(i)
        self.save()
        t0 = time.perf_counter()
        try:
            with environment(**env):
                status, error = _execute_one(
                    self.cfg.notebooks[i].path,
                    params,
                    self.tmp / self.entries[i]["ipynb"],
                    self.cfg.cell_timeout,
                    {"desc": self._label(i)},
                )
        finally:
            self.entries[i]["duration_s"] = round(time.perf_counter() - t0, 3)
        self.finish(i, status, error, self.entries[i]["duration_s"])

    def run_parallel(self, batch: list[int], jobs: int) -> None:
        """Execute the notebooks ``batch`` in ``jobs`` worker processes (spawned; each dies with
        the runner, see :func:`_worker_init`)."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        pool = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )
        futures = {}
        try:
            for slot, i in enumerate(batch):
                params, env = self.prepare(i)
                progress = {"desc": self._label(i)}
                if sys.stderr.isatty():  # one line per worker on a terminal; plain lines in logs
                    progress["position"] = slot % jobs
                fut = pool.submit(
                    _worker,
                    str(self.cfg.notebooks[i].path),
                    params,
                    str(self.tmp / self.entries[i]["ipynb"]),
                    {**env, "JUPYTER_PATH": os.environ.get("JUPYTER_PATH", "")},
                    self.cfg.cell_timeout,
                    progress,
                )
                futures[fut] = i
            self.save()
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    status, error, duration = fut.result()
                except Exception as err:  # noqa: BLE001 - a worker died
                    status, error, duration = "failed", f"{type(err).__name__}: {err}", 0.0
                self.finish(i, status, error, duration)
        except KeyboardInterrupt:
            for fut in futures:
                fut.cancel()
            for proc in list(getattr(pool, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    proc.terminate()  # their kernels exit with them (see _kernel_manager_class)
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def execute(self) -> bool:
        """Run every notebook (the summary last, alone); True when interrupted."""
        # beside the usual temporary files (mkdtemp also fixes this process's own tempdir first)
        _remove_stale_kernel_tmp()
        self.kernel_tmp = tempfile.mkdtemp(prefix=f"{KERNEL_TMP_PREFIX}{os.getpid()}-")
        try:
            with _sigterm_as_interrupt(), environment(JUPYTER_PATH=_jupyter_path()):
                batch = [i for i, s in enumerate(self.cfg.notebooks) if s.name != SUMMARY]
                last = [i for i, s in enumerate(self.cfg.notebooks) if s.name == SUMMARY]
                jobs = min(self.cfg.jobs, len(batch))
                if jobs > 1:
                    self.run_parallel(batch, jobs)
                else:
                    for i in batch:
                        self.run_inline(i)
                for i in last:
                    self.run_inline(i)
        except KeyboardInterrupt:
            for e in self.entries:
                if e["status"] in ("running", "pending"):
                    e.update(status="interrupted", error="interrupted (Ctrl-C / SIGTERM)")
            return True
        except Exception as err:  # noqa: BLE001 - runner bug: still publish a failed run
            self.manifest["error"] = f"{type(err).__name__}: {err}"
        finally:
            shutil.rmtree(self.kernel_tmp, ignore_errors=True)
            self.kernel_tmp = None
        return False

    def publish(self, interrupted: bool) -> int:
        """Final manifest and indexes, the folder renamed into place, ``latest`` moved on
        success; returns the exit code (0 success, 1 failed, 130 interrupted)."""
        with contextlib.suppress(Exception):
            _merge_metrics(self.metrics, self.metrics_dir, self.cfg)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        failed = [e for e in self.entries if e["status"] != "ok"]
        if interrupted:
            status, code = "interrupted", 130
        elif failed or self.manifest.get("error"):
            status, code = "failed", 1
        else:
            status, code = "success", 0
        self.manifest.update(
            status=status,
            exit_code=code,
            finished_at=_iso(_now()),
            duration_s=round(time.perf_counter() - self.t_run, 3),
        )
        self.save()
        rindex.write_run_index(self.tmp, self.manifest)
        final = self.out / self.run_id
        os.replace(self.tmp, final)
        if status == "success":
            rindex.point_latest(self.out, self.run_id)
        _write_top_index(self.out)
        _log(
            f"growthlab run {self.run_id}: {status} in {self.manifest['duration_s']:.1f} s -> "
            f"{final}" + ("" if status == "success" else " (latest unchanged)")
        )
        return code


#: prefix of a run's kernel $TMPDIR: ``growthlab-kernels-<runner pid>-<random>``
KERNEL_TMP_PREFIX = "growthlab-kernels-"


def _remove_stale_kernel_tmp() -> list[Path]:
    """Remove the kernels' temporary folders of runners that died without removing them.

    A runner removes its own when its notebooks are done; one killed by SIGKILL cannot (its
    kernels die with it, see :func:`_kernel_manager_class`). Only folders of this user whose
    runner process no longer exists are removed (POSIX only: elsewhere ``os.kill(pid, 0)`` is
    not a harmless probe). Returns them.
    """
    removed: list[Path] = []
    if os.name != "posix":
        return removed
    for d in Path(tempfile.gettempdir()).glob(f"{KERNEL_TMP_PREFIX}*-*"):
        pid = d.name[len(KERNEL_TMP_PREFIX) :].split("-", 1)[0]
        try:
            if not pid.isdigit() or d.stat().st_uid != os.getuid() or not d.is_dir():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:  # that runner is gone
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
        except OSError:  # alive (perhaps another user's process), or unreadable: keep
            continue
    return removed


def _jupyter_path() -> str:
    """JUPYTER_PATH with this interpreter's share/jupyter first, so kernel "python3" is ours."""
    parts = [str(Path(sys.prefix) / "share" / "jupyter"), os.environ.get("JUPYTER_PATH")]
    return os.pathsep.join(p for p in parts if p)


def _merge_metrics(metrics: Path, metrics_dir: Path, cfg: RunConfig) -> None:
    """Combine the per-notebook metric files into ``metrics.json`` (config order)."""
    merged: dict[str, Any] = {}
    for spec in cfg.notebooks:
        f = metrics_dir / f"{spec.name}.json"
        if not f.is_file():
            continue
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except ValueError:
            continue
        for ns, values in data.items():
            merged.setdefault(ns, {}).update(values)
    _write_json(metrics, merged)


def _write_top_index(out: Path) -> None:
    runs = rindex.list_runs(out)
    rindex.atomic_write(
        out / "index.html", rindex.reports_index_html(runs, rindex.current_latest(out))
    )


def rebuild_index(out: str | Path = "reports") -> None:
    """``growthlab index``: rebuild every run page, ``reports/index.html`` and ``latest``.

    Runs hold the output folder's lock while they execute, so once this function has the lock
    any temporary ``.tmp-*`` folder belongs to a run that died without publishing (kill -9,
    power loss): it is published as ``failed`` so it shows up in the index.
    """
    out = Path(out)
    _prepare_out(out)
    lock = FileLock(str(out / LOCK_NAME), timeout=3600)
    try:
        lock.acquire()
    except OSError as err:  # includes filelock.Timeout
        raise ConfigError(f"cannot lock output folder {out}: {err}") from err
    try:
        for tmp in out.glob(".tmp-*"):
            m = rindex.read_manifest(tmp) or {"run_id": tmp.name[5:], "notebooks": []}
            if m.get("status") in ("running", None, "success"):
                m["status"] = "failed"
                m["error"] = "the run died before it was published"
            _write_json(tmp / rindex.MANIFEST, m)
            target = out / tmp.name[5:]
            if not target.exists():
                shutil.move(str(tmp), str(target))
        rindex.rebuild(out)
    finally:
        lock.release()
