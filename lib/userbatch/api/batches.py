"""The batch routes: upload and check a file, execute it, follow it, read its results, undo it.

A file posted is checked as the screen checks it (in one of the server's slots for checks);
with no error it is stored as a batch that waits to be executed (``201``), with errors the
check's document comes back (``422``) and nothing is stored. Executing chooses the invitation
and meets the mass-change guard, as the Execute dialog does.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response

from userbatch.api.access import Caller, installation
from userbatch.api.problems import hidden
from userbatch.batches.history import (
    BatchSummary,
    batch_for,
    get_batch,
    job_document,
    list_batches,
    results_file,
)
from userbatch.batches.store import GUARD, choose_invitation, store_batch
from userbatch.batches.undo import why_not_undoable
from userbatch.batches.undo_preview import preview
from userbatch.check.report import file_error_document, to_document
from userbatch.check.run import check_file
from userbatch.check.slots import BUSY, server_slots
from userbatch.check.state import BLANK_CLEAR, BLANK_KEEP
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import GroupInfo, working_group
from userbatch.errors import Conflict, CsvFileError, NotAllowed, UsageError
from userbatch.i18n import LANGUAGES, Text
from userbatch.i18n.formats import iso
from userbatch.models import Batch
from userbatch.worker.maintenance import sync_batch_states
from userbatch.worker.submit import execute_batch, undo_batch

router = APIRouter(prefix="/batches", tags=["batches"])

# The encodings a file may be read as (``files.decode.ENCODINGS``; a test keeps them equal).
Encoding = Literal["utf-8", "utf-8-sig", "cp932", "utf-16", "xlsx"]
# What a raw body may be, beside a multipart form with a "file" part.
_FILE_TYPES = {
    "text/csv": {"schema": {"type": "string", "format": "binary"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}
    },
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "properties": {"file": {"type": "string", "format": "binary"}},
            "required": ["file"],
        }
    },
}
_XLSX_TYPES = ("spreadsheetml", "application/vnd.ms-excel", "application/octet-stream")


def _mine(operator: OperatorInfo, batch_id: str) -> Batch:
    """The batch, if ``operator`` may see it; another's is as if it did not exist."""
    try:
        return batch_for(installation().engine, operator, batch_id)
    except NotAllowed:
        raise hidden(Text("batch"), batch_id) from None


async def _upload(request: Request, file_name: str | None) -> tuple[bytes, str]:
    """The file a request carries, and its name: a multipart form's "file" part, or the body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=16) as form:
            part = form.get("file")
            if not isinstance(part, UploadFile):
                raise UsageError(Text('The form has no "file" part with the file to check.'))
            return await part.read(), part.filename or file_name or "upload.csv"
    data = await request.body()
    workbook = any(kind in content_type for kind in _XLSX_TYPES)
    return data, file_name or ("upload.xlsx" if workbook else "upload.csv")


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    summary="Upload a file and check it",
    openapi_extra={"requestBody": {"required": True, "content": _FILE_TYPES}},
    responses={
        201: {"description": "No errors: the check's document and the batch stored, waiting."},
        422: {"description": "The file or rows have errors: the check's document."},
        413: {"description": "The body is larger than the upload limit."},
        503: {"description": "No slot for the check came free in time (busy)."},
    },
)
async def post_batch(
    request: Request,
    operator: Caller,
    group: Annotated[str | None, Query(description="working group (default: yours)")] = None,
    encoding: Annotated[Encoding | None, Query(description="override detection")] = None,
    complete: Annotated[bool, Query(description="the file lists every user of the group")] = False,
    blank: Annotated[Literal["keep", "clear"], Query()] = "keep",
    file_name: Annotated[str | None, Query(max_length=255)] = None,
) -> JSONResponse:
    settings, engine = installation().settings, installation().engine
    working = await run_in_threadpool(working_group, engine, group, operator.scope_path)
    slots = server_slots(settings.checks_at_once, settings.checks_per_operator)
    # The slot is taken before the body is read: a crowd of uploads waits without holding
    # their files in memory.
    with ExitStack() as held:
        slot = slots.slot(operator.id, wait_seconds=settings.check_wait_seconds, waiting=_quiet)
        try:
            await run_in_threadpool(held.enter_context, slot)
        except CsvFileError as error:
            return _refused_file(file_name or "", error)
        data, name = await _upload(request, file_name)
        options = CheckChoices(working, encoding, complete, blank)
        return await run_in_threadpool(_check_and_store, operator, data, name, options)


def _quiet(why: object) -> None:
    """A request waiting for a slot is told nothing until it has one (or is refused)."""


@dataclass(frozen=True)
class CheckChoices:
    """How to read and check the file: the upload's options."""

    working: GroupInfo
    encoding: str | None
    complete: bool
    blank: str


def _refused_file(name: str, error: CsvFileError) -> JSONResponse:
    busy = error.code == BUSY
    return JSONResponse(
        file_error_document(name, error),
        status_code=HTTPStatus.SERVICE_UNAVAILABLE if busy else HTTPStatus.UNPROCESSABLE_ENTITY,
        headers={"Retry-After": "60"} if busy else None,
    )


def _check_and_store(
    operator: OperatorInfo, data: bytes, name: str, choices: CheckChoices
) -> JSONResponse:
    here = installation()
    settings, engine = here.settings, here.engine
    try:
        result = check_file(
            engine, settings, data, file_name=name, working_group=choices.working,
            scope_path=operator.scope_path, encoding=choices.encoding,
            blank=BLANK_CLEAR if choices.blank == BLANK_CLEAR else BLANK_KEEP,
            complete=choices.complete,
        )  # fmt: skip
    except CsvFileError as error:
        return _refused_file(name, error)
    document = to_document(result)
    if result.has_errors:
        return JSONResponse(document, status_code=HTTPStatus.UNPROCESSABLE_ENTITY)
    batch_id = store_batch(
        engine, settings, result, operator=operator, working_group=choices.working,
        awaiting=True,
    )  # fmt: skip
    guard = get_batch(engine, batch_id).options.get(GUARD)
    document |= {"id": batch_id, "job": job_document(engine, batch_id), "guard": guard}
    return JSONResponse(
        document, status_code=HTTPStatus.CREATED, headers={"Location": f"batches/{batch_id}"}
    )


class Execute(BaseModel):
    """How to execute a checked batch: the Execute dialog's choices."""

    invite: bool = Field(False, description="send new users an invitation e-mail")
    template: str | None = Field(None, description="e-mail template name (default: Invitation)")
    template_language: Literal[LANGUAGES] | None = Field(  # type: ignore[valid-type]
        None, description="the template's version to send (default: the request's language)"
    )
    send_at: dt.datetime | None = Field(None, description="when to send (default: now)")
    confirm: int | None = Field(
        None, description="the number of users a mass change affects (the guard's)"
    )


@router.post(
    "/{batch_id}/execute",
    status_code=HTTPStatus.ACCEPTED,
    summary="Execute a checked batch",
    responses={409: {"description": "Executed already, or a mass change not confirmed."}},
)
def post_execute(batch_id: str, choices: Execute, operator: Caller) -> dict[str, Any]:
    engine, settings = installation().engine, installation().settings
    _mine(operator, batch_id)
    invitation = None
    if choices.invite:
        invitation = choose_invitation(
            engine, template=choices.template, template_language=choices.template_language,
            send_at=choices.send_at,
        )  # fmt: skip
    execute_batch(
        engine, settings, operator, batch_id, invitation=invitation, confirmed=choices.confirm
    )
    return job_document(engine, batch_id)


@router.get("/{batch_id}", summary="A batch's job document")
def get_job(batch_id: str, operator: Caller) -> dict[str, Any]:
    here = installation()
    _mine(operator, batch_id)
    sync_batch_states(here.engine, here.settings)
    return job_document(here.engine, batch_id)


def _summary(batch: BatchSummary) -> dict[str, Any]:
    return {
        "id": batch.id, "file_name": batch.file_name, "operator": batch.operator,
        "group": batch.group, "submitted_at": iso(batch.submitted_at),
        "started_at": iso(batch.started_at), "finished_at": iso(batch.finished_at),
        "state": batch.state, "progress": {"done": batch.done, "total": batch.total},
        "counts": {"created": batch.created, "updated": batch.updated,
                   "unchanged": batch.unchanged, "failed": batch.failed},
        "invitations": batch.invitations,
    }  # fmt: skip


@router.get("", summary="The job history, newest first")
def get_history(
    operator: Caller,
    state: Annotated[list[str] | None, Query(description="only batches in these states")] = None,
    by: Annotated[str | None, Query(description="an admin's filter: one operator's login")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    batches = list_batches(
        installation().engine, operator, states=state, operator_login=by, limit=limit + 1,
        offset=offset,
    )  # fmt: skip
    return {
        "batches": [_summary(batch) for batch in batches[:limit]],
        "limit": limit,
        "offset": offset,
        "more": len(batches) > limit,
    }


@router.get(
    "/{batch_id}/results",
    summary="Each row's outcome, as a CSV file",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_results(batch_id: str, operator: Caller) -> Response:
    batch = _mine(operator, batch_id)
    return Response(
        results_file(installation().engine, batch_id),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="results-{batch.id}.csv"'},
    )


@router.post(
    "/{batch_id}/undo",
    summary="Undo a finished batch (or preview it with dry_run)",
    responses={
        200: {"description": "dry_run: what the undo would do"},
        202: {"description": "the undo's job document"},
        409: {"description": "This batch cannot be undone"},
    },
)
def post_undo(
    batch_id: str,
    operator: Caller,
    dry_run: Annotated[bool, Query(description="say what the undo would do; change nothing")] = (
        False
    ),
) -> JSONResponse:
    here = installation()
    batch = _mine(operator, batch_id)
    if dry_run:
        reason = why_not_undoable(here.engine, batch)
        if reason:
            raise Conflict(reason)
        return JSONResponse(preview(here.engine, batch))
    undo_id = undo_batch(here.engine, here.settings, operator, batch_id)
    return JSONResponse(job_document(here.engine, undo_id), status_code=HTTPStatus.ACCEPTED)
