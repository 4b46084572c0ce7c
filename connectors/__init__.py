"""CRM connectors: the `Connector` interface, the Salesforce and HubSpot plugins, the sandbox CRMs."""
