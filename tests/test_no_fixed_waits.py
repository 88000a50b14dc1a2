"""No fixed waits: the probe waits on events (a page, a message) with deadlines, never on a timer.

The package is read as Python, not grepped as text: a call to anything named
``sleep`` or ``wait_for_timeout`` is refused unless it goes through an
injected clock (``self.sleep`` / ``self._sleep``, set from a constructor
parameter that tests replace). The mailbox's long-poll is shown to wait for
the message itself, both in the mock and through the probe's reader.
"""

from __future__ import annotations

import ast
import asyncio
import http.client
from pathlib import Path

import httpx2 as httpx
import pytest

from fixtures.mock_site import MockServer, create_app
from fixtures.mock_site.outbox import otp_text
from probe.browser import BrowserSession
from probe.mailbox import Inbox, InboxCodes

from .conftest import ROOT, run_async, site_config

PACKAGE = ROOT / "probe"
TIMERS = {"sleep", "wait_for_timeout"}
# An injected clock: the object's own attribute, set from a parameter a test can replace.
INJECTED = {"sleep", "_sleep"}
SMS_PATTERN = r"(?<!\d)\d{6}(?!\d)"
MAIL = "http://mail.localhost"


def fixed_waits(source: str) -> list[int]:
    """Lines calling a timer other than through ``self``'s injected clock."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name not in TIMERS:
            continue
        injected = (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "self"
            and name in INJECTED
        )
        if not injected:
            found.append(node.lineno)
    return found


def test_the_package_has_no_fixed_wait() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    offenders = [
        f"{path.relative_to(ROOT)}:{line}" for path in files for line in fixed_waits(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "code",
    [
        "import asyncio\nasync def f():\n    await asyncio.sleep(0.5)\n",
        "import time\ntime.sleep(1)\n",
        "from time import sleep\nsleep(1)\n",
        "async def f(page):\n    await page.wait_for_timeout(500)\n",
        "async def f(other):\n    await other.sleep(1)\n",
    ],
)
def test_the_check_catches_a_fixed_wait(code: str) -> None:
    assert fixed_waits(code) != []


def test_an_injected_clock_is_allowed() -> None:
    code = "class A:\n    async def f(self):\n        await self.sleep(1)\n        await self._sleep(2)\n"
    assert fixed_waits(code) == []


# -- the mailbox's long-poll, in the mock


def sms_site() -> object:
    return create_app(site_config(two_step="sms", totp_secret=None))


async def _poll_then_send() -> tuple[int, str]:
    app = sms_site()
    state = app.state.site  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=MAIL) as mail:
        first = await mail.get("/sms", params={"to": "123"})
        assert 'href="/sms?to=123&amp;after=0"' in first.text
        poll = asyncio.ensure_future(mail.get("/sms", params={"to": "123", "after": "0", "wait": "30"}))
        await asyncio.sleep(0)
        assert not poll.done()
        # The site sends a text while answering some other request: that answer wakes the reader.
        state.texts.append(otp_text("123", "jp", "482913"))
        async with httpx.AsyncClient(transport=transport, base_url="http://sellercentral.amazon.co.jp.localhost") as sc:
            await sc.get("/ap/signin")
        answered = await asyncio.wait_for(poll, 10)
    return answered.status_code, answered.text


def test_a_long_poll_answers_when_a_message_arrives() -> None:
    status, text = run_async(_poll_then_send())
    assert status == 200
    assert "482913" in text
    assert 'after=1"' in text  # the next poll waits for a second message


async def _poll(params: dict[str, str]) -> tuple[str, float]:
    transport = httpx.ASGITransport(app=sms_site())  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(transport=transport, base_url=MAIL) as mail:
        started = loop.time()
        text = (await asyncio.wait_for(mail.get("/sms", params=params), 10)).text
        return text, loop.time() - started


def test_a_long_poll_with_nothing_new_answers_at_its_deadline() -> None:
    text, waited = run_async(_poll({"to": "123", "after": "0", "wait": "0.3"}))
    assert "メッセージはありません" in text
    assert waited >= 0.25  # it held the answer for the wait asked for (a lower bound only)


@pytest.mark.parametrize("wait", ["-1", "nan", "inf", "x", "1e9"])
def test_a_bad_wait_is_no_wait_or_capped(wait: str) -> None:
    # Messages already past `after` answer at once, whatever the wait says.
    app = sms_site()
    app.state.site.texts.append(otp_text("123", "jp", "111222"))  # type: ignore[attr-defined]

    async def go() -> str:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=MAIL) as mail:
            return (await asyncio.wait_for(mail.get("/sms", params={"to": "123", "wait": wait}), 10)).text

    assert "111222" in run_async(go())


# -- the probe's reader, in a real Chromium against a real server


def _send_later(server: MockServer) -> None:
    """A text arrives while the reader waits: appended, then announced by a request the site answers."""
    server.state.texts.append(otp_text("123", "jp", "604218"))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/ap/signin", headers={"Host": f"sellercentral.amazon.co.jp.localhost:{server.port}"})
    connection.getresponse().read()
    connection.close()


async def _read_code(server: MockServer, wait_s: float) -> str | None:
    inbox = Inbox(f"{server.origin('mail')}/sms?to=123", wait_s=wait_s)
    reader = InboxCodes(inbox, SMS_PATTERN)
    async with BrowserSession() as session, session.context() as context:
        polling = asyncio.Event()
        context.on("request", lambda request: polling.set() if "wait=" in request.url else None)
        waiting = asyncio.ensure_future(reader.next_code(context))
        # Send only once the reader is waiting on its long-poll.
        await asyncio.wait({waiting, asyncio.ensure_future(polling.wait())}, return_when=asyncio.FIRST_COMPLETED)
        assert not waiting.done(), "the reader gave up before any message came"
        await asyncio.to_thread(_send_later, server)
        return await asyncio.wait_for(waiting, 20)


def test_the_reader_takes_a_code_that_arrives_while_it_waits() -> None:
    with MockServer(site_config(two_step="sms", totp_secret=None)) as server:
        code = run_async(_read_code(server, wait_s=15))
    assert code == "604218"


def test_the_reader_gives_up_at_its_deadline_with_nothing_sent() -> None:
    async def go(server: MockServer) -> str | None:
        reader = InboxCodes(Inbox(f"{server.origin('mail')}/sms?to=123", wait_s=0.3), SMS_PATTERN)
        async with BrowserSession() as session, session.context() as context:
            return await reader.next_code(context)

    with MockServer(site_config(two_step="sms", totp_secret=None)) as server:
        assert run_async(go(server)) is None


def test_an_inbox_without_a_newer_link_is_read_once(tmp_path: Path) -> None:
    page = tmp_path / "inbox.html"
    page.write_text("<html><body><p>No messages</p></body></html>", encoding="utf-8")

    async def go() -> str | None:
        reader = InboxCodes(Inbox(page.as_uri(), wait_s=30), SMS_PATTERN)
        async with BrowserSession() as session, session.context() as context:
            return await asyncio.wait_for(reader.next_code(context), 20)

    assert run_async(go()) is None


def test_reads_share_one_mail_tab_until_the_browser_closes() -> None:
    from probe import mailbox

    async def go(server: MockServer) -> tuple[int, int, bool]:
        inbox = Inbox(f"{server.origin('mail')}/sms?to=123", wait_s=0.1)
        async with BrowserSession() as session:
            async with session.context() as context:
                await inbox.read(context)
                await InboxCodes(inbox, SMS_PATTERN).next_code(context)
                await inbox.read(context)
                open_pages = len(context.pages)
                tabs = len(mailbox._MAIL_TABS)
            return open_pages, tabs, context in mailbox._MAIL_TABS

    with MockServer(site_config(two_step="sms", totp_secret=None)) as server:
        open_pages, tabs, kept_after_close = run_async(go(server))
    assert open_pages == 1
    assert tabs >= 1
    assert not kept_after_close
