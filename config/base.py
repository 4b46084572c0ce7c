"""Base model for every configuration section: unknown keys are errors, secrets may come from files."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return SecretStr in getattr(annotation, "__args__", ())


class Section(BaseModel):
    """A strict config section: a typo in a key is reported, never silently ignored.

    Every `SecretStr` field `x` may instead be given as `x_file: /path`, whose content
    (trailing newline stripped) becomes the secret; systemd's LoadCredential puts such
    files under $CREDENTIALS_DIRECTORY.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, field in cls.model_fields.items():
            key = f"{name}_file"
            if key not in data or not _is_secret(field.annotation):
                continue
            path = data.pop(key)
            if data.get(name) not in (None, ""):
                raise ValueError(f"give either '{name}' or '{key}', not both")
            if path in (None, ""):
                continue
            try:
                text = Path(str(path)).read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"cannot read secret file {key}={path}: {exc.strerror or exc}") from None
            # a list of secrets (API tokens) is one per line
            is_list = getattr(field.annotation, "__origin__", None) is list
            data[name] = [ln.strip() for ln in text.splitlines() if ln.strip()] if is_list else text.rstrip("\r\n")
        return data
