"""``ephitup lock``: the dependencies pinned with hashes, so what is deployed and tested is what was locked.

``requirements.lock`` holds what the app runs (Render's build installs it), ``requirements-dev.lock`` everything
``make`` installs (the app, the Pulumi program, the tests); ``uv pip compile --generate-hashes`` writes both, for
Python 3.11 on Linux, as Render and CI run. Each starts with the SHA-256 of ``pyproject.toml``'s dependency
lists, so ``--check`` (part of ``make test``) finds a stale lock offline and names the command that fixes it.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from scripts.arguments import bind, describe
from scripts.generated import write_or_check

# The dev lock is constrained by the app's, so one .venv serves `make run` and `make test` with the same versions.
LOCKS = {"requirements.lock": (), "requirements-dev.lock": ("--all-extras", "--constraints", "requirements.lock")}
STAMP = "# pyproject.toml's dependencies, SHA-256: "
PYTHON = "3.11"


@dataclass(frozen=True)
class LockOptions:
    check: bool


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "requirements.lock (the app, Render's build) and requirements-dev.lock (what make installs), "
             "from pyproject.toml, with hashes.")
    parser.add_argument("--check", action="store_true", help="exit 1 when a lock no longer matches pyproject.toml")
    bind(parser, lock, LockOptions)


def dependencies_digest(pyproject: Path) -> str:
    project = tomllib.loads(pyproject.read_text())["project"]
    declared = {"dependencies": project.get("dependencies", []),
                "optional": project.get("optional-dependencies", {}), "python": PYTHON}
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()


def is_current(path: Path) -> bool:
    expected = STAMP + dependencies_digest(path.parent / "pyproject.toml")
    return path.exists() and path.read_text().splitlines()[0] == expected


def write(path: Path) -> None:
    """One lock, compiled from pyproject.toml beside it, then stamped with its dependencies' digest."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise OSError("uv is not installed: `make .venv/.installed` installs it (a dev dependency)")
    subprocess.run([uv, "pip", "compile", "pyproject.toml", "--generate-hashes", "--python-version", PYTHON,
                    "--python-platform", "linux", "--quiet", "--no-header", *LOCKS[path.name], "-o", path.name],
                   cwd=path.parent, check=True)
    stamp = STAMP + dependencies_digest(path.parent / "pyproject.toml")
    path.write_text(f"{stamp}\n# Written by `make lock` (ephitup lock): do not edit.\n{path.read_text()}")


def lock(options: LockOptions) -> int:
    codes = [write_or_check(path, functools.partial(is_current, path), functools.partial(write, path), options.check,
                            fix="make lock")
             for path in (Path.cwd() / name for name in LOCKS)]
    return max(codes)
