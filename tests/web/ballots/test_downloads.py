"""Every download of a closed ballot recounts to the published result (#15 item 4, #16 item 5),
its CDF validates against NIST's schema (#16 item 6), and no CSV carries a live spreadsheet
formula (#14 item 5).

Each download is fetched as a visitor would, saved beside the ballot's rules file, and counted
with the command the results page shows (``civicforum-audit tabulate FILE --rules RULES``). The
result must be the published one, round by round, ties drawn by lot included.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from civicforum.ballots import exports, services
from civicforum.ballots.models import Ballot, Method
from civicforum.ballots.validation import Choice
from civicforum.tabulation.cli import main
from civicforum.tabulation.csvcells import FORMULA_STARTS
from tests.factories import make_user
from tests.factories_ballots import approve, blank, close, make_ballot, rank

NIST_SCHEMA = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "conformance"
    / "nist-cvr"
    / "NIST_V0_cast_vote_records.json"
)

HOSTILE = ('=HYPERLINK("http://x.test","ok")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "'=quoted")
QUOTED = 'Say "hi"'


def _ballot(db_session: Any, scenario: str) -> Ballot:
    """Closed ballots whose counts need every part of the rules, ties by lot included."""
    # Members before the ballot opens: its electorate is fixed then.
    members = iter([make_user(db_session) for _ in range(20)])
    votes: list[tuple[Choice, int]]
    if scenario == "irv-lot":  # Bob, Cat and Dan tie for last in round 1: only the lot decides
        ballot = make_ballot(db_session, method=Method.IRV, options=("Ann", "Bob", "Cat", "Dan"))
        votes = [
            (rank("o1"), 4),
            (rank("o2", "o1"), 2),
            (rank("o3", "o2"), 2),
            (rank("o4", "o3"), 2),
            (blank(ranked=True), 1),
        ]
    elif scenario == "stv":
        ballot = make_ballot(
            db_session, method=Method.STV, seats=2, options=("Ann", "Bob", "Cat", "Dan", "Eve")
        )
        votes = [
            (rank("o1", "o2", "o3"), 7),
            (rank("o2", "o1"), 2),
            (rank("o3", "o4"), 3),
            (rank("o4", "o5"), 2),
            (rank("o5", "o3"), 1),
        ]
    elif scenario == "approval":  # Bob and Cat tie for the second seat
        ballot = make_ballot(
            db_session,
            method=Method.APPROVAL,
            seats=2,
            max_approvals=2,
            options=("Ann", "Bob", "Cat", "Dan"),
        )
        votes = [(approve("o1", "o2"), 3), (approve("o1", "o3"), 3), (approve("o4"), 1)]
    elif scenario == "schulze":  # a Condorcet cycle
        ballot = make_ballot(db_session, method=Method.SCHULZE, options=("Ann", "Bob", "Cat"))
        votes = [
            (rank("o1", "o2", "o3"), 3),
            (rank("o2", "o3", "o1"), 3),
            (rank("o3", "o1", "o2"), 3),
        ]
    else:  # labels a spreadsheet would run, and one with quotes (BLT)
        ballot = make_ballot(db_session, method=Method.IRV, options=(*HOSTILE, QUOTED))
        votes = [
            (rank("o1", "o2"), 3),
            (rank("o2", "o5"), 2),
            (rank("o3", "o4"), 2),
            (rank("o4", "o1"), 1),
            (rank("o5", "o3"), 3),
        ]
    for choice, count in votes:
        for _ in range(count):
            services.cast_ballot(db_session, ballot=ballot, voter=next(members), choice=choice)
    assert close(db_session, ballot)
    return ballot


SCENARIOS = ("irv-lot", "stv", "approval", "schulze", "hostile-labels")


def _download(client: FlaskClient, ballot: Ballot, fmt: str, folder: Path) -> Path:
    response = client.get(f"/ballots/{ballot.id}/cvr.{fmt}")
    assert response.status_code == 200, fmt
    name = exports.download_name(ballot, fmt)
    assert name in response.headers["Content-Disposition"]
    path = folder / name
    path.write_bytes(response.data)
    return path


def _same(published: dict[str, Any], recount: dict[str, Any], labels: dict[str, str]) -> None:
    def name(key: str) -> str:
        return labels[key]

    assert [name(w) for w in published["winners"]] == recount["winners"]
    assert published["totalBallots"] == recount["totalBallots"]
    assert published["undervotes"] == recount["undervotes"]
    assert len(published["rounds"]) == len(recount["rounds"])
    for mine, theirs in zip(published["rounds"], recount["rounds"], strict=True):
        assert {name(k): v for k, v in mine["tally"].items()} == theirs["tally"]
        assert [name(k) for k in mine["elected"]] == theirs["elected"]
        assert [name(k) for k in mine["eliminated"]] == theirs["eliminated"]
        assert (mine["threshold"], mine["exhausted"]) == (theirs["threshold"], theirs["exhausted"])
    drawn = [(t["round"], t["type"], name(t["selected"])) for t in published["tiebreaks"]]
    assert drawn == [(t["round"], t["type"], t["selected"]) for t in recount["tiebreaks"]]
    if "ranking" in published:
        assert [name(k) for k in published["ranking"]] == recount["ranking"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_download_recounts_to_the_published_result(
    client: FlaskClient,
    db_session: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    scenario: str,
) -> None:
    ballot = _ballot(db_session, scenario)
    published = json.loads(ballot.result_json or "{}")
    labels = {o.key: o.label for o in ballot.options}
    rules = _download(client, ballot, "rules.json", tmp_path)
    page = client.get(f"/ballots/{ballot.id}/results").text
    formats = [f for f in exports.formats_for(ballot) if f != "rules.json"]
    assert formats
    for fmt in formats:
        path = _download(client, ballot, fmt, tmp_path)
        command = exports.recount_command(ballot, fmt)
        assert command in page  # the documented command, as the page shows it
        words = command.split()[2:]  # civicforum-audit tabulate FILE --rules RULES
        assert words == [path.name, "--rules", rules.name]
        capsys.readouterr()
        assert main([str(path), "--rules", str(rules), "--json"]) == 0, fmt
        recount = json.loads(capsys.readouterr().out)
        _same(published, recount, labels)
    if scenario in ("irv-lot", "approval"):
        assert published["tiebreaks"], "the scenario must need the lot"


def test_without_the_rules_file_a_csv_counts_differently(
    client: FlaskClient, db_session: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The failure #15 reported: seats and method are not in a CSV, the lot is in no file.
    ballot = _ballot(db_session, "stv")
    path = _download(client, ballot, "rctab.csv", tmp_path)
    assert main([str(path), "--seed", "00", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["winners"]) == 1
    assert main([str(path), "--seats", "2", "--method", "stv", "--seed", "00", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["winners"]) == 2


@pytest.mark.skipif(not NIST_SCHEMA.exists(), reason=f"NIST's CDF schema {NIST_SCHEMA} is absent")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cdf_exports_are_valid_against_nists_schema(
    client: FlaskClient, db_session: Any, tmp_path: Path, scenario: str
) -> None:
    import jsonschema

    schema = json.loads(NIST_SCHEMA.read_text(encoding="utf-8"))
    ballot = _ballot(db_session, scenario)
    report = json.loads(_download(client, ballot, "cdf.json", tmp_path).read_text())
    jsonschema.Draft4Validator(schema).validate(report)
    contest = report["Election"][0]["Contest"][0]
    expected = {
        "approval": "approval",
        "schulze": "other",
    }.get(scenario, "rcv")
    assert contest["VoteVariation"] == expected
    assert report["CVR"][0]["ElectionId"] == report["Election"][0]["@id"]


def test_no_csv_cell_is_a_formula(client: FlaskClient, db_session: Any) -> None:
    ballot = _ballot(db_session, "hostile-labels")
    for url in (f"/ballots/{ballot.id}/cvr.rctab.csv", f"/ballots/{ballot.id}/results.csv"):
        text = client.get(url).text
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert cells and not [c for c in cells if c[:1] in FORMULA_STARTS], url
        assert "'=HYPERLINK" in text and "'+cmd" in text and "'@SUM" in text and "''=quoted" in text


def test_blt_keeps_quotes_in_labels(client: FlaskClient, db_session: Any, tmp_path: Path) -> None:
    from civicforum.tabulation.formats import read_election

    ballot = _ballot(db_session, "hostile-labels")
    election = read_election(_download(client, ballot, "blt", tmp_path))
    assert QUOTED in election.options and set(HOSTILE) <= set(election.options)
