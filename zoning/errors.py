"""Exception hierarchy.

Every error the user can cause derives from :class:`ZoningError` and also from the matching
builtin, so callers may catch either. Messages name the file or field, what was expected, what
was found, and the fix. The CLI turns a ``ZoningError`` into one line and exit code 2; anything
else keeps its traceback because it is a bug.
"""

from __future__ import annotations


class ZoningError(Exception):
    """Base class of every error the user can cause or fix."""

    exit_code: int = 2


class InputError(ZoningError, ValueError):
    """An input file or table is missing, unreadable or malformed."""


class ScenarioError(ZoningError, ValueError):
    """The scenario file has bad, missing or unknown keys."""


class InfeasibleError(ZoningError, ValueError):
    """The policy cannot be met; ``diagnosis`` lists what clashes and the relaxation needed."""

    def __init__(self, message: str, diagnosis: list[str] | None = None) -> None:
        super().__init__(message)
        self.diagnosis: list[str] = list(diagnosis or [])


class SolverError(ZoningError, RuntimeError):
    """The solver failed or found no plan in the time allowed."""


class NoPlanInTimeError(SolverError):
    """The time limit ran out before any plan was found (CLI exit code 3)."""

    exit_code = 3


class DownloadError(ZoningError, OSError):
    """A download failed and no cached copy exists."""


def format_problems(header: str, problems: list[str]) -> str:
    """Join a header and a list of problems into one message (one problem per line)."""
    if len(problems) == 1:
        return f"{header}: {problems[0]}"
    return header + ":\n" + "\n".join(f"  - {p}" for p in problems)
