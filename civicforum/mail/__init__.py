"""Outgoing mail, sent outside the request that asked for it (`civicforum.mail.services`).

Each app process starts a sender thread the first time one of its requests queues mail
(MAIL_SEND_IN_PROCESS, on by default): woken when such a request ends, it delivers at
once, and it looks again every minute for mail whose delivery failed. `civicforum mail
send` does the same from cron or as a service (`--watch`), for mail queued outside
requests, or for every mail with MAIL_SEND_IN_PROCESS off. Several senders never send one
mail twice (`services.claim_due`).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, g

from civicforum.mail import cli
from civicforum.mail.services import queue_mail

__all__ = ["init_app", "queue_mail"]

RETRY_SECONDS = 60

log = logging.getLogger("civicforum.mail")


class SenderThread:
    """One daemon thread per process, started on first use (after a server forks workers)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wanted = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = False

    def wake(self) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
                self.thread.start()
        self.wanted.set()

    def stop(self) -> None:
        """End the thread after its current round (tests; a server just exits)."""
        self.stopping = True
        self.wanted.set()
        if self.thread is not None:
            self.thread.join(30)

    def _run(self) -> None:
        while True:
            self.wanted.wait(RETRY_SECONDS)
            self.wanted.clear()
            if self.stopping:
                return
            try:
                with self.app.app_context():
                    cli.send_due()
            except Exception:  # noqa: BLE001 - a sender must survive a database hiccup
                log.exception("the mail sender failed; it tries again in %s s", RETRY_SECONDS)


def init_app(app: Flask) -> None:
    from civicforum import jobs

    app.cli.add_command(cli.mail_cli)
    jobs.register(app, "mail", "send")
    if not app.config.get("MAIL_SEND_IN_PROCESS", True):
        return
    sender = SenderThread(app)
    app.extensions["civicforum_mail_sender"] = sender

    @app.teardown_request
    def _wake_sender(_error: BaseException | None) -> None:
        # After the view committed (or rolled back: then there is nothing new to send).
        if g.pop("civicforum_mail_queued", False):
            sender.wake()
