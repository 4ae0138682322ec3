"""Response compression for the app as shipped (Flask-Compress: zstd, brotli or gzip).

A discussion page of 2,500 comments is ~320 KB of HTML and ~20 KB compressed. Behind a
reverse proxy that compresses (nginx `gzip on`, Caddy `encode`), set
CIVICFORUM_COMPRESS_RESPONSES=false and let the proxy do it; the app alone (`.ci/start`,
gunicorn without a proxy) compresses itself. Compressed responses carry
`Vary: Accept-Encoding`; the page cache keeps uncompressed bodies (compression runs after it).

BREACH: a compressed page that holds a secret (the CSRF token) and echoes attacker-chosen text
can leak the secret's bytes through its size, to someone who can both make the victim's browser
send many requests and watch the encrypted traffic. The session cookie is SameSite=Lax, so
cross-site subresource requests (the usual attack) carry no session; the README asks for the
CSRF token to be masked per response as the complete defence (issue 15's follow-up).
"""

from __future__ import annotations

from flask import Flask, Response
from flask_compress import Compress

compress = Compress()


def _read_files_first(response: Response) -> Response:
    """A file response (send_file: static files, the favicon) is read into memory before
    Flask-Compress sees it: compressing it as a stream left the file open (it never closes
    the stream it reads). The file is closed with the response, as before."""
    if response.direct_passthrough and response.mimetype in compress_mimetypes():
        response.direct_passthrough = False
        response.make_sequence()
    return response


def compress_mimetypes() -> list[str]:
    from flask import current_app

    return list(current_app.config["COMPRESS_MIMETYPES"])


def init_app(app: Flask) -> None:
    if not app.config.get("COMPRESS_RESPONSES", True):
        return
    app.config.setdefault("COMPRESS_ALGORITHM", ["zstd", "br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 4)  # fast; most of brotli's gain on HTML
    app.config.setdefault("COMPRESS_MIMETYPES", [
        "text/html", "text/css", "text/plain", "text/csv", "text/javascript",
        "application/javascript", "application/json", "image/svg+xml",
    ])  # fmt: skip
    compress.init_app(app)
    # Registered after Flask-Compress's hook, so it runs before it (Flask runs them reversed).
    app.after_request(_read_files_first)
