"""End to end on the synthetic CRM export (skipped until daemon.synthetic exists): nothing lost, nothing crashes."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from compliance.check import check_leads, results_frame
from compliance.dnc import DncRegistry
from compliance.fairness import audit_fairness
from compliance.licensing import LicenceRegistry
from compliance.phones import normalise_phones
from compliance.reasons import Reason
from config.sections.compliance import ComplianceConfig, FairnessConfig

synthetic = pytest.importorskip("daemon.synthetic")
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return synthetic.generate(n_leads=600, n_agents=8, seed=11, now=NOW)


def test_messy_synthetic_leads_each_get_a_result_and_licences_load(data) -> None:  # type: ignore[no-untyped-def]
    licences = LicenceRegistry.from_records(
        {"agent_id": a.agent_id, "state": lic.state, "license_id": lic.license_id, "nmls_id": lic.nmls_id,
         "expires": lic.expires} for a in data.agents for lic in a.licenses)
    assert licences.licences and not licences.problems
    dnc = DncRegistry.from_numbers(federal=[2012345678], covered_areas=range(1000), federal_updated_at=NOW)
    results = check_leads(data.leads, now=NOW, config=ComplianceConfig(), dnc=dnc, licences=licences)
    assert len(results) == len(data.leads)
    table = results_frame(results)
    assert table["row"].tolist() == list(range(len(data.leads)))
    ids = data.leads["lead_id"].tolist()
    assert all(r.lead_id == i for r, i in zip(results, ids) if isinstance(i, str) and i.strip())
    # the export is messy on purpose: some leads must fail, with reasons, and recent complete ones pass
    assert any(r.compliant for r in results) and any(not r.compliant for r in results)
    assert all(r.reasons for r in results if not r.compliant)
    recent = data.leads["consent_timestamp"] > NOW - timedelta(days=30)
    assert sum(r.compliant for r, fresh in zip(results, recent) if fresh) > 0
    assert all(Reason.CONSENT_EXPIRED not in r.reasons for r, fresh in zip(results, recent) if fresh)


def test_each_lead_checked_alone_gets_the_result_it_gets_in_a_batch(data) -> None:  # type: ignore[no-untyped-def]
    # the scoring API checks one lead a call: small frames take other code paths (DNC bisection, no
    # batch sort) and must not change any answer
    leads = data.leads.iloc[:80]
    licences = LicenceRegistry.from_records(
        {"agent_id": a.agent_id, "state": lic.state, "license_id": lic.license_id, "nmls_id": lic.nmls_id,
         "expires": lic.expires} for a in data.agents for lic in a.licenses)
    phones = [p.number for p in normalise_phones(leads["phone"]).results if p.number is not None]
    dnc = DncRegistry.from_numbers(federal=phones[::4], state=phones[1::5], internal=phones[2::6],
                                   covered_areas=sorted({p // 10_000_000 for p in phones})[::2],
                                   federal_updated_at=NOW)
    options = {"now": NOW, "config": ComplianceConfig(), "dnc": dnc, "licences": licences}
    batch = check_leads(leads, **options)  # type: ignore[arg-type]
    alone = [check_leads(leads.iloc[[i]], **options)[0] for i in range(len(leads))]  # type: ignore[arg-type]
    assert [replace(r, row=0) for r in batch] == alone
    tens = [r for k in range(0, len(leads), 10)
            for r in check_leads(leads.iloc[k:k + 10], **options)]  # type: ignore[arg-type]
    assert [replace(r, row=0) for r in batch] == [replace(r, row=0) for r in tens]
    seen = {reason for r in batch for reason in r.reasons}
    assert {Reason.DNC_FEDERAL, Reason.DNC_STATE, Reason.DNC_INTERNAL, Reason.DNC_NOT_COVERED} <= seen
    assert any(r.compliant for r in batch) and any(not r.compliant for r in batch)


def test_fairness_audit_runs_on_the_synthetic_protected_columns(data) -> None:  # type: ignore[no-untyped-def]
    leads = data.leads
    protected = leads[[c for c in ("race", "sex") if c in leads.columns]]
    if protected.empty:
        pytest.skip("the synthetic data has no protected columns")
    p = leads["true_probability"].to_numpy(dtype=float)
    y = leads["converted"].astype(float).to_numpy()
    report = audit_fairness(p, y, protected, threshold=float(np.quantile(p, 0.7)), config=FairnessConfig())
    assert set(report.attributes) == set(protected.columns)
    for audit in report.attributes.values():
        assert sum(m.n for m in audit.groups) == len(leads)
