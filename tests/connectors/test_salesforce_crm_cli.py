"""`leadpilot crm check` and `crm setup [--apply]` against the sandbox org, through the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sf_fixtures import SfSandbox
from daemon.cli import main


def _config(sf: SfSandbox, tmp_path: Path, **overrides: object) -> str:
    path = tmp_path / "leadpilot.yaml"
    path.write_text(yaml.safe_dump({"connectors": [{"name": "sf-main", "plugin": "salesforce",
                                                    "settings": sf.settings(**overrides)}]}))
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_given_an_org_without_leadpilot_fields_when_checked_then_each_missing_one_is_listed(
        bare_sf: SfSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(bare_sf, tmp_path)

    code, report = _run(capsys, "crm", "check", "-c", config, "--json")

    assert code == 1 and not report["ok"]
    items = {i["what"]: i for i in report["connectors"][0]["items"]}
    assert items["login"]["ok"] and items["read Lead"]["ok"] and items["Lead.Loan_Amount__c"]["ok"]
    assert not items["Lead.AI_Lead_Score__c"]["ok"] and "crm setup --apply" in items["Lead.AI_Lead_Score__c"]["detail"]
    assert not items["Lead_Assignment__c"]["ok"]
    missing = [w for w, i in items.items() if not i["ok"]]
    assert len(missing) == 10  # 9 Lead fields + the assignment object


def test_given_setup_without_apply_then_nothing_changes(bare_sf: SfSandbox, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(bare_sf, tmp_path)

    code, report = _run(capsys, "crm", "setup", "-c", config, "--json")

    assert code == 0
    planned = [i["what"] for i in report["connectors"][0]["items"]]
    assert "CustomObject Lead_Assignment__c (object)" in planned
    assert "CustomField Lead.AI_Lead_Score__c (Number)" in planned and len(planned) == 19
    assert "AI_Lead_Score__c" not in (bare_sf.store.fields("Lead") or {})
    assert bare_sf.store.object_info("Lead_Assignment__c") is None


def test_given_setup_with_apply_then_everything_is_created_and_check_passes(
        bare_sf: SfSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(bare_sf, tmp_path)

    code, report = _run(capsys, "crm", "setup", "-c", config, "--apply", "--json")
    assert code == 0 and report["ok"], report
    assert bare_sf.http_stats()["tooling"] == 19

    described = bare_sf.store.fields("Lead_Assignment__c") or {}
    assert described["External_Id__c"].external_id and described["External_Id__c"].unique
    assert described["Lead__c"].reference_to == "Lead"
    code, report = _run(capsys, "crm", "check", "-c", config, "--json")
    assert code == 0 and report["ok"], [i for i in report["connectors"][0]["items"] if not i["ok"]]
    code, report = _run(capsys, "crm", "setup", "-c", config, "--apply", "--json")
    assert code == 0 and "nothing to do" in report["connectors"][0]["items"][0]["detail"]


def test_given_bad_credentials_when_checked_then_the_login_line_says_what_to_fix(
        bare_sf: SfSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(bare_sf, tmp_path, security_token="stale")

    code = main(["crm", "check", "-c", config])

    out = capsys.readouterr().out
    assert code == 1
    assert "sf-main (salesforce): NEEDS ATTENTION" in out and "INVALID_LOGIN" in out


def test_given_a_config_without_connectors_then_crm_check_is_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("connectors: []\n")

    assert main(["crm", "check", "-c", str(path)]) == 2
    assert "no enabled connectors" in capsys.readouterr().err
