"""Log hygiene: user-supplied values cannot forge log lines (ASVS 16.4.1), times in UTC."""

from __future__ import annotations

import logging
import time

from flask import Flask, request


class OneLineFilter(logging.Filter):
    """Encode CR/LF in every formatted message, so a value like "x\\nFAKE ENTRY" stays one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\n" in message or "\r" in message:
            record.msg = message.replace("\r", "\\r").replace("\n", "\\n")
            record.args = None
        return True


def security_event(kind: str, **details: object) -> None:
    """Log a refused request (failed authorisation, CSRF failure) without secrets."""
    logging.getLogger("civicforum.security").warning(
        "%s method=%s path=%s ip=%s %s",
        kind,
        request.method,
        request.path,
        request.remote_addr,
        " ".join(f"{k}={v}" for k, v in details.items()),
    )


def init_app(app: Flask) -> None:
    logging.Formatter.converter = time.gmtime
    one_line = OneLineFilter()
    for name in ("civicforum", app.logger.name):
        logger = logging.getLogger(name)
        if one_line not in logger.filters:
            logger.addFilter(one_line)
    if not logging.getLogger("civicforum").handlers and not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)sZ %(levelname)s %(name)s: %(message)s"
        )
