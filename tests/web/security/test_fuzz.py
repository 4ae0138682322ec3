"""Hostile input on every route and form never gives a 500 (issue #14 item 4).

A deterministic sweep sends the values that once broke something (ids from 2^31 to past
2^63, an offset of 10^23, NUL bytes, invalid UTF-8, bidi controls, 10,000 fields) to every
route of `app.url_map`, and hypothesis then mixes hostile values into paths, query strings
and forms. Both run as an administrator who passed the second factor (every route opens);
the refusals themselves are checked anonymously below. SQLite and PostgreSQL alike, in about
15 and 30 seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter
from wtforms.fields.core import UnboundField

from tests.conftest import csrf_token_for
from tests.factories import make_user
from tests.factories_moderation import make_comment, make_proposal

HUGE = [2**31, 2**31 + 1, 2**63 - 1, 2**63, 10**23]
NASTY_TEXT = [
    "a\x00b",
    "\u202eevil",
    "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),  # as sent: lone surrogate
    "x" * 5000,
    "' OR 1=1 --",
    "%00",
    "-1",
    "1e308",
    "NaN",
    "\U0001f600",
    "",
]
QUERY_NAMES = [
    "page",
    "offset",
    "sort",
    "q",
    "state",
    "tab",
    "edit",
    "index",
    "size",
    "from",
    "to",
    "category",
    "tag",
    "role",
    "next",
    "recorded",
    "mine",
    "kind",
]


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def form_field_names() -> list[str]:
    """Every field name of every form in the app, and the few read from request.form."""
    names = {"action", "email", "next", "sid", "value", "choice"}
    for form in _subclasses(FlaskForm):
        for name in dir(form):
            if isinstance(getattr(form, name, None), UnboundField):
                names.add(name)
    return sorted(names - {"csrf_token"})  # the header carries a good one


def routes(app: Flask) -> list[tuple[str, str, Any]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            found.append((rule.endpoint, method, rule))
    return found


def build(rule: Any, value: Any) -> str | None:
    """`rule` with every argument set to `value` (ints for int converters), or None."""
    values: dict[str, Any] = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values[name] = value if isinstance(value, int) else 1
        elif type(converter).__name__ == "AnyConverter":
            values[name] = sorted(converter.items)[0]
        else:
            values[name] = value if isinstance(value, str) and value else str(value)
    try:
        return str(rule.build(values, append_unknown=False)[1])
    except Exception:  # noqa: BLE001 - a value the converter cannot place (e.g. past max)
        return None


SLOT = 7654321  # placed by the converters, then swapped for the raw number


def raw_url(rule: Any, number: int) -> str:
    """The rule with `number` in every int slot, even one the converter would refuse."""
    return (build(rule, SLOT) or "").replace(str(SLOT), str(number))


@pytest.fixture
def admin_client(app: Flask, client: FlaskClient, db_session: Any, login_as: Any) -> FlaskClient:
    make_comment(db_session, proposal=make_proposal(db_session))  # something to look at
    login_as(make_user(db_session, roles=("citizen", "moderator", "auditor", "admin")))
    return client


def send(app: Flask, client: FlaskClient, method: str, url: str, **kwargs: Any) -> int:
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)
    response = client.open(url, method=method, **kwargs)
    response.close()  # file responses (the favicon) hold their file open until closed
    return response.status_code


def test_the_sweep_of_known_breakers(app: Flask, admin_client: FlaskClient) -> None:
    failures = []
    fields = form_field_names()
    for endpoint, method, rule in routes(app):
        # Ids past 32 and 64 bits in every slot (PostgreSQL's INTEGER, then BIGINT).
        urls = {raw_url(rule, n) for n in (2**31, 2**63 - 1, 2**63)} | {build(rule, 1) or ""}
        for url in sorted(urls):
            for query in ("", "?offset=" + "1" * 24 + "&q=a%00b"):
                status = send(app, admin_client, method, url + query)
                if status >= 500:
                    failures.append((endpoint, method, url + query, status))
        if method == "POST":
            url = build(rule, 1) or ""
            for value in ("a\x00b", "\u202e", "1" * 30):
                data = dict.fromkeys(fields, value)
                status = send(app, admin_client, method, url, data=data)
                if status >= 500:
                    failures.append((endpoint, method, url, f"form {value!r}", status))
            body = b"&".join([b"email=%FF%FE", b"display_name=%C3%28", b"title=\xff"])
            status = send(
                app,
                admin_client,
                method,
                url,
                data=body,
                content_type="application/x-www-form-urlencoded",
            )
            if status >= 500:
                failures.append((endpoint, method, url, "invalid UTF-8", status))
    assert failures == []


def test_invalid_utf8_nul_and_too_many_fields_are_refused(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    def post(body: bytes) -> Any:
        client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)
        return client.post(
            "/account/login", data=body, content_type="application/x-www-form-urlencoded"
        )

    invalid = post(b"email=%FFa%40b.cd&password=whatever+it+is")
    assert invalid.status_code == 400 and "UTF-8" in invalid.text
    nul = post(b"email=a%00%40b.cd&password=whatever+it+is")
    assert nul.status_code == 400 and "U+0000" in nul.text
    many = post(b"&".join(b"f%d=1" % n for n in range(10_000)))
    assert many.status_code == 413
    assert client.get("/proposals/?q=%FF").status_code == 400
    assert client.get("/proposals/1/comments/?offset=" + "9" * 23).status_code == 400


ANY_VALUE = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.sampled_from([str(n) for n in HUGE]),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(data=st.data())
def test_random_hostile_requests_never_fail(
    app: Flask, admin_client: FlaskClient, data: st.DataObject
) -> None:
    fields = form_field_names()
    failures = []
    for endpoint, method, rule in routes(app):
        slot = data.draw(st.one_of(st.sampled_from(HUGE), st.integers(0, 2**70), ANY_VALUE))
        url = build(rule, slot) or build(rule, 1) or ""
        query = data.draw(st.dictionaries(st.sampled_from(QUERY_NAMES), ANY_VALUE, max_size=3))
        form = data.draw(st.dictionaries(st.sampled_from(fields), ANY_VALUE, max_size=6))
        status = send(
            app,
            admin_client,
            method,
            url,
            query_string=query,
            data=form if method == "POST" else None,
        )
        if status >= 500:
            failures.append((endpoint, method, url, query, form, status))
    assert failures == []


def test_bidi_controls_are_refused_in_names_and_report_details(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session))
    comment = make_comment(db_session)
    report = client.post(
        f"/moderation/report/comment/{comment.id}",
        data={"reason": "other", "details": "harmless\u202e txet desrever"},
    )
    assert report.status_code == 422 and "U+202E" in report.text
    name = client.post("/account/settings", data={"display_name": "Ada\u2067 Smith"})
    assert name.status_code == 422
