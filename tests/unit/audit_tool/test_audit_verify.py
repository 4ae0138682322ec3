"""`civicforum-audit verify` on synthetic exports: a clean one passes, every tampering is caught."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from ledger_export_builder import (
    DAY,
    VOTES_ORIGIN,
    Election,
    LogBuilder,
    civic_log,
    standard_election,
    uncovered_tail_export,
    write_export,
)

from civicforum.audit_tool.recount import recount
from civicforum.audit_tool.verify import PinnedWitness, Report, verify_export
from civicforum.ledger import entry as E
from civicforum.ledger import note
from civicforum.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from civicforum.ledger.cosignature import cosign, generate_witness_key
from civicforum.ledger.export import ExportError, open_export, zip_export
from civicforum.ledger.merkle import leaf_hash


def run(path: Path, **kwargs: object) -> Report:
    kwargs.setdefault("recount", recount)
    with open_export(path) as reader:
        return verify_export(reader, **kwargs)  # type: ignore[arg-type]


def only_problem(report: Report) -> tuple[int | None, str]:
    assert not report.ok, report.format()
    assert len(report.problems) == 1, report.format()
    problem = report.problems[0]
    return problem.index, problem.message


def only_report_problem(report: Report) -> object:
    only_problem(report)
    return report.problems[0]


@pytest.fixture
def election() -> Election:
    return standard_election(every=1)


def test_clean_export_verifies(tmp_path: Path, election: Election) -> None:
    civic = civic_log()
    path = write_export(tmp_path, election.votes, election.results, civic)
    report = run(path, trusted_keys=[election.votes.key, civic.key])
    assert report.ok, report.format()
    votes = report.logs[0]
    assert votes.size == len(election.votes.entries)
    assert votes.root == election.votes.source.root()
    assert votes.recounted == 2
    assert votes.warnings == []
    assert "VERIFIED" in report.format()


def test_zip_export_and_progress(
    tmp_path: Path, election: Election, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_export(tmp_path / "dir", election.votes, election.results)
    zip_export(folder, tmp_path / "export.zip")
    messages: list[str] = []
    monkeypatch.setattr("civicforum.audit_tool.verify.PROGRESS_EVERY", 5)
    report = run(
        tmp_path / "export.zip", trusted_keys=[election.votes.key], progress=messages.append
    )
    assert report.ok, report.format()
    assert messages and messages[0] == "votes: 5 entries verified"


def rewrite_entries(path: Path, edit: object) -> None:
    """Edit raw entries.jsonl lines (leaf hashes untouched unless ``edit`` changes them)."""
    file = path / "votes" / "entries.jsonl"
    lines = edit(file.read_bytes().splitlines(keepends=True))  # type: ignore[operator]
    file.write_bytes(b"".join(lines))


def test_changed_entry_with_stale_leaf_hash_is_named(tmp_path: Path, election: Election) -> None:
    path = write_export(tmp_path, election.votes, election.results)

    def edit(lines: list[bytes]) -> list[bytes]:
        lines[2] = lines[2].replace(b'["b"]', b'["c"]')
        return lines

    rewrite_entries(path, edit)
    index, message = only_problem(run(path))
    assert index == 2 and "leaf hash" in message


def changed_choice(entries: list[bytes], index: int) -> list[bytes]:
    out = list(entries)
    out[index] = out[index].replace(b'["b"]', b'["c"]')
    assert out[index] != entries[index]
    return out


@pytest.mark.parametrize("every", [1, 4])
def test_changed_entry_with_fixed_leaf_hash(tmp_path: Path, every: int) -> None:
    el = standard_election(every=every)
    path = write_export(tmp_path, el.votes, el.results, entries=changed_choice(el.votes.entries, 2))
    report = run(path, trusted_keys=[el.votes.key])
    index, message = only_problem(report)
    problem = report.problems[0]
    assert "differs from the signed checkpoint" in message
    assert index is not None and index <= 2 < (problem.last or index) + 1
    if every == 1:  # a checkpoint per entry pins the exact entry
        assert str(problem) == (
            "votes entry 2: the root at size 3 differs from the signed checkpoint; this entry "
            "was changed, inserted, removed or reordered after signing"
        )
    else:  # the range between the last good checkpoint (0) and the first bad one (size 4)
        assert (index, problem.last) == (0, 3)
        assert str(problem) == (
            "votes entries 0..3: the root at size 4 differs from the signed checkpoint; one of "
            "these entries was changed, inserted, removed or reordered after signing"
        )


def test_deleted_entry_line_is_named(tmp_path: Path, election: Election) -> None:
    path = write_export(tmp_path, election.votes, election.results)
    rewrite_entries(path, lambda lines: lines[:3] + lines[4:])
    index, message = only_problem(run(path))
    assert index == 3 and "missing or out of order" in message


def test_deleted_entry_renumbered(tmp_path: Path, election: Election) -> None:
    entries = election.votes.entries[:3] + election.votes.entries[4:]
    path = write_export(tmp_path, election.votes, election.results, entries=entries)
    index, message = only_problem(run(path))
    assert index == 3, message


def test_reordered_entries(tmp_path: Path, election: Election) -> None:
    entries = list(election.votes.entries)
    entries[2], entries[3] = entries[3], entries[2]
    path = write_export(tmp_path, election.votes, election.results, entries=entries)
    index, message = only_problem(run(path))
    assert index == 2 and "signed checkpoint" in message


def test_reordered_lines_keep_their_numbers(tmp_path: Path, election: Election) -> None:
    path = write_export(tmp_path, election.votes, election.results)

    def swap(lines: list[bytes]) -> list[bytes]:
        lines[2], lines[3] = lines[3], lines[2]
        return lines

    rewrite_entries(path, swap)
    index, message = only_problem(run(path))
    assert index == 2 and "out of order" in message


def test_inserted_entry(tmp_path: Path, election: Election) -> None:
    extra = E.ballot_cast(ballot="b1", tracker="f" * 32, choice=["a"], day=DAY)
    entries = election.votes.entries[:4] + [extra] + election.votes.entries[4:]
    path = write_export(tmp_path, election.votes, election.results, entries=entries)
    index, message = only_problem(run(path))
    assert index == 4, message


def test_truncated_log_against_saved_checkpoint(tmp_path: Path, election: Election) -> None:
    saved = election.votes.checkpoints[-1]
    full = len(election.votes.entries)
    keep = 6
    path = write_export(
        tmp_path,
        election.votes,
        {},
        entries=election.votes.entries[:keep],
        checkpoints=[c for c in election.votes.checkpoints if int(c.split("\n")[1]) <= keep],
    )
    # Without the saved checkpoint the truncated log is self-consistent ...
    assert run(path, trusted_keys=[election.votes.key]).ok
    # ... but a checkpoint saved earlier (by a voter, a witness, an auditor) exposes it.
    index, message = only_problem(
        run(path, trusted_keys=[election.votes.key], saved_checkpoints=[saved])
    )
    assert index == keep and f"size {full}" in message and "removed" in message


def test_fork_against_saved_checkpoint(tmp_path: Path, election: Election) -> None:
    saved = election.votes.checkpoints[9]  # size 10
    fork = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=1)  # same key
    for data in election.votes.entries[:6]:
        fork.add(data)
    fork.add(election.votes.entries[6].replace(b"Ballot b2", b"Ballot B2"))
    for data in election.votes.entries[7:10]:
        fork.add(data)
    fork.add(E.ballot_cast(ballot="b2", tracker="e" * 32, choice=[["z"]], day=DAY, voter="dan"))
    assert run(write_export(tmp_path / "alone", fork, {})).ok  # consistent on its own
    path = write_export(tmp_path, fork, {})
    index, message = only_problem(run(path, trusted_keys=[fork.key], saved_checkpoints=[saved]))
    assert "FORK" in message and index == 0
    assert str(only_report_problem(run(path, saved_checkpoints=[saved]))).startswith(
        "votes entries 0..9: FORK: the root at size 10 differs from the saved checkpoint; "
        "one of these entries was rewritten"
    )
    # A saved checkpoint of the other log (another origin) is ignored; a forged one is rejected.
    other = LogBuilder(E.CIVIC_LOG, "other.example/log", seed=b"o" * 32, every=1)
    other.add(b"x")
    assert run(path, saved_checkpoints=[other.checkpoints[0]]).ok
    forged = saved.replace("\n10\n", "\n11\n")
    _, message = only_problem(run(path, saved_checkpoints=[forged]))
    assert "saved checkpoint not signed" in message
    _, message = only_problem(run(path, saved_checkpoints=["garbage"]))
    assert "unreadable saved checkpoint" in message


def test_forged_checkpoint(tmp_path: Path, election: Election) -> None:
    checkpoints = list(election.votes.checkpoints)
    lines = checkpoints[4].split("\n")
    lines[2] = "A" * 43 + "="  # another root under the original signature
    checkpoints[4] = "\n".join(lines)
    path = write_export(tmp_path, election.votes, election.results, checkpoints=checkpoints)
    index, message = only_problem(run(path))
    assert index is None and "size 5 does not verify" in message


def test_rekeyed_export(tmp_path: Path, election: Election) -> None:
    impostor = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"i" * 32, every=1)
    for data in election.votes.entries:
        impostor.add(data)
    path = write_export(tmp_path, impostor, election.results)
    assert run(path).ok  # self-consistent: only the pinned key can tell
    index, message = only_problem(run(path, trusted_keys=[election.votes.key]))
    assert index is None and "RE-KEYED" in message
    # Same key file but checkpoints from another key: each signature line is unknown.
    mixed = write_export(
        tmp_path / "mixed", election.votes, election.results, checkpoints=impostor.checkpoints
    )
    _, message = only_problem(run(mixed, trusted_keys=[election.votes.key]))
    assert "not signed by a trusted key" in message


def test_result_that_does_not_match_the_recount(tmp_path: Path) -> None:
    votes = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    el = Election(votes)
    el.open("b1")
    el.cast("b1", ["a"])
    el.cast("b1", ["a", "b"])
    closing = el.close("b1")
    index = el.publish("b1", closing, tamper=True)
    votes.sign()
    path = write_export(tmp_path, votes, el.results)
    found, message = only_problem(run(path))
    assert found == index and "differs from the published result" in message
    # --skip-recount still checks the hash, and says what was not recounted.
    report = run(path, recount=None)
    assert report.ok and report.logs[0].not_recounted == ["b1"]
    assert "NOT recounted" in report.format()


def test_edited_result_file(tmp_path: Path, election: Election) -> None:
    path = write_export(tmp_path, election.votes, election.results)
    (path / "results" / "b1.json").write_bytes(b"{}")
    index, message = only_problem(run(path))
    assert "does not match result_sha256" in message
    (path / "results" / "b1.json").unlink()
    index, message = only_problem(run(path))
    assert "missing" in message


def test_recount_that_raises(tmp_path: Path, election: Election) -> None:
    def broken(*args: object) -> dict[str, object]:
        raise RuntimeError("boom")

    path = write_export(tmp_path, election.votes, election.results)
    _, message = only_problem(run(path, recount=broken))
    assert "recount of ballot b1 failed: boom" in message


def test_closed_without_its_checkpoint(tmp_path: Path) -> None:
    votes = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    el = Election(votes)
    el.open("b1")
    votes.add(E.ballot_closed(ballot="b1", cast=0, superseded=0, counted=0, roll=0, day=DAY))
    el.open("b2")
    votes.sign()
    report = run(write_export(tmp_path, votes, {}))
    assert only_problem(report) == (
        1,
        "no signed checkpoint right after ballot.closed (the lot seed)",
    )


def test_uncovered_tail_fails_and_names_its_first_entry(tmp_path: Path) -> None:
    # Nothing signed that entry any more, so nothing can vouch for it.
    path, el, last = uncovered_tail_export(tmp_path)
    report = run(path, trusted_keys=[el.votes.key])
    assert only_problem(report) == (
        last,
        f"not covered by any signed checkpoint (the last one has size {last}; entry {last} is "
        "not covered)",
    )
    assert f"votes entry {last}: not covered by any signed checkpoint" in report.format()
    assert report.format().endswith("VERIFICATION FAILED")


def test_pending_result_warns_and_unsigned_tail_fails(tmp_path: Path) -> None:
    # This export legitimately lacks a covering checkpoint (entry 2 was never signed): an export
    # must be complete, so it now fails; the unpublished result stays a warning.
    votes = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    el = Election(votes)
    el.open("b1")
    el.close("b1")
    el.open("b2")
    path = write_export(tmp_path, votes, {})
    assert only_problem(run(path)) == (
        2,
        "not covered by any signed checkpoint (the last one has size 2; entry 2 is not covered)",
    )
    # A live log (not an export: the server's self-audit) may await its next checkpoint.
    report = run(path, require_covered=False)
    assert report.ok, report.format()
    warnings = report.logs[0].warnings
    assert any("no published result" in w for w in warnings)
    assert "entry 2 is not yet covered by a signed checkpoint (the last one has size 2)" in warnings


def test_log_without_any_checkpoint(tmp_path: Path) -> None:
    votes = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    el = Election(votes)
    el.open("b1")
    el.cast("b1", ["a"])
    el.cast("b1", ["b"])
    path = write_export(tmp_path, votes, {})
    assert only_problem(run(path)) == (
        0,
        "not covered by any signed checkpoint (this log has none; entries 0..2 are not covered)",
    )
    report = run(path, trusted_keys=[votes.key], require_covered=False)
    assert report.logs[0].warnings == [
        "entries 0..2 are not yet covered by a signed checkpoint (this log has none)"
    ]
    # An empty log needs no checkpoint at all.
    empty = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    report = run(write_export(tmp_path / "empty", empty, {}), trusted_keys=[empty.key])
    assert report.ok and report.logs[0].warnings == [], report.format()


def test_uncovered_tail_is_only_a_warning_for_a_live_log(tmp_path: Path) -> None:
    # The server's self-audit (require_covered=False): its newest entries may await a checkpoint.
    votes = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    Election(votes).open("b1")
    with open_export(write_export(tmp_path, votes, {})) as reader:
        report = verify_export(reader, recount=recount, require_covered=False)
    assert report.ok, report.format()
    assert "entry 0 is not yet covered" in report.format()


def test_invalid_entry_and_manifest_size(tmp_path: Path, election: Election) -> None:
    path = write_export(tmp_path, election.votes, election.results)

    def edit(lines: list[bytes]) -> list[bytes]:
        bad = b'{"v": 1}'
        lines[1] = b'{"entry":%s,"index":1,"leaf_hash":"%s"}\n' % (
            bad,
            leaf_hash(bad).hex().encode(),
        )
        return lines

    rewrite_entries(path, edit)
    index, message = only_problem(run(path))
    assert index == 1 and "invalid entry" in message

    path2 = write_export(tmp_path / "m", election.votes, election.results)
    manifest = json.loads((path2 / "manifest.json").read_text())
    manifest["logs"]["votes"]["size"] += 1
    (path2 / "manifest.json").write_text(json.dumps(manifest))
    _, message = only_problem(run(path2))
    assert "manifest says" in message


def test_checkpoint_file_problems(tmp_path: Path, election: Election) -> None:
    path = write_export(tmp_path, election.votes, election.results)
    file = path / "votes" / "checkpoints.jsonl"
    rows = [json.loads(line) for line in file.read_text().splitlines()]
    rows[1]["size"] = 7
    file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _, message = only_problem(run(path))
    assert "out of order or mislabelled" in message
    file.write_text("not json\n")
    _, message = only_problem(run(path))
    assert "malformed export" in message
    (path / "votes" / "log.vkey").write_text("nonsense\n")
    _, message = only_problem(run(path))
    assert "unreadable log.vkey" in message


def test_vkey_naming_another_origin(tmp_path: Path, election: Election) -> None:
    path = write_export(tmp_path, election.votes, election.results)
    other = note.signer_from_seed("elsewhere.example/votes", b"e" * 32)
    (path / "votes" / "log.vkey").write_text(other.verifier.text)
    _, message = only_problem(run(path))
    assert "another origin" in message


def test_cosignatures(tmp_path: Path, election: Election) -> None:
    w_skey, w_vkey = generate_witness_key("witness.example/w1")
    witness = note.parse_signer_key(w_skey)
    signed = election.votes.sign()
    cosig = cosign(signed.checkpoint, witness, 1_700_000_000)
    size = signed.checkpoint.size
    # One cosignature embedded in the checkpoint note, one in cosignatures.jsonl.
    checkpoints = election.votes.checkpoints[:-1] + [signed.text + cosig.line]
    rows = [(size, w_vkey.decode(), cosig.line), (size, "other.example+00000000+AQ==", cosig.line)]
    path = write_export(
        tmp_path, election.votes, election.results, checkpoints=checkpoints, cosignatures=rows[:1]
    )
    report = run(path, witnesses=[witness.verifier])
    assert report.ok, report.format()
    assert report.logs[0].cosignatures_verified == 2
    assert report.warnings == []
    assert run(path).logs[0].cosignatures_unverified == 1

    bad = write_export(
        tmp_path / "bad",
        election.votes,
        election.results,
        cosignatures=[(size - 1, w_vkey.decode(), cosig.line)],
    )
    _, message = only_problem(run(bad, witnesses=[witness.verifier]))
    assert "invalid cosignature" in message
    missing = write_export(
        tmp_path / "missing",
        election.votes,
        election.results,
        cosignatures=[(size + 5, w_vkey.decode(), cosig.line)],
    )
    _, message = only_problem(run(missing, witnesses=[witness.verifier]))
    assert "has no checkpoint" in message
    malformed = write_export(
        tmp_path / "malformed", election.votes, election.results, cosignatures=rows[1:]
    )
    _, message = only_problem(run(malformed))
    assert "malformed witness key" in message


def test_not_an_export(tmp_path: Path) -> None:
    with pytest.raises(ExportError):
        open_export(tmp_path)
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(ExportError):
        open_export(tmp_path / "x.zip")
    with zipfile.ZipFile(tmp_path / "y.zip", "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ExportError):
        open_export(tmp_path / "y.zip")
    (tmp_path / "manifest.json").write_text('{"format": "other"}')
    with pytest.raises(ExportError):
        open_export(tmp_path)


def test_log_ending_inside_a_vote_change(tmp_path: Path) -> None:
    votes = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=1)
    el = Election(votes)
    el.open("b1")
    t1 = el.cast("b1", ["a"])
    votes.add(E.ballot_superseded(ballot="b1", tracker=t1, day=DAY))
    index, message = only_problem(run(write_export(tmp_path, votes, {})))
    assert index == 2 and "ends between" in message


def test_empty_checkpoints(tmp_path: Path) -> None:
    votes = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=1)
    empty = votes.sign().text  # size 0, the empty-tree root
    Election(votes).open("b1")
    report = run(write_export(tmp_path / "ok", votes, {}), saved_checkpoints=[empty])
    assert report.ok and report.logs[0].checkpoints == 2, report.format()
    wrong = sign_checkpoint(Checkpoint(VOTES_ORIGIN, 0, b"\x01" * 32), votes.signer)
    _, message = only_problem(run(tmp_path / "ok", saved_checkpoints=[wrong]))
    assert "size 0 has a non-empty root" in message
    report = run(tmp_path / "ok", saved_checkpoints=[wrong])
    assert "entries read before the problem: 0" in report.format()


def test_a_pinned_witness_must_have_cosigned_the_latest_checkpoint(
    tmp_path: Path, election: Election
) -> None:
    w_skey, _ = generate_witness_key("witness.example/w1")
    idle = note.parse_signer_key(generate_witness_key("witness.example/idle")[0])
    witness = note.parse_signer_key(w_skey)
    signed = election.votes.sign()
    cosig = cosign(signed.checkpoint, witness, 1_700_000_000)
    checkpoints = election.votes.checkpoints[:-1] + [signed.text + cosig.line]
    path = write_export(tmp_path, election.votes, election.results, checkpoints=checkpoints)
    assert run(path, witnesses=[witness.verifier]).ok
    # A witness that cosigned nothing protects nothing: a wrong key, or a state it never saw.
    _, message = only_problem(run(path, witnesses=[witness.verifier, idle.verifier]))
    assert "pinned witness witness.example/idle did not cosign the latest checkpoint" in message
    assert "it cosigned no checkpoint" in message
    _, message = only_problem(run(path, witnesses=[election.votes.key]))
    assert "is not a cosignature key" in message
    # The same witness, scoped to the civic log, is not required on the votes log.
    scoped = PinnedWitness(idle.verifier, frozenset({"civic"}))
    assert run(path, witnesses=[witness.verifier, scoped]).ok


def test_a_fork_fails_with_the_witness_pinned(tmp_path: Path) -> None:
    # The witness saw and cosigned the honest log up to size n. The operator then shows this
    # auditor a fork: the same first n entries (the witness's cosignature still verifies on
    # them) and a different tail. Its latest checkpoint carries no cosignature of the witness.
    w_skey, _ = generate_witness_key("witness.example/w1")
    witness = note.parse_signer_key(w_skey)
    el = standard_election(every=1)
    votes = el.votes
    seen = open_checkpoint(votes.checkpoints[-1], votes.key)
    cosig = cosign(seen.checkpoint, witness, 1_700_000_000)
    honest = votes.checkpoints[:-1] + [votes.checkpoints[-1] + cosig.line]
    # The forked tail, signed by the log key only.
    votes.add(E.ballot_cast(ballot="b3", tracker=el.tracker(), choice=["a"], day=DAY))
    forked = honest + [votes.checkpoints[-1]]
    path = write_export(tmp_path, votes, el.results, checkpoints=forked)
    assert run(path).ok  # nothing else is wrong with it
    _, message = only_problem(run(path, witnesses=[witness.verifier]))
    assert f"it cosigned only up to size {seen.checkpoint.size}" in message


def test_every_cosignature_must_verify_even_from_a_witness_not_pinned(
    tmp_path: Path, election: Election
) -> None:
    w_skey, w_vkey = generate_witness_key("witness.example/w1")
    witness = note.parse_signer_key(w_skey)
    signed = election.votes.sign()
    size = signed.checkpoint.size
    good = cosign(signed.checkpoint, witness, 1_700_000_000)
    path = write_export(
        tmp_path,
        election.votes,
        election.results,
        cosignatures=[(size, w_vkey.decode(), good.line)],
    )
    report = run(path)
    assert report.ok and report.logs[0].cosignatures_unverified == 1
    forged = good.line[:-6] + ("AAAA==" if not good.line.endswith("AAAA==\n") else "BBBB==") + "\n"
    bad = write_export(
        tmp_path / "bad",
        election.votes,
        election.results,
        cosignatures=[(size, w_vkey.decode(), forged)],
    )
    _, message = only_problem(run(bad))
    assert "invalid cosignature by witness.example/w1" in message
