"""Exceptions that the CLI turns into clear messages and exit codes (never a traceback)."""

from __future__ import annotations


class GrowthlabError(Exception):
    """Base class for errors shown to the user as a message (CLI exit code 2)."""

    exit_code = 2


class DataContractError(GrowthlabError):
    """The source breaks the data contract (SPEC §3).

    ``problems`` lists every problem found in one pass; ``str(err)`` is the readable report.
    """

    def __init__(self, problems: list, message: str | None = None):
        self.problems = list(problems)
        super().__init__(message or self._format())

    def _format(self) -> str:
        lines = [f"the source breaks the data contract ({len(self.problems)} problem(s)):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class ConfigError(GrowthlabError):
    """An invalid run configuration or parameter (CLI exit code 2)."""


class AnalysisInputError(GrowthlabError, ValueError):
    """An analysis function was given input it cannot use (names what and why)."""


def require_columns(frame, columns, name: str, *, kind: type | None = None) -> None:
    """Raise :class:`AnalysisInputError` unless ``frame`` has every column in ``columns``.

    Works for pandas DataFrames and Ibis tables (anything with ``.columns``). ``kind``, when
    given, is the type ``frame`` must be (e.g. ``pandas.DataFrame``).
    """
    if frame is None:
        raise AnalysisInputError(f"{name}: table required but absent")
    if kind is not None and not isinstance(frame, kind):
        raise AnalysisInputError(f"{name}: expected a {kind.__name__}, got {type(frame).__name__}")
    present = set(frame.columns)
    missing = [c for c in columns if c not in present]
    if missing:
        raise AnalysisInputError(
            f"{name}: missing required column(s) {missing} (needs {list(columns)})"
        )
