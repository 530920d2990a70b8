from pathlib import Path

import pytest

from app import contract as contract_module
from app.compat.s3 import is_s3_configured
from app.settings import Settings, SettingsError, contract

FULL = {"S3_BUCKET_NAME": "media", "AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "wJalr-example"}
AP_ARN = "arn:aws:s3:us-east-2:123456789012:accesspoint/ephitup-prod"


def decide(**env: str):  # type: ignore[no-untyped-def]
    return Settings.from_env(env).storage


def test_defaults_follow_the_contract() -> None:
    settings = Settings.from_env({})
    assert settings.data_folder == Path("./data")
    assert settings.storage_mode == "auto"
    assert settings.region == "us-east-2"
    assert settings.audio_delivery == "proxy"
    assert settings.max_upload_bytes == 200 * 1024 * 1024
    assert set(contract()) >= {"DATA_FOLDER", "STORAGE_MODE", "S3_BUCKET_NAME", "S3_ACCESS_POINT",
                                          "S3_REGION", "S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                                          "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AUDIO_DELIVERY",
                                          "APP_TOKEN"}
    assert contract()["AWS_SECRET_ACCESS_KEY"].secret and not contract()["S3_BUCKET_NAME"].secret


def test_the_process_environment_is_read_by_exact_names_with_empty_values_unset(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_UPLOAD_MB", " 7 ")
    monkeypatch.setenv("S3_REGION", "")
    monkeypatch.delenv("DATA_FOLDER", raising=False)
    monkeypatch.setenv("data_folder", "/not/the/contract")
    settings = Settings.from_env()
    assert (settings.max_upload_mb, settings.region, settings.data_folder) == (7, "us-east-2", Path("./data"))


def test_auto_with_nothing_set_is_local_and_quiet() -> None:
    decision = decide()
    assert decision.mode == "local" and decision.problems == ()


def test_auto_with_bucket_and_both_keys_is_s3() -> None:
    assert decide(**FULL).mode == "s3"
    assert is_s3_configured(FULL) and not is_s3_configured({})


@pytest.mark.parametrize("missing", sorted(FULL))
def test_auto_half_set_falls_back_to_local_naming_what_is_missing(missing: str) -> None:
    env = {k: v for k, v in FULL.items() if k != missing}
    decision = decide(**env)
    assert decision.mode == "local"
    assert len(decision.problems) == 1 and missing in decision.problems[0]


def test_explicit_local_wins_over_a_full_s3_config() -> None:
    decision = decide(STORAGE_MODE="local", **FULL)
    assert decision.mode == "local" and decision.problems == ()


def test_explicit_s3_with_a_full_config() -> None:
    assert decide(STORAGE_MODE="s3", **FULL).mode == "s3"


def test_explicit_s3_half_set_is_an_error_naming_every_missing_variable() -> None:
    with pytest.raises(SettingsError) as error:
        decide(STORAGE_MODE="s3", S3_BUCKET_NAME="media")
    assert "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY are not set" in str(error.value)
    assert "STORAGE_MODE=local" in str(error.value)


def test_unknown_mode_names_the_value_and_the_choices() -> None:
    with pytest.raises(SettingsError, match=r"STORAGE_MODE='cloud' is not one of auto, local, s3"):
        Settings.from_env({"STORAGE_MODE": "cloud"})


@pytest.mark.parametrize("name,value", [("MAX_UPLOAD_MB", "lots"), ("MAX_UPLOAD_MB", "0"),
                                        ("AUDIO_DELIVERY", "cdn")])
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_access_point_arn_in_bucket_name_is_understood_as_the_access_point() -> None:
    settings = Settings.from_env({**FULL, "S3_BUCKET_NAME": AP_ARN})
    assert settings.access_point == AP_ARN and settings.bucket_name is None
    assert settings.s3_target == AP_ARN
    decision = settings.storage
    assert decision.mode == "s3"
    assert any("S3_BUCKET_NAME to the real bucket" in p for p in decision.problems)


def test_access_point_beside_bucket_is_the_target_and_the_bucket_stays_the_name() -> None:
    settings = Settings.from_env({**FULL, "S3_ACCESS_POINT": AP_ARN})
    assert settings.s3_target == AP_ARN and settings.bucket_name == "media"
    assert settings.storage.problems == ()


def test_public_settings_never_show_secrets() -> None:
    settings = Settings.from_env({**FULL, "APP_TOKEN": "tok-123", "AWS_SESSION_TOKEN": "FwoGZX-session"})
    shown = repr(settings.public()) + repr(settings)
    for secret in ("wJalr-example", "tok-123", "FwoGZX-session"):
        assert secret not in shown
    assert settings.public()["AWS_SECRET_ACCESS_KEY_set"] is True


def test_the_committed_contract_file_is_generated_from_the_model() -> None:
    assert contract_module.is_current(), "app/env_contract.json is stale: run `ephitup contract` and commit it"


def test_contract_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "env_contract.json"
    stale.write_text(contract_module.contract_text().replace('"MAX_UPLOAD_MB"', '"MAX_UPLOAD_MEGABYTES"'))
    assert not contract_module.is_current(stale)
    contract_module.write(stale)
    assert contract_module.is_current(stale)


def test_the_generated_contract_marks_credentials_secret_and_says_how_render_gets_them() -> None:
    variables = {v["name"]: v for v in contract_module.contract_document()["variables"]}
    assert variables["AWS_SECRET_ACCESS_KEY"] == {
        "name": "AWS_SECRET_ACCESS_KEY", "default": None, "meaning": "secret access key of the app's IAM user",
        "secret": True, "blueprint": "sync", "s3_only": True, "auth": "accessKey", "cdn_only": False,
        "stack_key": None}  # a credential is never a stack key
    assert (variables["CDN_PRIVATE_KEY"]["secret"], variables["CDN_PRIVATE_KEY"]["cdn_only"]) == (True, True)
    assert (variables["AWS_ROLE_ARN"]["blueprint"], variables["AWS_ROLE_ARN"]["auth"]) == ("value", "oidc")
    assert variables["AWS_WEB_IDENTITY_TOKEN_FILE"]["blueprint"] == "platform"  # Render provides the token
    assert variables["S3_CONNECT_TIMEOUT"]["default"] == "3" and variables["DATA_FOLDER"]["default"] == "./data"


def test_an_access_point_with_a_custom_endpoint_is_refused_naming_both() -> None:
    env = {**FULL, "S3_ACCESS_POINT": AP_ARN, "S3_ENDPOINT_URL": "http://127.0.0.1:9000"}
    with pytest.raises(SettingsError, match=r"S3_ACCESS_POINT=arn:.* with S3_ENDPOINT_URL=http://127.0.0.1:9000"):
        decide(**env)
    assert decide(**{**env, "STORAGE_MODE": "local"}).mode == "local"  # irrelevant when S3 is not used


def test_status_refuses_an_access_point_with_a_custom_endpoint(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from scripts.cli import main

    for name, value in {**FULL, "S3_ACCESS_POINT": AP_ARN, "S3_ENDPOINT_URL": "http://127.0.0.1:9000"}.items():
        monkeypatch.setenv(name, value)
    assert main(["status"]) == 2
    assert "S3_ENDPOINT_URL" in capsys.readouterr().err


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"MAX_UPLOAD_MB": "lots", "AUDIO_DELIVERY": "carrier-pigeon", "S3_READ_TIMEOUT": "0"})
    message = str(refused.value)
    assert "MAX_UPLOAD_MB='lots'" in message and "AUDIO_DELIVERY='carrier-pigeon'" in message
    assert "S3_READ_TIMEOUT='0'" in message and "\n" not in message


def test_disk_thresholds_are_checked_against_each_other_when_settings_are_made() -> None:
    with pytest.raises(SettingsError, match="DISK_DEGRADED_PERCENT=99 must be below DISK_ERROR_PERCENT=95"):
        Settings.from_env({"DISK_DEGRADED_PERCENT": "99", "DISK_ERROR_PERCENT": "95"})


def test_the_storage_decision_is_made_with_the_settings() -> None:
    with pytest.raises(SettingsError, match="STORAGE_MODE=s3 but"):
        Settings.from_env({"STORAGE_MODE": "s3"})
    assert Settings.from_env(FULL).storage.mode == "s3"
