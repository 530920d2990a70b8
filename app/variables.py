"""How one environment variable of the app's contract is declared (``env``) and read (``Variable``).

The parsing is a few pure steps (choices, a parser, bounds), each failure a ``SettingsError`` that names
the variable, the value and what would be accepted; credentials are kept in ``Secret``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Blueprint = Literal["value", "sync", "generate", "platform", "absent", "database"]
AwsAuth = Literal["accessKey", "oidc"]


class SettingsError(ValueError):
    """The environment cannot be run as configured; the message names the variable and the fix."""


class Secret:
    """A credential: ``**********`` wherever it is shown (repr, str, logs); ``get_secret_value()`` reveals it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def is_true(text: str) -> bool:
    """Render sets ``RENDER=true`` on its hosts; any other value is false."""
    return text.lower() == "true"


@dataclass(frozen=True)
class Variable:
    """One environment variable of the contract, and how its text becomes the field's value.

    ``default`` is as the contract states it (``"./data"``, ``3.0``); ``choices`` are matched without regard
    to case; ``ge``, ``gt``, ``le`` bound a number; ``auth``: the variable belongs to one way of getting AWS
    credentials only (a stack's ``awsAuth``)."""

    name: str
    default: Any
    meaning: str
    parse: Callable[[str], Any] = str
    choices: tuple[str, ...] = ()
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    blueprint: Blueprint = "value"
    s3_only: bool = False
    auth: AwsAuth | None = None

    @property
    def secret(self) -> bool:
        return self.parse is Secret

    def value(self, text: str | None) -> Any:
        """The value of ``text`` (stripped; ``None``: unset, the default); a ``SettingsError`` naming the variable,
        the value and what would be accepted."""
        if text is None:
            return self.parse(self.default) if isinstance(self.default, str) else self.default
        if self.choices:
            if text.lower() not in self.choices:
                raise SettingsError(f"{self.name}={text!r} is not one of {', '.join(self.choices)}")
            return text.lower()
        try:
            value = self.parse(text)
        except ValueError:
            kind = "number" if self.parse in (int, float) else "valid value"
            raise SettingsError(f"{self.name}={text!r} is not a {kind}") from None
        broken = self._broken_bound(value)
        if broken:
            raise SettingsError(f"{self.name}={text!r} must be {broken}")
        return value

    def _broken_bound(self, value: Any) -> str | None:
        if self.ge is not None and not value >= self.ge:
            return f"at least {self.ge:g}"
        if self.gt is not None and not value > self.gt:
            return f"greater than {self.gt:g}"
        if self.le is not None and not value <= self.le:
            return f"at most {self.le:g}"
        return None


def env(name: str, default: Any, meaning: str, **rules: Any) -> Any:
    """One field of ``Settings``: the environment variable ``name`` (``rules``: see ``Variable``)."""
    return field(metadata={"variable": Variable(name, default, meaning, **rules)})
