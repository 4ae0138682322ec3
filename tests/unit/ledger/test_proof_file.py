"""The .tlog-proof receipt: format, round trip, offline verification and tampering."""

from __future__ import annotations

import pytest

from civicforum.ledger import entry as E
from civicforum.ledger import merkle, note, proof_file
from civicforum.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint

ORIGIN = "forum.example.org/civicforum/votes"
SIGNER = note.signer_from_seed(ORIGIN, b"k" * 32)


def receipt(n: int = 11, index: int = 6) -> tuple[proof_file.TlogProof, list[bytes]]:
    entries = [
        E.ballot_cast(ballot="b1", tracker=f"{i:032x}", choice=["a"], day="2025-01-01")
        for i in range(n)
    ]
    source = merkle.MemoryHashSource(merkle.leaf_hash(e) for e in entries)
    signed = open_checkpoint(
        sign_checkpoint(Checkpoint(ORIGIN, n, source.root()), SIGNER), SIGNER.verifier
    )
    proof = merkle.inclusion_proof(source, index, n)
    return proof_file.build_proof(entries[index], index, proof, signed), entries


def test_round_trip_and_verify() -> None:
    proof, entries = receipt()
    text = proof_file.format_proof(proof)
    lines = text.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert lines[1].startswith("extra ") and lines[2] == "index 6"
    assert f"\n\n{ORIGIN}\n11\n" in text
    parsed = proof_file.parse_proof(text.encode())
    assert parsed == proof
    verified = proof_file.verify_proof(parsed, SIGNER.verifier)
    assert verified.entry == entries[6] and verified.checkpoint.size == 11 and verified.index == 6


def test_single_entry_tree_has_no_hash_lines() -> None:
    proof, entries = receipt(n=1, index=0)
    text = proof_file.format_proof(proof)
    assert "index 0\n\n" in text
    assert (
        proof_file.verify_proof(proof_file.parse_proof(text), SIGNER.verifier).entry == entries[0]
    )


def test_tampering_is_rejected() -> None:
    proof, entries = receipt()
    other = note.signer_from_seed(ORIGIN, b"o" * 32).verifier
    for bad, key in [
        (proof_file.TlogProof(7, proof.hashes, proof.checkpoint, proof.extra), SIGNER.verifier),
        (proof_file.TlogProof(6, proof.hashes, proof.checkpoint, entries[5]), SIGNER.verifier),
        (
            proof_file.TlogProof(6, proof.hashes[:-1], proof.checkpoint, proof.extra),
            SIGNER.verifier,
        ),
        (
            proof_file.TlogProof(
                6, proof.hashes, proof.checkpoint.replace("\n11\n", "\n12\n"), proof.extra
            ),
            SIGNER.verifier,
        ),
        (proof, other),
        (proof_file.TlogProof(6, proof.hashes, proof.checkpoint, None), SIGNER.verifier),
    ]:
        with pytest.raises(proof_file.ProofFileError):
            proof_file.verify_proof(bad, key)
    # The entry can also be supplied separately (e.g. rebuilt by the voter).
    stripped = proof_file.TlogProof(6, proof.hashes, proof.checkpoint, None)
    assert proof_file.verify_proof(stripped, SIGNER.verifier, entries[6]).entry == entries[6]
    assert "extra" not in proof_file.format_proof(stripped)


@pytest.mark.parametrize(
    "text",
    [
        b"\xff",
        "c2sp.org/tlog-proof@v1\nindex 1\n",
        "c2sp.org/tlog-proof@v2\nindex 1\n\ncp\n",
        "c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n",
        "c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\ncp\n",
        "c2sp.org/tlog-proof@v1\nextra AA==\n\ncp\n",
        "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\ncp\n",
        "c2sp.org/tlog-proof@v1\n\ncp\n",
    ],
)
def test_malformed_proof_files(text: str | bytes) -> None:
    with pytest.raises(proof_file.ProofFileError):
        proof_file.parse_proof(text)
