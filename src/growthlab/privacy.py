"""Privacy safeguards for anything that reaches a report (SPEC §5, PIPL).

- identifiers are pseudonymised with a keyed hash (HMAC-SHA256) under a secret key, so the same
  user gets the same pseudonym wherever that key is used, but nobody without the key can recover
  the raw id or test a guess (there is no built-in key);
- tables suppress groups smaller than ``min_group_size``.

The key (:func:`resolve_key`), in order of precedence:

1. the ``key=`` argument (callers own its strength; tests use short ones);
2. ``$GROWTHLAB_PSEUDONYM_KEY``: at least :data:`MIN_KEY_CHARS` characters (64 hex characters =
   256 bits is what ``python -c "import secrets; print(secrets.token_hex(32))"`` gives), not
   a repeated pattern; weak values are refused with :class:`~growthlab.errors.ConfigError`;
3. a per-installation key file: ``$GROWTHLAB_KEY_FILE`` (absolute path), else
   ``$XDG_CONFIG_HOME/growthlab/pseudonym.key`` (default ``~/.config/growthlab/pseudonym.key``).
   It is created on first use with 256 random bits (hex text) in a 0700 folder, file mode 0600,
   atomically (concurrent first uses end with one key). A key file that the group or others can
   read or write is refused (a ConfigError saying ``chmod 600 <file>``): anyone who can read the
   key can reverse every pseudonym by hashing candidate ids, so a warning would not be enough.

The HMAC key is the UTF-8 text of the key (the key file's content without surrounding
whitespace), so ``GROWTHLAB_PSEUDONYM_KEY=$(cat pseudonym.key)`` reproduces the same pseudonyms
on another machine. :func:`key_fingerprint` identifies a key (for manifests) without revealing
it. ``growthlab reveal`` maps pseudonyms back to ids for the key holder (:func:`reveal`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from growthlab.errors import ConfigError

#: Environment variable holding the pseudonymisation key (overrides the key file).
KEY_ENV = "GROWTHLAB_PSEUDONYM_KEY"
#: Environment variable naming the key file (absolute path) instead of the default location.
KEY_FILE_ENV = "GROWTHLAB_KEY_FILE"
#: Shortest key accepted from the environment or a key file (32 hex characters = 128 bits).
MIN_KEY_CHARS = 32
#: Fewest distinct characters in such a key ("aaaa..." or "abab..." are not secrets).
MIN_DISTINCT_CHARS = 10
_KEY_BYTES = 32  # a generated key: 256 random bits, stored as 64 hex characters
_FINGERPRINT_DOMAIN = b"growthlab-key-fingerprint\0"
#: Keys known to be public (the built-in default of earlier versions); always refused.
_PUBLIC_KEYS = frozenset({"growthlab-default-key"})
_PSEUDONYM = re.compile(r"(?P<prefix>.*?)(?P<digest>[0-9a-f]+)")


@dataclass(frozen=True)
class PseudonymKey:
    """A resolved key: ``secret`` (HMAC key bytes), ``source`` and the key file's path."""

    secret: bytes
    source: str  # "argument" | "env" | "file"
    path: Path | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"PseudonymKey(source={self.source!r}, fingerprint={self.fingerprint!r})"

    @property
    def fingerprint(self) -> str:
        return _fingerprint(self.secret)


def _fingerprint(secret: bytes) -> str:
    return hashlib.sha256(_FINGERPRINT_DOMAIN + secret).hexdigest()[:16]


def _period(text: str) -> int | None:
    """The length of a short unit that ``text`` repeats ("abcabcab" -> 3), else None."""
    for n in range(1, MIN_KEY_CHARS // 2):
        if text == (text[:n] * (len(text) // n + 1))[: len(text)]:
            return n
    return None


def _check_strength(text: str, where: str) -> None:
    """Refuse obviously weak key text (ConfigError naming ``where`` and how to fix it)."""
    fix = (
        'use 64 random hex characters, e.g. python -c "import secrets; '
        'print(secrets.token_hex(32))"'
    )
    if text in _PUBLIC_KEYS:
        raise ConfigError(f"{where}: this key is public (an old built-in default); {fix}")
    if len(text) < MIN_KEY_CHARS:
        raise ConfigError(
            f"{where}: key too short ({len(text)} characters, need at least {MIN_KEY_CHARS}); {fix}"
        )
    period = _period(text)
    if period is not None:
        raise ConfigError(f"{where}: key is a short pattern repeated (period {period}); {fix}")
    if len(set(text)) < MIN_DISTINCT_CHARS:
        raise ConfigError(
            f"{where}: key too repetitive ({len(set(text))} distinct characters, need at least "
            f"{MIN_DISTINCT_CHARS}); {fix}"
        )


def default_key_file() -> Path:
    """``$GROWTHLAB_KEY_FILE``, else ``$XDG_CONFIG_HOME/growthlab/pseudonym.key``.

    ``$XDG_CONFIG_HOME`` is ignored when empty or relative (XDG spec), giving
    ``~/.config/growthlab/pseudonym.key``. A relative ``$GROWTHLAB_KEY_FILE`` is refused: notebook
    kernels run in another working directory and would silently use another key.
    """
    explicit = os.environ.get(KEY_FILE_ENV)
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_absolute():
            raise ConfigError(f"${KEY_FILE_ENV} must be an absolute path, got {explicit!r}")
        return p
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "growthlab" / "pseudonym.key"


def make_private(path: Path, mode: int = 0o700) -> None:
    """Take group/other permissions away from ``path`` (to at most ``mode``) if this user owns
    it and it is not a symlink; best effort (an error leaves it as it is)."""
    with contextlib.suppress(OSError):
        st = path.lstat()
        ours = os.name != "posix" or st.st_uid == os.getuid()
        if ours and not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(path, stat.S_IMODE(st.st_mode) & mode)


def private_dir(folder: Path, *, tighten: bool) -> None:
    """Create ``folder`` (and missing parents) with mode 0700; with ``tighten``, also take
    group/other access away from an existing ``folder`` that this user owns. For folders of
    personal data: the key file, the validated-load cache, lists of users."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(d, 0o700)
            os.chmod(d, 0o700)  # mkdir's mode is filtered by the umask; make it exact
    if tighten and not missing:
        make_private(folder)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the start: a temporary file beside it,
    created 0600 whatever the umask, then renamed into place (readers never see a part)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)  # whatever the umask did
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_key_file(path: Path) -> str:
    """The key text of an existing key file, after checking its permissions."""
    st = path.stat()
    if os.name == "posix" and st.st_mode & 0o077:
        raise ConfigError(
            f"pseudonym key file {path} is accessible to other users "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); anyone who can read it can reverse the "
            f"pseudonyms in reports. Fix: chmod 600 {path} (and consider rotating the key: "
            "move the file away so a new one is created)"
        )
    # a concurrent creator may not have finished writing yet (only without hard links)
    for _ in range(50):
        text = path.read_text(encoding="utf-8").strip()
        if text:
            break
        time.sleep(0.02)
    _check_strength(text, f"pseudonym key file {path}")
    return text


def _create_key_file(path: Path) -> None:
    """Write a new random key to ``path`` unless it exists (atomic; exactly one key wins).

    The key is written and synced under a private temporary name (O_CREAT|O_EXCL, mode 0600
    whatever the umask) and then hard-linked to ``path``: ``link`` fails if ``path`` exists, so
    of several processes creating the key at once exactly one wins and the others read its key;
    nobody ever sees a partial file. Without hard-link support the file is created in place
    with O_EXCL (readers then wait for its content).
    """
    private_dir(path.parent, tighten=KEY_FILE_ENV not in os.environ)
    text = secrets.token_bytes(_KEY_BYTES).hex() + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # exact mode whatever the umask
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process won: use its key
    except OSError:  # no hard links on this filesystem: create in place, exclusively
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, flags, 0o600)
            try:
                os.write(fd, text.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


_lock = threading.Lock()
_cache: dict[tuple, PseudonymKey] = {}


def resolve_key(key: str | bytes | None = None, *, create: bool = True) -> PseudonymKey:
    """The key pseudonyms are made with (see the module docstring for the order).

    Resolved once per process and environment: the result is cached on the values of
    ``$GROWTHLAB_PSEUDONYM_KEY``, ``$GROWTHLAB_KEY_FILE``, ``$XDG_CONFIG_HOME`` and ``$HOME``
    plus the key file's identity (device, inode, size, mtime, mode), so changing any of them is
    picked up by the next call. Raises :class:`~growthlab.errors.ConfigError` for a weak
    environment key or an unusable key file, or a missing one when ``create`` is False (for
    mapping pseudonyms back, where a new key could never match).
    """
    if key is not None:
        secret = key if isinstance(key, bytes) else str(key).encode()
        return PseudonymKey(secret, "argument")
    env = os.environ.get(KEY_ENV) or None
    if env is not None:
        ck: tuple = ("env", env)
        hit = _cache.get(ck)
        if hit is None:
            _check_strength(env, f"${KEY_ENV}")
            hit = _cache[ck] = PseudonymKey(env.encode(), "env")
        return hit
    path = default_key_file()
    with _lock:
        try:
            try:
                st = path.stat()
            except FileNotFoundError:
                if not create:
                    raise ConfigError(
                        f"no pseudonym key: ${KEY_ENV} is unset and there is no key file {path} "
                        f"(set ${KEY_ENV} or ${KEY_FILE_ENV} to the key the reports were made "
                        "with)"
                    ) from None
                try:
                    _create_key_file(path)
                except OSError as exc:
                    raise ConfigError(
                        f"cannot create the pseudonym key file {path} ({exc}); set ${KEY_ENV} "
                        f"or ${KEY_FILE_ENV} to a writable location"
                    ) from None
                st = path.stat()
            ck = ("file", str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode)
            hit = _cache.get(ck)
            if hit is None:
                text = _read_key_file(path)
                _cache.clear()  # one file key per process at a time
                hit = _cache[ck] = PseudonymKey(text.encode(), "file", path)
        except OSError as exc:
            raise ConfigError(f"cannot read the pseudonym key file {path} ({exc})") from None
        return hit


def key_fingerprint(key: str | bytes | None = None) -> str:
    """First 16 hex characters of SHA-256 over a domain-separated string and the key.

    Identifies which key made a report's pseudonyms (compare two fingerprints) without
    revealing the key or letting anyone test candidate ids.
    """
    return resolve_key(key).fingerprint


def key_info(key: str | bytes | None = None) -> dict[str, str]:
    """``{"pseudonym_key_fingerprint": ..., "key_source": "env" | "file" | "argument"}``."""
    k = resolve_key(key)
    return {"pseudonym_key_fingerprint": k.fingerprint, "key_source": k.source}


def pseudonymise(
    ids, key: str | bytes | None = None, prefix: str = "u_", length: int = 10
) -> pd.Series:
    """Map identifiers to stable pseudonyms ``prefix + hex(HMAC-SHA256(key, id))[:length]``.

    Missing values stay missing. The key is :func:`resolve_key` of ``key`` (argument, else
    ``$GROWTHLAB_PSEUDONYM_KEY``, else the per-installation key file). Each distinct id is hashed
    once.
    """
    s = pd.Series(ids)
    base = hmac.new(resolve_key(key).secret, digestmod=hashlib.sha256)
    codes, uniq = pd.factorize(s.astype(str), use_na_sentinel=True)  # ids as text; missing -1
    names = np.empty(len(uniq) + 1, dtype=object)  # the last slot serves code -1 (missing)
    for i, u in enumerate(uniq):
        h = base.copy()
        h.update(u.encode())
        names[i] = prefix + h.hexdigest()[:length]
    out = pd.Series(names[codes], index=s.index, dtype=object, name=s.name)
    return out.where(codes >= 0, s.astype(object))


def reveal(
    pseudonyms: Iterable[str],
    candidates: Mapping[str, Iterable],
    key: str | bytes | None = None,
) -> dict[str, list[str]]:
    """Map pseudonyms back to the ids they were made from, for whoever holds the key.

    ``candidates`` maps a pseudonym prefix (``"u_"`` users, ``"p_"`` persons) to the ids that
    may carry it; a pseudonym with another prefix is tried against every candidate. Each id is
    hashed with :func:`pseudonymise` itself (same key, prefix and digest length as the
    pseudonym), so reports and this function cannot disagree. Returns ``{pseudonym: [ids]}``
    (empty list: not found; several ids: a truncated-hash collision).
    """
    wanted = list(dict.fromkeys(str(p).strip() for p in pseudonyms))
    pools = {
        prefix: pd.unique(pd.Series(list(ids), dtype=object).dropna().astype(str))
        for prefix, ids in candidates.items()
    }
    everything = pd.unique(pd.Series([i for ids in pools.values() for i in ids], dtype=object))
    groups: dict[tuple[str, int], list[str]] = {}
    for p in wanted:
        m = _PSEUDONYM.fullmatch(p)
        if m is not None:
            groups.setdefault((m["prefix"], len(m["digest"])), []).append(p)
    found: dict[str, list[str]] = {p: [] for p in wanted}
    for (prefix, length), ps in groups.items():
        pool = pools.get(prefix, everything)
        if len(pool) == 0:
            continue
        names = pseudonymise(pd.Series(pool, dtype=object), key, prefix=prefix, length=length)
        match = names.isin(set(ps)).to_numpy()
        for name, ident in zip(names[match], pool[match], strict=True):
            found[name].append(ident)
    return found


#: The smallest ``min_group_size`` anything accepts: small-group suppression cannot be switched
#: off (run parameters below it are refused with exit 2, see ``growthlab.report.config``).
MIN_GROUP_SIZE_FLOOR = 5


def suppress_small_groups(
    table: pd.DataFrame, count_column: str, min_group_size: int = 10, label: str = "(suppressed)"
) -> pd.DataFrame:
    """Drop rows whose ``count_column`` is below ``min_group_size`` and add one pooled row.

    The pooled row (labelled ``label`` in every non-numeric column) carries the summed counts of
    the suppressed rows, so totals still add up; other numeric columns are left empty there.
    It is itself dropped when it would be smaller than ``min_group_size``. A ``min_group_size``
    below :data:`MIN_GROUP_SIZE_FLOOR` raises ValueError.
    """
    if not min_group_size >= MIN_GROUP_SIZE_FLOOR:
        raise ValueError(
            f"min_group_size={min_group_size!r} is below the floor {MIN_GROUP_SIZE_FLOOR}"
        )
    if count_column not in table.columns:
        raise KeyError(f"suppress_small_groups: no column {count_column!r}")
    small = table[count_column] < min_group_size
    if not small.any():
        return table.copy()
    kept = table.loc[~small].copy()
    pooled_n = table.loc[small, count_column].sum()
    if pooled_n < min_group_size:
        return kept
    row = {}
    for c in table.columns:
        if c == count_column:
            row[c] = pooled_n
        elif pd.api.types.is_numeric_dtype(table[c]):
            row[c] = float("nan")
        else:
            row[c] = label
    return pd.concat([kept, pd.DataFrame([row])], ignore_index=True)


#: What counts as personal data in free text (PIPL "sensitive personal information" examples):
#: kind -> (pattern, characters that may not touch it on either side). Resident ID-card
#: numbers, mainland mobile numbers (optionally +86 / 0086, spaces or dashes in 3-4-4) and
#: e-mail addresses. The patterns are written for both Python ``re`` and RE2 (DuckDB), so the
#: engine (:func:`mask_personal_sql`) and Python (:func:`mask_personal`) mask the same text.
PERSONAL_DATA: dict[str, tuple[str, str | None]] = {
    "id-card": (
        r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
        r"[0-9]{3}[0-9Xx]",
        "0-9A-Za-z",
    ),
    "phone": (r"(?:(?:\+|00)?86[ -]?)?1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}", "0-9"),
    "email": (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", None),
}


def _edge_pattern(kind: str) -> tuple[str, int]:
    """(regex, passes) that mask ``kind``: the pattern with its edge characters captured.

    RE2 (DuckDB) has no look-around, so the edges are matched and put back:
    ``(^|[^E])(P)([^E]|$)`` -> ``<1>[kind]<3>``. Python runs the very same regex, so both
    engines mask identically; it runs twice, since two matches one character apart share it.
    """
    pattern, edge = PERSONAL_DATA[kind]
    if edge is None:
        return f"()({pattern})()", 1
    return f"(^|[^{edge}])({pattern})([^{edge}]|$)", 2


_COMPILED = {
    kind: (re.compile(_edge_pattern(kind)[0]), _edge_pattern(kind)[1]) for kind in PERSONAL_DATA
}


def mask_personal(values):
    """Replace personal data inside text by a placeholder naming its kind.

    Mobile numbers become ``[phone]``, e-mail addresses ``[email]``, ID-card numbers
    ``[id-card]`` (:data:`PERSONAL_DATA`), wherever they occur in the text. Takes a string
    (returns a string) or a pandas Series (returns a Series; missing values stay missing).
    :func:`mask_personal_sql` is the same rule in the engine.

    >>> mask_personal("call 138 1234 5678 or a@b.cn")
    'call [phone] or [email]'
    """
    series = isinstance(values, pd.Series)
    text = values.astype("string") if series else str(values)
    for kind, (rx, passes) in _COMPILED.items():
        repl = rf"\g<1>[{kind}]\g<3>"
        for _ in range(passes):
            text = text.str.replace(rx, repl, regex=True) if series else rx.sub(repl, text)
    if series:
        return text.astype(object).where(values.notna(), values)
    return text


def mask_personal_sql(expr: str) -> str:
    """A DuckDB SQL expression: :func:`mask_personal` of the text expression ``expr``.

    Same regexes and passes as :func:`mask_personal` (:func:`_edge_pattern`). Deliberately
    without a ``CASE WHEN regexp_matches(...)`` guard: on dictionary-compressed columns (every
    low-cardinality label) DuckDB runs a plain ``regexp_replace`` chain once per distinct value,
    which a guard would prevent.
    """
    out = expr
    for kind in PERSONAL_DATA:
        rx, passes = _edge_pattern(kind)
        for _ in range(passes):
            out = f"regexp_replace({out}, '{rx}', '\\1[{kind}]\\3', 'g')"
    return out
