"""Pabulib files in and out: the real elections in ../shared, errors, and the writer's output
checked by the ``pabulib-checker`` package."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from pabulib.checker import Checker

from civicforum.tabulation.budget import (
    ApprovalBallot,
    BallotRules,
    CumulativeBallot,
    OrdinalBallot,
    Project,
    allocate,
    make_instance,
)
from civicforum.tabulation.budget.pabulib import (
    format_amount,
    read_pabulib,
    read_pabulib_file,
    write_pabulib,
)
from civicforum.tabulation.budget.types import group_ballots
from civicforum.tabulation.errors import InputFormatError

PABULIB = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "pabulib"
FILES = sorted(PABULIB.glob("*.pb")) if PABULIB.is_dir() else []
needs_corpus = pytest.mark.skipif(not FILES, reason=f"Pabulib corpus folder {PABULIB} is absent")

META = {
    "description": "Test budget",
    "country": "Poland",
    "unit": "Testville",
    "instance": "2026",
    "date_begin": "01.09.2026",
    "date_end": "15.09.2026",
    "currency": "PLN",
}


def checker_problems(content: str) -> dict[str, object]:
    """The pabulib-checker's errors for one file's text (empty when valid)."""
    results = Checker().process_files([content])
    file_results = next(v for k, v in results.items() if k not in ("metadata", "summary"))
    return dict(file_results["results"].get("errors", {}))


@needs_corpus
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_files_rule_selects_exactly_the_published_projects(path: Path) -> None:
    data = read_pabulib_file(path)
    result = allocate(data.instance, data.rule, threshold=data.threshold)
    assert sorted(result.selected) == sorted(data.selected)
    assert result.spent <= data.instance.budget
    # The file's own vote and score columns agree with the ballots as this module weighs them.
    for tally, row in zip(result.tallies, data.project_rows, strict=True):
        assert tally.project == row["project_id"]
        if "votes" in row:
            assert tally.votes == int(row["votes"]), tally.project
        if "score" in row:
            assert tally.score == int(row["score"]), tally.project


@needs_corpus
@pytest.mark.parametrize("path", FILES[:4], ids=[p.stem for p in FILES[:4]])
def test_written_files_read_back_the_same_and_pass_the_checker(path: Path) -> None:
    data = read_pabulib_file(path)
    result = allocate(data.instance, data.rule, threshold=data.threshold)
    meta = {k: v for k, v in data.meta.items() if k not in ("rule",)}
    text = write_pabulib(
        data.instance,
        meta=meta,
        rule=data.rule,
        selected=result.selected,
        threshold=data.threshold,
    )
    again = read_pabulib(text)
    assert again.instance.budget == data.instance.budget
    assert again.instance.projects == data.instance.projects
    assert again.instance.rules == data.instance.rules
    assert set(group_ballots(again.instance.ballots)) == set(group_ballots(data.instance.ballots))
    assert sorted(again.selected) == sorted(data.selected)
    assert checker_problems(text) == {}


def _instance(vote_type: str) -> tuple[object, str]:
    projects = [
        Project("p1", Fraction(300)),
        Project("p2", Fraction(450)),
        Project("p3", Fraction("125.5")),
        Project("p4", Fraction(200)),
    ]
    if vote_type == "approval":
        ballots = [
            ApprovalBallot(frozenset({"p1", "p3"}), 4),
            ApprovalBallot(frozenset({"p2"}), 3),
            ApprovalBallot(frozenset({"p4", "p1"}), 2),
        ]
        rules = BallotRules("approval", min_length=1, max_length=2, max_sum_cost=Fraction(800))
    elif vote_type == "choose-1":
        ballots = [
            ApprovalBallot(frozenset({"p1"}), 4),
            ApprovalBallot(frozenset({"p2"}), 3),
            ApprovalBallot(frozenset({"p4"}), 1),
            ApprovalBallot(frozenset({"p3"}), 2),
        ]
        rules = BallotRules("choose-1")
    elif vote_type == "cumulative":
        ballots = [
            CumulativeBallot({"p1": Fraction(3), "p3": Fraction(2)}, 4),
            CumulativeBallot({"p2": Fraction(5)}, 3),
            CumulativeBallot({"p4": Fraction(1), "p1": Fraction(4)}, 1),
        ]
        rules = BallotRules("cumulative", max_sum_points=Fraction(5))
    else:
        ballots = [
            OrdinalBallot(("p1", "p3", "p2"), 4),
            OrdinalBallot(("p2", "p4", "p1"), 3),
            OrdinalBallot(("p4", "p3", "p1"), 2),
        ]
        rules = BallotRules("ordinal", min_length=3, max_length=3)
    return make_instance(900, projects, ballots, rules), vote_type


@pytest.mark.parametrize("vote_type", ["approval", "choose-1", "cumulative", "ordinal"])
@pytest.mark.parametrize("rule", ["greedy", "greedy-no-skip", "equalshares/add1"])
def test_writer_output_passes_the_pabulib_checker(vote_type: str, rule: str) -> None:
    instance, _ = _instance(vote_type)
    result = allocate(instance, rule)  # type: ignore[arg-type]
    text = write_pabulib(instance, meta=META, rule=rule, selected=result.selected)  # type: ignore[arg-type]
    assert checker_problems(text) == {}
    back = read_pabulib(text)
    assert back.instance.voters == instance.voters  # type: ignore[attr-defined]
    assert allocate(back.instance, rule).selected == result.selected


def test_a_wrong_selection_is_what_the_checker_catches() -> None:
    instance, _ = _instance("approval")
    result = allocate(instance, "greedy")  # type: ignore[arg-type]
    wrong = [p for p in ("p1", "p2", "p3", "p4") if p not in result.selected][:1]
    text = write_pabulib(instance, meta=META, rule="greedy", selected=wrong)  # type: ignore[arg-type]
    assert "greedy rule not followed" in checker_problems(text)


GOOD = '''META
key;value
budget;1000.50
vote_type;approval
num_votes;2
rule;greedy
PROJECTS
project_id;cost;name;selected
a;500;"Park; phase ""two""";1
b;400.25;Library;1
VOTES
voter_id;vote
1;a,b
2;b
'''


def test_quoted_fields_decimals_and_line_numbers() -> None:
    data = read_pabulib(GOOD)
    assert data.instance.budget == Fraction("1000.5")
    assert [p.name for p in data.instance.projects] == ['Park; phase "two"', "Library"]
    assert data.instance.projects[1].cost == Fraction(40025, 100)
    assert data.selected == ("a", "b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("budget;1000.50", "budget;1000,50"), "line 3: META budget: not a number"),
        (GOOD.replace("2;b\n", "2;c\n"), "line 14: voter 2: unknown projects ['c']"),
        (GOOD.replace("num_votes;2", "num_votes;3"), "line 5: META num_votes is 3 but the file"),
        (GOOD.replace("b;400.25", "a;400.25"), "line 10: project_id a appears twice"),
        (GOOD.replace("b;400.25", "b;-1"), "line 10: project b: cost '-1'"),
        (GOOD.replace("vote_type;approval", "vote_type;scoring"), "line 4: META vote_type"),
        (GOOD.replace("META\n", ""), "line 1: the file must start with the META section"),
        (GOOD.split("VOTES")[0], "missing section VOTES"),
        (GOOD.replace("1;a,b", "1;a,b;x"), "line 13: VOTES row has 3 fields, the header 2"),
        (GOOD.replace("1;a,b", "1;a,a"), "line 13: voter 1: a project is approved twice"),
        (GOOD.replace("2;b", "1;b"), "line 14: voter_id 1 appears twice"),
        (GOOD.replace("budget;1000.50\n", ""), "META has no budget"),
        (GOOD.replace("VOTES\n", "VOTES\nPROJECTS\n"), "line 12: section PROJECTS appears twice"),
        (GOOD.replace("voter_id;vote", "voter_id;vote;vote"), "VOTES header repeats a column"),
        (GOOD.replace("key;value", "name;value"), "the META header must be 'key;value'"),
        (GOOD.replace("rule;greedy", "rule;greedy\nrule;x"), "line 7: META key rule appears twice"),
        (GOOD.replace("rule;greedy", "rule;greedy\nmax_length;x"), "max_length: not a whole"),
        (
            GOOD.replace("vote_type;approval", "vote_type;cumulative"),
            "META: cumulative ballots need",
        ),
        (GOOD.replace("project_id;cost", "id;cost").replace("a;500", "a;500"), "no project_id"),
        (GOOD.replace("voter_id;vote", "voter;vote"), "VOTES has no voter_id column"),
        (GOOD.replace('"Park; phase ""two"""', '"Park'), "bad CSV quoting"),
        (GOOD.replace("voter_id;vote\n1;a,b", "voter_id;vote;points\n1;a,b;1"), "header 3"),
        (
            GOOD.replace("vote_type;approval", "vote_type;cumulative\nmax_sum_points;5"),
            "VOTES has no points column",
        ),
    ],
)
def test_bad_files_name_the_line_and_key(text: str, message: str) -> None:
    with pytest.raises(InputFormatError) as caught:
        read_pabulib(text, path="x.pb")
    assert str(caught.value).startswith("x.pb:")
    assert message in str(caught.value)


def test_blank_lines_and_lenient_unknown_projects(tmp_path: Path) -> None:
    spaced = GOOD.replace("PROJECTS", "\nPROJECTS")
    assert read_pabulib(spaced).instance.voters == 2
    with pytest.raises(InputFormatError, match="unknown projects"):
        read_pabulib(GOOD.replace("2;b", "2;q"), validate=False)
    binary = tmp_path / "latin1.pb"
    binary.write_bytes(GOOD.replace("Library", "Biblioth\u00e8que").encode("latin-1"))
    with pytest.raises(InputFormatError, match="latin1.pb: not UTF-8"):
        read_pabulib_file(binary)


def test_points_on_approval_ballots_and_repeated_cumulative_projects() -> None:
    with_points = GOOD.replace(
        "voter_id;vote\n1;a,b\n2;b", "voter_id;vote;points\n1;a,b;1,1\n2;b;1"
    )
    with pytest.raises(InputFormatError, match="approval ballots take no points"):
        read_pabulib(with_points)
    cumulative = with_points.replace("vote_type;approval", "vote_type;cumulative\nmax_sum_points;5")
    with pytest.raises(InputFormatError, match="a project is listed twice"):
        read_pabulib(cumulative.replace("1;a,b;1,1", "1;a,a;1,1"))


def test_ballot_limits_are_enforced_unless_told_otherwise() -> None:
    text = GOOD.replace("rule;greedy", "rule;greedy\nmax_length;1")
    with pytest.raises(InputFormatError, match="line 14: voter 1: at most 1 projects"):
        read_pabulib(text)
    assert read_pabulib(text, validate=False).instance.voters == 2


def test_cumulative_and_ordinal_points() -> None:
    cumulative = (
        "META\nkey;value\nbudget;10\nvote_type;cumulative\nmax_sum_points;5\n"
        "PROJECTS\nproject_id;cost\nx;4\ny;6\nVOTES\nvoter_id;vote;points\n1;x,y;3,2\n2;y;5\n"
    )
    data = read_pabulib(cumulative)
    assert data.instance.ballots[0] == CumulativeBallot({"x": Fraction(3), "y": Fraction(2)})
    with pytest.raises(InputFormatError, match="2 projects but 1 points"):
        read_pabulib(cumulative.replace("1;x,y;3,2", "1;x,y;3"))
    ordinal = cumulative.replace("cumulative\nmax_sum_points;5", "ordinal")
    borda = ordinal.replace(";5\n", ";1\n").replace("3,2", "2,1")
    assert read_pabulib(borda).instance.ballots == (
        OrdinalBallot(("x", "y")),
        OrdinalBallot(("y",)),
    )
    with pytest.raises(InputFormatError, match="Borda scores by ballot length"):
        read_pabulib(ordinal)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(5), "5"),
        (Fraction(1, 2), "0.5"),
        (Fraction(-3, 40), "-0.075"),
        (Fraction(173435554, 100), "1734355.54"),
    ],
)
def test_format_amount_is_exact(value: Fraction, text: str) -> None:
    assert format_amount(value) == text


def test_format_amount_refuses_a_repeating_decimal() -> None:
    with pytest.raises(ValueError, match="no finite decimal form"):
        format_amount(Fraction(1, 3))


def test_project_names_are_guarded_against_spreadsheet_formulas_and_read_back() -> None:
    name = '=HYPERLINK("http://evil.example","Park")'
    instance = make_instance(
        "100",
        [Project("p1", Fraction(60), name), Project("p2", Fraction(50), "Benches")],
        [ApprovalBallot(frozenset({"p1"}), 2)],
        BallotRules("approval"),
    )
    text = write_pabulib(instance, meta=META, rule="greedy", selected=("p1",))
    assert f"'{name}" in text.replace('""', '"')  # a spreadsheet shows it as text
    assert read_pabulib(text).instance.projects[0].name == name
