"""Benchmark civicforum.tabulation against peer libraries on one seeded synthetic profile, and an
RCTab contest at RCTab's own scale-test size.

    .venv/bin/python bench/tabulation/bench_tabulation.py [--quick] [--sizes 10000,100000]
        [--no-peers | --peers pyrankvote,votekit] [--no-rctab-scale]

The profile: 12 options, 1,000,000 ranked ballots, lengths uniform in 1..12, rankings drawn
from a Plackett-Luce model (seeded). It is written once as an RCTab-style CSV in a temporary
directory; each size uses the first N ballots. Every measurement runs in a fresh child process
so that its peak memory (``ru_maxrss``) is its own. Reading (parse + group + canonicalise) and
counting are timed separately (reading also in CPU seconds, all threads, which a busy machine
changes less than elapsed time); reading is timed with the vectorised reader (pyarrow, the
``fast`` extra) and with the careful line-by-line one. Peers (pyrankvote, votekit, pref_voting
-- the ``bench`` extra) run on the same ballots when installed; pref_voting only at 100,000
ballots. Targets (issue #16, 1M ballots): read + count of the CSV <= 0.6 s.

The RCTab scale test: the 2013 Minneapolis mayor CVR (``../shared/conformance/rctab-suite``)
tabulated 13 times over, 1,041,313 ballots, as RCTab's ``2013_minneapolis_mayor_scale`` test
does: thirteen copies of the xlsx named in one configuration, read and counted by RCTab's rules
(``civicforum-audit tabulate --rctab-config``); target <= 5 s. Each round is checked against 13
times RCTab's expected report for one copy. pyrankvote counts the same ballots (its own rules:
it has no overvote or skipped-rank handling). Nothing is asserted: the numbers are printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
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
SUITE = ROOT.parent / "shared" / "conformance" / "rctab-suite"
MPLS = SUITE / "2013_minneapolis_mayor"
COPIES = 13
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

    start, cpu = time.perf_counter(), time.process_time()
    election = read_csv(path)
    read, read_cpu = time.perf_counter() - start, time.process_time() - cpu
    if method == "stv":
        election = dataclasses.replace(election, method="stv", rules=Rules(seats=3))
    start = time.perf_counter()
    result = tabulate(election, lot=SeededLot(b"bench"))
    count = time.perf_counter() - start
    return {
        "load": read,
        "load_cpu": read_cpu,
        "count": count,
        "winners": sorted(result.winners),
        "rounds": len(result.rounds),
        "distinct": len(election.rankings),
    }


def run_careful_read(path: Path, method: str) -> dict[str, Any]:
    """The careful, line-by-line reader alone (what runs without pyarrow)."""
    from civicforum.tabulation.formats import read_csv

    start, cpu = time.perf_counter(), time.process_time()
    election = read_csv(path, fast=False)
    return {
        "load": time.perf_counter() - start,
        "load_cpu": time.process_time() - cpu,
        "ballots": election.total_ballots,
    }


# -- the RCTab scale test ----------------------------------------------------------------------


def scale_config(folder: Path, copies: int = COPIES) -> Path:
    """RCTab's scale test: one configuration naming ``copies`` copies of the 2013 CVR."""
    config = json.loads((MPLS / "2013_minneapolis_mayor_config.json").read_text("utf-8"))
    source = config["cvrFileSources"][0]
    sources = []
    for i in range(copies):
        target = folder / f"2013_minneapolis_mayor_cvr_{i + 1}.xlsx"
        shutil.copyfile(MPLS / source["filePath"], target)
        sources.append({**source, "filePath": target.name})
    config["cvrFileSources"] = sources
    config["outputSettings"]["tabulateByPrecinct"] = False
    path = folder / "2013_minneapolis_mayor_scale_config.json"
    path.write_text(json.dumps(config), "utf-8")
    return path


def run_rctab_scale(config: Path, method: str) -> dict[str, Any]:
    from decimal import Decimal

    from civicforum.tabulation import tabulate
    from civicforum.tabulation.rctab import load_contest

    start, cpu = time.perf_counter(), time.process_time()
    contest = load_contest(config)
    read, read_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    result = tabulate(contest.election)
    count = time.perf_counter() - start
    expected = json.loads(
        (MPLS / "2013_minneapolis_mayor_expected_detailed_report.json").read_text("utf-8")
    )
    copies = len(contest.config.sources)
    agree = len(result.rounds) == len(expected["results"]) and all(
        {k: Decimal(v) * copies for k, v in want["tally"].items()} == dict(got.tally)
        and [t.get("eliminated") for t in want["tallyResults"] if "eliminated" in t]
        == list(got.eliminated)
        for got, want in zip(result.rounds, expected["results"], strict=False)
    )
    return {
        "load": read,
        "load_cpu": read_cpu,
        "count": count,
        "winners": sorted(result.winners),
        "rounds": len(result.rounds),
        "ballots": result.total_ballots,
        "agrees": agree,
    }


def run_pyrankvote_scale(config: Path, method: str) -> dict[str, Any]:
    import pyrankvote

    from civicforum.tabulation import OVERVOTE
    from civicforum.tabulation.rctab import load_contest

    # pyrankvote has no CVR reader: it gets our ballots, each rank's single mark in order
    # (overvotes and blank ranks dropped: its rules are not RCTab's).
    election = load_contest(config).election
    start = time.perf_counter()
    candidates = {name: pyrankvote.Candidate(name) for name in election.options}
    ballots = []
    for ballot in election.ballots:
        names = [next(iter(r)) for r in ballot.ranking if len(r) == 1 and OVERVOTE not in r]
        seen = list(dict.fromkeys(names))
        one = pyrankvote.Ballot(ranked_candidates=[candidates[n] for n in seen])
        ballots += [one] * ballot.count
    load = time.perf_counter() - start
    start = time.perf_counter()
    result = pyrankvote.instant_runoff_voting(list(candidates.values()), ballots)
    count = time.perf_counter() - start
    return {"load": load, "count": count, "winners": sorted(c.name for c in result.get_winners())}


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
    "civicforum-careful": run_careful_read,
    "civicforum-rctab": run_rctab_scale,
    "pyrankvote-rctab": run_pyrankvote_scale,
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
    parser.add_argument(
        "--no-rctab-scale", action="store_true", help="skip the Minneapolis x13 RCTab contest"
    )
    parser.add_argument("--child", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--method", default="irv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.method)
        return
    peers = [p for p in PEERS if p in args.peers.split(",")]
    sizes: tuple[int, ...] = SIZES[:2] if args.quick else SIZES
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    print(f"Python {sys.version.split()[0]}; profile seed {SEED}; 12 options, lengths 1..12")
    print(_machine())
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
            careful = spawn("civicforum-careful", path, "irv")
            print(
                f"careful reader (no pyarrow): read {careful['load']:.3f} s"
                f" (CPU {careful['load_cpu']:.3f} s),"
                f" peak {careful['peak_mib']:.0f} MiB"
            )
            for method in ("irv", "stv"):
                ours = spawn("civicforum", path, method)
                label = "IRV" if method == "irv" else "STV, 3 seats"
                print(
                    f"{label}: civicforum read {ours['load']:.3f} s (vectorised; CPU"
                    f" {ours['load_cpu']:.3f} s), count"
                    f" {ours['count']:.3f} s, read + count"
                    f" {ours['load'] + ours['count']:.3f} s, peak {ours['peak_mib']:.0f} MiB,"
                    f" {ours['distinct']:,} distinct rankings, {ours['rounds']} rounds,"
                    f" winners {ours['winners']}"
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
        if not args.no_rctab_scale:
            rctab_scale(Path(tmp), peers if not args.no_peers else [])
    print(f"\n{_machine()}")


def _machine() -> str:
    """The CPUs and the load on them: a shared machine's timings are only comparable with it."""
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} CPUs; load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def rctab_scale(folder: Path, peers: list[str]) -> None:
    if not MPLS.is_dir():
        print(f"\nRCTab scale test skipped: {MPLS} is absent")
        return
    config = scale_config(folder)
    print(f"\n=== RCTab scale test: 2013 Minneapolis mayor x {COPIES} (xlsx) ===")
    ours = spawn("civicforum-rctab", config, "irv")
    if "skipped" in ours:
        print(f"civicforum skipped: {ours['skipped']}")
        return
    print(
        f"civicforum-audit tabulate --rctab-config: read {ours['load']:.3f} s (CPU"
        f" {ours['load_cpu']:.3f} s), count"
        f" {ours['count']:.3f} s, read + count {ours['load'] + ours['count']:.3f} s, peak"
        f" {ours['peak_mib']:.0f} MiB, {ours['ballots']:,} ballots, {ours['rounds']} rounds,"
        f" winners {ours['winners']}; every round = {COPIES} x RCTab's 2013 report:"
        f" {'yes' if ours['agrees'] else 'NO'}"
    )
    if "pyrankvote" in peers:
        got = spawn("pyrankvote-rctab", config, "irv")
        if "skipped" in got:
            print(f"  pyrankvote   skipped: {got['skipped']}")
        else:
            agree = "agree" if got["winners"] == ours["winners"] else "DISAGREE"
            print(
                f"  pyrankvote   load {got['load']:.2f} s (from our reader), count"
                f" {got['count']:.3f} s ({got['count'] / ours['count']:.0f}x ours), peak"
                f" {got['peak_mib']:.0f} MiB, winners {got['winners']} ({agree})"
            )
    print("  RCTab's documented figure: 1,000,000 ballots in less than 5 minutes, ~4.5 GB")


if __name__ == "__main__":
    main()
