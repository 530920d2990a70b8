"""Files generated from a model and committed (``env_contract.json``, ``Pulumi.yaml``): written, or checked."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from scripts.exit_codes import Exit


def write_or_check(path: Path, is_current: Callable[[], bool], write: Callable[[], None], check: bool) -> int:
    """``check``: exit 1 when the committed file is stale, saying the command that fixes it; else write it."""
    if check:
        if is_current():
            print(f"{path.name} is up to date")
            return Exit.OK
        print(f"ephitup contract: {path} is stale: run `ephitup contract` and commit it", file=sys.stderr)
        return Exit.FAILED
    write()
    print(f"wrote {path}")
    return Exit.OK
