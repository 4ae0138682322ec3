"""RCTab rule options beyond what its regression suite exercises, and the Java behaviour its
tie-breaks depend on (#16 item 2), and rules travelling with a file (#16 item 5)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from civicforum.tabulation import (
    Ballot,
    InvalidElectionError,
    Rules,
    TieBreakError,
    make_election,
    tabulate,
)
from civicforum.tabulation.cli import main
from civicforum.tabulation.javarandom import (
    JavaRandom,
    hashset_order,
    java_sorted,
    shuffle,
    string_hash,
)
from civicforum.tabulation.lot import AnsweredLot, JavaRandomLot
from civicforum.tabulation.rulesfile import RULES_FORMAT


def ranked(*groups: tuple[int, str]) -> list[Ballot]:
    return [Ballot(tuple(frozenset([c]) for c in marks), n) for n, marks in groups]


# -- java.util.Random and friends, against values the Java SE 17 runtime gives -----------------


def test_java_random_sequences() -> None:
    assert JavaRandom(0).next_int() == -1155484576
    assert JavaRandom(42).next_int() == -1170105035
    assert JavaRandom(0).next_double() == 0.730967787376657
    r = JavaRandom(42)
    assert [r.next_int(10) for _ in range(5)] == [0, 3, 8, 4, 0]
    with pytest.raises(ValueError):
        JavaRandom(1).next_int(0)


def test_shuffle_is_collections_shuffle() -> None:
    # Collections.shuffle(List.of("A".."E") as ArrayList, new Random(12345)) in Java 17.
    names = ["A", "B", "C", "D", "E"]
    shuffle(names, JavaRandom(12345))
    again = ["A", "B", "C", "D", "E"]
    shuffle(again, JavaRandom(12345))
    assert names == again and sorted(names) == ["A", "B", "C", "D", "E"]
    assert names != ["A", "B", "C", "D", "E"]


def test_string_order_and_hashes() -> None:
    assert string_hash("hello") == 99162322 and string_hash("") == 0
    assert string_hash("Aa") == string_hash("BB") == 2112
    # Java compares UTF-16 code units: a supplementary character sorts before U+FFFD.
    assert java_sorted(["\ufffd", "\U0001f600", "b", "B"]) == ["B", "b", "\U0001f600", "\ufffd"]
    assert sorted(["\ufffd", "\U0001f600"]) == ["\ufffd", "\U0001f600"]
    # new HashSet<>(["Aa", "BB", "C"]): buckets by (h ^ h >>> 16) & 15, collisions in order.
    assert hashset_order(["BB", "Aa", "C"]) == ["BB", "Aa", "C"]
    assert hashset_order(["C", "B", "A"]) == ["A", "B", "C"]


def test_java_random_lot_uses_the_tied_order() -> None:
    lot = JavaRandomLot(0)
    assert lot.choose(["A", "B", "C"], kind="eliminate", round_number=1) == "C"  # 0.73 * 3
    assert "randomSeed 0" in lot.describe()


# -- the minimum vote threshold -----------------------------------------------------------------


def test_minimum_vote_threshold_drops_everyone_below_at_once() -> None:
    rules = Rules(minimum_vote_threshold=3)
    ballots = ranked((6, "A"), (5, "BA"), (2, "CB"), (1, "DB"))
    result = tabulate(make_election("irv", "ABCD", ballots, rules))
    assert result.rounds[0].eliminated == ("C", "D")
    assert result.rounds[1].tally == {"B": 8, "A": 6}


def test_minimum_vote_threshold_raises_the_winning_threshold() -> None:
    ballots = ranked((10, "A"), (5, "B"), (1, "C"))
    plain = tabulate(make_election("irv", "ABC", ballots))
    assert plain.rounds[0].threshold == 9
    result = tabulate(make_election("irv", "ABC", ballots, Rules(minimum_vote_threshold=10)))
    assert result.rounds[0].threshold == 10 and result.rounds[0].elected == ("A",)


def test_everyone_below_the_minimum_stops_the_count() -> None:
    rules = Rules(minimum_vote_threshold=10)
    with pytest.raises(InvalidElectionError, match="below the minimumVoteThreshold"):
        tabulate(make_election("irv", "ABC", ranked((3, "A"), (2, "B"), (1, "C")), rules))


# -- answered ties (stopCountingAndAsk) ---------------------------------------------------------


def _tied() -> object:
    rules = Rules(tiebreak_mode="stopCountingAndAsk")
    return make_election("irv", "ABC", ranked((4, "A"), (2, "BA"), (2, "CA")), rules)


def test_ties_are_answered_in_order() -> None:
    with pytest.raises(TieBreakError, match=r"tie 1 \(round 1, whom to eliminate among B, C\)"):
        tabulate(_tied(), lot=AnsweredLot([]))  # type: ignore[arg-type]
    result = tabulate(_tied(), lot=AnsweredLot(["C"]))  # type: ignore[arg-type]
    assert result.rounds[0].eliminated == ("C",)
    assert "operator's answer" in result.tiebreaks[0].explanation
    with pytest.raises(TieBreakError, match="not among the tied"):
        tabulate(_tied(), lot=AnsweredLot(["A"]))  # type: ignore[arg-type]
    with pytest.raises(TieBreakError, match="needs the answer"):
        tabulate(_tied())  # type: ignore[arg-type]


def _write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


CSV = "Rank 1,Rank 2\nA,\nA,\nA,\nA,\nB,A\nB,A\nC,A\nC,A\n"


def test_cli_tiebreak_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "cvr.csv", CSV)
    rules = _write(
        tmp_path,
        "rules.json",
        {"format": RULES_FORMAT, "rules": {"tiebreakMode": "stopCountingAndAsk"}},
    )
    assert main([str(path), "--rules", str(rules)]) == 2
    assert "add --tiebreak-answer NAME" in capsys.readouterr().err
    assert main([str(path), "--rules", str(rules), "--tiebreak-answer", "B", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rounds"][0]["eliminated"] == ["B"] and result["winners"] == ["A"]
    args = ["--tiebreak-answer", "B", "--tiebreak-answer", "C"]
    assert main([str(path), "--rules", str(rules), *args]) == 2
    assert "2 --tiebreak-answer given, but the count asked for 1" in capsys.readouterr().err
    assert main([str(path), "--tiebreak-answer", "B"]) == 2
    assert "is for tiebreakMode" in capsys.readouterr().err


# -- rules files and flags ----------------------------------------------------------------------


def test_cli_method_and_seats_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "cvr.csv", CSV)
    assert main([str(path), "--seats", "2", "--seed", "aa", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "stv" and result["seats"] == 2 and len(result["winners"]) == 2
    assert main([str(path), "--method", "schulze", "--seed", "aa", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ranking"][0] == "A"
    assert main([str(path), "--seats", "0"]) == 2
    assert "--seats must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "must be a JSON object"),
        ({"rules": {}}, '"format" must be'),
        ({"format": RULES_FORMAT, "colour": 1}, "unknown key"),
        ({"format": RULES_FORMAT, "method": "borda"}, "unknown method"),
        ({"format": RULES_FORMAT, "rules": {"hareQuota": "yes"}}, "hareQuota must be true"),
        ({"format": RULES_FORMAT, "lot": {"seed": "zz"}}, "lot.seed"),
        ({"format": RULES_FORMAT, "lot": {"seed": "aa", "names": {"A": 1}}}, "lot.names"),
        ({"format": RULES_FORMAT, "lot": []}, '"lot" must be an object'),
        ("{", "invalid JSON"),
    ],
)
def test_bad_rules_files_exit_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: object, message: str
) -> None:
    path = _write(tmp_path, "cvr.csv", CSV)
    rules = _write(tmp_path, "rules.json", content)
    assert main([str(path), "--rules", str(rules)]) == 2
    err = capsys.readouterr()
    assert err.out == "" and message in err.err and str(rules) in err.err


def test_rctab_config_refuses_other_rule_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--rctab-config", "x.json", "--seats", "2"]) == 2
    assert "--rctab-config takes no FILE" in capsys.readouterr().err
    assert main([str(_write(tmp_path, "cvr.csv", CSV)), "--rctab-report"]) == 2
    assert main(["--rctab-config", str(tmp_path / "missing.json")]) == 2
    assert "cannot read file" in capsys.readouterr().err


def test_threshold_of_a_percentage_count_is_exact() -> None:
    rules = Rules(
        seats=0,
        winner_election_mode="bottomsUpUsingPercentageThreshold",
        bottoms_up_percentage=15,
        tiebreak_mode="useCandidateOrder",
    )
    ballots = ranked((9, "A"), (5, "B"), (4, "C"), (3, "D"), (3, "E"), (2, "F"), (1, "G"))
    result = tabulate(make_election("stv", "ABCDEFG", ballots, rules))
    # 15 % of the active votes each round, exactly (27 * 0.15 = 4.05, then 26 * 0.15 ...).
    assert [r.threshold for r in result.rounds] == [
        Decimal("4.05"),
        Decimal("3.9"),
        Decimal("3.6"),
        Decimal("3.15"),
        Decimal("2.7"),
    ]
    assert [r.eliminated for r in result.rounds] == [("G",), ("F",), ("E",), ("D",), ()]
    assert result.winners == ("A", "B", "C")


def test_previous_round_counts_then_ask() -> None:
    rules = Rules(tiebreak_mode="previousRoundCountsThenAsk")
    ballots = ranked((5, "A"), (3, "B"), (2, "C"), (1, "DC"), (1, "E"))
    election = make_election("irv", "ABCDE", ballots, rules)
    # Round 1: D and E tie at 1 with no earlier round, so the operator answers (E).
    # Round 3: B and C tie at 3; in round 2 C had fewer, so C goes without asking.
    result = tabulate(election, lot=AnsweredLot(["E"]))
    assert [r.eliminated for r in result.rounds] == [("E",), ("D",), ("C",), ()]
    assert "operator's answer" in result.tiebreaks[0].explanation
    assert "previous round counts" in result.tiebreaks[1].explanation
    with pytest.raises(TieBreakError, match="needs an answer"):
        tabulate(election, lot=AnsweredLot([]))


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_ess_row_elements_are_counted_as_rctab_does(prefix: str) -> None:
    from civicforum.tabulation.rctab.readers import _row_count

    p = prefix
    sheet = (
        f'<{p}worksheet xmlns:x="s"><{p}dimension ref="A1:C5"/><{p}sheetData>'
        f'<{p}row r="1"><{p}c r="A1"/></{p}row><{p}row r="2"/>'  # header, then an empty row
        f'<{p}row r="4" spans="1:3"><{p}c r="A4"/></{p}row>'  # row 3 is absent: not a record
        f'<{p}row r="5" s="1" customFormat="1"/>'  # a styled empty row at the end
        f"</{p}sheetData><{p}rowBreaks><{p}brk/></{p}rowBreaks></{p}worksheet>"
    ).encode()
    assert _row_count(sheet, 0) == 4
    assert _row_count(sheet, 1) == 3  # below the header row
    assert _row_count(sheet, 3) == 2  # from row 4 on
    assert _row_count(sheet, 5) == 0
