"""Files generated from a model and committed (``env_contract.json``, ``Pulumi.yaml``, the dependency locks):
written, or checked."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from scripts.exit_codes import Exit


def write_or_check(path: Path, is_current: Callable[[], bool], write: Callable[[], None], check: bool,
                   fix: str = "ephitup contract") -> int:
    """``check``: exit 1 when the committed file is stale, saying the command that fixes it (``fix``); else write."""
    if check:
        if is_current():
            print(f"{path.name} is up to date")
            return Exit.OK
        print(f"ephitup: {path} is stale: run `{fix}` and commit it", file=sys.stderr)
        return Exit.FAILED
    write()
    print(f"wrote {path}")
    return Exit.OK
