"""The CLI's shape: each command declared beside its handler, loaded only when it runs, flags per direction."""

from __future__ import annotations

import importlib
import subprocess
import sys
from dataclasses import is_dataclass
from typing import get_type_hints

import pytest

from scripts.cli import COMMANDS, main
from tests.support.paths import ROOT


@pytest.mark.parametrize("argv", [["migrate", "to-local", "--keep-local"], ["migrate", "to-s3", "--delete-remote"],
                                  ["migrate", "to-scaled", "--keep-local"], ["outputs", "import", "--stack", "dev",
                                                                             "extra"]])
def test_a_flag_meant_for_another_direction_is_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(argv)
    assert refused.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err


def test_every_command_module_registers_a_handler_that_takes_a_frozen_dataclass() -> None:
    for name in COMMANDS:
        module = importlib.import_module(f"scripts.commands.{name.replace('-', '_')}")
        handlers = [f for f in vars(module).values() if callable(f) and getattr(f, "__module__", "") == module.__name__
                    and not isinstance(f, type) and f.__name__ not in ("register",) and not f.__name__.startswith("_")]
        typed = [get_type_hints(f).get("options") for f in handlers]
        assert any(t is not None and is_dataclass(t) and t.__dataclass_params__.frozen for t in typed), name


def test_only_the_command_that_runs_is_imported() -> None:
    code = ("import sys; from scripts.cli import main\n"
            "try:\n    main(['contract', '--check'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('scripts.commands.')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "['scripts.commands.contract']"


def test_help_lists_every_command_and_version_answers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as shown:
        main(["--help"])
    out = capsys.readouterr().out
    assert shown.value.code == 0 and all(name in out for name in COMMANDS) and "Exit codes: 0 ok" in out
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("ephitup ")


def test_migrate_help_shows_each_direction_with_its_own_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["migrate", "to-s3", "--help"])
    assert "--keep-local" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["migrate", "to-local", "--help"])
    out = capsys.readouterr().out
    assert "--delete-remote" in out and "--keep-local" not in out
