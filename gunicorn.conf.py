"""gunicorn settings read automatically when gunicorn starts in the checkout.

Only fork hygiene and crash diagnostics: workers, threads and the bind address stay on the
command line (README "Deployment").
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
