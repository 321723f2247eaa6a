"""What a run records about itself: input fingerprints, package versions, git commit (SPEC §5)."""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

#: Files larger than this are fingerprinted by size, mtime and their first/last MiB only.
FULL_HASH_LIMIT = 256 * 1024 * 1024
_CHUNK = 1024 * 1024


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """``{path, bytes, sha256, method}``: SHA-256 of the content (``method="full"``).

    Above :data:`FULL_HASH_LIMIT` the hash covers size, mtime and the first and last MiB
    (``method="partial"``) so that fingerprinting stays cheap on very large sources.
    """
    p = Path(path)
    st = p.stat()
    h = hashlib.sha256()
    with p.open("rb") as f:
        if st.st_size <= FULL_HASH_LIMIT:
            for block in iter(lambda: f.read(_CHUNK), b""):
                h.update(block)
            method = "full"
        else:
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
            h.update(f.read(_CHUNK))
            f.seek(-_CHUNK, 2)
            h.update(f.read(_CHUNK))
            method = "partial"
    return {"path": str(p), "bytes": st.st_size, "sha256": h.hexdigest(), "method": method}


def source_fingerprint(source: str | Path) -> list[dict[str, Any]]:
    """Fingerprints of a source: every file of a folder (sorted, recursive) or the one file."""
    p = Path(source)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        out = []
        for f in files:
            fp = file_fingerprint(f)
            fp["path"] = str(f.relative_to(p))
            out.append(fp)
        return out
    if p.is_file():
        fp = file_fingerprint(p)
        fp["path"] = p.name
        return [fp]
    return []


def package_versions() -> dict[str, str]:
    """Installed versions of growthlab and its declared dependencies, plus Python."""
    out = {"python": platform.python_version()}
    try:
        out["growthlab"] = md.version("growthlab")
        reqs = md.requires("growthlab") or []
    except md.PackageNotFoundError:
        reqs = []
    for req in reqs:
        if "extra ==" in req:
            continue
        name = re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0]
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "missing"
    return out


def git_info(where: str | Path) -> dict[str, Any]:
    """``{commit, dirty}`` of the git checkout containing ``where`` (None when not in git)."""

    def _git(*args: str) -> str | None:
        try:
            r = subprocess.run(
                ["git", "-C", str(where), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


def privacy_info() -> dict[str, str]:
    """Which pseudonymisation key the run's reports use, never the key itself.

    ``{"pseudonym_key_fingerprint": <16 hex>, "key_source": "env" | "file"}`` (see
    :func:`growthlab.privacy.key_fingerprint`). Resolving the key creates the per-installation
    key file on first use, before the notebooks start. Raises
    :class:`~growthlab.errors.ConfigError` when the key is unusable (weak
    ``$GROWTHLAB_PSEUDONYM_KEY``, key file readable by others, ...), so a caller can stop before
    executing anything.
    """
    from growthlab import privacy

    return privacy.key_info()


def environment() -> dict[str, Any]:
    """Interpreter and platform of the run, and its pseudonymisation key's fingerprint.

    ``pseudonymisation`` is :func:`privacy_info`, or ``{"error": message}`` when the key is
    unusable (the notebooks then fail with that message).
    """
    from growthlab.errors import GrowthlabError

    try:
        pseudonymisation: dict[str, str] = privacy_info()
    except GrowthlabError as err:
        pseudonymisation = {"error": str(err)}
    return {
        "executable": sys.executable,
        "platform": platform.platform(),
        "pseudonymisation": pseudonymisation,
    }
