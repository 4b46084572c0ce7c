"""The model registry: versioned joblib artifacts with metadata, sha256-verified loading, promote and rollback.

Layout under `scoring.model_dir` (in state_dir):

    index.json              champion, champion lineage, every model's sha256/status, promotion history
    v0001/model.joblib      the ScoringModel (joblib runs code on load: loaded only if its sha256 matches)
    v0001/metadata.json     metrics, feature spec, training window, data hash, library versions, sha256, gate
    v0001/model_card.md     with calibration.png and lift.png

The index is the trusted record: loading compares the artifact's bytes with the index's sha256 before
unpickling them. Writes are atomic (temp file + rename) under a file lock.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import platform
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import joblib

from scoring.errors import ModelIntegrityError, RegistryError, UnknownModelError
from scoring.gate import GateResult
from scoring.model import ScoringModel
from scoring.train import TrainingResult

log = logging.getLogger("leadpilot.scoring.registry")

INDEX = "index.json"
ARTIFACT = "model.joblib"
_TRACKED_LIBRARIES = ("leadpilot", "numpy", "pandas", "scikit-learn", "scipy", "xgboost", "joblib")


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model artifact depends on (unpickling across versions may break)."""
    out = {"python": platform.python_version()}
    for name in _TRACKED_LIBRARIES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass
class ModelEntry:
    """One registered model as the index records it."""

    version: str
    name: str
    sha256: str
    artifact: str
    registered_at: str
    status: str  # champion | candidate | rejected | retired | rolled_back
    gate_passed: bool
    gate_reasons: list[str] = field(default_factory=list)
    auc: float | None = None
    ece: float | None = None
    training_window: dict[str, str] = field(default_factory=dict)


@dataclass
class RegistryEvent:
    """A change of champion, kept in the index for audits."""

    at: str
    action: str  # promote | rollback
    version: str | None
    previous: str | None
    reason: str = ""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


class ModelRegistry:
    """Models under one folder; see the module docstring for the layout."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    # -- index -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The index, read under an exclusive lock and written back atomically on success."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                index = self._read_index()
                yield index
                _atomic_write(self.root / INDEX, json.dumps(index, indent=2, default=_json_default).encode())
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_index(self) -> dict[str, Any]:
        path = self.root / INDEX
        if not path.exists():
            return {"format": 1, "champion": None, "lineage": [], "models": {}, "history": []}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RegistryError(f"model registry index {path} cannot be read ({exc}); restore it from a backup") from None

    # -- reading ---------------------------------------------------------------------------------
    def entries(self) -> list[ModelEntry]:
        """Every registered model, oldest first."""
        models = self._read_index()["models"]
        return [ModelEntry(**models[v]) for v in sorted(models)]

    def entry(self, version: str) -> ModelEntry:
        models = self._read_index()["models"]
        if version not in models:
            known = ", ".join(sorted(models)) or "none"
            raise UnknownModelError(f"no model version '{version}' in {self.root} (registered: {known})")
        return ModelEntry(**models[version])

    def champion(self) -> str | None:
        """The promoted version that scores leads, or None before the first promotion."""
        return self._read_index()["champion"]

    def history(self) -> list[RegistryEvent]:
        return [RegistryEvent(**e) for e in self._read_index()["history"]]

    def metadata(self, version: str) -> dict[str, Any]:
        """The model's metadata.json (metrics, feature spec, window, hashes, versions, gate)."""
        entry = self.entry(version)
        path = self.root / entry.version / "metadata.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RegistryError(f"metadata of {version} cannot be read: {exc}") from None

    def verified_bytes(self, version: str) -> bytes:
        """The artifact's bytes, after checking them against the index's sha256."""
        entry = self.entry(version)
        path = self.root / entry.artifact
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelIntegrityError(f"model {version}: artifact {path} cannot be read ({exc.strerror or exc})") from None
        actual = _sha256(data)
        if actual != entry.sha256:
            raise ModelIntegrityError(
                f"model {version}: artifact {path} has sha256 {actual}, the registry expects {entry.sha256}; "
                "it was changed after registration and will not be loaded (models are code). Restore it or "
                "retrain.")
        return data

    def load(self, version: str | None = None) -> ScoringModel:
        """Load `version` (default: the champion); the sha256 is verified before anything is unpickled."""
        if version is None:
            version = self.champion()
            if version is None:
                raise RegistryError(f"no model has been promoted in {self.root} yet; run `leadpilot train`")
        data = self.verified_bytes(version)
        model = joblib.load(io.BytesIO(data))
        if not isinstance(model, ScoringModel):
            raise ModelIntegrityError(f"model {version}: the artifact is not a leadpilot model")
        model.version = version
        recorded = self._recorded_versions(version)
        now = library_versions()
        drift = {k: (recorded[k], now.get(k)) for k in ("scikit-learn", "xgboost") if recorded.get(k) not in (None, now.get(k))}
        if drift:
            log.warning("model %s was trained with other library versions %s; retrain to be safe", version, drift)
        return model

    def _recorded_versions(self, version: str) -> dict[str, str]:
        try:
            return dict(self.metadata(version).get("library_versions", {}))
        except RegistryError:
            return {}

    # -- writing ---------------------------------------------------------------------------------
    def register(self, result: TrainingResult, gate: GateResult, *, now: datetime,
                 card: Callable[[str], Any] | None = None, extra: dict[str, Any] | None = None) -> ModelEntry:
        """Store a trained model with its metadata; it is not promoted here.

        `card(version)` renders the model card (markdown + images) once the version is known.
        """
        with self._locked() as index:
            numbers = [int(v[1:]) for v in index["models"] if v.startswith("v") and v[1:].isdigit()]
            version = f"v{max(numbers, default=0) + 1:04d}"
            folder = self.root / version
            folder.mkdir(parents=True, exist_ok=False)
            result.model.version = version
            buffer = io.BytesIO()
            joblib.dump(result.model, buffer, compress=3)
            data = buffer.getvalue()
            digest = _sha256(data)
            _atomic_write(folder / ARTIFACT, data)
            windows = {k: w.to_dict() for k, w in result.windows.items()}
            meta = {
                "version": version, "name": result.model.name, "created_at": now.isoformat(), "sha256": digest,
                "artifact": f"{version}/{ARTIFACT}", "metrics": result.metrics.to_dict(),
                "gate": gate.to_dict(), "feature_spec": _feature_spec(result.model), "training_window": windows,
                "data_hash": result.data_hash, "library_versions": library_versions(),
                **result.report(), **(extra or {}),
            }
            meta["params"] = result.params
            _atomic_write(folder / "metadata.json", json.dumps(meta, indent=2, default=_json_default).encode())
            if card is not None:
                rendered = card(version)
                _atomic_write(folder / "model_card.md", rendered.markdown.encode())
                for name, png in rendered.images.items():
                    _atomic_write(folder / name, png)
            entry = ModelEntry(
                version=version, name=result.model.name, sha256=digest, artifact=f"{version}/{ARTIFACT}",
                registered_at=now.isoformat(), status="candidate" if gate.passed else "rejected",
                gate_passed=gate.passed, gate_reasons=list(gate.reasons), auc=result.metrics.to_dict()["auc"],
                ece=result.metrics.to_dict()["ece"],
                training_window={"start": windows["train"]["start"], "end": windows["holdout"]["end"]},
            )
            index["models"][version] = asdict(entry)
            return entry

    def promote(self, version: str, *, now: datetime, reason: str = "", force: bool = False) -> RegistryEvent:
        """Make `version` the champion; a model that failed the gate needs `force` (and a reason)."""
        self.verified_bytes(version)  # never promote an artifact that would not load
        with self._locked() as index:
            models = index["models"]
            if version not in models:
                raise UnknownModelError(f"no model version '{version}' in {self.root}")
            entry = models[version]
            if not entry["gate_passed"] and not force:
                raise RegistryError(f"model {version} failed the gate and is not promoted: "
                                    + "; ".join(entry["gate_reasons"]) + " (use --force with a reason to override)")
            previous = index["champion"]
            if previous == version:
                raise RegistryError(f"model {version} is already the champion")
            if previous:
                models[previous]["status"] = "retired"
            entry["status"] = "champion"
            index["champion"] = version
            index["lineage"].append(version)
            event = RegistryEvent(now.isoformat(), "promote", version, previous,
                                  reason or ("gate passed" if entry["gate_passed"] else "forced"))
            index["history"].append(asdict(event))
            return event

    def rollback(self, *, now: datetime, to: str | None = None, reason: str = "") -> RegistryEvent:
        """Return to the previous champion (or to `to`, an earlier champion); the current one is set aside."""
        with self._locked() as index:
            lineage: list[str] = index["lineage"]
            current = index["champion"]
            if current is None or len(lineage) < 2:
                raise RegistryError("there is no earlier champion to roll back to")
            if to is not None and to not in lineage[:-1]:
                raise RegistryError(f"{to} was never a champion before {current}; earlier champions: "
                                    + (", ".join(lineage[:-1]) or "none"))
            target = to or lineage[-2]
            self.verified_bytes(target)
            while lineage and lineage[-1] != target:
                index["models"][lineage.pop()]["status"] = "rolled_back"
            index["models"][target]["status"] = "champion"
            index["champion"] = target
            event = RegistryEvent(now.isoformat(), "rollback", target, current, reason)
            index["history"].append(asdict(event))
            return event


def _feature_spec(model: ScoringModel) -> dict[str, Any]:
    plan = model.plan
    return {
        "label": plan.label, "positive_value": plan.positive_value, "time_column": plan.time_column,
        "time_kind": plan.time_kind, "id_column": plan.id_column, "default_set": plan.default_set,
        "features": [{"name": f.name, "kind": f.kind, "group": f.group, "derived": f.derived,
                      "inputs": list(f.inputs)} for f in plan.features],
        "input_columns": plan.input_columns,
        "matrix_columns": [str(c) for c in model.transformer.get_feature_names_out()],
    }
