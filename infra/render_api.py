"""The few calls of Render's public API that deliver a key pair to a service, on ``httpx``.

Render's Python SDK (PyPI ``render``) covers workflows; the rest of the public API is only its generated
``Client.internal``, an attribute it does not document as an interface. So this is a small client with
Render's documented paths and payloads (https://api-docs.render.com): ``GET /v1/services?name=``,
``PUT /v1/services/{serviceId}/env-vars/{envVarKey}`` with ``{"value": ...}``,
``DELETE`` of the same, ``POST /v1/services/{serviceId}/deploys`` and
``GET /v1/services/{serviceId}/deploys/{deployId}``.

The API key is read from ``RENDER_API_KEY`` at call time, so it never enters Pulumi's state. Errors
name the call, the status and the fix; they never carry the key or a value sent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import httpx

API_URL = "https://api.render.com/v1"
ATTEMPTS = 5  # per call, for 429 and 5xx
LONGEST_WAIT = 30.0  # seconds: a Retry-After above this is cut to it
LIVE = "live"
FAILED_DEPLOY = {"build_failed", "update_failed", "canceled", "pre_deploy_failed", "deactivated"}


class RenderApiError(RuntimeError):
    """Render refused or failed a call; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class RenderApi:
    def __init__(self, api_key: str | None = None, base_url: str | None = None,
                 sleep: Callable[[float], None] | None = None, timeout: float = 30.0) -> None:
        key = api_key or os.environ.get("RENDER_API_KEY", "")
        if not key:
            raise RenderApiError("RENDER_API_KEY is not set: create an API key in Render (Account Settings > API "
                                 "Keys) and export it before `pulumi up` (or `pulumi config set --secret "
                                 "ephitup:renderApiKey`), or set ephitup:deliverKeys false")
        self._http = httpx.Client(base_url=base_url or os.environ.get("RENDER_API_URL", API_URL), timeout=timeout,
                                  headers={"Authorization": f"Bearer {key}", "Accept": "application/json"})
        self._sleep = sleep or pause

    def __enter__(self) -> RenderApi:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def service_id(self, name: str) -> str | None:
        """The id of the one service called ``name`` (Render names are unique per workspace); None when Render
        has none yet (its blueprint is committed after the stack's first ``pulumi up``)."""
        found = [item["service"] for item in self._call("GET", "/services", "find the service",
                                                        params={"name": name, "limit": 20}).json()]
        exact = [service["id"] for service in found if service.get("name") == name]
        if len(exact) > 1:
            raise RenderApiError(f"Render has {len(exact)} services named {name!r}: set ephitup:renderServiceId "
                                 "to the srv- id of the one to deliver to", 409)
        return exact[0] if exact else None

    def set_env_var(self, service_id: str, key: str, value: str) -> None:
        self._call("PUT", f"/services/{service_id}/env-vars/{key}", f"set {key} on {service_id}",
                   json={"value": value})

    def delete_env_var(self, service_id: str, key: str) -> None:
        """Remove ``key``; one that is not there is already removed."""
        try:
            self._call("DELETE", f"/services/{service_id}/env-vars/{key}", f"remove {key} from {service_id}")
        except RenderApiError as error:
            if error.status != 404:
                raise

    def deploy(self, service_id: str) -> str:
        """Start a deploy (so the service runs with its new variables); its id."""
        return self._call("POST", f"/services/{service_id}/deploys", f"deploy {service_id}",  # type: ignore[no-any-return]
                          json={"clearCache": "do_not_clear"}).json()["id"]

    def wait_until_live(self, service_id: str, deploy_id: str, timeout: float = 900, every: float = 5) -> None:
        """Block until the deploy serves traffic; a failed deploy (or no answer in time) is an error."""
        deadline = time.monotonic() + timeout
        while True:
            status = self._call("GET", f"/services/{service_id}/deploys/{deploy_id}",
                                f"read deploy {deploy_id}").json()["status"]
            if status == LIVE:
                return
            if status in FAILED_DEPLOY:
                raise RenderApiError(f"deploy {deploy_id} of {service_id} ended {status}: the old key is kept; "
                                     "see the deploy's logs in Render, then run pulumi up again")
            if time.monotonic() > deadline:
                raise RenderApiError(f"deploy {deploy_id} of {service_id} was not live after {timeout:.0f}s "
                                     f"(status {status}): the old key is kept; run pulumi up again once it is")
            self._sleep(every)

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """One call with retries: 429 after its Retry-After, 5xx and no answer with backoff."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as error:
                if attempt == ATTEMPTS:
                    raise RenderApiError(f"Render's API did not answer to {what} ({type(error).__name__})") from None
                self._sleep(min(2.0 ** attempt, LONGEST_WAIT))
                continue
            if response.status_code < 400:
                return response
            if (response.status_code == 429 or response.status_code >= 500) and attempt < ATTEMPTS:
                self._sleep(_retry_after(response, attempt))
                continue
            raise RenderApiError(_refusal(response.status_code, what), response.status_code)
        raise AssertionError("unreachable")


def pause(seconds: float) -> None:
    """How the client waits between attempts and polls (one name, so a test can make it instant)."""
    time.sleep(seconds)


def _retry_after(response: httpx.Response, attempt: int) -> float:
    header = response.headers.get("retry-after", "")
    seconds = float(header) if header.replace(".", "", 1).isdigit() else 2.0 ** attempt
    return min(seconds, LONGEST_WAIT)


def _refusal(status: int, what: str) -> str:
    if status == 401:
        return f"Render refused the API key (401) to {what}: check RENDER_API_KEY (a key of this workspace)"
    if status == 403:
        return f"Render denied the API key (403) to {what}: the key's user needs access to this service"
    if status == 404:
        return (f"Render found no such service (404) to {what}: check ephitup:renderServiceId, or create the "
                "service from the blueprint first")
    if status == 429:
        return f"Render kept rate-limiting (429) the calls to {what}: wait a minute and run pulumi up again"
    return f"Render answered {status} to {what}: try again; if it persists, see https://status.render.com"
