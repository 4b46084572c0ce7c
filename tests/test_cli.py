"""The command line keeps one style: every command has --help with an example; version; exit codes."""
from __future__ import annotations

import argparse

import pytest

from daemon import __version__
from daemon.cli import build_parser, main


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = []
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    for action in subs:
        for name, child in action.choices.items():
            found += leaves(child, (*path, name))
    return found


COMMANDS = leaves(build_parser())


def test_the_product_has_its_commands() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    expected = {"demo", "run", "status", "config check", "config show", "db upgrade", "db current", "generate",
                "load", "train", "evaluate", "score", "models list", "models show", "models promote",
                "models rollback", "kpi", "roi", "crm check", "crm setup", "sandbox serve"}
    assert expected <= names, sorted(expected - names)


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example(path: tuple[str, ...], parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()
    assert "example:" in text, f"leadpilot {' '.join(path)} --help has no example"
    example = text.split("example:", 1)[1].strip().splitlines()[0]
    assert example.startswith("leadpilot ") or "leadpilot " in example


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"leadpilot {__version__}"


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["fly"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: leadpilot" in capsys.readouterr().out


def test_run_without_connectors_says_what_to_do(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "lp.yaml"
    config.write_text(f"state_dir: {tmp_path}\n")
    assert main(["run", "--once", "-c", str(config)]) == 2
    assert "no connectors configured" in capsys.readouterr().err
