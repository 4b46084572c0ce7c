"""Scoring: features, the calibrated ensemble, validation metrics, model registry, reasons. Pure logic.

Public entry points (import from the modules; this package imports nothing heavy itself):

    scoring.train.train(frame, settings, *, rates=None, as_of=None, maturity_days=None, progress=None)
        -> TrainingResult                       time-ordered training, comparison, calibration
    scoring.lifecycle.train_and_register(frame, settings, registry, *, now, ...) -> TrainOutcome
                                                train + gate + register (+ promote on a pass)
    scoring.registry.ModelRegistry(root).load(version=None) -> ScoringModel   (sha256 checked first)
    ScoringModel.score(frame, *, reasons=True, top_reasons=None, reason_method=None) -> ScoredBatch
    scoring.evaluate.evaluate(model, frame, *, as_of=None, maturity_days=None) -> EvaluationResult
    scoring.gate.evaluate_gate(metrics, gate_config, *, champion_auc, fairness, fairness_input) -> GateResult

What `probability`, `score`, `confidence` and the reasons mean is documented in scoring.score.
"""
