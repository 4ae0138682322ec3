"""RCTab contest configuration files: read, type-check and validate like RCTab 2.0 does.

RCTab writes numbers as strings (``"numberOfWinners": "3"``, ``""`` for "not set") and older
configurations as JSON numbers; both are accepted. Booleans must be JSON ``true``/``false``: a
string such as ``"false"`` is refused rather than guessed. Every problem is an
:class:`InputFormatError` naming the file and the key (``rules.maxRankingsAllowed``,
``cvrFileSources[2].provider``). The checks are RCTab's own (``ContestConfig.validate``), so a
configuration RCTab refuses is refused here too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicforum.tabulation.cdf import UNDECLARED_WRITE_INS
from civicforum.tabulation.errors import InputFormatError, InvalidElectionError
from civicforum.tabulation.types import (
    OVERVOTE_RULES,
    RANDOM_SEED_LIMIT,
    RANDOM_TIEBREAK_MODES,
    TIEBREAK_MODES,
    WINNER_MODES,
    Rules,
)

PROVIDERS = ("ess", "cdf", "dominion", "hart", "clearBallot", "genericCsv")
#: Providers whose files are spreadsheets with columns the configuration points at.
COLUMN_PROVIDERS = ("ess", "genericCsv")
#: Providers whose files hold several contests: the configuration names one.
CONTEST_PROVIDERS = ("cdf", "dominion", "hart", "clearBallot")
#: Strings RCTab reserves for its reports (``TallyTransfers.RESERVED_STRINGS``).
RESERVED = ("exhausted", "residual surplus", UNDECLARED_WRITE_INS.lower())

_TOP_KEYS = {"tabulatorVersion", "outputSettings", "cvrFileSources", "candidates", "rules"}
_OUTPUT_KEYS = {
    "contestName": str,
    "outputDirectory": str,
    "contestDate": str,
    "contestJurisdiction": str,
    "contestOffice": str,
    "tabulateByPrecinct": bool,
    "tabulateByBatch": bool,
    "generateCdfJson": bool,
}
_SOURCE_KEYS = {
    "filePath": str,
    "provider": str,
    "contestId": str,
    "firstVoteColumnIndex": int,
    "firstVoteRowIndex": int,
    "idColumnIndex": int,
    "batchColumnIndex": int,
    "precinctColumnIndex": int,
    "overvoteDelimiter": str,
    "overvoteLabel": str,
    "skippedRankLabel": str,
    "undeclaredWriteInLabel": str,
    "treatBlankAsUndeclaredWriteIn": bool,
}
_CANDIDATE_KEYS = {"name": str, "aliases": list, "excluded": bool, "code": str}
_RULE_KEYS = {
    "tiebreakMode": str,
    "overvoteRule": str,
    "winnerElectionMode": str,
    "randomSeed": int,
    "numberOfWinners": int,
    "multiSeatBottomsUpPercentageThreshold": int,
    "decimalPlacesForVoteArithmetic": int,
    "minimumVoteThreshold": int,
    "maxSkippedRanksAllowed": int,
    "maxRankingsAllowed": int,
    "nonIntegerWinningThreshold": bool,
    "doesFirstRoundDetermineThreshold": bool,
    "hareQuota": bool,
    "batchElimination": bool,
    "cutoffElimination": bool,
    "continueUntilTwoCandidatesRemain": bool,
    "stopTabulationEarlyAfterRound": int,
    "exhaustOnDuplicateCandidate": bool,
    "rulesDescription": str,
    "treatBlankAsUndeclaredWriteIn": bool,  # older configurations kept it among the rules
}


@dataclass(frozen=True, slots=True)
class Source:
    """One ``cvrFileSources`` entry, typed; column indexes are 1-based as in the file."""

    index: int
    path: Path
    provider: str
    contest_id: str
    first_vote_column: int | None
    first_vote_row: int | None
    id_column: int | None
    precinct_column: int | None
    overvote_delimiter: str
    overvote_label: str
    skipped_rank_label: str
    uwi_label: str
    blank_is_uwi: bool

    @property
    def key(self) -> str:
        return f"cvrFileSources[{self.index}]"


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    aliases: tuple[str, ...]
    excluded: bool


@dataclass(frozen=True, slots=True)
class ContestConfig:
    """A validated RCTab contest configuration."""

    path: Path
    contest_name: str
    jurisdiction: str
    office: str
    date: str
    sources: tuple[Source, ...]
    candidates: tuple[Candidate, ...]
    rules: Rules
    uses_write_ins: bool

    @property
    def names(self) -> tuple[str, ...]:
        """Candidate names in configuration order (RCTab's tie-break order), write-ins last."""
        names = tuple(c.name for c in self.candidates)
        return (*names, UNDECLARED_WRITE_INS) if self.uses_write_ins else names

    @property
    def aliases(self) -> dict[str, str]:
        """Every accepted label (names, aliases) to its candidate name."""
        out = {UNDECLARED_WRITE_INS: UNDECLARED_WRITE_INS} if self.uses_write_ins else {}
        for candidate in self.candidates:
            for label in (candidate.name, *candidate.aliases):
                out[label] = candidate.name
        return out


class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> InputFormatError:
        return InputFormatError(f"{key}: {message}", path=self.path)

    def object(self, value: Any, key: str, allowed: Mapping[str, type]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a JSON object")
        if unknown := sorted(set(value) - set(allowed)):
            raise self.fail(key, f"unknown key(s) {unknown}; expected some of {sorted(allowed)}")
        for name, kind in allowed.items():
            if name in value:
                self.typed(value[name], f"{key}.{name}", kind)
        return value

    def typed(self, value: Any, key: str, kind: type) -> None:
        if kind is object:  # checked by the section's own reader
            return
        if kind is bool:
            if type(value) is not bool:
                raise self.fail(key, f"must be true or false (a JSON boolean), not {value!r}")
        elif kind is int:
            # RCTab stores numbers as strings; "" means not set.
            if type(value) is not int and not isinstance(value, str):
                raise self.fail(key, f"must be a whole number or a string, not {value!r}")
        elif kind is list:
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise self.fail(key, "must be a list of strings")
        elif not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {value!r}")

    def whole(
        self,
        data: Mapping[str, Any],
        name: str,
        key: str,
        low: int,
        high: int | None,
        *,
        required: bool,
        words: Mapping[str, int | None] | None = None,
    ) -> int | None:
        value = data.get(name)
        text = "" if value is None else str(value).strip()
        if words is not None and text.lower() in words:
            return words[text.lower()]
        if not text:
            if required:
                raise self.fail(key, "is required")
            return None
        try:
            number = int(text)
        except ValueError:
            raise self.fail(key, f"must be a whole number, not {value!r}") from None
        if number < low or (high is not None and number > high):
            bounds = f"at least {low}" if high is None else f"from {low} to {high}"
            raise self.fail(key, f"must be {bounds}, not {number}")
        return number


def load_config(path: str | os.PathLike[str]) -> ContestConfig:
    """Read and validate an RCTab contest configuration; errors name the file and the key."""
    name = os.fspath(path)
    try:
        raw = Path(name).read_bytes()
    except OSError as exc:
        raise InputFormatError(f"cannot read file: {exc.strerror}", path=name) from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputFormatError("not valid UTF-8", path=name) from None
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"invalid JSON: {exc.msg}", line=exc.lineno, path=name) from None
    check = _Checker(name)
    top = check.object(data, "the configuration", dict.fromkeys(_TOP_KEYS, object))
    output = check.object(top.get("outputSettings", {}), "outputSettings", _OUTPUT_KEYS)
    if not str(output.get("contestName", "")).strip():
        raise check.fail("outputSettings.contestName", "is required")
    base = Path(name).resolve().parent
    candidates = _candidates(check, top.get("candidates"))
    declared = len(candidates)
    rules_data = check.object(top.get("rules"), "rules", _RULE_KEYS)
    if rules_data.get("overvoteRule") not in OVERVOTE_RULES:  # the sources' checks use it
        value = rules_data.get("overvoteRule")
        raise check.fail("rules.overvoteRule", f"must be one of {OVERVOTE_RULES}, not {value!r}")
    sources = _sources(check, top.get("cvrFileSources"), base, rules_data)
    uses_write_ins = any(s.uwi_label or s.blank_is_uwi for s in sources)
    names = {c.name for c in candidates}
    if uses_write_ins and UNDECLARED_WRITE_INS in names:
        raise check.fail("candidates", f"{UNDECLARED_WRITE_INS!r} is reserved for write-ins")
    rules = _rules(check, rules_data, candidates, declared, uses_write_ins)
    return ContestConfig(
        path=Path(name),
        contest_name=str(output["contestName"]),
        jurisdiction=str(output.get("contestJurisdiction", "")),
        office=str(output.get("contestOffice", "")),
        date=str(output.get("contestDate", "")),
        sources=sources,
        candidates=candidates,
        rules=rules,
        uses_write_ins=uses_write_ins,
    )


def _candidates(check: _Checker, value: Any) -> tuple[Candidate, ...]:
    if not isinstance(value, list):
        raise check.fail("candidates", "must be a list")
    out: list[Candidate] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        key = f"candidates[{i}]"
        entry = check.object(item, key, _CANDIDATE_KEYS)
        name = entry.get("name", "")
        if not name.strip():
            raise check.fail(f"{key}.name", "is required")
        aliases = [a for a in entry.get("aliases", []) if a.strip()]
        if entry.get("code", "").strip():  # RCTab 1.x codes are aliases in 2.0
            aliases.append(entry["code"])
        for label in (name, *aliases):
            if label in seen:
                raise check.fail(key, f"the name or alias {label!r} is used twice")
            seen.add(label)
        out.append(Candidate(name, tuple(aliases), bool(entry.get("excluded", False))))
    if not out:
        raise check.fail("candidates", "at least one declared candidate is required")
    if all(c.excluded for c in out):
        raise check.fail("candidates", "at least one candidate must not be excluded")
    return tuple(out)


def _sources(
    check: _Checker, value: Any, base: Path, rules: Mapping[str, Any]
) -> tuple[Source, ...]:
    if not isinstance(value, list) or not value:
        raise check.fail("cvrFileSources", "at least one cast vote record source is required")
    out: list[Source] = []
    seen: set[Path] = set()
    for i, item in enumerate(value):
        key = f"cvrFileSources[{i}]"
        entry = check.object(item, key, _SOURCE_KEYS)
        provider = entry.get("provider", "")
        if provider not in PROVIDERS:
            raise check.fail(f"{key}.provider", f"must be one of {PROVIDERS}, not {provider!r}")
        file_path = entry.get("filePath", "").strip()
        if not file_path:
            raise check.fail(f"{key}.filePath", "is required")
        path = (base / file_path).resolve()
        if path in seen:
            raise check.fail(f"{key}.filePath", f"{file_path!r} is listed twice")
        seen.add(path)
        if not path.exists():
            raise check.fail(f"{key}.filePath", f"{file_path!r} does not exist")
        columns = provider in COLUMN_PROVIDERS
        first_column = check.whole(
            entry, "firstVoteColumnIndex", f"{key}.firstVoteColumnIndex", 1, 1000, required=columns
        )
        first_row = check.whole(
            entry, "firstVoteRowIndex", f"{key}.firstVoteRowIndex", 1, 100000, required=columns
        )
        id_column = check.whole(
            entry, "idColumnIndex", f"{key}.idColumnIndex", 1, 1000, required=False
        )
        precinct = check.whole(
            entry, "precinctColumnIndex", f"{key}.precinctColumnIndex", 1, 1000, required=False
        )
        check.whole(entry, "batchColumnIndex", f"{key}.batchColumnIndex", 1, 1000, required=False)
        labels = {
            k: entry.get(k, "").strip()
            for k in ("overvoteLabel", "skippedRankLabel", "undeclaredWriteInLabel")
        }
        delimiter = entry.get("overvoteDelimiter", "")
        contest_id = entry.get("contestId", "").strip()
        if not columns:
            for k in ("firstVoteColumnIndex", "firstVoteRowIndex", "idColumnIndex"):
                if str(entry.get(k, "")).strip():
                    raise check.fail(f"{key}.{k}", f"must not be set for provider {provider!r}")
            if delimiter.strip():
                raise check.fail(f"{key}.overvoteDelimiter", f"is not used by {provider!r}")
            if labels["skippedRankLabel"]:
                raise check.fail(f"{key}.skippedRankLabel", f"is not used by {provider!r}")
            if entry.get("treatBlankAsUndeclaredWriteIn", False):
                raise check.fail(
                    f"{key}.treatBlankAsUndeclaredWriteIn", f"must be false for {provider!r}"
                )
            if provider != "cdf" and labels["overvoteLabel"]:
                raise check.fail(f"{key}.overvoteLabel", f"is not used by {provider!r}")
        if provider in CONTEST_PROVIDERS and not contest_id:
            raise check.fail(f"{key}.contestId", f"is required for provider {provider!r}")
        if provider not in CONTEST_PROVIDERS and contest_id:
            raise check.fail(f"{key}.contestId", f"must not be set for provider {provider!r}")
        if delimiter.strip():
            _check_delimiter(check, f"{key}.overvoteDelimiter", delimiter, labels["overvoteLabel"])
        if provider == "cdf" and path.suffix.lower() not in (".json", ".xml"):
            raise check.fail(f"{key}.filePath", "a CDF file must end in .json or .xml")
        present = [v for v in labels.values() if v]
        for label_key, label in labels.items():
            if label and label.lower() in RESERVED:
                raise check.fail(f"{key}.{label_key}", f"{label!r} is reserved by RCTab")
        if len({v.lower() for v in present}) != len(present):
            raise check.fail(key, "the overvote, skipped-rank and write-in labels must differ")
        rule = rules.get("overvoteRule")
        if labels["overvoteLabel"] and rule not in ("exhaustImmediately", "alwaysSkipToNextRank"):
            raise check.fail(
                f"{key}.overvoteLabel",
                "needs overvoteRule exhaustImmediately or alwaysSkipToNextRank",
            )
        if provider == "ess" and not delimiter.strip() and rule == "exhaustIfMultipleContinuing":
            raise check.fail(
                f"{key}.overvoteDelimiter",
                "is required with overvoteRule exhaustIfMultipleContinuing",
            )
        out.append(
            Source(
                index=i,
                path=path,
                provider=provider,
                contest_id=contest_id,
                first_vote_column=first_column,
                first_vote_row=first_row,
                id_column=id_column,
                precinct_column=precinct,
                overvote_delimiter=delimiter if delimiter.strip() else "",
                overvote_label=labels["overvoteLabel"],
                skipped_rank_label=labels["skippedRankLabel"],
                uwi_label=labels["undeclaredWriteInLabel"],
                blank_is_uwi=bool(entry.get("treatBlankAsUndeclaredWriteIn", False)),
            )
        )
    return tuple(out)


def _check_delimiter(check: _Checker, key: str, delimiter: str, overvote_label: str) -> None:
    # RCTab refuses backslashes and delimiters made only of letters, digits, spaces or . ' , - "
    # (they occur in names).
    if "\\" in delimiter or all(ch.isalnum() or ch in ".',-\" \t" for ch in delimiter):
        raise check.fail(key, f"{delimiter!r} cannot separate names (RCTab's rule)")
    if overvote_label:
        raise check.fail(key, "overvoteDelimiter and overvoteLabel cannot both be set")


def _rules(
    check: _Checker,
    data: Mapping[str, Any],
    candidates: tuple[Candidate, ...],
    declared: int,
    uses_write_ins: bool,
) -> Rules:
    def word(key: str, allowed: tuple[str, ...]) -> str:
        value = data.get(key, "")
        if value not in allowed:
            raise check.fail(f"rules.{key}", f"must be one of {allowed}, not {value!r}")
        return str(value)

    def flag(key: str) -> bool:
        return bool(data.get(key, False))

    tiebreak = word("tiebreakMode", TIEBREAK_MODES[:1] + TIEBREAK_MODES[2:])
    overvote = word("overvoteRule", OVERVOTE_RULES)
    mode = word("winnerElectionMode", WINNER_MODES)
    limit = RANDOM_SEED_LIMIT
    seed = check.whole(data, "randomSeed", "rules.randomSeed", -limit, limit - 1, required=False)
    if seed is None and tiebreak in RANDOM_TIEBREAK_MODES:
        raise check.fail("rules.randomSeed", f"is required with tiebreakMode {tiebreak!r}")
    # RCTab 2.0 allows more seats than candidates (everyone is elected).
    seats = check.whole(data, "numberOfWinners", "rules.numberOfWinners", 0, None, required=True)
    places = check.whole(
        data,
        "decimalPlacesForVoteArithmetic",
        "rules.decimalPlacesForVoteArithmetic",
        1,
        20,
        required=True,
    )
    minimum = check.whole(
        data, "minimumVoteThreshold", "rules.minimumVoteThreshold", 0, 1_000_000, required=False
    )
    percentage = check.whole(
        data,
        "multiSeatBottomsUpPercentageThreshold",
        "rules.multiSeatBottomsUpPercentageThreshold",
        1,
        100,
        required=False,
    )
    skipped = check.whole(
        data,
        "maxSkippedRanksAllowed",
        "rules.maxSkippedRanksAllowed",
        0,
        None,
        required=True,
        words={"unlimited": None},
    )
    rankings = check.whole(
        data,
        "maxRankingsAllowed",
        "rules.maxRankingsAllowed",
        1,
        None,
        required=True,
        words={"max": declared},
    )
    stop = check.whole(
        data,
        "stopTabulationEarlyAfterRound",
        "rules.stopTabulationEarlyAfterRound",
        1,
        None,
        required=False,
    )
    description = data.get("rulesDescription") or None
    try:
        return Rules(
            seats=seats or 0,
            winner_election_mode=mode,
            overvote_rule=overvote,
            max_skipped_ranks=skipped,
            max_rankings=rankings,
            exhaust_on_duplicate=flag("exhaustOnDuplicateCandidate"),
            batch_elimination=flag("batchElimination"),
            tiebreak_mode=tiebreak,
            random_seed=seed,
            decimal_places=places or 4,
            non_integer_threshold=flag("nonIntegerWinningThreshold"),
            hare_quota=flag("hareQuota"),
            continue_until_two=flag("continueUntilTwoCandidatesRemain"),
            first_round_determines_threshold=flag("doesFirstRoundDetermineThreshold"),
            undeclared_write_in=UNDECLARED_WRITE_INS if uses_write_ins else None,
            description=description,
            minimum_vote_threshold=minimum or None,
            bottoms_up_percentage=percentage,
            cutoff_elimination=flag("cutoffElimination"),
            stop_after_round=stop,
            excluded=tuple(c.name for c in candidates if c.excluded),
        )
    except InvalidElectionError as exc:
        raise check.fail("rules", str(exc)) from None
