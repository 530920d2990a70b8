"""Listings in pages: a keyset cursor (stable while records come and go, never OFFSET), a bounded page size,
and the next page's URL in a ``Link`` header (RFC 8288, ``rel="next"``), so a client that reads the plain list
gets the first page and a way to the rest."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel

from app.records import Position

DEFAULT_PAGE = 100
MAX_PAGE = 1000


class Keyed(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> float: ...


@dataclass(frozen=True)
class Page:
    after: Position | None
    limit: int


def encode(position: Position) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


def decode(cursor: str) -> Position:
    try:
        created_at, record_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error):
        raise HTTPException(400, f"cursor {cursor[:40]!r} is not one this API gave: start again without it") from None
    if not isinstance(created_at, int | float) or not isinstance(record_id, str):
        raise HTTPException(400, "the cursor is not one this API gave: start again without it")
    return float(created_at), record_id


def page_of(limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="records per page")] = DEFAULT_PAGE,
            cursor: Annotated[str | None, Query(max_length=400, description="from the previous page's Link "
                                                                            "header (rel=next)")] = None) -> Page:
    return Page(decode(cursor) if cursor else None, limit)


PageDep = Annotated[Page, Depends(page_of)]


def page_response(models: Sequence[BaseModel], request: Request, page: Page, records: Sequence[Keyed]) -> Response:
    """The page as JSON, serialized once: its models are validated already (returned as they are, FastAPI
    would validate each again for the route's ``response_model``, which stays for the API's description).
    A full page may have a next one: its URL, keeping the request's other parameters (``user_id``)."""
    headers = {}
    if len(records) == page.limit:
        last = records[-1]
        url = request.url.include_query_params(cursor=encode((last.created_at, last.id)), limit=page.limit)
        headers["Link"] = f'<{url}>; rel="next"'
    body = b"[" + b",".join(model.__pydantic_serializer__.to_json(model) for model in models) + b"]"
    return Response(body, media_type="application/json", headers=headers)
