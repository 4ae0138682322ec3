"""Published results must not change when the tabulator grows: the vote log hashes them, and
``civicforum-audit verify`` recounts every closed ballot and compares the bytes.

400 seeded random ballots (IRV, STV, approval, Schulze, with the default rules and the lot, as
civicforum counts its own ballots; 164 of them need tie-breaks) were counted by the tabulator
before RCTab's rule options were added (commit c39b0cd); the digest of their result JSON must
stay the same.
"""

from __future__ import annotations

import hashlib
import json
import random

from civicforum.tabulation import Ballot, Rules, SeededLot, make_election, result_to_json, tabulate

DIGEST = "0566e050c9ffb8e4ffc189097962059396395f26ce5e02ade27db913c95a5729"


def test_results_of_civicforum_ballots_are_byte_identical() -> None:
    out = []
    rng = random.Random(7)
    for i in range(400):
        method = rng.choice(["irv", "stv", "approval", "schulze"])
        n = rng.randint(2, 6)
        opts = [f"o{j}" for j in range(n)]
        ballots = []
        for _ in range(rng.randint(0, 30)):
            k = rng.randint(0, n)
            if method == "approval":
                ballots.append(Ballot((frozenset(rng.sample(opts, k)),) if k else ()))
            else:
                ballots.append(Ballot(tuple(frozenset([o]) for o in rng.sample(opts, k))))
        seats = rng.randint(1, n - 1) if method in ("stv", "approval") and n > 2 else 1
        election = make_election(method, opts, ballots, Rules.from_json({"seats": seats}))
        result = tabulate(election, lot=SeededLot(b"seed%d" % i))
        out.append(json.dumps(result_to_json(result), sort_keys=True, default=str))
    assert hashlib.sha256("\n".join(out).encode()).hexdigest() == DIGEST
