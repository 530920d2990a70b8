"""How one variable's text becomes a value, and how a bad one is refused (``app/variables.py``)."""

import pytest

from app.variables import Choice, Secret, SettingsError, Variable, is_true

PORT = Variable("PORT", 8000, "a port", parse=int, ge=1, le=65535)


def test_unset_takes_the_default_parsed_as_given_text_would_be() -> None:
    assert Variable("DATA", "./data", "a folder", parse=str.upper).value(None) == "./DATA"
    assert PORT.value(None) == 8000


def test_choices_are_matched_without_regard_to_case_and_kept_lower_case() -> None:
    mode = Variable("MODE", "auto", "a mode", parse=Choice(("auto", "s3")))
    assert mode.value("S3") == "s3"
    with pytest.raises(SettingsError, match=r"^MODE='cloud' is not one of auto, s3$"):
        mode.value("cloud")


@pytest.mark.parametrize("text,message", [("lots", "PORT='lots' is not a number"),
                                          ("0", "PORT='0' must be at least 1"),
                                          ("70000", "PORT='70000' must be at most 65535")])
def test_a_bad_number_names_the_variable_the_value_and_the_limit(text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"^{message}$"):
        PORT.value(text)


def test_a_strict_lower_bound_refuses_the_bound_itself() -> None:
    minutes = Variable("MINUTES", 15.0, "minutes", parse=float, gt=0)
    assert minutes.value("0.5") == 0.5
    with pytest.raises(SettingsError, match="must be greater than 0"):
        minutes.value("0")


def test_a_secret_never_shows_its_value() -> None:
    token = Variable("TOKEN", None, "a token", parse=Secret).value("s3cr3t")
    assert token.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(token) + str(token) + f"{token}"
    assert token == Secret("s3cr3t") and token != Secret("other") and len({token, Secret("s3cr3t")}) == 1


def test_only_the_word_true_is_true() -> None:
    assert is_true("TRUE") and not is_true("1") and not is_true("yes")
