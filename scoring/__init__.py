"""Scoring: features, the calibrated ensemble, validation metrics, model registry, reasons, drift. Pure logic."""
