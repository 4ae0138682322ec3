from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask


@pytest.fixture(autouse=True)
def request_context(app: Flask, db_session: Any) -> Iterator[None]:
    """Error messages are lazy translations; rendering them needs a request's locale."""
    with app.test_request_context():
        yield
