"""The mock as a server others may run: odd tokens, big or deep bodies, a port taken on one loopback family."""

from __future__ import annotations

import errno
import socket
import urllib.request

import pyotp
import pytest
from starlette.testclient import TestClient

from fixtures.mock_site import MockServer, create_app
from fixtures.mock_site.app import ADMIN_BODY_LIMIT

from .conftest import PASSWORD, TOTP_SECRET, site_config
from .test_mock_routes import submit, to_password

JP = "https://sellercentral.amazon.co.jp.localhost"
TOKEN = "s3cret-token"
STATE = {"accounts": [{"email": "new@example.jp", "password": "pw-new-1", "two_step": "none"}]}


def client() -> TestClient:
    return TestClient(create_app(site_config(), admin_token=TOKEN), base_url=JP, follow_redirects=False)


@pytest.mark.parametrize(
    "authorization",
    [TOKEN, f"Token {TOKEN}", "Bearer 日本語トークン".encode(), b"Bearer \xff\xfe", "Bearer", "", f"Bearer {TOKEN}x"],
)
def test_the_admin_api_wants_exactly_a_bearer_token(authorization: str | bytes) -> None:
    response = client().put("/__mock__/state", json=STATE, headers={"authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_bearer_scheme_is_case_insensitive() -> None:
    assert client().put("/__mock__/state", json=STATE, headers={"authorization": f"bearer {TOKEN}"}).status_code == 200


def test_a_huge_or_deep_state_is_refused_not_a_500() -> None:
    c, headers = client(), {"authorization": f"Bearer {TOKEN}"}
    huge = b'{"accounts": []' + b" " * ADMIN_BODY_LIMIT + b"}"
    assert c.put("/__mock__/state", content=huge, headers=headers).status_code == 413
    chunks = iter([b" " * 600_000, b" " * 600_000])  # no Content-Length: counted as it streams
    assert c.put("/__mock__/state", content=chunks, headers=headers).status_code == 413
    deep = b"[" * 100_000 + b"]" * 100_000
    response = c.put("/__mock__/state", content=deep, headers=headers)
    assert response.status_code == 422
    assert "nested too deeply" in response.text


@pytest.mark.parametrize("token", ["日本", "\u00e9", "\ud800".encode("utf-8", "surrogatepass").decode("latin-1")])
def test_a_non_ascii_csrf_token_is_refused_not_a_500(token: str) -> None:
    c = client()
    c.get("/ap/signin")
    response = c.post("/ap/signin", data={"appActionToken": token, "email": "sakura.zakka@example.jp"})
    assert response.status_code < 500


def test_the_mock_holds_its_port_on_both_loopback_families() -> None:
    with MockServer(site_config()) as mock:
        for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            with socket.socket(family) as other:
                with pytest.raises(OSError, match="in use") as taken:
                    other.bind((address, mock.port))
                assert taken.value.errno == errno.EADDRINUSE
        with urllib.request.urlopen(f"http://[::1]:{mock.port}/__mock__/health", timeout=10) as response:
            assert response.status == 200


def test_the_mock_refuses_a_port_another_server_holds_on_ipv6() -> None:
    with socket.socket(socket.AF_INET6) as other:
        other.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        other.bind(("::1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(OSError, match=rf"\[::1\]:{port} is taken by another server"):
            MockServer(site_config(), port=port).start()
        with socket.socket(socket.AF_INET) as probe_v4:
            probe_v4.bind(("127.0.0.1", port))  # nothing was left bound on IPv4


def test_the_session_id_changes_after_the_password_and_after_the_code() -> None:
    c = TestClient(create_app(site_config()), base_url=JP, follow_redirects=False)
    page = to_password(c)
    before_password = c.cookies.get("session-id")
    response = submit(c, page, {"password": PASSWORD})
    assert response.status_code in (302, 303)
    after_password = c.cookies.get("session-id")
    assert before_password
    assert after_password
    assert after_password != before_password
    mfa = c.get(response.headers["location"])
    assert 'id="auth-mfa-otpcode"' in mfa.text
    done = submit(c, mfa, {"otpCode": pyotp.TOTP(TOTP_SECRET).now()}, id="auth-mfa-form")
    assert done.status_code in (302, 303)
    assert c.cookies.get("session-id") not in (before_password, after_password)
