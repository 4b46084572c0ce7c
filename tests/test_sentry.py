"""Sentry starts only with a DSN and never sends PII; the transport is in memory, nothing leaves the process."""
from __future__ import annotations

import logging
import warnings

import pytest
import sentry_sdk
from pydantic import SecretStr
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from config.errors import BadInputError, ConfigError
from config.loader import validate
from config.sections.observability import SentryConfig
from daemon.sentry_setup import init_sentry, scrub_event

# port 9 (discard) on localhost: a syntactically valid DSN that could never reach a server
DSN = "https://public@127.0.0.1:9/1"
# Module constants, not literals near a `raise`: Sentry sends the source lines around each frame.
EMAIL = "jane.doe@example.com"
PHONE = "(555) 123-4567"
PHONE_DIGITS = "5551234567"
FIRST_NAME = "Jane"


class MemoryTransport(Transport):
    """Keeps envelopes instead of sending them."""

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict]:
        return [e for e in (env.get_event() or env.get_transaction_event() for env in self.envelopes) if e]

    def raw(self) -> bytes:
        return b"".join(env.serialize() for env in self.envelopes)


@pytest.fixture()
def transport():
    """A fresh in-memory transport; afterwards the SDK is switched off again for the next test."""
    memory = MemoryTransport()
    yield memory
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=1.0)
    sentry_sdk.get_global_scope().set_client(None)
    sentry_sdk.get_isolation_scope().clear()
    sentry_sdk.get_current_scope().clear()


def assert_no_pii(data: bytes) -> None:
    for raw in (b"jane.doe", b"example.com", b"123-4567", b"1234567", b"Jane"):
        assert raw not in data, f"{raw!r} leaked to Sentry"


def test_given_no_dsn_when_initialising_then_sentry_stays_off_and_nothing_is_sent(transport) -> None:
    for config in (SentryConfig(), SentryConfig(dsn=""), SentryConfig(dsn="  ")):
        assert init_sentry(config, "leadpilot@test", transport=transport) is False
        assert not sentry_sdk.get_client().is_active()
    sentry_sdk.capture_message(f"nobody hears {EMAIL}")
    sentry_sdk.flush()
    assert transport.envelopes == []


def test_given_a_dsn_when_an_exception_with_pii_is_captured_then_the_event_is_masked(transport) -> None:
    assert init_sentry(SentryConfig(dsn=DSN, environment="staging"), "leadpilot@1.2.3", transport=transport)
    client = sentry_sdk.get_client()
    assert client.is_active() and client.options["send_default_pii"] is False
    assert client.options["include_local_variables"] is False
    assert client.options["max_request_body_size"] == "never"

    sentry_sdk.set_extra("lead", {"lead_id": "00Q5e00000AbCdE", "email": EMAIL, "phone": PHONE_DIGITS,
                                  "first_name": FIRST_NAME, "loan_amount": 350000})
    sentry_sdk.set_user({"id": "u-1", "email": EMAIL, "ip_address": "203.0.113.9"})
    sentry_sdk.set_tag("callback", PHONE)
    sentry_sdk.add_breadcrumb(category="crm", message=f"fetched {EMAIL}", data={"phone": PHONE})
    try:
        raise RuntimeError(f"HubSpot rejected contact {EMAIL} with phone {PHONE}")
    except RuntimeError as exc:
        sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=2)

    (event,) = transport.events()
    assert_no_pii(transport.raw())
    assert event["exception"]["values"][-1]["value"] == "HubSpot rejected contact j***@e***.com with phone ***-***-**67"
    assert event["extra"]["lead"] == {"lead_id": "00Q5e00000AbCdE", "email": "j***@e***.com",
                                      "phone": "***-***-**67", "first_name": "***", "loan_amount": 350000}
    assert event["user"]["email"] == "j***@e***.com" and event["user"]["id"] == "u-1"
    assert event["tags"]["callback"] == "***-***-**67"
    crumb = event["breadcrumbs"]["values"][-1]
    assert crumb["message"] == "fetched j***@e***.com" and crumb["data"]["phone"] == "***-***-**67"
    # what identifies the deployment is kept as it was
    assert event["release"] == "leadpilot@1.2.3" and event["environment"] == "staging"


def test_given_a_dsn_when_an_error_is_logged_then_the_logging_integration_event_is_masked(transport) -> None:
    assert init_sentry(SentryConfig(dsn=DSN), "leadpilot@test", transport=transport)
    log = logging.getLogger("leadpilot.test.sentry")
    log.warning("polling lead of %s", EMAIL)  # becomes a breadcrumb
    log.error("write-back failed for %s at %s", EMAIL, PHONE)  # becomes an event
    sentry_sdk.flush(timeout=2)

    (event,) = transport.events()
    assert_no_pii(transport.raw())
    assert event["logentry"]["formatted"] == "write-back failed for j***@e***.com at ***-***-**67"
    # the template survives masking, so Sentry groups all such failures into one issue
    assert event["logentry"]["message"] == "write-back failed for %s at %s"
    assert any(c.get("message") == "polling lead of j***@e***.com" for c in event["breadcrumbs"]["values"])


def test_given_local_variables_switched_on_when_captured_then_frame_variables_are_masked(transport) -> None:
    assert init_sentry(SentryConfig(dsn=DSN, include_local_variables=True), "leadpilot@test", transport=transport)

    def write_back() -> None:
        email = EMAIL  # noqa: F841 - a local variable Sentry would send
        note = f"call {PHONE}"  # noqa: F841
        raise ValueError("CRM said no")

    try:
        write_back()
    except ValueError as exc:
        sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=2)

    (event,) = transport.events()
    frame = event["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "write_back"
    assert frame["vars"]["email"].strip("'") == "j***@e***.com"
    assert "***-***-**67" in frame["vars"]["note"]
    assert_no_pii(transport.raw())


def test_given_a_running_client_when_reinitialised_without_dsn_then_reporting_stops(transport) -> None:
    assert init_sentry(SentryConfig(dsn=DSN), "leadpilot@test", transport=transport)
    assert init_sentry(SentryConfig(), "leadpilot@test") is False
    assert not sentry_sdk.get_client().is_active()
    sentry_sdk.capture_message("after reload")
    assert transport.events() == []


def test_given_request_data_when_scrubbed_then_body_headers_and_query_lose_pii() -> None:
    event = {
        "event_id": "0123456789abcdef0123456789abcdef", "timestamp": "2026-11-27T10:00:00Z",
        "request": {"url": f"https://crm.example.test/search?q={EMAIL}", "data": {"phone": PHONE, "state": "TX"},
                    "headers": {"X-Caller": f"tel {PHONE}"}},
        "contexts": {"lead": {"Email": EMAIL}},
    }
    scrubbed = scrub_event(event)
    assert scrubbed["event_id"] == event["event_id"] and scrubbed["timestamp"] == event["timestamp"]
    assert scrubbed["request"]["url"] == "https://crm.example.test/search?q=j***@e***.com"
    assert scrubbed["request"]["data"] == {"phone": "***-***-**67", "state": "TX"}
    assert scrubbed["request"]["headers"]["X-Caller"] == "tel ***-***-**67"
    assert scrubbed["contexts"]["lead"]["Email"] == "j***@e***.com"


def test_given_a_dsn_when_initialising_then_no_warning_is_raised(transport) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert init_sentry(SentryConfig(dsn=DSN), "leadpilot@test", transport=transport)


@pytest.mark.parametrize("dsn", ["not a url", "ftp://key@host/1", "https://sentry.example.test/1",
                                 "https://key@/1", "https://key@sentry.example.test/",
                                 "https://key@sentry.example.test/project"])
def test_given_a_malformed_dsn_when_config_is_validated_then_the_error_names_the_key_but_not_the_secret(dsn: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate({"observability": {"sentry": {"dsn": dsn}}}, "t.yaml", env={})
    message = str(err.value)
    assert "observability.sentry.dsn: not a Sentry DSN" in message
    assert dsn not in message


def test_given_a_dsn_file_when_config_is_loaded_then_the_dsn_comes_from_the_file(tmp_path) -> None:
    secret = tmp_path / "sentry_dsn"
    secret.write_text(DSN + "\n", encoding="utf-8")
    config = validate({"observability": {"sentry": {"dsn_file": str(secret)}}}, "t.yaml", env={})
    assert config.observability.sentry.dsn.get_secret_value() == DSN
    assert DSN not in repr(config.observability.sentry)
    secret.write_text("", encoding="utf-8")  # an empty credential file means Sentry is off
    config = validate({"observability": {"sentry": {"dsn_file": str(secret)}}}, "t.yaml", env={})
    assert not config.observability.sentry.enabled()


def test_given_a_dsn_the_sdk_rejects_when_initialising_then_a_bad_input_error_hides_the_dsn(transport) -> None:
    # model_construct skips our validator, so the SDK's own check (in its HTTP transport) is what rejects it;
    # building that transport opens no connection
    config = SentryConfig.model_construct(dsn=SecretStr("https://public@127.0.0.1:9/abc"), environment="production",
                                          sample_rate=1.0, traces_sample_rate=0.0, include_local_variables=False)
    with pytest.raises(BadInputError) as err:
        init_sentry(config, "leadpilot@test")
    assert "observability.sentry.dsn" in str(err.value) and "127.0.0.1" not in str(err.value)
