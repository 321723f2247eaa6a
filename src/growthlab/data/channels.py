"""Channel normalisation: messy raw channel names -> canonical keys (SPEC §3).

The shipped mapping lives in ``channels.yaml`` next to this module (canonical key -> list of raw
names). Matching is case-insensitive on the whitespace-trimmed name. Unknown names are kept as
they are (trimmed) and reported by the loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from growthlab.errors import ConfigError

#: Canonical channel keys of SPEC §3, in display order.
CANONICAL: tuple[str, ...] = (
    "wecom",
    "wechat_group",
    "mini_program",
    "official_account",
    "channels_video",
    "live",
    "moments",
    "sms",
    "app_push",
    "douyin",
    "xiaohongshu",
    "search",
    "paid_ads",
    "offline",
    "organic",
    "referral",
    "other",
)

DEFAULT_MAP_PATH = Path(__file__).with_name("channels.yaml")


def _key(name: Any) -> str:
    return str(name).strip().lower()


def _read(spec: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(spec, Mapping):
        return spec
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"channel_map: file {str(path)!r} not found")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"channel_map: {path} is not valid YAML ({err})") from err
    if not isinstance(loaded, Mapping):
        raise ConfigError(f"channel_map: {path} must map canonical keys to lists of raw names")
    return loaded


def load_map(
    channel_map: str | Path | Mapping[str, Any] | None = None,
    *,
    described: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Return the lookup ``{lower-cased raw name: canonical key}``.

    ``channel_map`` (a YAML path or a dict ``{canonical: [raw, ...]}`` or ``{raw: canonical}``)
    is merged over the shipped ``channels.yaml``; later entries win. ``described`` (the
    ``channels`` of a source's growthlab.yaml) comes between the two.
    """
    lookup: dict[str, str] = {}
    sources = [_read(DEFAULT_MAP_PATH)]
    if described:
        sources.append(described)
    if channel_map is not None:
        sources.append(_read(channel_map))
    for spec in sources:
        for key, value in spec.items():
            if isinstance(value, list | tuple):  # canonical -> [raw names]
                canonical = str(key).strip()
                lookup[_key(canonical)] = canonical
                for raw in value:
                    lookup[_key(raw)] = canonical
            elif isinstance(value, str):  # raw -> canonical
                lookup[_key(key)] = value.strip()
            else:
                raise ConfigError(
                    f"channel_map: entry {key!r} must be a list of raw names or a canonical key"
                )
    return lookup


def normalise(raw: pd.Series, lookup: Mapping[str, str] | None = None) -> pd.Series:
    """Map a Series of raw channel names to canonical keys (pandas version of the engine step).

    canonical(x) = lookup[lower(strip(x))] if present, else strip(x); missing stays missing.
    """
    lookup = load_map() if lookup is None else lookup
    stripped = raw.astype("string").str.strip()
    mapped = stripped.str.lower().map(dict(lookup))
    return mapped.fillna(stripped).astype("string")


def sql_case(column_sql: str, lookup: Mapping[str, str]) -> str:
    """A DuckDB SQL expression mapping ``column_sql`` (already trimmed) to canonical keys.

    canonical(x) = lookup[lower(x)] if present, else x (unknown names fall through unchanged);
    written as a position lookup in two list literals (faster than a long ``CASE``).
    """

    def q(s: str) -> str:
        return "'" + s.replace("'", "''") + "'"

    if not lookup:
        return column_sql
    keys = sorted(lookup)
    lk = ", ".join(q(k) for k in keys)
    lv = ", ".join(q(lookup[k]) for k in keys)
    return f"COALESCE([{lv}][list_position([{lk}], lower({column_sql}))], {column_sql})"
