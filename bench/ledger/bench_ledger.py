"""Ledger benchmarks (printed, not asserted).

    .venv/bin/python bench/ledger/bench_ledger.py [--quick] [--entries N] [--dir DIR]

1. Inclusion and consistency proofs at N entries (default 1,000,000) from stored subtree hashes
   (``MemoryHashSource``: one list per level, as a database table of nodes would hold them).
   Target: <= 5 ms each.
2. ``civicforum-audit verify`` on an N-entry export (ballots of 1,000 votes, a checkpoint every
   1,000 entries and after each closing, every result recounted), run as a subprocess; wall time
   and peak RSS, for N and N/10 to show memory does not grow with the log. Target: <= 20 s at 1M.
   Beside it: the time to SHA-256 the export's files once (the floor for any verifier).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from civicforum.audit_tool.recount import recount
from civicforum.ledger import entry as E
from civicforum.ledger import merkle, note
from civicforum.ledger.checkpoint import Checkpoint, sign_checkpoint
from civicforum.ledger.export import ExportWriter

ORIGIN = "bench.example.org/civicforum/votes"
DAY = "2025-06-01"
BALLOT_SIZE = 1000
OPTIONS = ("a", "b", "c", "d", "e")


def bench_proofs(n: int, samples: int = 2000) -> None:
    rng = random.Random(1)
    t0 = time.perf_counter()
    source = merkle.MemoryHashSource()
    for i in range(n):
        source.append(merkle.leaf_hash(i.to_bytes(8, "big")))
    build = time.perf_counter() - t0
    root = source.root()
    print(f"built stored subtree hashes for {n:,} leaves in {build:.1f} s")

    cases = [(rng.randrange(n), n) for _ in range(samples)]
    t0 = time.perf_counter()
    for index, size in cases:
        proof = merkle.inclusion_proof(source, index, size)
    per = (time.perf_counter() - t0) / samples
    print(f"inclusion proof at {n:,}: {per * 1e3:.3f} ms to generate ({len(proof)} hashes)")

    pairs = [(rng.randrange(1, n), n) for _ in range(samples)]
    t0 = time.perf_counter()
    for size1, size2 in pairs:
        proof = merkle.consistency_proof(source, size1, size2)
    per = (time.perf_counter() - t0) / samples
    print(f"consistency proof to {n:,}: {per * 1e3:.3f} ms to generate ({len(proof)} hashes)")

    # The same through a (level, index) -> hash callable over a dict, as a database lookup would.
    nodes = {(lv, i): h for lv, row in enumerate(source.levels) for i, h in enumerate(row)}
    as_dict = merkle.FunctionHashSource(lambda level, index: nodes[(level, index)])
    t0 = time.perf_counter()
    for index, size in cases:
        merkle.inclusion_proof(as_dict, index, size)
    for size1, size2 in pairs:
        merkle.consistency_proof(as_dict, size1, size2)
    per = (time.perf_counter() - t0) / (2 * samples)
    print(f"proofs from a dict of {len(nodes):,} stored nodes: {per * 1e3:.3f} ms each")

    t0 = time.perf_counter()
    for index, size in cases[:500]:
        p = merkle.inclusion_proof(source, index, size)
        merkle.verify_inclusion(index, size, source.subtree_hash(0, index), p, root)
    per = (time.perf_counter() - t0) / 500
    print(f"inclusion proof generate + verify: {per * 1e3:.3f} ms")


def build_export(directory: Path, n: int) -> None:
    """Write an n-entry vote log export with the streaming writer."""
    signer = note.signer_from_seed(ORIGIN, b"b" * 32)
    frontier = merkle.CompactRange()
    checkpoints: list[str] = []
    results: dict[str, bytes] = {}
    rng = random.Random(7)

    last_signed: list[Checkpoint] = []

    def sign() -> Checkpoint:
        if last_signed and last_signed[-1].size == frontier.size:
            return last_signed[-1]
        cp = Checkpoint(ORIGIN, frontier.size, frontier.root())
        checkpoints.append(sign_checkpoint(cp, signer))
        last_signed.append(cp)
        return cp

    def entries() -> Iterator[bytes]:
        count = 0
        ballot_no = 0

        def emit(data: bytes) -> bytes:
            nonlocal count
            frontier.append(merkle.leaf_hash(data))
            count += 1
            if count % 1000 == 0:
                sign()
            return data

        while count < n:
            ballot_no += 1
            ballot = f"b{ballot_no}"
            votes = max(0, min(BALLOT_SIZE, n - count) - 3)
            opened = E.ballot_opened(
                ballot=ballot,
                title=f"Bench ballot {ballot_no}",
                method="approval",
                options=[(o, o.upper()) for o in OPTIONS],
                rules={"seats": 1, "maxApprovals": 3},
                eligibility="members",
                secret=True,
                vote_changes=True,
                day=DAY,
            )
            yield emit(opened)
            if count >= n:
                break
            choices = []
            for v in range(votes):
                choice = sorted(rng.sample(OPTIONS, rng.randint(0, 3)))
                choices.append(choice)
                tracker = f"{ballot_no:016x}{v:016x}"
                yield emit(E.ballot_cast(ballot=ballot, tracker=tracker, choice=choice, day=DAY))
            if count + 2 > n:
                break
            closed = E.ballot_closed(
                ballot=ballot, cast=votes, superseded=0, counted=votes, roll=votes, day=DAY
            )
            yield emit(closed)
            cp = sign()  # the lot seed: a checkpoint right after closing
            opened_json = E.decode_entry(opened, E.VOTE_LOG)
            result = E.canonical_json(recount(opened_json, choices, cp.root))
            results[ballot] = result
            yield emit(
                E.result_published(
                    ballot=ballot,
                    result_sha256=hashlib.sha256(result).hexdigest(),
                    checkpoint_size=cp.size,
                    checkpoint_root=cp.root.hex(),
                    day=DAY,
                )
            )

    with ExportWriter(directory) as writer:
        writer.write_log(
            E.VOTE_LOG,
            origin=ORIGIN,
            verifier_key=signer.verifier.text,
            entries=entries(),
            checkpoints=checkpoints,
        )
        for ballot, data in results.items():
            writer.write_result(ballot, data)
    (directory / "votes.vkey").write_text(signer.verifier.text + "\n")


# The child reports its own high-water RSS (VmHWM is per address space, so it is not inflated
# by the parent's memory at fork time, unlike RUSAGE_CHILDREN).
CHILD = """
import sys
from civicforum.audit_tool.cli import main
code = main()
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print("HWM", int(line.split()[1]), file=sys.stderr)
sys.exit(code)
"""


def run_verify(directory: Path) -> tuple[float, float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            "verify",
            str(directory),
            "--key",
            str(directory / "votes.vkey"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    hwm = [int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("HWM ")]
    status = "VERIFIED" if proc.returncode == 0 else f"FAILED: {proc.stderr.strip()[-300:]}"
    return elapsed, cpu, (hwm[0] / 1024 if hwm else float("nan")), status


def hash_floor(directory: Path) -> float:
    t0 = time.perf_counter()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            h = hashlib.sha256()
            with path.open("rb") as fp:
                while chunk := fp.read(1 << 20):
                    h.update(chunk)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100,000 entries instead of 1M")
    parser.add_argument("--entries", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=None, help="keep the exports here")
    args = parser.parse_args()
    n = args.entries or (100_000 if args.quick else 1_000_000)

    base = args.dir or Path(tempfile.mkdtemp(prefix="civicforum-bench-"))
    for size in (n // 10, n):
        directory = base / f"export-{size}"
        if not (directory / "manifest.json").exists():
            t0 = time.perf_counter()
            build_export(directory, size)
            print(f"built a {size:,}-entry export in {time.perf_counter() - t0:.1f} s")
        total = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
        elapsed, cpu, rss, status = run_verify(directory)
        floor = hash_floor(directory)
        print(
            f"== verify {size:,} entries ({total / 1e6:.0f} MB): {elapsed:.1f} s wall, "
            f"{cpu:.1f} s CPU, "
            f"peak RSS {rss:.0f} MB, {status}; SHA-256 of the files once: {floor:.2f} s"
        )
    print(f"exports kept in {base}")

    print(f"== proofs at {n:,} entries")
    bench_proofs(n)


if __name__ == "__main__":
    main()
