"""Ledger entries: canonical JSON bytes and the schema of both logs.

An entry is a JSON object ``{"v": 1, "type": ..., ...}`` encoded canonically: keys sorted, no
insignificant whitespace, UTF-8 (not ASCII-escaped), integers only (no floats, |i| < 2**53).
Exactly ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``; for this
value space (ASCII keys, safe integers) it coincides with RFC 8785 (JCS). The leaf hashed into the
Merkle tree is these bytes. ``docs/ledger.md`` is the normative description of every type.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

SCHEMA_VERSION: Final = 1
VOTE_LOG: Final = "votes"
CIVIC_LOG: Final = "civic"
LOGS: Final = (VOTE_LOG, CIVIC_LOG)
MAX_SAFE_INT: Final = (1 << 53) - 1
MAX_ENTRY_BYTES: Final = 65535  # one tlog-tiles entry bundle slot (uint16 length prefix)

METHODS: Final = ("approval", "irv", "stv", "schulze", "budget")
APPROVAL_METHODS: Final = frozenset({"approval"})
"""Methods whose choice is a set of option ids; the ranked methods take a ranking."""
BUDGET_METHOD: Final = "budget"
"""A participatory budget: options are projects with a cost, the rules name the budget, the
vote type (Pabulib's) and the allocation rule; the choice's shape follows the vote type."""

JSON = Any


class EntryError(ValueError):
    """An entry is not canonical JSON or does not follow the schema."""


# --------------------------------------------------------------------------- canonical JSON


def _reject_float(text: str) -> Any:
    raise EntryError(f"floats are not allowed in ledger entries ({text})")


def _reject_constant(text: str) -> Any:
    raise EntryError(f"{text} is not JSON")


_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_decoder = json.JSONDecoder(parse_float=_reject_float, parse_constant=_reject_constant)


def _check_value(value: JSON, floats: bool = False) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if floats and isinstance(value, float):
        if not math.isfinite(value):
            raise EntryError("NaN and infinities are not JSON")
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise EntryError("integer outside ±(2**53 - 1)")
        return
    if isinstance(value, list):
        for item in value:
            _check_value(item, floats)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EntryError("object keys must be strings")
            _check_value(item, floats)
        return
    raise EntryError(f"{type(value).__name__} is not allowed in ledger entries")


def canonical_json(value: JSON, *, allow_floats: bool = True) -> bytes:
    """The canonical encoding of a JSON value (see the module docstring).

    Published results may hold floats (fractional STV transfers), written as Python's shortest
    round-trip ``repr``. Entries never do: :func:`encode_entry` passes ``allow_floats=False``.
    """
    _check_value(value, allow_floats)
    try:
        return _encoder.encode(value).encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates
        raise EntryError("strings must be valid Unicode") from exc


def parse_canonical(data: bytes) -> JSON:
    """Decode JSON bytes and insist they are already canonical (so the leaf hash is unique)."""
    try:
        value = _decoder.decode(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EntryError(f"not JSON: {exc}") from exc
    # Re-encoding also rejects duplicate keys, whitespace and non-canonical escapes. The decoder
    # only yields JSON types and floats were refused, so the value checks of canonical_json are
    # skipped here (integer ranges are checked by the schema): this is the auditor's hot path.
    try:
        encoded = _encoder.encode(value).encode("utf-8")
    except UnicodeEncodeError as exc:  # an escaped lone surrogate
        raise EntryError("strings must be valid Unicode") from exc
    if encoded != data:
        raise EntryError("JSON is not in canonical form")
    return value


# --------------------------------------------------------------------------- field checks

_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_SAFE_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TRACKER = re.compile(r"[0-9a-f]{32}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# An exact amount (a cost, a budget, a points limit): a non-negative decimal, no exponent.
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?")

Check = Callable[[JSON], None]


def _fail(what: str, value: JSON) -> EntryError:
    return EntryError(f"invalid {what}: {value!r}"[:200])


def _ident(value: JSON) -> None:
    if not isinstance(value, str) or not _IDENT.fullmatch(value):
        raise _fail("identifier", value)


def _file_ident(value: JSON) -> None:
    # Ballot ids name files in exports (results/<ballot>.json): no dots, slashes or colons.
    if not isinstance(value, str) or not _SAFE_IDENT.fullmatch(value):
        raise _fail("ballot id", value)


def _text(limit: int) -> Check:
    def check(value: JSON) -> None:
        if not isinstance(value, str) or not 0 < len(value) <= limit:
            raise _fail("text", value)

    return check


def _bool(value: JSON) -> None:
    if not isinstance(value, bool):
        raise _fail("boolean", value)


def _count(value: JSON) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SAFE_INT:
        raise _fail("count", value)


def _positive(value: JSON) -> None:
    _count(value)
    if value == 0:
        raise _fail("positive integer", value)


def _hex64(value: JSON) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise _fail("SHA-256 hex", value)


def _tracker(value: JSON) -> None:
    if not isinstance(value, str) or not _TRACKER.fullmatch(value):
        raise _fail("tracker", value)


_DAYS_SEEN: set[str] = set()  # a log has few distinct days; skip re-parsing them


def _day(value: JSON) -> None:
    if isinstance(value, str) and value in _DAYS_SEEN:
        return
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise _fail("day", value)
    try:
        dt.date.fromisoformat(value)
    except ValueError as exc:
        raise _fail("day", value) from exc
    if len(_DAYS_SEEN) < 100_000:
        _DAYS_SEEN.add(value)


def _object(fields: Mapping[str, Check], optional: Mapping[str, Check] | None = None) -> Check:
    checks = {**(optional or {}), **fields}
    required = frozenset(fields)
    allowed = frozenset(checks)

    def check(value: JSON) -> None:
        if not isinstance(value, dict):
            raise _fail("object", value)
        keys = value.keys()
        if not (required <= keys and keys <= allowed):
            missing, unknown = sorted(required - keys), sorted(keys - allowed)
            raise EntryError(f"fields missing {missing} / unknown {unknown}")
        for key, item in value.items():
            checks[key](item)

    return check


def _method(value: JSON) -> None:
    if value not in METHODS:
        raise _fail("method", value)


def _amount(value: JSON) -> None:
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        raise _fail("amount", value)


def _options(value: JSON) -> None:
    if not isinstance(value, list) or not value:
        raise _fail("options", value)
    check = _object({"id": _ident, "label": _text(500)}, {"cost": _amount})
    for option in value:
        check(option)
    ids = [o["id"] for o in value]
    if len(set(ids)) != len(ids):
        raise _fail("options (duplicate id)", ids)


def _rules(value: JSON) -> None:
    """The tabulation rules object (``civicforum.tabulation`` RCTab-style keys) plus ``seats``."""
    if not isinstance(value, dict):
        raise _fail("rules", value)
    for key, item in value.items():
        _ident(key)
        if item is None or isinstance(item, dict):
            raise _fail(f"rule {key}", item)
        if isinstance(item, int) and not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
            raise _fail(f"rule {key}", item)
        if isinstance(item, list) and not all(isinstance(i, str) for i in item):
            raise _fail(f"rule {key}", item)
    if "seats" in value:
        _positive(value["seats"])
    if "maxApprovals" in value:
        _positive(value["maxApprovals"])


def _points_pair(value: JSON) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
        and 0 < value[1] <= MAX_SAFE_INT
    )


def _choice(value: JSON) -> None:
    """Approval: a list of option ids. Ranked: a list of positions, each a list of option ids.
    Cumulative (budget): a list of [option id, points] pairs, points a positive integer."""
    if not isinstance(value, list):
        raise _fail("choice", value)
    if all(isinstance(v, str) for v in value):
        flat = value
    elif value and all(_points_pair(v) for v in value):
        flat = [pair[0] for pair in value]
    elif all(isinstance(v, list) and v and all(isinstance(o, str) for o in v) for v in value):
        flat = [o for position in value for o in position]
    else:
        raise _fail("choice", value)
    for option in flat:
        _ident(option)
    if len(set(flat)) != len(flat):
        raise _fail("choice (an option appears twice)", value)


def _checkpoint_ref(value: JSON) -> None:
    _object({"size": _positive, "root": _hex64})(value)


def _electorate(value: JSON) -> None:
    _object({"size": _count, "root": _hex64})(value)


def _feasibility(value: JSON) -> None:
    if value not in ("feasible", "infeasible"):
        raise _fail("feasibility outcome", value)


def _counts(value: JSON) -> None:
    _object({"cast": _count, "superseded": _count, "counted": _count, "roll": _count})(value)


COMMON: Final[Mapping[str, Check]] = {"v": lambda v: None, "type": lambda v: None, "day": _day}

VOTE_TYPES: Final[Mapping[str, tuple[Mapping[str, Check], Mapping[str, Check]]]] = {
    "ballot.opened": (
        {
            "ballot": _file_ident,
            "title": _text(500),
            "method": _method,
            "options": _options,
            "rules": _rules,
            "eligibility": _text(500),
            "secret": _bool,
            "vote_changes": _bool,
        },
        # Every ballot opened since the electorate was frozen at opening carries its
        # commitment; its absence marks a ballot from before (older replay rules, §1.3).
        {"electorate": _electorate},
    ),
    "ballot.cast": (
        {"ballot": _file_ident, "tracker": _tracker, "choice": _choice},
        {"voter": _ident},
    ),
    "ballot.superseded": ({"ballot": _file_ident, "tracker": _tracker}, {}),
    "ballot.closed": ({"ballot": _file_ident, "counts": _counts}, {}),
    "result.published": (
        {"ballot": _file_ident, "result_sha256": _hex64, "checkpoint": _checkpoint_ref},
        {},
    ),
}

CIVIC_TYPES: Final[Mapping[str, tuple[Mapping[str, Check], Mapping[str, Check]]]] = {
    "proposal.revision": (
        {"proposal": _ident, "revision": _positive, "content_sha256": _hex64},
        {},
    ),
    "proposal.support": ({"proposal": _ident, "supporter": _ident}, {}),
    "proposal.support_withdrawn": ({"proposal": _ident, "supporter": _ident}, {}),
    "proposal.transition": (
        {"proposal": _ident, "from": _ident, "to": _ident, "reason": _text(2000)},
        {},
    ),
    "moderation.action": (
        {
            "action_id": _ident,
            "item": _ident,
            "action": _ident,
            "reason": _text(2000),
            "previous": _ident,
            "new": _ident,
            "moderator": _ident,
        },
        {},
    ),
    # Participatory budgets: a project entered (directly or from a proposal), and its
    # feasibility review: the confirmed cost, or the public reason it cannot be built.
    "budget.project": (
        {"budget": _ident, "project": _ident, "title": _text(500)},
        {"cost": _amount, "proposal": _ident},
    ),
    "budget.review": (
        {"budget": _ident, "project": _ident, "outcome": _feasibility, "reason": _text(2000)},
        {"cost": _amount},
    ),
}

SCHEMAS: Final = {VOTE_LOG: VOTE_TYPES, CIVIC_LOG: CIVIC_TYPES}

BUDGET_RULES: Final = {
    "budget": _amount,
    "voteType": _ident,
    "rule": lambda v: _text(64)(v),
}
BUDGET_LIMITS: Final = {
    "minLength": _count,
    "maxLength": _count,
    "minSumCost": _amount,
    "maxSumCost": _amount,
    "minPoints": _amount,
    "maxPoints": _amount,
    "minSumPoints": _amount,
    "maxSumPoints": _amount,
    "threshold": _amount,
    "currency": _ident,  # ISO 4217, for display and exports
}


def _opened_fields(value: dict[str, JSON]) -> None:
    """What ``ballot.opened``'s fields say of each other: a budget ballot's options all have
    a cost and its rules name the budget, the vote type and the allocation rule (and only
    budget limits); any other ballot has no costs and a number of seats."""
    rules, options = value["rules"], value["options"]
    if value["method"] == BUDGET_METHOD:
        if not all("cost" in option for option in options):
            raise EntryError("every option of a budget ballot has a cost")
        _object(BUDGET_RULES, BUDGET_LIMITS)(rules)
        return
    if any("cost" in option for option in options):
        raise EntryError("only budget ballots give options a cost")
    _positive(rules.get("seats"))


def _review_fields(value: dict[str, JSON]) -> None:
    """A feasible project has its confirmed cost; an infeasible one has none."""
    if (value["outcome"] == "feasible") != ("cost" in value):
        raise EntryError("a feasible project has a confirmed cost, an infeasible one none")


_CROSS_CHECKS: Final = {
    (VOTE_LOG, "ballot.opened"): _opened_fields,
    (CIVIC_LOG, "budget.review"): _review_fields,
}
_CHECKERS: Final = {
    log: {kind: _object({**COMMON, **req}, opt) for kind, (req, opt) in types.items()}
    for log, types in SCHEMAS.items()
}


def validate_entry(value: JSON, log: str) -> dict[str, JSON]:
    """Check ``value`` against the schema of ``log``; return it as a dict."""
    if not isinstance(value, dict):
        raise EntryError("an entry is a JSON object")
    if value.get("v") != SCHEMA_VERSION:
        raise EntryError(f"unsupported schema version {value.get('v')!r}")
    kind = value.get("type")
    checkers = _CHECKERS.get(log)
    if checkers is None:
        raise EntryError(f"unknown log {log!r}")
    if not isinstance(kind, str) or kind not in checkers:
        raise EntryError(f"unknown entry type {kind!r} for the {log} log")
    checkers[kind](value)
    cross = _CROSS_CHECKS.get((log, kind))
    if cross is not None:
        cross(value)
    return value


def encode_entry(value: Mapping[str, JSON], log: str) -> bytes:
    """Validate and canonically encode an entry; the result is the Merkle leaf."""
    data = canonical_json(validate_entry(dict(value), log), allow_floats=False)
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError("entry larger than 65535 bytes")
    return data


def decode_entry(data: bytes, log: str) -> dict[str, JSON]:
    """Parse leaf bytes, requiring canonical form and a valid schema."""
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError("entry larger than 65535 bytes")
    return validate_entry(parse_canonical(data), log)


def new_tracker() -> str:
    """A fresh random 128-bit ballot tracker (lowercase hex): the voter's only receipt handle."""
    return secrets.token_hex(16)


# --------------------------------------------------------------------------- constructors


def _entry(kind: str, day: str, **fields: JSON) -> dict[str, JSON]:
    return {"v": SCHEMA_VERSION, "type": kind, "day": day, **fields}


def ballot_opened(
    *,
    ballot: str,
    title: str,
    method: str,
    options: Sequence[tuple[str, str]] | Sequence[tuple[str, str, str]],
    rules: Mapping[str, JSON],
    eligibility: str,
    secret: bool,
    vote_changes: bool,
    day: str,
    electorate: tuple[int, str] | None = None,
) -> bytes:
    """``ballot.opened``: the full ballot definition, fixed before the first vote, and the
    commitment to its frozen electorate (size, root hex; ``ledger.electorate``)."""
    fields: dict[str, JSON] = {
        "ballot": ballot,
        "title": title,
        "method": method,
        "options": [_option(*option) for option in options],
        "rules": dict(rules),
        "eligibility": eligibility,
        "secret": secret,
        "vote_changes": vote_changes,
    }
    if electorate is not None:
        fields["electorate"] = {"size": electorate[0], "root": electorate[1]}
    return encode_entry(_entry("ballot.opened", day, **fields), VOTE_LOG)


def _option(option_id: str, label: str, cost: str | None = None) -> dict[str, JSON]:
    """An option of ``ballot.opened``: id and label, and a budget project's cost."""
    found: dict[str, JSON] = {"id": option_id, "label": label}
    if cost is not None:
        found["cost"] = cost
    return found


def ballot_cast(
    *, ballot: str, tracker: str, choice: Sequence[Any], day: str, voter: str | None = None
) -> bytes:
    """``ballot.cast``: ``voter`` is given only for public ballots (never for secret ones)."""
    if isinstance(choice, str):
        raise EntryError("a choice is a list, not a string")
    choice_json = [list(p) if not isinstance(p, str) else p for p in choice]
    fields: dict[str, JSON] = {"ballot": ballot, "tracker": tracker, "choice": choice_json}
    if voter is not None:
        fields["voter"] = voter
    return encode_entry(_entry("ballot.cast", day, **fields), VOTE_LOG)


def ballot_superseded(*, ballot: str, tracker: str, day: str) -> bytes:
    """``ballot.superseded``: the ballot with this tracker was replaced by a later vote of the
    same voter. Appended when the ballot closes, after all its casts, never next to the
    replacing cast (which nothing in the log points to)."""
    return encode_entry(_entry("ballot.superseded", day, ballot=ballot, tracker=tracker), VOTE_LOG)


def ballot_closed(
    *, ballot: str, cast: int, superseded: int, counted: int, roll: int, day: str
) -> bytes:
    """``ballot.closed``: counts; the sequencer signs a checkpoint right after this entry."""
    counts = {"cast": cast, "superseded": superseded, "counted": counted, "roll": roll}
    return encode_entry(_entry("ballot.closed", day, ballot=ballot, counts=counts), VOTE_LOG)


def result_published(
    *, ballot: str, result_sha256: str, checkpoint_size: int, checkpoint_root: str, day: str
) -> bytes:
    """``result.published``: hash of the result JSON and the checkpoint whose root seeded lots."""
    return encode_entry(
        _entry(
            "result.published",
            day,
            ballot=ballot,
            result_sha256=result_sha256,
            checkpoint={"size": checkpoint_size, "root": checkpoint_root},
        ),
        VOTE_LOG,
    )


def proposal_revision(*, proposal: str, revision: int, content_sha256: str, day: str) -> bytes:
    """``proposal.revision``: revisions are numbered 1, 2, ... per proposal."""
    return encode_entry(
        _entry(
            "proposal.revision",
            day,
            proposal=proposal,
            revision=revision,
            content_sha256=content_sha256,
        ),
        CIVIC_LOG,
    )


def proposal_support(*, proposal: str, supporter: str, day: str, withdrawn: bool = False) -> bytes:
    """``proposal.support`` or ``proposal.support_withdrawn`` by a pseudonymous handle."""
    kind = "proposal.support_withdrawn" if withdrawn else "proposal.support"
    return encode_entry(_entry(kind, day, proposal=proposal, supporter=supporter), CIVIC_LOG)


def proposal_transition(
    *, proposal: str, from_state: str, to_state: str, reason: str, day: str
) -> bytes:
    """``proposal.transition``: a lifecycle change; ``from`` must be the current state."""
    return encode_entry(
        _entry(
            "proposal.transition",
            day,
            proposal=proposal,
            reason=reason,
            **{"from": from_state, "to": to_state},
        ),
        CIVIC_LOG,
    )


def moderation_action(
    *,
    action_id: str,
    item: str,
    action: str,
    reason: str,
    previous: str,
    new: str,
    moderator: str,
    day: str,
) -> bytes:
    """``moderation.action``: ``item`` is a reference such as ``comment:42``."""
    return encode_entry(
        _entry(
            "moderation.action",
            day,
            action_id=action_id,
            item=item,
            action=action,
            reason=reason,
            previous=previous,
            new=new,
            moderator=moderator,
        ),
        CIVIC_LOG,
    )


def budget_project(
    *,
    budget: str,
    project: str,
    title: str,
    cost: str | None,
    proposal: str | None,
    day: str,
) -> bytes:
    """``budget.project``: a project entered in a participatory budget (its requested cost,
    and the proposal it came from)."""
    optional = {k: v for k, v in (("cost", cost), ("proposal", proposal)) if v is not None}
    return encode_entry(
        _entry("budget.project", day, budget=budget, project=project, title=title, **optional),
        CIVIC_LOG,
    )


def budget_review(
    *, budget: str, project: str, feasible: bool, cost: str | None, reason: str, day: str
) -> bytes:
    """``budget.review``: a project found feasible at a confirmed cost, or not, with a reason."""
    fields: dict[str, JSON] = {"budget": budget, "project": project, "reason": reason}
    fields["outcome"] = "feasible" if feasible else "infeasible"
    if feasible:
        fields["cost"] = cost
    return encode_entry(_entry("budget.review", day, **fields), CIVIC_LOG)
