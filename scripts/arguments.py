"""What every command shares on its command line: typed options, and the argument types that refuse by name.

A command's handler takes one frozen dataclass of options, never argparse's ``Namespace``: ``bind`` makes
that dataclass from the parsed flags, field by field, so a flag the dataclass does not declare never reaches
the handler.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import TypeVar

Options = TypeVar("Options")

MAX_CONCURRENCY = 256


def bind(parser: argparse.ArgumentParser, handler: Callable[[Options], int], options: type[Options]) -> None:
    """Run ``handler`` with an ``options`` dataclass made from the flags this parser declared."""
    names = [field.name for field in dataclasses.fields(options)]  # type: ignore[arg-type]

    def run(namespace: argparse.Namespace) -> int:
        return handler(options(**{name: getattr(namespace, name) for name in names}))

    parser.set_defaults(run=run)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def concurrency(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {MAX_CONCURRENCY}")
    return int(text)


def hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 10**6:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours (0 or more)")
    return value


def account(text: str) -> str:
    if not text.isdigit() or len(text) != 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS account id: 12 digits")
    return text


def bucket(text: str) -> str:
    from infra.environment import check_bucket_name

    try:
        return check_bucket_name(text) or ""
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a bucket name: {error}") from None


def port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: a whole number from 1 to 65535")
    return int(text)


def add_stack_options(parser: argparse.ArgumentParser, many: bool) -> None:
    """``--stack`` (one, or repeatable) and ``--outputs [STACK=]FILE``."""
    if many:
        parser.add_argument("--stack", dest="stacks", action="append", help="a stack to render (repeatable; default: "
                            "every Pulumi.<stack>.yaml); several go into one blueprint, grouped by environment")
    else:
        parser.add_argument("--stack", default="dev", help="the stack (default: %(default)s)")
    parser.add_argument("--outputs", action="append", default=[], metavar="[STACK=]FILE",
                        help="that stack's `pulumi stack output --json`, a file or - for stdin (repeatable)")


def add_move_options(parser: argparse.ArgumentParser) -> None:
    """``--dry-run`` and ``--concurrency``, for every command that moves files."""
    parser.add_argument("--dry-run", action="store_true", help="print the plan (counts, bytes, first items); "
                        "change nothing")
    parser.add_argument("--concurrency", type=concurrency, default=32,
                        help=f"files in flight, at most {MAX_CONCURRENCY} (default: %(default)s: enough to keep a "
                        "long link busy; each holds one S3 connection)")


def describe(parser: argparse.ArgumentParser, details: str) -> None:
    """The command's longer description under its one-line summary (``--help``)."""
    parser.description = f"{parser.description or ''} {details}".strip()

