"""``ephitup verify``: smoke-test the configured S3 with the app's own credentials and code path."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from app.runtime import s3_storage
from app.settings import Settings
from scripts.arguments import bind, describe
from scripts.canary import Canary
from scripts.exit_codes import Exit


@dataclass(frozen=True)
class VerifyOptions:
    prefix: str


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Upload a canary with a checksum, HEAD it, read a range, fetch a presigned URL, check that an "
             "unsigned GET is refused, delete it. Reads the app's environment.")
    parser.add_argument("--prefix", default="uploads/.ephitup-verify/",
                        help="where the canary goes; a prefix the app may write (default: %(default)s)")
    bind(parser, verify, VerifyOptions)


def verify(options: VerifyOptions) -> int:
    """Upload a canary, HEAD it, read a range, fetch a presigned URL, delete it; check unsigned GETs fail."""
    settings = Settings.from_env()
    canary = Canary(settings, s3_storage(settings), options.prefix)
    print(f"ephitup verify: {canary.storage.reference(canary.key)} ({canary.storage.name})")
    steps = canary.all()
    failed = [s for s in steps if not s.ok]
    print(f"\n{'FAILED: ' + ', '.join(s.name for s in failed) if failed else 'all checks passed'}")
    if failed and failed[0].unreachable:
        return Exit.UNAVAILABLE
    return Exit.FAILED if failed else Exit.OK
