"""The on-demand scoring API (/api/v1): score a lead in the request, with the daemon's models, store,
compliance and routing. `start_api` serves it from a background thread of the daemon."""
from daemon.api.server import RunningApi, build_asgi, start_api

__all__ = ["RunningApi", "build_asgi", "start_api"]
