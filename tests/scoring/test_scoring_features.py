"""Feature plan and transformer: the seed's four groups, protected attributes refused, messy input survives."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from config.sections.scoring import FeatureSpec
from scoring.errors import ScoringInputError
from scoring.features import FeatureTransformer, plan_features, protected_columns
from scoring.rates import read_rate_series
from scoring_synth import make_leads


def test_given_the_default_spec_then_the_plan_covers_the_seeds_four_groups() -> None:
    plan = plan_features(FeatureSpec())
    groups = {f.group for f in plan.features}
    assert {"financial", "behaviour", "timing", "geography"} <= groups
    names = {f.name for f in plan.features}
    assert {"credit_band", "dti", "ltv", "down_payment_pct", "employment_status", "employment_tenure_months",
            "engagement", "lead_age_days", "month", "timeline_months", "state", "zip3"} <= names
    assert "updated_at" not in plan.raw_kinds  # moves when a lead converts: it would leak the label


def test_given_a_rate_series_then_rate_features_are_planned() -> None:
    assert {"rate", "rate_change_90d"} <= {f.name for f in plan_features(FeatureSpec(), has_rates=True).features}
    assert "rate" not in {f.name for f in plan_features(FeatureSpec()).features}


@pytest.mark.parametrize("column", ["race", "Race", "sex", "gender", "age", "Applicant Age", "borrower_age",
                                    "ethnicity", "marital_status", "Marital Status", "national_origin", "religion",
                                    "Date of Birth", "applicant_race", "familial_status"])
def test_given_a_protected_attribute_as_feature_then_training_is_refused(column: str) -> None:
    with pytest.raises(ScoringInputError, match="protected attribute") as err:
        plan_features(FeatureSpec(categorical=[column]))
    assert column in str(err.value)


@pytest.mark.parametrize("column", ["page_views", "mortgage_type", "lead_age_days", "usage", "message", "storage"])
def test_given_ordinary_columns_then_they_are_not_taken_for_protected_ones(column: str) -> None:
    assert protected_columns([column]) == []


def _fit(frame: pd.DataFrame, spec: FeatureSpec | None = None) -> FeatureTransformer:
    plan = plan_features(spec or FeatureSpec())
    y = frame["converted"].astype(float).to_numpy()
    return FeatureTransformer(plan).fit(frame, y)


def test_given_garbage_rows_when_transformed_then_no_error_and_one_row_each() -> None:
    tf = _fit(make_leads(800, seed=3))
    junk = pd.DataFrame({
        "credit_score": ["n/a", "9999", "abc", None, "760"],
        "annual_income": ["$85,000", "-5", "", "85k", "1e400"],
        "state": ["california", "XX", None, "tx", 42],
        "zip_code": [2134, "abc", None, "02134-1111", 3.5],
        "created_at": ["yesterday", None, "2026-02-30", "2026-01-01", 5],
        "loan_type": [None, "SPACESHIP", "FHA", 3, "va"],
        "timeline": ["soon-ish", "", None, 12, "asap"],
        "unrelated": [1, 2, 3, 4, 5],
    })
    batch = tf.transform_details(junk)
    assert batch.matrix.shape == (5, len(tf.feature_names_out_))
    assert batch.matrix.dtype == np.float32
    assert np.isnan(batch.matrix[:, list(tf.feature_names_out_).index("credit_score")]).tolist() == [
        True, True, True, True, False]
    assert "credit_score" not in batch.clean.absent_columns and "loan_amount" in batch.clean.absent_columns
    assert ((batch.clean.completeness >= 0) & (batch.clean.completeness <= 1)).all()
    empty = tf.transform(pd.DataFrame())
    assert empty.shape == (0, len(tf.feature_names_out_))


def test_given_messy_leads_when_transformed_one_by_one_then_the_same_rows_and_counts_as_in_bulk() -> None:
    # small frames take the parsers' per-value path, big ones the bulk path: both must read junk alike
    from scoring.parsing import SMALL_BATCH

    tf = _fit(make_leads(800, seed=3))
    junk = pd.DataFrame({
        "credit_score": ["n/a", "9999", "abc", None, "760", 700.0, "  680 "],
        "annual_income": ["$85,000", "-5", "", "85k", "1e400", np.nan, 90000],
        "state": ["california", "XX", None, "tx", 42, "Calif.", "NY"],
        "zip_code": [2134, "abc", None, "02134-1111", 3.5, "10001", np.nan],
        "created_at": ["yesterday", None, "2026-02-30", "2026-01-01", 5, "03/14/2026 09:12", "2026-03-01T10:00:00Z"],
        "loan_type": [None, "SPACESHIP", "FHA", 3, "va", "Conventional", "n/a"],
        "timeline": ["soon-ish", "", None, 12, "asap", "3-6 months", "1 year"],
    })
    copies = SMALL_BATCH // len(junk) + 1
    bulk = pd.concat([junk] * copies, ignore_index=True)
    whole = tf.transform_details(bulk)
    bad_singly: dict[str, int] = {}
    for i in range(len(junk)):
        one = tf.transform_details(bulk.iloc[[i]])
        np.testing.assert_array_equal(one.matrix[0], whole.matrix[i])
        for col, parsed in one.clean.unreadable.items():
            bad_singly[col] = bad_singly.get(col, 0) + parsed.n_bad * copies
    assert bad_singly == {col: parsed.n_bad for col, parsed in whole.clean.unreadable.items()}
    assert bad_singly["credit_score"] == copies  # "abc"; "9999" is out of range and "n/a" a placeholder: missing


def test_given_one_lead_when_transformed_alone_then_same_row_as_in_a_batch() -> None:
    frame = make_leads(600, seed=4)
    tf = _fit(frame)
    batch = tf.transform(frame.iloc[100:140])
    for i in (0, 7, 39):
        np.testing.assert_array_equal(tf.transform(frame.iloc[[100 + i]])[0], batch[i])


def test_given_fitted_encoders_then_the_fast_lookup_matches_sklearns_transform() -> None:
    frame = make_leads(1500, seed=5)
    tf = _fit(frame)
    other = make_leads(400, seed=6)
    details = tf.transform_details(other)
    names = list(tf.feature_names_out_)
    onehot = [i for i, n in enumerate(names) if "=" in n]
    np.testing.assert_array_equal(details.matrix[:, onehot],
                                  tf.onehot_encoder_.transform(tf._cat_block(details.clean, tf.onehot_)))
    target = [i for i, n in enumerate(names) if n.endswith("_target_rate")]
    assert target, "zip3 should be target-encoded (long tail of rare areas)"
    np.testing.assert_allclose(details.matrix[:, target],
                               tf.target_encoder_.transform(tf._cat_block(details.clean, tf.target_)), rtol=1e-6)


def test_given_unknown_category_at_scoring_then_it_goes_to_other_not_an_error() -> None:
    tf = _fit(make_leads(800, seed=3))
    row = tf.transform(pd.DataFrame({"loan_type": ["hovercraft"], "state": ["WY"]}))
    names = list(tf.feature_names_out_)
    loan_cols = [i for i, n in enumerate(names) if n.startswith("loan_type=")]
    assert row[0, loan_cols].sum() <= 1.0


def test_given_a_custom_column_set_then_the_same_code_builds_only_those_features() -> None:
    frame = pd.DataFrame({
        "Lead Number": np.arange(600),
        "TotalVisits": np.random.default_rng(0).poisson(3, 600).astype(str),
        "Lead Source": np.random.default_rng(1).choice(["Google", "Select", "Olark Chat"], 600),
        "Converted": np.random.default_rng(2).integers(0, 2, 600),
    })
    spec = FeatureSpec(numerical=["TotalVisits"], categorical=["Lead Source"], label="Converted",
                       positive_value=1, time_column="Lead Number")
    plan = plan_features(spec, time_kind="numeric")
    assert [f.name for f in plan.features] == ["TotalVisits", "Lead Source"]
    tf = FeatureTransformer(plan).fit(frame, frame["Converted"].to_numpy(dtype=float))
    names = list(tf.feature_names_out_)
    assert "Lead Source=select" not in names and "Lead Source=(missing)" in names  # 'Select' = not answered


def test_given_a_custom_set_listing_derived_inputs_then_the_derived_feature_is_added() -> None:
    plan = plan_features(FeatureSpec(numerical=["monthly_debt", "annual_income"], categorical=[]))
    assert [f.name for f in plan.features] == ["monthly_debt", "annual_income", "dti", "month"]


def test_given_a_rate_file_then_each_lead_gets_the_rate_in_force(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text("date,rate\n2025-01-01,6.5\n2025-04-01,7.0%\n2025-07-01,6.0\n")
    rates = read_rate_series(path)
    frame = make_leads(500, seed=8)
    tf = FeatureTransformer(plan_features(FeatureSpec(), has_rates=True), rates).fit(
        frame, frame["converted"].astype(float).to_numpy())
    out = tf.transform(pd.DataFrame({"created_at": ["2024-12-01", "2025-02-01", "2025-05-01", "2026-01-01"]}))
    names = list(tf.feature_names_out_)
    np.testing.assert_allclose(out[:, names.index("rate")], [np.nan, 6.5, 7.0, 6.0], equal_nan=True)
    np.testing.assert_allclose(out[:, names.index("rate_change_90d")], [np.nan, np.nan, 0.5, 0.0], equal_nan=True)


def test_given_a_broken_rate_file_then_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "rates.csv"
    bad.write_text("date,rate\n2025-01-01,6.5\nsoon,7\n2025-03-01,6.9\n")
    with pytest.raises(ScoringInputError, match=r"line\(s\) \[3\]"):
        read_rate_series(bad)
    with pytest.raises(ScoringInputError, match="not found"):
        read_rate_series(tmp_path / "missing.csv")
