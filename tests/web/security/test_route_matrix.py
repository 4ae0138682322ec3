"""Every route of app.url_map against anonymous and citizen users (ASVS 8.2.1).

Each endpoint must be classified below; a new endpoint without a class fails the test, so
nobody adds a route without deciding who may call it. Privileged routes must refuse
anonymous users (redirect to login) and citizens (403) before they look at their input.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter

from tests.conftest import csrf_token_for
from tests.factories import make_user

PUBLIC = "public"
LOGIN = "login"
PRIVILEGED = "privileged"  # moderator, auditor or admin: citizens get 403

CLASSES: dict[str, str] = {
    "static": PUBLIC,
    "pages.*": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.register": PUBLIC,
    "accounts.reset_request": PUBLIC,
    "accounts.reset_password": PUBLIC,
    "accounts.verify_email": PUBLIC,
    "accounts.totp_challenge": PUBLIC,  # the second login step: its own checks
    "accounts.logout": PUBLIC,  # ending no session is harmless; CSRF still applies
    "accounts.*": LOGIN,
    "admin.*": PRIVILEGED,
    "ballots.index": PUBLIC,
    "ballots.detail": PUBLIC,
    "ballots.results": PUBLIC,
    "ballots.results_download": PUBLIC,
    "ballots.cvr_download": PUBLIC,
    "budgets.*": PUBLIC,  # budgets, their projects and reviews are public; admin pages are not
    "ballots.*": LOGIN,
    "deliberation.index": PUBLIC,
    "deliberation.thread": PUBLIC,
    "deliberation.reply": PUBLIC,  # the form fragment; posting needs login
    "deliberation.*": LOGIN,
    "logstore.dashboard": PRIVILEGED,
    "logstore.add_witness": PRIVILEGED,
    "logstore.remove_witness": PRIVILEGED,
    "logstore.*": PUBLIC,  # the ledger, its proofs and /verify are public by design
    "moderation.transparency": PUBLIC,
    "moderation.appeal": LOGIN,
    "moderation.mine": LOGIN,
    "moderation.report": LOGIN,
    "moderation.*": PRIVILEGED,
    "notifications.*": LOGIN,
    "proposals.index": PUBLIC,
    "proposals.detail": PUBLIC,
    "proposals.revisions": PUBLIC,
    "proposals.*": LOGIN,
}


def classify(endpoint: str) -> str | None:
    if endpoint in CLASSES:
        return CLASSES[endpoint]
    return CLASSES.get(endpoint.split(".")[0] + ".*")


def concrete_url(rule: Any) -> str:
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if kind == "AnyConverter":
            values[name] = sorted(converter.items)[0] if hasattr(converter, "items") else "comment"
        elif isinstance(converter, IntegerConverter):
            values[name] = 999999
        elif name == "log":
            values[name] = "votes"
        else:
            values[name] = "x"
    url = rule.build(values, append_unknown=False)[1]
    return str(url)


def all_rules(app: Flask) -> list[tuple[str, str, str]]:
    cases = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            cases.append((rule.endpoint, method, concrete_url(rule)))
    return cases


def call(app: Flask, client: FlaskClient, method: str, url: str) -> Any:
    # A fresh CSRF token each time: some public POSTs (a failed login step) renew the session.
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)
    return client.open(url, method=method, data={})


def is_login_redirect(response: Any) -> bool:
    return response.status_code in (302, 303) and "/account/login" in response.headers.get(
        "Location", ""
    )


def test_every_endpoint_is_classified(app: Flask) -> None:
    missing = sorted({e for e, _, _ in all_rules(app) if classify(e) is None})
    assert missing == [], f"classify these endpoints in {__file__}: {missing}"


def test_anonymous_is_sent_to_login_for_every_non_public_route(
    app: Flask, client: FlaskClient
) -> None:
    failures = []
    for endpoint, method, url in all_rules(app):
        if classify(endpoint) == PUBLIC:
            continue
        response = call(app, client, method, url)
        if not is_login_redirect(response):
            failures.append((endpoint, method, url, response.status_code))
    assert failures == []


def test_citizen_is_refused_every_privileged_route(
    app: Flask, client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session))
    failures = []
    for endpoint, method, url in all_rules(app):
        if classify(endpoint) != PRIVILEGED:
            continue
        response = call(app, client, method, url)
        if response.status_code != 403:
            failures.append((endpoint, method, url, response.status_code))
    assert failures == []


@pytest.mark.parametrize("role", ["moderator", "auditor", "admin"])
def test_privileged_routes_open_only_to_their_role(
    app: Flask, client: FlaskClient, db_session: Any, login_as: Any, role: str
) -> None:
    """A holder of one privileged role is not let into another role's pages (GET only)."""
    login_as(make_user(db_session, roles=("citizen", role)))
    own = {"moderator": r"^moderation\.", "auditor": r"^logstore\.", "admin": r"^admin\."}
    for endpoint, method, url in all_rules(app):
        if classify(endpoint) != PRIVILEGED or method != "GET" or "999999" in url:
            continue
        status = client.get(url).status_code
        if re.match(own[role], endpoint) or role == "admin":
            assert status == 200, (endpoint, url, status)
        else:
            assert status == 403, (endpoint, url, status)


@pytest.mark.parametrize("totp", [False, True], ids=["2fa-not-set-up", "2fa-not-entered"])
def test_privileged_routes_wait_for_the_second_factor(
    app: Flask, client: FlaskClient, db_session: Any, login_as: Any, totp: bool
) -> None:
    """Role granted, second factor missing: every privileged route (pages, htmx fragments,
    downloads, POSTs) sends to the TOTP set-up, or to the code prompt once it is set up."""
    every_role = ("citizen", "moderator", "auditor", "admin")
    login_as(make_user(db_session, roles=every_role, totp=totp), mfa=False)
    step = "/account/totp/challenge" if totp else "/account/totp/setup"
    failures = []
    for endpoint, method, url in all_rules(app):
        if classify(endpoint) != PRIVILEGED:
            continue
        for headers in ({}, {"HX-Request": "true"}):
            client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)
            response = client.open(url, method=method, data={}, headers=headers)
            if response.status_code not in (302, 303) or step not in response.headers.get(
                "Location", ""
            ):
                failures.append((endpoint, method, url, headers, response.status_code))
    assert failures == []
