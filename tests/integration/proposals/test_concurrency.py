"""Concurrent support toggles on PostgreSQL never produce a wrong count (real threads)."""

from __future__ import annotations

import os
import random
import threading

import pytest
from flask import Flask
from sqlalchemy import create_engine, delete, func, select
from sqlalchemy.orm import Session

from civicforum.proposals import services
from civicforum.proposals.models import Proposal, ProposalState, Support
from civicforum.settings.services import set_setting
from tests.factories import make_user
from tests.factories_proposals import make_category, make_proposal

pytestmark = pytest.mark.postgres


@pytest.fixture
def committed_engine(app: Flask, backend: str):
    if backend != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises writers)")
    engine = create_engine(
        os.environ["CIVICFORUM_TEST_POSTGRES_URL"].replace(
            "postgresql://", "postgresql+psycopg://"
        ),
        pool_size=12,
    )
    yield engine
    engine.dispose()


def test_concurrent_toggles_keep_the_count_exact(app: Flask, committed_engine) -> None:
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
    try:
        assert errors == []
        with Session(committed_engine) as session:
            stored = session.scalar(
                select(Proposal.support_count).where(Proposal.id == proposal_id)
            )
            actual = session.scalar(
                select(func.count()).select_from(Support).where(Support.proposal_id == proposal_id)
            )
            assert stored == actual
            assert session.get(Proposal, proposal_id).state is ProposalState.PUBLISHED
    finally:
        with Session(committed_engine) as session:
            session.execute(delete(Proposal).where(Proposal.id == proposal_id))
            session.execute(
                delete(Proposal.__table__.metadata.tables["settings"]).where(
                    Proposal.__table__.metadata.tables["settings"].c.key
                    == "proposals.support_threshold"
                )
            )
            session.commit()
