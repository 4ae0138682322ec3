"""Static files under content-hashed names, cached for a year (`Cache-Control: immutable`).

`url_for("static", filename="css/app.css")` gives `/static/css/app.3f9c2b1a7d04.css`: the
name carries the first 12 hex digits of the file's SHA-256, so a changed file gets a new
address and browsers never need to ask whether the old one is still fresh. That address is
served with `max-age` of a year and `immutable`; a hash that no longer matches the file (an old
page after a deploy) is a redirect to the current name, and a plain name (`/static/css/app.css`,
for tools and old links) is still served, with `no-cache` so it is revalidated.

Hashes are computed on first use and again whenever a file's size or modification time
changes (`.ci/setup` copies vendor files in place), so development needs no build step.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app, redirect, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

YEAR = 365 * 24 * 3600
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<ext>\.[A-Za-z0-9]+)$")


class Digests:
    """SHA-256 prefixes of static files, keyed by path and remembered per (size, mtime)."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.known: dict[str, tuple[tuple[int, int], str]] = {}
        self.lock = threading.Lock()

    def digest(self, filename: str) -> str | None:
        joined = safe_join(str(self.folder), filename)  # None for "../" and absolute paths
        if joined is None:
            return None
        path = Path(joined)
        try:
            stat = os.stat(path)
        except OSError:
            return None
        stamp = (stat.st_size, stat.st_mtime_ns)
        with self.lock:
            known = self.known.get(filename)
        if known and known[0] == stamp:
            return known[1]
        value = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        with self.lock:
            self.known[filename] = (stamp, value)
        return value

    def hashed_name(self, filename: str) -> str:
        digest = self.digest(filename)
        if digest is None:
            return filename  # a missing file keeps its name (and 404s as before)
        stem, dot, ext = filename.rpartition(".")
        return f"{stem}.{digest}.{ext}" if dot and "/" not in ext else f"{filename}.{digest}"


def _digests() -> Digests:
    return current_app.extensions["civicforum_static_digests"]  # type: ignore[no-any-return]


def add_digest(endpoint: str, values: dict[str, Any]) -> None:
    """url_defaults hook: every static URL the app builds names the file's current content."""
    if endpoint == "static" and "filename" in values:
        values["filename"] = _digests().hashed_name(str(values["filename"]))


def serve(filename: str) -> ResponseReturnValue:
    folder = current_app.static_folder or "static"
    digests = _digests()
    match = _HASHED.match(filename)
    if match:
        original = match["stem"] + match["ext"]
        current = digests.digest(original)
        if current is None:
            raise NotFound()
        if current != match["digest"]:
            # A page from before a deploy asks for the old content: send the new one's name.
            return redirect(url_for("static", filename=original), code=302)
        response = send_from_directory(folder, original, max_age=YEAR)
        response.cache_control.public = True
        response.cache_control.immutable = True
        return response
    response = send_from_directory(folder, filename)
    response.cache_control.no_cache = True
    return response


def init_app(app: Flask) -> None:
    app.extensions["civicforum_static_digests"] = Digests(app.static_folder or "static")
    app.url_defaults(add_digest)
    app.view_functions["static"] = serve
