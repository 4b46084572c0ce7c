"""Routing: officer profiles, match scores, capacity and overflow, batch-optimal assignment. Pure logic.

Daemon entry points: `load_agents_file` / `parse_agents`, `build_profiles`, `route`, `drain_queue`.
"""
from routing.agents_file import AgentSpec, Licence, load_agents_file, load_agents_text, parse_agents
from routing.outcome import (Assignment, Candidate, MatchComponents, OutcomeKind, QueueItem, ReasonCode,
                             RoutingResult, Takeback)
from routing.profiles import AgentProfile, ProfileSet, build_profiles
from routing.route import DrainResult, drain_queue, route

__all__ = [
    "AgentSpec", "Licence", "load_agents_file", "load_agents_text", "parse_agents",
    "Assignment", "Candidate", "MatchComponents", "OutcomeKind", "QueueItem", "ReasonCode", "RoutingResult",
    "Takeback", "AgentProfile", "ProfileSet", "build_profiles", "DrainResult", "drain_queue", "route",
]
