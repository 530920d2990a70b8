"""Who may call ``/api`` (and read ``/metrics``): the bearer ``APP_TOKEN``, checked before a byte of the body
is read, or, for one episode's audio, a short-lived signed link that an ``<audio>`` element can use (it cannot
send headers).

A link is ``/api/podcasts/episodes/<id>/audio?expires=<unix time>&signature=<hex>``, the signature an
HMAC-SHA256 of ``<id>:<expires>`` under a key derived from ``APP_TOKEN``: valid for that episode only,
until it expires, and void as soon as the token changes.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from app.settings import Secret

AUDIO_LINK_SECONDS = 6 * 3600  # long enough to listen to an episode, seeking included
GUARDED = ("/api/", "/metrics")
AUDIO_PATH = re.compile(r"^/api/podcasts/episodes/(?P<id>[^/]+)/audio$")
bearer = HTTPBearer(auto_error=False, description="APP_TOKEN, when the deployment sets one")  # in /openapi.json


def _key(token: Secret) -> bytes:
    return _derived_key(token.get_secret_value())


@functools.lru_cache(maxsize=2)  # the token in use (and the one before a rotation): a listing signs a link each
def _derived_key(token: str) -> bytes:
    return hmac.new(token.encode(), b"ephitup audio links v1", hashlib.sha256).digest()


def _signature(token: Secret, episode_id: str, expires: int) -> str:
    return hmac.new(_key(token), f"{episode_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def audio_link(episode_id: str, token: Secret | None, now: float | None = None) -> str:
    """The URL a client plays an episode from: signed when the API needs a token."""
    path = f"/api/podcasts/episodes/{episode_id}/audio"
    if token is None:
        return path
    expires = int(now if now is not None else time.time()) + AUDIO_LINK_SECONDS
    return f"{path}?expires={expires}&signature={_signature(token, episode_id, expires)}"


def signed_link_holds(token: Secret, episode_id: str, query: str, now: float | None = None) -> bool:
    values = parse_qs(query)
    expires, signature = values.get("expires", [""])[0], values.get("signature", [""])[0]
    if not re.fullmatch(r"[0-9]{1,12}", expires) or int(expires) < (now if now is not None else time.time()):
        return False
    # Bytes, not text: compare_digest refuses non-ASCII text (a signature of %C3%A9 answered 500).
    return hmac.compare_digest(signature.encode(), _signature(token, episode_id, int(expires)).encode())


def bearer_holds(token: Secret, authorization: str) -> bool:
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.get_secret_value().encode())


LINGER_SECONDS = 2.0  # nginx's lingering close: a refused client gets this long to finish sending, unread


async def _linger(receive: Receive) -> None:
    """Read and drop what a refused client is still sending, for a moment, before the connection closes: a
    socket closed with unread data is reset, and the client then never reads the 401 it was sent."""
    import anyio

    with anyio.move_on_after(LINGER_SECONDS):
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return


class TokenGate:
    """ASGI middleware: an ``/api`` request without a valid token is answered 401 before its body is read."""

    def __init__(self, app: ASGIApp, token: Callable[[], Secret | None]) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = self.token() if scope["type"] == "http" and scope["path"].startswith(GUARDED) else None
        if token is None or self._admitted(scope, token):
            return await self.app(scope, receive, send)
        refusal = JSONResponse({"detail": "missing or wrong bearer token (Authorization: Bearer <APP_TOKEN>), "
                                          "or an expired audio link"},
                               status_code=401, headers={"WWW-Authenticate": "Bearer", "Connection": "close"})
        # The whole answer first, then a moment to drain what the client still sends, then the end: uvicorn closes
        # the connection at the end of a Connection: close answer, and a close with unread data is a reset.
        await send({"type": "http.response.start", "status": refusal.status_code, "headers": refusal.raw_headers})
        await send({"type": "http.response.body", "body": refusal.body, "more_body": True})
        await _linger(receive)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


    @staticmethod
    def _admitted(scope: Scope, token: Secret) -> bool:
        headers = dict(scope["headers"])
        if bearer_holds(token, headers.get(b"authorization", b"").decode("latin-1")):
            return True
        audio = AUDIO_PATH.match(scope["path"])
        return bool(audio) and scope["method"] in ("GET", "HEAD") and signed_link_holds(
            token, audio["id"], scope.get("query_string", b"").decode("latin-1"))  # type: ignore[index]
