"""Sentry error reporting: on only when a DSN is configured, and never with personal data.

Every event, transaction and breadcrumb passes `scrub_event` (daemon/pii.py) before it leaves the
process; `send_default_pii=False` keeps the SDK from adding user, IP and cookie data itself, request
bodies are never attached, and stack-frame variables only when the admin asks for them.
"""
from __future__ import annotations

import logging
import warnings
from typing import Any, Final

import sentry_sdk
from sentry_sdk.scrubber import EventScrubber
from sentry_sdk.transport import Transport
from sentry_sdk.utils import BadDsn

from config.errors import BadInputError
from config.sections.observability import SentryConfig

from daemon.pii import mask_value

log = logging.getLogger(__name__)

# Event keys the SDK fills with ids, versions and timestamps: nothing personal, and masking
# them could only corrupt them. Everything else (message, exception, extra, breadcrumbs,
# request, user, tags, contexts, spans) is scrubbed.
_TRUSTED_KEYS: Final[frozenset[str]] = frozenset({
    "event_id", "timestamp", "start_timestamp", "release", "dist", "environment", "platform",
    "level", "type", "sdk", "modules",
})


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """`before_send`: the event with emails, phone numbers and contact fields masked everywhere."""
    return {k: (v if k in _TRUSTED_KEYS else mask_value(v)) for k, v in event.items()}


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """`before_breadcrumb`: log messages and HTTP URLs recorded as breadcrumbs, masked."""
    return mask_value(crumb)


def init_sentry(config: SentryConfig, release: str, *, transport: Transport | None = None) -> bool:
    """Start Sentry if `config.dsn` is set and return True; without a DSN stop any earlier client, return False.

    `transport` replaces the HTTP transport (tests capture envelopes in memory with it).
    """
    if not config.enabled():
        client = sentry_sdk.get_client()
        if client.is_active():  # a reload removed the DSN: stop reporting
            client.close(timeout=2.0)
            sentry_sdk.get_global_scope().set_client(None)
        return False
    assert config.dsn is not None
    options: dict[str, Any] = {
        "dsn": config.dsn.get_secret_value(),
        "release": release,
        "environment": config.environment,
        "sample_rate": config.sample_rate,
        "traces_sample_rate": config.traces_sample_rate,
        "send_default_pii": False,
        "include_local_variables": config.include_local_variables,
        # lead payloads arrive in API request bodies: never attach them
        "max_request_body_size": "never",
        "before_send": scrub_event,
        "before_send_transaction": scrub_event,
        "before_breadcrumb": scrub_breadcrumb,
        # the SDK's own scrubber, applied to nested data too: passwords, tokens, cookies, IPs
        "event_scrubber": EventScrubber(recursive=True, send_default_pii=False),
    }
    if transport is not None:
        options["transport"] = transport
    try:
        with warnings.catch_warnings():
            # sentry-sdk 2.7x prefers `data_collection`, but the contract (and every 2.x
            # release) is send_default_pii=False; the deprecation is noise here
            warnings.filterwarnings("ignore", message=".*send_default_pii.*", category=DeprecationWarning)
            sentry_sdk.init(**options)
    except BadDsn:
        # BadDsn's text may quote the DSN, a secret: do not repeat it
        raise BadInputError("observability.sentry.dsn: Sentry rejected the DSN; copy it again from "
                            "Sentry's project settings (Client Keys)") from None
    log.info("sentry reporting on", extra={"environment": config.environment, "release": release})
    return True
