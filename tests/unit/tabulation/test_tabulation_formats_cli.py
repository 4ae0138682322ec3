"""File readers and the ``tabulate`` command: good files, and bad ones failing cleanly."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from tabulation_corpus import CORPUS, load_case

from civicforum.tabulation import (
    OVERVOTE,
    InputFormatError,
    SeededLot,
    election_from_json,
    make_election,
    tabulate,
)
from civicforum.tabulation.cli import main
from civicforum.tabulation.formats import read_blt, read_csv, read_election

CSV = """\
Ballot ID,Rank 1,Rank 2,Rank 3,Count
1,Alice,Bob,,2
2,"Smith, Jo",Alice,Bob,1
3,"Bob
Alice",Carol,,1
4,overvote,Carol,,1
5,,,,1
6,Carol,undervote,Alice,3
"""

BLT = """\
4 2
-4
# a comment line
3 1 2 0
2 2 1 0
1 3 1=2 - 4 0
(b7) 1 4 0
0
"Ann"
"Ben"
"Cat"
"Dan"
"Title"
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_csv_reader(tmp_path: Path) -> None:
    election = read_csv(write(tmp_path, "cvr.csv", CSV))
    assert election.options == ("Alice", "Bob", "Carol", "Smith, Jo")
    assert election.total_ballots == 9
    got = {b.ranking: b.count for b in election.ballots}
    assert got[(frozenset(["Alice"]), frozenset(["Bob"]))] == 2
    assert got[(frozenset(["Alice", "Bob"]), frozenset(["Carol"]))] == 1
    assert got[(frozenset([OVERVOTE]), frozenset(["Carol"]))] == 1
    assert got[(frozenset(["Carol"]), frozenset(), frozenset(["Alice"]))] == 3
    assert got[()] == 1


def test_plain_csv_reader_matches_the_general_one(tmp_path: Path) -> None:
    rows = ["Rank 1,Rank 2,Rank 3", "A,B,", "B,,A", "B,,A", "", "A,B,", '"C",A,B']
    plain = read_csv(write(tmp_path, "plain.csv", "\n".join(rows) + "\n"))
    crlf = read_csv(write(tmp_path, "crlf.csv", "\r\n".join(rows) + "\r\n"))
    assert plain == crlf
    assert plain.total_ballots == 5
    assert tabulate(plain).winners == ("A",)


def test_blt_reader(tmp_path: Path) -> None:
    election = read_blt(write(tmp_path, "e.blt", BLT))
    assert election.method == "stv" and election.rules.seats == 2
    assert election.options == ("Ann", "Ben", "Cat")  # Dan withdrawn
    got = {b.ranking: b.count for b in election.ballots}
    assert got[(frozenset(["Cat"]), frozenset(["Ann", "Ben"]))] == 1  # "- 4" dropped
    assert got[(frozenset(["Ann"]), frozenset(["Ben"]))] == 3
    assert got[()] == 1  # only a withdrawn option
    assert read_election(write(tmp_path, "e2.blt", BLT)) == election


def test_single_seat_blt_is_irv(tmp_path: Path) -> None:
    path = write(tmp_path, "one.blt", '2 1\n2 1 2 0\n1 2 0\n0\n"A"\n"B"\n"T"\n')
    result = tabulate(read_election(path))
    assert result.method == "irv" and result.winners == ("A",)


def _cdf() -> dict[str, object]:
    def sel(cs: str, rank: int, indication: str = "yes") -> dict[str, object]:
        return {
            "ContestSelectionId": cs,
            "SelectionPosition": [{"Rank": rank, "HasIndication": indication, "NumberVotes": 1}],
        }

    def cvr(*selections: dict[str, object]) -> dict[str, object]:
        contest = {"ContestId": "c1", "CVRContestSelection": list(selections)}
        old = {"@id": "s0", "CVRContest": []}
        return {
            "CurrentSnapshotId": "s1",
            "CVRSnapshot": [old, {"@id": "s1", "CVRContest": [contest]}],
        }

    return {
        "@type": "CVR.CastVoteRecordReport",
        "Election": [
            {
                "Candidate": [{"@id": "k1", "Name": "Ann"}, {"@id": "k2", "Name": "Ben"}],
                "Contest": [
                    {
                        "@id": "c1",
                        "NumberElected": 1,
                        "ContestSelection": [
                            {"@id": "cs1", "CandidateIds": ["k1"]},
                            {"@id": "cs2", "CandidateIds": ["k2"]},
                            {"@id": "cs3", "IsWriteIn": True},
                        ],
                    }
                ],
            }
        ],
        "CVR": [
            cvr(sel("cs1", 1), sel("cs2", 2)),
            cvr(sel("cs1", 1), sel("cs2", 1)),
            cvr(sel("cs3", 1), sel("cs2", 3)),
            cvr(sel("cs2", 1), sel("cs1", 2, "no")),
        ],
    }


def test_cdf_reader(tmp_path: Path) -> None:
    path = write(tmp_path, "cvr.json", json.dumps(_cdf()))
    election = read_election(path)
    assert election.options == ("Ann", "Ben", "Undeclared Write-ins")
    assert election.rules.undeclared_write_in == "Undeclared Write-ins"
    got = {b.ranking: b.count for b in election.ballots}
    uwi = frozenset(["Undeclared Write-ins"])
    assert got[(uwi, frozenset(), frozenset(["Ben"]))] == 1
    assert got[(frozenset(["Ann", "Ben"]),)] == 1
    assert got[(frozenset(["Ben"]),)] == 1
    assert read_election(path, format="cdf") == election


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"conformance corpus folder {CORPUS} is absent")
def test_case_reader_matches_election_from_json() -> None:
    path = CORPUS / "test_set_multi_winner_fractional_threshold.json"
    assert read_election(path) == election_from_json(load_case(path))
    assert read_election(path, format="case") == read_election(path)


APPROVAL = {
    "method": "approval",
    "candidates": ["A", "B", "C"],
    "ballots": [{"approvals": ["A", "B"], "count": 3}, {"approvals": ["C"], "count": 4}],
    "rules": {"seats": 2},
}


def test_approval_reader(tmp_path: Path) -> None:
    path = write(tmp_path, "ballots.json", json.dumps(APPROVAL))
    election = read_election(path, format="approval")
    assert election.rules.seats == 2 and election.total_ballots == 7
    assert tabulate(election, lot=SeededLot(b"x")).winners[0] == "C"


def _bad(**changes: object) -> str:
    return json.dumps({**APPROVAL, **changes})


BAD_FILES = [
    ("empty.csv", "", "csv", "empty", None),
    ("cols.csv", "Rank 1,Rank 2\nA,B\nA,B,C\n", "csv", "expected 2 columns", 3),
    ("cols2.csv", "ID,Rank 1,Rank 2\n1,A,B\n2,A\n", "csv", "expected 3 columns", 3),
    ("nohdr.csv", "A,B\nB,A\n", "csv", "Rank 1", 1),
    ("gap.csv", "Rank 1,Rank 3\nA,B\n", "csv", "without gaps", 1),
    ("count.csv", "Rank 1,Count\nA,-2\n", "csv", "negative", 2),
    ("count2.csv", "Rank 1,Count\nA,x\n", "csv", "not an integer", 2),
    ("cell.csv", 'Rank 1,Rank 2\nA,B\n"A\n\nB",C\n', "csv", "empty name", 3),
    ("dup.csv", 'Rank 1,Rank 2\n"A\nA",B\n', "csv", "repeats", 2),
    ("ovx.csv", 'Rank 1,Rank 2\n"A\n#OVERVOTE",B\n', "csv", "combined", 2),
    ("quote.csv", 'Rank 1,Rank 2\nA,B\n"A,B\n', "csv", "bad CSV", 3),
    ("quote2.csv", 'ID,Rank 1\n1,"A\n', "csv", "bad CSV", 2),
    ("only.csv", "Rank 1,Rank 2\n", "csv", "no ballots", None),
    ("blank.csv", "Rank 1,Rank 2\n,\n", "csv", "no option", None),
    ("utf.csv", b"Rank 1,Rank 2\nA,B\nA,\xff\n", "csv", "UTF-8", 3),
    ("e.blt", "", "blt", "empty", None),
    ("h.blt", "x y\n", "blt", "first line", 1),
    ("h2.blt", "0 1\n", "blt", "positive", 1),
    ("u.blt", '2 1\n1 3 0\n0\n"A"\n"B"\n"T"\n', "blt", "unknown option number 3", 2),
    ("w.blt", '2 1\n-1\n1 x 0\n0\n"A"\n"B"\n"T"\n', "blt", "not an option number", 3),
    ("n.blt", '2 1\n-1 1 2 0\n0\n"A"\n"B"\n', "blt", "not an option number", 2),
    ("neg.blt", '2 1\n1 1 0\n-1 1 0\n0\n"A"\n"B"\n', "blt", "negative", 3),
    ("z.blt", '2 1\n1 1 2\n0\n"A"\n"B"\n', "blt", "ballot line", 2),
    ("r.blt", '2 1\n1 1=1 0\n0\n"A"\n"B"\n', "blt", "repeats", 2),
    ("end.blt", "2 1\n1 1 0\n", "blt", "missing the '0' line", 2),
    ("names.blt", '2 1\n1 1 0\n0\n"A"\n', "blt", "quoted option names", 4),
    ("q.blt", "2 1\n1 1 0\n0\nA\nB\n", "blt", "quoted name", 4),
    ("same.blt", '2 1\n1 1 0\n0\n"A"\n"A"\n"T"\n', "blt", "unique", 5),
    ("x.json", "{", "auto", "invalid JSON", 1),
    ("arr.json", "[1]", "auto", "JSON object", None),
    ("blank.json", "\n\n", "auto", "empty", None),
    ("unknown.json", _bad(ballots=[{"approvals": ["Z"]}]), "approval", "unknown options", None),
    ("neg.json", _bad(ballots=[{"approvals": ["A"], "count": -1}]), "approval", "count", None),
    ("key.json", _bad(ballots=[{"approval": ["A"]}]), "approval", "unknown keys", None),
    ("m.json", _bad(method="irv"), "approval", "needs", None),
    ("nm.json", json.dumps({"candidates": ["A"], "ballots": []}), "auto", "method", None),
    ("rl.json", _bad(rules=[1]), "auto", "rules must be", None),
    ("bl.json", _bad(ballots={}), "auto", "ballots must be", None),
    ("bo.json", _bad(ballots=[1]), "auto", "expected an object", None),
    ("rk.json", _bad(ballots=[{"ranking": "A"}]), "auto", "list of lists", None),
    ("rr.json", _bad(ballots=[{"ranking": [["A", "A"]]}]), "auto", "repeats", None),
    ("nn.json", _bad(candidates="AB"), "auto", "list of strings", None),
]


@pytest.mark.parametrize(
    ("name", "content", "fmt", "message", "line"), BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
def test_bad_files_raise_one_clear_error(  # type: ignore[no-untyped-def]
    tmp_path, name, content, fmt, message, line
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(InputFormatError, match=message) as info:
        read_election(path, format=fmt)
    assert info.value.line == line
    assert str(path) in str(info.value)
    if line is not None:
        assert f"line {line}" in str(info.value)


def _cdf_with(**changes: object) -> str:
    data = _cdf()
    election = data["Election"][0]  # type: ignore[index]
    for key, value in changes.items():
        if key == "CVR":
            data["CVR"] = value
        else:
            election[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_cdf_with(Contest=[]), "no Contest"),
        (
            _cdf_with(
                Contest=[
                    {"@id": "c1", "ContestSelection": [{"@id": "x", "CandidateIds": ["nope"]}]}
                ]
            ),
            "no candidates",
        ),
        (_cdf_with(Contest=[{"@id": "c1", "ContestSelection": [1]}]), "must be an object"),
        (_cdf_with(Contest=[{"@id": "c1", "ContestSelection": []}]), "no candidates"),
        (_cdf_with(Candidate={}), "must be a list"),
        (_cdf_with(CVR=[1]), "CVR 1 must be an object"),
        (
            _cdf_with(
                CVR=[
                    {
                        "CVRSnapshot": [
                            {
                                "CVRContest": [
                                    {
                                        "ContestId": "c1",
                                        "CVRContestSelection": [{"ContestSelectionId": "zz"}],
                                    }
                                ]
                            }
                        ]
                    }
                ]
            ),
            "unknown ContestSelectionId",
        ),
        (
            _cdf_with(
                CVR=[
                    {
                        "CVRSnapshot": [
                            {
                                "CVRContest": [
                                    {
                                        "ContestId": "c1",
                                        "CVRContestSelection": [
                                            {
                                                "ContestSelectionId": "cs1",
                                                "SelectionPosition": [{"Rank": 0}],
                                            }
                                        ],
                                    }
                                ]
                            }
                        ]
                    }
                ]
            ),
            "bad rank 0",
        ),
        (json.dumps({"@type": "CVR.CastVoteRecordReport", "Election": []}), "no Election"),
    ],
)
def test_bad_cdf(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, "cvr.json", content)
    with pytest.raises(InputFormatError, match=message):
        read_election(path, format="cdf")


def test_huge_line_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:
        f.write(b"Rank 1\nA\n")
        f.write(b"A" * (200 * 1024 * 1024))
        f.write(b"\n")
    with pytest.raises(InputFormatError, match="longer than") as info:
        read_election(path)
    assert info.value.line == 3


def test_long_line_inside_a_block_and_at_the_end(tmp_path: Path) -> None:
    inside = write(tmp_path, "a.csv", "Rank 1\n" + "B" * 100 + "\nA\n")
    with pytest.raises(InputFormatError, match="line 2: line is longer"):
        read_election(inside, max_line=50)
    last = write(tmp_path, "b.csv", "Rank 1\nA\n" + "B" * 100)
    with pytest.raises(InputFormatError, match="line 3: line is longer"):
        read_election(last, max_line=50)


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="cannot read"):
        read_election(tmp_path / "nope.csv")
    with pytest.raises(InputFormatError, match="unknown format"):
        read_election(tmp_path / "nope.csv", format="xml")


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(write(tmp_path, "cvr.csv", CSV))]) == 0
    out, err = capsys.readouterr()
    assert "Round 1 (threshold 4)" in out and out.rstrip().endswith("Winners: Carol")
    assert "previous round counts (round 2: Alice 2, Carol 3): Carol elected" in out
    assert err == ""


def test_cli_json_matches_the_corpus_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"conformance corpus folder {CORPUS} is absent")
    path = CORPUS / "test_set_multi_winner_fractional_threshold.json"
    assert main([str(path), "--json"]) == 0
    shaped = json.loads(capsys.readouterr().out, parse_float=Decimal)
    expected = load_case(path)["expected"]
    assert shaped["winners"] == expected["winners"]
    assert shaped["rounds"] == expected["rounds"]


def test_cli_schulze_and_tie_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {
        "method": "schulze",
        "candidates": ["A", "B"],
        "ballots": [{"ranking": [["A"], ["B"]]}, {"ranking": [["B"], ["A"]]}],
    }
    path = write(tmp_path, "s.json", json.dumps(data))
    assert main([str(path), "--seed", "00ff"]) == 0
    out = capsys.readouterr().out
    assert "Ranking:" in out and "Pairwise" in out and "Tie-breaks:" in out


def test_cli_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(write(tmp_path, "cvr.csv", CSV)), "--progress", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "100%" in err and json.loads(out)["winners"] == ["Carol"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "xyz"], "--seed"),
        (["--seed", ""], "--seed"),
        (["--format", "blt"], "first line"),
    ],
)
def test_cli_errors_leave_stdout_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main([str(write(tmp_path, "cvr.csv", CSV)), *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err


def test_cli_tie_without_seed_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "tie.csv", "Rank 1\nA\nB\n")
    assert main([str(path), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--seed" in err
    assert main([str(path), "--seed", "ab"]) == 0


def test_cli_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert capsys.readouterr().out == ""
    assert main(["--help"]) == 0
    assert "tabulate" in capsys.readouterr().out


def test_make_election_round_trip_through_csv(tmp_path: Path) -> None:
    election = read_csv(write(tmp_path, "cvr.csv", CSV))
    again = make_election(election.method, election.options, election.ballots, election.rules)
    assert again == election


# -- rarer paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message", "line"),
    [
        ("deep.json", "[" * 200_000, "nested too deeply", None),
        ("hdr.csv", '"Rank 1\n', "bad CSV", 1),
        ("only.blt", "# just a comment\n\n", "nothing but comments", None),
        ("w.blt", '1 1\nx 1 0\n0\n"A"\n"T"\n', "not an integer", 2),
        ("sp.blt", '1 1\n1 1 0\n0\n" A"\n"T"\n', "bad option name", None),
    ],
)
def test_rare_bad_files(  # type: ignore[no-untyped-def]
    tmp_path, name, content, message, line
) -> None:
    with pytest.raises(InputFormatError, match=message) as info:
        read_election(write(tmp_path, name, content))
    assert info.value.line == line


def test_csv_with_too_many_cell_values(tmp_path: Path) -> None:
    rows = "\n".join(f"N{i}" for i in range(300))
    with pytest.raises(InputFormatError, match="more than 255") as info:
        read_election(write(tmp_path, "many.csv", "Rank 1\n" + rows + "\n"))
    assert info.value.line == 257  # the 256th name, after the header


def test_csv_with_extra_columns_skips_blank_lines(tmp_path: Path) -> None:
    election = read_csv(write(tmp_path, "ids.csv", "ID,Rank 1\n1,A\n\n2,B\n3,A\n"))
    assert election.total_ballots == 3


def test_cdf_other_contests_and_seats(tmp_path: Path) -> None:
    data = _cdf()
    contest = data["Election"][0]["Contest"][0]  # type: ignore[index]
    contest["NumberElected"] = 2
    data["CVR"][0]["CVRSnapshot"][1]["CVRContest"].append(  # type: ignore[index]
        {"ContestId": "other", "CVRContestSelection": [{"ContestSelectionId": "zz"}]}
    )
    # A record without this contest is no ballot of it (RCTab); one with it but no mark is blank.
    data["CVR"].append({"CurrentSnapshotId": "s9", "CVRSnapshot": [{"@id": "s9"}]})  # type: ignore[attr-defined]
    blank = {"ContestId": "c1", "CVRContestSelection": []}
    data["CVR"].append(
        {"CurrentSnapshotId": "s8", "CVRSnapshot": [{"@id": "s8", "CVRContest": [blank]}]}
    )  # type: ignore[attr-defined]
    election = read_election(write(tmp_path, "cvr.json", json.dumps(data)))
    assert election.method == "stv" and election.rules.seats == 2
    assert election.total_ballots == 5 and any(not b.ranking for b in election.ballots)
    data["CVR"].append({"CVRSnapshot": [{"@id": "s7"}]})  # type: ignore[attr-defined]
    with pytest.raises(InputFormatError, match="CVR 7: its CurrentSnapshotId None names no"):
        read_election(write(tmp_path, "nocurrent.json", json.dumps(data)))
    del data["CVR"][-1]  # type: ignore[attr-defined]
    data["Election"][0]["Candidate"][0]["Name"] = " Ann"  # type: ignore[index]
    with pytest.raises(InputFormatError, match="bad option name"):
        read_election(write(tmp_path, "bad.json", json.dumps(data)))


def test_progress_bar_stays_quiet_for_small_files_unless_forced() -> None:
    import io

    from civicforum.tabulation.cli import _ProgressBar

    stream = io.StringIO()
    _ProgressBar(stream, force=False)(10, 100)
    assert stream.getvalue() == ""
    bar = _ProgressBar(stream, force=True)
    bar(50, 100)
    bar(50, 100)
    bar(100, 100)
    assert stream.getvalue().count("%") == 2 and stream.getvalue().endswith("\n")
