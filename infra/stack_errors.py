"""A stack key's validation error as the one line an operator reads (``ephitup render``, the program)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError
from pydantic.fields import FieldInfo


def explain(stack: str, error: ValidationError, keys: Mapping[str, FieldInfo]) -> str:
    """One line: the stack, the key, the bad value, what is expected, and the ``pulumi config set`` that fixes it."""
    problem = error.errors()[0]
    if not problem["loc"]:  # a check across keys words its own message
        return str(problem["msg"]).removeprefix("Value error, ")
    name = str(problem["loc"][0])
    context = problem.get("ctx") or {}
    extra = keys[name].json_schema_extra if name in keys else None
    hint = extra.get("expected") if isinstance(extra, dict) else None
    if hint:
        expected = str(hint)
    elif problem["type"] == "literal_error":
        expected = f"one of {context.get('expected', '')}".replace("'", "")
    elif problem["type"] == "greater_than_equal":
        expected = f"a number of at least {context['ge']}"
    elif problem["type"] == "greater_than":
        expected = f"a number greater than {context['gt']}"
    elif problem["type"] == "less_than_equal":
        expected = f"a number of at most {context['le']}"
    elif problem["type"].startswith("float_"):
        expected = "a number"
    elif problem["type"].startswith("int_"):
        expected = "a whole number"
    elif problem["type"].startswith("bool"):
        expected = "true or false"
    else:
        expected = str(context.get("error", problem["msg"])).removeprefix("Value error, ")
    return (f"stack {stack}: {name}={problem.get('input')!r} is invalid: expected {expected} "
            f"(fix: pulumi config set {name} <value> -s {stack})")
