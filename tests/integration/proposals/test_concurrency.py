"""Concurrent support toggles on PostgreSQL never produce a wrong count (real threads)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from civicforum.proposals import services
from civicforum.proposals.models import Proposal, ProposalState, Support
from civicforum.settings.services import set_setting
from tests.conftest import scratch_postgres_app
from tests.factories import make_user
from tests.factories_proposals import make_category, make_proposal

pytestmark = pytest.mark.postgres


@pytest.fixture
def committed_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """Real commits from many connections, on a scratch database of their own."""
    if backend != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises writers)")
    with scratch_postgres_app(tmp_path) as scratch:
        with scratch.app_context():
            from civicforum.extensions import db

            url = db.engine.url
        engine = create_engine(url, pool_size=12)
        yield engine
        engine.dispose()


def test_concurrent_toggles_keep_the_count_exact(app: Flask, committed_engine: Engine) -> None:
    with app.test_request_context(), Session(committed_engine) as session:
        set_setting(session, "proposals.support_threshold", 10_000, actor=None)
        users = [make_user(session) for _ in range(8)]
        proposal = make_proposal(session, category=make_category(session))
        session.commit()
        user_ids, proposal_id = [u.id for u in users], proposal.id

    errors: list[BaseException] = []
    barrier = threading.Barrier(len(user_ids) * 2)

    def worker(user_id: int, seed: int) -> None:
        rng = random.Random(seed)
        try:
            with app.test_request_context(), Session(committed_engine) as session:
                barrier.wait()
                for _ in range(15):
                    user = session.get(type(users[0]), user_id)
                    proposal = session.get(Proposal, proposal_id)
                    services.set_support(
                        session, proposal=proposal, user=user, support=rng.random() < 0.6
                    )
                    session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    # Two threads per user: the same account double-clicking from two tabs, concurrently.
    threads = [
        threading.Thread(target=worker, args=(uid, seed)) for seed, uid in enumerate(user_ids * 2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with Session(committed_engine) as session:
        stored = session.scalar(select(Proposal.support_count).where(Proposal.id == proposal_id))
        actual = session.scalar(
            select(func.count()).select_from(Support).where(Support.proposal_id == proposal_id)
        )
        assert stored == actual
        assert session.get(Proposal, proposal_id).state is ProposalState.PUBLISHED
