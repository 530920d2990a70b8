"""Locked builds: the locks match pyproject.toml, an edit makes them stale (and says the fix), and what `make`
installed is exactly what requirements-dev.lock pins."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from scripts.cli import main
from scripts.commands.lock import LOCKS, is_current
from tests.support.paths import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", re.MULTILINE)


def test_the_committed_locks_match_pyproject(capsys) -> None:  # type: ignore[no-untyped-def]
    assert all(is_current(ROOT / name) for name in LOCKS)
    assert main(["lock", "--check"]) == 0


def test_an_edit_to_pyproject_makes_both_locks_stale_and_the_check_says_the_fix(tmp_path: Path, capsys,
                                                                              monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("pyproject.toml", *LOCKS):
        shutil.copy(ROOT / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"jinja2>=3.1",', '"jinja2>=3.1", "rich>=13",'))
    monkeypatch.chdir(tmp_path)
    assert main(["lock", "--check"]) == 1
    error = capsys.readouterr().err
    assert "requirements.lock is stale: run `make lock` and commit it" in error
    assert "requirements-dev.lock is stale" in error


def test_make_installed_exactly_the_locked_versions() -> None:
    pins = dict(PIN.findall((ROOT / "requirements-dev.lock").read_text()))
    assert len(pins) > 100
    installed = {}
    for name in pins:
        try:
            installed[name] = version(name)
        except PackageNotFoundError:
            installed[name] = None
    assert {name: v for name, v in installed.items() if v != pins[name]} == {}


def test_the_apps_lock_pins_what_the_dev_lock_pins_so_run_and_test_share_one_venv() -> None:
    app, dev = (dict(PIN.findall((ROOT / name).read_text())) for name in ("requirements.lock", "requirements-dev.lock"))
    assert 20 < len(app) < len(dev) and {name: (pin, dev.get(name)) for name, pin in app.items()
                                         if dev.get(name) != pin} == {}


def test_make_run_installs_only_the_apps_lock_and_make_test_the_rest(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml", *LOCKS):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").touch()  # make's prerequisite; -n runs nothing anyway

    def installs(target: str) -> list[str]:
        plan = subprocess.run(["make", "-n", target], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
        return re.findall(r"--require-hashes -r (\S+)", plan)

    assert installs("run") == ["requirements.lock"]
    assert installs("test") == ["requirements-dev.lock"]
