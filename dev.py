#!/usr/bin/env python3
"""Set up leadpilot's virtualenv and run the demo or the tests; needs only python3.

    python3 dev.py demo      # the main job on embedded defaults (SQLite, sandbox CRMs)
    python3 dev.py test      # the whole test suite
    python3 dev.py lock      # re-pin constraints.txt from the current virtualenv

Each command creates `.venv` and installs the pinned dependencies the first time,
and again only when pyproject.toml or constraints.txt changed, so it is safe to
run any number of times.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".leadpilot-install-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install leadpilot with its pinned dependencies, once."""
    if sys.version_info < (3, 11):
        sys.exit(f"leadpilot needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    wanted = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted and PY.exists():
        return
    if not PY.exists():
        print("[dev] creating virtualenv .venv", flush=True)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        except (OSError, subprocess.CalledProcessError) as exc:
            sys.exit(
                f"[dev] could not create a virtualenv with pip ({exc}).\n"
                "      On Debian/Ubuntu install it with: apt-get install python3-venv"
            )
    print("[dev] installing leadpilot and pinned dependencies (first run takes a minute)", flush=True)
    cmd = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q",
           "-c", str(ROOT / "constraints.txt"), "-e", f"{ROOT}[test]"]
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        sys.exit("[dev] pip install failed; read the message above (network to PyPI needed).")
    STAMP.write_text(wanted)


def run(args: list[str]) -> int:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return subprocess.call(args, cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in {"demo", "test", "lock"}:
        print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
        return 2
    ensure_venv()
    if command == "demo":
        return run([str(BIN / "leadpilot"), "demo", *rest])
    if command == "test":
        return run([str(PY), "-m", "pytest", *rest])
    frozen = subprocess.run([str(PY), "-m", "pip", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    header = ("# Pinned versions for reproducible installs: dev.py and CI install with "
              "'-c constraints.txt'.\n# Regenerate: python3 dev.py lock\n")
    (ROOT / "constraints.txt").write_text(header + frozen)
    print("[dev] constraints.txt re-pinned")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
