"""``civicforum-audit budget FILE.pb``: recount a participatory budget offline."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from civicforum.audit_tool.cli import main
from civicforum.tabulation.budget import ApprovalBallot, Project, allocate, make_instance
from civicforum.tabulation.budget.pabulib import write_pabulib
from civicforum.tabulation.lot import SeededLot

PABULIB = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "pabulib"
KOLO = PABULIB / "Poland_Warszawa_2017_Kolo.pb"
META = {
    "description": "Test",
    "country": "Poland",
    "unit": "Testville",
    "instance": "2026",
    "date_begin": "2026",
    "date_end": "2026",
}


def export(tmp_path: Path, rule: str = "equalshares/add1") -> tuple[Path, object]:
    """A small closed budget as a civicforum export would write it."""
    instance = make_instance(
        200,
        [Project("a", Fraction(60)), Project("c", Fraction(90)), Project("d", Fraction(80))],
        [
            ApprovalBallot(frozenset("ac")),
            ApprovalBallot(frozenset("c"), 2),
            ApprovalBallot(frozenset("a")),
            ApprovalBallot(frozenset("d")),
        ],
    )
    result = allocate(instance, rule)
    path = tmp_path / "budget.pb"
    path.write_text(
        write_pabulib(instance, meta=META, rule=rule, selected=result.selected), encoding="utf-8"
    )
    return path, result


def test_json_output_recounts_the_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, result = export(tmp_path)
    assert main(["budget", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data)[:5] == ["rule", "budget", "selected", "spent", "rounds"]
    assert data["rule"] == "equalshares/add1"
    assert data["selected"] == list(result.selected) == ["c", "a"]  # type: ignore[attr-defined]
    assert data["spent"] == 150 and data["budget"] == 200
    assert data["rounds"][1]["payments"] == [
        {"amount": 45, "voters": 1, "allTheyHad": True},
        {"amount": 15, "voters": 1, "allTheyHad": True},
    ]
    assert data["add1Steps"] == 5 and data["supportLeft"] == {"d": 45}


def test_rule_override_and_text_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = export(tmp_path)
    assert main(["budget", str(path), "--rule", "greedy"]) == 0
    out = capsys.readouterr().out
    assert "Rule: greedy; budget 200; spent 150 (5 voters)" in out
    assert "  c: score 3, cost 90: funded (left 110)" in out
    assert "Voters with at least one funded project: 4 of 5 (80.0%)" in out
    assert main(["budget", str(path)]) == 0
    report = capsys.readouterr().out
    assert "1. c: effective votes 3.000 of 3; paid by 3 x 30.00" in report
    assert "Not funded: d (cost 80, 1 votes): its supporters' shares had 45.00 left" in report


def test_comparison_and_ties_in_the_text_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = export(tmp_path, "equalshares/add1-comparison")
    assert main(["budget", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Comparison: 0 voters prefer equal shares, 0 greedy: equalshares kept" in out
    assert main(["budget", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["comparison"]["chosen"] == "equalshares"
    assert data["comparison"]["greedySelected"] == ["c", "a"]


def test_seed_orders_the_ties(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    instance = make_instance(
        10,
        [Project("x", Fraction(10)), Project("y", Fraction(10))],
        [ApprovalBallot(frozenset("x")), ApprovalBallot(frozenset("y"))],
    )
    path = tmp_path / "tie.pb"
    path.write_text(write_pabulib(instance, meta=META, rule="greedy"), encoding="utf-8")
    seed = "00ff"
    lucky = SeededLot(bytes.fromhex(seed)).order(["x", "y"])[0]
    assert main(["budget", str(path), "--seed", seed, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["selected"] == [lucky]
    assert "lot's order" in data["tiebreaks"][0]["explanation"]
    assert main(["budget", str(path), "--seed", seed]) == 0
    assert "Tie: x, y tied (score 1)" in capsys.readouterr().out


@pytest.mark.skipif(not KOLO.is_file(), reason=f"Pabulib corpus file {KOLO} is absent")
def test_a_real_election(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", str(KOLO), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rule"] == "greedy" and len(data["selected"]) == 13


@pytest.mark.parametrize(
    ("change", "args", "message"),
    [
        (lambda t: t.replace("budget;200", "budget;2x0"), [], "budget.pb:line "),
        (lambda t: t.replace("rule;equalshares/add1", "rule;unknown"), [], "pass --rule"),
        (lambda t: t, ["--rule", "greedy-threshold"], "min_project_score_threshold"),
        (lambda t: t, ["--seed", "zz"], "not hexadecimal"),
        (lambda t: t.replace("VOTES", "VOTE"), [], "line 19: PROJECTS row has 1 fields"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: object,
    args: list[str],
    message: str,
) -> None:
    path, _ = export(tmp_path)
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")  # type: ignore[operator]
    assert main(["budget", str(path), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", str(tmp_path / "nope.pb")]) == 2
    assert "nope.pb" in capsys.readouterr().err


def test_console_script_runs_without_the_web_stack(tmp_path: Path) -> None:
    path, _ = export(tmp_path)
    code = (
        "import sys; from civicforum.audit_tool.cli import main; rc = main(sys.argv[1:]);"
        "bad = [m for m in ('flask', 'sqlalchemy') if m in sys.modules];"
        "assert not bad, bad; sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "budget", str(path), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["selected"] == ["c", "a"]
