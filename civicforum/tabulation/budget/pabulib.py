"""The Pabulib ``.pb`` format (pabulib.org/format), read and written exactly.

A file has three sections, each a title line (``META``, ``PROJECTS``, ``VOTES``), a header and
semicolon-separated rows with CSV quoting. Amounts are read as exact fractions from their
decimal text. Errors are :class:`~civicforum.tabulation.errors.InputFormatError` with the line
number and the offending key or column.

Vote types: ``approval``, ``choose-1``, ``cumulative`` (``points`` column) and ``ordinal``
(optional ``points``, which must then be the Borda scores by ballot length, the only ordinal
scoring the rules use). ``scoring`` ballots are refused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from civicforum.tabulation.budget.types import (
    AMOUNT_LIMITS,
    VOTE_TYPES,
    ApprovalBallot,
    Ballot,
    BallotRules,
    BudgetInstance,
    CumulativeBallot,
    OrdinalBallot,
    Project,
    exact,
    make_instance,
)
from civicforum.tabulation.csvcells import csv_writer, unprotect_cell
from civicforum.tabulation.errors import InputFormatError, InvalidElectionError

SECTIONS = ("META", "PROJECTS", "VOTES")
_INT_LIMITS = ("min_length", "max_length")


@dataclass(frozen=True, slots=True)
class PabulibFile:
    """A parsed file: the countable instance plus what the file says about it.

    ``meta`` and ``project_rows`` keep every column as text (project rows in file order);
    ``selected`` lists the projects whose ``selected`` column is 1 (the published outcome);
    ``threshold`` is ``min_project_score_threshold``.
    """

    instance: BudgetInstance
    meta: Mapping[str, str]
    project_rows: tuple[Mapping[str, str], ...]
    selected: tuple[str, ...]
    rule: str
    threshold: Fraction | None


def read_pabulib_file(path: str | Path, *, validate: bool = True) -> PabulibFile:
    """Read a ``.pb`` file (UTF-8); errors name the file and line."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"not UTF-8 text ({exc.reason})", path=name) from None
    return read_pabulib(text, path=name, validate=validate)


def read_pabulib(text: str, *, path: str | None = None, validate: bool = True) -> PabulibFile:
    """Parse Pabulib text; with ``validate`` every ballot must obey the META limits."""

    def fail(message: str, line: int | None) -> InputFormatError:
        return InputFormatError(message, line=line, path=path)

    sections: dict[str, tuple[list[str], list[tuple[int, list[str]]]]] = {}
    current: str | None = None
    header: list[str] | None = None
    reader = csv.reader(io.StringIO(text), delimiter=";", quotechar='"', strict=True)
    for line, raw in _rows(reader, path):
        cells = [cell.strip() for cell in raw]
        if not any(cells):
            continue
        title = cells[0].upper()
        if len(cells) == 1 and title in SECTIONS:
            if title in sections:
                raise fail(f"section {title} appears twice", line)
            current, header = title, None
            sections[title] = ([], [])
            continue
        if current is None:
            raise fail("the file must start with the META section", line)
        if header is None:
            header = cells
            if len(set(header)) != len(header):
                raise fail(f"{current} header repeats a column: {header}", line)
            sections[current][0].extend(header)
            continue
        if len(cells) != len(header):
            raise fail(f"{current} row has {len(cells)} fields, the header {len(header)}", line)
        sections[current][1].append((line, cells))
    for title in SECTIONS:
        if title not in sections:
            raise fail(f"missing section {title}", None)

    meta_header, meta_rows = sections["META"]
    if [h.lower() for h in meta_header] != ["key", "value"]:
        raise fail(
            "the META header must be 'key;value'", meta_rows[0][0] - 1 if meta_rows else None
        )
    meta: dict[str, str] = {}
    meta_line: dict[str, int] = {}
    for line, (key, value) in meta_rows:
        if key in meta:
            raise fail(f"META key {key} appears twice", line)
        meta[key], meta_line[key] = value, line

    def meta_amount(key: str) -> Fraction | None:
        if key not in meta:
            return None
        try:
            return exact(meta[key], key)
        except InvalidElectionError:
            raise fail(f"META {key}: not a number: {meta[key]!r}", meta_line[key]) from None

    for key in ("budget", "vote_type"):
        if key not in meta:
            raise fail(f"META has no {key}", None)
    budget = meta_amount("budget")
    assert budget is not None
    vote_type = meta["vote_type"]
    if vote_type not in VOTE_TYPES:
        raise fail(
            f"META vote_type {vote_type!r} is not supported; expected one of {VOTE_TYPES}",
            meta_line["vote_type"],
        )
    limits: dict[str, object] = {}
    for key in _INT_LIMITS:
        if key in meta and meta[key] != "":
            if not meta[key].isdigit():
                raise fail(f"META {key}: not a whole number: {meta[key]!r}", meta_line[key])
            limits[key] = int(meta[key])
    for key in AMOUNT_LIMITS:
        if meta.get(key, "") != "" and (vote_type == "cumulative") == ("points" in key):
            limits[key] = meta_amount(key)
    try:
        rules = BallotRules(vote_type, **limits)  # type: ignore[arg-type]
    except InvalidElectionError as exc:
        raise fail(f"META: {exc}", None) from None

    project_header, project_data = sections["PROJECTS"]
    for column in ("project_id", "cost"):
        if column not in project_header:
            raise fail(f"PROJECTS has no {column} column", None)
    projects: list[Project] = []
    project_rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for line, cells in project_data:
        row = dict(zip(project_header, cells, strict=True))
        pid = row["project_id"]
        if pid in seen:
            raise fail(f"project_id {pid} appears twice", line)
        seen.add(pid)
        try:
            name = unprotect_cell(row.get("name", ""))  # written by csv_writer: formulas guarded
            projects.append(Project(pid, exact(row["cost"], "cost"), name))
        except InvalidElectionError as exc:
            raise fail(f"project {pid}: cost {row['cost']!r}: {exc}", line) from None
        project_rows.append(row)

    costs = {p.id: p.cost for p in projects}
    vote_header, vote_data = sections["VOTES"]
    for column in ("voter_id", "vote"):
        if column not in vote_header:
            raise fail(f"VOTES has no {column} column", None)
    if vote_type == "cumulative" and "points" not in vote_header:
        raise fail("VOTES has no points column, which cumulative ballots need", None)
    ballots: list[Ballot] = []
    voters: set[str] = set()
    for line, cells in vote_data:
        row = dict(zip(vote_header, cells, strict=True))
        if row["voter_id"] in voters:
            raise fail(f"voter_id {row['voter_id']} appears twice", line)
        voters.add(row["voter_id"])
        try:
            ballot = _ballot(vote_type, row)
        except InvalidElectionError as exc:
            raise fail(f"voter {row['voter_id']}: {exc}", line) from None
        problem = rules.problem(ballot, costs) if validate else None
        if problem is None and (unknown := sorted(set(ballot.weights()) - costs.keys())):
            problem = f"unknown projects {unknown}"
        if problem is not None:
            raise fail(f"voter {row['voter_id']}: {problem}", line)
        ballots.append(ballot)

    for key, actual in (("num_projects", len(projects)), ("num_votes", len(ballots))):
        if key in meta and meta[key] != str(actual):
            raise fail(f"META {key} is {meta[key]} but the file has {actual}", meta_line[key])

    instance = make_instance(budget, projects, ballots, rules, validate=False)
    selected = tuple(row["project_id"] for row in project_rows if row.get("selected") == "1")
    return PabulibFile(
        instance=instance,
        meta=meta,
        project_rows=tuple(project_rows),
        selected=selected,
        rule=meta.get("rule", "unknown"),
        threshold=meta_amount("min_project_score_threshold"),
    )


def _rows(reader: Iterator[list[str]], path: str | None) -> Iterator[tuple[int, list[str]]]:
    """CSV rows with the line number each starts on."""
    while True:
        start = reader.line_num + 1  # type: ignore[attr-defined]
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputFormatError(f"bad CSV quoting: {exc}", line=start, path=path) from None
        yield start, row


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _ballot(vote_type: str, row: Mapping[str, str]) -> Ballot:
    projects = _split(row["vote"])
    points_text = row.get("points", "")
    if vote_type in ("approval", "choose-1"):
        if points_text:
            raise InvalidElectionError(f"{vote_type} ballots take no points")
        if len(set(projects)) != len(projects):
            raise InvalidElectionError(f"a project is approved twice: {projects}")
        return ApprovalBallot(frozenset(projects))
    if vote_type == "ordinal":
        ballot = OrdinalBallot(tuple(projects))
        if points_text:
            given = [exact(p, "points") for p in _split(points_text)]
            if given != [ballot.weights()[p] for p in projects]:
                raise InvalidElectionError(
                    "ordinal points must be the Borda scores by ballot length"
                    f" ({len(projects)} down to 1), not {points_text}"
                )
        return ballot
    points = [exact(p, "points") for p in _split(points_text)]
    if len(points) != len(projects):
        raise InvalidElectionError(f"{len(projects)} projects but {len(points)} points")
    if len(set(projects)) != len(projects):
        raise InvalidElectionError(f"a project is listed twice: {projects}")
    return CumulativeBallot(dict(zip(projects, points, strict=True)))


# ------------------------------------------------------------------------------ writing


def format_amount(value: Fraction) -> str:
    """An exact decimal ("1234.5"); refuses amounts with no finite decimal form."""
    if value.denominator == 1:
        return str(value.numerator)
    rest, twos, fives = value.denominator, 0, 0
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest != 1:
        raise InvalidElectionError(f"{value} has no finite decimal form")
    places = max(twos, fives)
    digits = str(abs(value.numerator) * 10**places // value.denominator).rjust(places + 1, "0")
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def write_pabulib(
    instance: BudgetInstance,
    *,
    meta: Mapping[str, str],
    rule: str,
    selected: Collection[str] = (),
    names: Mapping[str, str] | None = None,
    threshold: Fraction | None = None,
) -> str:
    """A Pabulib file for ``instance``: ``meta`` gives the descriptive keys (description,
    country, unit, instance, date_begin, date_end, currency, ...); counts, budget, vote type,
    ballot limits, ``rule`` and the ``selected`` flags come from the arguments. Voters get
    ids 1, 2, ... in ballot order, one row per voter.
    """
    rules = instance.rules
    counted: dict[str, list[Fraction]] = {
        p.id: [Fraction(0), Fraction(0)] for p in instance.projects
    }
    for ballot in instance.ballots:
        for pid, weight in ballot.weights().items():
            counted[pid][0] += ballot.count
            counted[pid][1] += weight * ballot.count
    out = io.StringIO()
    # Project names and descriptions are people's text: guarded against spreadsheet formulas.
    writer = csv_writer(out, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["META"])
    writer.writerow(["key", "value"])
    fixed: dict[str, str] = {
        "num_projects": str(len(instance.projects)),
        "num_votes": str(instance.voters),
        "budget": format_amount(instance.budget),
        "vote_type": rules.vote_type,
        "rule": rule,
    }
    for key in _INT_LIMITS:
        if (limit := getattr(rules, key)) is not None:
            fixed[key] = str(limit)
    for key in AMOUNT_LIMITS:
        if (amount := getattr(rules, key)) is not None:
            fixed[key] = format_amount(amount)
    if threshold is not None:
        fixed["min_project_score_threshold"] = format_amount(threshold)
    for key, value in meta.items():
        if key not in fixed:
            writer.writerow([key, value])
    for key, value in fixed.items():
        writer.writerow([key, value])
    writer.writerow(["PROJECTS"])
    scored = rules.vote_type in ("cumulative", "ordinal")
    header = ["project_id", "cost", "votes"] + (["score"] if scored else []) + ["name", "selected"]
    writer.writerow(header)
    chosen = set(selected)
    for project in instance.projects:
        votes, score = counted[project.id]
        row = [project.id, format_amount(project.cost), format_amount(votes)]
        if scored:
            row.append(format_amount(score))
        name = (names or {}).get(project.id, project.name) or project.id
        writer.writerow([*row, name, "1" if project.id in chosen else "0"])
    writer.writerow(["VOTES"])
    writer.writerow(
        ["voter_id", "vote", "points"] if rules.vote_type == "cumulative" else ["voter_id", "vote"]
    )
    order = {p.id: k for k, p in enumerate(instance.projects)}
    voter = 0
    for ballot in instance.ballots:
        cells = _vote_cells(ballot, order)
        for _ in range(ballot.count):
            voter += 1
            writer.writerow([str(voter), *cells])
    return out.getvalue()


def _vote_cells(ballot: Ballot, order: Mapping[str, int]) -> list[str]:
    if isinstance(ballot, OrdinalBallot):
        return [",".join(ballot.ranking)]
    if isinstance(ballot, ApprovalBallot):
        return [",".join(sorted(ballot.projects, key=order.__getitem__))]
    # Pabulib lists cumulative votes by decreasing points.
    ranked = sorted(ballot.points.items(), key=lambda item: (-item[1], order[item[0]]))
    return [",".join(p for p, _ in ranked), ",".join(format_amount(v) for _, v in ranked)]
