"""Ledger HTTP API, /verify (full page and htmx), witness intake, auditor dashboard."""

from __future__ import annotations

import base64
import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from civicforum.audit_tool import cli as audit_cli
from civicforum.ledger import merkle
from civicforum.ledger.checkpoint import open_checkpoint, parse_checkpoint_body
from civicforum.ledger.cosignature import cosign, generate_witness_key
from civicforum.ledger.export import open_export
from civicforum.ledger.note import parse_note, parse_signer_key
from civicforum.ledger.proof_file import parse_proof
from civicforum.ledger.tiles import entries_path, entry_bundle, parse_entry_bundle, tile_path
from civicforum.logstore import checkpoints, receipts, sequencer, witnesses
from civicforum.logstore.keys import current_keys
from civicforum.logstore.models import LedgerPending
from tests.factories import make_user
from tests.integration.logstore.test_services import DAY, cast, fill


class Ending:
    """The test client reuses the fixture's app context, so the request's session and the
    cached current user outlive the request (outside tests, app-context teardown ends
    both). End them after each request, as a real request's teardown would."""

    def __init__(self, client: Any, session: Any) -> None:
        self.client, self.session = client, session
        self.application = client.application

    def _end(self) -> None:
        from flask import g

        self.session.commit()
        g.pop("_login_user", None)  # Flask-Login caches the user on the shared app context

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self.session.commit()  # the test's own writes: a request starts a fresh transaction
        response = self.client.get(*args, **kwargs)
        self._end()
        return response

    def post(self, *args: Any, **kwargs: Any) -> Any:
        self.session.commit()
        response = self.client.post(*args, **kwargs)
        self._end()
        return response


@pytest.fixture
def web(client: Any, db_session: Any) -> Ending:
    return Ending(client, db_session)


def committed_log(session: Any, n: int) -> list[sequencer.AppendedEntry]:
    appended = fill(session, n)
    session.commit()
    return appended


def receipt_text(session: Any, index: int) -> str:
    text = receipts.receipt_for(session, log="votes", index=index)
    session.commit()
    return text


def test_verify_page_is_linked_from_the_footer(web: Any) -> None:
    page = web.get("/verify")
    assert page.status_code == 200
    assert 'href="/verify"' in page.text and "<textarea" in page.text


def test_valid_receipt_shows_the_choice_as_recorded(web: Any, db_session: Any) -> None:
    appended = committed_log(db_session, 4)
    receipt = receipt_text(db_session, 2)
    sequencer.append_entry(db_session, log="votes", entry=cast())  # the log grows afterwards
    checkpoints.sign_checkpoint(db_session, log="votes")
    db_session.commit()
    page = web.post("/verify", data={"receipt": receipt.replace("\n", "\r\n")})
    assert page.status_code == 200, page.text
    assert "This receipt is valid" in page.text
    tracker = parse_proof(receipt).extra.decode()
    assert appended[2].data.decode() == tracker
    assert '"a"' not in page.text and "<li>a</li>" in page.text  # the approved option
    assert "consistent with the receipt" in page.text


def test_uploaded_receipt_and_htmx_fragment(web: Any, db_session: Any) -> None:
    committed_log(db_session, 3)
    receipt = receipt_text(db_session, 1)
    page = web.post(
        "/verify",
        data={"receipt_file": (io.BytesIO(receipt.encode()), "vote.tlog-proof")},
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
    )
    assert page.status_code == 200
    assert 'id="verify-result"' in page.text and "<html" not in page.text
    assert "This receipt is valid" in page.text


def test_tampered_receipts_are_rejected(web: Any, db_session: Any) -> None:
    committed_log(db_session, 5)
    receipt = receipt_text(db_session, 3)
    proof = parse_proof(receipt)
    forged_extra = base64.b64encode(proof.extra.replace(b'["a"]', b'["b"]')).decode()
    tampered = receipt.replace(base64.b64encode(proof.extra).decode(), forged_extra)
    page = web.post("/verify", data={"receipt": tampered})
    assert page.status_code == 422
    assert "does not verify" in page.text
    flipped = receipt.replace("index 3", "index 2")
    assert web.post("/verify", data={"receipt": flipped}).status_code == 422
    assert web.post("/verify", data={"receipt": "hello"}).status_code == 422
    assert web.post("/verify", data={}).status_code == 422
    # An empty submit through htmx, which swaps only the result: the message is there too.
    empty = web.post("/verify", data={"receipt": ""}, headers={"HX-Request": "true"})
    assert empty.status_code == 422 and "<html" not in empty.text
    assert "Paste a receipt or choose its file." in empty.text
    full = web.post("/verify", data={"receipt": ""})
    assert full.text.count("Paste a receipt or choose its file.") == 1  # once, at the field


def test_checkpoint_vkey_and_json_proofs(web: Any, db_session: Any) -> None:
    appended = committed_log(db_session, 6)
    note = web.get("/ledger/votes/checkpoint")
    assert note.status_code == 200 and note.headers["Cache-Control"] == "no-cache"
    body = parse_checkpoint_body(parse_note(note.text).text)
    assert body.size == 6
    vkey = web.get("/ledger/votes/vkey").text.strip()
    assert vkey == current_keys().verifier("votes").text
    inc = web.get("/ledger/votes/proof/inclusion?index=4&size=6").get_json()
    proof = [base64.b64decode(h) for h in inc["proof"]]
    merkle.verify_inclusion(4, 6, appended[4].leaf_hash, proof, body.root)
    con = web.get("/ledger/votes/proof/consistency?from=3&to=6").get_json()
    old_root = merkle.merkle_root([a.leaf_hash for a in appended[:3]])
    merkle.verify_consistency(
        3, 6, old_root, body.root, [base64.b64decode(h) for h in con["proof"]]
    )
    assert web.get("/ledger/votes/proof/inclusion?index=6&size=6").status_code == 400
    assert web.get("/ledger/votes/proof/consistency?from=0&to=6").status_code == 400
    assert web.get("/ledger/votes/proof/inclusion?index=x&size=6").status_code == 400
    assert web.get("/ledger/nope/checkpoint").status_code == 404
    empty = web.get("/ledger/civic/checkpoint")  # an empty log has a checkpoint too
    assert empty.status_code == 200 and empty.headers["Content-Type"].startswith("text/plain")
    cp = open_checkpoint(empty.text, current_keys().verifier("civic")).checkpoint
    assert (cp.size, cp.root) == (0, merkle.EMPTY_ROOT)


def test_tiles_and_entry_bundles(web: Any, db_session: Any) -> None:
    appended = committed_log(db_session, 5)
    tile = web.get("/ledger/votes/" + tile_path(0, 0, 5))
    assert tile.status_code == 200 and "immutable" in tile.headers["Cache-Control"]
    assert tile.data == b"".join(a.leaf_hash for a in appended)
    bundle = web.get("/ledger/votes/" + entries_path(0, 5))
    assert parse_entry_bundle(bundle.data) == [a.data for a in appended]
    assert "Content-Encoding" not in bundle.headers and "Accept-Encoding" in bundle.headers["Vary"]
    packed = web.get("/ledger/votes/" + entries_path(0, 5), headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == bundle.data and len(packed.data) < len(bundle.data)
    assert web.get("/ledger/votes/" + tile_path(0, 0, 6)).status_code == 404
    assert web.get("/ledger/votes/" + tile_path(0, 0)).status_code == 404
    assert web.get("/ledger/votes/tile/0/x000/000").status_code == 404  # non-canonical


def test_receipt_endpoint(web: Any, db_session: Any) -> None:
    committed_log(db_session, 3)
    response = web.get("/ledger/votes/receipt/2")
    assert response.status_code == 200
    assert parse_proof(response.text).index == 2
    assert web.get("/ledger/votes/receipt/0").status_code == 404  # ballot.opened
    assert web.get("/ledger/votes/receipt/9").status_code == 404


def test_witness_cosignatures_are_verified_stored_and_served(
    web: Any, db_session: Any, login_as: Any
) -> None:
    committed_log(db_session, 4)
    signer_text, verifier_text = generate_witness_key("witness.example/alice")
    witnesses.add_witness(db_session, vkey=verifier_text.decode())
    db_session.commit()
    note = web.get("/ledger/votes/checkpoint").text
    body = parse_checkpoint_body(parse_note(note).text)
    cosig = cosign(body, parse_signer_key(signer_text), 1_700_000_000)
    submission = body.body() + "\n" + cosig.line
    anon = Ending(web.application.test_client(), db_session)  # no cookie, no CSRF token: a witness
    assert anon.post("/ledger/votes/cosignatures", data=submission).status_code == 204
    assert anon.post("/ledger/votes/cosignatures", data=submission).status_code == 204  # again
    served = web.get("/ledger/votes/checkpoint").text
    assert served.endswith(cosig.line)
    receipt = receipt_text(db_session, 2)
    assert cosig.line in receipt
    verified = web.post("/verify", data={"receipt": receipt})
    assert verified.status_code == 200 and "witness.example/alice" in verified.text
    # A configured witness's line that does not verify: the receipt was altered.
    broken = cosig.line[:-6] + ("A" if cosig.line[-6] != "A" else "B") + cosig.line[-5:]
    refused = web.post("/verify", data={"receipt": receipt.replace(cosig.line, broken)})
    assert refused.status_code == 422 and "does not verify" in refused.text
    # Another witness, a forged line, an unknown checkpoint.
    other_signer, _ = generate_witness_key("witness.example/mallory")
    stranger = cosign(body, parse_signer_key(other_signer), 1_700_000_000)
    assert (
        anon.post("/ledger/votes/cosignatures", data=body.body() + "\n" + stranger.line).status_code
        == 403
    )
    forged = cosig.line[:-6] + ("A" if cosig.line[-6] != "A" else "B") + cosig.line[-5:]
    assert anon.post(
        "/ledger/votes/cosignatures", data=body.body() + "\n" + forged
    ).status_code in (403, 409)
    wrong = body.body().replace("\n4\n", "\n3\n") + "\n" + cosig.line
    assert anon.post("/ledger/votes/cosignatures", data=wrong).status_code == 409
    # The dashboard lists the witness with its last cosignature.
    login_as(make_user(db_session, roles=("auditor",)))
    page = web.get("/audit/ledger")
    assert "witness.example/alice" in page.text and "<td>never</td>" not in page.text


def test_dashboard_is_for_auditors(web: Any, db_session: Any, login_as: Any) -> None:
    committed_log(db_session, 2)
    login_as(make_user(db_session))
    assert web.get("/audit/ledger").status_code == 403
    login_as(make_user(db_session, roles=("auditor",)))
    page = web.get("/audit/ledger")
    assert page.status_code == 200
    assert current_keys().verifier("votes").text in page.text
    assert 'href="/audit/ledger"' in page.text  # main navigation for auditors
    assert "never been verified" in page.text
    # The latest checkpoint shown covers every entry (it said "none yet" beside 2 entries).
    assert "size 2, root" in page.text and "none yet" not in page.text


def test_auditor_adds_and_removes_a_witness(web: Any, db_session: Any, login_as: Any) -> None:
    login_as(make_user(db_session, roles=("auditor",)))
    bad = web.post("/audit/ledger/witnesses", data={"vkey": current_keys().verifier("votes").text})
    assert bad.status_code == 422 and "0x04" in bad.text
    # The same refusal as an htmx fragment (it rendered without its form macros: a 500).
    hx = {"HX-Request": "true"}
    fragment = web.post("/audit/ledger/witnesses", data={"vkey": "not a key"}, headers=hx)
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert "not a valid witness verifier key" in fragment.text and 'name="vkey"' in fragment.text
    _, verifier_text = generate_witness_key("witness.example/bob")
    added = web.post("/audit/ledger/witnesses", data={"vkey": verifier_text.decode()})
    assert added.status_code == 303
    # Through htmx the swapped-in list carries the confirmation (a flash waited for a reload).
    _, other_text = generate_witness_key("witness.example/carol")
    swapped = web.post(
        "/audit/ledger/witnesses",
        data={"vkey": other_text.decode()},
        headers={"HX-Request": "true"},
    )
    assert swapped.status_code == 200 and "<html" not in swapped.text
    assert "Witness added" in swapped.text and "witness.example/carol" in swapped.text
    witness = next(w for w in witnesses.witnesses(db_session) if w.name == "witness.example/bob")
    assert witness.active
    removed = web.post(f"/audit/ledger/witnesses/{witness.id}/remove")
    assert removed.status_code == 303
    db_session.refresh(witness)
    assert not witness.active


def test_export_zip_verifies(web: Any, db_session: Any, tmp_path: Path) -> None:
    committed_log(db_session, 7)
    web.get("/ledger/votes/checkpoint")  # covers the entries with a checkpoint
    response = web.get("/ledger/export.zip")
    assert response.status_code == 200
    archive = tmp_path / "export.zip"
    archive.write_bytes(response.data)
    response.close()  # closes the sent file and removes the server's scratch directory
    assert "manifest.json" in zipfile.ZipFile(archive).namelist()
    key = current_keys().verifier("votes").text
    assert audit_cli.main(["verify", str(archive), "--key", key, "--quiet"]) == 0


def test_export_zip_is_capped_per_client_address(app: Any, web: Any, db_session: Any) -> None:
    committed_log(db_session, 2)
    app.config["EXPORT_LIMIT_PER_ADDRESS"] = "2 per hour"
    try:
        for _ in range(2):
            response = web.get("/ledger/export.zip")
            assert response.status_code == 200
            response.close()
        refused = web.get("/ledger/export.zip")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    finally:
        del app.config["EXPORT_LIMIT_PER_ADDRESS"]


def test_export_zip_signs_every_log_and_leaves_the_pool_alone(
    web: Any, db_session: Any, tmp_path: Path
) -> None:
    committed_log(db_session, 5)  # appended without any checkpoint
    pooled = LedgerPending(log="votes", grp="b1", data=entry_bundle([cast(), cast()]))
    db_session.add(pooled)
    civic = {"v": 1, "type": "proposal.support", "day": DAY, "proposal": "p1", "supporter": "s1"}
    sequencer.append_entry(db_session, log="civic", entry=civic)
    db_session.commit()
    assert checkpoints.latest_checkpoint(db_session, log="civic") is None
    response = web.get("/ledger/export.zip")
    assert response.status_code == 200
    archive = tmp_path / "export.zip"
    archive.write_bytes(response.data)
    response.close()
    with open_export(archive) as export:
        for log, size in (("votes", 5), ("civic", 1)):
            assert export.size(log) == size
            assert len(list(export.iter_entries(log))) == size
            assert max(c.size for c in export.iter_checkpoints(log)) == size, log
    # Downloading an export does not hurry a batch: the pooled casts still wait.
    assert sequencer.pending_count(db_session, log="votes") == 1  # one row, two casts
    key = current_keys().verifier("votes").text
    assert audit_cli.main(["verify", str(archive), "--key", key, "--quiet"]) == 0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ledger/votes/proof/consistency?from=0&to=5", 400),
        ("/ledger/votes/proof/consistency?from=2&to=9", 400),
        ("/ledger/votes/proof/inclusion?index=5&size=5", 400),
        ("/ledger/votes/proof/inclusion?index=x&size=5", 400),
        ("/ledger/votes/proof/inclusion?index=%C2%B2&size=5", 400),  # "²".isdigit()
        ("/ledger/votes/entry/36", 404),
        ("/ledger/votes/entry/-1", 404),
        ("/ledger/votes/entry/%D9%A3", 404),  # an Arabic-Indic 3
        ("/ledger/votes/entry/9223372036854775808", 404),  # 2**63: beyond BIGINT
        ("/ledger/votes/entry/" + "9" * 30, 404),
        ("/ledger/votes/proof/consistency?from=1&to=9999999999999999999", 400),
        ("/ledger/nope/entry/0", 404),
        ("/ledger/nope/proof/inclusion?index=0&size=1", 404),
        ("/ledger/nope/checkpoints", 404),
    ],
)
def test_json_endpoints_answer_errors_in_json(
    web: Any, db_session: Any, path: str, status: int
) -> None:
    committed_log(db_session, 5)
    response = web.get(path, headers={"Accept": "text/html"})  # what a browser sends
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert set(response.get_json()) == {"error"} and response.get_json()["error"]


def test_entry_and_checkpoints_endpoints(web: Any, db_session: Any) -> None:
    appended = committed_log(db_session, 3)
    entry = web.get("/ledger/votes/entry/2")
    assert entry.status_code == 200 and entry.mimetype == "application/json"
    assert entry.data == appended[2].data
    web.get("/ledger/votes/checkpoint")  # signs one covering the 3 entries
    lines = web.get("/ledger/votes/checkpoints").text.splitlines()
    assert [json.loads(line)["size"] for line in lines] == [3]


def test_tile_errors_stay_plain_text(web: Any, db_session: Any) -> None:
    committed_log(db_session, 2)
    response = web.get("/ledger/votes/" + tile_path(0, 0, 5))
    assert response.status_code == 404 and response.mimetype == "text/plain"


def test_receipt_of_a_changed_vote_says_it_is_replaced_once_the_ballot_closed(
    web: Any, db_session: Any
) -> None:
    from civicforum.ballots import services as ballots
    from tests.factories_ballots import approve, close, make_ballot

    voter, other = make_user(db_session), make_user(db_session)
    ballot = make_ballot(db_session)
    first = ballots.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    kept = ballots.cast_ballot(db_session, ballot=ballot, voter=other, choice=approve("o2"))
    ballots.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o3"))
    db_session.commit()
    page = web.post("/verify", data={"receipt": first.promise})
    # While the ballot is open nothing public says the first vote was replaced.
    assert "This receipt is valid" in page.text and "replaced by a vote change" not in page.text
    close(db_session, ballot)
    db_session.commit()
    page = web.post("/verify", data={"receipt": first.promise})
    assert page.status_code == 200
    assert "This receipt is valid" in page.text  # the inclusion proof still holds
    assert "replaced by a later vote of the same voter" in page.text
    assert "replaced by a vote change" in page.text and "not counted" in page.text
    fragment = web.post("/verify", data={"receipt": first.promise}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "replaced by a vote change" in fragment.text
    # Another voter's receipt is not affected.
    other_page = web.post("/verify", data={"receipt": kept.promise}).text
    assert "This receipt is valid" in other_page and "replaced by a vote change" not in other_page
