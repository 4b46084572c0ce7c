"""Per-connector, per-stream read positions in `sync_state`; they move only with the rows they cover."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from connectors.base import Watermark
from daemon.store import SyncState


def load(session: Session, connector: str, stream: str) -> Watermark:
    """The persisted position, or the beginning when there is none."""
    state = session.get(SyncState, (connector, stream))
    if state is None:
        return Watermark()
    return Watermark(state.watermark, state.cursor)


def save(session: Session, connector: str, stream: str, mark: Watermark, now: datetime) -> None:
    """Persist a new position in the caller's transaction, with the results it covers."""
    state = session.get(SyncState, (connector, stream)) or SyncState(connector=connector, stream=stream)
    state.watermark = mark.modified_at
    state.cursor = mark.last_id
    state.last_success_at = now
    state.last_error = None
    state.updated_at = now
    session.add(state)


def record_error(session: Session, connector: str, stream: str, message: str, now: datetime) -> None:
    """Remember why the last read failed (shown by `leadpilot status` and /readyz)."""
    state = session.get(SyncState, (connector, stream)) or SyncState(connector=connector, stream=stream)
    state.last_error = message[:2000]
    state.last_error_at = now
    state.updated_at = now
    session.add(state)
