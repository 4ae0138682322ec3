"""The DB-backed log: appends, proofs, checkpoints and receipts on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from civicforum.ledger import entry as E
from civicforum.ledger import merkle
from civicforum.ledger.checkpoint import open_checkpoint
from civicforum.ledger.proof_file import parse_proof, verify_proof
from civicforum.logstore import checkpoints, proofs, receipts, sequencer, storage
from civicforum.logstore.errors import ProofRangeError
from civicforum.logstore.keys import current_keys
from civicforum.logstore.models import LedgerEntry

DAY = "2026-11-25"


def opened(ballot: str = "b1") -> bytes:
    return E.ballot_opened(
        ballot=ballot,
        title="Budget",
        method="approval",
        options=[("a", "Park"), ("b", "Library")],
        rules={"seats": 1},
        eligibility="members",
        secret=True,
        vote_changes=True,
        day=DAY,
    )


def cast(ballot: str = "b1", choice: Any = ("a",)) -> bytes:
    return E.ballot_cast(ballot=ballot, tracker=E.new_tracker(), choice=list(choice), day=DAY)


def fill(session: Any, n: int) -> list[sequencer.AppendedEntry]:
    out = [sequencer.append_entry(session, log="votes", entry=opened())]
    out += [sequencer.append_entry(session, log="votes", entry=cast()) for _ in range(n - 1)]
    return out


def test_append_assigns_dense_indices_and_leaf_hashes(db_session: Any) -> None:
    appended = fill(db_session, 5)
    assert [a.index for a in appended] == [0, 1, 2, 3, 4]
    for a in appended:
        assert a.leaf_hash == merkle.leaf_hash(a.data)
    assert storage.log_size(db_session, log="votes") == 5
    assert storage.log_size(db_session, log="civic") == 0


def test_append_accepts_a_dict_and_stores_canonical_bytes(db_session: Any) -> None:
    value = {"v": 1, "type": "proposal.support", "day": DAY, "proposal": "p1", "supporter": "s1"}
    appended = sequencer.append_entry(db_session, log="civic", entry=value)
    assert appended.data == E.canonical_json(value)
    with pytest.raises(E.EntryError):
        sequencer.append_entry(db_session, log="civic", entry={**value, "extra": 1})


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 33])
def test_proofs_round_trip(db_session: Any, n: int) -> None:
    appended = fill(db_session, n)
    leaves = [a.leaf_hash for a in appended]
    memory = merkle.MemoryHashSource(leaves)
    for size in range(1, n + 1):
        root = proofs.tree_root(db_session, log="votes", size=size)
        assert root == merkle.merkle_root(leaves[:size])
        for index in range(size):
            proof = proofs.inclusion_proof(db_session, log="votes", index=index, size=size)
            assert proof == merkle.inclusion_proof(memory, index, size)
            merkle.verify_inclusion(index, size, leaves[index], proof, root)
        for old in range(1, size + 1):
            proof = proofs.consistency_proof(db_session, log="votes", old=old, new=size)
            merkle.verify_consistency(old, size, merkle.merkle_root(leaves[:old]), root, proof)


def test_proof_ranges_are_checked(db_session: Any) -> None:
    fill(db_session, 3)
    with pytest.raises(ProofRangeError):
        proofs.inclusion_proof(db_session, log="votes", index=3, size=3)
    with pytest.raises(ProofRangeError):
        proofs.inclusion_proof(db_session, log="votes", index=0, size=4)
    with pytest.raises(ProofRangeError):
        proofs.consistency_proof(db_session, log="votes", old=0, new=2)


def test_checkpoints_are_signed_kept_and_verify(db_session: Any) -> None:
    empty = checkpoints.sign_checkpoint(db_session, log="votes")
    assert (empty.size, empty.root) == (0, merkle.EMPTY_ROOT)
    assert checkpoints.covering_checkpoint(db_session, log="votes") == empty
    fill(db_session, 3)
    assert checkpoints.covering_checkpoint(db_session, log="votes") is None  # must sign again
    first = checkpoints.sign_checkpoint(db_session, log="votes")
    assert first.size == 3
    assert checkpoints.sign_checkpoint(db_session, log="votes") == first  # nothing new: reused
    fill(db_session, 2)
    second = checkpoints.sign_checkpoint(db_session, log="votes")
    assert second is not None and second.size == 5
    assert checkpoints.latest_checkpoint(db_session, log="votes") == second
    notes = [empty.note, first.note, second.note]
    assert list(checkpoints.iter_checkpoints(db_session, log="votes")) == notes
    key = current_keys().verifier("votes")
    opened_cp = open_checkpoint(second.note, key).checkpoint
    assert opened_cp.root == second.root == proofs.tree_root(db_session, log="votes", size=5)
    assert opened_cp.origin == current_keys().origin("votes")
    assert opened_cp.origin.endswith(".civicforum.localhost/ledger/votes")


def test_ballot_closed_signs_the_checkpoint_right_after_it(db_session: Any) -> None:
    fill(db_session, 3)
    closed = E.ballot_closed(ballot="b1", cast=2, superseded=0, counted=2, roll=2, day=DAY)
    appended = sequencer.append_entry(db_session, log="votes", entry=closed)
    assert appended.checkpoint is not None
    assert appended.checkpoint.size == appended.index + 1 == 4
    assert checkpoints.latest_checkpoint(db_session, log="votes") == appended.checkpoint


def test_receipt_verifies_offline(db_session: Any) -> None:
    appended = fill(db_session, 6)
    text_ = receipts.receipt_for(db_session, log="votes", index=4)
    receipt = verify_proof(parse_proof(text_), current_keys().verifier("votes"))
    assert receipt.index == 4 and receipt.entry == appended[4].data
    assert receipt.checkpoint.size == 6
    # A later append is covered by a new checkpoint when its receipt is asked for.
    more = sequencer.append_entry(db_session, log="votes", entry=cast())
    later = parse_proof(receipts.receipt_for(db_session, log="votes", index=more.index))
    assert verify_proof(later, current_keys().verifier("votes")).checkpoint.size == 7


def test_rolled_back_transaction_leaves_no_entry(db_session: Any) -> None:
    fill(db_session, 2)
    db_session.commit()  # a savepoint release inside the test transaction
    nested = db_session.begin_nested()
    sequencer.append_entry(db_session, log="votes", entry=cast())
    assert storage.log_size(db_session, log="votes") == 3
    nested.rollback()
    assert storage.log_size(db_session, log="votes") == 2
    assert db_session.scalar(select(LedgerEntry).where(LedgerEntry.idx == 2)) is None
    nodes = db_session.execute(text("SELECT count(*) FROM ledger_nodes")).scalar()
    assert nodes == 1  # only the level-1 node over leaves 0 and 1
    again = sequencer.append_entry(db_session, log="votes", entry=cast())
    assert again.index == 2
