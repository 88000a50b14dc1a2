"""The mock's network faults, slow answers, pending and expired invitations, and a page for every permission."""

from __future__ import annotations

import socket
import ssl
import time
import typing

import pytest

from fixtures.mock_site.config import Tool
from fixtures.mock_site.seller import TOOLS
from fixtures.network import BlackHoleServer, PlainHttpServer
from probe.browser import BrowserSession
from probe.diagnosis import RetryPolicy
from probe.flow import DriverOptions
from probe.harness import play
from probe.report import Result
from probe.runner import RunOptions
from probe.scenarios import load_scenario

from .conftest import run_async
from .test_mock_failures import client, config, h1, sign_in, signed_in_home

# -- the network in front of the site


def test_a_black_hole_accepts_and_never_answers() -> None:
    with BlackHoleServer() as server, socket.create_connection(("127.0.0.1", server.port), timeout=2) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.settimeout(0.5)
        with pytest.raises(TimeoutError):
            conn.recv(1)


def test_plain_http_on_the_https_port_fails_the_tls_handshake() -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        PlainHttpServer() as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=2) as raw,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(raw, server_hostname="sellercentral.amazon.co.jp.localhost")


def fast(**retry: float) -> RunOptions:
    """Short navigation timeouts and backoff: a network failure costs a second, not a minute."""
    return RunOptions(
        driver=DriverOptions(navigation_timeout_ms=1_500),
        retry=RetryPolicy(attempts=2, deadline_s=10.0, backoff_s=0.1, backoff_max_s=0.2, **retry),
    )


def play_one(name: str, options: RunOptions) -> Result:
    async def go() -> Result:
        async with BrowserSession() as session:
            return await play(load_scenario(name), session, options)

    return run_async(go())


@pytest.mark.parametrize(
    ("name", "seen"), [("network_timeout", "timeout"), ("network_tls_failure", "net::ERR_SSL_PROTOCOL_ERROR")]
)
def test_timeouts_and_tls_failures_are_network_failures(name: str, seen: str) -> None:
    result = play_one(name, fast())
    assert result.match, result.detail
    assert result.verdict == "network_unreachable"
    assert result.rule == "connection_failed"
    assert result.attempts == 2
    assert any(seen in str(e.get("matched", "")) or seen in str(e) for e in result.evidence)


def test_a_black_hole_ends_at_the_drivers_navigation_timeout() -> None:
    result = play_one("network_timeout", fast())
    assert result.verdict == "network_unreachable"
    # The driver gave up at its own navigation timeout (no fixed wait, no hang).
    assert any("timeout" in str(e.get("text", "")).lower() for e in result.evidence), result.evidence


# -- slow answers


def test_a_slow_fault_delays_matching_pages_only() -> None:
    c = client(config(site={"faults": [{"kind": "slow", "path": "/ap/", "delay_ms": 400}]}))
    started = time.perf_counter()
    assert c.get("/ap/signin").status_code == 200
    slow = time.perf_counter() - started
    assert slow >= 0.4  # a lower bound: the fault's own delay


def test_a_slow_fault_can_end_after_some_answers() -> None:
    c = client(config(site={"faults": [{"kind": "slow", "path": "/ap/", "delay_ms": 400, "times": 1}]}))
    c.get("/ap/signin")
    started = time.perf_counter()
    c.get("/ap/signin")
    assert time.perf_counter() - started < 0.4


def test_slow_pages_within_the_timeout_still_sign_in() -> None:
    result = play_one("slow_responses", RunOptions())
    assert result.verdict == "ok"
    assert result.attempts == 1
    assert result.duration_s >= 2.0


# -- invitations


@pytest.mark.parametrize(
    ("state", "heading"),
    [("pending", "ユーザー権限の招待が承認待ちです"), ("expired", "ユーザー権限の招待の有効期限が切れています")],
)
@pytest.mark.parametrize("path", ["/home", "/orders-v3", "/account-switcher/default/merchantMarketplace"])
def test_an_open_invitation_shows_its_state_instead_of_the_account(state: str, heading: str, path: str) -> None:
    c = client(config(role="secondary", invitation=state, permissions={"orders": "edit"}))
    sign_in(c)
    page = c.get(path)
    assert page.status_code == 200
    assert f'id="sc-invitation-{state}"' in page.text
    assert heading in page.text
    assert "アカウントの管理者（主たるユーザー）" in page.text


def test_an_open_invitation_in_english_on_the_us_host() -> None:
    c = client(
        config(role="secondary", invitation="expired", marketplace="us"),
        base="https://sellercentral.amazon.com.localhost",
    )
    sign_in(c)
    page = c.get("/home")
    assert "Your user permission invitation has expired" in page.text


def test_an_accepted_invitation_gets_the_account() -> None:
    c = client(config(role="secondary", invitation="accepted", permissions={"orders": "view"}))
    signed_in_home(c)
    assert c.get("/orders-v3").status_code == 200


@pytest.mark.parametrize(
    ("name", "rule"), [("invitation_pending", "invitation_pending"), ("invitation_expired", "invitation_expired")]
)
def test_open_invitations_are_permission_denied_for_the_primary_user_to_fix(name: str, rule: str) -> None:
    result = play_one(name, RunOptions())
    assert result.match
    assert (result.verdict, result.rule, result.remedy) == ("permission_denied", rule, "ask_primary_user")
    assert result.remedy_verified is False


# -- every permission has its page


def test_every_permission_in_the_schema_has_a_page() -> None:
    assert set(TOOLS.values()) == set(typing.get_args(Tool))


@pytest.mark.parametrize(("right", "status"), [("none", 403), ("view", 200), ("edit", 200)])
def test_the_reports_page_follows_the_users_rights(right: str, status: int) -> None:
    c = client(config(role="secondary", permissions={"reports": right}))
    signed_in_home(c)
    page = c.get("/business-reports")
    assert page.status_code == status
    if status == 200:
        assert h1(page) == "ビジネスレポート"
        assert page.text.count("<tr>") >= 8
        assert (">編集</button>" in page.text) is (right == "edit")
    else:
        assert 'id="sc-permission-denied"' in page.text
        assert "「レポート」の権限" in page.text


def test_the_reports_page_in_english() -> None:
    c = client(config(marketplace="us"), base="https://sellercentral.amazon.com.localhost")
    signed_in_home(c)
    assert h1(c.get("/business-reports")) == "Business Reports"
