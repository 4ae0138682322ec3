"""CSV cells a spreadsheet will not run: OWASP's CSV-injection guard, and its exact inverse.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or their
full-width forms) is a formula to Excel, LibreOffice and Google Sheets: an option label such as
``=HYPERLINK(...)`` or ``+cmd|' /C calc'!A0`` in a downloaded CSV could run when the file is
opened. Every CSV civicforum writes goes through :func:`csv_writer`, which prefixes such a cell
with an apostrophe, as OWASP recommends; spreadsheets then show it as text.

A tabulator reading the file back gets the original label with :func:`unprotect_cell`: a cell
that starts with an apostrophe followed by one of those characters, or by another apostrophe,
loses that first apostrophe. The writer also prefixes a cell that already starts that way, so
the two are exact inverses: every label round-trips, ``'=x`` included.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

#: Characters that start a formula (OWASP), with the full-width forms some spreadsheets accept.
FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


def protect_cell(value: Any) -> Any:
    """The cell as written: text a spreadsheet would run gets a leading apostrophe."""
    if not isinstance(value, str) or not value:
        return value
    first = value[0]
    if first in FORMULA_STARTS or (first == "'" and value[1:2] in FORMULA_STARTS | {"'"}):
        return "'" + value
    return value


def unprotect_cell(text: str) -> str:
    """The original text of a cell :func:`protect_cell` wrote."""
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS | {"'"}:
        return text[1:]
    return text


class _ProtectingWriter:
    def __init__(self, writer: _Writer) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([protect_cell(value) for value in row])


def csv_writer(stream: Any, **options: Any) -> _ProtectingWriter:
    """``csv.writer`` whose every text cell goes through :func:`protect_cell`."""
    return _ProtectingWriter(csv.writer(stream, **options))
