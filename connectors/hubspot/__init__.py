"""The HubSpot connector plugin (entry point `hubspot` in `leadpilot.connectors`)."""
from connectors.hubspot.connector import HubSpotConnector, read_hash
from connectors.hubspot.settings import HubSpotPropertyNames, HubSpotSettings

__all__ = ["HubSpotConnector", "HubSpotPropertyNames", "HubSpotSettings", "read_hash"]
