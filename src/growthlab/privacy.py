"""Privacy safeguards for anything that reaches a report (SPEC §5, PIPL).

- identifiers are pseudonymised with a keyed hash (HMAC-SHA256), so the same user gets the same
  pseudonym within a run configuration but the raw id cannot be recovered or guessed;
- tables suppress groups smaller than ``min_group_size``.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import pandas as pd

#: Environment variable holding the pseudonymisation key; a fixed default keeps reports on the
#: bundled sample reproducible. Real deployments set their own secret.
KEY_ENV = "GROWTHLAB_PSEUDONYM_KEY"
_DEFAULT_KEY = "growthlab-default-key"


def pseudonymise(ids, key: str | None = None, prefix: str = "u_", length: int = 10) -> pd.Series:
    """Map identifiers to stable pseudonyms ``prefix + hex(HMAC-SHA256(key, id))[:length]``.

    Missing values stay missing. The key comes from ``key``, else ``$GROWTHLAB_PSEUDONYM_KEY``,
    else a fixed default.
    """
    s = pd.Series(ids)
    k = (key or os.environ.get(KEY_ENV) or _DEFAULT_KEY).encode()
    uniq = pd.unique(s.dropna().astype(str))
    mapping = {
        u: prefix + hmac.new(k, u.encode(), hashlib.sha256).hexdigest()[:length] for u in uniq
    }
    out = s.astype(object).where(s.isna(), s.astype(str).map(mapping))
    return out


def suppress_small_groups(
    table: pd.DataFrame, count_column: str, min_group_size: int = 10, label: str = "(suppressed)"
) -> pd.DataFrame:
    """Drop rows whose ``count_column`` is below ``min_group_size`` and add one pooled row.

    The pooled row (labelled ``label`` in every non-numeric column) carries the summed counts of
    the suppressed rows, so totals still add up; other numeric columns are left empty there.
    It is itself dropped when it would be smaller than ``min_group_size``.
    """
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
#: mainland mobile numbers (optionally +86), e-mail addresses and resident ID-card numbers.
PERSONAL_PATTERNS: dict[str, str] = {
    "id-card": r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"\d{3}[\dXx](?![0-9A-Za-z])",
    "phone": r"(?<![0-9])(?:(?:\+|00)?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![0-9])",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
}
_PERSONAL = re.compile(
    "|".join(f"(?P<{k.replace('-', '_')}>{p})" for k, p in PERSONAL_PATTERNS.items())
)


def _mask_match(m: re.Match) -> str:
    return f"[{m.lastgroup.replace('_', '-')}]"


def mask_personal(values):
    """Replace personal data inside text by a placeholder naming its kind.

    Mobile numbers become ``[phone]``, e-mail addresses ``[email]``, ID-card numbers
    ``[id-card]`` (:data:`PERSONAL_PATTERNS`), wherever they occur in the text. Takes a string
    (returns a string) or a pandas Series (returns a Series; missing values stay missing).

    >>> mask_personal("call 138 1234 5678 or a@b.cn")
    'call [phone] or [email]'
    """
    if isinstance(values, pd.Series):
        text = values.astype("string")
        return (
            text.str.replace(_PERSONAL, _mask_match, regex=True)
            .astype(object)
            .where(values.notna(), values)
        )
    return _PERSONAL.sub(_mask_match, str(values))
