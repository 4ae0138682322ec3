"""Rank-column CSV files read and grouped by pyarrow, without a Python object per ballot.

Optional (the ``fast`` extra): when pyarrow is missing, or a file is anything but well formed,
:func:`read_rank_csv` returns None and the careful reader in ``formats`` reads it, slower, and
says exactly which line is wrong. The steps, all in Arrow's C++:

1. parse the CSV, each rank column dictionary-encoded (its distinct cells are few);
2. interpret each distinct cell once (``cell_marks``), number the mark sets canonically and map
   every cell to a sort digit: 0 for an empty rank, else its code + 1;
3. pack each row's digits into one integer (or group on every rank when they do not fit),
   group the rows by it, give an empty rank before a mark (which counts) a digit of its own
   and sort the distinct rows;
4. interleave the sorted rows' digits into one byte buffer, drop the zero digits and map the
   others back to codes at C speed; the election splits it into ``bytes`` rankings.
"""

from __future__ import annotations

import codecs
import functools
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from civicforum.tabulation.types import (
    OVERVOTE,
    Election,
    Rules,
    canonical_positions,
    election_from_sorted,
)

try:
    import pyarrow
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
except ImportError:  # pragma: no cover - the slow reader is tested on its own
    pyarrow = pc = pcsv = None

AVAILABLE = pyarrow is not None
# A CSV file as Python's strict csv module accepts it (quoted fields closed, and followed by a
# comma or the end of the line; no lone carriage return). Possessive quantifiers: no backtracking.
_FIELD = rb'(?:"(?:[^"]|"")*+"|[^,"\r\n][^,\r\n]*+|)'
_WELL_FORMED = re.compile(rb"(?:" + _FIELD + rb"(?:," + _FIELD + rb")*+(?:\r?\n|\Z))*+")
_SEP = 0xFF  # separates rankings in the buffer; never a code (at most 254 positions)
# Sort digit -> position code (digit 0, a trailing empty rank, is deleted); 0xff stays.
_DIGIT_TO_CODE = bytes([0, *range(0xFE), _SEP])


def _careful_on_doubt[**P](
    read: Callable[P, Election | None],
) -> Callable[P, Election | None]:
    """None (the careful reader's turn) when pyarrow is missing or raises anything at all."""

    @functools.wraps(read)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> Election | None:
        if pyarrow is None:
            return None
        try:
            return read(*args, **kwargs)
        except Exception:  # noqa: BLE001 - any doubt goes to the careful reader, which explains it
            return None

    return guarded


@_careful_on_doubt
def read_rank_csv(
    path: str | os.PathLike[str],
    *,
    width: int,
    columns: Sequence[int],
    count_column: int | None,
    cell_marks: Callable[[str], frozenset[str]],
    method: str,
    rules: Rules | None,
    max_line: int,
) -> Election | None:
    """The election of a rank-column CSV, or None to let the careful reader handle the file."""
    with open(os.fspath(path), "rb") as f:
        data = f.read()
    # Refuse non-UTF-8 (the careful reader says where), a block at a time: no copy of the file.
    # ASCII (most CVRs) is UTF-8, and checking that is some 30 times faster than decoding.
    if not data.isascii():
        check = codecs.getincrementaldecoder("utf-8")()
        view = memoryview(data)
        for begin in range(0, len(data), 1 << 20):
            check.decode(view[begin : begin + (1 << 20)])
        check.decode(b"", final=True)
        del view
    quoted = b'"' in data
    if quoted and not _WELL_FORMED.fullmatch(data):
        return None  # Arrow takes "A"B as AB and an unclosed quote as text: let it be refused
    if b"\r" in data and b"\r" in data.replace(b"\r\n", b""):
        return None  # a lone carriage return: Arrow ends a row there, Python's csv refuses it
    kinds = {f"f{c}": pyarrow.dictionary(pyarrow.int32(), pyarrow.string()) for c in columns}
    if count_column is not None:
        kinds[f"f{count_column}"] = pyarrow.string()
    table = pcsv.read_csv(
        pyarrow.BufferReader(data),
        read_options=pcsv.ReadOptions(
            skip_rows=1,
            column_names=[f"f{i}" for i in range(width)],
            # A row longer than a block fails here, and the careful reader then measures it
            # against max_line.
            block_size=min(max_line, 1 << 20),
        ),
        # Only a quoted cell holds a line break; without quotes Arrow finds rows in parallel.
        parse_options=pcsv.ParseOptions(newlines_in_values=quoted),
        convert_options=pcsv.ConvertOptions(
            column_types=kinds, include_columns=list(kinds), strings_can_be_null=False
        ),
    )
    del data  # only the table is needed from here on
    if table.num_rows == 0:
        return None
    ranks = [table.column(f"f{c}").combine_chunks() for c in list(columns)]
    cells: list[tuple[Any, list[frozenset[str]]]] = [
        (col, [cell_marks(v) for v in col.dictionary.to_pylist()]) for col in ranks
    ]
    names = sorted({n for _, marks in cells for m in marks for n in m if n != OVERVOTE})
    if not names:
        return None
    positions = canonical_positions(names, (m for _, marks in cells for m in marks))
    if len(positions) >= _SEP:
        return None
    code_of = {marks: code for code, marks in enumerate(positions)}
    empty = len(names)
    weights = None
    if count_column is not None:
        weights = pc.cast(
            pc.utf8_trim_whitespace(table.column(f"f{count_column}")), pyarrow.int64()
        )
        if pc.min(weights).as_py() < 0:
            return None
    # 2. Each cell as a sort digit: its canonical code + 1, or 0 when the rank is empty. Rows
    #    of digits compare as their canonical rankings do (a trailing empty rank is no rank at
    #    all), as long as no empty rank comes before a mark: those rows are fixed up in step 3.
    columns_in = [
        pc.take(
            pyarrow.array([_digit(code_of[m], empty) for m in marks], pyarrow.uint8()), col.indices
        )
        for col, marks in cells
    ]
    ranks_in = len(columns_in)
    del ranks, cells, table  # the cells' dictionary indices are no longer needed
    bits = len(positions).bit_length()
    # 3. Group equal rows: as one packed integer per row when the digits fit in 62 bits, else
    #    on every rank; then sort the distinct rows.
    keys, rows_in = _sort_keys(columns_in, bits)
    del columns_in
    if weights is not None:
        grouped = rows_in.append_column("w", weights).group_by(keys).aggregate([("w", "sum")])
        total = "w_sum"
    else:
        grouped = rows_in.group_by(keys).aggregate([([], "count_all")])
        total = "count_all"
    grouped = grouped.filter(pc.greater(grouped.column(total), 0))
    if keys == ["k"]:
        packed = grouped.column("k")
        mask = (1 << bits) - 1
        digits = [
            pc.cast(
                pc.bit_wise_and(pc.shift_right(packed, bits * (ranks_in - 1 - j)), mask),
                pyarrow.uint8(),
            )
            for j in range(ranks_in)
        ]
    else:
        digits = [grouped.column(k) for k in keys]
    #    An empty rank before a mark counts (its digit becomes the empty code + 1); only the
    #    trailing empty ranks stay 0. Rare, and on the distinct rows only; when there are any,
    #    the rows sort on the new digits.
    trailing = None
    skipped = False
    for j in range(ranks_in - 1, -1, -1):
        is_empty = pc.equal(digits[j], 0)
        trailing = is_empty if trailing is None else pc.and_(trailing, is_empty)
        inner = pc.and_not(is_empty, trailing)
        if pc.any(inner).as_py():
            digits[j] = pc.if_else(inner, pyarrow.scalar(empty + 1, pyarrow.uint8()), digits[j])
            skipped = True
    if skipped:
        keys, by = _sort_keys(digits, bits)
    else:
        by = grouped
    order = pc.sort_indices(by, sort_keys=[(k, "ascending") for k in keys])
    counts = pc.take(grouped.column(total), order).to_pylist()
    digits = [pc.take(digit, order) for digit in digits]
    # 4. Interleave the sorted rows' digits into one buffer; drop the zero digits and turn the
    #    others back into codes, at C speed.
    rows = grouped.num_rows
    stride = len(digits) + 1
    buffer = bytearray([_SEP]) * (rows * stride)
    for j, digit in enumerate(digits):
        column = digit.combine_chunks() if hasattr(digit, "combine_chunks") else digit
        data = column.buffers()[1]
        buffer[j::stride] = memoryview(data)[column.offset : column.offset + rows]
    del buffer[-1:]  # the separator after the last ranking
    joined = bytes(buffer).translate(_DIGIT_TO_CODE, b"\x00")
    return election_from_sorted(method, names, positions, joined, counts, rules)


def _digit(code: int, empty: int) -> int:
    """A cell's sort digit: 0 for an empty rank, else its canonical code + 1."""
    return 0 if code == empty else code + 1


def _sort_keys(digits: Sequence[Any], bits: int) -> tuple[list[str], Any]:
    """Sort keys for rows of digits: one packed integer when they fit in 62 bits, else each."""
    if bits * len(digits) <= 62:
        packed = pc.cast(digits[0], pyarrow.int64())
        for digit in digits[1:]:
            packed = pc.add(pc.multiply(packed, 1 << bits), pc.cast(digit, pyarrow.int64()))
        return ["k"], pyarrow.table({"k": packed})
    keys = [f"d{j}" for j in range(len(digits))]
    return keys, pyarrow.table(dict(zip(keys, digits, strict=True)))
