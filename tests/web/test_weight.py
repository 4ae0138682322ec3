"""Issue 15, item 12: responses are compressed, static files have content-hashed names and are
cached as immutable, and stale or plain names still work."""

from __future__ import annotations

import gzip
import re

from flask import Flask


def test_pages_are_compressed_for_clients_that_accept_it(client, db_session) -> None:
    plain = client.get("/")
    assert "Content-Encoding" not in plain.headers
    packed = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and "HX-Request" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data)
    best = client.get("/", headers={"Accept-Encoding": "gzip, br, zstd"})
    assert best.headers["Content-Encoding"] in ("zstd", "br")


def test_compression_can_be_left_to_a_proxy(tmp_path) -> None:
    from civicforum.web import compression

    app = Flask(__name__)
    app.config["COMPRESS_RESPONSES"] = False
    compression.init_app(app)
    app.add_url_rule("/", "index", lambda: "x" * 5000)
    response = app.test_client().get("/", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers


def test_static_files_have_hashed_names_and_are_immutable(client, db_session) -> None:
    page = client.get("/").text
    css = re.search(r'href="(/static/css/app\.([0-9a-f]{12})\.css)"', page)
    assert css, "the stylesheet link names the file's content"
    js = re.search(r'src="(/static/js/app\.[0-9a-f]{12}\.js)"', page)
    assert js
    response = client.get(css.group(1))
    assert response.status_code == 200 and b"civicforum" in response.data
    control = response.headers["Cache-Control"]
    assert "immutable" in control and "max-age=31536000" in control and "public" in control
    response.close()

    stale = client.get("/static/css/app.000000000000.css")
    assert stale.status_code == 302 and stale.headers["Location"].endswith(css.group(1))
    plain = client.get("/static/css/app.css")
    assert plain.status_code == 200 and "no-cache" in plain.headers["Cache-Control"]
    plain.close()
    for bad in ("/static/../pyproject.toml", "/static/css/nothing.0123456789ab.css"):
        assert client.get(bad).status_code == 404


def test_a_changed_file_gets_a_new_name(tmp_path) -> None:
    from civicforum.web.static_files import Digests

    (tmp_path / "a.css").write_text("one")
    digests = Digests(str(tmp_path))
    first = digests.hashed_name("a.css")
    (tmp_path / "a.css").write_text("two, longer")
    assert digests.hashed_name("a.css") != first
    assert digests.hashed_name("missing.css") == "missing.css"
    assert digests.digest("../etc/passwd") is None
