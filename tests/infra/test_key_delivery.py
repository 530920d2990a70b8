"""Key delivery's provider (create, diff, update, delete) against a stand-in of Render's API on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import infra.render_api
from infra.key_delivery import KeyDeliveryProvider
from infra.render_api import RenderApiError
from tests.support.render_stand_in import Fault, RenderState, render_stand_in

API_KEY = "rnd_StandInApiKey0123456789"
PAIR = {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
NEW_PAIR = {"access_key_id": "AKIAI44QH8DHBEXAMPLE", "secret_access_key": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"}
PROPS = {"service_name": "ephitup-prod", "service_id": "", **PAIR}
DELIVERED = {**PROPS, "delivered_to": "srv-prod1"}  # the state after a delivery


@pytest.fixture
def render(monkeypatch: pytest.MonkeyPatch) -> Iterator[RenderState]:
    with render_stand_in(API_KEY) as (state, url):
        state.add_service("srv-prod1", "ephitup-prod")
        state.add_service("srv-dev1", "ephitup-dev")
        monkeypatch.setenv("RENDER_API_URL", url)
        monkeypatch.setenv("RENDER_API_KEY", API_KEY)
        yield state


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every pause the client takes, taken at once."""
    taken: list[float] = []
    monkeypatch.setattr(infra.render_api, "pause", taken.append)
    return taken


def env_of(render: RenderState, service_id: str = "srv-prod1") -> dict[str, str]:
    return render.services[service_id]["env"]  # type: ignore[no-any-return]


def test_create_finds_the_service_by_name_sets_both_keys_and_waits_for_the_deploy(render, waits) -> None:
    result = KeyDeliveryProvider().create(dict(PROPS))
    assert result.id == "srv-prod1" and result.outs["delivered_to"] == "srv-prod1"
    assert env_of(render) == {"AWS_ACCESS_KEY_ID": PAIR["access_key_id"],
                              "AWS_SECRET_ACCESS_KEY": PAIR["secret_access_key"]}
    assert env_of(render, "srv-dev1") == {}
    assert render.calls[-3:] == [("POST", "/v1/services/srv-prod1/deploys"),
                                 ("GET", "/v1/services/srv-prod1/deploys/dep-1"),
                                 ("GET", "/v1/services/srv-prod1/deploys/dep-1")]  # until live


def test_a_configured_service_id_is_used_without_a_lookup(render, waits) -> None:
    KeyDeliveryProvider().create({**PROPS, "service_id": "srv-dev1"})
    assert ("GET", "/v1/services") not in render.calls and env_of(render, "srv-dev1")


def test_diff_sees_a_new_key_and_nothing_else() -> None:
    provider = KeyDeliveryProvider()
    assert not provider.diff("srv-prod1", dict(DELIVERED), dict(PROPS)).changes
    diff = provider.diff("srv-prod1", dict(DELIVERED), {**PROPS, **NEW_PAIR})
    assert diff.changes and not diff.replaces  # an update in place: the old key goes only after it


def test_update_pushes_the_new_pair_and_deploys_it(render, waits) -> None:
    provider = KeyDeliveryProvider()
    created = provider.create(dict(PROPS))
    provider.update(created.id, created.outs, {**PROPS, **NEW_PAIR})
    assert env_of(render)["AWS_ACCESS_KEY_ID"] == NEW_PAIR["access_key_id"]
    assert [call for call in render.calls if call[0] == "POST"] == [("POST", "/v1/services/srv-prod1/deploys")] * 2


def test_delete_removes_both_keys_and_tolerates_ones_already_gone(render, waits) -> None:
    provider = KeyDeliveryProvider()
    created = provider.create(dict(PROPS))
    del env_of(render)["AWS_SECRET_ACCESS_KEY"]  # removed by hand meanwhile
    provider.delete(created.id, created.outs)
    assert env_of(render) == {}


def test_a_refused_api_key_is_a_clear_error(render, waits, monkeypatch) -> None:
    monkeypatch.setenv("RENDER_API_KEY", "rnd_wrong")
    with pytest.raises(RenderApiError, match=r"refused the API key \(401\).*RENDER_API_KEY") as error:
        KeyDeliveryProvider().create(dict(PROPS))
    assert error.value.status == 401 and waits == []  # not retried


def test_an_api_key_from_the_stack_is_used_when_the_shell_has_none(render, waits, monkeypatch) -> None:
    monkeypatch.delenv("RENDER_API_KEY")
    assert KeyDeliveryProvider().create({**PROPS, "api_key": API_KEY}).id == "srv-prod1"
    assert not KeyDeliveryProvider().diff("srv-prod1", {**DELIVERED, "api_key": API_KEY},
                                          {**PROPS, "api_key": "rnd_rotated"}).changes  # no redeploy for it


def test_a_missing_api_key_says_where_to_get_one(monkeypatch) -> None:
    monkeypatch.delenv("RENDER_API_KEY", raising=False)
    with pytest.raises(RenderApiError, match="RENDER_API_KEY is not set.*deliverKeys false"):
        KeyDeliveryProvider().create(dict(PROPS))


def test_an_unknown_service_id_is_a_clear_error(render, waits) -> None:
    with pytest.raises(RenderApiError, match=r"no such service \(404\).*renderServiceId"):
        KeyDeliveryProvider().create({**PROPS, "service_id": "srv-gone"})


def test_two_services_of_one_name_are_refused_naming_the_fix(render, waits) -> None:
    render.add_service("srv-prod2", "ephitup-prod")
    with pytest.raises(RenderApiError, match="Render has 2 services named 'ephitup-prod'.*renderServiceId"):
        KeyDeliveryProvider().create(dict(PROPS))
    assert not env_of(render) and not env_of(render, "srv-prod2")


def test_a_service_render_has_not_created_yet_is_waited_for_and_served_at_the_next_up(render, waits) -> None:
    """A stack's first `pulumi up` precedes its service (the blueprint renders it once its outputs exist)."""
    provider, props = KeyDeliveryProvider(), {**PROPS, "service_name": "ephitup-staging"}
    created = provider.create(dict(props))
    assert created.outs["delivered_to"] == "" and not [call for call in render.calls if call[0] != "GET"]
    assert provider.diff(created.id, created.outs, dict(props)).changes  # the next `pulumi up` tries again
    provider.delete(created.id, created.outs)  # nothing was delivered: nothing to remove, no call
    render.add_service("srv-staging1", "ephitup-staging")  # Render synced the blueprint
    updated = provider.update(created.id, created.outs, dict(props))
    assert updated.outs["delivered_to"] == "srv-staging1" and env_of(render, "srv-staging1")["AWS_ACCESS_KEY_ID"]
    assert not provider.diff(created.id, updated.outs, dict(props)).changes


def test_429_waits_as_long_as_retry_after_says(render, waits) -> None:
    render.faults[:] = [Fault(429, {"Retry-After": "7"}), Fault(429, {"Retry-After": "3"})]
    KeyDeliveryProvider().create(dict(PROPS))
    assert waits[:2] == [7.0, 3.0] and env_of(render)


def test_5xx_is_retried_and_gives_up_with_a_clear_error(render, waits) -> None:
    render.faults[:] = [Fault(503), Fault(502)]
    KeyDeliveryProvider().create(dict(PROPS))
    assert env_of(render) and len(waits) >= 2
    render.faults[:] = [Fault(500)] * infra.render_api.ATTEMPTS
    with pytest.raises(RenderApiError, match=r"Render answered 500"):
        KeyDeliveryProvider().create(dict(PROPS))


def test_a_failed_deploy_keeps_the_old_key_and_says_so(render, waits) -> None:
    provider = KeyDeliveryProvider()
    created = provider.create(dict(PROPS))
    render.deploy_statuses = ("build_in_progress", "build_failed")
    with pytest.raises(RenderApiError, match="ended build_failed: the old key is kept"):
        provider.update(created.id, created.outs, {**PROPS, **NEW_PAIR})


def test_no_secret_reaches_a_log_line_or_an_error(render, waits, caplog, capsys, monkeypatch) -> None:
    caplog.set_level(logging.DEBUG)
    provider = KeyDeliveryProvider()
    messages: list[str] = []
    created = provider.create(dict(PROPS))
    provider.update(created.id, created.outs, {**PROPS, **NEW_PAIR})
    for fault in (Fault(401), Fault(404), Fault(429), Fault(500)):
        render.faults[:] = [fault] * infra.render_api.ATTEMPTS
        with pytest.raises(RenderApiError) as error:
            provider.update(created.id, created.outs, {**PROPS, **NEW_PAIR})
        messages.append(str(error.value))
    provider.delete(created.id, created.outs)
    seen = caplog.text + "".join(capsys.readouterr()) + "\n".join(messages)
    assert "Render" in "\n".join(messages)
    for secret in (API_KEY, PAIR["secret_access_key"], NEW_PAIR["secret_access_key"]):
        assert secret not in seen
