"""Compliance: TCPA consent, Do-Not-Call, licensing, data quality, retention, fairness audit. Pure logic."""
