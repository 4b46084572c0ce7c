"""Logs never carry PII: the masking functions and the filter every log record passes."""
from __future__ import annotations

import io
import json
import logging
import os
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.errors import ConfigError
from config.loader import validate
from config.sections.observability import LoggingConfig, ObservabilityConfig
from daemon.logging_setup import NOISY_LOGGERS, PiiMaskingFilter, configure_logging
from daemon.pii import mask_email, mask_phone, mask_text, mask_value

EMAIL = "jane.doe@example.com"
PHONE = "(555) 123-4567"
RAW = ("jane.doe", "example.com", "123-4567", "1234567", "555")


def assert_no_pii(text: str) -> None:
    for raw in RAW:
        assert raw not in text, f"{raw!r} leaked into {text!r}"


# ---------------------------------------------------------------- mask_text / mask_value


@pytest.mark.parametrize("phone", [
    "5551234567", "(555) 123-4567", "555-123-4567", "+1 555 123 4567", "555.123.4567",
    "+15551234567", "1-555-123-4567", "555 123 4567", "(555)123-4567",
])
def test_given_a_us_phone_in_any_common_format_when_masked_then_only_the_last_two_digits_remain(phone: str) -> None:
    masked = mask_text(f"call {phone} today")
    assert masked == "call ***-***-**67 today"


@pytest.mark.parametrize("phone", ["phone:5551234567", "phone=555-123-4567", "tel:+1-555-123-4567",
                                   "a,5551234567,b", "[5551234567]", "'555.123.4567'"])
def test_given_a_phone_glued_to_punctuation_when_masked_then_it_is_still_masked(phone: str) -> None:
    assert "4567" not in mask_text(phone)
    assert "**67" in mask_text(phone)


@pytest.mark.parametrize("text", [
    "loan amount 350000", "price 1250000.00", "2026-11-27T10:00:00", "2026-11-27 10:00:00,123",
    "2026-11-27T10:00:00.123456+00:00", "lead 00Q5e00000AbCdE", "sf id 00Q5e0000055512345AAA",
    "uuid 123e4567-e89b-12d3-a456-426614174000", "uuid 55512345-6789-4567-8123-555123456789",
    "epoch 1764237600", "epoch ms 1764237600123", "credit 760 dti 0.43 ltv 0.8", "zip 90210",
    "amount 5551234567.50", "version leadpilot@0.1.0", "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "score 87 p=0.8731 batch 2000/2000", "127.0.0.1:9464", "cron 15 3 * * *",
])
def test_given_ordinary_numbers_ids_and_timestamps_when_masked_then_they_are_unchanged(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(("address", "masked"), [
    ("jane.doe@example.com", "j***@e***.com"),
    ("J.Smith+leads@Mail.Lender.co.uk", "J***@M***.uk"),
    ("a@b.io", "a***@b***.io"),
])
def test_given_an_email_when_masked_then_first_letters_and_tld_remain(address: str, masked: str) -> None:
    assert mask_text(f"<{address}>") == f"<{masked}>"
    assert mask_email(address) == masked


def test_given_text_with_several_emails_and_phones_when_masked_then_all_are_masked_and_the_rest_kept() -> None:
    text = "lead 00Q5e00000AbCdE: jane@example.com, 555-123-4567; alt bob@x.org / +1 (555) 987-6543, amount 350000"
    assert mask_text(text) == ("lead 00Q5e00000AbCdE: j***@e***.com, ***-***-**67; alt b***@x***.org / "
                               "***-***-**43, amount 350000")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_given_any_text_when_masked_twice_then_the_second_pass_changes_nothing(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="@0123456789", blacklist_categories=("Nd",))))
def test_given_text_without_at_signs_or_digits_when_masked_then_it_is_unchanged(text: str) -> None:
    assert mask_text(text) == text


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[2-9]\d{2}-\d{3}-\d{4}", fullmatch=True))
def test_given_any_dashed_nanp_number_in_a_sentence_when_masked_then_no_more_than_two_digits_remain(phone: str) -> None:
    masked = mask_text(f"reach me at {phone}.")
    assert sum(ch.isdigit() for ch in masked) == 2
    assert masked.endswith(phone[-2:] + ".")


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["email", "phone", "first_name", "note", "lead_id", "MobilePhone"]),
                       st.one_of(st.text(max_size=30), st.integers(), st.none(),
                                 st.sampled_from([EMAIL, PHONE, "5551234567", "not-an-email"]))))
def test_given_any_record_when_masked_twice_then_the_second_pass_changes_nothing(record: dict) -> None:
    once = mask_value(record)
    assert mask_value(once) == once


def test_given_a_lead_dict_when_masked_then_contact_fields_are_masked_by_key_and_free_text_by_pattern() -> None:
    lead = {
        "lead_id": "L-1", "email": EMAIL, "Phone": "555 123 4567", "FirstName": "Jane", "lastname": "Doe",
        "consent_ip": "203.0.113.9", "zip_code": "90210", "loan_amount": 350000, "state": "CA",
        "notes": [f"asked to be called at {PHONE}", {"MobilePhone": 5551234567}],
        "middle_name": None, "created_at": datetime(2026, 11, 27, tzinfo=UTC),
    }
    masked = mask_value(lead)
    assert masked["email"] == "j***@e***.com"
    assert masked["Phone"] == "***-***-**67"
    assert masked["FirstName"] == masked["lastname"] == masked["consent_ip"] == masked["zip_code"] == "***"
    assert masked["notes"] == ["asked to be called at ***-***-**67", {"MobilePhone": "***-***-**67"}]
    # what is not personal keeps its value and type; a missing value stays visibly missing
    assert masked["lead_id"] == "L-1" and masked["loan_amount"] == 350000 and masked["state"] == "CA"
    assert masked["created_at"] == lead["created_at"] and masked["middle_name"] is None
    assert lead["email"] == EMAIL, "mask_value must not modify its input"


def test_given_a_dataclass_or_pydantic_model_when_masked_then_its_fields_are_masked() -> None:
    @dataclass
    class Contact:
        lead_id: str
        email: str
        phone: str

    assert mask_value(Contact("L-1", EMAIL, PHONE)) == {"lead_id": "L-1", "email": "j***@e***.com",
                                                        "phone": "***-***-**67"}
    assert mask_value(LoggingConfig()) == LoggingConfig().model_dump()


def test_given_a_phone_stored_as_an_integer_when_masked_then_it_is_masked_but_amounts_are_not() -> None:
    assert mask_value({"caller": 5551234567, "amount": 350000, "epoch": 1764237600}) == {
        "caller": "***-***-**67", "amount": 350000, "epoch": 1764237600}


def test_given_malformed_contact_values_when_masked_then_nothing_of_them_remains() -> None:
    assert mask_email("not-an-email") == "***"
    assert mask_phone("12") == "***"
    assert mask_value({"email": 12345, "phone": ["555", "1234567"]}) == {"email": "***", "phone": "***"}


# ---------------------------------------------------------------- configure_logging


@pytest.fixture()
def restore_logging():
    """configure_logging changes process-wide state; put it back after each test.

    pytest's own capture handlers are set aside meanwhile, so ours is the only one a record meets.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    touched = [*NOISY_LOGGERS, "leadpilot", "leadpilot.noisy", "connectors.salesforce"]
    levels = {name: logging.getLogger(name).level for name in touched}
    for handler in handlers:
        root.removeHandler(handler)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, lvl in levels.items():
        logging.getLogger(name).setLevel(lvl)
    logging.captureWarnings(False)


def configured(fmt: str = "json", level: str = "INFO", **kw: object) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(LoggingConfig(format=fmt, level=level, **kw), stream)
    return stream


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_given_pii_in_message_args_extras_and_exception_when_logged_as_json_then_every_part_is_masked(
        restore_logging) -> None:
    stream = configured()
    log = logging.getLogger("leadpilot.test")
    log.info("new lead from %s at %s", EMAIL, PHONE,
             extra={"email": EMAIL, "note": f"callback {PHONE}", "lead": {"phone": "5551234567", "state": "CA"},
                    "lead_id": "00Q5e00000AbCdE", "amount": 350000})
    try:
        raise ValueError(f"CRM rejected {EMAIL} / {PHONE}")
    except ValueError:
        log.exception("write-back failed for %s", EMAIL)

    info, error = lines(stream)
    assert_no_pii(stream.getvalue())
    assert info["msg"] == "new lead from j***@e***.com at ***-***-**67"
    assert info["email"] == "j***@e***.com" and info["note"] == "callback ***-***-**67"
    assert info["lead"] == {"phone": "***-***-**67", "state": "CA"}
    assert info["lead_id"] == "00Q5e00000AbCdE" and info["amount"] == 350000
    assert info["level"] == "INFO" and info["logger"] == "leadpilot.test"
    ts = datetime.fromisoformat(info["ts"])
    assert ts.utcoffset().total_seconds() == 0 and abs((datetime.now(UTC) - ts).total_seconds()) < 60
    assert error["level"] == "ERROR" and error["msg"] == "write-back failed for j***@e***.com"
    assert "Traceback" in error["exc"] and "ValueError: CRM rejected j***@e***.com / ***-***-**67" in error["exc"]


class Keep(logging.Handler):
    """Collects the records that reach it, after our handler has masked them."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_given_args_with_pii_when_filtered_then_the_template_is_kept_and_only_the_args_are_masked(
        restore_logging) -> None:
    stream = configured()
    keep = Keep()
    logging.getLogger().addHandler(keep)  # after ours, so it sees what Sentry's integration would
    log = logging.getLogger("leadpilot.test")
    log.info("lead %s from %s scored %d", "00Q5e00000AbCdE", EMAIL, 87)
    log.info("contact %(first_name)s %(email)s", {"first_name": "Jane", "email": EMAIL})
    log.info("%s@example.com bounced", "jane.doe")  # an email split between template and argument
    log.info("%s@%s bounced", "jane.doe", "example.com")

    first, named, split, split2 = keep.records
    assert first.msg == "lead %s from %s scored %d" and first.args == ("00Q5e00000AbCdE", "j***@e***.com", 87)
    assert named.msg == "contact %(first_name)s %(email)s" and named.getMessage() == "contact *** j***@e***.com"
    assert split.args is None and split.getMessage() == "j***@e***.com bounced"
    assert split2.args is None and split2.getMessage() == "j***@e***.com bounced"
    assert_no_pii(stream.getvalue())
    assert "Jane" not in stream.getvalue()


def test_given_a_chained_exception_and_stack_info_when_logged_then_both_are_masked(restore_logging) -> None:
    stream = configured()
    try:
        try:
            raise KeyError(EMAIL)
        except KeyError as inner:
            raise RuntimeError(f"lookup of {PHONE} failed") from inner
    except RuntimeError:
        logging.getLogger("leadpilot.test").error("boom", exc_info=True, stack_info=True)
    (record,) = lines(stream)
    assert_no_pii(stream.getvalue())
    assert "KeyError: 'j***@e***.com'" in record["exc"] and "RuntimeError: lookup of ***-***-**67" in record["exc"]
    assert "Stack (most recent call last)" in record["stack"]


def test_given_text_format_when_logged_then_pii_is_masked_and_extras_follow_the_message(restore_logging) -> None:
    stream = configured("text")
    logging.getLogger("leadpilot.test").warning("lead %s", EMAIL, extra={"phone": PHONE, "n": 3})
    out = stream.getvalue()
    assert_no_pii(out)
    assert " WARNING leadpilot.test: lead j***@e***.com phone=\"***-***-**67\" n=3" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_given_a_library_logger_when_it_logs_pii_then_the_root_handler_masks_it_too(restore_logging) -> None:
    stream = configured()
    logging.getLogger("hubspot.crm.contacts").warning("contact %s updated", EMAIL)
    logging.getLogger("some.other.lib").error("sms to %s", "+1 555 123 4567")
    assert_no_pii(stream.getvalue())
    assert [r["logger"] for r in lines(stream)] == ["hubspot.crm.contacts", "some.other.lib"]


def test_given_warnings_from_a_library_when_captured_then_they_are_logged_masked(restore_logging) -> None:
    stream = configured()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(f"odd value for {EMAIL}", UserWarning, stacklevel=1)
    (record,) = lines(stream)
    assert record["logger"] == "py.warnings" and "j***@e***.com" in record["msg"]
    assert_no_pii(stream.getvalue())


def test_given_configure_called_twice_when_logging_then_each_record_is_written_once(restore_logging) -> None:
    first = configured()
    second = configured()
    logging.getLogger("leadpilot.test").info("once")
    ours = [h for h in logging.getLogger().handlers if any(isinstance(f, PiiMaskingFilter) for f in h.filters)]
    assert len(ours) == 1
    assert first.getvalue() == "" and len(lines(second)) == 1


def test_given_level_info_when_debug_is_logged_then_it_is_dropped_and_at_debug_it_is_written(restore_logging) -> None:
    stream = configured(level="INFO")
    logging.getLogger("leadpilot.test").debug("hidden")
    assert stream.getvalue() == ""
    stream = configured(level="DEBUG")
    logging.getLogger("leadpilot.test").debug("shown")
    assert [r["msg"] for r in lines(stream)] == ["shown"]


def test_given_observability_config_when_configured_then_its_logging_section_is_used(restore_logging) -> None:
    stream = io.StringIO()
    configure_logging(ObservabilityConfig.model_validate({"logging": {"level": "WARNING", "format": "text"}}), stream)
    logging.getLogger("leadpilot.test").info("hidden")
    logging.getLogger("leadpilot.test").warning("shown")
    assert "hidden" not in stream.getvalue() and "WARNING leadpilot.test: shown" in stream.getvalue()


def test_given_noisy_libraries_when_level_is_info_then_their_info_is_quiet_unless_debug(restore_logging) -> None:
    stream = configured(level="INFO")
    logging.getLogger("urllib3.connectionpool").info("Starting new HTTPS connection")
    logging.getLogger("apscheduler.executors.default").info("Job executed")
    logging.getLogger("apscheduler.scheduler").warning("job missed")
    assert [r["msg"] for r in lines(stream)] == ["job missed"]
    stream = configured(level="DEBUG")
    logging.getLogger("urllib3.connectionpool").debug("Starting new HTTPS connection")
    assert [r["msg"] for r in lines(stream)] == ["Starting new HTTPS connection"]


def test_given_per_logger_levels_when_reconfigured_without_them_then_the_override_is_undone(restore_logging) -> None:
    stream = configured(level="WARNING", levels={"connectors.salesforce": "DEBUG"})
    logging.getLogger("connectors.salesforce.client").debug("query page 2")
    logging.getLogger("connectors.hubspot").info("hidden")
    assert [r["msg"] for r in lines(stream)] == ["query page 2"]
    stream = configured(level="WARNING")
    logging.getLogger("connectors.salesforce.client").debug("now hidden")
    assert stream.getvalue() == ""


def test_given_arguments_that_do_not_fit_the_format_when_handled_then_the_record_is_kept_and_masked(
        restore_logging) -> None:
    stream = io.StringIO()
    handler = configure_logging(LoggingConfig(), stream)
    # handed to our handler directly: pytest's own capture handler would raise on this record first
    record = logging.getLogger("leadpilot.test").makeRecord(
        "leadpilot.test", logging.INFO, __file__, 1, "lead %s %s", (EMAIL,), None)
    handler.handle(record)
    (out,) = lines(stream)
    assert "unformattable arguments" in out["msg"] and "j***@e***.com" in out["msg"]
    assert_no_pii(stream.getvalue())


def test_given_extras_named_like_json_fields_when_logged_then_they_do_not_overwrite_them(restore_logging) -> None:
    stream = configured()
    logging.getLogger("leadpilot.test").info("m", extra={"level": "custom", "ts": "x", "logger": "y"})
    (record,) = lines(stream)
    assert record["level"] == "INFO" and record["extra_level"] == "custom"
    assert record["logger"] == "leadpilot.test" and record["extra_logger"] == "y"


def test_given_stdout_is_the_journal_stream_when_logging_then_lines_carry_syslog_priorities(
        restore_logging, tmp_path, monkeypatch) -> None:
    with open(tmp_path / "journal", "w+", encoding="utf-8") as stream:
        st_ = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st_.st_dev}:{st_.st_ino}")
        configure_logging(LoggingConfig(), stream)
        logging.getLogger("leadpilot.test").info("fine")
        logging.getLogger("leadpilot.test").error("bad %s", EMAIL)
        stream.flush()
        out = (tmp_path / "journal").read_text(encoding="utf-8").splitlines()
    assert out[0].startswith("<6>{") and out[1].startswith("<3>{")
    assert json.loads(out[1][3:])["msg"] == "bad j***@e***.com"


def test_given_a_terminal_or_other_stream_when_logging_then_lines_have_no_priority_prefix(
        restore_logging, monkeypatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")
    stream = configured()
    logging.getLogger("leadpilot.test").info("fine")
    assert stream.getvalue().startswith("{")


# ---------------------------------------------------------------- the config section


@pytest.mark.parametrize(("levels", "problem"), [
    ({"urllib3": "LOUD"}, "observability.logging.levels.urllib3: must be one of"),
    ({"connectors salesforce": "DEBUG"}, "observability.logging.levels: not a logger name: 'connectors salesforce'"),
])
def test_given_a_bad_per_logger_level_when_config_is_validated_then_the_problem_names_its_path(
        levels: dict, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate({"observability": {"logging": {"levels": levels}}}, "t.yaml", env={})
    assert problem in str(err.value)
