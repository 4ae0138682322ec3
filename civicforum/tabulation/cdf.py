"""NIST SP 1500-103 cast vote record reports (JSON and XML), read the way RCTab reads them.

A report is turned into one contest's marks per cast vote record: each ``CVRContestSelection``
of the record's current snapshot names a ``ContestSelection``, which names a candidate (or is a
write-in, counted for the undeclared write-in pseudo-candidate); its ranks come from the
selection's ``Rank`` or from each ``SelectionPosition``'s ``Rank``. A position with
``HasIndication`` or ``IsAllocable`` "no" is not a mark; a position with a ``CVRWriteIn`` is a
write-in. In XML, selections with ``Status`` "needs-adjudication" are skipped and a record
without the contest is not a ballot of it (RCTab's two readers differ there; both are kept).

The XML form is mapped onto the JSON one: element names are the JSON keys, ``ObjectId`` becomes
``@id`` and ``xsi:type`` becomes ``@type``.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from civicforum.tabulation.errors import InputFormatError
from civicforum.tabulation.types import OVERVOTE

UNDECLARED_WRITE_INS = "Undeclared Write-ins"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


@dataclass(frozen=True, slots=True)
class CdfContest:
    """One contest of a report: its selections as candidate labels, in ballot order."""

    id: str
    name: str
    # ContestSelection @id -> candidate name, UNDECLARED_WRITE_INS, or why it names none
    labels: dict[str, str | InputFormatError]
    number_elected: int | None
    votes_allowed: int | None
    vote_variation: str | None
    other_vote_variation: str | None


def load_report(path: str | os.PathLike[str], data: bytes) -> tuple[Mapping[str, Any], bool]:
    """The report as JSON-shaped data, and whether it was XML (decided by content)."""
    name = os.fspath(path)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return _from_xml(data, name), True
    try:
        report = json.loads(data.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise InputFormatError("not valid UTF-8", path=name) from None
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"invalid JSON: {exc.msg}", line=exc.lineno, path=name) from None
    except RecursionError:
        raise InputFormatError("JSON nested too deeply", path=name) from None
    if not isinstance(report, Mapping):
        raise InputFormatError("a cast vote record report must be a JSON object", path=name)
    return report, False


def _from_xml(data: bytes, name: str) -> dict[str, Any]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputFormatError(f"invalid XML: {exc}", line=exc.position[0], path=name) from None
    out = _element(root)
    if not isinstance(out, dict):
        raise InputFormatError("the XML report is empty", path=name)
    return out


#: Elements that may repeat: always lists, as in the JSON form, even when there is one.
_LISTS = frozenset(
    {
        "BallotImage",
        "Candidate",
        "CandidateIds",
        "Code",
        "Contest",
        "ContestSelection",
        "CVR",
        "CVRContest",
        "CVRContestSelection",
        "CVRSnapshot",
        "CVRWriteIn",
        "Election",
        "GpUnit",
        "Party",
        "ReportGeneratingDeviceIds",
        "ReportingDevice",
        "ReportType",
        "SelectionPosition",
    }
)


def _element(element: ET.Element) -> Any:
    children = list(element)
    if not children and not element.attrib:
        return (element.text or "").strip()
    out: dict[str, Any] = {}
    for key, value in element.attrib.items():
        if key == "ObjectId":
            out["@id"] = value
        elif key == _XSI_TYPE:
            out["@type"] = value
    for child in children:
        tag = child.tag.rsplit("}", 1)[-1]
        value = _element(child)
        if tag in _LISTS:
            out.setdefault(tag, []).append(value)
        else:
            out[tag] = value
    return out


def items(value: Any, what: str, name: str) -> list[Any]:
    """A list of the report; None is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputFormatError(f"{what} must be a list", path=name)
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int(value: Any, what: str, name: str) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise InputFormatError(f"{what} must be a whole number, not {value!r}", path=name)


def contests(report: Mapping[str, Any], name: str) -> list[CdfContest]:
    """Every contest of every Election, with candidate names resolved."""
    candidates: dict[Any, Any] = {}
    elections = items(report.get("Election"), "Election", name)
    if not elections:
        raise InputFormatError("no Election in the cast vote record report", path=name)
    for election in elections:
        if not isinstance(election, Mapping):
            raise InputFormatError("an Election must be an object", path=name)
        for candidate in items(election.get("Candidate"), "Candidate", name):
            if not isinstance(candidate, Mapping):
                raise InputFormatError("a Candidate must be an object", path=name)
            key = candidate.get("@id")
            if key in candidates:
                raise InputFormatError(f"Candidate {key!r} appears twice", path=name)
            candidates[key] = candidate.get("Name")
    found: list[CdfContest] = []
    for election in elections:
        for contest in items(election.get("Contest"), "Contest", name):
            if not isinstance(contest, Mapping):
                raise InputFormatError("a Contest must be an object", path=name)
            found.append(_contest(contest, candidates, name))
    return found


def _contest(contest: Mapping[str, Any], candidates: Mapping[Any, Any], name: str) -> CdfContest:
    labels: dict[str, str | InputFormatError] = {}
    for selection in items(contest.get("ContestSelection"), "ContestSelection", name):
        if not isinstance(selection, Mapping):
            raise InputFormatError("a ContestSelection must be an object", path=name)
        key = _text(selection.get("@id"))
        if key is None or key in labels:
            raise InputFormatError(f"ContestSelection {key!r} is missing or repeated", path=name)
        if _text(selection.get("IsWriteIn")) == "true":
            labels[key] = UNDECLARED_WRITE_INS
            continue
        # A selection that names no usable candidate is an error only if a record marks it
        # (RCTab checks per record; reports carry contests and selections nobody counts).
        ids = items(selection.get("CandidateIds"), "CandidateIds", name)
        if not ids:
            labels[key] = InputFormatError(
                f"ContestSelection {key!r} has no CandidateIds", path=name
            )
            continue
        label = candidates.get(ids[0])
        if not isinstance(label, str) or not label.strip():
            labels[key] = InputFormatError(
                f"ContestSelection {key!r} names candidate {ids[0]!r}, which has no name",
                path=name,
            )
            continue
        labels[key] = label
    elected, allowed = contest.get("NumberElected"), contest.get("VotesAllowed")
    return CdfContest(
        id=_text(contest.get("@id")) or "",
        name=_text(contest.get("Name")) or "",
        labels=labels,
        number_elected=None if elected is None else _int(elected, "NumberElected", name),
        votes_allowed=None if allowed is None else _int(allowed, "VotesAllowed", name),
        vote_variation=_text(contest.get("VoteVariation")),
        other_vote_variation=_text(contest.get("OtherVoteVariation")),
    )


def cvr_marks(
    report: Mapping[str, Any],
    contest: CdfContest,
    *,
    name: str,
    xml: bool,
    overvote_label: str | None = None,
    ranked: bool = True,
) -> Iterator[tuple[list[tuple[int, str]], str]]:
    """Each cast vote record of ``contest`` as its (rank, label) marks and a name for errors.

    ``overvote_label`` is a candidate name that stands for an overvote (RCTab's setting).
    Unranked (approval) contests put every mark at rank 1.
    """
    for number, cvr in enumerate(items(report.get("CVR"), "CVR", name), 1):
        where = f"{name}: CVR {number}: "
        if not isinstance(cvr, Mapping):
            raise InputFormatError(f"CVR {number} must be an object", path=name)
        chosen = None
        current = cvr.get("CurrentSnapshotId")
        for snapshot in items(cvr.get("CVRSnapshot"), "CVRSnapshot", name):
            if isinstance(snapshot, Mapping) and snapshot.get("@id") == current:
                chosen = snapshot
                break
        if chosen is None:
            raise InputFormatError(f"{where}its CurrentSnapshotId {current!r} names no snapshot")
        record = None
        for cvr_contest in items(chosen.get("CVRContest"), "CVRContest", name):
            if isinstance(cvr_contest, Mapping) and cvr_contest.get("ContestId") == contest.id:
                record = cvr_contest
                break
        if record is None:
            continue  # no ballot of this contest on this record
        marks: list[tuple[int, str]] = []
        selections = items(record.get("CVRContestSelection"), "CVRContestSelection", name)
        for selection in selections:
            if not isinstance(selection, Mapping):
                raise InputFormatError(f"{where}a CVRContestSelection must be an object")
            if xml and selection.get("Status") == "needs-adjudication":
                continue
            key = _text(selection.get("ContestSelectionId"))
            label = contest.labels.get(key or "")
            if label is None:
                raise InputFormatError(f"{where}unknown ContestSelectionId {key!r}")
            if isinstance(label, InputFormatError):
                raise label
            if label == overvote_label:
                label = OVERVOTE
            if "Rank" in selection:
                marks.append((_int(selection["Rank"], f"{where}Rank", name), label))
                continue
            positions = items(selection.get("SelectionPosition"), "SelectionPosition", name)
            for position in positions:
                if not isinstance(position, Mapping):
                    raise InputFormatError(f"{where}a SelectionPosition must be an object")
                mark = UNDECLARED_WRITE_INS if position.get("CVRWriteIn") is not None else label
                if _text(position.get("HasIndication")) == "no":
                    continue
                if _text(position.get("IsAllocable")) == "no":
                    continue
                rank = position.get("Rank")
                if rank is None and not ranked:
                    rank = 1
                if rank is None:
                    raise InputFormatError(f"{where}a marked SelectionPosition has no Rank")
                marks.append((_int(rank, f"{where}Rank", name), mark))
        yield marks, where
