"""#14 item 5: CSV cells a spreadsheet will not run, and the exact label back for a tabulator."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicforum.tabulation.csvcells import (
    FORMULA_STARTS,
    csv_writer,
    protect_cell,
    unprotect_cell,
)


@pytest.mark.parametrize(
    ("label", "written"),
    [
        ('=HYPERLINK("http://x.test")', '\'=HYPERLINK("http://x.test")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\tx", "'\tx"),
        ("＝1+1", "'＝1+1"),
        ("'=already", "''=already"),
        ("''", "'''"),
        ("'plain", "'plain"),
        ("Ann", "Ann"),
        ("", ""),
    ],
)
def test_protect_and_back(label: str, written: str) -> None:
    assert protect_cell(label) == written
    assert unprotect_cell(written) == label


@given(st.text())
def test_every_text_round_trips_and_never_starts_a_formula(text: str) -> None:
    written = protect_cell(text)
    assert unprotect_cell(written) == text
    assert written[:1] not in FORMULA_STARTS


def test_writer_protects_text_cells_only() -> None:
    out = io.StringIO()
    csv_writer(out).writerow(["=1+1", 5, -3, None, "ok"])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'=1+1", "5", "-3", "", "ok"]
