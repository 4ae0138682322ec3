"""RCTab's cast vote record readers: ES&S, CDF, Dominion, Hart, Clear Ballot and generic CSV.

Each reader turns one ``cvrFileSources`` entry into (rank, label) marks per cast vote record,
exactly as RCTab's reader of that provider builds its records, and adds them to a
:class:`~civicforum.tabulation.cvr.BallotBuilder`. Labels are resolved to candidates there
(names and aliases), so a label no candidate carries fails the whole read, listing every such
label, as RCTab does.

Speed: identical spreadsheet rows are grouped before they are interpreted (a city's records
have a few thousand distinct rows), and with the optional ``fastexcel``/``pyarrow`` packages
(``pip install civicforum[fast]``) an ES&S workbook is read and grouped without a Python object
per cell. Without them ``python-calamine`` reads it, more slowly.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from civicforum.tabulation import cdf
from civicforum.tabulation.cvr import BallotBuilder
from civicforum.tabulation.errors import InputFormatError
from civicforum.tabulation.rctab.config import ContestConfig, Source
from civicforum.tabulation.types import OVERVOTE

UWI = cdf.UNDECLARED_WRITE_INS

try:  # the fast path is optional (pip extra "fast")
    import fastexcel
    import pyarrow
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - exercised by the slow-path tests instead
    fastexcel = pyarrow = pc = None  # type: ignore[assignment]


def read_sources(config: ContestConfig, builder: BallotBuilder, *, fast: bool = True) -> None:
    """Read every source of ``config`` into ``builder`` (errors name the file)."""
    for source in config.sources:
        before = builder.records
        READERS[source.provider](config, source, builder, fast)
        builder.check_known(f"{source.path} ({source.key})")
        if builder.records == before and source.provider == "dominion":
            # RCTab refuses a Dominion export without a record of the contest.
            raise InputFormatError(
                f"no cast vote record of contest {source.contest_id!r}", path=str(source.path)
            )


# -- ES&S (xlsx) --------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A spreadsheet value as text, as Apache POI formats it for RCTab (1.0 -> "1")."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if value is None:
        return ""
    return str(value)


def _ess(config: ContestConfig, source: Source, builder: BallotBuilder, fast: bool) -> None:
    name = str(source.path)
    ranks = config.rules.max_rankings or len(config.candidates)
    first = (source.first_vote_column or 1) - 1
    columns = list(range(first, first + ranks))
    start = (source.first_vote_row or 1) - 1
    id_column = None if source.id_column is None else source.id_column - 1
    sheet = _sheet_xml(name)
    if fast and fastexcel is not None:
        grouped = _ess_rows_fast(name, columns, start, id_column, _width(sheet))
    else:
        grouped = _ess_rows(name, columns, start, id_column)
    empty = _row_count(sheet, start) - sum(grouped.values())
    if empty > 0:
        if id_column is not None:
            raise InputFormatError(
                f"{empty} row(s) without any cell, so without a cast vote record id", path=name
            )
        grouped[("",) * len(columns)] += empty
    delimiter = source.overvote_delimiter
    skipped = source.skipped_rank_label
    settings = ("ess", delimiter, skipped, source.overvote_label, source.uwi_label)
    memo = builder.memo.setdefault((*settings, source.blank_is_uwi), {})
    for cells, count in grouped.items():
        key = memo.get(cells)
        if key is not None:
            builder.add_key(key, count)
            continue
        marks: list[tuple[int, str]] = []
        for rank, raw in enumerate(cells, 1):
            text = raw.strip()
            if not text:
                # An empty cell; a cell holding only spaces is taken as empty too.
                if source.blank_is_uwi:
                    marks.append((rank, UWI))
                continue
            parts = [p.strip() for p in text.split(delimiter)] if delimiter else [text]
            for part in parts:
                if len(parts) > 1 and (not part or part == skipped):
                    raise InputFormatError(
                        f"{source.key}: the cell {raw!r} splits into a blank or skipped-rank "
                        "mark, which RCTab refuses",
                        path=name,
                    )
                if part == skipped:
                    continue
                if part == source.overvote_label:
                    part = OVERVOTE
                elif part == source.uwi_label:
                    part = UWI
                marks.append((rank, part))
        memo[cells] = builder.add(marks, count, where=f"{name}: row with cells {list(cells)}: ")


_ROOT = re.compile(rb"<(\w+:)?worksheet\b")
_ROW_NUMBER = re.compile(rb"\br=\"(\d+)\"")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*\bref=\"[A-Z]+\d+:([A-Z]+)\d+\"")
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _sheet_xml(name: str) -> bytes:
    """The first worksheet's XML, as the workbook's relationships name it."""
    import xml.etree.ElementTree as ET
    import zipfile

    try:
        with zipfile.ZipFile(name) as book:
            workbook = ET.fromstring(book.read("xl/workbook.xml"))
            rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
            first = next(e for e in workbook.iter() if _local(e.tag) == "sheet")
            rel_id = first.get(f"{_REL_NS}id")
            target = next(e.get("Target", "") for e in rels if e.get("Id") == rel_id)
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            return book.read(member)
    except (OSError, KeyError, StopIteration, zipfile.BadZipFile, ET.ParseError) as exc:
        raise InputFormatError(f"cannot read the workbook: {exc}", path=name) from None


def _width(sheet: bytes) -> int | None:
    """The number of columns the sheet's ``<dimension>`` declares, if it declares one."""
    found = _DIMENSION.search(sheet, 0, 8192)
    if not found:
        return None
    width = 0
    for letter in found.group(1):
        width = width * 26 + letter - ord("A") + 1
    return width


def _row_count(sheet: bytes, start: int) -> int:
    """How many ``<row>`` elements of the sheet are at or below row ``start + 1``.

    RCTab (Apache POI's streaming reader) makes a cast vote record of every row element, even
    one without cells (a styled row at the sheet's very end), while the Rust readers report
    only the rows that hold values: an empty row element is an undervote for RCTab and must
    count here too. Rows come in ascending order, so only the first few are looked at.
    """
    root = _ROOT.search(sheet, 0, 4096)
    tag = b"<" + (root.group(1) if root and root.group(1) else b"") + b"row"
    # The only other worksheet element whose name starts with "row" is <rowBreaks>, which comes
    # after <sheetData>: looked for in the tail only, so the sheet is scanned once.
    tail = max(sheet.rfind(b"sheetData"), 0)
    total = sheet.count(tag) - sheet.count(tag + b"Breaks", tail)
    pattern = re.compile(re.escape(tag) + rb"([\s>/][^>]*)?>")
    before, number = 0, 0
    for match in pattern.finditer(sheet):
        found = _ROW_NUMBER.search(match.group(1) or b"")
        number = int(found.group(1)) if found else number + 1
        if number > start:
            break
        before += 1
    return total - before


def _ess_rows(
    name: str, columns: list[int], start: int, id_column: int | None
) -> Counter[tuple[str, ...]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        rows = CalamineWorkbook.from_path(name).get_sheet_by_index(0).to_python()
    except (CalamineError, OSError, ValueError) as exc:
        raise InputFormatError(f"cannot read the workbook: {exc}", path=name) from None
    width = max(map(len, rows), default=0)
    padded = [row + [""] * (width - len(row)) for row in rows[start:]] if width else []
    body = [row for row in padded if any(value != "" for value in row)]
    if id_column is not None:
        for number, row in enumerate(padded, start + 1):
            if any(v != "" for v in row) and (id_column >= width or _cell(row[id_column]) == ""):
                raise InputFormatError(
                    f"row {number}: the cast vote record id is missing", path=name
                )
    usable = [c for c in columns if c < width]
    blanks = ("",) * (len(columns) - len(usable))
    raw: Counter[tuple[Any, ...]] = Counter()
    if usable:
        getter = itemgetter(*usable)
        picked = map(getter, body) if len(usable) > 1 else ((getter(r),) for r in body)
        raw.update(picked)
    else:
        raw[()] = len(body)
    grouped: Counter[tuple[str, ...]] = Counter()
    for cells, count in raw.items():
        grouped[tuple(map(_cell, cells)) + blanks] += count
    return grouped


def _ess_rows_fast(
    name: str, columns: list[int], start: int, id_column: int | None, declared: int | None
) -> Counter[tuple[str, ...]]:
    # Only the rank and id columns are read when the sheet says how wide it is.
    wanted = sorted({*columns, *([] if id_column is None else [id_column])})
    picked = [c for c in wanted if declared is not None and c < declared] or None
    try:
        reader = fastexcel.read_excel(name)
        try:
            sheet = reader.load_sheet(0, header_row=None, dtypes="string", use_columns=picked)
        except fastexcel.ColumnNotFoundError:  # the declared dimension was wrong
            sheet = reader.load_sheet(0, header_row=None, dtypes="string")
        loaded = pyarrow.Table.from_batches([sheet.to_arrow()])
    except Exception as exc:  # fastexcel raises its own error classes for bad files
        raise InputFormatError(f"cannot read the workbook: {exc}", path=name) from None
    # Each column at its place in the sheet; a column not read is empty.
    present = {int(n.rsplit("__", 1)[-1]): n for n in loaded.column_names}
    width = max(present, default=-1) + 1
    nothing = pyarrow.nulls(loaded.num_rows, pyarrow.string())
    table = pyarrow.table(
        [loaded.column(present[c]) if c in present else nothing for c in range(width)],
        names=[f"c{c}" for c in range(width)],
    )
    # Empty cells come as nulls (or ""): make them all "".
    table = pyarrow.table(
        [pc.fill_null(column, "") for column in table.slice(start).columns],
        names=table.column_names,
    )
    if width:
        empty = [pc.equal(pc.utf8_trim_whitespace(c), "") for c in table.columns]
        blank = empty[0]
        for flags in empty[1:]:
            blank = pc.and_(blank, flags)
        if id_column is not None:
            missing = pc.and_(pc.invert(blank), empty[id_column] if id_column < width else True)
            if pc.any(missing).as_py():
                number = pc.index(missing, True).as_py() + start + 1
                raise InputFormatError(
                    f"row {number}: the cast vote record id is missing", path=name
                )
        table = table.filter(pc.invert(blank))
    usable = [c for c in columns if c < width]
    blanks = ("",) * (len(columns) - len(usable))
    grouped: Counter[tuple[str, ...]] = Counter()
    if not usable:
        grouped[blanks] = table.num_rows
        return grouped
    keys = [table.column_names[c] for c in usable]
    counted = table.select(keys).group_by(keys, use_threads=False).aggregate([([], "count_all")])
    values = [counted.column(k).to_pylist() for k in keys]
    for *cells, count in zip(*values, counted.column("count_all").to_pylist(), strict=True):
        grouped[tuple(cells) + blanks] += count
    return grouped


# -- CDF (JSON and XML) ---------------------------------------------------------------------------


def _cdf(config: ContestConfig, source: Source, builder: BallotBuilder, fast: bool) -> None:
    name = str(source.path)
    report, xml = cdf.load_report(name, _read(source.path))
    contest = next((c for c in cdf.contests(report, name) if c.name == source.contest_id), None)
    if contest is None:
        raise InputFormatError(f"no Contest named {source.contest_id!r}", path=name)
    for marks, where in cdf.cvr_marks(
        report, contest, name=name, xml=xml, overvote_label=source.overvote_label or None
    ):
        builder.add(marks, where=where)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFormatError(f"cannot read file: {exc.strerror}", path=str(path)) from None


def _json(path: Path) -> Any:
    try:
        return json.loads(_read(path).decode("utf-8-sig"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise InputFormatError("not valid UTF-8", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputFormatError(
            f"invalid JSON: {exc.msg}", line=exc.lineno, path=str(path)
        ) from None


# -- Dominion (a folder of JSON manifests and exports) --------------------------------------------


def _dominion(config: ContestConfig, source: Source, builder: BallotBuilder, fast: bool) -> None:
    folder = source.path
    if not folder.is_dir():
        raise InputFormatError("a Dominion source must be a folder", path=str(folder))
    contests = _manifest(folder / "ContestManifest.json")
    if source.contest_id not in {str(c.get("Id")) for c in contests}:
        raise InputFormatError(
            f"contest {source.contest_id!r} is not in ContestManifest.json", path=str(folder)
        )
    single = folder / "CvrExport.json"
    if single.exists():
        exports = [single]
    else:
        numbered = [(p, re.fullmatch(r"CvrExport_(\d+)\.json", p.name)) for p in folder.iterdir()]
        exports = [p for p, m in sorted(numbered, key=lambda x: int(x[1][1]) if x[1] else 0) if m]
    if not exports:
        raise InputFormatError("no CvrExport.json or CvrExport_N.json", path=str(folder))
    limit = config.rules.max_rankings or len(config.candidates)
    # Dominion flags a contest that is not valid on a ballot with the outstack condition
    # "InvalidContest"; RCTab does not count such a record as a ballot of the contest.
    invalid: set[Any] = set()
    conditions = folder / "OutstackConditionManifest.json"
    if conditions.exists():
        invalid = {
            c.get("Id") for c in _manifest(conditions) if c.get("Description") == "InvalidContest"
        }
    for path in exports:
        data = _json(path)
        sessions = data.get("Sessions") if isinstance(data, Mapping) else None
        if not isinstance(sessions, list):
            raise InputFormatError("expected an object with a Sessions list", path=str(path))
        for number, session in enumerate(sessions, 1):
            where = f"{path}: session {number}: "
            for marks in _dominion_session(session, source, where, limit, invalid):
                builder.add(marks, where=where)


def _manifest(path: Path) -> list[Mapping[str, Any]]:
    data = _json(path)
    entries = data.get("List") if isinstance(data, Mapping) else None
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise InputFormatError("expected an object with a List of objects", path=str(path))
    return entries


def _dominion_session(
    session: Any, source: Source, where: str, limit: int, invalid: set[Any]
) -> Iterator[list[tuple[int, str]]]:
    if not isinstance(session, Mapping) or not isinstance(session.get("Original"), Mapping):
        raise InputFormatError(f"{where}needs an Original record")
    record = session["Original"]
    if not record.get("IsCurrent", False):
        # An adjudicated ballot: its Modified record counts; without one it is not counted.
        record = session.get("Modified")
        if not isinstance(record, Mapping):
            return
    cards = record.get("Cards", [record])
    for card in cards if isinstance(cards, list) else []:
        for contest in card.get("Contests", []) if isinstance(card, Mapping) else []:
            if not isinstance(contest, Mapping) or str(contest.get("Id")) != source.contest_id:
                continue
            if invalid.intersection(contest.get("OutstackConditionIds") or ()):
                continue
            marks: list[tuple[int, str]] = []
            for mark in contest.get("Marks", []):
                if not isinstance(mark, Mapping):
                    raise InputFormatError(f"{where}a mark must be an object")
                if mark.get("IsAmbiguous", False):
                    continue
                label = str(mark.get("CandidateId"))
                if label == source.uwi_label:
                    label = UWI
                rank = mark.get("Rank")
                if type(rank) is not int:
                    raise InputFormatError(f"{where}a mark's Rank must be a whole number")
                if rank <= limit:  # RCTab reads a ballot with more ranks up to the limit
                    marks.append((rank, label))
            yield marks


# -- Hart (a folder of one XML file per ballot sheet) ---------------------------------------------


def _hart(config: ContestConfig, source: Source, builder: BallotBuilder, fast: bool) -> None:
    import xml.etree.ElementTree as ET

    folder = source.path
    if not folder.is_dir():
        raise InputFormatError("a Hart source must be a folder", path=str(folder))
    for path in sorted(folder.iterdir()):
        if not path.name.lower().endswith("xml"):
            continue
        try:
            root = ET.fromstring(_read(path))
        except ET.ParseError as exc:
            raise InputFormatError(
                f"invalid XML: {exc}", line=exc.position[0], path=str(path)
            ) from None
        for contest in _children(root, "Contests", "Contest"):
            if _child_text(contest, "Id") != source.contest_id:
                continue
            marks: list[tuple[int, str]] = []
            for option in _children(contest, "Options", "Option"):
                label = _child_text(option, "Id") or ""
                if label == source.uwi_label:
                    label = UWI
                # Each character of Value is one rank, left to right; "1" marks it.
                value = _child_text(option, "Value") or ""
                marks += [(rank, label) for rank, ch in enumerate(value, 1) if ch == "1"]
            builder.add(marks, where=f"{path}: ")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: Any, wrapper: str, tag: str) -> list[Any]:
    return [
        child
        for holder in element
        if _local(holder.tag) == wrapper
        for child in holder
        if _local(child.tag) == tag
    ]


def _child_text(element: Any, tag: str) -> str | None:
    for child in element:
        if _local(child.tag) == tag:
            return (child.text or "").strip()
    return None


# -- Clear Ballot (CSV, one column per candidate and rank) ----------------------------------------

_CLEAR_BALLOT_FIXED = 10  # RowNumber ... Remade, then the choice columns


def _clear_ballot(
    config: ContestConfig, source: Source, builder: BallotBuilder, fast: bool
) -> None:
    name = str(source.path)
    limit = config.rules.max_rankings
    rows = _csv_rows(source.path)
    header = next(rows, None)
    if header is None or len(header) < _CLEAR_BALLOT_FIXED:
        raise InputFormatError("no header with choice columns", line=1, path=name)
    choices: dict[int, tuple[int, str]] = {}
    for column, title in enumerate(header[_CLEAR_BALLOT_FIXED:], _CLEAR_BALLOT_FIXED):
        fields = title.split(":")
        if len(fields) != 6:
            raise InputFormatError(
                f"choice column {title!r} must have 6 fields separated by ':'", line=1, path=name
            )
        if fields[1] != source.contest_id:
            continue
        try:
            rank = int(fields[2])
        except ValueError:
            raise InputFormatError(
                f"choice column {title!r}: bad rank", line=1, path=name
            ) from None
        if limit is not None and rank > limit:
            raise InputFormatError(
                f"choice column {title!r} has rank {rank}, above maxRankingsAllowed {limit}",
                line=1,
                path=name,
            )
        label = UWI if fields[4] == source.uwi_label else fields[4]
        choices[column] = (rank, label)
    for line, row in enumerate(rows, 2):
        try:
            marks = [choices[c] for c in choices if int(row[c]) == 1]
        except (ValueError, IndexError):
            raise InputFormatError(
                "a choice cell is missing or not a number", line=line, path=name
            ) from None
        builder.add(marks, where=f"{name}: line {line}: ")


def _csv_rows(path: Path) -> Iterator[list[str]]:
    name = str(path)
    try:
        text = _read(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFormatError("not valid UTF-8", path=name) from None
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    try:
        yield from reader
    except csv.Error as exc:
        raise InputFormatError(f"bad CSV: {exc}", line=reader.line_num, path=name) from None


# -- generic CSV (one column per candidate, the rank in the cell) ---------------------------------


def _generic_csv(config: ContestConfig, source: Source, builder: BallotBuilder, fast: bool) -> None:
    name = str(source.path)
    rows = _csv_rows(source.path)
    header = next(rows, None)
    if header is None:
        raise InputFormatError("the file is empty", path=name)
    first = (source.first_vote_column or 1) - 1
    labels = [UWI if h == source.uwi_label and h else h for h in header]
    for line, row in enumerate(rows, 2):
        marks: list[tuple[int, str]] = []
        for column in range(first, len(row)):
            text = row[column].strip()
            if not text:
                continue
            try:
                rank = int(text)
            except ValueError:
                raise InputFormatError(
                    f"column {column + 1} should hold a rank, not {text!r}", line=line, path=name
                ) from None
            if column >= len(labels):
                raise InputFormatError(f"column {column + 1} has no header", line=line, path=name)
            marks.append((rank, labels[column]))
        builder.add(marks, where=f"{name}: line {line}: ")


Reader = Callable[[ContestConfig, Source, BallotBuilder, bool], None]
READERS: dict[str, Reader] = {
    "ess": _ess,
    "cdf": _cdf,
    "dominion": _dominion,
    "hart": _hart,
    "clearBallot": _clear_ballot,
    "genericCsv": _generic_csv,
}

__all__ = ["READERS", "read_sources"]
