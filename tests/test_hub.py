"""One mock server for a whole run: a fresh site per lease, dispatched by the port a request came in on."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from fixtures.mock_site import MockHub, MockServer
from fixtures.mock_site.hub import Lease
from probe.browser import BrowserSession, ContextPool
from probe.harness import play_all
from probe.report import Result
from probe.runner import RunOptions
from probe.scenarios import load_scenario

from .conftest import EMAIL, run_async, site_config

SELLER = "sellercentral.amazon.co.jp.localhost"
MAIL = "mail.localhost"
TOKEN = "hub-admin-token"
STORE = "さくら雑貨店"
MESSAGE = "2段階認証の電話番号が使えなくなり、ログインできません。"


def client(port: int, host: str = SELLER) -> httpx.Client:
    """Requests to 127.0.0.1 as a browser sends them to ``host`` (the Host header picks the site's host)."""
    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Host": f"{host}:{port}"}, follow_redirects=False, timeout=10
    )


def cookie(response: httpx.Response, name: str) -> str:
    found = [v for v in response.headers.get_list("set-cookie") if v.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return str(found[0].split(";", 1)[0].split("=", 1)[1])


def send_contact_message(site: Lease) -> str:
    """Contact Seller Support over HTTP: the site records a ticket and mails a confirmation. The ticket's id."""
    with client(site.port) as c:
        form = c.get("/cu/contact-us")
        assert form.status_code == 200
        sid = cookie(form, "session-id")
        token = re.search(r'name="appActionToken" value="([^"]+)"', form.text)
        assert token is not None
        answer = site.state.sessions[sid].contact_captcha  # what the captcha picture shows
        assert answer is not None
        sent = c.post(
            "/cu/contact-us",
            headers={"Cookie": f"session-id={sid}"},
            data={
                "appActionToken": token.group(1),
                "topic": "password_reset",
                "storeName": STORE,
                "email": EMAIL,
                "message": MESSAGE,
                "captcha": answer,
            },
        )
        assert sent.status_code == 303, sent.text[:500]
    tickets = site.snapshot()["tickets"]
    assert len(tickets) == 1
    return str(tickets[0]["id"])


def move_clock(port: int, days: int, token: str = TOKEN) -> httpx.Response:
    with client(port, "127.0.0.1") as c:
        return c.put("/__mock__/clock", json={"add_days": days}, headers={"Authorization": f"Bearer {token}"})


def inbox(port: int) -> str:
    with client(port, MAIL) as c:
        page = c.get("/inbox", params={"to": EMAIL})
        assert page.status_code == 200
        return str(page.text)


@pytest.fixture
def hub() -> Iterator[MockHub]:
    with MockHub(2) as started:
        yield started


def test_two_leases_at_once_are_isolated(hub: MockHub) -> None:
    with hub.lease(site_config(), admin_token=TOKEN) as one, hub.lease(site_config()) as other:
        assert one.port != other.port
        assert {one.port, other.port} == set(hub.ports)
        assert one.app is not other.app
        ticket = send_contact_message(one)
        assert move_clock(one.port, 5).status_code == 200

        changed, untouched = one.snapshot(), other.snapshot()
        assert [t["id"] for t in changed["tickets"]] == [ticket]
        assert [m["kind"] for m in changed["mails"] if m["to"] == EMAIL] == ["ticket_received"]
        assert changed["clock_offset_days"] == 5
        assert untouched["tickets"] == []
        assert [m for m in untouched["mails"] if m["kind"] == "ticket_received"] == []
        assert untouched["clock_offset_days"] == 0
        # The seller's mailbox on each site, as a browser reads it.
        assert ticket in inbox(one.port)
        assert ticket not in inbox(other.port)
        # The other site's admin API is its own: off, as that lease asked.
        assert move_clock(other.port, 5).status_code == 404
        assert other.snapshot()["clock_offset_days"] == 0


def test_a_released_slot_answers_503(hub: MockHub) -> None:
    with hub.lease(site_config()) as site:
        port = site.port
        with client(port) as c:
            assert c.get("/ap/signin").status_code == 200
    with client(port) as c:
        idle = c.get("/ap/signin")
    assert idle.status_code == 503
    assert "no site on this port" in idle.text
    with httpx.Client(timeout=10) as c:  # on both loopback addresses
        assert c.get(f"http://[::1]:{port}/__mock__/health").status_code == 503


def test_a_slot_is_reused_with_fresh_state() -> None:
    with MockHub(1) as hub:
        with hub.lease(site_config(), admin_token=TOKEN) as first:
            ticket = send_contact_message(first)
            assert move_clock(first.port, 3).status_code == 200
            port, first_app = first.port, first.app
        with hub.lease(site_config(), admin_token="another-token") as second:
            assert second.port == port
            assert second.app is not first_app
            fresh = second.snapshot()
            assert fresh["tickets"] == []
            assert fresh["clock_offset_days"] == 0
            assert ticket not in inbox(port)
            assert move_clock(port, 1).status_code == 401  # the first lease's token is gone with it
            assert move_clock(port, 1, "another-token").status_code == 200


def test_a_lease_waits_for_a_free_slot() -> None:
    with MockHub(1) as hub:
        got: list[int] = []
        with hub.lease(site_config()) as held:
            with pytest.raises(TimeoutError), hub.lease(site_config(), timeout=0):
                pass

            def wait_for_it() -> None:
                with hub.lease(site_config(), timeout=60) as site:
                    got.append(site.port)

            waiter = threading.Thread(target=wait_for_it)
            waiter.start()
            assert got == []  # the only slot is still held
        waiter.join(timeout=60)
        assert got == [held.port]


def test_stop_leaves_no_thread_running() -> None:
    before = set(threading.enumerate())
    mock = MockServer(site_config()).start()
    with httpx.Client(timeout=10) as c:
        assert c.get(f"http://127.0.0.1:{mock.port}/__mock__/health").status_code == 200
    mock.stop()
    hub = MockHub(2).start()
    hub.stop()
    assert set(threading.enumerate()) <= before
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=10) as c:
        c.get(f"http://127.0.0.1:{mock.port}/__mock__/health")


def test_play_all_runs_every_scenario_on_one_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    # A persistent profile with history (the site reconfigured mid-way), a broken network, a journey
    # that moves the site's clock and checks its state, and a plain verdict: two at a time.
    names = ["stale_cache", "network_refused", "password_expired", "account_suspended"]
    scenarios = [load_scenario(name) for name in names]
    assert any(s.journey for s in scenarios)
    assert any(s.browser.history for s in scenarios)

    class NoServer(MockServer):
        def start(self) -> MockServer:
            raise AssertionError("play_all started a mock server of its own")

    monkeypatch.setattr("probe.harness.MockServer", NoServer)

    async def go() -> list[Result]:
        async with BrowserSession() as session:
            return await play_all(scenarios, session, RunOptions(workers=2))

    results = run_async(go())
    assert [r.scenario for r in results] == names
    mismatched: list[Any] = [(r.scenario, r.verdict, r.expected, r.detail) for r in results if not r.match]
    assert mismatched == []


def test_play_all_passes_a_wiped_browser_from_one_scenario_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    # One at a time, so every scenario after the first gets the browser the one before used: a seller
    # signed in, cookies planted for another, a refused password, a text message code read in the mail tab.
    names = ["ok", "combo_stale_cookies_wrong_password", "wrong_password", "ok_sms", "cookies"]
    scenarios = [load_scenario(name) for name in names]
    assert any(s.browser.cookies for s in scenarios)
    pools: list[ContextPool] = []

    class Counted(ContextPool):
        def __init__(self, session: BrowserSession, size: int) -> None:
            super().__init__(session, size)
            pools.append(self)

    monkeypatch.setattr("probe.harness.ContextPool", Counted)

    async def go() -> list[Result]:
        async with BrowserSession() as session:
            return await play_all(scenarios, session, RunOptions(workers=1))

    results = run_async(go())
    assert [(r.scenario, r.match) for r in results] == [(name, True) for name in names]
    (pool,) = pools
    assert pool.opened == 1
    assert pool.reused == len(names) - 1
    assert pool.discarded == 0


def test_play_all_recording_evidence_uses_a_fresh_browser_each(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made: list[ContextPool] = []
    monkeypatch.setattr("probe.harness.ContextPool", lambda *a: made.append(ContextPool(*a)) or made[-1])

    async def go() -> list[Result]:
        async with BrowserSession() as session:
            return await play_all([load_scenario("ok")], session, RunOptions(out=tmp_path))

    (result,) = run_async(go())
    assert result.match
    assert result.artifacts
    assert made == []
