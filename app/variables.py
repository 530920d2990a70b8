"""How one environment variable of the app's contract is declared (``env``) and read (``Variable``).

The parsing is a few pure steps (choices, a parser, bounds), each failure a ``SettingsError`` that names
the variable, the value and what would be accepted; credentials are kept in ``Secret``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, overload

Blueprint = Literal["value", "sync", "generate", "platform", "absent", "database"]
AwsAuth = Literal["accessKey", "oidc"]
T = TypeVar("T")


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


class Choice(Generic[T]):
    """A parser for one of a few words, matched without regard to case: ``Choice[Mode](get_args(Mode))``, so that
    the field's type is the ``Literal`` itself."""

    def __init__(self, words: tuple[str, ...]) -> None:
        self.words = words

    def __call__(self, text: str) -> T:
        if text.lower() not in self.words:
            raise ValueError(text)
        return text.lower()  # type: ignore[return-value]  # one of the Literal's words, checked above


@dataclass(frozen=True)
class Variable:
    """One environment variable of the contract, and how its text becomes the field's value.

    ``default`` is as the contract states it (``"./data"``, ``3.0``); ``parse`` turns the text into the value
    (a ``Choice`` for one of a few words); ``ge``, ``gt``, ``le`` bound a number; ``auth``: the variable belongs
    to one way of getting AWS credentials only (a stack's ``awsAuth``)."""

    name: str
    default: Any
    meaning: str
    parse: Callable[[str], Any] = str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    blueprint: Blueprint = "value"
    s3_only: bool = False
    auth: AwsAuth | None = None
    cdn_only: bool = False  # only for stacks with ephitup:cdn on
    tunable: bool = False  # an operator sets it per environment: a stack key of its own (ephitup:maxUploadMb)

    @property
    def stack_key(self) -> str | None:
        """``MAX_UPLOAD_MB`` -> ``maxUploadMb``: the stack key that sets a tunable variable."""
        if not self.tunable:
            return None
        first, *rest = self.name.lower().split("_")
        return first + "".join(word.capitalize() for word in rest)

    @property
    def kind(self) -> str:
        """The value's type for other readers of the contract: int, float, choice, secret or string."""
        if self.choices:
            return "choice"
        return {int: "int", float: "float", Secret: "secret"}.get(self.parse, "string")  # type: ignore[call-overload]

    @property
    def secret(self) -> bool:
        return self.parse is Secret

    @property
    def choices(self) -> tuple[str, ...]:
        return self.parse.words if isinstance(self.parse, Choice) else ()

    def value(self, text: str | None) -> Any:
        """The value of ``text`` (stripped; ``None``: unset, the default); a ``SettingsError`` naming the variable,
        the value and what would be accepted."""
        if text is None:
            return self.parse(self.default) if isinstance(self.default, str) else self.default
        try:
            value = self.parse(text)
        except ValueError:
            if self.choices:
                raise SettingsError(f"{self.name}={text!r} is not one of {', '.join(self.choices)}") from None
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


@overload
def env(name: str, default: None, meaning: str, *, parse: Callable[[str], T], **rules: Any) -> T | None: ...


@overload
def env(name: str, default: T | str, meaning: str, *, parse: Callable[[str], T], **rules: Any) -> T: ...


def env(name: str, default: Any, meaning: str, *, parse: Callable[[str], T], **rules: Any) -> Any:
    """One field of ``Settings``: the environment variable ``name`` (``rules``: see ``Variable``).

    Typed by its parser, so that mypy checks each field: a ``None`` default makes it optional; a text default
    is parsed like the environment's text (``"./data"`` for a ``Path``)."""
    return field(metadata={"variable": Variable(name, default, meaning, parse, **rules)})
