"""Salesforce test fixtures (defined in sf_fixtures.py; the HubSpot tests keep theirs in hubspot_fixtures.py)."""
from sf_fixtures import bare_sf, sf, tls_files  # noqa: F401 - pytest finds fixtures by name here
