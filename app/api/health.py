"""``GET /health``: what Render's health check and people read; 503 only for errors."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import RuntimeDep
from app.api.models import HealthOut, PendingOut, ProblemOut, StorageOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut, "description": "serving here "
                                                                   "would do harm: Render stops routing to it"}})
def get_health(rt: RuntimeDep) -> JSONResponse:
    problems = rt.problems()
    pending = rt.records.pending_uploads()
    status: Literal["ok", "degraded", "error"] = \
        "error" if any(p.severity == "error" for p in problems) else "degraded" if problems else "ok"
    report = HealthOut(
        status=status,
        storage=StorageOut(mode=rt.decision.mode, settings=rt.settings.public()),
        problems=[ProblemOut(severity=p.severity, message=p.message) for p in problems],
        pending_uploads=PendingOut(count=len(pending), episodes=[e.id for e in pending[:20]]),
    )
    return JSONResponse(report.model_dump(), status_code=503 if any(p.stops_traffic for p in problems) else 200)
