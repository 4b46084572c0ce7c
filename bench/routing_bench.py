"""Routing on the synthetic generator's ground truth: expected conversions and speed, side by side.

Officers' performance is learned from the generated history only (build_profiles); the truth is used
to score the choices (sum of each chosen officer's TRUE conversion probability) and for the best
possible assignment (optimal on the true matrix, same hard rules and capacities: an upper bound).
A second reference, "officers known exactly", is the optimum of a router that knew every officer's true
skill and specialty multipliers but sees each lead as routing does (the CRM record with its blanks, and
scoring's noisy probability): the ceiling for any way of learning officers from history.

    .venv/bin/python bench/routing_bench.py                 # 20,000 past leads, 1,000 to route, 50 officers
    .venv/bin/python bench/routing_bench.py --history 50000 --seed 3 --per-officer
"""
from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.sections.routing import RoutingConfig  # noqa: E402
from daemon.synthetic import generate  # noqa: E402
from daemon.synthetic.vocab import SPECIALTIES  # noqa: E402
from routing import build_profiles, load_agents_text, route  # noqa: E402
from routing.assign import optimal_assignment  # noqa: E402
from routing.leads import prepare_leads  # noqa: E402
from routing.profiles import ProfileSet  # noqa: E402
from routing.route import build_problem  # noqa: E402
from routing.simulate import BEST, SimulationReport, score_choice, simulate_routing  # noqa: E402
from routing.tokens import TOKENS  # noqa: E402

NOW = datetime(2026, 11, 1, tzinfo=UTC)
TARGET_GAIN = 1.15  # batch-optimal / round robin
TARGET_GAP = 0.98  # batch-optimal / best possible
TARGET_SECONDS = 1.0


def noisy_probability(p: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """A stand-in for scoring's calibrated probability: the truth with logit noise (sigma 0 = perfect)."""
    logit = np.log(p / (1 - p)) + rng.normal(0, sigma, p.size)
    return 1 / (1 + np.exp(-logit))


def world(args: argparse.Namespace, config: RoutingConfig):
    """Generate the data; split it into history (older leads) and the batch to route (newest leads)."""
    data = generate(n_leads=args.history + args.batch, n_agents=args.agents, seed=args.seed, now=NOW)
    rng = np.random.default_rng(args.seed)
    leads = data.leads.sort_values("created_at").reset_index(drop=True)
    leads["probability"] = noisy_probability(leads["true_probability"].to_numpy(), args.score_noise, rng)
    leads["score"] = (leads["probability"].rank(pct=True) * 100).round()
    batch = leads.tail(args.batch).reset_index(drop=True)
    past = data.outcomes[data.outcomes["lead_id"].isin(leads["lead_id"].iloc[:-args.batch])]
    hist = past[["lead_id", "agent_id", "converted", "status"]].merge(
        leads[["lead_id", "loan_type", "credit_score", "loan_amount", "first_time_buyer", "score", "probability"]],
        on="lead_id")
    hist["converted"] = hist["converted"].where(hist["status"] != "open")  # young leads: outcome not known yet
    agents_yaml = yaml.safe_dump({"agents": [a.to_yaml_dict() for a in data.agents]})
    agents = load_agents_text(agents_yaml, config, source="synthetic agents.yaml")
    return data, agents, hist, batch


def officers_known_best(data, batch: pd.DataFrame, profiles: ProfileSet, config: RoutingConfig,
                        true_p: np.ndarray) -> float:
    """Optimum of a router that knows every officer's true parameters but sees leads as routing does.

    Officer effect = ln(skill) + the specialty multipliers of the lead's tokens as routing reads them (blanks
    filled in by routing's own imputation); the lead part is scoring's noisy probability, less the average
    officer's effect it already holds. Evaluation only: no router reads these parameters.
    """
    view = prepare_leads(batch, config)
    x = profiles.lead_tokens(view)[:, [TOKENS.index(t) for t in SPECIALTIES]]
    cols = [data.truth.agent_ids.index(a) for a in profiles.agent_ids]
    effect = (np.log(data.truth.skill[cols])[None, :]
              + x @ np.log(data.truth.specialty_multiplier[cols]).T)
    active = data.truth.active[cols]
    p = np.clip(profiles.base_probability(view), 1e-4, 1 - 1e-4)
    logit = np.log(p / (1 - p)) - effect[:, active].mean(axis=1)
    known = 1 / (1 + np.exp(-(logit[:, None] + effect)))
    problem = build_problem(batch, profiles, config, NOW)
    choice = optimal_assignment(known, problem.allowed, problem.matches.free)
    return score_choice("officers known", choice, true_p).expected_conversions


def report_scenario(name: str, report: SimulationReport, known: float, counts: dict[str, int],
                    per_officer: bool) -> dict[str, float]:
    got = {k: v.expected_conversions for k, v in report.outcomes.items()}
    gain, gap = report.ratio("optimal", "round_robin"), report.ratio("optimal", BEST)
    print(f"\n== {name} ==   outcomes of batch-optimal routing: {counts}")
    print(report.table().to_string())
    print(f"  officers known exactly, leads as routing sees them: {known:.2f} "
          f"({known / got[BEST]:.3f} of best possible: the ceiling for learned profiles)")
    print(f"  batch-optimal / round robin   = {gain:.3f}   (target >= {TARGET_GAIN})  "
          f"{'MET' if gain >= TARGET_GAIN else 'MISSED'}")
    print(f"  batch-optimal / best possible = {gap:.3f}   (target >= {TARGET_GAP})  "
          f"{'MET' if gap >= TARGET_GAP else 'MISSED'}")
    print(f"  batch-optimal / officers known exactly = {got['optimal'] / known:.3f}")
    print(f"  greedy / round robin = {report.ratio('greedy', 'round_robin'):.3f}")
    per = report.per_agent()
    spread = pd.DataFrame({"leads max": [o.leads_per_agent.max() for o in report.outcomes.values()],
                           "leads min (officers with any)": [int(o.leads_per_agent[o.leads_per_agent > 0].min())
                                                             if (o.leads_per_agent > 0).any() else 0
                                                             for o in report.outcomes.values()],
                           "conv. per officer max": per.max().round(2).to_numpy(),
                           "conv. per officer median": per.median().round(2).to_numpy()},
                          index=list(report.outcomes))
    print(spread.to_string())
    if per_officer:
        print(per.round(2).to_string())
    return {"round_robin": got["round_robin"], "greedy": got["greedy"], "optimal": got["optimal"],
            "best_possible": got[BEST], "officers_known": known, "optimal_over_round_robin": gain,
            "optimal_over_best": gap, "officers_known_over_best": known / got[BEST]}


def time_route(batch: pd.DataFrame, profiles: ProfileSet, config: RoutingConfig, repeat: int) -> dict[str, float]:
    out = {}
    for strategy in ("optimal", "greedy", "round_robin"):
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            route(batch, profiles, config, NOW, strategy=strategy)
            times.append(time.perf_counter() - started)
        out[strategy] = statistics.median(times)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=int, default=20_000, help="past leads the profiles learn from")
    parser.add_argument("--batch", type=int, default=1_000, help="newest leads routed in one batch")
    parser.add_argument("--agents", type=int, default=50, help="loan officers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--score-noise", type=float, default=0.3,
                        help="logit noise on the true probability standing in for scoring's output (0 = perfect)")
    parser.add_argument("--repeat", type=int, default=5, help="timing runs (median reported)")
    parser.add_argument("--per-officer", action="store_true", help="print expected conversions per officer")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    config = RoutingConfig()
    started = time.perf_counter()
    data, agents, hist, batch = world(args, config)
    print(f"generated {args.history + args.batch} leads, {args.agents} officers in "
          f"{time.perf_counter() - started:.1f}s; history rows {len(hist)} "
          f"({int(hist['converted'].notna().sum())} with a known outcome); score noise sigma {args.score_noise}")
    started = time.perf_counter()
    learned = build_profiles(hist, agents, config)
    print(f"profiles built in {time.perf_counter() - started:.2f}s; team conversion {learned.team.rate:.3f}")
    if learned.model is not None:
        spreads = ", ".join(f"{k} {v:.2f}" for k, v in learned.model.spreads.items())
        print(f"  learned: officer spreads (logit sd) {spreads}; declared specialists' boost "
              f"x{np.exp(learned.model.specialist_boost):.2f} odds")

    figures: dict[str, object] = {"args": vars(args) | {"json": str(args.json) if args.json else None}}
    scenarios = {
        "ample capacity (no open leads): matching quality alone": learned.with_loads({a.agent_id: 0 for a in agents}),
        "generator's open loads (capacity binds)": learned,
    }
    for name, profiles in scenarios.items():
        true_p = data.truth.conversion_probability(batch, profiles.agent_ids)
        report = simulate_routing(batch, profiles, config, NOW, true_p)
        result = route(batch, profiles, config, NOW)
        counts = dict(Counter(f"{a.outcome.value}/{a.reason_code.value}" for a in result.assignments))
        figures[name] = report_scenario(name, report, officers_known_best(data, batch, profiles, config, true_p),
                                        counts, args.per_officer)

    # the other objective, for comparison on the ample scenario
    alt = RoutingConfig(objective="match_score")
    ample = scenarios["ample capacity (no open leads): matching quality alone"]
    true_p = data.truth.conversion_probability(batch, ample.agent_ids)
    by_match = simulate_routing(batch, ample, alt, NOW, true_p)
    print(f"\nobjective match_score (seed weights) instead: optimal {by_match.outcomes['optimal'].expected_conversions:.2f}"
          f" vs round robin {by_match.outcomes['round_robin'].expected_conversions:.2f} "
          f"(x{by_match.ratio('optimal', 'round_robin'):.3f})")
    figures["match_score_objective_optimal_over_round_robin"] = by_match.ratio("optimal", "round_robin")

    timing = time_route(batch, ample, config, args.repeat)
    n_agents = len(ample.agents)
    print(f"\ntime to route {len(batch)} leads over {n_agents} officers (median of {args.repeat}):")
    for strategy, seconds in timing.items():
        flag = f"(target < {TARGET_SECONDS} s) {'MET' if seconds < TARGET_SECONDS else 'MISSED'}" \
            if strategy == "optimal" else ""
        print(f"  {strategy:12s} {seconds:.3f} s {flag}")
    figures["route_seconds"] = timing
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
