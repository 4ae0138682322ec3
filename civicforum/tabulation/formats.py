"""Ballot file readers: corpus case JSON, approval JSON, RCTab-style CSV, BLT and NIST CDF.

Every reader streams its file in blocks, refuses any line longer than ``max_line`` bytes, decodes
strict UTF-8 and raises a single :class:`InputFormatError` naming the file and line (or, inside a
JSON document, the ballot) at the first problem; it never returns a partial election.

* **case** (``civicforum-rcv-case/1``) and **approval** (``{"method": "approval", ...}``): see
  :func:`civicforum.tabulation.serialize.election_from_json`.
* **csv**: a header row, then one ballot per row. Columns named ``Rank 1``, ``Rank 2`` ...
  (also ``Choice N`` / ``Preference N``) hold the option marked at that rank; an optional
  ``Count`` (or ``Weight``) column repeats the row. A cell may be empty (skipped rank), a name,
  several names on separate lines of one quoted cell (an overvote, as RCTab's own CSV writes
  it; names may hold ``|``), ``overvote`` / ``#OVERVOTE`` (unidentified overvote) or
  ``undervote``; a leading apostrophe civicforum wrote against spreadsheet formulas is removed
  (:mod:`.csvcells`). Other columns (ballot id, precinct) are ignored. The options are the names
  found, sorted. Counted as IRV with default rules unless rules are given. With pyarrow
  installed (the ``fast`` extra) a well-formed file is parsed and grouped vectorised
  (:mod:`civicforum.tabulation.arrowcsv`); otherwise, or for a file with a problem, line by line.
* **blt**: ``<options> <seats>``, an optional line of withdrawn options (``-2 -5``), ballot lines
  ``<weight> <option numbers...> 0`` where ``2=3`` marks options at one rank and ``-`` a skipped
  rank, a ``0`` line, then one quoted name per option and a quoted title (everything between
  the first and the last ``"`` of the line, so names may hold quotes). IRV for one seat, else
  STV.
* **cdf**: NIST SP 1500-103 cast vote record report, JSON or XML (:mod:`.cdf`): the first
  contest. Its ``VoteVariation`` says the method (``approval``, ``n-of-m``, ``plurality``:
  approval with ``VotesAllowed`` approvals at most; ``rcv``, ``proportional``: IRV, or STV for
  ``NumberElected`` above 1; ``other`` with ``OtherVoteVariation`` ``schulze``: Schulze).
  Write-in selections become "Undeclared Write-ins".
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from itertools import chain, repeat
from pathlib import Path
from typing import Any, BinaryIO

from civicforum.tabulation import arrowcsv, cdf
from civicforum.tabulation.csvcells import unprotect_cell
from civicforum.tabulation.cvr import BallotBuilder
from civicforum.tabulation.errors import InputFormatError, InvalidElectionError
from civicforum.tabulation.serialize import election_from_json
from civicforum.tabulation.types import (
    OVERVOTE,
    Election,
    Ranking,
    Rules,
    election_from_codes,
    make_election,
)

FORMATS = ("auto", "case", "csv", "blt", "cdf", "approval")
MAX_LINE = 16 * 1024 * 1024
_BLOCK = 1 << 20
UNDECLARED_WRITE_INS = cdf.UNDECLARED_WRITE_INS

Progress = Callable[[int, int], None]
_RANK_HEADER = re.compile(r"^\s*(rank|choice|preference)\s*(\d+)\s*$", re.IGNORECASE)
_COUNT_HEADERS = {"count", "weight", "ballots"}


class _Lines:
    """Decoded lines of a binary stream in blocks, with a line-length guard.

    ``blocks()`` yields lists of lines (without newlines) so that callers can chain them at C
    speed; iterating line by line keeps ``line`` at the current line number.
    """

    def __init__(
        self, stream: BinaryIO, *, name: str, max_line: int, total: int, progress: Progress | None
    ) -> None:
        self.stream, self.name, self.max_line = stream, name, max_line
        self.total, self.progress = total, progress
        self.line = 0
        self.decoded = 0
        self.done = 0
        self.quoted = False  # does the block last decoded need a real CSV parser?

    def error(self, message: str, line: int | None = None) -> InputFormatError:
        return InputFormatError(message, line=line or self.line or None, path=self.name)

    def _too_long(self, line: int) -> InputFormatError:
        return self.error(f"line is longer than {self.max_line} bytes", line)

    def blocks(self) -> Iterator[list[str]]:
        tail = b""
        while True:
            block = self.stream.read(_BLOCK)
            self.done += len(block)
            if self.progress is not None:
                self.progress(self.done, self.total)
            if not block:
                break
            data = tail + block
            cut = data.rfind(b"\n") + 1
            if not cut:
                tail = data
                if len(tail) > self.max_line:
                    raise self._too_long(self.decoded + 1)
                continue
            tail = data[cut:]
            yield self._decode(data[: cut - 1])
        if tail:
            if len(tail) > self.max_line:
                raise self._too_long(self.decoded + 1)
            yield self._decode(tail)

    def __iter__(self) -> Iterator[str]:
        for block in self.blocks():
            for row in block:
                self.line += 1
                yield row

    def _decode(self, chunk: bytes) -> list[str]:
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self.decoded + chunk.count(b"\n", 0, exc.start) + 1
            raise self.error("not valid UTF-8", line) from None
        self.quoted = '"' in text or "\r" in text
        lines = text.split("\n")
        if max(map(len, lines)) > self.max_line:  # characters <= bytes: only real offenders
            longest = max(range(len(lines)), key=lambda i: len(lines[i]))
            raise self._too_long(self.decoded + longest + 1)
        self.decoded += len(lines)
        return lines


def _open(
    path: str | os.PathLike[str], max_line: int, progress: Progress | None
) -> tuple[BinaryIO, _Lines]:
    name = os.fspath(path)
    try:
        stream = open(name, "rb")  # noqa: SIM115 - closed by the caller
        total = os.fstat(stream.fileno()).st_size
    except OSError as exc:
        raise InputFormatError(f"cannot read file: {exc.strerror}", path=name) from None
    if total == 0:
        stream.close()
        raise InputFormatError("the file is empty", path=name)
    return stream, _Lines(stream, name=name, max_line=max_line, total=total, progress=progress)


def _read_json(path: str | os.PathLike[str], max_line: int, progress: Progress | None) -> Any:
    stream, lines = _open(path, max_line, progress)
    with stream:
        text = "\n".join(lines)
    if not text.strip():
        raise InputFormatError("the file is empty", path=lines.name)
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputFormatError(
            f"invalid JSON: {exc.msg}", line=exc.lineno, path=lines.name
        ) from None
    except RecursionError:
        raise InputFormatError("JSON nested too deeply", path=lines.name) from None


def _from_json_document(data: Any, name: str, wanted: str) -> Election:
    if not isinstance(data, Mapping):
        raise InputFormatError("expected a JSON object", path=name)
    if wanted == "cdf" or (wanted == "auto" and _looks_like_cdf(data)):
        return _election_from_cdf(data, name, xml=False)
    if wanted == "approval" and data.get("method") != "approval":
        raise InputFormatError('an approval file needs "method": "approval"', path=name)
    try:
        return election_from_json(data)
    except InvalidElectionError as exc:
        raise InputFormatError(str(exc), path=name) from None


def _looks_like_cdf(data: Mapping[str, Any]) -> bool:
    kind = str(data.get("@type", ""))
    return "CastVoteRecordReport" in kind or ("CVR" in data and "Election" in data)


def read_election(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    max_line: int = MAX_LINE,
    progress: Progress | None = None,
) -> Election:
    """Read one ballot file in ``format`` (module docstring); "auto" goes by suffix, content."""
    if format not in FORMATS:
        raise InputFormatError(f"unknown format {format!r}; expected one of {FORMATS}")
    name = os.fspath(path)
    if format == "auto":
        suffix = Path(name).suffix.lower()
        format = {".csv": "csv", ".blt": "blt", ".xml": "cdf"}.get(suffix, "auto")
    if format == "csv":
        return read_csv(path, max_line=max_line, progress=progress)
    if format == "blt":
        return read_blt(path, max_line=max_line, progress=progress)
    if format == "cdf" and Path(name).suffix.lower() == ".xml":
        return _read_cdf_xml(name, max_line, progress)
    data = _read_json(path, max_line, progress)
    return _from_json_document(data, name, format)


def _read_cdf_xml(name: str, max_line: int, progress: Progress | None) -> Election:
    stream, lines = _open(name, max_line, progress)
    with stream:
        text = "\n".join(lines)
    report, _ = cdf.load_report(name, text.encode("utf-8"))
    return _election_from_cdf(report, name, xml=True)


# -- CSV ---------------------------------------------------------------------------------------


def read_csv(
    path: str | os.PathLike[str],
    *,
    max_line: int = MAX_LINE,
    progress: Progress | None = None,
    rules: Rules | None = None,
    fast: bool = True,
) -> Election:
    """Read an RCTab-style CSV cast vote record (see the module docstring) as an IRV count."""
    stream, lines = _open(path, max_line, progress)
    with stream:
        blocks = lines.blocks()
        first = next(blocks)
        try:
            header = next(csv.reader(first[:1], strict=True))
        except csv.Error as exc:
            raise lines.error(f"bad CSV: {exc}", 1) from None
        ranks: list[tuple[int, int]] = []
        count_column = None
        for i, title in enumerate(header):
            if match := _RANK_HEADER.match(title):
                ranks.append((int(match.group(2)), i))
            elif title.strip().lower() in _COUNT_HEADERS:
                count_column = i
        if not ranks:
            raise lines.error("the header has no 'Rank 1', 'Rank 2', ... columns", 1)
        ranks.sort()
        if [r for r, _ in ranks] != list(range(1, len(ranks) + 1)):
            raise lines.error("rank columns must be numbered 1, 2, 3, ... without gaps", 1)
        columns = [i for _, i in ranks]
        width = len(header)
        if fast and arrowcsv.AVAILABLE:
            election = arrowcsv.read_rank_csv(
                path,
                width=width,
                columns=columns,
                count_column=count_column,
                cell_marks=_cell_marks,
                method="irv",
                rules=rules,
                max_line=max_line,
            )
            if election is not None:
                if progress is not None:
                    progress(lines.total, lines.total)
                return election
        cells = _CellCodes()
        rest = chain([first[1:]], blocks)
        try:
            if columns == list(range(width)) and width > 1:
                counts = _count_plain_rows(rest, cells, lines)
                if any(len(key) != width for key in counts):
                    raise _BadRow(f"expected {width} columns", lambda row: len(row) != width)
            else:
                counts = _count_rows(rest, cells, columns, count_column, width)
        except csv.Error as exc:
            raise lines.error(f"bad CSV: {exc}", _csv_error_line(lines.name)) from None
        except _BadRow as exc:
            line = exc.line if exc.line is not None else _locate(lines.name, exc.matches)
            raise InputFormatError(exc.message, line=line, path=lines.name) from None
    if not counts:
        raise lines.error("no ballots after the header")
    names = sorted({n for cell in cells.cells for n in cell if n != OVERVOTE})
    if not names:
        raise lines.error("no option is named on any ballot")
    try:
        return election_from_codes("irv", names, cells.cells, counts, rules)
    except InvalidElectionError as exc:  # pragma: no cover - cells are checked when parsed
        raise InputFormatError(str(exc), path=lines.name) from None


class _BadRow(Exception):
    """A bad row; ``line`` if known, else ``matches`` finds the row by re-reading the file."""

    def __init__(
        self, message: str, matches: Callable[[list[str]], bool], line: int | None = None
    ) -> None:
        self.message, self.matches, self.line = message, matches, line


def _records(name: str) -> Iterator[tuple[int, list[str]]]:
    """Re-read the file (error paths only), split into lines as the first pass splits it, and
    yield each data record with the line it starts on (quoted cells may span lines)."""
    with open(name, encoding="utf-8", newline="") as f:
        text = f.read()
    reader = csv.reader((line + "\n" for line in text.split("\n")), strict=True)
    next(reader, None)
    start = reader.line_num + 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _locate(name: str, matches: Callable[[list[str]], bool]) -> int | None:
    """The line of the first data row ``matches``."""
    for start, row in _records(name):
        if row and matches(row):
            return start
    return None  # pragma: no cover - the row was seen on the first pass


def _csv_error_line(name: str) -> int | None:
    """The line where the record the CSV parser fails on starts."""
    with open(name, encoding="utf-8", newline="") as f:
        text = f.read()
    reader = csv.reader((line + "\n" for line in text.split("\n")), strict=True)
    start = 1
    try:
        while next(reader, None) is not None:
            start = reader.line_num + 1
    except csv.Error:
        return start
    return None  # pragma: no cover - the first pass failed somewhere


_CELL_SPLIT = re.compile(r"\r?\n")


def _cell_marks(cell: str) -> frozenset[str]:
    """What one cell marks: nothing, names (several on separate lines: an overvote, as RCTab's
    CSV writes it; a ``|`` is part of a name) or an unidentified overvote. A label civicforum wrote
    with an apostrophe against spreadsheet formulas is read back as it was (``csvcells``)."""
    text = unprotect_cell(cell.strip()).strip()
    if text.lower() in ("overvote", OVERVOTE.lower()):
        return frozenset([OVERVOTE])
    if text.lower() in ("", "undervote"):
        return frozenset()
    parts = [p.strip() for p in _CELL_SPLIT.split(text)]
    problem = None
    if not all(parts):
        problem = f"empty name in cell {cell!r}"
    elif len(set(parts)) != len(parts):
        problem = f"a name repeats within the cell {cell!r}"
    elif OVERVOTE in parts:
        problem = f"{OVERVOTE} cannot be combined with names"
    if problem is not None:
        raise _BadRow(problem, lambda row: cell in row)
    return frozenset(parts)


class _CellCodes(dict[str, int]):
    """Cell text -> temporary position code; unseen cells are parsed once, on first lookup."""

    def __init__(self) -> None:
        super().__init__({"": 0})
        self.cells: list[frozenset[str]] = [frozenset()]

    def __missing__(self, cell: str) -> int:
        marks = _cell_marks(cell)
        try:
            code = self.cells.index(marks)
        except ValueError:
            code = len(self.cells)
            if code > 255:
                message = "more than 255 different cell values"
                raise _BadRow(message, lambda row: cell in row) from None
            self.cells.append(marks)
        self[cell] = code
        return code


def _whole_lines(blocks: Iterator[list[str]]) -> Iterator[str]:
    """Lines with their line break, as a CSV parser needs them: a quoted cell may hold line
    breaks and run on into the next block."""
    for block in blocks:
        for line in block:
            yield line + "\n"


def _count_plain_rows(
    blocks: Iterator[list[str]], cells: _CellCodes, lines: _Lines
) -> dict[Ranking, int]:
    """Rows that are nothing but rank cells: group them without a Python-level loop per row."""
    counts: Counter[Ranking] = Counter()
    get = cells.__getitem__
    for block in blocks:
        if lines.quoted:
            # Quotes or CRs need the real CSV parser, from here to the end of the file.
            reader = csv.reader(_whole_lines(chain([block], blocks)), strict=True)
            counts.update(map(bytes, map(map, repeat(get), reader)))
            break
        # Plain blocks are split at C speed.
        counts.update(map(bytes, map(map, repeat(get), map(str.split, block, _COMMAS))))
    counts.pop(b"", None)  # blank lines (csv.reader)
    counts.pop(b"\x00", None)  # blank lines (split)
    return dict(counts)


_COMMAS = repeat(",")


def _count_rows(
    blocks: Iterator[list[str]],
    cells: _CellCodes,
    columns: list[int],
    count_column: int | None,
    width: int,
) -> dict[Ranking, int]:
    counts: dict[Ranking, int] = {}
    get = cells.__getitem__
    reader = csv.reader(_whole_lines(blocks), strict=True)
    start = 2  # the line the record being read starts on (a quoted cell may span lines)

    def bad(message: str) -> _BadRow:
        return _BadRow(message, bool, start)

    for row in reader:
        if len(row) != width:
            if not row:
                continue  # blank line
            raise bad(f"expected {width} columns, found {len(row)}")
        key = bytes([get(row[i]) for i in columns])
        weight = 1
        if count_column is not None:
            text = row[count_column]
            try:
                weight = int(text.strip())
            except ValueError:
                raise bad(f"count {text!r} is not an integer") from None
            if weight < 0:
                raise bad(f"count {weight} is negative")
        counts[key] = counts.get(key, 0) + weight
        start = reader.line_num + 2  # + 1 for the header line, + 1 for the next line
    return counts


def _int_cell(text: str, lines: _Lines) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise lines.error(f"count {text!r} is not an integer") from None
    if value < 0:
        raise lines.error(f"count {value} is negative")
    return value


# -- BLT ---------------------------------------------------------------------------------------


def read_blt(
    path: str | os.PathLike[str], *, max_line: int = MAX_LINE, progress: Progress | None = None
) -> Election:
    """Read a BLT ballot file (see the module docstring): IRV for one seat, STV otherwise."""
    stream, lines = _open(path, max_line, progress)
    with stream:
        it = iter(lines)
        header = _next_content(it)
        if header is None:
            raise InputFormatError("the file has nothing but comments", path=lines.name)
        try:
            n, seats = (int(x) for x in header.split())
        except ValueError:
            raise lines.error("first line must be '<number of options> <seats>'") from None
        if n < 1 or seats < 1:
            raise lines.error("the number of options and of seats must be positive")
        withdrawn: set[int] = set()
        cells: list[frozenset[str]] = [frozenset([str(i)]) for i in range(n)] + [frozenset()]
        sets: dict[frozenset[str], int] = {}
        counts: dict[Ranking, int] = {}
        first = True
        while True:
            text = _next_content(it)
            if text is None:
                raise lines.error("missing the '0' line that ends the ballots")
            tokens = text.split()
            if first and tokens[0].startswith("-"):
                withdrawn = {_blt_number(t[1:], n, lines) - 1 for t in tokens}
                first = False
                continue
            first = False
            if tokens == ["0"]:
                break
            if tokens[0].startswith("("):  # optional ballot id
                tokens = tokens[1:]
            if len(tokens) < 2 or tokens[-1] != "0":
                raise lines.error("a ballot line is '<weight> <options...> 0'")
            weight = _int_cell(tokens[0], lines)
            key: list[int] = []
            for token in tokens[1:-1]:
                if token == "-":
                    key.append(n)
                    continue
                numbers = [_blt_number(x, n, lines) - 1 for x in token.split("=")]
                if len(set(numbers)) != len(numbers):
                    raise lines.error(f"an option repeats within {token!r}")
                marked = frozenset(str(x) for x in numbers if x not in withdrawn)
                if not marked:
                    continue  # only withdrawn options: as if not on the ballot
                if len(marked) == 1:
                    key.append(int(next(iter(marked))))
                else:
                    code = sets.get(marked)
                    if code is None:
                        code = sets[marked] = len(cells)
                        cells.append(marked)
                    key.append(code)
            counts[tuple(key)] = counts.get(tuple(key), 0) + weight
        names: list[str] = []
        for _ in range(n):
            text = _next_content(it)
            if text is None:
                raise lines.error(f"expected {n} quoted option names after the ballots")
            names.append(_quoted(text, lines))
    if len(set(names)) != n:
        raise lines.error("option names must be unique")
    mapping = {str(i): names[i] for i in range(n)}
    named = [frozenset(mapping[x] for x in cell) for cell in cells]
    method = "irv" if seats == 1 else "stv"
    try:
        election = election_from_codes(method, names, named, counts, Rules(seats=seats))
    except InvalidElectionError as exc:
        raise InputFormatError(str(exc), path=lines.name) from None
    if withdrawn:
        kept = tuple(o for i, o in enumerate(names) if i not in withdrawn)
        return _drop_options(election, kept)
    return election


def _drop_options(election: Election, kept: tuple[str, ...]) -> Election:
    """Withdrawn options leave the election; their marks were already removed from ballots."""
    return make_election(election.method, kept, election.ballots, election.rules)


def _next_content(it: Iterator[str]) -> str | None:
    for text in it:
        text = text.split("#", 1)[0].strip() if not text.lstrip().startswith('"') else text.strip()
        if text:
            return text
    return None


def _blt_number(token: str, n: int, lines: _Lines) -> int:
    try:
        value = int(token)
    except ValueError:
        raise lines.error(f"{token!r} is not an option number") from None
    if not 1 <= value <= n:
        raise lines.error(f"unknown option number {value} (there are {n})")
    return value


def _quoted(text: str, lines: _Lines) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise lines.error("expected a quoted name")
    return text[1:-1]


# -- NIST SP 1500-103 CDF ----------------------------------------------------------------------

_APPROVAL_VARIATIONS = ("approval", "n-of-m", "plurality")
_RANKED_VARIATIONS = ("rcv", "proportional", None)


def _election_from_cdf(report: Mapping[str, Any], name: str, *, xml: bool) -> Election:
    contests = cdf.contests(report, name)
    if not contests:
        raise InputFormatError("no Contest in the cast vote record report", path=name)
    contest = contests[0]
    variation = contest.vote_variation
    other = (contest.other_vote_variation or "").lower()
    seats = contest.number_elected or 1
    max_approvals = None
    if variation in _APPROVAL_VARIATIONS:
        method = "approval"
        allowed = contest.votes_allowed
        if allowed is not None and allowed < len(contest.labels):
            max_approvals = allowed
    elif variation == "other" and other in ("schulze", "condorcet"):
        method = "schulze"
    elif variation in _RANKED_VARIATIONS:
        method = "irv" if seats == 1 else "stv"
    else:
        raise InputFormatError(
            f"VoteVariation {variation!r} ({other or 'no OtherVoteVariation'}) is not a method "
            "civicforum counts",
            path=name,
        )
    names = list(dict.fromkeys(v for v in contest.labels.values() if isinstance(v, str)))
    if not names:
        raise InputFormatError("the contest has no candidates", path=name)
    builder = BallotBuilder(names)
    for marks, where in cdf.cvr_marks(
        report, contest, name=name, xml=xml, ranked=method != "approval"
    ):
        builder.add(marks, where=where)
    try:
        rules = Rules(
            seats=seats,
            max_approvals=max_approvals,
            undeclared_write_in=UNDECLARED_WRITE_INS if UNDECLARED_WRITE_INS in names else None,
        )
    except InvalidElectionError as exc:
        raise InputFormatError(str(exc), path=name) from None
    return builder.election(method, rules, where=name)
