"""``GET /health``: what Render's health check and people read.

Anyone gets the status and the problems (no ARN, no bucket name); the storage settings and the pending
episodes' ids need the ``APP_TOKEN`` as a bearer token, where one is set. 503 only where serving here
would do harm (``Problem.stops_traffic``): Render then stops routing to this instance.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.access import bearer_holds
from app.api.deps import RuntimeDep
from app.api.models import HealthOut, PendingOut, ProblemOut, StorageOut, errors
from app.health import redacted

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, response_model_exclude_none=True,
            responses={503: {"model": HealthOut, "description": "serving here would do harm: Render stops routing "
                                                                "to this instance"}})
def get_health(rt: RuntimeDep, request: Request) -> JSONResponse:
    problems = rt.watch.problems()
    token = rt.settings.app_token
    trusted = token is None or bearer_holds(token, request.headers.get("authorization", ""))
    status: Literal["ok", "degraded", "error"] = \
        "error" if any(p.severity == "error" for p in problems) else "degraded" if problems else "ok"
    report = HealthOut(status=status, problems=[
        ProblemOut(severity=p.severity, message=p.message if trusted else redacted(p.message)) for p in problems])
    if trusted:
        count = rt.watch.pending_count  # read by problems() just now
        report.storage = StorageOut(mode=rt.settings.storage.mode, settings=rt.settings.public())
        report.pending_uploads = PendingOut(count=count, episodes=rt.records.oldest_pending_ids(20))
    return JSONResponse(report.model_dump(exclude_none=True),
                        status_code=503 if any(p.stops_traffic for p in problems) else 200)


@router.get("/metrics", response_class=Response, responses={
    200: {"description": "Prometheus' text format", "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
    **errors(401)})
def get_metrics(rt: RuntimeDep) -> Response:
    """Prometheus' text format; behind the ``APP_TOKEN`` where one is set."""
    return Response(rt.metrics.text(), media_type=CONTENT_TYPE_LATEST)
