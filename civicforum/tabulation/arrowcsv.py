"""Rank-column CSV files read and grouped by pyarrow, without a Python object per ballot.

Optional (the ``fast`` extra): when pyarrow is missing, or a file is anything but well formed,
:func:`read_rank_csv` returns None and the careful reader in ``formats`` reads it, slower, and
says exactly which line is wrong. The steps, all in Arrow's C++:

1. parse the CSV, each rank column dictionary-encoded (its distinct cells are few);
2. interpret each distinct cell once (``cell_marks``), number the mark sets canonically and map
   every column to those codes;
3. pack each row's codes into one integer whose order is the order of the canonical ranking
   bytes (trailing empty ranks as 0, every other code + 1), group the rows by it and sort;
4. interleave the sorted rankings' digits into one byte buffer, drop the trailing-empty digits
   and map digits back to codes at C speed; the election splits it into ``bytes`` rankings.
"""

from __future__ import annotations

import codecs
import functools
import math
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
    check = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for begin in range(0, len(data), 1 << 20):
        check.decode(view[begin : begin + (1 << 20)])
    check.decode(b"", final=True)
    if b'"' in data and not _WELL_FORMED.fullmatch(data):
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
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types=kinds, include_columns=list(kinds), strings_can_be_null=False
        ),
    )
    del data, view  # only the table is needed from here on
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
    # 1. Group the rows by their cells: one integer per row, the dictionary indices in mixed
    #    radix (few operations over every row), else every column as a key.
    bases = [max(len(col.dictionary), 1) for col, _ in cells]
    if math.prod(bases) < 1 << 62:
        packed = None
        for (col, _), base in zip(cells, bases, strict=True):
            index = pc.cast(col.indices, pyarrow.int64())
            packed = index if packed is None else pc.add(pc.multiply(packed, base), index)
        keys, table = ["k"], pyarrow.table({"k": packed})
        # The per-row dictionary indices are no longer needed (only their dictionaries).
        del ranks, index, packed
        cells = [(None, marks) for _, marks in cells]
    else:
        keys = [f"i{j}" for j in range(len(cells))]
        table = pyarrow.table({k: col.indices for k, (col, _) in zip(keys, cells, strict=True)})
    if weights is not None:
        grouped = table.append_column("w", weights).group_by(keys).aggregate([("w", "sum")])
        total = "w_sum"
    else:
        grouped = table.group_by(keys).aggregate([([], "count_all")])
        total = "count_all"
    grouped = grouped.filter(pc.greater(grouped.column(total), 0))
    if keys == ["k"]:
        rest = grouped.column("k")
        indices: list[Any] = [None] * len(cells)
        for j in range(len(cells) - 1, -1, -1):
            quotient = pc.divide(rest, bases[j])
            indices[j] = pc.subtract(rest, pc.multiply(quotient, bases[j]))
            rest = quotient
    else:
        indices = [grouped.column(k) for k in keys]
    # 2. The distinct rows as sort digits: 0 for a trailing empty rank (it and every later
    #    rank empty), else canonical code + 1. Rows compare as their canonical,
    #    trailing-stripped ranking bytes do.
    digits: list[Any] = [None] * len(cells)
    trailing = None
    for j in range(len(cells) - 1, -1, -1):
        marks = cells[j][1]
        plus_one = pyarrow.array([code_of[m] + 1 for m in marks], pyarrow.uint8())
        digit = pc.take(plus_one, indices[j])
        is_empty = pc.equal(digit, empty + 1)
        trailing = is_empty if trailing is None else pc.and_(trailing, is_empty)
        digits[j] = pc.if_else(trailing, pyarrow.scalar(0, pyarrow.uint8()), digit)
    bits = len(positions).bit_length()
    if bits * len(digits) <= 62:
        sort_key = pc.cast(digits[0], pyarrow.int64())
        for digit in digits[1:]:
            shifted = pc.multiply(sort_key, 1 << bits)
            sort_key = pc.add(shifted, pc.cast(digit, pyarrow.int64()))
        order = pc.sort_indices(sort_key)
    else:
        names_of = [f"d{j}" for j in range(len(digits))]
        by = pyarrow.table(dict(zip(names_of, digits, strict=True)))
        order = pc.sort_indices(by, sort_keys=[(k, "ascending") for k in names_of])
    # 3. Interleave the sorted rows into one buffer, then, at C speed, drop the trailing marks
    #    and turn every digit back into its code.
    rows = grouped.num_rows
    stride = len(digits) + 1
    buffer = bytearray([_SEP]) * (rows * stride)
    for j, digit in enumerate(digits):
        column = pc.take(digit, order).combine_chunks()
        data = column.buffers()[1]
        buffer[j::stride] = memoryview(data)[column.offset : column.offset + rows]
    del buffer[-1:]  # the separator after the last ranking
    joined = bytes(buffer).translate(_DIGIT_TO_CODE, b"\x00")
    counts = pc.take(grouped.column(total), order).to_pylist()
    return election_from_sorted(method, names, positions, joined, counts, rules)
