"""The HTTP API against the served app: the whole cycle, scope, tokens, limits, OpenAPI."""

from __future__ import annotations

import csv
import io
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.api.conftest import UPLOAD_MB, Api
from tests.helpers import disable_operator, expire_token, wait_until
from userbatch.api.batches import Encoding
from userbatch.directory.tokens import create_token, revoke_token
from userbatch.files.decode import ENCODINGS

HEADER = "Login ID,Name,Email,Password,Belong to\n"


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def _finished(client: httpx.Client, batch_id: str) -> dict[str, Any]:
    """The job document once the batch has ended (polled, generously)."""
    seen: dict[str, Any] = {}

    def ended() -> bool:
        seen.update(client.get(f"/batches/{batch_id}").json())
        return seen["state"] in ("finished", "failed", "canceled")

    wait_until(ended, timeout=120, what=f"batch {batch_id} to end")
    return seen


def _logins(client: httpx.Client) -> set[str]:
    response = client.get("/users")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    return {row[0] for row in rows[1:]}


def test_a_file_with_errors_gets_its_check_and_nothing_is_stored(api: Api) -> None:
    with api.client() as client:
        before = client.get("/batches").json()["batches"]
        response = client.post(
            "/batches", content=_csv("err01,Err,not-an-address,,"),
            headers={"Content-Type": "text/csv"}, params={"file_name": "errors.csv"},
        )  # fmt: skip
        assert response.status_code == 422
        document = response.json()
        assert document["file"]["name"] == "errors.csv"
        assert document["counts"]["error"] == 1
        issue = document["rows"][0]["issues"][0]
        assert (issue["column"], issue["code"]) == ("Email", "invalid_email")
        assert "not-an-address" in issue["message"]
        assert "id" not in document
        assert client.get("/batches").json()["batches"] == before


def test_a_file_error_answers_with_its_code(api: Api) -> None:
    with api.client() as client:
        response = client.post(
            "/batches", content=b"Login ID,Name,Shoe size\nx01,X,42\n",
            headers={"Content-Type": "text/csv"},
        )  # fmt: skip
        assert response.status_code == 422
        assert [error["code"] for error in response.json()["file_errors"]] == ["unknown_column"]


def test_the_whole_cycle_check_execute_poll_results_undo(api: Api) -> None:
    with api.client() as client:
        response = client.post(
            "/batches",
            files={"file": ("nightly.csv", _csv("cyc01,Cycle One,cyc01@example.com,,Sales",
                                                "cyc02,Cycle Two,cyc02@example.com,,Sales"))},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        checked = response.json()
        batch_id = checked["id"]
        assert checked["counts"]["new"] == 2
        assert checked["job"]["state"] == "stored"
        assert response.headers["location"] == f"batches/{batch_id}"
        assert not {"cyc01", "cyc02"} & _logins(client)  # checked, not yet applied

        executed = client.post(f"/batches/{batch_id}/execute", json={"invite": True})
        assert executed.status_code == 202, executed.text
        assert executed.json()["id"] == batch_id
        again = client.post(f"/batches/{batch_id}/execute", json={})
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        assert again.json()["code"] == "conflict"

        job = _finished(client, batch_id)
        assert job["state"] == "finished"
        assert job["counts"]["created"] == 2
        # Due now: scheduled, or already kept in the Outbox (no SMTP_URL here) by the sweep.
        assert job["invitations"]["scheduled"] + job["invitations"]["kept"] == 2
        assert {"cyc01", "cyc02"} <= _logins(client)

        results = client.get(f"/batches/{batch_id}/results")
        assert results.status_code == 200
        assert results.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(results.content.decode("utf-8-sig"))))
        assert [(row["Login ID"], row["Result"]) for row in rows] == [
            ("cyc01", "created"), ("cyc02", "created")
        ]  # fmt: skip

        history = client.get("/batches", params={"limit": 1}).json()
        assert history["batches"][0]["id"] == batch_id
        assert history["limit"] == 1

        preview = client.post(f"/batches/{batch_id}/undo", params={"dry_run": 1})
        assert preview.status_code == 200
        assert preview.json()["counts"]["delete"] == 2
        assert {"cyc01", "cyc02"} <= _logins(client)  # a preview changes nothing

        undo = client.post(f"/batches/{batch_id}/undo")
        assert undo.status_code == 202, undo.text
        assert undo.json()["undo_of"] == batch_id
        assert _finished(client, undo.json()["id"])["state"] == "finished"
        assert not {"cyc01", "cyc02"} & _logins(client)
        assert client.post(f"/batches/{batch_id}/undo").status_code == 409  # undone once


def test_a_mass_change_waits_for_its_number(api: Api) -> None:
    for n in range(3):
        api.world.add_user(f"mass{n:02d}", email=f"mass{n:02d}@example.com", groups=("Support",))
    rows = [f"mass{n:02d},Renamed {n},mass{n:02d}@example.com,,Support" for n in range(3)]
    with api.client() as client:
        response = client.post(
            "/batches", content=_csv(*rows), headers={"Content-Type": "text/csv"},
            params={"group": "Support"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        batch_id, guard = response.json()["id"], response.json()["guard"]
        assert guard["affected"] == 3
        refused = client.post(f"/batches/{batch_id}/execute", json={"confirm": 2})
        assert refused.status_code == 409
        assert (refused.json()["code"], refused.json()["affected"]) == ("unconfirmed", 3)
        assert client.get(f"/batches/{batch_id}").json()["state"] == "stored"
        executed = client.post(f"/batches/{batch_id}/execute", json={"confirm": 3})
        assert executed.status_code == 202
        assert _finished(client, batch_id)["counts"]["updated"] == 3


def test_a_manager_token_is_kept_to_its_scope(api: Api) -> None:
    world = api.world
    world.add_user("scope01", email="scope01@example.com", groups=("Support",))
    manager = world.manager("sales-lead", "Sales")
    with api.client() as admin:
        admins = admin.post(
            "/batches", content=_csv("adm01,Admin's,adm01@example.com,,Support"),
            headers={"Content-Type": "text/csv"},
        ).json()["id"]  # fmt: skip
    with api.client(manager) as client:
        outside = client.post(
            "/batches", content=_csv("scope01,Moved,scope01@example.com,,Sales"),
            headers={"Content-Type": "text/csv"},
        )  # fmt: skip
        assert outside.status_code == 422
        assert outside.json()["rows"][0]["status"] == "error"
        group = client.post(
            "/batches", content=_csv("new01,New,new01@example.com,,"),
            headers={"Content-Type": "text/csv"}, params={"group": "Support"},
        )  # fmt: skip
        assert group.status_code == 403
        assert group.json()["code"] == "forbidden"
        for method, path in (("GET", ""), ("GET", "/results"), ("POST", "/execute"),
                             ("POST", "/undo")):  # fmt: skip
            hidden = client.request(method, f"/batches/{admins}{path}", json={})
            assert hidden.status_code == 404, (method, path, hidden.text)
        assert admins not in {batch["id"] for batch in client.get("/batches").json()["batches"]}
        assert "scope01" not in _logins(client)


def test_no_revoked_expired_or_disabled_token_works(api: Api) -> None:
    world = api.world
    with api.client_with(None) as anonymous:
        response = anonymous.get("/batches")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    with api.client_with("ubt_not-a-token") as unknown:
        assert unknown.get("/batches").status_code == 401

    revoked = create_token(world.engine, world.admin, "revoked")
    with api.client_with(revoked.token) as client:
        assert client.get("/batches").status_code == 200
        revoke_token(world.engine, world.admin, revoked.info.id)
        assert client.get("/batches").status_code == 401

    expired = create_token(world.engine, world.admin, "expired", expires_days=1)
    expire_token(world.engine, expired.info.id)
    with api.client_with(expired.token) as client:
        assert client.get("/batches").status_code == 401

    leaver = world.manager("leaver", "Support")
    with api.client(leaver) as client:
        assert client.get("/batches").status_code == 200
        disable_operator(world.engine, leaver.id)
        assert client.get("/batches").status_code == 401


def _raw(api: Api, head: bytes, chunks: list[bytes]) -> bytes:
    """Send a request by hand (a body's length the client declares as it likes); the answer."""
    where = urlsplit(api.url)
    with socket.create_connection((where.hostname, where.port), timeout=60) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server stopped reading: its answer is waiting
        answer = b""
        while data := sock.recv(65536):
            answer += data
            if b"\r\n\r\n" in answer:
                break
        return answer


def test_a_body_past_the_limit_is_refused_before_it_is_read(api: Api) -> None:
    token = create_token(api.world.engine, api.world.admin, "big").token
    path = urlsplit(api.url).path + "/batches"
    declared = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: text/csv\r\nContent-Length: 10000000000\r\n\r\n"
    ).encode()
    # Ten gigabytes declared, a few bytes sent: the answer comes without the rest.
    answer = _raw(api, declared, [HEADER.encode()])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]

    chunked = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    piece = b"x" * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece)] * (UPLOAD_MB * 16 + 8)  # past the limit
    answer = _raw(api, chunked, [*chunks, b"0\r\n\r\n"])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert f"{UPLOAD_MB:,} MB".encode() in answer or b"problem+json" in answer


def test_answers_speak_the_callers_language(api: Api) -> None:
    with api.client(**{"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"}) as client:
        response = client.post(
            "/batches", content=_csv("ja0001,山田,not-an-address,,"),
            headers={"Content-Type": "text/csv"},
        )  # fmt: skip
        message = response.json()["rows"][0]["issues"][0]["message"]
        assert "メール" in message, message
        assert "見つかりません" in client.get("/batches/nothing-here").json()["detail"]


def test_the_openapi_document_names_every_route(api: Api) -> None:
    with httpx.Client(timeout=60) as client:
        document = client.get(f"{api.url}/openapi.json").json()
    routes = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes >= {
        ("/batches", "post"), ("/batches", "get"), ("/batches/{batch_id}", "get"),
        ("/batches/{batch_id}/execute", "post"), ("/batches/{batch_id}/results", "get"),
        ("/batches/{batch_id}/undo", "post"), ("/users", "get"),
    }  # fmt: skip
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_the_encodings_offered_are_the_readers() -> None:
    assert set(Encoding.__args__) == set(ENCODINGS)
