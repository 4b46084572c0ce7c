"""Batch scoring: probability, a score whose thresholds select a stable share, confidence, reasons."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from scoring.explain import contributions, group_contributions
from scoring.train import TrainingResult

REASON = re.compile(r"^.+: [+-]\d+(\.\d)? points?$")


def test_given_a_batch_then_one_result_per_lead_in_range(trained: TrainingResult, fresh_leads: pd.DataFrame) -> None:
    batch = trained.model.score(fresh_leads)
    assert len(batch) == len(fresh_leads)
    assert list(batch.lead_id) == list(fresh_leads["lead_id"])
    assert ((batch.probability > 0) & (batch.probability < 1)).all()
    assert batch.score.dtype.kind == "i" and batch.score.min() >= 0 and batch.score.max() <= 100
    assert ((batch.confidence >= 0) & (batch.confidence <= 1)).all()
    frame = batch.to_frame()
    assert list(frame.columns) == ["lead_id", "probability", "score", "confidence", "model_version", "reasons"]


def test_given_one_lead_then_it_is_scored_as_a_batch_of_one(trained: TrainingResult, fresh_leads: pd.DataFrame) -> None:
    batch = trained.model.score(fresh_leads.iloc[:50])
    for i in (0, 17, 49):
        one = trained.model.score(fresh_leads.iloc[[i]])
        assert one.probability[0] == pytest.approx(batch.probability[i], abs=1e-6)  # float32 BLAS order
        assert one.score[0] == batch.score[i] and one.confidence[0] == pytest.approx(batch.confidence[i])
        assert one.reason_text[0] == batch.reason_text[i]


def test_given_new_leads_like_the_training_mix_then_thresholds_80_and_60_select_about_20_and_40_percent(
        trained: TrainingResult, fresh_leads: pd.DataFrame) -> None:
    """The documented meaning: score = percentile among the reference leads, so >= 80 is the top ~20%."""
    score = trained.model.score(fresh_leads, reasons=False).score
    assert (score >= 80).mean() == pytest.approx(0.20, abs=0.05)
    assert (score >= 60).mean() == pytest.approx(0.40, abs=0.06)
    assert (score >= 0).all()


def test_given_higher_probability_then_never_a_lower_score(trained: TrainingResult, fresh_leads: pd.DataFrame) -> None:
    batch = trained.model.score(fresh_leads, reasons=False)
    order = np.argsort(batch.probability, kind="stable")
    p, s = batch.probability[order], batch.score[order]
    strictly_higher = np.diff(p) > 1e-12
    assert (np.diff(s)[strictly_higher] >= 0).all()


def test_given_scores_then_higher_scores_convert_more(trained: TrainingResult) -> None:
    holdout = trained.holdout
    batch = trained.model.score(holdout, reasons=False)
    top, bottom = trained.holdout_y[batch.score >= 60].mean(), trained.holdout_y[batch.score < 40].mean()
    assert top > bottom * 1.5


def test_given_missing_inputs_then_confidence_drops_and_it_is_not_constant(trained: TrainingResult,
                                                                           fresh_leads: pd.DataFrame) -> None:
    complete = fresh_leads.dropna().iloc[:30]
    thinned = complete.copy()
    for col in ("credit_score", "annual_income", "monthly_debt", "timeline", "website_sessions", "state"):
        thinned[col] = None
    full, thin = trained.model.score(complete), trained.model.score(thinned)
    assert (thin.completeness < full.completeness).all()
    assert thin.confidence.mean() < full.confidence.mean()
    assert np.std(trained.model.score(fresh_leads).confidence) > 0.01
    np.testing.assert_allclose(full.confidence, full.agreement * full.completeness)


def test_given_members_that_disagree_then_agreement_is_lower(trained: TrainingResult, fresh_leads: pd.DataFrame) -> None:
    batch = trained.model.score(fresh_leads, reasons=False)
    shares = np.column_stack([np.searchsorted(trained.model.reference.members[n], batch.member_probability[n])
                              / trained.model.reference.n for n in batch.member_probability])
    spread = shares.max(axis=1) - shares.min(axis=1)
    assert np.corrcoef(spread, batch.agreement)[0, 1] < -0.95


def test_given_reasons_then_sentences_with_points_and_raw_numbers(trained: TrainingResult,
                                                                  fresh_leads: pd.DataFrame) -> None:
    batch = trained.model.score(fresh_leads.iloc[:200])
    assert all(len(r) == trained.model.top_reasons for r in batch.reason_text)
    for i in range(0, 200, 20):
        reasons = batch.reasons(i)
        assert [r.text for r in reasons] == batch.reason_text[i]
        for r in reasons:
            assert REASON.match(r.text), r.text
            assert np.sign(r.points) == np.sign(r.contribution)
        sizes = [abs(r.points) for r in reasons]
        assert sizes == sorted(sizes, reverse=True)
        assert sizes[-1] >= np.sort(np.abs(batch.points[i]))[-len(sizes)] - 1e-9
    credit = [t for row in batch.reason_text for t in row if t.startswith("Credit score ")]
    assert credit and all(re.match(r"Credit score (\d{3}|missing): [+-]", t) for t in credit)


@pytest.mark.parametrize("approximate", [False, True])
def test_given_contributions_then_they_add_up_to_the_xgboost_margin(trained: TrainingResult,
                                                                    fresh_leads: pd.DataFrame, approximate: bool) -> None:
    model = trained.model
    X = model.transformer.transform(fresh_leads.iloc[:100])
    contrib = contributions(model.members["xgboost"], X, model.xgb_iterations, approximate=approximate)
    per_feature, bias = group_contributions(contrib, model.transformer.output_source_, len(model.plan.features))
    margin = model.members["xgboost"].predict(X, output_margin=True)
    np.testing.assert_allclose(per_feature.sum(axis=1) + bias, margin, atol=1e-4)


def test_given_a_big_batch_then_contributions_on_every_core_equal_the_single_threaded_ones(
        trained: TrainingResult, fresh_leads: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    from scoring import explain

    model = trained.model
    X = model.transformer.transform(fresh_leads.iloc[:100])
    alone = contributions(model.members["xgboost"], X, model.xgb_iterations)
    monkeypatch.setattr(explain, "PARALLEL_MIN_ROWS", 10)  # a 100-lead batch now counts as big
    monkeypatch.setattr(explain, "_threads", lambda rows: 2 if rows >= explain.PARALLEL_MIN_ROWS else 1)
    spread = contributions(model.members["xgboost"], X, model.xgb_iterations)
    assert model.members["xgboost"] in explain._PARALLEL  # the parallel copy was used
    assert model.members["xgboost"].get_booster() is not explain._PARALLEL[model.members["xgboost"]]
    np.testing.assert_allclose(spread, alone, rtol=0, atol=1e-6)


def test_given_malformed_and_empty_values_then_scoring_never_raises(trained: TrainingResult) -> None:
    messy = pd.DataFrame({
        "lead_id": ["a", "b", "c", "d"],
        "credit_score": ["n/a", "9999", "760", None],
        "annual_income": ["$85,000", "lots", "", None],
        "loan_amount": ["$350,000", -1, "350k", None],
        "state": ["california", "XX", "Tex.", None],
        "zip_code": ["abc", 2134, "02134-1234", None],
        "timeline": ["whenever", "ASAP", "6+ months", None],
        "created_at": ["not a date", "2026-01-01", None, "2026-13-45"],
        "loan_type": ["SPACESHIP", "FHA", "va", None],
        "surprise_column": [object(), 1, "x", None],
    })
    batch = trained.model.score(messy)
    assert len(batch) == 4 and np.isfinite(batch.probability).all()
    assert any("not understood" in w for w in batch.warnings)
    assert any("missing from the data" in w for w in batch.warnings)
    nothing = trained.model.score(pd.DataFrame({"lead_id": ["z"]}))
    assert nothing.completeness[0] == 0.0 and nothing.confidence[0] == 0.0 and 0 <= nothing.score[0] <= 100


def test_given_no_leads_then_an_empty_batch(trained: TrainingResult) -> None:
    batch = trained.model.score(pd.DataFrame(columns=["lead_id", "credit_score"]))
    assert len(batch) == 0 and batch.to_frame().empty


def test_given_no_id_column_then_rows_are_numbered_with_a_warning(trained: TrainingResult,
                                                                  fresh_leads: pd.DataFrame) -> None:
    batch = trained.model.score(fresh_leads.drop(columns=["lead_id"]).iloc[:3])
    assert list(batch.lead_id) == ["0", "1", "2"] and any("no 'lead_id' column" in w for w in batch.warnings)


def test_given_the_approximate_method_then_mostly_the_same_top_reasons(trained: TrainingResult,
                                                                      fresh_leads: pd.DataFrame) -> None:
    exact = trained.model.score(fresh_leads.iloc[:300])
    approx = trained.model.score(fresh_leads.iloc[:300], reason_method="approximate")
    np.testing.assert_array_equal(exact.probability, approx.probability)  # reasons never change the score
    assert np.mean(exact.reason_feature[:, 0] == approx.reason_feature[:, 0]) > 0.7
