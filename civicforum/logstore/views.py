"""Public ledger pages and API (docs/ledger.md §7), /verify, and the auditor dashboard."""

from __future__ import annotations

import base64
import functools
import gzip
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    after_this_request,
    flash,
    redirect,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from civicforum.accounts.guards import role_required
from civicforum.accounts.models import Role
from civicforum.extensions import config_limit, csrf, db, limiter
from civicforum.ledger.entry import LOGS
from civicforum.ledger.export import zip_export
from civicforum.ledger.tiles import ENTRIES_LEVEL, TileError, parse_tile_path
from civicforum.logstore import checkpoints as signed
from civicforum.logstore import integrity, proofs, receipts, storage, witnesses
from civicforum.logstore.errors import (
    InvalidWitnessKeyError,
    NoSuchEntryError,
    ProofRangeError,
)
from civicforum.logstore.forms import VerifyForm, WitnessForm
from civicforum.logstore.keys import current_keys
from civicforum.logstore.models import LedgerWitness
from civicforum.web import db_int
from civicforum.web.errors import CivicforumError
from civicforum.web.htmx import render_page, wants_fragment

bp = Blueprint("logstore", __name__)

TEXT = "text/plain; charset=utf-8"
IMMUTABLE = "public, max-age=31536000, immutable"


def _b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(v).decode("ascii") for v in values]


def _int_arg(name: str) -> int:
    value = db_int(request.args.get(name, ""), canonical=True)
    if value is None:
        raise ProofRangeError(_("%(name)s must be a non-negative integer.", name=name))
    return value


def _text(body: str, *, cache: str = "no-cache") -> Response:
    response = Response(body, content_type=TEXT)
    response.headers["Cache-Control"] = cache
    return response


def _json_errors(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Answer the JSON API's domain errors as `{"error": message}` with their status.

    Clients of these endpoints parse JSON whatever they send in Accept (docs/ledger.md §7);
    the app's error pages are HTML unless the client asks for JSON.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        try:
            return view(*args, **kwargs)
        except CivicforumError as exc:
            return {"error": str(exc.message)}, exc.status_code

    return wrapper


def _fresh_checkpoint(log: str) -> storage.CheckpointInfo:
    """The latest checkpoint, signing one first when entries are not covered yet.

    A GET that may write: a cache refresh, not a state change anyone asked for. The read
    transaction is ended first so that, on SQLite, signing starts as a writer.
    """
    checkpoint = signed.covering_checkpoint(db.session, log=log)
    if checkpoint is None:
        db.session.commit()
        checkpoint = signed.sign_checkpoint(db.session, log=log)
        db.session.commit()
    return checkpoint


# --------------------------------------------------------------------------- /verify


@bp.route("/verify", methods=["GET", "POST"])
def verify() -> ResponseReturnValue:
    form = VerifyForm()
    check = rejected = text = None
    status = 200
    if form.validate_on_submit():
        text = form.receipt_text()
        if text is None:
            form.receipt.errors = [_("Paste a receipt or choose its file.")]
            status = 422
        else:
            try:
                check = receipts.verify_receipt(db.session, text=text)
            except receipts.ReceiptRejected as exc:
                rejected = exc
                status = 422
            else:
                db.session.commit()  # an upgraded promise may have signed a checkpoint
    elif form.is_submitted():
        status = 422
    return render_page(
        "logstore/verify.html",
        fragment="verify_result",
        form=form,
        check=check,
        is_promise=isinstance(check, receipts.PromiseCheck),
        submitted=text,
        labels=integrity.option_labels(db.session, str(check.entry.get("ballot", "")))
        if check
        else {},
        rejected=rejected,
        b64=_b64,
    ), status


@bp.post("/verify/receipt.tlog-proof")
def upgraded_receipt() -> ResponseReturnValue:
    """The full receipt a promise upgrades to, for the promise in the request body. A POST
    on purpose: an entry index in a URL would tie it to the asker in access logs."""
    form = VerifyForm()
    text = form.receipt_text() if form.validate_on_submit() else None
    try:
        check = receipts.verify_receipt(db.session, text=text or "")
    except receipts.ReceiptRejected:
        check = None
    if not isinstance(check, receipts.ReceiptCheck) or check.upgraded is None:
        abort(
            404, _("This receipt has no full proof yet: its ballot is still waiting in the pool.")
        )
    db.session.commit()  # the proof may have signed a checkpoint: never hand out an unstored one
    response = _text(check.upgraded, cache="no-store")
    response.headers["Content-Disposition"] = 'attachment; filename="vote.tlog-proof"'
    return response


# --------------------------------------------------------------------------- ledger API


@bp.get("/ledger/<log>/checkpoint")
def checkpoint(log: str) -> ResponseReturnValue:
    storage.check_log(log)
    latest = _fresh_checkpoint(log)
    return _text(witnesses.with_cosignatures(db.session, log=log, checkpoint=latest))


@bp.get("/ledger/<log>/checkpoints")
@_json_errors
def checkpoints(log: str) -> ResponseReturnValue:
    """Every signed checkpoint, as the export's checkpoints.jsonl (oldest first)."""
    from civicforum.ledger.entry import canonical_json

    storage.check_log(log)
    lines = (
        canonical_json({"size": int(note.split("\n", 2)[1]), "note": note}).decode() + "\n"
        for note in signed.iter_checkpoints(db.session, log=log)
    )
    return Response("".join(lines), content_type="application/x-ndjson; charset=utf-8")


@bp.get("/ledger/<log>/vkey")
def vkey(log: str) -> ResponseReturnValue:
    storage.check_log(log)
    return _text(current_keys().verifier(log).text + "\n", cache="public, max-age=3600")


@bp.get("/ledger/<log>/proof/inclusion")
@_json_errors
def inclusion(log: str) -> ResponseReturnValue:
    storage.check_log(log)
    index, size = _int_arg("index"), _int_arg("size")
    proof = proofs.inclusion_proof(db.session, log=log, index=index, size=size)
    return {"index": index, "size": size, "proof": _b64(proof)}


@bp.get("/ledger/<log>/proof/consistency")
@_json_errors
def consistency(log: str) -> ResponseReturnValue:
    storage.check_log(log)
    old, new = _int_arg("from"), _int_arg("to")
    proof = proofs.consistency_proof(db.session, log=log, old=old, new=new)
    return {"from": old, "to": new, "proof": _b64(proof)}


# Not <int:index>: an index the converter refuses (-1, x) would get the HTML 404 page.
@bp.get("/ledger/<log>/entry/<index>")
@_json_errors
def entry(log: str, index: str) -> ResponseReturnValue:
    storage.check_log(log)
    number = db_int(index, canonical=True)
    if number is None:
        raise NoSuchEntryError(_("There is no such entry in this log."))
    data = proofs.entry_data(db.session, log=log, index=number)
    return Response(data, content_type="application/json; charset=utf-8")


@bp.get("/ledger/<log>/tile/<path:rest>")
def tile(log: str, rest: str) -> ResponseReturnValue:
    storage.check_log(log)
    try:
        parsed = parse_tile_path("tile/" + rest)
    except TileError:
        return _text(_("Not a tile path.") + "\n"), 404
    if parsed.level == ENTRIES_LEVEL:
        data = proofs.entries_bundle(db.session, log=log, index=parsed.index, width=parsed.width)
    else:
        data = proofs.tile_data(
            db.session, log=log, level=parsed.level, index=parsed.index, width=parsed.width
        )
    if data is None:
        return _text(_("The log is not that large yet.") + "\n"), 404
    response = Response(data, content_type="application/octet-stream")
    response.headers["Cache-Control"] = IMMUTABLE  # a tile's content never changes
    if parsed.level == ENTRIES_LEVEL:
        # JSON entries compress well, and tlog-tiles asks for it (hash tiles do not).
        response.vary.add("Accept-Encoding")
        if request.accept_encodings["gzip"]:
            response.set_data(gzip.compress(data, compresslevel=6, mtime=0))
            response.headers["Content-Encoding"] = "gzip"
    return response


@bp.get("/ledger/votes/receipt/<int:index>")
def receipt(index: int) -> ResponseReturnValue:
    data = proofs.entry_data(db.session, log="votes", index=index)
    if b'"type":"ballot.cast"' not in data:
        raise NoSuchEntryError(_("Receipts are issued for cast ballots only."))
    _fresh_checkpoint("votes")
    text = receipts.receipt_for(db.session, log="votes", index=index)
    db.session.commit()  # in case a checkpoint was signed meanwhile: never hand out an unstored one
    response = _text(text)
    response.headers["Content-Disposition"] = f'attachment; filename="vote-{index}.tlog-proof"'
    return response


@bp.post("/ledger/<log>/cosignatures")
@csrf.exempt  # a machine API without cookies: the witness's signature is the authentication
def cosignatures(log: str) -> ResponseReturnValue:
    storage.check_log(log)
    witnesses.submit_cosignatures(db.session, log=log, text=request.get_data())
    db.session.commit()
    return "", 204


@bp.get("/ledger/export.zip")
# Public, and it streams the whole ledger: a cap per client address (anti-automation).
@limiter.limit(lambda: config_limit("EXPORT_LIMIT_PER_ADDRESS", "20 per hour"), scope="export")
def export_zip() -> ResponseReturnValue:
    # As `civicforum ledger export` does: sign a checkpoint that covers every appended entry,
    # or the export's tail would be entries no signed root protects. Pooled casts stay pooled
    # (an export on demand must not hurry a batch). One commit per log; the read transaction
    # is ended first so that, on SQLite, signing starts as a writer.
    db.session.commit()
    for log in LOGS:
        signed.sign_checkpoint(db.session, log=log)
        db.session.commit()
    scratch = Path(tempfile.mkdtemp(prefix="civicforum-export-"))

    @after_this_request
    def _cleanup(response: Response) -> Response:
        response.call_on_close(lambda: shutil.rmtree(scratch, ignore_errors=True))
        return response

    integrity.write_export(db.session, scratch / "export")
    zip_export(scratch / "export", scratch / "ledger-export.zip")
    return send_file(
        scratch / "ledger-export.zip",
        mimetype="application/zip",
        as_attachment=True,
        download_name="civicforum-ledger-export.zip",
        max_age=0,
    )


# --------------------------------------------------------------------------- auditor dashboard


@bp.get("/audit/ledger")
@role_required(Role.AUDITOR, Role.ADMIN)
def dashboard() -> ResponseReturnValue:
    for log in LOGS:  # the latest checkpoint shown covers every entry, as /checkpoint serves
        _fresh_checkpoint(log)
    return render_page("logstore/dashboard.html", fragment="witnesses", **_dashboard_context())


def _dashboard_context(form: WitnessForm | None = None) -> dict[str, Any]:
    keys = current_keys()
    logs = []
    for log in LOGS:
        latest = signed.latest_checkpoint(db.session, log=log)
        logs.append(
            {
                "name": log,
                "origin": keys.origin(log),
                "vkey": keys.verifier(log).text,
                "size": storage.log_size(db.session, log=log),
                "latest": latest,
                "checkpoints": signed.checkpoint_count(db.session, log=log),
            }
        )
    return {
        "logs": logs,
        "last_run": integrity.last_verification(db.session),
        "participation": integrity.participation(db.session),
        "witnesses": witnesses.witnesses(db.session),
        "activity": witnesses.witness_activity(db.session),
        "form": form or WitnessForm(),
        "b64": _b64,
    }


@bp.post("/audit/ledger/witnesses")
@role_required(Role.AUDITOR, Role.ADMIN)
def add_witness() -> ResponseReturnValue:
    form = WitnessForm()
    if form.validate_on_submit():
        try:
            witnesses.add_witness(db.session, vkey=form.vkey.data or "", actor=current_user)
        except InvalidWitnessKeyError as exc:
            form.vkey.errors = [str(exc.message)]
        else:
            db.session.commit()
            done = _("Witness added: its cosignatures are now accepted.")
            if wants_fragment():  # the swapped-in list says so; a flash would wait for a reload
                return render_page(
                    "logstore/dashboard.html",
                    fragment="witnesses",
                    done=done,
                    **_dashboard_context(),
                )
            flash(done, "success")
            return redirect(url_for(".dashboard"), code=303)
    return render_page(
        "logstore/dashboard.html", fragment="witnesses", **_dashboard_context(form)
    ), 422


@bp.post("/audit/ledger/witnesses/<int:witness_id>/remove")
@role_required(Role.AUDITOR, Role.ADMIN)
def remove_witness(witness_id: int) -> ResponseReturnValue:
    witness = db.get_or_404(LedgerWitness, witness_id)
    witnesses.remove_witness(db.session, witness=witness, actor=current_user)
    db.session.commit()
    flash(_("Witness removed: new cosignatures from it are refused."), "success")
    return redirect(url_for(".dashboard"), code=303)
