"""Sandbox CRMs: local servers speaking the subset of the Salesforce and HubSpot APIs the connectors use.

Shared pieces: `server.serve` (uvicorn in a background thread), `faults` (fault injection and
per-endpoint request counts), `tls` (a local CA and server certificate, since simple-salesforce
always speaks https).
"""
