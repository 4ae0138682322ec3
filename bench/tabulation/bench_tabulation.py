"""Benchmark civicforum.tabulation against peer libraries on one seeded synthetic profile.

    .venv/bin/python bench/tabulation/bench_tabulation.py [--quick] [--sizes 10000,100000]
        [--no-peers | --peers pyrankvote,votekit]

The profile: 12 options, 1,000,000 ranked ballots, lengths uniform in 1..12, rankings drawn
from a Plackett-Luce model (seeded). It is written once as an RCTab-style CSV in a temporary
directory; each size uses the first N ballots. Every measurement runs in a fresh child process
so that its peak memory (``ru_maxrss``) is its own. Reading (parse + group + canonicalise) and
counting are timed separately. Peers (pyrankvote, votekit, pref_voting -- the ``bench`` extra)
run on the same ballots when installed; pref_voting only at 100,000 ballots. Targets from the
issue (1M ballots): IRV <= 0.5 s and 3-seat STV <= 1 s of counting, reading <= 3 s, peak memory
<= 300 MiB. Nothing is asserted: the numbers are printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SEED = 20240601
OPTIONS = [f"Option {c}" for c in "ABCDEFGHIJKL"]
WEIGHTS = [0.2, 0.17, 0.14, 0.12, 0.1, 0.08, 0.06, 0.05, 0.035, 0.025, 0.015, 0.01]
SIZES = (10_000, 100_000, 1_000_000)
PEERS = ("pyrankvote", "votekit", "pref_voting")
CHILD_TIMEOUT = 600  # seconds per child run
# A peer is not tried at a 10x larger size after a run slower than this or bigger than this:
# the extrapolated run would take many minutes or gigabytes of a shared machine.
SKIP_AFTER_S = 20.0
SKIP_AFTER_MIB = 600.0


def generate(path: Path, count: int) -> None:
    """Seeded Plackett-Luce rankings (exponential-race sampling), lengths uniform in 1..12."""
    rng = random.Random(SEED)
    race = rng.expovariate
    order = range(len(OPTIONS))
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(f"Rank {i}" for i in range(1, 13)) + "\n")
        rows: list[str] = []
        for _ in range(count):
            length = rng.randint(1, 12)
            keys = [race(1.0) / w for w in WEIGHTS]
            picked = sorted(order, key=keys.__getitem__)[:length]
            rows.append(",".join([OPTIONS[i] for i in picked] + [""] * (12 - length)))
            if len(rows) == 100_000:
                f.write("\n".join(rows) + "\n")
                rows = []
        if rows:
            f.write("\n".join(rows) + "\n")


def head(source: Path, target: Path, count: int) -> None:
    with source.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i > count:
                break
            dst.write(line)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- child runs -------------------------------------------------------------------------------


def run_ours(path: Path, method: str) -> dict[str, Any]:
    import dataclasses

    from civicforum.tabulation import Rules, SeededLot, tabulate
    from civicforum.tabulation.formats import read_csv

    start = time.perf_counter()
    election = read_csv(path)
    read = time.perf_counter() - start
    if method == "stv":
        election = dataclasses.replace(election, method="stv", rules=Rules(seats=3))
    start = time.perf_counter()
    result = tabulate(election, lot=SeededLot(b"bench"))
    count = time.perf_counter() - start
    return {
        "load": read,
        "count": count,
        "winners": sorted(result.winners),
        "rounds": len(result.rounds),
        "distinct": len(election.rankings),
    }


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return [[c for c in row if c] for row in reader]


def run_pyrankvote(path: Path, method: str) -> dict[str, Any]:
    import pyrankvote

    start = time.perf_counter()
    candidates = {name: pyrankvote.Candidate(name) for name in OPTIONS}
    ballots = [pyrankvote.Ballot(ranked_candidates=[candidates[n] for n in r]) for r in _rows(path)]
    load = time.perf_counter() - start
    start = time.perf_counter()
    if method == "irv":
        result = pyrankvote.instant_runoff_voting(list(candidates.values()), ballots)
    else:
        result = pyrankvote.single_transferable_vote(list(candidates.values()), ballots, 3)
    count = time.perf_counter() - start
    return {"load": load, "count": count, "winners": sorted(c.name for c in result.get_winners())}


def run_votekit(path: Path, method: str) -> dict[str, Any]:
    from collections import Counter

    from votekit import RankBallot, RankProfile
    from votekit.elections import IRV, STV

    start = time.perf_counter()
    grouped = Counter(tuple(r) for r in _rows(path))
    ballots = [
        RankBallot(ranking=tuple(frozenset([n]) for n in r), weight=w) for r, w in grouped.items()
    ]
    profile = RankProfile(ballots=ballots, candidates=OPTIONS, max_ranking_length=12)
    load = time.perf_counter() - start
    start = time.perf_counter()
    election = IRV(profile) if method == "irv" else STV(profile, n_seats=3)
    winners = sorted(c for s in election.get_elected() for c in s)
    count = time.perf_counter() - start
    return {"load": load, "count": count, "winners": winners}


def run_pref_voting(path: Path, method: str) -> dict[str, Any]:
    from collections import Counter

    from pref_voting.profiles_with_ties import ProfileWithTies
    from pref_voting.voting_methods import instant_runoff_for_truncated_linear_orders

    if method != "irv":
        return {"skipped": "pref_voting has no STV"}
    start = time.perf_counter()
    grouped = Counter(tuple(r) for r in _rows(path))
    rankings = [{n: i + 1 for i, n in enumerate(r)} for r in grouped]
    profile = ProfileWithTies(rankings, rcounts=list(grouped.values()), candidates=OPTIONS)
    load = time.perf_counter() - start
    start = time.perf_counter()
    winners = instant_runoff_for_truncated_linear_orders(profile)
    count = time.perf_counter() - start
    return {"load": load, "count": count, "winners": sorted(winners)}


RUNNERS = {
    "civicforum": run_ours,
    "pyrankvote": run_pyrankvote,
    "votekit": run_votekit,
    "pref_voting": run_pref_voting,
}


def child(who: str, path: Path, method: str) -> None:
    try:
        out = RUNNERS[who](path, method)
    except ImportError as exc:
        out = {"skipped": f"not installed ({exc.name})"}
    except MemoryError:
        out = {"skipped": "out of memory"}
    out["peak_mib"] = peak_mib()
    print(json.dumps(out))


def spawn(who: str, path: Path, method: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", who, "--file", str(path), "--method", method]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"gave up after {CHILD_TIMEOUT} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"failed: {last[:120]}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- driver -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k ballots only")
    parser.add_argument("--sizes", help="comma-separated ballot counts")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help=f"comma-separated subset of {','.join(PEERS)} (default: all)",
    )
    parser.add_argument("--child", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--method", default="irv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.method)
        return
    peers = [p for p in PEERS if p in args.peers.split(",")]
    sizes = SIZES[:2] if args.quick else SIZES
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    print(f"Python {sys.version.split()[0]}; profile seed {SEED}; 12 options, lengths 1..12")
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / f"profile_{max(sizes)}.csv"
        start = time.perf_counter()
        generate(full, max(sizes))
        print(f"generated {max(sizes):,} ballots in {time.perf_counter() - start:.1f} s")
        too_slow: set[tuple[str, str]] = set()
        for size in sizes:
            path = full
            if size != max(sizes):
                path = Path(tmp) / f"profile_{size}.csv"
                head(full, path, size)
            megabytes = path.stat().st_size / 1e6
            print(f"\n=== {size:,} ballots ({megabytes:.1f} MB CSV) ===")
            for method in ("irv", "stv"):
                ours = spawn("civicforum", path, method)
                label = "IRV" if method == "irv" else "STV, 3 seats"
                print(
                    f"{label}: civicforum read {ours['load']:.3f} s, count {ours['count']:.3f} s,"
                    f" peak {ours['peak_mib']:.0f} MiB, {ours['distinct']:,} distinct rankings,"
                    f" {ours['rounds']} rounds, winners {ours['winners']}"
                )
                if args.no_peers:
                    continue
                fastest = None
                for peer in peers:
                    if peer == "pref_voting" and size != 100_000:
                        continue
                    if (peer, method) in too_slow:
                        print(f"  {peer:<12} skipped: too slow or too big at the previous size")
                        continue
                    got = spawn(peer, path, method)
                    if "skipped" in got:
                        print(f"  {peer:<12} skipped: {got['skipped']}")
                        continue
                    slow = got["load"] + got["count"] > SKIP_AFTER_S
                    if slow or got["peak_mib"] > SKIP_AFTER_MIB:
                        too_slow.add((peer, method))
                    agree = "agree" if got["winners"] == ours["winners"] else "DISAGREE"
                    ratio = got["count"] / ours["count"] if ours["count"] else float("inf")
                    fastest = min(fastest or got["count"], got["count"])
                    print(
                        f"  {peer:<12} load {got['load']:.2f} s, count {got['count']:.3f} s"
                        f" ({ratio:.0f}x ours), peak {got['peak_mib']:.0f} MiB,"
                        f" winners {got['winners']} ({agree})"
                    )
                if fastest is not None:
                    print(f"  civicforum vs fastest peer: {fastest / ours['count']:.1f}x faster")


if __name__ == "__main__":
    main()
