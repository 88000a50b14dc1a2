"""The mock's sign-in forms: a body past 64 KB is a 413, read no further; a normal form still works."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from fixtures.mock_site import create_app
from fixtures.mock_site.app import FORM_BODY_LIMIT, FormBodyLimit

from .conftest import EMAIL, run_async, site_config

JP = "https://sellercentral.amazon.co.jp.localhost"


def client() -> TestClient:
    return TestClient(create_app(site_config(), admin_token="t0ken"), base_url=JP, follow_redirects=False)


def test_the_limit_is_sane() -> None:
    assert 16 * 1024 <= FORM_BODY_LIMIT <= 1024 * 1024


def test_a_huge_sign_in_form_is_413() -> None:
    c = client()
    c.get("/ap/signin")
    response = c.post("/ap/signin", data={"email": EMAIL, "pad": "x" * FORM_BODY_LIMIT})
    assert response.status_code == 413
    chunks = iter([b"email=a&pad=" + b"x" * 40_000, b"x" * 40_000])  # no Content-Length: counted as it streams
    response = c.post("/ap/signin", content=chunks, headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    for path in ("/ap/mfa", "/ap/cvf/verify", "/nowhere"):
        assert c.post(path, content=b"x" * (FORM_BODY_LIMIT + 1)).status_code == 413


def test_a_form_within_the_limit_still_signs_in() -> None:
    c = client()
    page = c.get("/ap/signin")
    assert page.status_code == 200
    response = c.post("/ap/signin", data={"email": EMAIL, "pad": "x" * (FORM_BODY_LIMIT // 2)})
    assert response.status_code < 500
    assert response.status_code != 413


def test_the_admin_api_keeps_its_own_limit() -> None:
    body = b'{"accounts": []' + b" " * (FORM_BODY_LIMIT * 2) + b"}"
    response = client().put("/__mock__/state", content=body, headers={"authorization": "Bearer t0ken"})
    assert response.status_code == 200


def test_a_declared_length_past_the_limit_is_refused_unread() -> None:
    """The app is not called and not a byte of the body is read."""
    called, reads = [], []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        called.append(scope)

    async def receive() -> dict[str, Any]:
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/ap/signin",
        "headers": [(b"content-length", str(10 * FORM_BODY_LIMIT).encode())],
    }
    run_async(FormBodyLimit(app)(scope, receive, send))
    assert not called
    assert not reads
    assert sent[0]["status"] == 413


def test_a_streamed_body_is_read_only_up_to_the_limit() -> None:
    reads: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not run")

    async def receive() -> dict[str, Any]:
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}  # endless

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/ap/signin", "headers": []}
    run_async(FormBodyLimit(app)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert len(reads) == FORM_BODY_LIMIT // 1024 + 1
