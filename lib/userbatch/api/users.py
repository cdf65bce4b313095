"""The users route: the User download of the screens, in the caller's scope."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from userbatch.admin.users import export_users
from userbatch.api.access import Caller, installation
from userbatch.directory.fields import load_columns
from userbatch.directory.groups import working_group

router = APIRouter(tags=["users"])


@router.get(
    "/users",
    summary="Every user in your scope (or one group and below), as the upload's CSV file",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_users(
    operator: Caller,
    group: Annotated[str | None, Query(description="only this group and below")] = None,
    encoding: Annotated[Literal["utf-8-sig", "cp932"], Query()] = "utf-8-sig",
) -> Response:
    engine = installation().engine
    path = working_group(engine, group, operator.scope_path).path if group is not None else None
    data = export_users(
        engine, load_columns(engine), scope_path=operator.scope_path, group_path=path,
        encoding=encoding,
    )  # fmt: skip
    charset = "shift_jis" if encoding == "cp932" else "utf-8"
    return Response(
        data,
        media_type=f"text/csv; charset={charset}",
        headers={"Content-Disposition": 'attachment; filename="users.csv"'},
    )
