"""Find connector plugins through the `leadpilot.connectors` entry-point group."""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel, ValidationError

from config.errors import Problem
from config.schema import LeadpilotConfig

GROUP = "leadpilot.connectors"


def available_plugins() -> dict[str, Any]:
    """Plugin name -> entry point, for every installed plugin."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def validate_connector_settings(config: LeadpilotConfig) -> list[Problem]:
    """Check each connector names an installed plugin and its settings fit that plugin's config model."""
    plugins = available_plugins()
    problems: list[Problem] = []
    for index, connector in enumerate(config.connectors):
        where = f"connectors[{index}]"
        entry = plugins.get(connector.plugin)
        if entry is None:
            known = ", ".join(sorted(plugins)) or "none installed"
            problems.append(Problem(f"{where}.plugin", f"unknown connector plugin {connector.plugin!r} (installed: {known})"))
            continue
        model: type[BaseModel] | None = getattr(entry.load(), "config_model", None)
        if model is None:
            continue
        try:
            model.model_validate(connector.settings)
        except ValidationError as exc:
            for err in exc.errors():
                loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
                problems.append(Problem(f"{where}.settings{loc}", str(err["msg"]).removeprefix("Value error, ")))
    return problems
