"""leadpilot's configuration: typed models, the YAML loader and shared error types."""
from config.errors import BadInputError, ConfigError, LeadpilotError, Problem
from config.loader import example_config_path, load_config
from config.schema import LeadpilotConfig

__all__ = [
    "BadInputError", "ConfigError", "LeadpilotConfig", "LeadpilotError", "Problem",
    "example_config_path", "load_config",
]
