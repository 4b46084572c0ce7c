"""The Salesforce connector plugin (entry point `salesforce` in `leadpilot.connectors`)."""
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import SalesforceSettings

__all__ = ["SalesforceConnector", "SalesforceSettings"]
