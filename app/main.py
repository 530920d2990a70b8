"""The bundled app (ASGI ``app.main:app``): the factory, its lifespan, and how errors become answers."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Security
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import episodes, health, sources
from app.api.access import TokenGate, bearer
from app.api.limits import UploadLimit
from app.api.measure import Measured
from app.api.models import errors
from app.api.offload import Offload
from app.api.sendfile import ZeroCopy
from app.cleanup import CrashCleanup
from app.databases import DatabaseUnavailableError
from app.episodes import EpisodeDeletedError
from app.health import disk_error
from app.logs import configure_logging
from app.settings import Settings, SettingsError
from app.startup import start
from app.storage import StorageAccessDeniedError, StorageUnavailableError
from app.storage.stores import StorageNotConfiguredError

log = logging.getLogger("ephitup.api")


class OneLineStartupFailure:
    """A start refused for a reason the app words (a ``SettingsError``: what to set, and how) reaches uvicorn's log
    as that one line, not as the traceback Starlette puts in ``lifespan.startup.failed``; and under uvicorn's own
    command (Render's start command), whose exit code after any failed start is 3, the process exits 2, the code
    the README's table gives a wrong configuration (3 stays for what is unavailable)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)

        async def worded(message: Message) -> None:
            text = message.get("message") or ""
            cause = text.strip().splitlines()[-1].split(": ", 1) if text.strip() else [""]
            if message["type"] == "lifespan.startup.failed" and cause[0].rsplit(".", 1)[-1] in WORDED:
                message = {**message, "message": f"ephitup: {cause[-1]}"}
                if cause[0].endswith(SettingsError.__name__) and under_uvicorns_command():
                    atexit.register(exit_as_wrong_configuration)
            await send(message)

        await self.app(scope, receive, worded)


WORDED = {error.__name__ for error in (SettingsError, DatabaseUnavailableError, StorageUnavailableError)}


def under_uvicorns_command() -> bool:
    """``uvicorn app.main:app`` or ``python -m uvicorn ...``: a process uvicorn's command line owns (never a test
    or ``ephitup serve``, which word and code their own refusals)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return Path(sys.argv[0]).name == "uvicorn" or (spec is not None and spec.name.startswith("uvicorn"))


def exit_as_wrong_configuration() -> None:
    """Run at exit, after uvicorn's ``sys.exit(3)``: the same end with the configuration's code."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(2)


def answer_errors(app: FastAPI) -> None:
    """How the errors the storage and records layers raise become answers, each naming its cause."""

    @app.exception_handler(StorageUnavailableError)
    async def unavailable(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"storage unavailable, retry later: {error}"}, 503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(StorageAccessDeniedError)
    @app.exception_handler(StorageNotConfiguredError)
    async def misconfigured(_: Request, error: Exception) -> JSONResponse:
        log.error("storage misconfigured: %s", error)
        return JSONResponse({"detail": f"storage misconfigured: {error}"}, 503)

    @app.exception_handler(EpisodeDeletedError)
    async def deleted_meanwhile(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, 409)

    @app.exception_handler(OSError)
    @app.exception_handler(sqlite3.OperationalError)
    async def disk_refused(request: Request, error: Exception) -> JSONResponse:
        answer = disk_error(error)
        if answer is None:
            raise error
        log.error("%s %s: %s", request.method, request.url.path, answer[1])
        return JSONResponse({"detail": answer[1]}, answer[0])

    @app.exception_handler(DatabaseUnavailableError)
    async def records_unreachable(request: Request, error: DatabaseUnavailableError) -> JSONResponse:
        log.error("%s %s: %s", request.method, request.url.path, error)
        return JSONResponse({"detail": f"{error}: try again shortly"}, 503, headers={"Retry-After": "5"})

    @app.exception_handler(FileNotFoundError)
    async def vanished(request: Request, error: Exception) -> JSONResponse:
        log.error("a record points at missing data: %s", error)
        request.app.state.runtime.watch.note_missing(str(error))
        return JSONResponse({"detail": "the stored file is missing"}, 410)


class App(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack (its error handler outermost) under ``ZeroCopy``, which must see the server's own send."""
        return ZeroCopy(super().build_middleware_stack())


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; settings are read from the environment at startup unless given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        runtime = start(settings or Settings.from_env())
        app.state.runtime, app.state.offload = runtime, Offload(runtime.settings.stream_readers)
        cleanup = CrashCleanup(runtime.episodes, runtime.gate)
        runtime.watch.more.append(cleanup.problems)
        background = [asyncio.create_task(loop) for loop in (
            runtime.reconciler.forever(), runtime.watch.forever(), runtime.backups.forever(),
            asyncio.to_thread(cleanup.run))]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            runtime.close()  # waits for a pass still running in its thread
            app.state.offload.close()
            cleanup.stopped()

    # No /docs or /redoc: FastAPI's pages load Swagger UI and ReDoc from a public CDN; /openapi.json stays.
    app = App(title="ephitup", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(UploadLimit, settings=lambda: app.state.runtime.settings)
    app.add_middleware(Measured, metrics=lambda: app.state.runtime.metrics)
    app.add_middleware(TokenGate, token=lambda: app.state.runtime.settings.app_token)  # outermost: runs first
    app.add_middleware(OneLineStartupFailure)
    app.include_router(health.router)
    for router in (episodes.router, sources.router):
        app.include_router(router, prefix="/api", dependencies=[Security(bearer)], responses=errors(401))

    answer_errors(app)
    return app


app = create_app()
