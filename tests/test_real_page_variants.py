"""Variations of the real pages that none of the other page copies show.

The real site changes its markup without notice: an input's type, a button
element instead of an input, an optional checkbox that disappears, a hidden
twin of a field. Each variant here is built from the real-structure copies by
one small change, and the driver must still sign in.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.async_api import Route

from probe.browser import BrowserSession
from probe.classify import classify
from probe.flow import Credentials, LoginDriver
from probe.otp import OtpSource
from probe.outcomes import Verdict
from probe.profile import load_profile

from .conftest import EMAIL, PAGES, PASSWORD, TOTP_SECRET, run_async
from .test_real_pages import FAST, JP, SIGN_IN_QUERY


def page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def _otp_as_text(html: str) -> str:
    changed = re.sub(r'(<input[^>]*name="otpCode"[^>]*)type="tel"', r'\1type="text"', html)
    changed = re.sub(r'type="tel"([^>]*name="otpCode")', r'type="text"\1', changed)
    assert changed != html
    return changed


def _without_remember_box(html: str) -> str:
    changed = re.sub(r'<div class="a-checkbox">.*?</div>', "", html, flags=re.S)
    assert "rememberDevice" not in changed
    return changed


def _button_submit(html: str) -> str:
    changed = re.sub(
        r'<input[^>]*id="continue"[^>]*>',
        '<button id="continue" class="a-button-input" type="submit">続行</button>',
        html,
    )
    assert changed != html
    return changed


def _hidden_email_twin(html: str) -> str:
    twin = '<input type="email" name="email" class="aok-hidden" style="display:none">'
    return html.replace("</form>", twin + "</form>", 1)


# variant name -> (page it changes, the change)
VARIANTS: dict[str, tuple[str, Callable[[str], str]]] = {
    "otp_input_type_text": ("jp_mfa.html", _otp_as_text),
    "no_remember_box": ("jp_mfa.html", _without_remember_box),
    "email_submit_is_a_button": ("jp_email.html", _button_submit),
    "hidden_twin_of_the_email_field": ("jp_email.html", _hidden_email_twin),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_driver_signs_in_through_a_variant_of_the_real_pages(variant: str) -> None:
    changed_page, change = VARIANTS[variant]
    pages = {name: page(name) for name in ("jp_email.html", "jp_password.html", "jp_mfa.html", "jp_home.html")}
    pages[changed_page] = change(pages[changed_page])
    after_post = ["jp_password.html", "jp_mfa.html", "jp_home.html"]
    posts: list[str] = []

    async def handle(route: Route) -> None:
        if not route.request.url.startswith(JP):
            await route.abort()
            return
        if route.request.method == "POST":
            posts.append(route.request.post_data or "")
            name = after_post[min(len(posts), len(after_post)) - 1]
        else:
            name = "jp_email.html"
        await route.fulfill(status=200, body=pages[name], content_type="text/html; charset=utf-8")

    async def go() -> Verdict:
        profile = load_profile()
        creds = Credentials(EMAIL, PASSWORD, totp=OtpSource(TOTP_SECRET), remember_device=True)
        async with BrowserSession() as session, session.context() as context:
            await context.route("**/*", handle)
            attempt = await LoginDriver(await context.new_page(), profile, creds, FAST).run(
                f"{JP}/ap/signin{SIGN_IN_QUERY}"
            )
            return classify(attempt.final, attempt.events, profile).verdict

    assert run_async(go()) is Verdict.OK
    assert len(posts) == 3  # email, password, code: each sent once
    assert re.search(r"(?:^|&)otpCode=\d{6}(?:&|$)", posts[2])
