"""The daemon's open leads for routing: loads counted in SQL agree with the rows, and the rows are the ones
the DataFrame used to hold (latest score, assignment time), on every store backend."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from daemon.context import _OPEN_LEADS, read_open_leads
from daemon.store import Assignment, Lead, Outcome, Score, session_scope
from routing.overflow import Holdings, OpenLeads
from store_samples import an_agent

T = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def old_frame(session) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The open-leads DataFrame as it was before read_open_leads returned OpenLeads: the reference."""
    rows = session.execute(_OPEN_LEADS).all()
    latest = {pk: (agent, at, score) for pk, agent, at, score in rows}
    return pd.DataFrame({
        "lead_id": [str(pk) for pk in latest], "agent_id": [str(v[0]) for v in latest.values()],
        "score": np.array([np.nan if v[2] is None else float(v[2]) for v in latest.values()], dtype=float),
        "contacted": False, "assigned_at": [v[1] for v in latest.values()],
    })


def fill(engine: Engine) -> None:
    """Leads held by two officers: active, released, with an outcome, rescored, never scored."""
    with session_scope(engine) as session:
        session.add_all([an_agent("lo-1"), an_agent("lo-2")])
        leads = [Lead(connector="api", crm_id=f"c{i}", first_seen_at=T, last_seen_at=T) for i in range(8)]
        session.add_all(leads)
        session.flush()
        states = ["pending", "written", "written", "released", "pending", "written", "failed", "pending"]
        for i, (lead, state) in enumerate(zip(leads, states, strict=True)):
            session.add(Assignment(lead_pk=lead.id, agent_id="lo-1" if i % 3 else "lo-2", match_score=0.5,
                                   state=state, external_id=f"e{i}", assigned_at=T - timedelta(minutes=i)))
            for k in range(i % 3):  # none, one, or two scores (the later one counts)
                session.add(Score(lead_pk=lead.id, model_version="v1", probability=0.1, score=40 + 10 * k + i,
                                  confidence=0.5, input_hash="h", scored_at=T + timedelta(seconds=k)))
        session.add(Outcome(lead_pk=leads[4].id, agent_id="lo-2", converted=False, observed_at=T))


def test_open_leads_count_and_hold_what_the_frame_held(engine: Engine) -> None:
    fill(engine)
    with session_scope(engine) as session:
        reference = old_frame(session)
        found = read_open_leads(session)
        assert found.counts == dict(Counter(reference["agent_id"]))
        assert len(found) == len(reference) == 5
        pd.testing.assert_frame_equal(found.to_frame(), reference)
    ids = ["lo-1", "lo-2"]
    assert repr(Holdings.from_open_leads(ids, found).by_agent) == repr(Holdings.from_open_leads(ids, reference).by_agent)


def test_with_no_open_leads_nothing_is_counted(engine: Engine) -> None:
    with session_scope(engine) as session:
        found = read_open_leads(session)
        assert isinstance(found, OpenLeads) and found.counts == {} and len(found) == 0
        assert len(found.rows()) == 0
