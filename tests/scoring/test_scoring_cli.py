"""`leadpilot train|evaluate|score|models` end to end on small files (run in-process)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from daemon.cli import build_parser, main
from scoring_synth import make_leads

METRICS = {"auc", "pr_auc", "brier", "ece", "precision_at_20_recall", "top_decile_precision", "lift_at_10",
           "lift_at_20"}


@pytest.fixture(scope="module")
def leads_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "leads.csv"
    make_leads(1500, seed=21).drop(columns=["race", "true_probability"]).to_csv(path, index=False)
    return path


def _config(tmp_path: Path, **gate: object) -> Path:
    # small holdouts (a few hundred leads) make ECE noisy: the gate's limits are loosened for the tests
    limits = {"min_auc": 0.55, "max_ece": 0.15, **gate}
    gate_yaml = "".join(f"\n    {k}: {v}" for k, v in limits.items())
    path = tmp_path / "leadpilot.yaml"
    path.write_text(f"""state_dir: {tmp_path / 'state'}
scoring:
  algorithms:
    xgboost: {{n_estimators: 60, early_stopping_rounds: 10, n_jobs: 1}}
    random_forest: {{n_estimators: 25, max_depth: 6, n_jobs: 1}}
  gate:{gate_yaml}
""")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _models(tmp_path: Path) -> list[str]:
    root = tmp_path / "state" / "models"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.exists() else []


def test_given_labelled_leads_when_trained_then_json_has_version_metrics_and_gate_and_it_scores(
        tmp_path: Path, leads_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(_config(tmp_path))
    code, out, _ = _run(capsys, "train", "--data", str(leads_csv), "-c", cfg, "--json")
    report = json.loads(out)
    assert code == 0, report["gate"]
    assert report["version"] == "v0001" and report["promoted"] is True
    assert METRICS <= set(report["metrics"]) and report["gate"]["passed"] is True and report["gate"]["reasons"] == []
    assert (tmp_path / "state" / "models" / "v0001" / "model_card.md").exists()

    new = tmp_path / "new.csv"
    make_leads(40, seed=5).drop(columns=["converted"]).to_csv(new, index=False)
    code, out, _ = _run(capsys, "score", "--data", str(new), "--out", str(tmp_path / "s.jsonl"), "-c", cfg, "--json")
    assert code == 0 and json.loads(out)["scored"] == 40
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert len(rows) == 40 and set(rows[0]) >= {"lead_id", "probability", "score", "confidence", "model_version",
                                                "reasons", "reason_details"}
    assert rows[0]["model_version"] == "v0001" and rows[0]["reason_details"][0]["points"] != 0
    code, _, _ = _run(capsys, "score", "--data", str(new), "--out", str(tmp_path / "s.csv"), "-c", cfg)
    table = pd.read_csv(tmp_path / "s.csv")
    assert code == 0 and list(table.columns) == ["lead_id", "probability", "score", "confidence", "model_version",
                                                 "reasons"]
    assert table["reasons"].str.contains(" points").all()

    code, out, _ = _run(capsys, "evaluate", "--data", str(leads_csv), "-c", cfg, "--json")
    assert code == 0 and METRICS <= set(json.loads(out)["metrics"])

    code, out, _ = _run(capsys, "models", "list", "-c", cfg, "--json")
    assert json.loads(out)["champion"] == "v0001"
    code, out, _ = _run(capsys, "models", "show", "v0001", "-c", cfg, "--json")
    assert json.loads(out)["metadata"]["sha256"] == json.loads(out)["entry"]["sha256"]


def test_given_a_model_that_fails_the_gate_then_exit_1_kept_and_not_promoted(
        tmp_path: Path, leads_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(_config(tmp_path, min_auc=0.99))
    code, out, _ = _run(capsys, "train", "--data", str(leads_csv), "-c", cfg, "--json")
    report = json.loads(out)
    assert code == 1 and report["gate"]["passed"] is False and "min_auc" in report["gate"]["reasons"][0]
    assert report["promoted"] is False and _models(tmp_path) == ["v0001"]
    code, out, _ = _run(capsys, "models", "list", "-c", cfg)
    assert "rejected" in out
    code, _, err = _run(capsys, "models", "promote", "v0001", "-c", cfg)
    assert code == 1 and "failed the gate" in err
    code, _, err = _run(capsys, "models", "promote", "v0001", "--force", "-c", cfg)
    assert code == 2 and "--reason" in err
    code, out, _ = _run(capsys, "models", "promote", "v0001", "--force", "--reason", "reviewed", "-c", cfg)
    assert code == 0 and "v0001 is the champion" in out


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f.drop(columns=["converted"]), "label column 'converted' not found"),
    (lambda f: f.drop(columns=["created_at"]), "time column 'created_at' not found"),
    (lambda f: f.assign(converted="False"), "one class only"),
    (lambda f: f.head(120), "at least 200"),
    (lambda f: f.assign(converted=["perhaps"] * len(f)), "not true/false"),
    (lambda f: f.assign(created_at="soon"), "not dates or numbers"),
    (lambda f: f.assign(annual_income="plenty"), "should hold numbers"),
])
def test_given_bad_data_then_exit_2_naming_the_problem_and_nothing_registered(
        tmp_path: Path, mutate, message: str, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    mutate(make_leads(400, seed=2).drop(columns=["race"])).to_csv(path, index=False)
    code, _, err = _run(capsys, "train", "--data", str(path), "-c", str(_config(tmp_path)), "--json")
    assert code == 2 and message in err
    assert _models(tmp_path) == []


def test_given_an_all_empty_listed_feature_in_the_model_file_then_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "d.csv"
    make_leads(400, seed=2).drop(columns=["race"]).assign(credit_score="").to_csv(data, index=False)
    model = tmp_path / "model.yaml"
    model.write_text("model:\n  features:\n    numerical: [credit_score, annual_income]\n    categorical: [state]\n")
    code, _, err = _run(capsys, "train", "--data", str(data), "--model-config", str(model),
                        "-c", str(_config(tmp_path)))
    assert code == 2 and "'credit_score' is empty in every row" in err and _models(tmp_path) == []


def test_given_a_missing_file_or_bad_output_then_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(_config(tmp_path))
    code, _, err = _run(capsys, "train", "--data", str(tmp_path / "none.csv"), "-c", cfg)
    assert code == 2 and "not found" in err
    code, _, err = _run(capsys, "score", "--data", "x.csv", "--out", str(tmp_path / "o.xlsx"), "-c", cfg)
    assert code == 2 and ".csv or .jsonl" in err
    code, _, err = _run(capsys, "evaluate", "--data", "x.csv", "--model", "v0042", "-c", cfg)
    assert code == 2 and "v0042" in err


def test_given_the_custom_columns_path_from_a_model_file_then_trains(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    frame = make_leads(1200, seed=8).drop(columns=["race"])
    frame = frame.rename(columns={"credit_score": "FICO", "calculator_uses": "Calculator", "timeline": "When",
                                  "converted": "Outcome"})
    frame["Outcome"] = frame["Outcome"].map({True: "Won", False: "Lost"})
    frame["Lead Number"] = range(len(frame))
    data = tmp_path / "export.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "model.yaml"
    model.write_text("""model:
  name: my-export
  features:
    numerical: [FICO, Calculator]
    categorical: [When]
    label: Outcome
    positive_value: Won
    time_column: Lead Number
""")
    code, out, _ = _run(capsys, "train", "--data", str(data), "--model-config", str(model),
                        "-c", str(_config(tmp_path)), "--json")
    report = json.loads(out)
    assert code == 0, report["gate"]
    assert report["name"] == "my-export" and report["metrics"]["auc"] > 0.6
    assert report["windows"]["holdout"]["start"] > report["windows"]["train"]["end"]


def test_given_help_then_every_scoring_command_ends_with_an_example() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("train", "evaluate", "score"):
        assert "example:\n  leadpilot " + name in sub.choices[name].format_help()
    assert "example:\n  leadpilot models list" in sub.choices["models"].format_help()
    models = next(a for a in sub.choices["models"]._actions if a.dest == "models_command")
    for name in ("list", "show", "promote", "rollback"):
        assert "example:\n  leadpilot models " + name in models.choices[name].format_help()
