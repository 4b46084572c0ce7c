"""Model registry: versioned artifacts with metadata, sha256 checked before unpickling, promote and rollback."""
from __future__ import annotations

import hashlib
import json
import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.errors import BadInputError
from scoring.errors import ModelIntegrityError, RegistryError, UnknownModelError
from scoring.gate import GateResult
from scoring.registry import ModelRegistry
from scoring.train import TrainingResult

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PASSED = GateResult(True, [], ["no champion yet"])
FAILED = GateResult(False, ["holdout AUC 0.55 is below the minimum 0.6"])


class _Boom:
    """A pickle that leaves a marker file behind when it is unpickled: proves loading never got that far."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def test_given_a_trained_model_when_registered_then_artifact_metadata_and_card_are_stored(
        tmp_path: Path, trained: TrainingResult) -> None:
    reg = ModelRegistry(tmp_path)
    entry = reg.register(trained, PASSED, now=NOW, card=lambda v: _card(v))
    assert entry.version == "v0001" and entry.status == "candidate"
    folder = tmp_path / "v0001"
    assert {"model.joblib", "metadata.json", "model_card.md", "calibration.png"} <= {p.name for p in folder.iterdir()}
    meta = json.loads((folder / "metadata.json").read_text())
    for key in ("metrics", "feature_spec", "training_window", "data_hash", "library_versions", "sha256", "gate",
                "comparison", "weights", "params", "feature_importance_stability"):
        assert key in meta, key
    assert meta["sha256"] == hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest() == entry.sha256
    assert {"xgboost", "scikit-learn", "numpy"} <= set(meta["library_versions"])
    assert meta["training_window"]["holdout"]["end"] == trained.windows["holdout"].end
    assert "race" not in [f["name"] for f in meta["feature_spec"]["features"]]
    loaded = reg.load("v0001")
    assert loaded.version == "v0001"
    assert loaded.predict_proba(trained.holdout) == pytest.approx(trained.holdout_probability)


def _card(version: str):  # type: ignore[no-untyped-def]
    from scoring.card import ModelCard

    return ModelCard(f"# card {version}", {"calibration.png": b"\x89PNG"})


def test_given_a_tampered_artifact_then_it_is_refused_before_unpickling(tmp_path: Path, trained: TrainingResult) -> None:
    reg = ModelRegistry(tmp_path)
    reg.register(trained, PASSED, now=NOW)
    marker = tmp_path / "unpickled"
    (tmp_path / "v0001" / "model.joblib").write_bytes(pickle.dumps(_Boom(marker)))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        reg.load("v0001")
    assert not marker.exists()
    with pytest.raises(ModelIntegrityError):
        reg.promote("v0001", now=NOW)


def test_given_a_model_that_failed_the_gate_then_it_is_kept_but_not_promoted(tmp_path: Path,
                                                                              trained: TrainingResult) -> None:
    reg = ModelRegistry(tmp_path)
    entry = reg.register(trained, FAILED, now=NOW)
    assert entry.status == "rejected" and entry.gate_reasons == FAILED.reasons
    with pytest.raises(RegistryError, match="failed the gate.*below the minimum"):
        reg.promote(entry.version, now=NOW)
    assert reg.champion() is None
    event = reg.promote(entry.version, now=NOW, force=True, reason="approved by the credit committee")
    assert event.reason == "approved by the credit committee" and reg.champion() == entry.version


def test_given_three_champions_then_rollback_walks_back_one_at_a_time(tmp_path: Path, trained: TrainingResult) -> None:
    reg = ModelRegistry(tmp_path)
    for _ in range(3):
        version = reg.register(trained, PASSED, now=NOW).version
        reg.promote(version, now=NOW)
    assert reg.champion() == "v0003"
    event = reg.rollback(now=NOW, reason="conversion dropped")
    assert (event.version, event.previous) == ("v0002", "v0003") and reg.champion() == "v0002"
    assert reg.entry("v0003").status == "rolled_back" and reg.entry("v0002").status == "champion"
    reg.rollback(now=NOW)
    assert reg.champion() == "v0001"
    with pytest.raises(RegistryError, match="no earlier champion"):
        reg.rollback(now=NOW)
    assert [e.action for e in reg.history()] == ["promote"] * 3 + ["rollback"] * 2
    assert reg.load().version == "v0001"


def test_given_rollback_to_a_named_version_then_the_later_ones_are_set_aside(tmp_path: Path,
                                                                              trained: TrainingResult) -> None:
    reg = ModelRegistry(tmp_path)
    for _ in range(3):
        reg.promote(reg.register(trained, PASSED, now=NOW).version, now=NOW)
    with pytest.raises(RegistryError, match="v0009 was never a champion before v0003"):
        reg.rollback(now=NOW, to="v0009")
    reg.rollback(now=NOW, to="v0001")
    assert reg.champion() == "v0001" and reg.entry("v0002").status == "rolled_back"


def test_given_an_unknown_version_then_a_bad_input_error(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    with pytest.raises(UnknownModelError, match="no model version 'v0042'") as err:
        reg.load("v0042")
    assert isinstance(err.value, BadInputError) and err.value.exit_code == 2
    with pytest.raises(RegistryError, match="no model has been promoted"):
        reg.load()
