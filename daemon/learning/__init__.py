"""The learning loop: outcome labels, KPIs and their report, drift, retraining decisions, A/B tests, ROI.

Everything here but `store_io` (the store) and `jobs` (store, registry, training) is a pure function of
DataFrames and small dataclasses, and takes `as_of` / `now` instead of reading the clock.
"""
