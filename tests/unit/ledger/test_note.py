"""signed-note, checkpoint and cosignature: published known answers, round trips, forgeries."""

from __future__ import annotations

import pytest

from civicforum.ledger import checkpoint as cp
from civicforum.ledger import cosignature as cs
from civicforum.ledger import note

# golang.org/x/mod/sumdb/note: the PeterNeumann example key pair and its published signed note.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_NOTE = (
    PETER_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2"
    "pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# transparency-dev/tessera and trillian-tessera test keys (signer -> verifier).
KEY_PAIRS = [
    (PETER_SKEY, PETER_VKEY),
    (
        "PRIVATE+KEY+Test-Betty+df84580a+Afge8kCzBXU7jb3cV2Q363oNXCufJ6u9mjOY1BGRY9E2",
        "Test-Betty+df84580a+AQQASqPUZoIHcJAF5mBOryctwFdTV1E0GRY4kEAtTzwB",
    ),
]
# A real CT staging checkpoint, cosigned (cosignature/v1) by the public witness remora.n621.de.
REAL_CHECKPOINT = (
    "arche2025h1.staging.ct.transparency.dev\n1432088532\n"
    "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n\n"
    "\u2014 arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkz"
    "bC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n"
    "\u2014 remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIob"
    "WX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n"
)
REAL_LOG_VKEY = (
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
)
REAL_WITNESS_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


@pytest.mark.parametrize(("skey", "vkey"), KEY_PAIRS)
def test_published_key_pairs(skey: str, vkey: str) -> None:
    signer = note.parse_signer_key(skey)
    assert signer.text == skey
    assert signer.verifier.text == vkey
    assert note.parse_verifier_key(vkey) == signer.verifier
    assert skey not in repr(signer)


def test_a_key_hash_in_upper_case_is_read_as_go_reads_it() -> None:
    upper = PETER_VKEY.replace("c74f20a3", "C74F20A3")
    assert upper != PETER_VKEY
    assert note.parse_verifier_key(upper) == note.parse_verifier_key(PETER_VKEY)
    assert note.parse_verifier_key(upper).text == PETER_VKEY  # written in lower case
    assert note.parse_signer_key(PETER_SKEY.replace("c74f20a3", "C74F20A3")).text == PETER_SKEY


def test_go_note_known_answer() -> None:
    signer = note.parse_signer_key(PETER_SKEY)
    assert note.sign_note(PETER_TEXT, [signer]) == PETER_NOTE  # Ed25519 is deterministic
    opened = note.open_note(PETER_NOTE.encode(), [note.parse_verifier_key(PETER_VKEY)])
    assert opened.text == PETER_TEXT


def test_go_note_tampered_text_rejected() -> None:
    with pytest.raises(note.NoteError, match="invalid signature"):
        note.open_note(
            PETER_NOTE.replace("cryptography", "cryptographY"),
            [note.parse_verifier_key(PETER_VKEY)],
        )


def test_real_checkpoint_and_cosignature() -> None:
    log = note.parse_verifier_key(REAL_LOG_VKEY)
    witness = note.parse_verifier_key(REAL_WITNESS_VKEY)
    signed = cp.open_checkpoint(REAL_CHECKPOINT, log)
    assert signed.checkpoint.size == 1432088532
    assert signed.text == REAL_CHECKPOINT
    line = [s for s in signed.note.signatures if s.name == "remora.n621.de"][0].line
    cosig = cs.verify_cosignature(signed.checkpoint, line, witness)
    assert cosig.timestamp > 1_700_000_000
    assert note.verified_signers(signed.note, [witness, log]) == [log, witness]
    forged = cp.Checkpoint(signed.checkpoint.origin, 42, signed.checkpoint.root)
    with pytest.raises(cs.CosignatureError):
        cs.verify_cosignature(forged, line, witness)


def test_generate_sign_and_wrong_key() -> None:
    skey, vkey = note.generate_key("example.org/civicforum/votes")
    signer = note.parse_signer_key(skey)
    verifier = note.parse_verifier_key(vkey)
    other = note.parse_verifier_key(note.generate_key("example.org/civicforum/votes")[1])
    body = cp.Checkpoint("example.org/civicforum/votes", 3, bytes(32), ("ext line",))
    signed = cp.sign_checkpoint(body, signer)
    assert cp.open_checkpoint(signed, verifier).checkpoint == body
    # Same name, different key: its key ID differs, so the line is unknown and ignored.
    with pytest.raises(note.NoteError, match="not signed by a trusted key"):
        cp.open_checkpoint(signed, other)
    # Same name and key ID but a different key (a forged key ID): the signature must fail.
    impostor = note.Verifier(verifier.name, verifier.key_id, 1, other.public_key)
    with pytest.raises(note.NoteError, match="invalid signature"):
        cp.open_checkpoint(signed, impostor)
    forged = signed.replace("\n3\n", "\n4\n")
    with pytest.raises(note.NoteError, match="invalid signature"):
        cp.open_checkpoint(forged, verifier)


def test_checkpoint_origin_must_be_the_key_name() -> None:
    signer = note.signer_from_seed("log.example/a", bytes(range(32)))
    with pytest.raises(cp.CheckpointError):
        cp.sign_checkpoint(cp.Checkpoint("log.example/b", 1, bytes(32)), signer)
    other_origin = note.sign_note(cp.Checkpoint("log.example/b", 1, bytes(32)).body(), [signer])
    with pytest.raises(cp.CheckpointError, match="origin"):
        cp.open_checkpoint(other_origin, signer.verifier)


def test_unknown_signatures_are_ignored_and_extra_signers_kept() -> None:
    a = note.signer_from_seed("a.example", b"a" * 32)
    b = note.signer_from_seed("b.example", b"b" * 32)
    msg = note.sign_note("hello\n\nworld\n", [a, b])
    opened = note.open_note(msg, [b.verifier])
    assert opened.text == "hello\n\nworld\n"  # the LAST blank line separates
    assert len(opened.signatures) == 2
    assert note.verified_signers(opened, [a.verifier, b.verifier]) == [a.verifier, b.verifier]


def test_cosign_round_trip_and_type_checks() -> None:
    w_skey, w_vkey = cs.generate_witness_key("witness.example/w1")
    witness = note.parse_signer_key(w_skey)
    body = cp.Checkpoint("log.example", 10, bytes(range(32)))
    cosig = cs.cosign(body, witness, 1_700_000_000)
    verified = cs.verify_cosignature(body, cosig.line, note.parse_verifier_key(w_vkey))
    assert verified.timestamp == 1_700_000_000 and verified.witness == "witness.example/w1"
    log_signer = note.signer_from_seed("log.example", bytes(32))
    with pytest.raises(cs.CosignatureError):
        cs.cosign(body, log_signer, 1)
    with pytest.raises(cs.CosignatureError):
        cs.verify_cosignature(body, cosig.line, log_signer.verifier)
    other = note.parse_verifier_key(cs.generate_witness_key("witness.example/w2")[1])
    with pytest.raises(cs.CosignatureError, match="not from witness"):
        cs.verify_cosignature(body, cosig.line, other)
    with pytest.raises(note.NoteError):
        witness.sign(b"x\n")  # no timestamp
    # A cosignature blob must be 8 + 64 bytes and its timestamp below 2**63.
    v = witness.verifier
    assert not v.verify(b"x\n", b"\x00" * 10)
    assert not v.verify(b"x\n", b"\xff" * 72)
    assert not log_signer.verifier.verify(b"x\n", b"\x00" * 10)


@pytest.mark.parametrize(
    "bad",
    [
        "no newline",
        "text\n",  # no signatures
        "text\n\n",  # empty signature block
        "te\x01xt\n\n\u2014 a AAAAAAA=\n",
        "text\n\n- a AAAAAAA=\n",
        "text\n\n\u2014 aAAAAAAA=\n",
        "text\n\n\u2014 a+b AAAAAAA=\n",
        "text\n\n\u2014 a AAAA\n",  # too short
        "text\n\n\u2014 a AAA*AAA=\n",
        "text\n\n\u2014 a AAAAAAB=\n",  # non-canonical base64
        "text\n\n" + "\u2014 a AAAAAAA=\n" * 65,
        b"\xff\n\n".decode("latin-1"),
    ],
)
def test_malformed_notes(bad: str) -> None:
    with pytest.raises(note.NoteError):
        note.parse_note(bad)


def test_malformed_bytes_notes() -> None:
    with pytest.raises(note.NoteError, match="UTF-8"):
        note.parse_note(b"\xff\n\n\xe2\x80\x94 a AAAAAAA=\n")
    with pytest.raises(note.NoteError, match="too large"):
        note.parse_note(b"a" * (note.MAX_NOTE_BYTES + 1))
    with pytest.raises(note.NoteError, match="too large"):
        note.parse_note("a" * (note.MAX_NOTE_BYTES + 1))
    with pytest.raises(note.NoteError):
        note.sign_note("x\n", [])
    with pytest.raises(note.NoteError):
        note.sign_note("x", [note.signer_from_seed("a", bytes(32))])


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "name+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+AhpcAA==",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        b"\xffname+c74f20a3+AA==",
    ],
)
def test_malformed_verifier_keys(bad: str | bytes) -> None:
    with pytest.raises(note.NoteError):
        note.parse_verifier_key(bad)


@pytest.mark.parametrize(
    "bad",
    [
        PETER_SKEY.replace("PRIVATE", "PUBLIC"),
        PETER_SKEY.replace("c74f20a3", "c74f20a4"),
        PETER_SKEY.replace("+AYEK", "+AoEK"),
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEK",
        "PRIVATE+KEY+PeterNeumann+c74f20a3",
    ],
)
def test_malformed_signer_keys(bad: str) -> None:
    with pytest.raises(note.NoteError):
        note.parse_signer_key(bad)


def test_signer_from_seed_checks() -> None:
    with pytest.raises(note.NoteError):
        note.signer_from_seed("a", bytes(31))
    with pytest.raises(note.NoteError):
        note.signer_from_seed("a", bytes(32), 0x02)
    with pytest.raises(note.NoteError):
        note.signer_from_seed("a b", bytes(32))


@pytest.mark.parametrize(
    "body",
    [
        "origin\n1\n",
        "origin\n01\n" + "A" * 43 + "=\n",
        "origin\n1\nAAAA\n",
        "origin\n1\n" + "A" * 43 + "=",
        "origin\n1\n" + "A" * 43 + "=\n\n",
        "\n1\n" + "A" * 43 + "=\n",
        "origin\n1\n" + "A" * 42 + "*=\n",
        "origin\n99999999999999999999\n" + "A" * 43 + "=\n",
    ],
)
def test_malformed_checkpoint_bodies(body: str) -> None:
    with pytest.raises(cp.CheckpointError):
        cp.parse_checkpoint_body(body)


def test_checkpoint_body_round_trip() -> None:
    c = cp.Checkpoint("example.org/log", 0, bytes(32), ("a", "b c"))
    assert cp.parse_checkpoint_body(c.body()) == c
