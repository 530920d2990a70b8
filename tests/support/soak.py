"""Soak tests run a smaller count by default, to keep `make test` within minutes; `SOAK=1 make test` runs them
in full (`-m soak` selects only them)."""

from __future__ import annotations

import os


def soak_rounds(full: int, default: int) -> int:
    return full if os.environ.get("SOAK") == "1" else default
