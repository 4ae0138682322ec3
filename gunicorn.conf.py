"""gunicorn settings read automatically when gunicorn starts in the checkout.

Fork hygiene, crash diagnostics and how connections reach the workers: workers, threads and
the bind address stay on the command line (README "Deployment").
"""

from __future__ import annotations

import faulthandler
import sys
from typing import Any


def post_fork(server: Any, worker: Any) -> None:
    # A worker that dies of SIGSEGV/SIGBUS/SIGABRT writes every thread's Python stack to
    # stderr (gunicorn's error log) instead of leaving only a line in dmesg.
    faulthandler.enable(file=sys.stderr, all_threads=True)
    # With --preload the app was built in the master: a database connection opened there
    # must never be shared by two processes. Drop the parent's pooled connections without
    # closing them (closing would end the session the other processes still hold).
    app = getattr(sys.modules.get("wsgi"), "app", None)
    if app is not None:
        from civicforum.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)


def on_starting(server: Any) -> None:
    # Threaded workers (keep-alive connections) each listen on their own SO_REUSEPORT socket
    # and the kernel spreads new connections over them. On one shared socket, whichever
    # worker woke first accepted: one of two workers often ended up holding most keep-alive
    # connections while the other idled (casting bench: 190 ballots/s with one busy worker
    # against 250-300/s balanced). Sync workers keep the shared socket: each takes a new
    # connection only when it is free, which hashing would ignore. Cost: a connection still
    # waiting in the backlog of a worker being replaced is reset unanswered (nothing was
    # read, so nothing was recorded; the client retries).
    if server.cfg.worker_class_str == "gthread":
        refuse_a_served_port(server)
        server.cfg.set("reuse_port", True)


def refuse_a_served_port(server: Any) -> None:
    """With SO_REUSEPORT a second server on a port already served starts silently and the
    kernel splits the traffic between the two: an old and a new release serving side by side,
    unnoticed. Refuse to start unless CIVICFORUM_ALLOW_SHARED_PORT=true says it is wanted."""
    import os
    import socket

    if os.environ.get("CIVICFORUM_ALLOW_SHARED_PORT", "").lower() in ("1", "true", "yes"):
        return
    for address in server.cfg.address:
        if not isinstance(address, tuple):  # a Unix socket: binding it twice fails anyway
            continue
        host, port = address[0], address[1]
        probe = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
        try:
            with socket.create_connection((probe, port), timeout=0.5):
                pass
        except OSError:
            continue  # nothing answers: the port is free
        message = (
            f"another server already listens on {host}:{port}; refusing to share the port "
            "with it (set CIVICFORUM_ALLOW_SHARED_PORT=true to start anyway)"
        )
        server.log.error(message)
        raise SystemExit(message)
