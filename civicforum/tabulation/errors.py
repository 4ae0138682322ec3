"""Errors raised by the pure tabulation engine.

They do not derive from ``civicforum.errors`` on purpose: this package must stay importable by
the stand-alone auditor tool without the web application.
"""

from __future__ import annotations


class TabulationError(Exception):
    """Base class for every error the tabulation package raises."""


class InvalidElectionError(TabulationError, ValueError):
    """The election (options, ballots or rules) cannot be counted as given."""


class TieBreakError(TabulationError):
    """A tie had to be broken but no lot (seed) was supplied, or the lot gave a bad answer."""


class InputFormatError(TabulationError, ValueError):
    """A ballot file could not be read; ``line`` is the 1-based line number when known."""

    def __init__(self, message: str, *, line: int | None = None, path: str | None = None) -> None:
        self.line = line
        self.path = path
        where = ""
        if path is not None:
            where = f"{path}:"
        if line is not None:
            where = f"{where}line {line}: " if where else f"line {line}: "
        elif where:
            where = f"{where} "
        super().__init__(f"{where}{message}")
