"""Routing: officer profiles, match scores, capacity and overflow, batch-optimal assignment. Pure logic."""
