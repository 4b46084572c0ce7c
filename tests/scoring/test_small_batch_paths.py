"""The API's few-lead fast paths give exactly what the general (bulk) paths give: values, matrix, reasons."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from xgboost import XGBClassifier

from config.sections.scoring import DEFAULT_MISSING_TOKENS, FeatureSpec
from scoring import ensemble, explain, features, parsing
from scoring import score as score_module
from scoring.booster import fast_booster
from scoring.explain import contributions
from scoring.features import CleanInputs, FeatureTransformer, plan_features
from scoring.model import ScoringModel
from scoring.score import ScoredBatch
from scoring.train import TrainingResult
from scoring_synth import make_leads

TOKENS = parsing.tokens(DEFAULT_MISSING_TOKENS)

MESSY = ["$350,000", "72k", "45%", "n/a", None, np.nan, "", "  12 ", "abc", 7, 3.5, True, "inf", "1e3", "2.5m",
         "Calif.", "california", "02134", 2134, "02134-1234", "ASAP", "3-6 months", "yes", "N", "Single_Family",
         pd.NA, pd.NaT, -0.0, float("inf"), "XX", "2026-01-01", 10**30]

JUNK = pd.DataFrame({
    "lead_id": ["a", None, "c", "d", "e", "f", "g"],
    "credit_score": ["n/a", "9999", "abc", None, "760", 700.0, "  680 "],
    "annual_income": ["$85,000", "-5", "", "85k", "1e400", np.nan, 90000],
    "monthly_debt": ["1,200", 0, "-0", None, 350.5, "x", 99],
    "loan_amount": [250000, "0", None, "300k", 1e12, 120000, "abc"],
    "property_value": [0, 300000, "n/a", 400000, 5000, None, 250000],
    "state": ["california", "XX", None, "tx", 42, "Calif.", "NY"],
    "zip_code": [2134, "abc", None, "02134-1111", 3.5, "10001", np.nan],
    "created_at": ["2026-02-01", None, "2026-02-30", "2026-01-01", 5, "2026-03-01T10:00:00Z", "2263-01-01"],
    "consent_timestamp": ["2026-01-20", "2026-03-01", None, "2025-12-31T23:00:00+02:00", "x", "", "2026-02-01"],
    "loan_type": [None, "SPACESHIP", "FHA", 3, "va", "Conventional", "n/a"],
    "timeline": ["soon-ish", "", None, 12, "asap", "3-6 months", "1 year"],
    "tcpa_consent": [True, "no", None, "Y", 1, 0, "maybe"],
    "website_sessions": [0, 3, None, "2", -1, 1e9, "many"],
    "page_views": [0, 12, 5, None, "7", 3, 3],
    "email_opens": [0, 0, 4, 2, None, "1", 9],
    "email_clicks": [0, 1, 9, 2, 1, None, "0"],
})


def _exact(value: object) -> tuple[str, str]:
    # type and repr: -0.0 differs from 0.0, and every missing value is one
    return ("missing", "") if value is None or value != value else (type(value).__name__, repr(value))


def _same_values(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert [_exact(v) for v in a.tolist()] == [_exact(v) for v in b.tolist()]


def _same_clean(few: CleanInputs, bulk: CleanInputs) -> None:
    assert list(few.values) == list(bulk.values)
    for name in few.values:
        _same_values(few.values[name], bulk.values[name])
    np.testing.assert_array_equal(few.present, bulk.present)
    assert few.present.dtype == bulk.present.dtype and few.present.shape == bulk.present.shape
    np.testing.assert_array_equal(few.completeness, bulk.completeness)
    assert few.absent_columns == bulk.absent_columns
    assert list(few.unreadable) == list(bulk.unreadable)
    for col, parsed in few.unreadable.items():
        assert (parsed.n_bad, parsed.examples) == (bulk.unreadable[col].n_bad, bulk.unreadable[col].examples)
        _same_values(parsed.values, bulk.unreadable[col].values)


def _general_matrix(tf: FeatureTransformer, clean: CleanInputs) -> np.ndarray:
    """transform_details' matrix the way it is built for any batch size (lookups + _assemble)."""
    te_block = None
    if tf.target_:
        te_block = np.column_stack([features._lookup(features._levels(clean.values[f.name]), table, default)
                                    for f, (table, default) in zip(tf.target_, tf.target_lookup_)])
    return tf._assemble(clean, te_block)


@pytest.mark.parametrize("kind", ["numeric", "state", "zip", "flag", "categorical"])
def test_given_messy_values_when_read_few_then_the_same_as_the_column_parsers(kind: str) -> None:
    cells = np.array(MESSY, dtype=object)
    values, bad = parsing.read_few(kind, cells.tolist(), TOKENS)  # type: ignore[misc]
    if kind == "numeric":
        parsed = parsing.parse_numeric(cells, TOKENS)
    elif kind == "state":
        parsed = parsing.normalize_state(cells, TOKENS)
    else:
        column = {"zip": parsing.zip3, "flag": parsing.normalize_flag, "categorical": parsing.normalize_category}[kind]
        parsed = parsing.Parsed(column(cells, TOKENS))
    _same_values(np.array(values, dtype=parsed.values.dtype), parsed.values)
    assert len(bad) == parsed.n_bad
    if bad:
        assert parsing.examples(cells, bad) == parsed.examples


def test_given_times_when_read_few_then_iso_the_same_and_other_formats_left_to_parse_time() -> None:
    iso = np.array(["2026-01-01", "2026-03-01T10:00:00Z", None, "", "2263-01-01", pd.Timestamp("2026-02-02"),
                    "1600-01-01", np.nan], dtype=object)
    values, bad = parsing.read_few("time", iso.tolist(), TOKENS)  # type: ignore[misc]
    expected, _, parsed = parsing.parse_time(iso, "datetime")
    _same_values(np.array(values, dtype=np.float64), expected)
    assert len(bad) == parsed.n_bad == 2
    assert parsing.read_few("time", ["03/14/2026 09:12"], TOKENS) is None


@pytest.fixture(scope="module")
def transformer() -> FeatureTransformer:
    frame = make_leads(900, seed=3)
    return FeatureTransformer(plan_features(FeatureSpec())).fit(frame, frame["converted"].astype(float).to_numpy())


def _small_frames() -> list[pd.DataFrame]:
    leads = make_leads(60, seed=8)
    return [JUNK, JUNK.iloc[[2]], JUNK.drop(columns=["state", "credit_score"]), leads.iloc[:1], leads.iloc[:32],
            leads.iloc[5:17].astype(object), leads.iloc[[3]].astype(object), pd.concat([JUNK] * 4, ignore_index=True)]


def test_given_small_frames_when_cleaned_then_the_few_path_equals_the_column_path(transformer: FeatureTransformer) -> None:
    for frame in _small_frames():
        assert 0 < len(frame) <= parsing.SMALL_BATCH
        few = features._clean_few(frame, transformer.plan, transformer.rates)  # type: ignore[arg-type]
        _same_clean(few, features._clean_columns(frame, transformer.plan, transformer.rates))  # type: ignore[arg-type]
    assert few.unreadable and few.absent_columns  # the junk exercised the warnings too


def test_given_small_frames_when_transformed_then_the_row_by_row_matrix_equals_assemble(
        transformer: FeatureTransformer) -> None:
    for frame in _small_frames():
        details = transformer.transform_details(frame)
        expected = _general_matrix(transformer, details.clean)
        assert details.matrix.dtype == expected.dtype == np.float32 and details.matrix.flags.c_contiguous
        np.testing.assert_array_equal(details.matrix, expected)


def test_given_a_fitted_transformer_when_pickled_then_its_row_layout_is_not_saved(transformer: FeatureTransformer) -> None:
    transformer.transform_details(JUNK)
    assert transformer.__dict__.get("_few_layout") is not None
    copy = pickle.loads(pickle.dumps(transformer))
    assert "_few_layout" not in copy.__dict__ and "_few_layout" in transformer.__dict__
    np.testing.assert_array_equal(copy.transform(JUNK), transformer.transform(JUNK))


def _xgb(early_stopping: bool) -> tuple[XGBClassifier, np.ndarray]:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(700, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.15] = np.nan
    y = (np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 2]) + rng.normal(size=700) > 0).astype(int)
    extra = {"early_stopping_rounds": 5} if early_stopping else {}
    model = XGBClassifier(n_estimators=120, max_depth=3, learning_rate=0.3, n_jobs=1, **extra)
    model.fit(X[:500], y[:500], **({"eval_set": [(X[500:], y[500:])], "verbose": False} if early_stopping else {}))
    return model, X


@pytest.mark.parametrize("early_stopping", [True, False])
def test_given_an_xgboost_member_then_its_c_calls_equal_the_public_api(early_stopping: bool) -> None:
    model, X = _xgb(early_stopping)
    iterations = int(model.best_iteration) + 1 if early_stopping else 0
    fast = fast_booster(model, iterations)
    assert fast is not None, "this xgboost should offer its C handle"
    for rows in (X[:1], X[7:8], X[:5], X[:32], X[100:164]):
        proba = ensemble.xgb_proba(model, rows)
        np.testing.assert_array_equal(fast.proba(rows), proba)
        for approximate in (False, True):
            contrib = contributions(model, rows, iterations, approximate=approximate)
            np.testing.assert_array_equal(fast.contributions(rows, approximate), contrib)
            both = fast.proba_and_contributions(rows, approximate)
            np.testing.assert_array_equal(both[0], proba)  # the DMatrix prediction: inplace_predict's numbers
            np.testing.assert_array_equal(both[1], contrib)
            assert both[0].dtype == proba.dtype and both[1].dtype == contrib.dtype
            np.testing.assert_array_equal(contributions(model, rows, iterations, approximate, fast=fast), contrib)


def test_given_c_calls_that_disagree_or_fail_then_the_public_api_serves(monkeypatch: pytest.MonkeyPatch,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    from scoring import booster
    from xgboost.core import XGBoostError

    model, X = _xgb(False)
    with monkeypatch.context() as m:  # a future xgboost whose private call reads its arguments differently
        m.setattr(booster.FastBooster, "proba", lambda self, rows: np.full(len(rows), 0.5))
        assert fast_booster(model, 0) is None
    assert "disagree" in caplog.text

    def broken(self: object, rows: np.ndarray, calls: list[bytes]) -> list[np.ndarray]:
        raise XGBoostError("unknown argument")

    with monkeypatch.context() as m:
        m.setattr(booster.FastBooster, "_on_dmatrix", broken)
        assert fast_booster(model, 0) is None
    assert "unknown argument" in caplog.text
    assert fast_booster(model, 0) is not None  # as it is: the probe agrees


def _walk_tree_by_tree(forest: object, X: np.ndarray) -> np.ndarray:
    """The packed walk as it was before the slot layout: each tree's own arrays, NaN sent by missing_go_to_left."""
    X64 = X.astype(np.float64)
    leaves_p1 = []
    for est in forest.estimators_:  # type: ignore[attr-defined]
        t = est.tree_
        node = np.zeros(len(X64), dtype=np.int64)
        for _ in range(t.max_depth):
            leaf = t.children_left[node] == -1
            x = X64[np.arange(len(X64)), np.where(leaf, 0, t.feature[node])]
            go_left = np.where(np.isnan(x), t.missing_go_to_left[node].astype(bool), x <= t.threshold[node])
            node = np.where(leaf, node, np.where(go_left, t.children_left[node], t.children_right[node]))
        value = t.value.reshape(t.node_count, -1)
        leaves_p1.append(value[node, 1] / value[node].sum(axis=1))
    return np.column_stack(leaves_p1).mean(axis=1)


def test_given_a_forest_with_missing_values_then_the_packed_walk_equals_predict_proba() -> None:
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(9)
    X = rng.normal(size=(800, 4)).astype(np.float32)
    X[:, 1][rng.random(800) < 0.4] = np.nan  # many missing: splits on "missing or not" (threshold +inf)
    y = (np.isnan(X[:, 1]) ^ (X[:, 0] > 0.3)).astype(int)
    forest = RandomForestClassifier(n_estimators=20, max_depth=8, random_state=1).fit(X, y)
    assert any(np.isinf(e.tree_.threshold).any() for e in forest.estimators_)
    packed = ensemble.PackedForest.of(forest)
    expected = _walk_tree_by_tree(forest, X[:200])
    np.testing.assert_array_equal(np.concatenate([packed.proba(X[i:i + 1]) for i in range(200)]), expected)
    np.testing.assert_array_equal(packed.proba(X[:200]), expected)
    # and sklearn's own numbers, up to the order in which the trees' shares are added
    np.testing.assert_allclose(expected, forest.predict_proba(X[:200])[:, 1], rtol=0, atol=1e-12)


def _general_score(model: ScoringModel, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch,
                   **kwargs: object) -> ScoredBatch:
    """score() with this change's small-batch paths turned off: a big batch's code for these rows (the forest
    keeps its packed walk, which only adds the trees' shares in another order: see the forest test)."""
    with monkeypatch.context() as m:
        for module in (parsing, score_module, explain):
            m.setattr(module, "SMALL_BATCH", 0)
        m.setattr(ScoringModel, "fast_booster", lambda self: None)
        return model.score(frame, **kwargs)  # type: ignore[arg-type]


def _same_batch(a: ScoredBatch, b: ScoredBatch) -> None:
    _same_values(a.lead_id, b.lead_id)
    for name in ("probability", "score", "confidence", "reason_feature", "contribution", "points", "completeness",
                 "agreement"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert list(a.member_probability) == list(b.member_probability)
    for member, p in a.member_probability.items():
        np.testing.assert_array_equal(p, b.member_probability[member], err_msg=member)
    assert a.reason_text == b.reason_text and a.warnings == b.warnings
    assert [r.value for i in range(len(a)) for r in a.reasons(i)] == [r.value for i in range(len(b)) for r in b.reasons(i)]


@pytest.mark.parametrize("reasons", [True, False])
def test_given_one_lead_or_a_few_then_score_equals_the_general_path(trained: TrainingResult, fresh_leads: pd.DataFrame,
                                                                    monkeypatch: pytest.MonkeyPatch, reasons: bool) -> None:
    model = trained.model
    frames = [fresh_leads.iloc[[i]] for i in (0, 1, 17, 99)]
    frames += [fresh_leads.iloc[[5]].astype(object), fresh_leads.iloc[:32].astype(object), fresh_leads.iloc[40:47],
               JUNK, JUNK.iloc[[1]], JUNK.drop(columns=["lead_id"])]
    for frame in frames:
        for method in ("treeshap", "approximate"):
            fast = model.score(frame, reasons=reasons, top_reasons=3, reason_method=method)
            _same_batch(fast, _general_score(model, frame, monkeypatch, reasons=reasons, top_reasons=3,
                                             reason_method=method))
    assert model.fast_booster() is not None


def test_given_a_model_that_scored_then_pickling_leaves_out_the_c_call_cache(trained: TrainingResult,
                                                                            fresh_leads: pd.DataFrame) -> None:
    model = trained.model
    one = model.score(fresh_leads.iloc[[3]])
    assert model.__dict__.get("_fast_booster") is not None
    copy = pickle.loads(pickle.dumps(model))
    assert "_fast_booster" not in copy.__dict__
    again = copy.score(fresh_leads.iloc[[3]])
    np.testing.assert_array_equal(again.probability, one.probability)
    assert again.reason_text == one.reason_text


def test_given_text_and_empty_ids_then_the_few_path_reads_them_as_pandas_astype_str() -> None:
    frame = pd.DataFrame({"lead_id": ["x-1", None, "", "y"]}, dtype=object)
    _same_values(score_module._lead_ids(frame, "lead_id"), frame["lead_id"].astype(str).to_numpy(dtype=object))
    mixed = pd.DataFrame({"lead_id": [1, None, 2.5, "z"]}, dtype=object)  # not text: pandas decides
    _same_values(score_module._lead_ids(mixed, "lead_id"), mixed["lead_id"].astype(str).to_numpy(dtype=object))
