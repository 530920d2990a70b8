"""Sources: documents uploaded for the notebook, downloaded back with ranges."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.responses import Response

from app.api.deps import RuntimeDep, SourceDep
from app.api.limits import check_size, media_type_of
from app.api.models import SourceOut, errors
from app.api.offload import Offload, OffloadDep
from app.api.pages import PageDep, page_response
from app.api.ranges import binary_responses, ranged_response
from app.records import Source
from app.sources import NotAMediaTypeError
from app.storage import Storage

router = APIRouter(prefix="/sources", tags=["sources"])


@router.post("", status_code=201, response_model=SourceOut, responses=errors(400, 413, 415, 503, 507))
async def create_source(rt: RuntimeDep, offload: OffloadDep,
                        file: Annotated[UploadFile, File(description="a source document")]) -> SourceOut:
    """Store an uploaded source: on the disk as in the seed, or in S3 when the environment is scaled."""
    check_size(file, rt.settings.max_upload_bytes)
    media_type = media_type_of(file) or "application/octet-stream"
    try:
        source = await offload.run(rt.stores.files, rt.sources.create, file.file, file.filename, media_type)
    except NotAMediaTypeError as error:
        raise HTTPException(415, str(error)) from None
    return SourceOut.model_validate(source)


@router.get("", response_model=list[SourceOut], responses=errors(400))
def list_sources(rt: RuntimeDep, page: PageDep, request: Request) -> Response:
    """Sources in upload order, a page at a time (``Link: <...>; rel="next"`` while there are more)."""
    sources = rt.records.source_page(page.after, page.limit)
    return page_response([SourceOut.model_validate(source) for source in sources], request, page, sources)


@router.head("/{source_id}/download", response_class=Response, responses=binary_responses("application/octet-stream"),
             operation_id="download_source_headers")
@router.get("/{source_id}/download", response_class=Response, responses=binary_responses("application/octet-stream"),
            operation_id="download_source")
async def download_source(rt: RuntimeDep, offload: OffloadDep, request: Request, source: SourceDep) -> Response:
    storage, key = rt.stores.locate(source.ref)
    return await offload.run(storage, _download, request, offload, source, storage, key)


def _download(request: Request, offload: Offload, source: Source, storage: Storage, key: str) -> Response:
    stat = storage.stat(key)
    disposition = f"attachment; filename*=UTF-8''{quote(source.filename)}"
    return ranged_response(request, offload, storage, key, size=stat.size, etag=stat.etag,
                           last_modified=stat.last_modified, content_type=source.content_type,
                           headers={"Content-Disposition": disposition})


@router.delete("/{source_id}", status_code=204, response_class=Response, responses=errors(404, 503))
async def delete_source(rt: RuntimeDep, offload: OffloadDep, source: SourceDep) -> Response:
    await offload.run(rt.stores.files, rt.sources.delete, source)
    return Response(status_code=204)
