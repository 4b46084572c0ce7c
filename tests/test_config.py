"""`leadpilot config check` and the loader: good files pass, each broken file names its problem."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from config import ConfigError, example_config_path, load_config
from daemon.cli import main


def write(tmp_path: Path, text: str, name: str = "leadpilot.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def check(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["config", "check", "-c", str(path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_example_file_is_valid_and_summarised(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = check(example_config_path(), capsys)
    assert code == 0, err
    assert ": OK" in out
    assert "database: sqlite:///" in out
    assert "routing_weights" in out


def test_json_summary_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check(example_config_path(), capsys, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True and data["api"] == "disabled"


def test_empty_file_means_all_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.routing.weights.performance == 0.40
    assert config.routing.thresholds.priority_score == 80
    assert config.compliance.consent.max_age_days == 30


# Each broken file: (name, YAML, expected line on stderr). At least ten distinct problems.
BROKEN = [
    ("malformed_yaml", "routing:\n  weights: [1, 2\n", "malformed YAML at line 3, column 1"),
    ("duplicate_key", "routing:\n  alternatives: 2\n  alternatives: 3\n", "found duplicate key 'alternatives'"),
    ("unknown_top_key", "routng: {}\n", "routng: unknown key; did you mean 'routing'?"),
    ("unknown_nested_key", "routing:\n  weights:\n    performence: 0.4\n",
     "routing.weights.performence: unknown key; did you mean 'performance'?"),
    ("negative_weight", "routing:\n  weights:\n    capacity: -1\n", "routing.weights.capacity: must be >= 0"),
    ("wrong_type", "database:\n  busy_timeout_ms: soon\n", "database.busy_timeout_ms: must be a whole number (got 'soon')"),
    ("bad_bool", "api:\n  enabled: maybe\n", "api.enabled: must be true or false (got 'maybe')"),
    ("bad_literal", "observability:\n  logging:\n    level: LOUD\n",
     "observability.logging.level: must be one of 'DEBUG', 'INFO', 'WARNING' or 'ERROR' (got 'LOUD')"),
    ("interval_and_cron", "schedules:\n  poll: {interval_seconds: 5, cron: '* * * * *'}\n",
     "schedules.poll: give exactly one of interval_seconds or cron"),
    ("cron_fields", "schedules:\n  kpi: {cron: '0 6 * *'}\n", "schedules.kpi: cron must have five fields"),
    ("queue_above_priority", "routing:\n  thresholds: {priority_score: 50, queue_score: 70}\n",
     "routing.thresholds: queue_score must not exceed priority_score"),
    ("weights_sum", "scoring:\n  weights: {xgboost: 0.5, random_forest: 0.1}\n",
     "scoring.weights: must be non-negative and sum to 1"),
    ("unknown_model_weight", "scoring:\n  weights: {catboost: 1.0}\n", "scoring.weights: unknown model(s) catboost"),
    ("duplicate_connectors", "connectors:\n  - {name: crm, plugin: salesforce}\n  - {name: crm, plugin: hubspot}\n",
     "connectors: duplicate name(s) crm"),
    ("mapping_target", "connectors:\n  - name: crm\n    plugin: salesforce\n    field_mapping: {Income__c: incomee}\n",
     "connectors[0].field_mapping: maps to unknown canonical field(s) incomee"),
    ("connector_name_pattern", "connectors:\n  - {name: 'Main CRM', plugin: salesforce}\n", "connectors[0].name: must match"),
    ("missing_required", "connectors:\n  - {name: crm}\n", "connectors[0].plugin: required key is missing"),
    ("unknown_plugin", "connectors:\n  - {name: crm, plugin: pipedrive}\n",
     "connectors[0].plugin: unknown connector plugin 'pipedrive'"),
    ("db_scheme", "database:\n  url: mysql://x@y/z\n", "database.url: must be a sqlite:/// or postgresql+psycopg:// URL"),
    ("top_level_list", "- routing\n", "the top level must be a mapping of sections, not list"),
    ("section_not_mapping", "routing: 5\n", "routing: must be a mapping of keys to values (got int)"),
    ("out_of_range", "compliance:\n  consent:\n    max_age_days: 0\n", "compliance.consent.max_age_days: must be >= 1"),
    ("ab_split", "learning:\n  ab_test:\n    split: {champion: 0.5, control: 0.1}\n",
     "learning.ab_test: split: shares must be non-negative and sum to 1"),
]


@pytest.mark.parametrize(("name", "text", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file_exits_2_with_its_yaml_path(
    name: str, text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = check(write(tmp_path, text), capsys)
    assert code == 2
    assert expected in err, err
    assert "Traceback" not in err and out == ""


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, """
        routing:
          weights: {capacity: -1, expertise: -2}
        database:
          busy_timeout_ms: x
    """)
    code, _, err = check(path, capsys)
    assert code == 2
    assert "3 problem(s)" in err
    problem_lines = [ln for ln in err.splitlines() if ln.startswith(("routing.", "database."))]
    assert len(problem_lines) == 3


def test_json_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check(write(tmp_path, "routing: {alternatives: -1}\n"), capsys, "--json")
    assert code == 2
    data = json.loads(out)
    assert data["ok"] is False
    assert data["problems"] == [{"path": "routing.alternatives", "message": "must be >= 0 (got -1)"}]


def test_missing_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = check(tmp_path / "nope.yaml", capsys)
    assert code == 2
    assert "file not found" in err


def test_env_interpolation_with_defaults_and_literal_dollar(tmp_path: Path) -> None:
    path = write(tmp_path, """
        state_dir: ${LP_STATE:-/srv/lp}
        database:
          url: postgresql+psycopg://lp:${LP_PW}@db/lp
        compliance:
          rule_set_version: "cost$$"
    """)
    config = load_config(path, env={"LP_PW": "s3cret"})
    assert config.state_dir == "/srv/lp"
    assert config.database.url == "postgresql+psycopg://lp:s3cret@db/lp"
    assert config.compliance.rule_set_version == "cost$"


def test_missing_environment_variable_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "observability:\n  sentry:\n    dsn: ${SENTRY_DSN_FOR_TEST}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    (problem,) = info.value.problems
    assert problem.path == "observability.sentry.dsn"
    assert "SENTRY_DSN_FOR_TEST is not set" in problem.message


def test_empty_variable_falls_back_to_default(tmp_path: Path) -> None:
    path = write(tmp_path, "state_dir: ${LP_EMPTY:-fallback}\n")
    assert load_config(path, env={"LP_EMPTY": ""}).state_dir == "fallback"


def test_secret_from_file_as_systemd_credentials_give_it(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "sentry_dsn").write_text("https://key@sentry.example/1\n")
    (creds / "api_tokens").write_text("tok-one\n\ntok-two\n")
    path = write(tmp_path, """
        observability:
          sentry:
            dsn_file: ${CREDENTIALS_DIRECTORY}/sentry_dsn
        api:
          tokens_file: ${CREDENTIALS_DIRECTORY}/api_tokens
    """)
    config = load_config(path, env={"CREDENTIALS_DIRECTORY": str(creds)})
    dsn = config.observability.sentry.dsn
    assert dsn is not None and dsn.get_secret_value() == "https://key@sentry.example/1"
    assert [t.get_secret_value() for t in config.api.tokens] == ["tok-one", "tok-two"]
    assert "key@sentry" not in config.model_dump_json()  # secrets stay masked when dumped


def test_missing_secret_file_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, f"observability:\n  sentry:\n    dsn_file: {tmp_path}/absent\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    (problem,) = info.value.problems
    assert problem.path == "observability.sentry"
    assert "cannot read secret file dsn_file=" in problem.message and "absent" in problem.message


def test_secret_given_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dsn").write_text("x")
    path = write(tmp_path, f"observability:\n  sentry:\n    dsn: inline\n    dsn_file: {tmp_path}/dsn\n")
    with pytest.raises(ConfigError, match="give either 'dsn' or 'dsn_file', not both"):
        load_config(path, env={})


def test_relative_input_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    path = write(tmp_path, "routing:\n  agents_file: agents.yaml\nstate_dir: /var/lib/leadpilot\n")
    config = load_config(path, env={})
    assert config.input_path(config.routing.agents_file or "") == str(tmp_path / "agents.yaml")
    assert config.state_path(config.database.path) == "/var/lib/leadpilot/leadpilot.db"


def test_leadpilot_config_env_selects_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "routing: {alternatives: 1}\n")
    assert load_config(None, env={"LEADPILOT_CONFIG": str(path)}).routing.alternatives == 1


def test_show_masks_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "api:\n  tokens: [very-secret-token]\n")
    assert main(["config", "show", "-c", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert "very-secret-token" not in out
    assert json.loads(out)["api"]["tokens"] == ["**********"]


def test_example_documents_every_key() -> None:
    """Every key of the schema appears in the example file, so admins can find it."""
    from pydantic import BaseModel

    from config.schema import LeadpilotConfig

    text = example_config_path().read_text()

    def keys(model: type[BaseModel]) -> set[str]:
        found: set[str] = set()
        for name, field in model.model_fields.items():
            found.add(name)
            for arg in (getattr(field.annotation, "__args__", ()) or (field.annotation,)):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    found |= keys(arg)
        return found

    missing = sorted(k for k in keys(LeadpilotConfig) if f"{k}:" not in text)
    assert missing == [], f"document these keys in config/leadpilot.example.yaml: {missing}"
