"""The outgoing mail queue (civicforum.mail): queued with the action, sent outside requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from civicforum.mail import services
from civicforum.mail.models import OutgoingMail
from tests.conftest import Mailbox, make_test_app, send_queued_mail
from tests.factories import make_user


def _queued(db_session: Any) -> list[OutgoingMail]:
    return list(db_session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))


def test_queued_mail_goes_over_smtp_and_leaves_the_queue(
    app: Flask, db_session: Any, mailbox: Mailbox
) -> None:
    services.queue_mail(db_session, to="smtp@example.test", subject="Hello", body="Body, a link")
    db_session.commit()
    message = mailbox.wait_for(to="smtp@example.test")  # sends what is queued first
    assert message["Subject"] == "Hello" and "Body, a link" in mailbox.body(message)
    assert _queued(db_session) == []  # the body may hold a token: not kept once sent


def test_a_failed_delivery_is_retried_later_then_dropped(
    app: Flask, db_session: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", 9)  # discard port: connection refused
    services.queue_mail(db_session, to="x@example.test", subject="S", body="secret token")
    db_session.commit()
    assert send_queued_mail(app) == (0, 1)
    [mail] = _queued(db_session)
    db_session.refresh(mail)
    assert mail.attempts == 1 and mail.last_error and mail.not_before > mail.created_at
    assert send_queued_mail(app) == (0, 0)  # not due again yet
    assert "secret token" not in caplog.text
    mail.attempts = services.MAX_ATTEMPTS - 1
    mail.not_before = mail.created_at
    db_session.commit()
    assert send_queued_mail(app) == (0, 1)
    assert _queued(db_session) == []  # given up, and said so in the log
    assert "dropped after" in caplog.text


def test_a_placeholder_is_dropped_unsent(app: Flask, db_session: Any, mailbox: Mailbox) -> None:
    services.queue_mail(db_session, to=None)
    db_session.commit()
    assert send_queued_mail(app) == (0, 0)
    assert _queued(db_session) == [] and mailbox.messages == []


def test_a_claimed_mail_is_not_claimed_again(app: Flask, db_session: Any) -> None:
    services.queue_mail(db_session, to="once@example.test", subject="S", body="B")
    db_session.flush()
    first = services.claim_due(db_session)
    assert first is not None and first.recipient == "once@example.test"
    assert services.claim_due(db_session) is None  # another sender finds it leased


def test_the_mail_send_command(app: Flask, db_session: Any, mailbox: Mailbox) -> None:
    services.queue_mail(db_session, to="cron@example.test", subject="S", body="B")
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["mail", "send"])
    assert result.exit_code == 0 and "sent 1" in result.output
    assert mailbox.messages and mailbox.messages[-1]["To"] == "cron@example.test"


def test_the_sender_thread_mails_after_the_request(
    tmp_path: Path, smtp_server: tuple[str, int, Mailbox]
) -> None:
    """As deployed: a request queues and commits; the process's sender thread delivers."""
    import flask_migrate

    from civicforum.extensions import db
    from tests.conftest import csrf_token_for

    host, port, box = smtp_server
    box.clear()
    live = make_test_app(
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        tmp_path,
        MAIL_SERVER=host,
        MAIL_PORT=port,
        MAIL_SEND_IN_PROCESS=True,
    )
    with live.app_context():
        flask_migrate.upgrade()
        make_user(db.session, email="threaded@example.test")
        db.session.commit()
    client = live.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, live)
    response = client.post("/account/reset", data={"email": "threaded@example.test"})
    assert response.status_code == 303
    message = box.wait_for(to="threaded@example.test")
    assert "/account/reset/" in box.body(message)
    live.extensions["civicforum_mail_sender"].stop()
    with live.app_context():
        db.engine.dispose()
