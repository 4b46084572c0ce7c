"""The synthetic data generator: determinism, schema, ground truth, officers, messiness and the CLI."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import yaml

from config.canonical import CANONICAL_FIELDS, PROTECTED_ATTRIBUTES, US_STATES
from config.errors import BadInputError
from daemon.cli import main
from daemon.synthetic.geography import BY_CODE
from daemon.synthetic import (
    DEFAULT_NOW, TRUTH_INPUTS, GroundTruth, SyntheticAgent, SyntheticData, auc, generate,
)

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
FILES = ("leads.csv", "agents.yaml", "outcomes.csv", "ground_truth.json", "README.md")


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return generate(n_leads=2000, n_agents=12, seed=11, now=NOW)


@pytest.fixture(scope="module")
def big() -> SyntheticData:
    return generate(n_leads=5000, n_agents=20, seed=3, now=NOW)


def _valid_states(agent: SyntheticAgent, day: date) -> set[str]:
    return set(agent.licensed_states(day))


# -- determinism -----------------------------------------------------------------------------------

def test_given_same_seed_when_written_twice_then_files_are_byte_identical(tmp_path: Path) -> None:
    for run in ("a", "b"):
        generate(n_leads=300, n_agents=6, seed=42, now=NOW).write(tmp_path / run)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_given_different_seeds_then_leads_and_officers_differ() -> None:
    a = generate(n_leads=300, n_agents=6, seed=1, now=NOW)
    b = generate(n_leads=300, n_agents=6, seed=2, now=NOW)
    assert not a.leads["credit_score"].equals(b.leads["credit_score"])
    assert not np.allclose(a.leads["true_probability"], b.leads["true_probability"])
    assert [x.skill for x in a.agents] != [x.skill for x in b.agents]


def test_without_now_generate_uses_the_fixed_default_not_the_clock() -> None:
    a, b = generate(n_leads=50, n_agents=3, seed=9), generate(n_leads=50, n_agents=3, seed=9)
    assert a.now == DEFAULT_NOW
    pd.testing.assert_frame_equal(a.leads, b.leads)
    assert (a.leads["created_at"] < pd.Timestamp(DEFAULT_NOW)).all()


# -- schema and plausibility -----------------------------------------------------------------------

def test_leads_have_every_canonical_column_in_order_then_truth_and_protected_columns(data: SyntheticData) -> None:
    cols = list(data.leads.columns)
    assert cols[: len(CANONICAL_FIELDS)] == list(CANONICAL_FIELDS)
    assert cols[len(CANONICAL_FIELDS):] == ["segment", "true_probability", "race", "sex", "age"]
    assert data.leads["lead_id"].is_unique and data.leads["lead_id"].notna().all()
    assert list(data.outcomes["lead_id"]) == list(data.leads["lead_id"])


def test_clean_values_have_plausible_ranges_and_relations(data: SyntheticData) -> None:
    c = data.truth.clean_leads
    assert c["credit_score"].between(500, 850).all() and 680 < c["credit_score"].median() < 730
    assert 60_000 < c["annual_income"].median() < 130_000
    purchase = c["loan_purpose"] == "purchase"
    assert np.allclose(c.loc[purchase, "loan_amount"] + c.loc[purchase, "down_payment"], c.loc[purchase, "property_value"])
    assert (c["loan_amount"] <= c["property_value"]).all()
    assert set(c["loan_type"]) == {"conventional", "fha", "va", "jumbo", "usda"}
    assert set(c["loan_purpose"]) == {"purchase", "refinance", "cash_out"}
    assert set(c["timeline"]) == {"immediately", "1-3 months", "3-6 months", "6+ months"}
    assert c["website_sessions"].max() > 10 * c["website_sessions"].median()  # heavy tail
    assert set(c["consent_method"].dropna()) == {"web_form", "phone", "paper"}
    assert c["consent_certificate"].dropna().str.startswith("https://cert.trustedform.com/").all()
    assert c["email"].str.endswith("@example.com").all() and c["email"].is_unique
    assert c["phone"].str.fullmatch(r"\+1[2-9]\d{2}[2-9]\d{6}").all()  # NANP: no leading 0/1
    assert c["zip_code"].str.fullmatch(r"\d{5}").all()
    assert c["state"].value_counts().index[0] == "CA"  # population weighted
    zip3 = c["zip_code"].str[:3].astype(int)
    in_state = [any(lo <= z <= hi for lo, hi in BY_CODE[s].zip3) for s, z in zip(c["state"], zip3)]
    assert all(in_state)


def test_timestamps_are_consistent_with_now(data: SyntheticData) -> None:
    c, now = data.truth.clean_leads, pd.Timestamp(NOW)
    assert (c["created_at"] < now).all() and (c["created_at"] > now - timedelta(days=560)).all()
    assert (c["created_at"] < now - timedelta(days=365)).any()  # spread over ~18 months
    has = c["consent_timestamp"].notna()
    assert (c.loc[has, "consent_timestamp"] <= c.loc[has, "created_at"]).all()
    assert ((c["created_at"] - c["consent_timestamp"]) > timedelta(days=30)).sum() > 0  # some old consent
    assert (c["updated_at"] >= c["created_at"]).all() and (c["updated_at"] <= now).all()
    won = c["converted"]
    assert (c.loc[won, "converted_at"] > c.loc[won, "created_at"]).all()
    assert (c.loc[won, "converted_at"] <= now).all() and c.loc[~won, "converted_at"].isna().all()


# -- ground truth ----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [3, 8])
def test_true_probabilities_give_plausible_rate_and_auc(seed: int) -> None:
    d = generate(n_leads=5000, n_agents=20, seed=seed, now=NOW)
    drawn = d.outcomes["converted_eventually"].to_numpy()
    assert 0.10 <= drawn.mean() <= 0.20
    assert 0.75 <= auc(d.leads["true_probability"].to_numpy(), drawn) <= 0.85
    assert d.summary["best_auc"] == pytest.approx(auc(d.leads["true_probability"].to_numpy(), drawn), abs=1e-4)


def test_auc_helper_matches_known_values() -> None:
    assert auc(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 0, 1, 1])) == 1.0
    assert auc(np.array([0.4, 0.3, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    assert auc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5
    assert np.isnan(auc(np.array([0.5, 0.6]), np.array([1, 1])))


def test_matrix_has_one_column_per_officer_and_average_is_mean_of_active(data: SyntheticData) -> None:
    ids = [a.agent_id for a in data.agents]
    m = data.truth.conversion_probability(data.leads, ids)
    assert m.shape == (len(data.leads), len(ids)) and ((m > 0) & (m < 1)).all()
    active = [i for i, a in enumerate(data.agents) if a.active]
    assert np.allclose(data.truth.lead_probability(data.leads), m[:, active].mean(axis=1))
    assert np.allclose(data.leads["true_probability"], m[:, active].mean(axis=1), atol=1e-6)
    # rows follow the frame given, not the generation order
    subset = data.leads.iloc[[5, 1, 3]]
    assert np.allclose(data.truth.conversion_probability(subset, ids), m[[5, 1, 3]])


def test_outcome_probability_is_the_worked_officers_matrix_entry(data: SyntheticData) -> None:
    ids = [a.agent_id for a in data.agents]
    m = data.truth.conversion_probability(data.leads, ids)
    col = pd.Index(ids).get_indexer(data.outcomes["agent_id"])
    assert np.allclose(data.outcomes["true_probability"], m[np.arange(len(m)), col], atol=1e-6)
    assert data.truth.expected_conversions(data.leads, list(data.outcomes["agent_id"])) == pytest.approx(
        m[np.arange(len(m)), col].sum())


def test_specialist_converts_their_segment_better(big: SyntheticData) -> None:
    token = "fha"
    specialist = next(a for a in big.agents if token in a.specialties)
    other = next(a for a in big.agents if token not in a.specialties)
    # the same leads, labelled once as FHA leads and once as a kind nobody specialises in
    fha = big.truth.features.copy()
    fha["segment"] = "fha|near_prime"
    plain = fha.assign(segment="usda|near_prime")
    ids = [specialist.agent_id, other.agent_id]
    p_fha, p_plain = big.truth.probability_from_features(fha, ids), big.truth.probability_from_features(plain, ids)
    odds_lift = (p_fha / (1 - p_fha)) / (p_plain / (1 - p_plain))
    assert np.allclose(odds_lift[:, 0], specialist.specialty_multipliers[token])
    assert np.allclose(odds_lift[:, 1], 1.0)
    # on the real leads the specialist's column beats the other officer's by more on FHA leads
    m = big.truth.conversion_probability(big.leads, ids)
    in_segment = big.leads["segment"].str.split("|").apply(lambda parts: token in parts).to_numpy()
    assert in_segment.sum() > 100
    edge = m[:, 0] / m[:, 1]
    assert edge[in_segment].mean() > 1.2 * edge[~in_segment].mean()


def test_protected_attributes_never_change_the_true_probability(big: SyntheticData) -> None:
    assert not set(TRUTH_INPUTS) & PROTECTED_ATTRIBUTES
    assert not set(big.truth.features.columns) & PROTECTED_ATTRIBUTES
    rng = np.random.default_rng(0)
    shuffled = big.leads.copy()
    for col in ("race", "sex", "age"):
        shuffled[col] = rng.permutation(shuffled[col].to_numpy())
    assert np.array_equal(big.truth.lead_probability(shuffled), big.truth.lead_probability(big.leads))
    features = big.truth.features.copy()
    base = big.truth.probability_from_features(features)
    features["race"], features["sex"], features["age"] = "white", "male", 99
    assert np.array_equal(big.truth.probability_from_features(features), base)
    features["credit_score"] = features["credit_score"] + 60  # positive control: a real input moves it
    assert (big.truth.probability_from_features(features) > base).all()
    # drawn independently: no group gap in the truth beyond noise
    by_sex = big.leads.groupby("sex")["true_probability"].mean()
    assert by_sex["female"] == pytest.approx(by_sex["male"], abs=0.015)


def test_truth_rejects_unknown_leads_and_officers(data: SyntheticData) -> None:
    with pytest.raises(BadInputError, match="lead_id"):
        data.truth.conversion_probability(["L9999999"], [data.agents[0].agent_id])
    with pytest.raises(BadInputError, match="agent_id"):
        data.truth.conversion_probability(data.leads.head(3), ["LO-999"])
    with pytest.raises(BadInputError, match="lead_id column"):
        data.truth.lead_probability(pd.DataFrame({"x": [1]}))


# -- officers and outcomes -------------------------------------------------------------------------

@pytest.mark.parametrize("n_agents", [2, 3, 7, 30])
def test_every_lead_state_has_two_active_officers_with_a_valid_licence(n_agents: int) -> None:
    d = generate(n_leads=800, n_agents=n_agents, seed=n_agents, now=NOW)
    states = set(d.truth.clean_leads["state"])
    for state in states:
        holders = [a for a in d.agents if a.active and state in _valid_states(a, NOW.date())]
        assert len(holders) >= 2, state
    if n_agents >= 30:  # enough officers: every one within the 3-15 licence range
        assert all(3 <= len(a.licenses) <= 15 for a in d.agents)


def test_officers_carry_licences_capacity_schedules_and_a_few_exceptions(data: SyntheticData) -> None:
    agents = data.agents
    assert sum(not a.active for a in agents) == 2
    assert any(not lic.valid_on(NOW.date()) for a in agents for lic in a.licenses)
    assert len({a.licenses[0].nmls_id for a in agents}) == len(agents)
    for a in agents:
        assert a.states == sorted({lic.state for lic in a.licenses}) and set(a.states) <= US_STATES
        assert all(lic.nmls_id == a.licenses[0].nmls_id for lic in a.licenses)
        assert 1 <= len(a.specialties) <= 3 and set(a.specialty_multipliers) == set(a.specialties)
        assert 0 < a.optimal_capacity < a.max_capacity and 0 <= a.open_leads <= a.max_capacity
        ZoneInfo(a.timezone)  # a real IANA zone
        assert set(a.schedule) <= {"mon", "tue", "wed", "thu", "fri", "sat", "sun"} and a.schedule
        assert a.email.endswith("@example.com") and a.skill > 0


def test_outcomes_follow_the_history_rules(data: SyntheticData) -> None:
    c, o = data.truth.clean_leads, data.outcomes
    by_id = {a.agent_id: a for a in data.agents}
    assert all(state in by_id[agent].states for state, agent in zip(c["state"], o["agent_id"]))
    young = (c["created_at"] > pd.Timestamp(NOW) - timedelta(days=90)).to_numpy()
    assert set(o.loc[young, "status"]) <= {"open", "won"} and set(o.loc[~young, "status"]) <= {"lost", "won"}
    assert (o["status"] == "open").sum() > 0
    assert (o["converted"] == (o["status"] == "won")).all() and (o["converted"] <= o["converted_eventually"]).all()
    assert (o.loc[~young, "converted"] == o.loc[~young, "converted_eventually"]).all()  # old leads are final
    won = o["converted"].to_numpy()
    share = o.loc[won, "conversion_value"].to_numpy() / c.loc[won, "loan_amount"].to_numpy()
    assert ((share >= 0.005) & (share <= 0.0175)).all() and 0.008 < share.mean() < 0.012
    assert (data.leads["converted"].to_numpy() == won).all()


# -- messiness -------------------------------------------------------------------------------------

def test_leads_are_messy_like_a_crm_export(data: SyntheticData) -> None:
    leads = data.leads
    for col in ("email", "phone", "state", "credit_score", "annual_income", "timeline"):
        assert 0.01 < leads[col].isna().mean() < 0.15, col
    phones = leads["phone"].dropna()
    assert phones.isin(["555-0000", "n/a", "N/A", "0000000000", "123", "none", "999-999-9999"]).any()
    assert phones.str.startswith("(").any() and phones.str.fullmatch(r"\d{10}").any()
    states = leads["state"].dropna()
    assert states.str.fullmatch(r"[a-z]{2}").any()                                  # "ca"
    assert states.str.lower().isin(["california", "texas", "florida", "new york"]).any()
    assert (~states.str.strip().str.upper().isin(US_STATES) & ~states.str.len().gt(4)).any()  # "XX"
    assert states.str.contains(r"^\s|\s$").any()
    amounts = leads["loan_amount"].dropna()
    assert amounts.map(lambda v: isinstance(v, str) and ("$" in v or "," in v)).any()
    numeric = pd.to_numeric(amounts, errors="coerce")
    assert ((numeric < 100) | (numeric > 50_000_000)).any()                          # absurd
    assert leads["first_name"].dropna().str.contains("  ").any()
    assert leads["loan_type"].dropna().isin(["FHA", "Conventional", "CONVENTIONAL", "Fha", "VA", "Va"]).any()
    assert data.mess.counts["junk phone"] >= 1 and data.mess.counts["absurd loan_amount"] >= 1


def test_messiness_never_touches_ids_times_outcomes_or_truth(data: SyntheticData) -> None:
    c, leads = data.truth.clean_leads, data.leads
    for col in ("lead_id", "crm_id", "source", "created_at", "converted", "converted_at", "segment",
                "true_probability", "race", "sex", "age"):
        pd.testing.assert_series_equal(leads[col], c[col].reset_index(drop=True), check_dtype=False, check_names=False)


def test_messiness_can_be_turned_off() -> None:
    d = generate(n_leads=400, n_agents=5, seed=4, now=NOW, messy=False)
    assert d.leads["state"].isin(US_STATES).all()
    assert pd.api.types.is_float_dtype(d.leads["loan_amount"]) and d.leads["loan_amount"].notna().all()
    assert not d.mess.counts


def test_same_seed_gives_same_mess() -> None:
    a = generate(n_leads=200, n_agents=4, seed=5, now=NOW)
    b = generate(n_leads=200, n_agents=4, seed=5, now=NOW)
    pd.testing.assert_frame_equal(a.leads, b.leads)
    assert a.mess.counts == b.mess.counts


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"n_leads": 0}, "leads"), ({"n_leads": 10, "n_agents": 1}, "officers"),
    ({"n_leads": 10, "seed": -1}, "seed"), ({"n_leads": 2.5}, "leads"),
])
def test_generate_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        generate(**kwargs)  # type: ignore[arg-type]


def test_naive_now_is_taken_as_utc() -> None:
    a = generate(n_leads=20, n_agents=3, seed=1, now=datetime(2026, 11, 1))
    b = generate(n_leads=20, n_agents=3, seed=1, now=NOW)
    pd.testing.assert_frame_equal(a.leads, b.leads)


# -- files and CLI ---------------------------------------------------------------------------------

def test_written_files_load_back(tmp_path: Path, data: SyntheticData) -> None:
    data.write(tmp_path)
    leads = pd.read_csv(tmp_path / "leads.csv", dtype=str, keep_default_na=False)
    assert list(leads.columns) == list(data.leads.columns) and len(leads) == len(data.leads)
    assert leads["created_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert set(leads["converted"]) <= {"true", "false"}
    assert np.allclose(leads["true_probability"].astype(float), data.leads["true_probability"])
    agents = yaml.safe_load((tmp_path / "agents.yaml").read_text())["agents"]
    assert [a["agent_id"] for a in agents] == [a.agent_id for a in data.agents]
    assert "skill" not in agents[0] and {"states", "licenses", "schedule", "timezone"} <= set(agents[0])
    truth = json.loads((tmp_path / "ground_truth.json").read_text(),
                       parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert [o["skill"] for o in truth["model"]["officers"]] == [a.skill for a in data.agents]
    assert truth["summary"]["n_leads"] == len(data.leads)
    outcomes = pd.read_csv(tmp_path / "outcomes.csv")
    assert len(outcomes) == len(data.leads) and set(outcomes["status"]) <= {"won", "lost", "open"}
    readme = (tmp_path / "README.md").read_text()
    assert "--seed 11" in readme and "junk phone" in readme and "credit_score" in readme


def test_cli_writes_the_files_and_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new" / "dir"
    assert main(["generate", "--leads", "200", "--agents", "5", "--seed", "3", "--out", str(out),
                 "--now", "2026-11-01"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    line = capsys.readouterr().out.strip()
    assert line.startswith("wrote 200 leads, 5 officers") and "\n" not in line
    assert main(["generate", "--leads", "200", "--agents", "5", "--seed", "3", "--out", str(tmp_path / "j"),
                 "--now", "2026-11-01T00:00:00Z", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["ok"] and info["n_leads"] == 200 and info["now"] == "2026-11-01T00:00:00Z"
    assert (out / "leads.csv").read_bytes() == (tmp_path / "j" / "leads.csv").read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--leads", "0"], "--leads must be at least 1"),
    (["--leads", "-5"], "--leads must be at least 1"),
    (["--agents", "1"], "--agents must be at least 2"),
    (["--now", "next tuesday"], "ISO-8601"),
])
def test_cli_rejects_bad_arguments_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               args: list[str], message: str) -> None:
    assert main(["generate", "--out", str(tmp_path / "o"), *args]) == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_an_unwritable_out_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert main(["generate", "--leads", "5", "--out", str(blocker)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["generate", "--leads", "5", "--out", str(blocker / "sub")]) == 2
    assert "cannot create" in capsys.readouterr().err


def test_cli_help_ends_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1].strip().startswith("leadpilot generate --leads")


def test_ground_truth_is_a_dataclass_instance(data: SyntheticData) -> None:
    assert isinstance(data.truth, GroundTruth)
    assert all(isinstance(a, SyntheticAgent) for a in data.agents)


def test_agents_yaml_loads_as_a_routing_agents_file(tmp_path: Path, data: SyntheticData) -> None:
    agents_file = pytest.importorskip("routing.agents_file")
    from config.sections.routing import RoutingConfig

    data.write(tmp_path)
    specs = agents_file.load_agents_file(tmp_path / "agents.yaml", RoutingConfig())
    assert [s.agent_id for s in specs] == [a.agent_id for a in data.agents]
    for spec, agent in zip(specs, data.agents):
        assert set(spec.licensed_states(NOW.date())) == set(agent.licensed_states(NOW.date()))
        assert spec.active == agent.active and spec.max_capacity == agent.max_capacity
