"""systemd/leadpilot.service: the directives ops rely on are there, and systemd itself accepts the file."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "leadpilot.service"
ENV_EXAMPLE = ROOT / "systemd" / "leadpilot.env.example"
OPS_DOC = ROOT / "docs" / "ops.md"
INSTALLED_BIN = "/opt/leadpilot/.venv/bin/leadpilot"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file as (key, value) lists; keys repeat (After=, LoadCredential=, ...)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None and "=" in line, f"line {number} is not key=value inside a section: {raw!r}"
        assert not line.endswith("\\"), f"line {number}: keep directives on one line"
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in section if k == key]


def one(section: list[tuple[str, str]], key: str) -> str:
    found = values(section, key)
    assert len(found) == 1, f"{key}= appears {len(found)} times"
    return found[0]


@pytest.fixture(scope="module")
def unit() -> dict[str, list[tuple[str, str]]]:
    return parse_unit(UNIT.read_text(encoding="utf-8"))


def test_given_the_unit_then_it_is_a_notify_service_with_watchdog_restart_and_reload(unit) -> None:
    service = unit["Service"]
    assert one(service, "Type") == "notify" and one(service, "NotifyAccess") == "main"
    assert 10 <= int(one(service, "WatchdogSec")) <= 300
    assert one(service, "Restart") == "on-failure"
    assert values(service, "RestartSec") and values(service, "TimeoutStopSec")
    assert one(service, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one(service, "ExecStart") == f"{INSTALLED_BIN} run -c /etc/leadpilot/leadpilot.yaml"
    assert one(service, "ExecStartPre") == f"{INSTALLED_BIN} db upgrade -c /etc/leadpilot/leadpilot.yaml"
    assert ("WantedBy", "multi-user.target") in unit["Install"]


def test_given_the_unit_then_stop_timeout_leaves_room_for_the_daemons_own_stop_timeout(unit) -> None:
    from config.sections.schedules import SchedulesConfig

    stop = int(re.fullmatch(r"(\d+)s?", one(unit["Service"], "TimeoutStopSec")).group(1))
    assert stop > SchedulesConfig().stop_timeout_seconds + 10


def test_given_the_unit_then_it_runs_as_a_dynamic_user_with_its_own_state_and_secrets(unit) -> None:
    service = unit["Service"]
    assert one(service, "DynamicUser") == "yes"
    assert one(service, "StateDirectory") == "leadpilot"
    assert one(service, "ConfigurationDirectory") == "leadpilot"
    assert one(service, "UMask") == "0077"
    assert one(service, "EnvironmentFile") == "-/etc/leadpilot/leadpilot.env"
    credentials = dict(v.split(":", 1) for v in values(service, "LoadCredential"))
    assert set(credentials) == {"sf_password", "hubspot_token", "sentry_dsn"}
    assert all(path == f"/etc/leadpilot/credentials/{name}" for name, path in credentials.items())
    assert "PYTHONUNBUFFERED=1" in values(service, "Environment"), "JSON log lines must reach journald at once"


def test_given_the_unit_then_the_sandbox_directives_are_all_set(unit) -> None:
    service = dict(unit["Service"][::-1])  # first occurrence wins for this lookup
    required = {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "ProtectClock": "yes",
        "ProtectHostname": "yes", "RestrictNamespaces": "yes", "RestrictRealtime": "yes",
        "RestrictSUIDSGID": "yes", "LockPersonality": "yes", "CapabilityBoundingSet": "",
        "AmbientCapabilities": "", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "SystemCallArchitectures": "native",
    }
    wrong = {k: service.get(k) for k, v in required.items() if service.get(k) != v}
    assert not wrong, f"sandbox directives missing or different: {wrong}"
    assert "@system-service" in values(unit["Service"], "SystemCallFilter")


def test_given_every_secret_the_unit_loads_then_ops_doc_and_example_yaml_name_it() -> None:
    names = re.findall(r"^LoadCredential=(\w+):", UNIT.read_text(encoding="utf-8"), re.M)
    doc = OPS_DOC.read_text(encoding="utf-8")
    for name in names:
        assert f"/etc/leadpilot/credentials/{name}" in doc or f"credentials/{name}" in doc, name
        assert f"${{CREDENTIALS_DIRECTORY}}/{name}" in doc, f"docs/ops.md never shows how the YAML reads {name}"


def test_given_the_env_example_then_every_setting_line_is_name_equals_value() -> None:
    for number, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        setting = line.lstrip("#").strip() if re.match(r"#[A-Z_]+=", line) else line.strip()
        if not setting or setting.startswith("#"):
            continue
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", setting), f"line {number}: {line!r}"


@pytest.mark.parametrize("directive", ["ExecStartPre", "ExecStart"])
def test_given_an_exec_line_of_the_unit_then_the_cli_accepts_its_command(unit, directive: str) -> None:
    from daemon.cli import build_parser

    argv = one(unit["Service"], directive).split()
    assert argv[0] == INSTALLED_BIN
    if argv[1] == "run" and "run" not in build_parser()._subparsers._group_actions[0].choices:
        pytest.skip("`leadpilot run` comes with the daemon issue")
    args = build_parser().parse_args(argv[1:])
    assert callable(args.handler) and args.config == "/etc/leadpilot/leadpilot.yaml"


# ------------------------------------------------------------------ systemd's own checks

def verify_copy(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` on a copy whose binary exists here (the real one lives in /opt)."""
    here = Path(sys.executable).with_name("leadpilot")
    binary = here if here.exists() else Path(shutil.which("true") or "/bin/true")
    copy = tmp_path / "leadpilot.service"
    copy.write_text(text.replace(INSTALLED_BIN, str(binary)), encoding="utf-8")
    return subprocess.run([SYSTEMD_ANALYZE, "verify", str(copy)], capture_output=True, text=True, timeout=60)


def complaints(result: subprocess.CompletedProcess[str]) -> list[str]:
    # verify exits 0 even for an unknown key or a bad value: its complaints are on stderr
    return [ln for ln in (result.stdout + result.stderr).splitlines() if "leadpilot.service" in ln]


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_given_the_unit_when_systemd_verifies_it_then_it_reports_nothing(tmp_path) -> None:
    result = verify_copy(tmp_path, UNIT.read_text(encoding="utf-8"))
    assert result.returncode == 0, result.stderr
    assert complaints(result) == []


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize(("good", "bad"), [
    ("ProtectSystem=strict", "ProtectSystme=strict"),
    ("WatchdogSec=60", "WatchdogSec=sixty"),
    ("RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "RestrictAddressFamilies=AF_INTERNET"),
])
def test_given_a_broken_copy_when_systemd_verifies_it_then_the_check_catches_it(tmp_path, good, bad) -> None:
    text = UNIT.read_text(encoding="utf-8")
    assert good in text
    assert complaints(verify_copy(tmp_path, text.replace(good, bad))), f"{bad!r} went unnoticed"


def _supports_offline_security() -> bool:
    if SYSTEMD_ANALYZE is None:
        return False
    out = subprocess.run([SYSTEMD_ANALYZE, "security", "--help"], capture_output=True, text=True, timeout=30)
    return "--offline" in out.stdout


@pytest.mark.skipif(not _supports_offline_security(), reason="systemd-analyze security --offline needs systemd 250+")
def test_given_the_unit_when_systemd_rates_its_exposure_then_it_is_at_most_2_of_10(tmp_path) -> None:
    copy = tmp_path / "leadpilot.service"
    copy.write_text(UNIT.read_text(encoding="utf-8"), encoding="utf-8")
    # --threshold is in tenths: 20 means an overall exposure of 2.0 ("OK"; 10.0 is unprotected)
    result = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=20", str(copy)],
                            capture_output=True, text=True, timeout=60)
    overall = re.search(r"Overall exposure level for leadpilot\.service: ([\d.]+)", result.stdout)
    assert overall, result.stdout[-500:] + result.stderr
    assert result.returncode == 0 and float(overall.group(1)) <= 2.0, overall.group(0)
