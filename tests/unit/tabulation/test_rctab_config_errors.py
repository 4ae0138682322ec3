"""Bad RCTab configurations and CVR files: exit 2, naming the file and the key or line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from civicforum.tabulation.cli import main

SUITE = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "rctab-suite"
BASE = SUITE / "tiebreak_seed_test" / "tiebreak_seed_test_config.json"
pytestmark = pytest.mark.skipif(not BASE.exists(), reason=f"{BASE} is absent")


def _config(tmp_path: Path, change: Any) -> Path:
    data = json.loads(BASE.read_text(encoding="utf-8"))
    for source in data["cvrFileSources"]:  # absolute, so the copy finds the CVR
        source["filePath"] = str((BASE.parent / source["filePath"]).resolve())
    data = copy.deepcopy(data)
    change(data)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _set(section: str, key: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        target = data[section][0] if section in ("cvrFileSources", "candidates") else data[section]
        target[key] = value

    return change


CASES = [
    (_set("rules", "exhaustOnDuplicateCandidate", "false"), "rules.exhaustOnDuplicateCandidate"),
    (_set("rules", "batchElimination", "True"), "rules.batchElimination: must be true or false"),
    (_set("rules", "maxRankingsAllowed", "-1"), "rules.maxRankingsAllowed: must be at least 1"),
    (_set("rules", "maxRankingsAllowed", "all"), "rules.maxRankingsAllowed: must be a whole"),
    (_set("rules", "maxSkippedRanksAllowed", "-3"), "rules.maxSkippedRanksAllowed"),
    (_set("rules", "decimalPlacesForVoteArithmetic", "0"), "rules.decimalPlacesForVoteArithmetic"),
    (_set("rules", "tiebreakMode", "whatever"), "rules.tiebreakMode: must be one of"),
    (_set("rules", "overvoteRule", "sometimes"), "rules.overvoteRule"),
    (_set("rules", "randomSeed", ""), "rules.randomSeed: is required"),
    (_set("rules", "randomSeed", str(1 << 50)), "rules.randomSeed: must be from"),
    (_set("rules", "numberOfWinners", "2"), "rules: singleWinnerMajority needs exactly one seat"),
    (_set("rules", "random Seed", "1"), "rules: unknown key(s) ['random Seed']"),
    (_set("rules", "stopTabulationEarlyAfterRound", "0"), "stopTabulationEarlyAfterRound"),
    (_set("cvrFileSources", "provider", "xls"), "cvrFileSources[0].provider"),
    (_set("cvrFileSources", "filePath", "nope.xlsx"), "cvrFileSources[0].filePath"),
    (_set("cvrFileSources", "firstVoteColumnIndex", "x"), "firstVoteColumnIndex: must be"),
    (_set("cvrFileSources", "contestId", "7"), "cvrFileSources[0].contestId: must not"),
    (_set("cvrFileSources", "overvoteDelimiter", "ab"), "overvoteDelimiter"),
    (_set("cvrFileSources", "undeclaredWriteInLabel", "exhausted"), "is reserved by RCTab"),
    (_set("candidates", "name", ""), "candidates[0].name: is required"),
    (_set("candidates", "aliases", "x"), "candidates[0].aliases: must be a list"),
    (_set("outputSettings", "contestName", ""), "outputSettings.contestName"),
    (lambda d: d["candidates"].append(dict(d["candidates"][0])), "is used twice"),
    (lambda d: d["candidates"].pop(0), "unrecognised candidate(s)"),
    (lambda d: d.pop("rules"), "rules: must be a JSON object"),
]


@pytest.mark.parametrize(("change", "message"), CASES, ids=[m for _, m in CASES])
def test_bad_configuration_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, message: str
) -> None:
    path = _config(tmp_path, change)
    assert main(["--rctab-config", str(path)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and message in out.err, out.err


def test_not_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"rules": ', encoding="utf-8")
    assert main(["--rctab-config", str(path)]) == 2
    assert f"{path}:line 1: invalid JSON" in capsys.readouterr().err


def _folder_config(tmp_path: Path, provider: str, folder: Path, contest: str) -> Path:
    def change(data: dict[str, Any]) -> None:
        source = data["cvrFileSources"][0]
        for key in ("firstVoteColumnIndex", "firstVoteRowIndex", "idColumnIndex"):
            source[key] = ""
        source.update(provider=provider, filePath=str(folder), contestId=contest)
        source["overvoteLabel"] = source["skippedRankLabel"] = ""

    return _config(tmp_path, change)


def test_bad_cvr_files_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "dominion"
    folder.mkdir()
    config = _folder_config(tmp_path, "dominion", folder, "1")
    assert main(["--rctab-config", str(config)]) == 2
    assert "ContestManifest.json: cannot read file" in capsys.readouterr().err
    (folder / "ContestManifest.json").write_text('{"List": [{"Id": 1}]}', encoding="utf-8")
    assert main(["--rctab-config", str(config)]) == 2
    assert "no CvrExport.json" in capsys.readouterr().err
    (folder / "CvrExport.json").write_text('{"Sessions": [{"Original": 1}]}', encoding="utf-8")
    assert main(["--rctab-config", str(config)]) == 2
    assert "CvrExport.json: session 1: needs an Original record" in capsys.readouterr().err
    hart = tmp_path / "hart"
    hart.mkdir()
    (hart / "a.xml").write_text("<Cvr><Contests>", encoding="utf-8")
    assert main(["--rctab-config", str(_folder_config(tmp_path, "hart", hart, "c"))]) == 2
    assert "a.xml:line 1: invalid XML" in capsys.readouterr().err
