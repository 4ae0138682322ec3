"""The witness (with an in-process fake log server) and the civicforum-audit command line."""

from __future__ import annotations

import json
import os
import stat
import urllib.error
from email.message import Message
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from ledger_export_builder import (
    DAY,
    VOTES_ORIGIN,
    LogBuilder,
    civic_log,
    standard_election,
    uncovered_tail_export,
    write_export,
)

from civicforum.audit_tool import cli
from civicforum.audit_tool import witness as W
from civicforum.ledger import entry as E
from civicforum.ledger import merkle, note, proof_file
from civicforum.ledger.cosignature import generate_witness_key, verify_cosignature
from civicforum.ledger.export import zip_export
from civicforum.ledger.note import b64encode


class FakeServer:
    """Serves a LogBuilder over the documented API paths; records POSTs."""

    def __init__(self, log: LogBuilder) -> None:
        self.log = log
        self.posts: list[tuple[str, bytes]] = []
        self.proof_override: object = None

    def get(self, path: str) -> bytes:
        url = urlsplit(path)
        if url.path == "/ledger/votes/checkpoint":
            return self.log.sign().text.encode()
        assert url.path == "/ledger/votes/proof/consistency"
        q = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
        if self.proof_override is not None:
            return json.dumps(self.proof_override).encode()
        proof = merkle.consistency_proof(self.log.source, q["from"], q["to"])
        body = {"from": q["from"], "to": q["to"], "proof": [b64encode(h) for h in proof]}
        return json.dumps(body).encode()

    def post(self, path: str, body: bytes) -> bytes:
        self.posts.append((path, body))
        return b""


def cast(log: LogBuilder, n: int) -> None:
    log.add(E.ballot_cast(ballot="b", tracker=f"{n:032x}", choice=["a"], day=DAY))


@pytest.fixture
def witness_key() -> note.Signer:
    return note.parse_signer_key(generate_witness_key("witness.example/w1")[0])


def test_witness_follows_an_append_only_log(witness_key: note.Signer) -> None:
    log = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    server = FakeServer(log)
    for n in range(5):
        cast(log, n)
    first = W.witness_once(
        server, log="votes", log_key=log.key, witness=witness_key, state=None, now=100
    )
    assert first.first_contact and first.state.size == 5
    verify_cosignature(first.checkpoint, first.cosignature.line, witness_key.verifier)
    for n in range(5, 12):
        cast(log, n)
    second = W.witness_once(
        server, log="votes", log_key=log.key, witness=witness_key, state=first.state, now=200
    )
    assert (
        second.state.size == 12 and not second.first_contact and second.cosignature.timestamp == 200
    )
    same = W.witness_once(
        server, log="votes", log_key=log.key, witness=witness_key, state=second.state, now=300
    )
    assert same.state == second.state
    body = W.cosignature_submission(second.checkpoint, second.cosignature).decode()
    assert body.startswith(f"{VOTES_ORIGIN}\n12\n") and "\n\n\u2014 witness.example/w1 " in body
    assert note.open_note(body, [witness_key.verifier]).text == second.checkpoint.body()


def test_witness_detects_fork_rollback_and_bad_proofs(witness_key: note.Signer) -> None:
    log = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    for n in range(8):
        cast(log, n)
    state = W.witness_once(
        FakeServer(log), log="votes", log_key=log.key, witness=witness_key, state=None, now=1
    ).state

    fork = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)  # same key, other history
    for n in range(100, 108):
        cast(fork, n)
    with pytest.raises(W.WitnessError, match="SPLIT VIEW") as split:
        W.witness_once(
            FakeServer(fork), log="votes", log_key=log.key, witness=witness_key, state=state, now=2
        )
    assert split.value.evidence is not None
    cast(fork, 108)
    with pytest.raises(W.WitnessError, match="INCONSISTENT"):
        W.witness_once(
            FakeServer(fork), log="votes", log_key=log.key, witness=witness_key, state=state, now=2
        )

    short = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    for n in range(4):
        cast(short, n)
    with pytest.raises(W.WitnessError, match="ROLLBACK"):
        W.witness_once(
            FakeServer(short), log="votes", log_key=log.key, witness=witness_key, state=state, now=2
        )

    impostor = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"i" * 32, every=0)
    cast(impostor, 1)
    with pytest.raises(W.WitnessError, match="does not verify"):
        W.witness_once(
            FakeServer(impostor),
            log="votes",
            log_key=log.key,
            witness=witness_key,
            state=state,
            now=2,
        )

    cast(log, 9)
    server = FakeServer(log)
    for bad in ({"from": 1, "to": 9, "proof": []}, {"proof": ["!!"]}, ["x"]):
        server.proof_override = bad
        with pytest.raises(W.WitnessError, match="malformed|other sizes"):
            W.witness_once(
                server, log="votes", log_key=log.key, witness=witness_key, state=state, now=2
            )


def test_witness_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert W.load_states(path) == ({}, [])
    state = W.WitnessState("o", 3, bytes(32), "o\n3\n...\n")
    W.save_states(path, {"o": state}, ["evidence"])
    assert W.load_states(path) == ({"o": state}, ["evidence"])


def test_http_fetcher_builds_urls() -> None:
    fetcher = W.HttpFetcher("https://forum.example.org/base/")
    assert (
        fetcher._url("/ledger/votes/checkpoint")
        == "https://forum.example.org/base/ledger/votes/checkpoint"
    )


def test_cli_witness_keygen_and_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "witness.key"
    assert cli.main(["witness", "keygen", "witness.example/w1", "--out", str(key_file)]) == 0
    out = capsys.readouterr()
    vkey = note.parse_verifier_key(out.out)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert note.parse_signer_key(key_file.read_text()).verifier == vkey
    # The verifier key (what the auditors add) is written next to it, world-readable.
    pub = tmp_path / "witness.key.pub"
    assert note.parse_verifier_key(pub.read_text()) == vkey
    assert stat.S_IMODE(os.stat(pub).st_mode) == 0o644
    assert f"verifier key: {pub} (mode 0644)" in out.err
    assert f"signer key (keep it secret): {key_file} (mode 0600)" in out.err
    assert cli.main(["witness", "keygen", "x", "--out", str(key_file)]) == 2  # never overwrites
    assert note.parse_verifier_key(pub.read_text()) == vkey
    lone_pub = tmp_path / "other.key.pub"
    lone_pub.write_text("kept\n")
    assert cli.main(["witness", "keygen", "x", "--out", str(tmp_path / "other.key")]) == 2
    assert lone_pub.read_text() == "kept\n" and not (tmp_path / "other.key").exists()
    assert "other.key.pub exists" in capsys.readouterr().err

    log = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    cast(log, 1)
    server = FakeServer(log)
    monkeypatch.setattr(W, "HttpFetcher", lambda url: server)
    state = tmp_path / "state.json"
    args = [
        "witness",
        "run",
        "https://forum.example.org",
        "--log-key",
        log.key.text,
        "--key",
        str(key_file),
        "--state",
        str(state),
    ]
    assert cli.main([*args, "--submit"]) == 0
    out = capsys.readouterr()
    assert "first contact" in out.err and out.out.startswith("\u2014 witness.example/w1 ")
    assert server.posts[0][0] == "/ledger/votes/cosignatures"
    cast(log, 2)
    assert cli.main(args) == 0 and len(server.posts) == 1
    fork = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    cast(fork, 7)
    server.log = fork
    assert cli.main(args) == 1
    assert "ROLLBACK" in capsys.readouterr().err
    assert len(W.load_states(state)[1]) == 1  # the evidence is kept
    bad_key = tmp_path / "bad.key"
    bad_key.write_text("nope")
    assert cli.main([*args[:-4], "--key", str(bad_key), "--state", str(state)]) == 2

    def offline(path: str) -> bytes:
        raise OSError("connection refused")

    monkeypatch.setattr(server, "get", offline)
    assert cli.main(args) == 2


def test_cli_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("civicforum.audit_tool.verify.PROGRESS_EVERY", 5)
    el = standard_election(every=1)
    civic = civic_log()
    path = write_export(tmp_path / "e", el.votes, el.results, civic)
    key_file = tmp_path / "votes.vkey"
    key_file.write_text(el.votes.key.text + "\n")
    saved = tmp_path / "saved.checkpoint"
    saved.write_text(el.votes.checkpoints[3])
    zip_export(path, tmp_path / "e.zip")
    for target in (path, tmp_path / "e.zip"):
        code = cli.main(
            [
                "verify",
                str(target),
                "--key",
                str(key_file),
                "--key",
                civic.key.text,
                "--checkpoint",
                str(saved),
            ]
        )
        out = capsys.readouterr()
        assert code == 0, out
        assert "VERIFIED" in out.out and "saved checkpoints: 1" in out.out
        assert "votes: 5 entries verified" in out.err
    other = note.signer_from_seed(VOTES_ORIGIN, b"x" * 32).verifier.text
    assert cli.main(["verify", str(path), "--key", other, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "FIRST PROBLEM: votes log: RE-KEYED" in err
    assert cli.main(["verify", str(tmp_path / "missing")]) == 2
    assert cli.main(["verify", str(path), "--checkpoint", str(tmp_path / "nope")]) == 2
    capsys.readouterr()
    with pytest.raises(SystemExit):
        cli.main(["verify", str(path), "--key", "not-a-key"])


def test_cli_verify_fails_on_an_uncovered_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, el, last = uncovered_tail_export(tmp_path)
    assert cli.main(["verify", str(path), "--key", el.votes.key.text, "--quiet"]) == 1
    out = capsys.readouterr()
    assert out.out.endswith("VERIFICATION FAILED\n")
    assert f"FIRST PROBLEM: votes entry {last}: not covered by any signed checkpoint" in out.err


def verify_args(path: Path, key: note.Verifier, *checkpoints: Path) -> list[str]:
    args = ["verify", str(path), "--key", key.text, "--quiet"]
    for file in checkpoints:
        args += ["--checkpoint", str(file)]
    return args


def test_cli_verify_checkpoint_from_a_receipt_or_a_witness_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], witness_key: note.Signer
) -> None:
    el = standard_election(every=0)
    signed = el.votes.sign()
    full = signed.checkpoint.size
    proof = merkle.inclusion_proof(el.votes.source, 8, full)
    receipt = tmp_path / "vote.tlog-proof"
    receipt.write_text(
        proof_file.format_proof(proof_file.build_proof(el.votes.entries[8], 8, proof, signed))
    )
    state = tmp_path / "witness.json"
    outcome = W.witness_once(
        FakeServer(el.votes),
        log="votes",
        log_key=el.votes.key,
        witness=witness_key,
        state=None,
        now=1,
    )
    W.save_states(state, {outcome.state.origin: outcome.state}, [])
    path = write_export(tmp_path / "e", el.votes, el.results)
    assert cli.main(verify_args(path, el.votes.key, receipt, state)) == 0
    assert "saved checkpoints: 2" in capsys.readouterr().out
    # A truncated export (self-consistent on its own) is exposed by the receipt or the state.
    keep = [c for c in el.votes.checkpoints if int(c.split("\n")[1]) <= 12]
    short_size = int(keep[-1].split("\n")[1])
    short = write_export(
        tmp_path / "short", el.votes, {}, entries=el.votes.entries[:short_size], checkpoints=keep
    )
    assert cli.main(verify_args(short, el.votes.key)) == 0
    capsys.readouterr()
    for saved in (receipt, state):
        assert cli.main(verify_args(short, el.votes.key, saved)) == 1
        err = capsys.readouterr().err
        assert f"the saved checkpoint has size {full}" in err and "removed" in err


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"garbage", "not a signed checkpoint"),
        (b"\xff\xfe", "not UTF-8"),
        (b"c2sp.org/tlog-proof@v1\nindex x\n\ncheckpoint", "unreadable receipt"),
        (b'{"logs": {}, "evidence": []}', "holds no checkpoint"),
        (b'{"something": "else"}', "not a witness state file"),
        (b'{"logs": {"o": {"checkpoint": "nope"}}}', "not a signed checkpoint"),
    ],
)
def test_cli_verify_unreadable_checkpoint_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, why: str
) -> None:
    el = standard_election(every=1)
    path = write_export(tmp_path / "e", el.votes, el.results)
    bad = tmp_path / "saved.checkpoint"
    bad.write_bytes(content)
    assert cli.main(verify_args(path, el.votes.key, bad)) == 2
    out = capsys.readouterr()
    assert f"error: --checkpoint {bad}: " in out.err and why in out.err
    assert "VERIFICATION FAILED" not in out.out + out.err


def test_cli_verify_fails_with_an_idle_pinned_witness(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    el = standard_election(every=1)
    path = write_export(tmp_path, el.votes, el.results)
    _, idle = generate_witness_key("witness.example/idle")
    args = [*verify_args(path, el.votes.key), "--witness", idle.decode()]
    assert cli.main(args) == 1
    captured = capsys.readouterr()
    assert "pinned witness witness.example/idle did not cosign the latest checkpoint" in (
        captured.err
    )
    assert captured.out.endswith("VERIFICATION FAILED\n")
    # Scoped to the civic log only (not in this export), it asks nothing of the votes log.
    assert cli.main([*verify_args(path, el.votes.key), "--witness", "civic=" + idle.decode()]) == 0


def test_cli_verify_receipt_and_verify_accept_a_signed_promise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from civicforum.ledger.promise import Promise, format_promise_file, sign_promise

    el = standard_election(every=1)
    votes = el.votes
    kept = votes.entries[2]  # a ballot.cast of b1, in the log

    def promise_of(entry: bytes) -> Path:
        promise = Promise(
            votes.signer.name, merkle.leaf_hash(entry), datetime(2030, 1, 1, tzinfo=UTC)
        )
        path = tmp_path / f"{merkle.leaf_hash(entry).hex()[:8]}.tlog-promise"
        path.write_text(format_promise_file(entry, sign_promise(promise, votes.signer)))
        return path

    export = write_export(tmp_path / "export", votes, el.results)
    key = votes.key.text
    assert cli.main(["verify-receipt", str(promise_of(kept)), "--key", key]) == 0
    assert "promise verified" in capsys.readouterr().out
    args = ["verify-receipt", str(promise_of(kept)), "--key", key, "--export", str(export)]
    assert cli.main(args) == 0
    assert "KEPT: the entry is in the export at index 2" in capsys.readouterr().out
    # A ballot b1 cast the log never took, though b1 closed: the promise was broken.
    dropped = E.ballot_cast(ballot="b1", tracker="f" * 32, choice=["a"], day=DAY)
    args = ["verify-receipt", str(promise_of(dropped)), "--key", key, "--export", str(export)]
    assert cli.main(args) == 1
    assert "BROKEN PROMISE" in capsys.readouterr().err
    # One for the still-open ballot b3: not in yet, and not broken.
    pending = E.ballot_cast(ballot="b3", tracker="e" * 32, choice=["a"], day=DAY)
    args = ["verify-receipt", str(promise_of(pending)), "--key", key, "--export", str(export)]
    assert cli.main(args) == 0
    assert "still open" in capsys.readouterr().out
    # `verify` takes them too: the broken one fails the export's vote log.
    base = verify_args(export, votes.key)
    assert cli.main([*base, "--promise", str(promise_of(kept))]) == 0
    assert cli.main([*base, "--promise", str(promise_of(dropped))]) == 1
    assert "BROKEN PROMISE: promise 1" in capsys.readouterr().err
    # A promise altered (its entry rewritten) does not verify.
    forged = (
        promise_of(kept)
        .read_text()
        .replace(b64encode(kept), b64encode(kept.replace(DAY.encode(), b"2025-03-02")))
    )
    (tmp_path / "forged.tlog-promise").write_text(forged)
    args = ["verify-receipt", str(tmp_path / "forged.tlog-promise"), "--key", key]
    assert cli.main(args) == 1
    assert "promise does NOT verify" in capsys.readouterr().err


def test_cli_witness_run_help_and_mismatched_log_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["witness", "run", "--help"])
    assert "(default: votes)" in " ".join(capsys.readouterr().out.split())
    key_file = tmp_path / "w.key"
    key_file.write_bytes(generate_witness_key("witness.example/w1")[0])
    log = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    cast(log, 1)
    monkeypatch.setattr(W, "HttpFetcher", lambda url: FakeServer(log))
    civic_key = civic_log().key  # the civic log's key, but --log votes (the default)
    args = ["witness", "run", "http://x", "--log-key", civic_key.text, "--key", str(key_file)]
    assert cli.main([*args, "--state", str(tmp_path / "s.json")]) == 1
    err = capsys.readouterr().err
    assert f"(it is from {VOTES_ORIGIN}, the log key is for {civic_key.name})" in err
    assert f"hint: --log votes and --log-key ({civic_key.name}) may not match" in err


def test_cli_verify_receipt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    el = standard_election(every=0)
    signed = el.votes.sign()
    index = 8  # a public-ballot cast
    proof = merkle.inclusion_proof(el.votes.source, index, signed.checkpoint.size)
    receipt = proof_file.build_proof(el.votes.entries[index], index, proof, signed)
    file = tmp_path / "vote.tlog-proof"
    file.write_text(proof_file.format_proof(receipt))
    assert cli.main(["verify-receipt", str(file), "--key", el.votes.key.text]) == 0
    out = capsys.readouterr().out
    assert "receipt verified: entry 8" in out and "voter: bob" in out
    other = note.signer_from_seed(VOTES_ORIGIN, b"x" * 32).verifier.text
    assert cli.main(["verify-receipt", str(file), "--key", other]) == 1
    # A receipt whose extra is not canonical JSON still verifies if it is the proven leaf.
    single = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=1)
    single.add(b"not json")
    raw = proof_file.TlogProof(0, (), single.checkpoints[0], b"not json")
    file.write_text(proof_file.format_proof(raw))
    assert cli.main(["verify-receipt", str(file), "--key", single.key.text]) == 0
    assert "not canonical JSON" in capsys.readouterr().out


def test_cli_tabulate_delegates(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tabulate", "--help"]) == 0
    assert "usage" in capsys.readouterr().out.lower()


def test_http_fetcher_over_loopback() -> None:
    """The urllib transport against a throwaway local server (the logic tests use FakeServer)."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(("GET", self.path, b""))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(("POST", self.path, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        fetcher = W.HttpFetcher(f"http://127.0.0.1:{server.server_address[1]}", timeout=5)
        assert fetcher.get("/ledger/votes/checkpoint") == b"hello"
        assert fetcher.post("/ledger/votes/cosignatures", b"body") == b""
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert seen == [
        ("GET", "/ledger/votes/checkpoint", b""),
        ("POST", "/ledger/votes/cosignatures", b"body"),
    ]


def test_cli_witness_submit_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "w.key"
    key_file.write_bytes(generate_witness_key("witness.example/w1")[0])
    log = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=b"v" * 32, every=0)
    cast(log, 1)
    server = FakeServer(log)

    def refuse(path: str, body: bytes) -> bytes:
        raise urllib.error.HTTPError(f"http://x{path}", 403, "Forbidden", Message(), None)

    def unreachable(path: str, body: bytes) -> bytes:
        raise OSError("connection refused")

    monkeypatch.setattr(server, "post", refuse)
    monkeypatch.setattr(W, "HttpFetcher", lambda url: server)
    args = ["witness", "run", "http://x", "--log-key", log.key.text, "--key", str(key_file)]
    assert cli.main([*args, "--state", str(tmp_path / "s.json"), "--submit"]) == 1
    err = capsys.readouterr().err
    assert "HTTP Error 403: Forbidden" in err
    assert "an auditor must first add its verifier key on the audit dashboard" in err
    assert "`civicforum ledger add-witness WVKEY`" in err
    monkeypatch.setattr(server, "post", unreachable)  # other failures get no such hint
    assert cli.main([*args, "--state", str(tmp_path / "s.json"), "--submit"]) == 1
    err = capsys.readouterr().err
    assert "connection refused" in err and "add-witness" not in err
