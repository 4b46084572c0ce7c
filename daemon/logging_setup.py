"""Process-wide logging: JSON lines (or text) on stdout for journald, with PII masked in every record.

`configure_logging(config)` installs one handler on the root logger; every record that reaches it,
from leadpilot or a library, passes `PiiMaskingFilter` first (message, arguments, `extra` fields,
exception and stack text). Loggers that do not propagate to the root are not covered: run
uvicorn with `log_config=None` so its records reach this handler.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from config.sections.observability import LoggingConfig, ObservabilityConfig

from daemon.pii import is_pii_key, mask_field, mask_text, mask_value

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS: Final[frozenset[str]] = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}

# Libraries that log every HTTP request or job tick at INFO; WARNING unless the level is DEBUG.
NOISY_LOGGERS: Final[tuple[str, ...]] = (
    "urllib3", "apscheduler", "httpx", "httpcore", "simple_salesforce", "hubspot",
    "matplotlib", "PIL", "asyncio", "multipart", "sentry_sdk.errors",
)

# syslog priorities, understood by journald as a "<N>" line prefix (SyslogLevelPrefix=, on by default)
_SYSLOG_PRIORITY: Final[dict[int, int]] = {
    logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7,
}

_MASKED_FLAG: Final[str] = "_leadpilot_pii_masked"
# loggers given a level by the last call, so a reload that drops an override also undoes it
_overridden: set[str] = set()
_HANDLER_FLAG: Final[str] = "_leadpilot_handler"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller passed with `extra=` (private `_` names excluded)."""
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")}


def _mask_arg(arg: Any) -> Any:
    # strings, numbers and containers are masked; other objects keep their own str()/repr(),
    # which the check on the rendered message below still covers
    if isinstance(arg, str | bytes | int | Mapping | list | tuple | set | frozenset) \
            or dataclasses.is_dataclass(arg) or callable(getattr(arg, "model_dump", None)):
        return mask_value(arg)
    return arg


def _mask_message(record: logging.LogRecord) -> None:
    try:
        original = record.getMessage()
    except (TypeError, ValueError, KeyError):
        # arguments that do not fit the format: keep both rather than lose the record
        record.msg, record.args = mask_text(f"{record.msg!s} (unformattable arguments: {record.args!r})"), None
        return
    if record.args and isinstance(record.msg, str) and mask_text(record.msg) == record.msg:
        args = mask_value(record.args) if isinstance(record.args, Mapping) else tuple(map(_mask_arg, record.args))
        try:
            rendered = record.msg % args
        except (TypeError, ValueError, KeyError):
            rendered = None
        # keep the template when the masked arguments render clean: Sentry groups events by it.
        # An email split between template and argument ("%s@example.com") fails the check.
        if rendered is not None and mask_text(rendered) == rendered:
            record.args = args
            return
    record.msg, record.args = mask_text(original), None


class PiiMaskingFilter(logging.Filter):
    """Masks emails, phone numbers and contact fields in a record, in place, before any formatter sees it.

    Covers the message and its arguments (`log.info("lead %s", email)`), `extra=` fields (by
    pattern, and by key for `email`, `phone`, `first_name`, ...), exception and stack text.
    Records are shared between handlers, so the masked record is what every later handler
    (and Sentry's logging integration) sees.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _MASKED_FLAG, False):
            return True
        _mask_message(record)
        for key, value in extra_fields(record).items():
            setattr(record, key, mask_field(key, value) if is_pii_key(key) else mask_value(value))
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = mask_text(text.rstrip("\n"))
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        setattr(record, _MASKED_FLAG, True)
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (ISO 8601, UTC), level, logger, msg, the `extra` fields, exc."""

    RESERVED: Final[frozenset[str]] = frozenset({"ts", "level", "logger", "msg", "exc", "stack"})

    def __init__(self, syslog_prefix: bool = False) -> None:
        super().__init__()
        self.syslog_prefix = syslog_prefix

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname,
                               "logger": record.name, "msg": record.getMessage()}
        for key, value in extra_fields(record).items():
            out[f"extra_{key}" if key in self.RESERVED else key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        line = json.dumps(out, default=str, ensure_ascii=False)
        return f"<{_SYSLOG_PRIORITY.get(record.levelno, 6)}>{line}" if self.syslog_prefix else line


class TextFormatter(logging.Formatter):
    """`2026-11-27T10:00:00.000+00:00 INFO    leadpilot.cli: message key=value` for a terminal."""

    def __init__(self, syslog_prefix: bool = False) -> None:
        super().__init__()
        self.syslog_prefix = syslog_prefix

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        extras = extra_fields(record)
        if extras:
            line += " " + " ".join(f"{k}={json.dumps(v, default=str, ensure_ascii=False)}" for k, v in extras.items())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + record.stack_info
        return f"<{_SYSLOG_PRIORITY.get(record.levelno, 6)}>{line}" if self.syslog_prefix else line


def stream_is_journal(stream: TextIO) -> bool:
    """True when `stream` is the journald stream systemd connected (it names it in $JOURNAL_STREAM)."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # io.StringIO and closed streams have no descriptor
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


def configure_logging(config: ObservabilityConfig | LoggingConfig | None = None,
                      stream: TextIO | None = None) -> logging.Handler:
    """Install leadpilot's root handler (replacing one installed before) and return it.

    Safe to call again, e.g. on SIGHUP after a config reload: the old handler is removed first.
    """
    cfg = config.logging if isinstance(config, ObservabilityConfig) else (config or LoggingConfig())
    stream = sys.stdout if stream is None else stream
    prefix = stream_is_journal(stream)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(prefix) if cfg.format == "json" else TextFormatter(prefix))
    handler.addFilter(PiiMaskingFilter())
    setattr(handler, _HANDLER_FLAG, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_FLAG, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    level = logging.getLevelName(cfg.level)
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if level == logging.DEBUG else logging.WARNING)
    for name in _overridden - set(cfg.levels) - set(NOISY_LOGGERS):
        logging.getLogger(name).setLevel(logging.NOTSET)
    for name, name_level in cfg.levels.items():
        logging.getLogger(name).setLevel(name_level)
    _overridden.clear()
    _overridden.update(cfg.levels)
    # warnings.warn(...) from libraries become log records, masked like the rest
    logging.captureWarnings(True)
    return handler
