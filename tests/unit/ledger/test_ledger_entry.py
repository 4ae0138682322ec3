"""Canonical JSON and the entry schema of both logs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from civicforum.ledger import entry as E

DAY = "2025-03-01"
H = "ab" * 32
T = "0123456789abcdef" * 2


def opened(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "v": 1,
        "type": "ballot.opened",
        "day": DAY,
        "ballot": "b1",
        "title": "Park",
        "method": "approval",
        "options": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}],
        "rules": {"seats": 1, "maxApprovals": 2},
        "eligibility": "members",
        "secret": True,
        "vote_changes": True,
    }
    return {**base, **overrides}


def test_canonical_json_is_sorted_compact_utf8() -> None:
    value = {"b": [1, 'é\n"\\', None, True], "a": {"z": -3, "y": "\u2028"}}
    data = E.canonical_json(value)
    assert (
        data
        == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert data.startswith(
        b'{"a":{"y":"\xe2\x80\xa8","z":-3},"b":[1,"\xc3\xa9\\n\\"\\\\",null,true]}'
    )
    assert E.parse_canonical(data) == value


@pytest.mark.parametrize(
    "bad",
    [1.5, float("nan"), 2**53, -(2**53), {1: "x"}, {"a": object()}, "\ud800", [1.0]],
)
def test_canonical_json_rejects(bad: Any) -> None:
    with pytest.raises(E.EntryError):
        E.canonical_json(bad, allow_floats=False)


def test_results_may_carry_floats() -> None:
    assert E.canonical_json({"x": 0.5, "y": [2.25]}) == b'{"x":0.5,"y":[2.25]}'
    with pytest.raises(E.EntryError):
        E.canonical_json({"x": float("inf")})
    with pytest.raises(E.EntryError, match="float is not allowed"):
        E.encode_entry({**opened(), "rules": {"seats": 1, "quota": 0.5}}, E.VOTE_LOG)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}',
        b'{"b":1,"a":2}',
        b'{"a":1,"a":1}',
        b'{"a":1.0}',
        b'{"a":NaN}',
        b'{"a":"\\u00e9"}',
        b'{"a":"\\ud800"}',
        b"\xff",
        b"{",
    ],
)
def test_parse_canonical_rejects_non_canonical(data: bytes) -> None:
    with pytest.raises(E.EntryError):
        E.parse_canonical(data)


def test_every_constructor_round_trips() -> None:
    made = {
        E.VOTE_LOG: [
            E.ballot_opened(
                ballot="b1",
                title="Park",
                method="irv",
                options=[("a", "A"), ("b", "B")],
                rules={"seats": 1, "maxRankingsAllowed": "max"},
                eligibility="members",
                secret=False,
                vote_changes=False,
                day=DAY,
            ),
            E.ballot_cast(ballot="b1", tracker=T, choice=[["a"], ("b",)], day=DAY, voter="u1"),
            E.ballot_cast(ballot="b1", tracker=T, choice=["a"], day=DAY),
            E.ballot_superseded(ballot="b1", tracker=T, day=DAY),
            E.ballot_closed(ballot="b1", cast=2, superseded=1, counted=1, roll=1, day=DAY),
            E.result_published(
                ballot="b1", result_sha256=H, checkpoint_size=5, checkpoint_root=H, day=DAY
            ),
        ],
        E.CIVIC_LOG: [
            E.proposal_revision(proposal="p1", revision=1, content_sha256=H, day=DAY),
            E.proposal_support(proposal="p1", supporter="s1", day=DAY),
            E.proposal_support(proposal="p1", supporter="s1", day=DAY, withdrawn=True),
            E.proposal_transition(
                proposal="p1", from_state="draft", to_state="open", reason="ok", day=DAY
            ),
            E.moderation_action(
                action_id="m1",
                item="comment:42",
                action="hide",
                reason="spam",
                previous="visible",
                new="hidden",
                moderator="mod",
                day=DAY,
            ),
        ],
    }
    for log, entries in made.items():
        for data in entries:
            value = E.decode_entry(data, log)
            assert E.encode_entry(value, log) == data
            assert value["v"] == E.SCHEMA_VERSION
    cast = E.decode_entry(made[E.VOTE_LOG][1], E.VOTE_LOG)
    assert cast["choice"] == [["a"], ["b"]] and cast["voter"] == "u1"
    assert len(E.new_tracker()) == 32 and E.new_tracker() != E.new_tracker()


@pytest.mark.parametrize(
    ("log", "value", "match"),
    [
        (E.VOTE_LOG, [], "object"),
        (E.VOTE_LOG, opened(v=2), "version"),
        (E.VOTE_LOG, opened(type="ballot.exploded"), "unknown entry type"),
        ("other", opened(), "unknown log"),
        (E.CIVIC_LOG, opened(), "unknown entry type"),
        (E.VOTE_LOG, opened(extra=1), "unknown"),
        (E.VOTE_LOG, {k: v for k, v in opened().items() if k != "title"}, "missing"),
        (E.VOTE_LOG, opened(ballot="b.1"), "ballot id"),
        (E.VOTE_LOG, opened(ballot="-b"), "ballot id"),
        (E.VOTE_LOG, opened(title=""), "text"),
        (E.VOTE_LOG, opened(title="x" * 501), "text"),
        (E.VOTE_LOG, opened(method="borda"), "method"),
        (E.VOTE_LOG, opened(options=[]), "options"),
        (E.VOTE_LOG, opened(options=[{"id": "a", "label": "A"}] * 2), "duplicate"),
        (E.VOTE_LOG, opened(options=[{"id": "a"}]), "missing"),
        (E.VOTE_LOG, opened(rules=[]), "rules"),
        (E.VOTE_LOG, opened(rules={"maxApprovals": 2}), "count"),
        (E.VOTE_LOG, opened(rules={"seats": 0}), "positive"),
        (E.VOTE_LOG, opened(rules={"seats": True}), "count"),
        (E.VOTE_LOG, opened(rules={"seats": 1, "x": None}), "rule x"),
        (E.VOTE_LOG, opened(rules={"seats": 1, "x": {}}), "rule x"),
        (E.VOTE_LOG, opened(rules={"seats": 1, "x": [1]}), "rule x"),
        (E.VOTE_LOG, opened(rules={"seats": 1, "x": 2**60}), "rule x"),
        (E.VOTE_LOG, opened(rules={"seats": 1, "maxApprovals": 0}), "positive"),
        (E.VOTE_LOG, opened(secret="yes"), "boolean"),
        (E.VOTE_LOG, opened(day="2025-02-30"), "day"),
        (E.VOTE_LOG, opened(day="2025-2-3"), "day"),
        (E.VOTE_LOG, opened(day=["2025-01-01"]), "day"),
        (E.VOTE_LOG, opened(day="2025-03-01T10:00"), "day"),
    ],
)
def test_schema_violations(log: str, value: Any, match: str) -> None:
    with pytest.raises(E.EntryError, match=match):
        E.validate_entry(value, log)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tracker": "XYZ"}, "tracker"),
        ({"choice": "a"}, "choice"),
        ({"choice": [["a"], "b"]}, "choice"),
        ({"choice": [[]]}, "choice"),
        ({"choice": ["a", "a"]}, "twice"),
        ({"choice": [["a"], ["b", "a"]]}, "twice"),
        ({"choice": ["a b"]}, "identifier"),
        ({"voter": ""}, "identifier"),
    ],
)
def test_cast_violations(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"ballot": "b1", "tracker": T, "choice": ["a"], "day": DAY, **kwargs}
    with pytest.raises(E.EntryError, match=match):
        E.ballot_cast(**args)


def test_other_violations() -> None:
    with pytest.raises(E.EntryError, match="count"):
        E.ballot_closed(ballot="b", cast=-1, superseded=0, counted=0, roll=0, day=DAY)
    with pytest.raises(E.EntryError, match="SHA-256"):
        E.proposal_revision(proposal="p", revision=1, content_sha256="AB" * 32, day=DAY)
    with pytest.raises(E.EntryError, match="positive"):
        E.result_published(
            ballot="b", result_sha256=H, checkpoint_size=0, checkpoint_root=H, day=DAY
        )
    huge = {**opened(), "options": [{"id": f"o{i}", "label": "x" * 500} for i in range(140)]}
    with pytest.raises(E.EntryError, match="larger"):
        E.encode_entry(huge, E.VOTE_LOG)
    with pytest.raises(E.EntryError, match="larger"):
        E.decode_entry(b" " * 70000, E.VOTE_LOG)


def test_shape_checks_reached_through_validate() -> None:
    closed = {"v": 1, "type": "ballot.closed", "day": DAY, "ballot": "b", "counts": []}
    with pytest.raises(E.EntryError, match="object"):
        E.validate_entry(closed, E.VOTE_LOG)
    cast = {"v": 1, "type": "ballot.cast", "day": DAY, "ballot": "b", "tracker": T, "choice": "a"}
    with pytest.raises(E.EntryError, match="choice"):
        E.validate_entry(cast, E.VOTE_LOG)
