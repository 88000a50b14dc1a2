"""The page reader: one round trip per page, the same answer as Playwright's.

The reader evaluates its script over a DevTools session of its own, and the
page counts the driver's controls as it is read, so that a control found once
is used at once. Both are shortcuts: on the copies of the real pages and on
the mock, the signals must equal ``page.evaluate``'s, and every count the page
claims to know must equal Playwright's own lookup. Where the two could differ
(an open shadow root, which Playwright's selectors pierce and the page's do
not), the driver must still blame the right control.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from probe.browser import BrowserSession
from probe.flow import Credentials, DriverOptions, LoginDriver, _control_queries, _picker_queries
from probe.profile import Profile, load_profile
from probe.signals import PageReader, PageSignals, Query, read_page

from .conftest import EMAIL, PAGES, PASSWORD, run_async
from .test_real_pages import JP, serve_only

FAST = DriverOptions(navigation_timeout_ms=5_000, action_timeout_ms=2_000, challenge_wait_ms=1_000)
REAL_PAGES = sorted(p.name for p in PAGES.glob("*.html"))


async def playwright_count(page: Page, query: Query) -> int:
    """What Playwright's own lookup finds for a query the page counts."""
    form = page.locator(query[0])
    if query[1] is None:
        return await form.count()
    found = form.locator(query[1]).filter(visible=True)
    if len(query) == 3:
        found = found.filter(has_text=re.compile(query[2]))
    return await found.count()


async def disagreements(page: Page, profile: Profile, counts: list[int]) -> list[str]:
    wrong = []
    for query, hint in zip(_control_queries(profile), counts, strict=True):
        if hint >= 0 and hint != (actual := await playwright_count(page, query)):
            wrong.append(f"{query}: the page counted {hint}, Playwright {actual}")
    return wrong


Seen = tuple[PageSignals, PageSignals, list[str], dict[Query, int]]


async def _read_real_pages(profile: Profile) -> dict[str, Seen]:
    seen = {}
    queries = _control_queries(profile)
    async with BrowserSession() as session, session.context() as context:
        page = await context.new_page()
        reader = PageReader(page, profile)
        for name in REAL_PAGES:
            await context.unroute("**/*")
            await serve_only(context, {"/ap/signin": (200, (PAGES / name).read_text(encoding="utf-8"))})
            await page.goto(f"{JP}/ap/signin")
            fast, counts = await reader.read(200, queries)
            wrong = await disagreements(page, profile, counts)
            seen[name] = (fast, await read_page(page, profile, 200), wrong, dict(zip(queries, counts, strict=True)))
        reader.close()
    return seen


@pytest.fixture(scope="module")
def real_pages() -> dict[str, Seen]:
    return run_async(_read_real_pages(load_profile()))


@pytest.mark.parametrize("name", REAL_PAGES)
def test_the_reader_sees_a_real_page_as_playwright_does(real_pages: dict[str, Seen], name: str) -> None:
    fast, evaluated, wrong, _ = real_pages[name]
    assert fast == evaluated
    assert wrong == []


@pytest.mark.parametrize(
    ("name", "group", "control"),
    [
        ("jp_email.html", "email_form", "email"),
        ("jp_password.html", "password_form", "password"),
        ("jp_mfa.html", "otp_form", "code"),
        ("jp_picker.html", "picker_form", None),
    ],
)
def test_the_real_pages_count_the_controls_the_driver_uses(
    real_pages: dict[str, Seen], name: str, group: str, control: str | None
) -> None:
    """Not a shortcut that never fires: on the real pages, with their hidden twins, the page counts one."""
    profile = load_profile()
    controls = getattr(profile.controls, group)
    counts = real_pages[name][3]
    assert counts[(controls.form, None)] == 1
    if control is not None:
        assert counts[(controls.form, controls.fields[control])] == 1
        assert counts[(controls.form, controls.submit)] == 1
    else:
        rows, preferred, ticked = _picker_queries(profile)
        assert counts[rows] >= 1
        assert counts[preferred] == counts[ticked] == 1  # the site's default is the one row: sent as it is


def test_the_reader_falls_back_to_evaluate_without_a_devtools_session() -> None:
    async def read() -> tuple[PageSignals, list[int], PageSignals]:
        profile = load_profile()
        async with BrowserSession() as session, session.context() as context:
            page = await context.new_page()
            await serve_only(context, {"/ap/signin": (200, (PAGES / "jp_email.html").read_text(encoding="utf-8"))})
            await page.goto(f"{JP}/ap/signin")

            async def refused(*_: Any) -> None:
                raise PlaywrightError("CDP session is only available in Chromium")

            context.new_cdp_session = refused  # type: ignore[method-assign,assignment]
            reader = PageReader(page, profile)
            signals, counts = await reader.read(200, _control_queries(profile))
            reader.close()
            return signals, counts, await read_page(page, profile, 200)

    signals, counts, evaluated = run_async(read())
    assert signals == evaluated
    assert 1 in counts


def test_a_script_error_in_the_read_is_an_error_not_an_answer() -> None:
    async def read() -> str:
        profile = load_profile()
        async with BrowserSession() as session, session.context() as context:
            page = await context.new_page()
            await serve_only(context, {"/ap/signin": (200, "<html><body>x</body></html>")})
            await page.goto(f"{JP}/ap/signin")
            reader = PageReader(page, profile)
            try:
                # A selector the page cannot parse is -1; a page that breaks the DOM API is an error.
                await page.evaluate("() => { Document.prototype.querySelectorAll = () => { throw new Error('no'); } }")
                await reader.read(200, [("form", None)])
            except PlaywrightError as exc:
                return str(exc)
            finally:
                reader.close()
            return "no error"

    assert "reading the page failed" in run_async(read())


# A form whose email field has a twin in an open shadow root: Playwright's selectors
# pierce it (two fields), the page's own querySelectorAll does not (one field).
SHADOW_TWIN = """<!doctype html><html lang="ja"><head><title>Amazon ログイン</title></head><body>
<div id="authportal-main-section"><div class="a-box"><div class="a-box-inner">
<h1 class="a-spacing-small">ログイン</h1>
<form name="signIn" method="post" action="/ap/signin">
  <input type="email" name="email" id="ap_email">
  <x-twin></x-twin>
  <input type="submit" id="continue" value="次に進む">
</form></div></div></div>
<script>
customElements.define('x-twin', class extends HTMLElement {
  connectedCallback() { this.attachShadow({mode: 'open'}).innerHTML = '<input type="email" name="email">'; }
});
</script></body></html>"""


def test_a_control_the_page_counted_once_but_playwright_twice_is_ambiguous() -> None:
    async def walk() -> tuple[tuple[int, int], list[tuple[str, str]]]:
        profile = load_profile()
        controls = profile.controls.email_form
        query = (controls.form, controls.fields["email"])
        async with BrowserSession() as session, session.context() as context:
            await serve_only(context, {"/ap/signin": (200, SHADOW_TWIN)})
            page = await context.new_page()
            await page.goto(f"{JP}/ap/signin")
            reader = PageReader(page, profile)
            _, (hint,) = await reader.read(200, [query])
            reader.close()
            twins = (hint, await playwright_count(page, query))
            driver = LoginDriver(page, profile, Credentials(EMAIL, PASSWORD), FAST)
            attempt = await driver.run(f"{JP}/ap/signin")
            return twins, [(e.name, e.detail) for e in attempt.events]

    twins, events = run_async(walk())
    assert twins == (1, 2)  # the page's count is taken, and it is wrong
    assert [name for name, _ in events] == ["control_ambiguous"]
    assert "2 elements" in events[0][1]


# The email field goes away just after the page is read (its script sees the read's
# lookups and removes the field once they are done): the page counted one, and by
# the time the driver types there is none.
VANISHING = SHADOW_TWIN.replace("<x-twin></x-twin>", "").replace(
    "</script>",
    """const lookup = Document.prototype.querySelectorAll;
Document.prototype.querySelectorAll = function (selector) {
  setTimeout(() => document.getElementById('ap_email')?.remove(), 0);
  return lookup.call(this, selector);
};</script>""",
)


def test_a_control_gone_after_the_page_counted_it_is_missing_not_unusable() -> None:
    async def walk() -> list[tuple[str, str]]:
        profile = load_profile()
        async with BrowserSession() as session, session.context() as context:
            await serve_only(context, {"/ap/signin": (200, VANISHING)})
            page = await context.new_page()
            driver = LoginDriver(page, profile, Credentials(EMAIL, PASSWORD), FAST)
            attempt = await driver.run(f"{JP}/ap/signin")
            return [(e.name, e.detail) for e in attempt.events]

    events = run_async(walk())
    assert [name for name, _ in events] == ["control_missing"]
    assert "no visible element" in events[0][1]


PICKER = (PAGES / "jp_picker.html").read_text(encoding="utf-8")
_ROW = re.compile(r'<label class="picker-row".*?</label>', re.S)
JAPAN = "A0101MOCKMERCHANT:A1VC38T7YXB528"


def _picker_with(*rows: tuple[str, str, str]) -> str:
    """The account picker with these rows: (value, country, flags: "checked", "hidden")."""
    made = [
        f'<label class="picker-row"{" hidden" if "hidden" in flags else ""}>'
        f'<input type="radio" name="merchantMarketplace" value="{value}"{" checked" if "checked" in flags else ""}>'
        f'<span class="picker-name">さくら雑貨店</span><span class="picker-country">{country}</span></label>'
        for value, country, flags in rows
    ]
    return _ROW.sub(lambda _: "\n".join(made), PICKER, count=1)


async def _chosen(page_html: str) -> tuple[str, list[str]]:
    """What the driver's submit on this account picker sends, and the events of its walk."""
    profile = load_profile()
    sent: list[str] = []
    async with BrowserSession() as session, session.context() as context:

        async def handle(route: Any) -> None:
            request = route.request
            if request.method == "GET" and request.url.endswith("/account-switcher/default/merchantMarketplace"):
                await route.fulfill(body=page_html, content_type="text/html; charset=utf-8")
            elif request.method == "POST":
                sent.append(request.post_data or "")
                await route.fulfill(body="<title>done</title>", content_type="text/html; charset=utf-8")
            else:
                await route.abort()

        await context.route("**/*", handle)
        page = await context.new_page()
        driver = LoginDriver(page, profile, Credentials(EMAIL, PASSWORD), FAST)
        attempt = await driver.run(f"{JP}/account-switcher/default/merchantMarketplace")
    values = [v for body in sent for v in parse_qs(body).get("merchantMarketplace", [])]
    return ",".join(values), [e.name for e in attempt.events]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param([(JAPAN, "日本", "checked")], JAPAN, id="one-row-ticked"),
        pytest.param([(JAPAN, "日本", "")], JAPAN, id="one-row-not-ticked"),
        pytest.param([("M:US", "米国", "checked"), (JAPAN, "日本", "")], JAPAN, id="another-row-ticked-first"),
        pytest.param([(JAPAN, "日本", "checked"), ("M2:JP", "日本", "")], JAPAN, id="two-japanese-rows"),
        pytest.param([("M2:JP", "日本", "checked hidden"), (JAPAN, "日本", "")], JAPAN, id="a-hidden-twin-ticked"),
        pytest.param([("M:DE", "Germany", "checked"), ("M:US", "United States", "")], "M:DE", id="no-japanese-row"),
    ],
)
def test_the_picker_sends_the_preferred_row_whatever_the_site_ticked(
    rows: list[tuple[str, str, str]], expected: str
) -> None:
    chosen, events = run_async(_chosen(_picker_with(*rows)))
    assert chosen == expected  # sent once, the one row
    assert events == []
