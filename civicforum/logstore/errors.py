"""Domain errors of the log store; each carries its HTTP status."""

from __future__ import annotations

from typing import Any

from civicforum.web.errors import CivicforumError


class LogstoreError(CivicforumError):
    """The ledger request could not be served."""

    def __init__(self, message: Any = None, *, status_code: int | None = None) -> None:
        # Messages are lazy translations: CivicforumError.__init__ would evaluate them at
        # once, which needs a request (the locale selector reads it), and services also run
        # in CLI commands. Keep them lazy; they are rendered inside a request.
        Exception.__init__(self, type(self).__name__)
        self.message = message if message is not None else (self.__doc__ or "").strip()
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        try:
            return str(self.message)
        except RuntimeError:  # outside a request: the untranslated summary
            return (self.__doc__ or type(self).__name__).strip()


class UnknownLogError(LogstoreError):
    """There is no such log."""

    status_code = 404


class ProofRangeError(LogstoreError):
    """The requested index or tree sizes are outside the log."""

    status_code = 400


class NoSuchEntryError(LogstoreError):
    """There is no such entry in the log."""

    status_code = 404


class WitnessError(LogstoreError):
    """The witness key or cosignature was refused."""

    status_code = 403


class CheckpointMismatchError(LogstoreError):
    """This log never signed a checkpoint with that size and root."""

    status_code = 409


class InvalidWitnessKeyError(LogstoreError):
    """That is not a witness (cosignature/v1) verifier key."""

    status_code = 422


class LedgerCorruptError(LogstoreError):
    """The stored log is inconsistent; run `civicforum ledger verify`."""

    status_code = 500
