"""Downloads of a closed ballot: the result as CSV, anonymised cast-vote records, their rules.

CVR files contain the counted choices only, grouped and sorted (never in casting order, never
with trackers), named by option label so other tabulators show readable results:

* ``cdf.json``: NIST SP 1500-103 Cast Vote Record report (JSON), one CVR per ballot; valid
  against NIST's schema, with the method in ``VoteVariation`` and the seats in
  ``NumberElected``.
* ``rctab.csv``: RCTab-style CSV, ``Rank 1`` … ``Rank n`` columns and a ``Count`` column.
* ``blt``: the BLT format (OpenSTV, Droop, ``civicforum-audit tabulate``), with the seats.
* ``pb``: a participatory budget in the Pabulib format (``ballots.budget.cvr_pabulib``),
  which ``civicforum-audit budget FILE --seed <root>`` recounts.
* ``election.json``: civicforum's own election JSON, with the ballot's rules.
* ``rules.json``: the rules every one of them is counted by (``civicforum-rules/1``: method,
  rules, and the published lot: its seed and the option ids it draws over). With it,
  ``civicforum-audit tabulate cvr-N.<format> --rules cvr-N.rules.json`` reproduces the
  published result exactly, ties drawn by lot included (:func:`recount_command`).

Every CSV goes through :mod:`civicforum.tabulation.csvcells`: a label a spreadsheet would run as
a formula is written with a leading apostrophe, which the tabulation readers remove again.
All can be read back by ``civicforum.tabulation.formats`` (tests check the round trip).
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from civicforum.ballots.models import Ballot, Method
from civicforum.tabulation.csvcells import csv_writer
from civicforum.tabulation.rulesfile import rules_file_json

RANKED_FORMATS = ("cdf.json", "rctab.csv", "blt", "election.json", "rules.json")
APPROVAL_FORMATS = ("cdf.json", "election.json", "rules.json")
BUDGET_FORMATS = ("pb",)  # Pabulib (ballots.budget.cvr_pabulib): it carries its rules


def formats_for(ballot: Ballot) -> tuple[str, ...]:
    if ballot.is_budget:
        return BUDGET_FORMATS
    return RANKED_FORMATS if ballot.is_ranked else APPROVAL_FORMATS


def _name(ballot: Ballot, key: str) -> str:
    return ballot.option_by_key()[key].label


def grouped(ballot: Ballot, choices: Iterable[Any]) -> list[tuple[tuple[str, ...], int]]:
    """Counted choices as (option keys in rank/approval order, count), canonically sorted."""
    counter: Counter[tuple[str, ...]] = Counter()
    for choice in choices:
        if ballot.is_ranked:
            counter[tuple(p[0] for p in choice)] += 1
        else:
            counter[tuple(choice)] += 1
    return sorted(counter.items())


def result_csv(ballot: Ballot) -> str:
    """The result round by round: round, option, votes, status (plus exhausted and threshold)."""
    from civicforum.ballots.presentation import fmt, parse_result

    data = parse_result(ballot.result_json or "{}")
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\r\n")
    writer.writerow(["round", "option", "votes", "status", "threshold"])
    labels = {o.key: o.label for o in ballot.options}
    for r in data.get("rounds", []):
        elected, eliminated = set(r["elected"]), set(r["eliminated"])
        threshold = fmt(r["threshold"]) if r.get("threshold") is not None else ""
        for key, votes in r["tally"].items():
            status = "elected" if key in elected else "eliminated" if key in eliminated else ""
            writer.writerow([r["round"], labels.get(key, key), fmt(votes), status, threshold])
        writer.writerow([r["round"], "(exhausted)", fmt(r["exhausted"]), "", threshold])
    for place, key in enumerate(data.get("ranking") or [], 1):
        writer.writerow(["ranking", labels.get(key, key), place, "", ""])
    for key in data.get("winners", []):
        writer.writerow(["winner", labels.get(key, key), "", "elected", ""])
    return out.getvalue()


def cvr_rctab_csv(ballot: Ballot, choices: Iterable[Any]) -> str:
    rows = grouped(ballot, choices)
    width = len(ballot.options)
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\r\n")
    writer.writerow([f"Rank {i}" for i in range(1, width + 1)] + ["Count"])
    for keys, count in rows:
        names = [_name(ballot, k) for k in keys]
        writer.writerow(names + [""] * (width - len(names)) + [count])
    return out.getvalue()


def cvr_blt(ballot: Ballot, choices: Iterable[Any]) -> str:
    number = {o.key: i for i, o in enumerate(ballot.options, 1)}
    lines = [f"{len(ballot.options)} {ballot.seats}"]
    for keys, count in grouped(ballot, choices):
        marks = " ".join(str(number[k]) for k in keys)
        lines.append(f"{count} {marks} 0" if marks else f"{count} 0")
    lines.append("0")
    lines += [_quote(o.label) for o in ballot.options]
    lines.append(_quote(ballot.title))
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    # A BLT name is everything between the first and the last quote of its line, so quotes
    # inside it need no escape and survive the round trip; a line break would end it.
    return '"' + text.replace("\r", " ").replace("\n", " ") + '"'


def cvr_cdf_json(ballot: Ballot, choices: Iterable[Any]) -> str:
    cand = {o.key: f"candidate-{o.key}" for o in ballot.options}
    sel = {o.key: f"selection-{o.key}" for o in ballot.options}
    cvrs = []
    number = 0
    for keys, count in grouped(ballot, choices):
        for _ in range(count):
            number += 1
            selections = [
                {
                    "@type": "CVR.CVRContestSelection",
                    "ContestSelectionId": sel[key],
                    "SelectionPosition": [
                        {
                            "@type": "CVR.SelectionPosition",
                            "HasIndication": "yes",
                            "IsAllocable": "yes",
                            "NumberVotes": 1,
                            **({"Rank": rank} if ballot.is_ranked else {}),
                        }
                    ],
                }
                for rank, key in enumerate(keys, 1)
            ]
            cvrs.append(
                {
                    "@type": "CVR.CVR",
                    "ElectionId": "election-1",
                    "BallotPrePrintedId": str(number),
                    "CurrentSnapshotId": f"snapshot-{number}",
                    "CVRSnapshot": [
                        {
                            "@id": f"snapshot-{number}",
                            "@type": "CVR.CVRSnapshot",
                            "Type": "original",
                            "CVRContest": [
                                {
                                    "@type": "CVR.CVRContest",
                                    "ContestId": "contest-1",
                                    "CVRContestSelection": selections,
                                }
                            ],
                        }
                    ],
                }
            )
    votes_allowed = (
        len(ballot.options)
        if ballot.is_ranked or ballot.max_approvals is None
        else ballot.max_approvals
    )
    variation, other = _vote_variation(ballot.method)
    report = {
        "@type": "CVR.CastVoteRecordReport",
        "Version": "1.0.0",
        "Notes": f"Counted by civicforum; the rules and lot: {recount_command(ballot, 'cdf.json')}",
        "ReportType": ["originating-device-export"],
        "ReportGeneratingDeviceIds": ["device-1"],
        "ReportingDevice": [
            {"@id": "device-1", "@type": "CVR.ReportingDevice", "Application": "civicforum"}
        ],
        "GeneratedDate": (ballot.closed_at or ballot.closes_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "GpUnit": [{"@id": "unit-1", "@type": "CVR.GpUnit", "Type": "other", "Name": "civicforum"}],
        "Election": [
            {
                "@id": "election-1",
                "@type": "CVR.Election",
                "Name": ballot.title,
                "ElectionScopeId": "unit-1",
                "Candidate": [
                    {"@id": cand[o.key], "@type": "CVR.Candidate", "Name": o.label}
                    for o in ballot.options
                ],
                "Contest": [
                    {
                        "@id": "contest-1",
                        "@type": "CVR.CandidateContest",
                        "Name": ballot.title,
                        "VoteVariation": variation,
                        **({"OtherVoteVariation": other} if other else {}),
                        "NumberElected": ballot.seats,
                        "VotesAllowed": votes_allowed,
                        "ContestSelection": [
                            {
                                "@id": sel[o.key],
                                "@type": "CVR.CandidateSelection",
                                "CandidateIds": [cand[o.key]],
                            }
                            for o in ballot.options
                        ],
                    }
                ],
            }
        ],
        "CVR": cvrs,
    }
    return json.dumps(report, ensure_ascii=False, indent=1) + "\n"


def _vote_variation(method: str) -> tuple[str, str | None]:
    """NIST's VoteVariation (and OtherVoteVariation) for a method; the readers map it back."""
    return {
        Method.APPROVAL.value: ("approval", None),
        Method.IRV.value: ("rcv", None),
        Method.STV.value: ("rcv", None),  # with NumberElected above 1
        Method.SCHULZE.value: ("other", "schulze"),
    }[method]


def election_json(ballot: Ballot, choices: Sequence[Any]) -> str:
    """civicforum's election JSON with labels as candidate names and the ballot's rules."""
    from civicforum.ballots.services import ballot_rules

    ballots: list[dict[str, Any]] = []
    for keys, count in grouped(ballot, choices):
        names = [_name(ballot, k) for k in keys]
        if ballot.is_ranked:
            ballots.append({"ranking": [[n] for n in names], "count": count})
        else:
            ballots.append({"approvals": names, "count": count})
    return (
        json.dumps(
            {
                "method": ballot.method,
                "candidates": [o.label for o in ballot.options],
                "rules": ballot_rules(ballot),
                "ballots": ballots,
            },
            ensure_ascii=False,
            indent=1,
        )
        + "\n"
    )


def rules_json(ballot: Ballot, choices: Iterable[Any] = ()) -> str:
    """The rules file of every download: method, rules and the published lot (see the top)."""
    from civicforum.ballots.services import ballot_rules

    seed = bytes.fromhex(ballot.seed_root) if ballot.seed_root else None
    names = {o.label: o.key for o in ballot.options}
    data = rules_file_json(
        method=ballot.method,
        rules=ballot_rules(ballot),
        seed=seed,
        lot_names=names,
        about=(
            f"How ballot {ballot.ledger_id} ({ballot.title}) was counted. Recount a download "
            f"with: {recount_command(ballot, 'rctab.csv')} (or another cvr-{ballot.ledger_id}.* "
            "file)."
        ),
    )
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def download_name(ballot: Ballot, fmt: str) -> str:
    return f"cvr-{ballot.ledger_id}.{fmt}"


def recount_command(ballot: Ballot, fmt: str) -> str:
    """The command that recounts a download exactly as the published result was counted."""
    rules = download_name(ballot, "rules.json")
    return f"civicforum-audit tabulate {download_name(ballot, fmt)} --rules {rules}"
