from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask


@pytest.fixture(autouse=True)
def request_context(app: Flask, db_session) -> Iterator[None]:
    """Services build translated messages; give them a request (locale) like a view would."""
    with app.test_request_context():
        yield
