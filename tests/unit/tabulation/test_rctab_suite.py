"""RCTab's own regression suite, case by case, through ``civicforum-audit tabulate``.

Every folder of ``../shared/conformance/rctab-suite`` is either a tabulation case, counted from
its configuration and CVR files and compared with RCTab's expected detailed report round by
round (tallies, elected, eliminated, transfers, inactive ballots by category, threshold), a
configuration RCTab refuses (refused here too, exit 2), or listed below as not a tabulation
test, with the reason. A new folder fails ``test_every_folder_is_accounted_for`` until it is
sorted into one of these.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from civicforum.tabulation import InputFormatError, InvalidElectionError, tabulate
from civicforum.tabulation.cli import main
from civicforum.tabulation.rctab import load_contest
from civicforum.tabulation.rctab.readers import fastexcel
from civicforum.tabulation.rctab.report import detailed_reports

SUITE = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "rctab-suite"
pytestmark = pytest.mark.skipif(
    not SUITE.is_dir(), reason=f"RCTab's regression suite folder {SUITE} is absent"
)

NOT_TABULATION = {
    "_shared": "CVR files shared by other cases",
    "unisyn_cvrs": "CVR files of the unisyn_xml_cdf_* cases",
    "conversions_from_cdf": "RCTab's conversion of CVRs to its own CDF and CSV files",
    "conversions_from_dominion": "RCTab's conversion of CVRs to its own CDF and CSV files",
    "conversions_from_ess": "RCTab's conversion of CVRs to its own CDF and CSV files",
    "invalid_output_directory": "RCTab's refusal to write into a bad output folder",
    "sample_interactive_tiebreak": "a sample for RCTab's on-screen tie prompt, no results",
    "signature_validation": "RCTab's check of signed CVR exports (hart_cvr signatures)",
    "tabulate_by_precinct_without_precincts": "RCTab's per-precinct reports, not written here",
}
#: Configurations RCTab refuses, with the key our error must name.
REFUSED = {
    "invalid_params_test": "candidates: at least one declared candidate",
    "invalid_sources_test": "rules: unknown key(s) ['random Seed']",
    "max_ranking_enforcement": "max_ranking_enforcement_cvr.csv: line 2: .* rank 4, but max",
}
#: Cases whose CVR files are not in the copy (the suite's README says so).
ABSENT = ("2018_maine_governor_primary", "dominion_kansas")


def _folders() -> list[Path]:
    return sorted(p for p in SUITE.iterdir() if p.is_dir()) if SUITE.is_dir() else []


def _cases() -> list[Path]:
    return [p for p in _folders() if p.name not in NOT_TABULATION and p.name not in REFUSED]


def test_every_folder_is_accounted_for() -> None:
    names = {p.name for p in _folders()}
    assert set(NOT_TABULATION) | set(REFUSED) | set(ABSENT) <= names
    for case in _cases():
        assert list(case.glob("*_expected_detailed_report.json")), case.name
    assert len(_cases()) == 71


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _round_view(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "threshold": _decimal(r["threshold"]),
        "tally": {k: _decimal(v) for k, v in r["tally"].items()},
        "inactive": {k: _decimal(v) for k, v in r["inactiveBallots"].items()},
        "decisions": [
            (
                "elected" if "elected" in t else "eliminated",
                t.get("elected", t.get("eliminated")),
                {k: _decimal(v) for k, v in t["transfers"].items()},
            )
            for t in r["tallyResults"]
        ],
    }


def _summary_view(report: dict[str, Any]) -> dict[str, Any]:
    s = report["summary"]
    return {
        "finalThreshold": _decimal(s["finalThreshold"]),
        "totalNumBallots": _decimal(s["totalNumBallots"]),
        "undervotes": s["undervotes"],
        "numWinners": s["numWinners"],
        "numCandidates": s["numCandidates"],
    }


def _compare(case: Path, fast: bool) -> None:
    config = next(case.glob("*_config.json"))
    expected = [
        json.loads(p.read_text()) for p in sorted(case.glob("*_expected_detailed_report.json"))
    ]
    contest = load_contest(config, fast=fast)
    got = detailed_reports(tabulate(contest.election), contest.config)
    assert len(got) == len(expected), "number of reports (multi-pass IRV: one per seat)"
    for number, (mine, theirs) in enumerate(zip(got, expected, strict=True), 1):
        assert len(mine["results"]) == len(theirs["results"]), f"report {number}: rounds"
        for a, b in zip(mine["results"], theirs["results"], strict=True):
            assert _round_view(a) == _round_view(b), f"report {number}, round {b['round']}"
        assert _summary_view(mine) == _summary_view(theirs), f"report {number}: summary"


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_case_agrees_with_rctab_round_by_round(case: Path) -> None:
    if case.name in ABSENT:
        sources = json.loads(next(case.glob("*_config.json")).read_text())["cvrFileSources"]
        paths = [case / s["filePath"] for s in sources]
        missing = [p for p in paths if not p.exists() or (p.is_dir() and not [*p.glob("Cvr*")])]
        if missing:
            pytest.skip(f"{case.name}: CVR files {missing} are not in the copy (suite README)")
    _compare(case, fast=True)


SLOW_READER_CASES = [
    "2017_minneapolis_mayor",
    "2015_portland_mayor_codes",
    "test_set_treat_blank_as_undeclared_write_in",
    "first_round_determines_threshold_test",
    "aliases_ess_xlsx",
    "multi_seat_bottoms_up_with_static_threshold",
]


@pytest.mark.parametrize("name", SLOW_READER_CASES)
def test_without_the_fast_readers_the_count_is_the_same(name: str) -> None:
    _compare(SUITE / name, fast=False)


@pytest.mark.skipif(fastexcel is None, reason="the optional fast readers are not installed")
def test_fast_and_slow_xlsx_readers_build_the_same_election() -> None:
    config = SUITE / "2013_minneapolis_mayor" / "2013_minneapolis_mayor_config.json"
    assert load_contest(config, fast=True).election == load_contest(config, fast=False).election


@pytest.mark.parametrize(("name", "key"), sorted(REFUSED.items()))
def test_configurations_rctab_refuses_are_refused(name: str, key: str) -> None:
    config = next((SUITE / name).glob("*_config.json"))
    with pytest.raises(
        (InputFormatError, InvalidElectionError), match=re.escape(key) if "*" not in key else key
    ):
        tabulate(load_contest(config).election)
    assert main(["--rctab-config", str(config)]) == 2


def test_cli_prints_rctab_reports_that_match(capsys: pytest.CaptureFixture[str]) -> None:
    case = SUITE / "sequential_with_batch"
    assert (
        main(["--rctab-config", str(case / "sequential_with_batch_config.json"), "--rctab-report"])
        == 0
    )
    reports = json.loads(capsys.readouterr().out)
    expected = sorted(case.glob("*_expected_detailed_report.json"))
    assert [r["results"] for r in reports] == [
        json.loads(p.read_text())["results"] for p in expected
    ]


def test_cli_json_of_a_real_election(capsys: pytest.CaptureFixture[str]) -> None:
    config = SUITE / "2015_portland_mayor" / "2015_portland_mayor_config.json"
    assert main(["--rctab-config", str(config), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["winners"] == ["Mavodones, Nicholas M. Jr."] and len(result["rounds"]) == 14


def test_the_tool_works_without_the_optional_fast_readers(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = SUITE / "2015_portland_mayor" / "2015_portland_mayor_config.json"
    csv_file = tmp_path / "cvr.csv"
    csv_file.write_text("Rank 1,Rank 2\nA,B\nA,\nB,A\nB,C\nC,B\n", encoding="utf-8")
    # Importing pyarrow or fastexcel fails in the child, as when the "fast" extra is absent.
    code = (
        "import sys; sys.modules['pyarrow'] = sys.modules['fastexcel'] = None;"
        "from civicforum.tabulation.cli import main;"
        "from civicforum.tabulation import arrowcsv;"
        "from civicforum.tabulation.rctab import readers;"
        "assert not arrowcsv.AVAILABLE and readers.fastexcel is None;"
        "sys.exit(main(sys.argv[1:]))"
    )
    root = Path(__file__).resolve().parents[3]
    for args in (["--rctab-config", str(config), "--json"], [str(csv_file), "--json"]):
        slow = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=root
        )
        assert slow.returncode == 0, slow.stderr
        fast = subprocess.run(
            [sys.executable, "-m", "civicforum.tabulation.cli", *args],
            capture_output=True,
            text=True,
            cwd=root,
        )
        assert json.loads(slow.stdout) == json.loads(fast.stdout)
