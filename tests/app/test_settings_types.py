"""mypy checks each setting's type: ``env()`` is typed by its parser, so a field whose annotation disagrees with
its parser or its default is a type error, not an ``Any`` that passes."""

import subprocess
import sys
from pathlib import Path

PROBE = '''
from dataclasses import dataclass
from pathlib import Path
from app.variables import env

@dataclass(frozen=True)
class Probe:
    folder: Path = env("F", "./data", "a folder", parse=Path)
    limit: int = env("L", 200, "a number", parse=int)
    bucket: str | None = env("B", None, "a name", parse=str)
    wrong_parser: int = env("W", 1, "parsed as text", parse=str)
    wrong_optional: str = env("O", None, "may be unset", parse=str)

reveal_type(env("X", 3.0, "seconds", parse=float))
'''


def test_mypy_sees_each_settings_type(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-incremental", "--ignore-missing-imports",
         str(probe)], capture_output=True, text=True, cwd=root, check=False)
    errors = {int(line.split(":")[1]) for line in result.stdout.splitlines() if ": error:" in line}
    assert errors == {11, 12}, result.stdout  # the two fields whose annotation disagrees, and only those
    assert 'Revealed type is "float"' in result.stdout
