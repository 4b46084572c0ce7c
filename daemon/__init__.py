"""The daemon: store, pipeline, scheduled jobs, CLI and observability; the only package wiring I/O to logic."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("leadpilot")
except PackageNotFoundError:  # running from a checkout without an install
    __version__ = "0+unknown"
