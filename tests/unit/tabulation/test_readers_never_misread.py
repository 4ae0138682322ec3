"""Issue #16, item 4: readers that never misread or crash; every bad input exits 2, named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from civicforum.tabulation import OVERVOTE, InputFormatError, arrowcsv, tabulate
from civicforum.tabulation.cli import main
from civicforum.tabulation.formats import read_csv, read_election

SUITE = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "rctab-suite"
RCTAB_CSV = SUITE / "conversions_from_dominion" / "conversions_from_dominion_expected.csv"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("fast", [True, False])
def test_names_on_separate_lines_of_a_cell_are_an_overvote(tmp_path: Path, fast: bool) -> None:
    text = 'ID,Rank 1,Rank 2\n1,"Alice\nBob",Carol\n2,Alice,\n3,"Smith, Jo",Alice\n'
    election = read_csv(write(tmp_path, "cvr.csv", text), fast=fast)
    assert election.options == ("Alice", "Bob", "Carol", "Smith, Jo")
    got = {b.ranking: b.count for b in election.ballots}
    assert got[(frozenset({"Alice", "Bob"}), frozenset({"Carol"}))] == 1


@pytest.mark.skipif(not RCTAB_CSV.exists(), reason=f"{RCTAB_CSV} is absent")
@pytest.mark.parametrize("fast", [True, False])
def test_rctab_written_csv_reads_its_overvotes(fast: bool) -> None:
    # RCTab's own CVR export writes an overvote's names one per line of a quoted cell; 11 of
    # its 1,000 ballots have one. They must not become invented candidates like "AliceBob".
    election = read_csv(RCTAB_CSV, fast=fast)
    assert not [name for name in election.options if len(name) > 40 or "\n" in name]
    overvoted = sum(b.count for b in election.ballots if any(len(rank) > 1 for rank in b.ranking))
    assert overvoted == 11 and election.total_ballots == 1000


def test_a_quoted_cell_across_the_reading_block_boundary(tmp_path: Path) -> None:
    filler = "".join(f"{i},Alice,Bob\n" for i in range(60_000))  # > 1 MiB before the quote
    text = "ID,Rank 1,Rank 2\n" + filler + '60000,"Bob\nCarol",Alice\n'
    path = write(tmp_path, "big.csv", text)
    slow, fast = read_csv(path, fast=False), read_csv(path, fast=True)
    assert slow == fast and slow.total_ballots == 60_001
    assert {b.ranking[0] for b in slow.ballots} == {
        frozenset({"Alice"}),
        frozenset({"Bob", "Carol"}),
    }


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('ID,Rank 1\n1,"A"B\n', "bad CSV", 2),  # pyarrow would read it as "AB"
        ('ID,Rank 1\n1,"A"  \n', "bad CSV", 2),
        ('ID,Rank 1\n1,A\n2,"B\n', "bad CSV", 3),  # unclosed quote: pyarrow takes it as text
        ("ID,Rank 1\n1,A\r2,B\n", "bad CSV", 2),
        ("ID,Rank 1,Count\n1,A,x\n", "count 'x' is not an integer", 2),
        ("ID,Rank 1,Count\n1,A,-2\n", "count -2 is negative", 2),
        ('ID,Rank 1\n1,"A\nA"\n', "a name repeats within the cell", 2),
        ('ID,Rank 1\n1,B\n2,"A\n\nC"\n', "empty name in cell", 3),
    ],
)
@pytest.mark.parametrize("fast", [True, False])
def test_malformed_csv_is_refused_on_both_paths(
    tmp_path: Path, text: str, message: str, line: int, fast: bool
) -> None:
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(InputFormatError, match=message) as info:
        read_csv(path, fast=fast)
    assert info.value.line == line and str(path) in str(info.value)


def _cdf(candidates: list[str], write_in: bool) -> dict[str, object]:
    selections = [{"@id": f"s{i}", "CandidateIds": [f"k{i}"]} for i in range(len(candidates))]
    if write_in:
        selections.append({"@id": "w", "IsWriteIn": True})
    marks = ["s0", "s1", "w" if write_in else "s1"]
    cvrs = [
        {
            "CurrentSnapshotId": "c",
            "CVRSnapshot": [
                {
                    "@id": "c",
                    "CVRContest": [
                        {
                            "ContestId": "x",
                            "CVRContestSelection": [
                                {
                                    "ContestSelectionId": mark,
                                    "SelectionPosition": [{"Rank": 1, "HasIndication": "yes"}],
                                }
                            ],
                        }
                    ],
                }
            ],
        }
        for mark in marks
    ]
    return {
        "@type": "CVR.CastVoteRecordReport",
        "Election": [
            {
                "Candidate": [{"@id": f"k{i}", "Name": n} for i, n in enumerate(candidates)],
                "Contest": [{"@id": "x", "VoteVariation": "rcv", "ContestSelection": selections}],
            }
        ],
        "CVR": cvrs,
    }


@pytest.mark.parametrize("write_in", [False, True])
def test_cdf_candidate_named_undeclared_write_ins_does_not_crash(
    tmp_path: Path, write_in: bool
) -> None:
    # It used to end in a KeyError traceback; now it is the write-in pseudo-candidate.
    data = _cdf(["Ann", "Undeclared Write-ins"], write_in)
    path = write(tmp_path, "cvr.json", json.dumps(data))
    election = read_election(path)
    assert election.options == ("Ann", "Undeclared Write-ins")
    assert election.rules.undeclared_write_in == "Undeclared Write-ins"
    assert election.total_ballots == 3
    assert main([str(path), "--json"]) == 0


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"exhaustOnDuplicateCandidate": "false"}, "exhaustOnDuplicateCandidate must be true"),
        ({"maxRankingsAllowed": -1}, "maxRankingsAllowed must be at least 1"),
        ({"numberOfWinners": "2"}, "numberOfWinners must be an integer"),
        ({"overvoteRule": "sometimes"}, "unsupported overvoteRule"),
        ({"exhaustOnDuplicate": True}, "unknown rule keys"),
    ],
)
def test_election_file_rules_are_type_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rules: dict[str, object], message: str
) -> None:
    election = {
        "method": "irv",
        "candidates": ["A", "B"],
        "rules": rules,
        "ballots": [{"ranking": [["A"], ["A"]], "count": 2}, {"ranking": [["B"]], "count": 1}],
    }
    path = write(tmp_path, "election.json", json.dumps(election))
    assert main([str(path)]) == 2
    err = capsys.readouterr()
    assert err.out == "" and message in err.err and str(path) in err.err


def test_a_string_false_used_to_turn_the_duplicate_rule_on(tmp_path: Path) -> None:
    # With the rule on, A's second mark would exhaust... the winner would change. Refused now.
    good = {"exhaustOnDuplicateCandidate": False}
    ballots = [{"ranking": [["A"], ["A"], ["B"]], "count": 3}, {"ranking": [["B"]], "count": 2}]
    data = {"method": "irv", "candidates": ["A", "B"], "rules": good, "ballots": ballots}
    path = write(tmp_path, "e.json", json.dumps(data))
    assert tabulate(read_election(path)).winners
    data["rules"] = {"exhaustOnDuplicateCandidate": "false"}
    with pytest.raises(InputFormatError, match="must be true or false"):
        read_election(write(tmp_path, "e2.json", json.dumps(data)))


def test_overvote_marker_cells(tmp_path: Path) -> None:
    election = read_csv(write(tmp_path, "o.csv", "Rank 1,Rank 2\novervote,A\nB,\n"))
    assert (frozenset([OVERVOTE]), frozenset(["A"])) in {b.ranking for b in election.ballots}


FAST_CASES = {
    "plain": "Rank 1,Rank 2,Rank 3\nA,B,\nB,,A\nB,,A\n\nA,B,\nC,A,B\n,,\n",
    "ids and counts": 'ID,Rank 1,Rank 2,Count\n1,A,B,2\n2,"Smith, Jo",A, 3\n3,,,1\n4,A,B,0\n',
    "overvotes": 'Rank 1,Rank 2\n"A\nB",C\n"A\nC",B\nA|C,B\novervote,A\nundervote,B\n',
    "crlf": "Rank 1,Rank 2\r\nA,B\r\nB,\r\n",
    "not ascii": "Rank 1,Rank 2\nJosé,Zoë\nZoë,\nJosé,\n",
    # Empty ranks before a mark (rebuilt after the vectorised sort), in several sort positions.
    "skipped ranks": "Rank 1,Rank 2,Rank 3,Rank 4\nA,,B,\n,A,,\nA,B,,\n,,,C\nA,,,B\nA,,B,\nB,A,,\n",
    # Too many ranks to pack into one integer: grouped on every rank instead.
    "wide": ",".join(f"Rank {i}" for i in range(1, 31))
    + "\n"
    + "".join(
        ",".join(row[i] if i < len(row) else "" for i in range(30)) + "\n"
        for row in (["A", "B"], ["B"], ["A", "", "C"], ["C"] * 1 + [""] * 28 + ["A"], ["A", "B"])
    ),
}


@pytest.mark.skipif(not arrowcsv.AVAILABLE, reason="pyarrow (the fast extra) is not installed")
@pytest.mark.parametrize("text", FAST_CASES.values(), ids=list(FAST_CASES))
def test_the_vectorised_path_is_taken_and_agrees(tmp_path: Path, text: str) -> None:
    from civicforum.tabulation.formats import _cell_marks

    path = write(tmp_path, "cvr.csv", text)
    header = text.split("\n", 1)[0].rstrip("\r").split(",")
    columns = [i for i, h in enumerate(header) if h.startswith("Rank")]
    count = header.index("Count") if "Count" in header else None
    # Unguarded: an exception here would otherwise send the file to the careful reader.
    fast = arrowcsv.read_rank_csv.__wrapped__(  # type: ignore[attr-defined]
        path,
        width=len(header),
        columns=columns,
        count_column=count,
        cell_marks=_cell_marks,
        method="irv",
        rules=None,
        max_line=1 << 20,
    )
    assert fast is not None and fast == read_csv(path, fast=False)
    assert fast.total_ballots == read_csv(path, fast=False).total_ballots


@pytest.mark.parametrize("fast", [True, False])
def test_only_utf8_is_read(tmp_path: Path, fast: bool) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes("ID,Rank 1,Rank 2\n1,José,Zoë\n2,Zoë,\n".encode())
    election = read_csv(good, fast=fast)
    assert election == read_csv(good, fast=not fast) and election.total_ballots == 2
    assert {n for b in election.ballots for rank in b.ranking for n in rank} == {"José", "Zoë"}
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"ID,Rank 1\n1,A\n2,Jos\xe9\n")  # Latin-1, in a column both paths read
    with pytest.raises(InputFormatError, match="not valid UTF-8") as info:
        read_csv(bad, fast=fast)
    assert info.value.line == 3
    also_bad = tmp_path / "bad_id.csv"
    also_bad.write_bytes(b"ID,Rank 1\n\xe91,A\n")  # in a column the fast path does not parse
    with pytest.raises(InputFormatError, match="not valid UTF-8"):
        read_csv(also_bad, fast=fast)
