"""Compliance: TCPA consent, Do-Not-Call, licensing, data quality, retention, fairness audit. Pure logic.

One module a job; the daemon wires the I/O (CRM, store, schedules):
    check.check_leads(leads, now=, config=, dnc=, licences=) -> list[ComplianceResult]   per batch
    reasons      every reason code, what it blocks (the table auditors read)
    phones       NANP normalisation -> 10-digit int or PHONE_MISSING / PHONE_INVALID
    consent      TCPA consent and email permission of one lead
    dnc          DncRegistry (memory-mapped, 4 bytes a number), refresh(drop_dir, registry_dir, now=, ...)
    dnc_files    tolerant parser of FTC full/change files, state and internal lists
    licensing    LicenceRegistry.load(path) / eligibility_mask(states, agent_ids, on)
    quality      completeness per lead and per batch against compliance.data_quality
    columns      column reads of a lead frame without a Series per column (one-lead checks stay cheap)
    retention    anonymise_expired(leads, now=, config=) for the retention job
    fairness     audit_fairness(p, y, protected, threshold=, config=) and proxy_report(features, protected)
Only `dnc` touches files (its own registry storage) and `licensing.load` reads the licence file.
"""
