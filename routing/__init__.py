"""Routing: officer profiles, match scores, capacity and overflow, batch-optimal assignment. Pure logic.

The daemon's calls (no I/O here; `now`, loads, licences and open leads are arguments):

    agents = load_agents_file(config.input_path(cfg.routing.agents_file), cfg.routing)   # or parse_agents(dict)
    profiles = build_profiles(history_df, agents, cfg.routing, open_load={agent_id: n})
    result = route(leads_df, profiles, cfg.routing, now, licensed=mask_or_check, open_leads=open_df)
    #   result.assignments: one Assignment per lead (outcome, reason_code, reason, agent_id, match, alternatives)
    #   result.takebacks:   Takeback moves to write back; result.queue: QueueItems to persist
    drained = drain_queue(queue_items, queued_leads_df, profiles, cfg.routing, now, licensed=..., open_leads=...)
"""
from routing.agents_file import AgentSpec, Licence, load_agents_file, load_agents_text, parse_agents
from routing.outcome import (Assignment, Candidate, MatchComponents, OutcomeKind, QueueItem, ReasonCode,
                             RoutingResult, Takeback)
from routing.profiles import AgentProfile, ProfileSet, build_profiles
from routing.route import DrainResult, RoutingProblem, build_problem, drain_queue, route

__all__ = [
    "AgentSpec", "Licence", "load_agents_file", "load_agents_text", "parse_agents",
    "Assignment", "Candidate", "MatchComponents", "OutcomeKind", "QueueItem", "ReasonCode", "RoutingResult",
    "Takeback", "AgentProfile", "ProfileSet", "build_profiles", "DrainResult", "RoutingProblem", "build_problem",
    "drain_queue", "route",
]
