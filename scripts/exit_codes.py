"""The one table of exit codes every ``ephitup`` command uses (the README shows the same table)."""

from enum import IntEnum


class Exit(IntEnum):
    OK = 0  # done, or the check passed
    FAILED = 1  # a check or part of the work failed (a stale file, a failed step or item)
    USAGE = 2  # bad usage or configuration: fix the command line, the environment or the stack file
    UNAVAILABLE = 3  # something it needs is unavailable: S3 unreachable, the port already in use


EXIT_CODES = ("Exit codes: 0 ok, 1 a check or part of the work failed, 2 bad usage or configuration, "
              "3 something it needs is unavailable (S3 unreachable, the port in use).")


class PortInUseError(OSError):
    """The port to serve on is taken (exit 3)."""
