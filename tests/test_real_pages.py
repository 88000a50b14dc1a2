"""The profile and the driver on hand-written copies of the real sign-in pages.

The pages in ``tests/pages`` follow the real site's structure (duplicate ids,
hidden autofill fields, hidden alerts, unnamed forms), not the bundled mock's.
Each is served at a realistic URL by request interception, so nothing leaves
the machine; the probe reads it, names the page kind and the verdict, and its
control lookup must find exactly one element for every control it would use.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import BrowserContext, Page, Route

from probe.browser import BrowserSession
from probe.classify import Diagnosis, classify, page_kind
from probe.diagnosis import Diagnoser, RetryPolicy, Target
from probe.flow import Attempt, Credentials, DriverOptions, LoginDriver, count_controls
from probe.otp import OtpSource
from probe.outcomes import Verdict
from probe.profile import Profile, load_profile
from probe.signals import Event, PageSignals, read_page

from .conftest import EMAIL, PAGES, PASSWORD, TOTP_SECRET, run_async

JP = "https://sellercentral.amazon.co.jp"
US = "https://sellercentral.amazon.com"
SIGN_IN_QUERY = (
    "?openid.return_to=https%3A%2F%2Fsellercentral.amazon.co.jp%2Fhome&openid.assoc_handle=sc_jp_amazon_v2"
    "&openid.mode=checkid_setup&language=ja_JP&pageId=sc_amazon_v3_unified"
)
FAST = DriverOptions(navigation_timeout_ms=5_000, action_timeout_ms=2_000, challenge_wait_ms=1_000)


@dataclass(frozen=True)
class Case:
    page: str
    url: str
    kind: str | None
    verdict: Verdict | None = None
    rule: str | None = None
    status: int = 200
    events: tuple[str, ...] = ()
    remedy: str | None = None


CASES = [
    # The classic entry.
    Case("jp_email.html", f"{JP}/ap/signin{SIGN_IN_QUERY}", "email"),
    Case("en_email.html", f"{US}/ap/signin", "email"),
    Case("jp_email_unknown.html", f"{JP}/ap/signin", "email", Verdict.CREDENTIALS_INVALID, "email_unknown"),
    Case("us_email_unknown.html", f"{US}/ap/signin", "email", Verdict.WRONG_MARKETPLACE,
         "sign_in_on_other_marketplace"),
    Case("en_email_cookies_disabled.html", f"{US}/ap/signin", "cookie_warning", Verdict.DEVICE_SPECIFIC,
         "cookies_disabled", remedy="enable_cookies"),
    Case("jp_password.html", f"{JP}/ap/signin", "password"),
    Case("en_password_2025.html", f"{US}/ap/signin", "password"),
    Case("jp_password_incorrect.html", f"{JP}/ap/signin", "password", Verdict.CREDENTIALS_INVALID,
         "password_incorrect"),
    Case("jp_password_reworded.html", f"{JP}/ap/signin", "password", Verdict.UNRECOGNIZED, "unrecognized"),
    # The password error and a captcha on one page: the refused password is the cause, the captcha secondary.
    Case("jp_password_captcha.html", f"{JP}/ap/signin", "captcha", Verdict.CREDENTIALS_INVALID, "password_incorrect"),
    # The unified entry.
    Case("jp_unified.html", f"{JP}/ax/claim/signin{SIGN_IN_QUERY}", "claim"),
    Case("en_unified.html", f"{US}/ax/claim/signin", "claim"),
    Case("jp_intent.html", f"{JP}/ax/claim/intent?arb=7c1e", "intent", Verdict.CREDENTIALS_INVALID,
         "email_unknown_intent"),
    Case("en_intent.html", f"{US}/ax/claim/intent?arb=7c1e", "intent", Verdict.WRONG_MARKETPLACE,
         "email_unknown_intent_on_other_marketplace"),
    # 2-step verification.
    Case("jp_mfa.html", f"{JP}/ap/mfa?arb=7c1e", "mfa"),
    Case("en_mfa_sms.html", f"{US}/ap/mfa?arb=7c1e", "mfa"),
    Case("jp_mfa_invalid.html", f"{JP}/ap/mfa?arb=7c1e", "mfa", Verdict.OTP_REJECTED, "otp_invalid"),
    Case("jp_otp_chooser.html", f"{JP}/ap/mfa/new-otp?arb=7c1e", "otp_method"),
    Case("en_otp_chooser.html", f"{US}/ap/mfa/new-otp?arb=7c1e", "otp_method"),
    Case("jp_otp_chooser_too_many.html", f"{JP}/ap/mfa/new-otp?arb=7c1e", "otp_method_refused",
         Verdict.OTP_REJECTED, "otp_too_many_requests", remedy="wait_and_retry"),
    # On the home host: an error box on another marketplace's host is wrong_marketplace first.
    Case("en_otp_chooser_too_many.html", f"{JP}/ap/mfa/new-otp?arb=7c1e", "otp_method_refused",
         Verdict.OTP_REJECTED, "otp_too_many_requests", remedy="wait_and_retry"),
    # Verification of a new browser.
    Case("en_cvf_captcha.html", f"{US}/ap/cvf/request?arb=9d8e", "verification_captcha",
         Verdict.CAPTCHA_CHALLENGE, "verification_captcha"),
    Case("jp_cvf_captcha.html", f"{JP}/ap/cvf/request?arb=9d8e", "verification_captcha",
         Verdict.CAPTCHA_CHALLENGE, "verification_captcha"),
    Case("en_cvf_code_email.html", f"{US}/ap/cvf/verify?arb=9d8e", "verification_code", Verdict.OTP_REJECTED,
         "verification_code_unanswered", events=("verification_code_unreadable",)),
    Case("jp_cvf_code_sms.html", f"{JP}/ap/cvf/verify?arb=9d8e", "verification_code", Verdict.OTP_REJECTED,
         "verification_code_unanswered", events=("verification_code_unreadable",)),
    # Bot checks and server errors.
    Case("en_robot_check.html", f"{US}/errors/validateCaptcha", "robot_check", Verdict.CAPTCHA_CHALLENGE,
         "robot_check"),
    Case("en_robot_check_button.html", f"{US}/ap/signin", "robot_check_button", Verdict.CAPTCHA_CHALLENGE,
         "robot_check_button"),
    Case("jp_robot_check_button.html", f"{JP}/ap/signin", "robot_check_button", Verdict.CAPTCHA_CHALLENGE,
         "robot_check_button"),
    Case("waf_challenge.html", f"{JP}/ap/signin{SIGN_IN_QUERY}", "waf_challenge", Verdict.CAPTCHA_CHALLENGE,
         "waf_challenge", status=202),
    Case("jp_javascript_challenge.html", f"{JP}/ap/signin", "javascript_challenge", Verdict.CAPTCHA_CHALLENGE,
         "javascript_challenge"),
    Case("en_javascript_challenge.html", f"{US}/ap/signin", "javascript_challenge", Verdict.CAPTCHA_CHALLENGE,
         "javascript_challenge"),
    Case("jp_500.html", f"{JP}/ap/signin", None, Verdict.SYSTEM_ERROR, "server_error_page", status=500),
    Case("en_500.html", f"{US}/ap/signin", None, Verdict.SYSTEM_ERROR, "server_error_page", status=500),
    Case("en_503_rush_hour.html", f"{US}/ap/signin", None, Verdict.SYSTEM_ERROR, "server_error_page", status=503),
]  # fmt: skip


@dataclass(frozen=True)
class Seen:
    signals: PageSignals
    controls: dict[str, tuple[int, bool]]
    bare_continue: int


def html(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


async def serve_only(context: BrowserContext, pages: dict[str, tuple[int, str]]) -> None:
    """Answer the named URLs (by path) with saved pages; refuse everything else, offline."""

    async def handle(route: Route) -> None:
        found = pages.get(urlsplit(route.request.url).path)
        if found is None or route.request.method != "GET":
            await route.abort()
        else:
            await route.fulfill(status=found[0], body=found[1], content_type="text/html; charset=utf-8")

    await context.route("**/*", handle)


async def _examine(profile: Profile) -> dict[str, Seen]:
    seen: dict[str, Seen] = {}
    async with BrowserSession() as session, session.context() as context:
        page = await context.new_page()
        for case in CASES:
            await context.unroute("**/*")
            await serve_only(context, {urlsplit(case.url).path: (case.status, html(case.page))})
            await page.goto(case.url)
            signals = await read_page(page, profile, case.status)
            kind = page_kind(signals, profile)
            counts = await count_controls(page, profile, kind.action) if kind else {}
            seen[case.page] = Seen(signals, counts, await page.locator("#continue").count())
    return seen


@pytest.fixture(scope="module")
def seen(profile: Profile) -> dict[str, Seen]:
    return run_async(_examine(profile))


@pytest.mark.parametrize("case", CASES, ids=[c.page for c in CASES])
def test_real_page_kind_and_verdict(seen: dict[str, Seen], profile: Profile, case: Case) -> None:
    signals = seen[case.page].signals
    kind = page_kind(signals, profile)
    assert (kind.kind if kind else None) == case.kind
    if case.verdict is None:
        return
    events = [Event(name, case.url, "") for name in case.events]
    diagnosis = classify(signals, events, profile)
    assert (diagnosis.verdict, diagnosis.rule) == (case.verdict, case.rule), diagnosis.evidence
    assert diagnosis.remedy == case.remedy


@pytest.mark.parametrize("case", [c for c in CASES if c.kind], ids=[c.page for c in CASES if c.kind])
def test_every_control_the_driver_uses_is_exactly_one_element(seen: dict[str, Seen], case: Case) -> None:
    counts = seen[case.page].controls
    for control, (count, required) in counts.items():
        assert count == 1 if required else count <= 1, f"{control} matches {count} on {case.page}"


def test_the_real_pages_repeat_ids_the_driver_must_not_rely_on(seen: dict[str, Seen]) -> None:
    # The reason controls are looked up inside their form: a bare id is not one element.
    assert seen["en_email.html"].bare_continue == 2
    assert seen["en_password_2025.html"].bare_continue == 6
    assert seen["jp_unified.html"].bare_continue == 1  # the wrapper only; the submit inside has no id


def test_hidden_fields_are_present_not_visible(seen: dict[str, Seen]) -> None:
    email = seen["jp_email.html"].signals
    form = next(f for f in email.forms if f.name == "signIn")
    fields = {f.name: f for f in form.fields if f.name}
    assert fields["email"].visible
    assert fields["email"].type == "email"
    assert not fields["password"].visible  # the autofill twin, hidden by a class
    assert fields["workflowState"].type == "hidden"
    assert "auth-email-missing-alert" not in email.ids
    assert "auth-cookie-warning-message" not in email.ids
    password = seen["jp_password.html"].signals
    assert "ap_email" not in password.ids
    assert "ap_password" in password.ids
    assert "waf_container" in seen["waf_challenge.html"].signals.present
    assert "waf_container" not in seen["waf_challenge.html"].signals.selectors


def test_an_unknown_page_says_what_was_seen(seen: dict[str, Seen], profile: Profile) -> None:
    diagnosis = classify(seen["jp_password_reworded.html"].signals, [], profile)
    shown = {(e.signal, e.text) for e in diagnosis.evidence}
    assert ("alert", "問題が発生しました 入力されたパスワードをご確認ください") in shown
    forms = [text for signal, text in shown if signal == "form"]
    assert any(t.startswith("form[name=signIn] POST /ap/signin: password[password]") for t in forms), forms
    assert any("hidden: appActionToken, appAction" in t and "email" in t for t in forms), forms
    assert any(signal in ("heading", "text:heading") and text == "ログイン" for signal, text in shown)


# -- driving the real structure ------------------------------------------------------

SignIn = Callable[[Page], Awaitable[None]]


class RealSite:
    """The real pages in sign-in order: each POST answers with the next page, as the site does."""

    def __init__(self, origin: str, steps: list[str], first: str) -> None:
        self.origin = origin
        self.first = first
        self.steps = steps
        self.posts: list[dict[str, str]] = []

    async def handle(self, route: Route) -> None:
        request = route.request
        parts = urlsplit(request.url)
        if parts.netloc != urlsplit(self.origin).netloc:
            await route.abort()
            return
        if request.method == "POST":
            form = dict(re.findall(r"(?:^|&)([^=&]+)=([^&]*)", request.post_data or ""))
            self.posts.append(form)
            name = self.steps[min(len(self.posts) - 1, len(self.steps) - 1)]
            await route.fulfill(status=200, body=html(name), content_type="text/html; charset=utf-8")
            return
        name = "jp_home.html" if parts.path == "/home" else self.first
        await route.fulfill(status=200, body=html(name), content_type="text/html; charset=utf-8")


async def _drive(site: RealSite, credentials: Credentials, url: str) -> tuple[Attempt, Diagnosis]:
    profile = load_profile()
    async with BrowserSession() as session, session.context() as context:
        await context.route("**/*", site.handle)
        page = await context.new_page()
        attempt = await LoginDriver(page, profile, credentials, FAST).run(url)
        return attempt, classify(attempt.final, attempt.events, profile)


def test_driver_signs_in_through_the_classic_real_pages() -> None:
    site = RealSite(JP, ["jp_password.html", "jp_mfa.html", "jp_home.html"], "jp_email.html")
    creds = Credentials(EMAIL, PASSWORD, totp=OtpSource(TOTP_SECRET))
    attempt, diagnosis = run_async(_drive(site, creds, f"{JP}/ap/signin{SIGN_IN_QUERY}"))
    assert diagnosis.verdict is Verdict.OK, (attempt.events, diagnosis.evidence)
    assert [p.name for p in attempt.phases] == ["navigate", "email", "password", "2sv", "home"]
    # The email step sends the form as the page built it (the hidden autofill field included, empty).
    assert site.posts[0]["email"].replace("%40", "@") == EMAIL
    assert site.posts[0]["password"] == ""
    assert site.posts[1]["appAction"] == "SIGNIN_PWD_COLLECT"
    assert "rememberMe" not in site.posts[1]
    assert site.posts[2]["appAction"] == "SIGNIN_MFA"
    assert re.fullmatch(r"\d{6}", site.posts[2]["otpCode"])


def test_driver_signs_in_through_the_unified_real_pages() -> None:
    site = RealSite(US, ["en_password_2025.html", "en_mfa_sms.html", "jp_home.html"], "en_unified.html")
    creds = Credentials(EMAIL, PASSWORD, fixed_otp="246810", remember_device=True)
    attempt, diagnosis = run_async(_drive(site, creds, f"{US}/ax/claim/signin"))
    assert diagnosis.verdict is Verdict.OK, (attempt.events, diagnosis.evidence)
    assert "anti-csrftoken-a2z" in site.posts[0]
    assert "passkeyCredential" not in site.posts[1]  # the password form, not the passkey form
    assert site.posts[2]["otpCode"] == "246810"
    assert site.posts[2]["rememberDevice"] == ""


def test_driver_answers_a_verification_code_from_the_mailbox() -> None:
    class Mail:
        async def next_code(self, context: Any) -> str | None:
            return "135790"

    site = RealSite(US, ["en_password_2025.html", "en_cvf_code_email.html", "jp_home.html"], "en_unified.html")
    creds = Credentials(EMAIL, PASSWORD, mail=Mail())  # type: ignore[arg-type]
    attempt, diagnosis = run_async(_drive(site, creds, f"{US}/ax/claim/signin"))
    assert diagnosis.verdict is Verdict.OK, (attempt.events, diagnosis.evidence)
    assert site.posts[2]["otpCode"] == "135790"  # copied by the page's script from the visible box


def test_a_verification_code_the_probe_cannot_read_is_otp_rejected() -> None:
    site = RealSite(JP, ["jp_password.html", "jp_cvf_code_sms.html"], "jp_email.html")
    _attempt, diagnosis = run_async(_drive(site, Credentials(EMAIL, PASSWORD), f"{JP}/ap/signin"))
    assert (diagnosis.verdict, diagnosis.rule) == (Verdict.OTP_REJECTED, "verification_code_unanswered")
    assert "text messages" in diagnosis.evidence[0].text


def test_a_page_without_its_submit_is_unrecognized_naming_the_control() -> None:
    without_submit = re.sub(r'<span id="continue".*?</span></span></span>', "", html("jp_email.html"), count=1)
    assert 'type="submit"' not in without_submit

    async def go() -> tuple[Any, int]:
        profile = load_profile()
        async with BrowserSession() as session, session.context() as context:
            await serve_only(context, {"/ap/signin": (200, without_submit)})
            diagnoser = Diagnoser(
                session,
                context,
                Target(f"{JP}/ap/signin", profile),
                Credentials(EMAIL, PASSWORD),
                profile,
                driver=FAST,
                retry=RetryPolicy(attempts=4, deadline_s=10, backoff_s=0.01, backoff_max_s=0.01),
            )
            outcome = await diagnoser.run()
            return outcome, len(diagnoser.phases)

    outcome, _ = run_async(go())
    assert outcome.verdict is Verdict.UNRECOGNIZED
    assert outcome.rule == "control_missing"
    assert outcome.attempts == 1
    assert "submit of the email form" in outcome.detail
    assert not any(e.signal == "event:network_error" for e in outcome.evidence)
    assert any(e.signal == "form" for e in outcome.evidence)


def test_a_duplicated_control_is_ambiguous_not_clicked() -> None:
    # Two sign-in forms on one page: the driver cannot tell which one is meant.
    page = html("jp_email.html")
    form = re.search(r'<form name="signIn".*?</form>', page, re.S)
    assert form is not None
    doubled = page.replace(form.group(0), form.group(0) * 2)

    async def go() -> tuple[Attempt, Diagnosis]:
        profile = load_profile()
        async with BrowserSession() as session, session.context() as context:
            await serve_only(context, {"/ap/signin": (200, doubled)})
            page = await context.new_page()
            attempt = await LoginDriver(page, profile, Credentials(EMAIL, PASSWORD), FAST).run(f"{JP}/ap/signin")
            return attempt, classify(attempt.final, attempt.events, profile)

    attempt, diagnosis = run_async(go())
    assert (diagnosis.verdict, diagnosis.rule) == (Verdict.UNRECOGNIZED, "control_ambiguous")
    assert [e.name for e in attempt.events] == ["control_ambiguous"]


def _challenge_site(clears: bool) -> Callable[[Route], Awaitable[None]]:
    """The WAF page at the sign-in URL; its script sets a token and reloads, which passes if ``clears``."""
    solver = (
        '<script>setTimeout(function () { document.cookie = "aws-waf-token=solved"; location.reload(); }, 900);'
        "</script>"
    )
    challenge = html("waf_challenge.html").replace("</body>", solver + "</body>")

    async def handle(route: Route) -> None:
        if urlsplit(route.request.url).netloc != "sellercentral.amazon.co.jp":
            await route.abort()
            return
        solved = "aws-waf-token=solved" in (await route.request.all_headers()).get("cookie", "")
        if solved and clears:
            await route.fulfill(status=200, body=html("jp_email.html"), content_type="text/html; charset=utf-8")
        else:
            await route.fulfill(status=202, body=challenge, content_type="text/html; charset=utf-8")

    return handle


@pytest.mark.parametrize("clears", [True, False])
def test_driver_waits_for_a_challenge_that_may_clear_itself(clears: bool) -> None:
    async def go() -> tuple[Attempt, Diagnosis]:
        profile = load_profile()
        async with BrowserSession() as session, session.context() as context:
            await context.route("**/*", _challenge_site(clears))
            page = await context.new_page()
            # No email: the walk stops at the email page, which is all this needs.
            # The page clears itself after 0.9 s (late enough to be read first on a loaded machine).
            driver = LoginDriver(page, profile, Credentials("", PASSWORD), replace(FAST, challenge_wait_ms=5_000))
            attempt = await driver.run(f"{JP}/ap/signin{SIGN_IN_QUERY}")
            return attempt, classify(attempt.final, attempt.events, profile)

    attempt, diagnosis = run_async(go())
    kinds = [page_kind(p, load_profile()) for p in attempt.pages]
    assert kinds[0] is not None
    assert kinds[0].kind == "waf_challenge"
    if clears:
        assert "email" in [k.kind for k in kinds if k]
        assert diagnosis.verdict is not Verdict.CAPTCHA_CHALLENGE
    else:
        assert (diagnosis.verdict, diagnosis.rule) == (Verdict.CAPTCHA_CHALLENGE, "waf_challenge")
        assert attempt.final is not None
        assert attempt.final.status == 202


# After a script error the driver waits for the page to go quiet, not for a fixed grace: a page that
# throws and then submits once its own request is answered still moves on; one that throws and does
# nothing is a submit without effect, at once.
_THROWS_THEN_SUBMITS = """<script>
window.addEventListener("submit", function (event) {
  event.preventDefault();
  var form = event.target;
  fetch("/ap/token").then(function () { HTMLFormElement.prototype.submit.call(form); });
  window.missingTracker.record("submit");
}, true);
</script>"""
_THROWS_ONLY = """<script>
window.addEventListener("submit", function (event) {
  event.preventDefault();
  window.missingTracker.record("submit");
}, true);
</script>"""


@pytest.mark.parametrize(("script", "moves_on"), [(_THROWS_THEN_SUBMITS, True), (_THROWS_ONLY, False)])
def test_a_submit_that_throws_is_judged_when_the_page_goes_quiet(script: str, moves_on: bool) -> None:
    email_page = html("jp_email.html").replace("</body>", script + "</body>")

    async def go() -> Attempt:
        profile = load_profile()
        async with BrowserSession() as session, session.context() as context:

            async def handle(route: Route) -> None:
                path = urlsplit(route.request.url).path
                if path == "/ap/token":
                    # Answered late: only a driver that waits for the page's own request sees the submit.
                    await asyncio.sleep(2.0)  # longer than any fixed grace the driver once had
                    await route.fulfill(status=200, body="{}", content_type="application/json")
                elif path == "/ap/signin" and route.request.method == "GET":
                    await route.fulfill(status=200, body=email_page, content_type="text/html; charset=utf-8")
                elif path == "/ap/signin":
                    await route.fulfill(
                        status=200, body=html("jp_password.html"), content_type="text/html; charset=utf-8"
                    )
                else:
                    await route.abort()

            await context.route("**/*", handle)
            page = await context.new_page()
            return await LoginDriver(page, profile, Credentials(EMAIL, ""), FAST).run(f"{JP}/ap/signin")

    attempt = run_async(go())
    names = [e.name for e in attempt.events]
    assert "script_error" in names
    kinds = [k.kind for k in (page_kind(p, load_profile()) for p in attempt.pages) if k]
    if moves_on:
        assert "password" in kinds, (kinds, names)
        assert "submit_no_effect" not in names
    else:
        assert "password" not in kinds
        assert "submit_no_effect" in names
