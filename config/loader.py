"""Read a YAML file into a validated `LeadpilotConfig`, reporting every problem with its YAML path."""
from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from config.errors import ConfigError, Problem
from config.schema import LeadpilotConfig

EXAMPLE_NAME = "leadpilot.example.yaml"
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: the second one would silently win otherwise."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def example_config_path() -> Path:
    """The packaged example file, whose defaults run the demo."""
    return Path(str(resources.files("config") / EXAMPLE_NAME))


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; a syntax error becomes a ConfigError that names the line and column."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ConfigError(source, [Problem("", f"malformed YAML at {where}: {what}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, [Problem("", f"malformed YAML: {exc}")]) from None


def _fmt_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def interpolate(data: Any, env: Mapping[str, str], problems: list[Problem], loc: tuple[Any, ...] = ()) -> Any:
    """Replace ${VAR} and ${VAR:-default} in every string; `$$` is a literal dollar sign."""
    if isinstance(data, dict):
        return {k: interpolate(v, env, problems, (*loc, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, env, problems, (*loc, i)) for i, v in enumerate(data)]
    if not isinstance(data, str) or "$" not in data:
        return data

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env and (env[name] != "" or default is None):
            return env[name]
        if default is not None:
            return default
        problems.append(Problem(_fmt_path(loc), f"environment variable {name} is not set "
                                                "(export it, or set it in the service's EnvironmentFile)"))
        return ""

    return _VAR.sub(substitute, data)


def _model_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at `loc` under `model`, for 'did you mean' hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        args = getattr(annotation, "__args__", ()) or (annotation,)
        current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _message(err: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    loc = tuple(err["loc"])
    given = err.get("input")
    if kind == "extra_forbidden":
        names = _model_fields(LeadpilotConfig, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; valid keys: {', '.join(names)}" if names else "")
        return f"unknown key{hint}"
    if kind == "missing":
        return "required key is missing"
    bounds = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}
    if kind in bounds:
        bound = next(iter(ctx.values()), "")
        return f"must be {bounds[kind]} {bound} (got {given!r})"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"must be a whole number (got {given!r})"
    if kind in {"float_parsing", "float_type"}:
        return f"must be a number (got {given!r})"
    if kind in {"bool_parsing", "bool_type"}:
        return f"must be true or false (got {given!r})"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"must be a mapping of keys to values (got {type(given).__name__})"
    if kind == "list_type":
        return f"must be a list (got {type(given).__name__})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {given!r})"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')} (got {given!r})"
    text = str(err.get("msg", "invalid value"))
    return text.removeprefix("Value error, ")


def validate(data: Any, source: str, env: Mapping[str, str] | None = None,
             base_dir: Path | None = None) -> LeadpilotConfig:
    """Interpolate and validate parsed YAML; raises ConfigError listing every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, [Problem("", f"the top level must be a mapping of sections, not {type(data).__name__}")])
    problems: list[Problem] = []
    data = interpolate(data, os.environ if env is None else env, problems)
    try:
        config = LeadpilotConfig.model_validate(data)
    except ValidationError as exc:
        problems += [Problem(_fmt_path(tuple(e["loc"])), _message(e)) for e in exc.errors()]
        config = None
    if problems or config is None:
        raise ConfigError(source, problems)
    config._base_dir = str(base_dir) if base_dir else os.getcwd()
    return config


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> LeadpilotConfig:
    """Load `path`, or $LEADPILOT_CONFIG, or the embedded defaults (the example file)."""
    env = os.environ if env is None else env
    chosen = Path(path) if path else (Path(env["LEADPILOT_CONFIG"]) if env.get("LEADPILOT_CONFIG") else example_config_path())
    source = str(chosen)
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [Problem("", "file not found; pass -c FILE or copy config/leadpilot.example.yaml")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [Problem("", f"cannot read the file: {exc}")]) from None
    return validate(parse_yaml(text, source), source, env, base_dir=chosen.resolve().parent)
