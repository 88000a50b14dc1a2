"""Journeys: what people do on the site around a sign-in, walked in a real browser.

Turning 2-step verification on, adding or removing a method, inviting a user
and setting their permissions, the contact form, a password change. Each step
acts like a person: it opens the page, fills what the page asks for (controls
found inside their form, visible only, from the profile's ``journeys:``
section), reads codes from the phone or the mailbox page, and records what it
saw (the URL, the visible headings and alerts). Nothing here reads the site's
internals; the harness checks the site's state afterwards, never the walkers.

The sign-in itself is the probe's diagnosis (``probe.diagnosis``); the steps
that need a signed-in browser let the login driver sign in first.
"""

from __future__ import annotations

import base64
import re
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree as ET

import structlog
from playwright.async_api import BrowserContext, Locator, Page, Response
from playwright.async_api import Error as PlaywrightError

from .classify import page_kind
from .flow import Credentials, DriverOptions, LoginDriver, visible_control
from .mailbox import Inbox, InboxCodes
from .otp import OtpSource
from .profile import FormControls, JourneyPages, Profile
from .redact import SECRETS
from .signals import read_page
from .state import CodeLedger

log = structlog.get_logger("probe.journeys")

MAX_PAGES = 12  # pages one step may walk through before it gives up
_SIGN_IN_ACTIONS = ("enter_email", "enter_password", "enter_otp", "choose_otp_method", "enter_verification_code")


class JourneyProblem(Exception):
    """A step could not be walked: a control missing, a page it does not know, a code that never came."""


@dataclass
class Sighting:
    """What one step ended on: the page and what a person saw there."""

    step: int
    do: str
    url: str
    status: int | None = None
    saw: list[str] = field(default_factory=list)
    ok: bool = True
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {
            "step": self.step,
            "do": self.do,
            "url": self.url,
            "status": self.status,
            "saw": self.saw,
            "ok": self.ok,
            "note": self.note,
        }
        redacted: dict[str, Any] = SECRETS.redact_obj(data)
        return redacted


def strong_password() -> str:
    """A new password no one used before: long, four character classes, registered as a secret."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(14))
    password = f"Pb{body}-{secrets.randbelow(90) + 10}x"
    SECRETS.add(password)
    return password


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


class World:
    """What the people of a journey know: their credentials, phones, mailboxes, codes handed over."""

    def __init__(
        self,
        profile: Profile,
        url_for: Callable[[str, str], str],
        *,
        mail_origin: str | None,
        people: dict[str, Credentials],
        home_host: str,
    ) -> None:
        if profile.journeys is None:
            raise JourneyProblem("the profile has no `journeys:` section")
        self.profile = profile
        self.pages: JourneyPages = profile.journeys
        self.url_for = url_for
        self.mail_origin = mail_origin
        self.people = {email.lower(): creds for email, creds in people.items()}
        self.home_host = home_host
        self.phones: dict[str, InboxCodes] = {}
        self.confirmation_codes: dict[str, str] = {}
        self.contact: dict[str, str] | None = None  # the last sign-in's contact draft

    def person(self, email: str, password: str | None = None) -> Credentials:
        creds = self.people.get(email.lower())
        if creds is None:
            creds = Credentials(email=email, password=password or "")
            self.people[email.lower()] = creds
        elif password is not None and password != creds.password:
            creds.password = password
            SECRETS.add(password)
        return creds

    def phone_codes(self, phone: str) -> InboxCodes:
        digits = _digits(phone)
        if self.mail_origin is None:
            raise JourneyProblem("no phone to read codes from")
        if digits not in self.phones:
            inbox = Inbox(f"{self.mail_origin}/sms?to={quote(digits)}")
            self.phones[digits] = InboxCodes(inbox, self.profile.mailbox.otp_pattern)
        return self.phones[digits]

    def mailbox(self, email: str) -> Inbox:
        if self.mail_origin is None:
            raise JourneyProblem("no mailbox to read")
        return Inbox(f"{self.mail_origin}/inbox?to={quote(email)}")

    def buyer_url(self, path_name: str) -> str:
        return self.url_for(self.pages.buyer_host, self.pages.paths[path_name])

    def seller_url(self, path: str) -> str:
        return self.url_for(self.home_host, path)


class Walker:
    """One browser page walked by a person, with the profile's controls."""

    def __init__(self, page: Page, profile: Profile, options: DriverOptions | None = None) -> None:
        if profile.journeys is None:
            raise JourneyProblem("the profile has no `journeys:` section")
        self.page = page
        self.profile = profile
        self.pages: JourneyPages = profile.journeys
        self.options = options or DriverOptions()
        self.status: int | None = None
        page.on("response", self._on_response)
        page.on("dialog", lambda dialog: dialog.accept())  # a confirm() box: the person says yes

    def _on_response(self, response: Response) -> None:
        request = response.request
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.status = response.status

    # -- finding controls ----------------------------------------------------------

    def _controls(self, name: str) -> FormControls:
        return self.pages.forms[name]

    async def _form(self, name: str) -> Locator | None:
        forms = self.page.locator(self._controls(name).form)
        count = await forms.count()
        if count > 1:
            raise JourneyProblem(f"{name}: {count} forms match {self._controls(name).form} at {self.page.url}")
        return forms if count == 1 else None

    async def find(self, name: str, control: str) -> Locator | None:
        """The one visible ``control`` inside the ``name`` form; None when there is none."""
        form = await self._form(name)
        if form is None:
            return None
        found = visible_control(form, self._controls(name), control)
        count = await found.count()
        if count > 1:
            raise JourneyProblem(f"{control} of {name}: {count} visible elements at {self.page.url}")
        return found if count == 1 else None

    async def need(self, name: str, control: str) -> Locator:
        found = await self.find(name, control)
        if found is None:
            controls = self._controls(name)
            selector = controls.submit if control == "submit" else controls.fields.get(control, "?")
            raise JourneyProblem(f"{control} of {name} ({selector} in {controls.form}) not found at {self.page.url}")
        return found

    async def text_of(self, selector_name: str) -> str | None:
        found = self.page.locator(self.pages.selectors[selector_name]).filter(visible=True)
        if await found.count() != 1:
            return None
        return (await found.inner_text()).strip()

    # -- acting --------------------------------------------------------------------

    async def goto(self, url: str) -> None:
        try:
            await self.page.goto(url, timeout=self.options.navigation_timeout_ms)
        except PlaywrightError as exc:
            raise JourneyProblem(f"could not open {url}: {str(exc).splitlines()[0][:160]}") from exc

    async def click(self, control: Locator, what: str) -> None:
        """Click and wait for the page it leads to."""
        try:
            async with self.page.expect_navigation(timeout=self.options.navigation_timeout_ms):
                await control.click(timeout=self.options.action_timeout_ms)
        except PlaywrightError as exc:
            raise JourneyProblem(f"{what}: {str(exc).splitlines()[0][:160]} at {self.page.url}") from exc

    async def fill(self, control: Locator, value: str) -> None:
        await control.fill(value, timeout=self.options.action_timeout_ms)

    async def submit(self, name: str) -> None:
        await self.click(await self.need(name, "submit"), f"submit of {name}")

    async def signed_in_at(self, url: str, creds: Credentials) -> None:
        """Open ``url``; when the site asks to sign in first, the login driver does it, then ``url`` again."""
        attempt = await LoginDriver(self.page, self.profile, creds, self.options).run(url)
        want = urlsplit(url).path
        if urlsplit(self.page.url).path != want:
            final = attempt.final
            kind = page_kind(final, self.profile) if final is not None else None
            if kind is not None and kind.action in _SIGN_IN_ACTIONS:
                raise JourneyProblem(f"the sign-in as {creds.email} did not get through (stopped at {self.page.url})")
            await self.goto(url)

    async def is_sign_in_page(self) -> bool:
        signals = await read_page(self.page, self.profile, None)
        kind = page_kind(signals, self.profile)
        return kind is not None and kind.action in _SIGN_IN_ACTIONS

    # -- what the person saw ---------------------------------------------------------

    async def sighting(self, step: int, do: str) -> Sighting:
        try:
            signals = await read_page(self.page, self.profile, self.status)
            seen = [*signals.headings, *signals.alerts]
            for name in ("two_step_success", "field_error", "ticket"):
                found = self.page.locator(self.pages.selectors[name]).filter(visible=True)
                seen += [t.strip() for t in await found.all_inner_texts() if t.strip()]
        except PlaywrightError as exc:
            return Sighting(step, do, self.page.url, self.status, [], False, str(exc).splitlines()[0][:160])
        unique = list(dict.fromkeys(SECRETS.redact(t) for t in seen))
        return Sighting(step, do, self.page.url, self.status, unique)


# -- 2-step verification on the buyer account ----------------------------------------------


async def walk_two_step(
    w: Walker,
    world: World,
    creds: Credentials,
    *,
    method: str,
    start: str | None,
    phone: str = "",
    remember: bool = False,
) -> None:
    """Turn 2-step verification on (``start="enable"``) or add a method (``add_phone``/``add_app``).

    With ``start=None`` the walk goes on from the page the browser is on (a set-up
    the site sent the person to). The person's credentials gain the new method.
    """
    if start is not None:
        await w.signed_in_at(world.buyer_url("two_step_settings"), creds)
        await w.click(await w.need("two_step_settings", start), f"{start} on the 2-step settings")
    verified = False
    source: OtpSource | None = None
    for _ in range(MAX_PAGES):
        code_box = await w.find("two_step_code", "code")
        if code_box is not None:
            if method == "app":
                source = source or await _app_secret(w, creds)
                code = await source.next_code(site=_origin(w.page.url))
            else:
                found = await world.phone_codes(phone).next_code(w.page.context)
                if found is None:
                    raise JourneyProblem(f"no code arrived on the phone {phone}")
                code = found
            await w.fill(code_box, code)
            await w.submit("two_step_code")
            verified = True
            continue
        number = await w.find("two_step_phone", "number")
        if number is not None:
            await w.fill(number, phone)
            delivery = await w.find("two_step_phone", "voice" if method == "voice" else "sms")
            if delivery is not None:
                await delivery.check(timeout=w.options.action_timeout_ms)
            await w.submit("two_step_phone")
            continue
        choice = await w.find("two_step_method", "app" if method == "app" else "phone")
        if choice is not None:
            await choice.check(timeout=w.options.action_timeout_ms)
            await w.submit("two_step_method")
            continue
        link = await w.find("two_step_method_link", "app") if method == "app" else None
        if link is not None:
            await w.click(link, "the authenticator app choice")
            continue
        if await w.find("two_step_enable", "submit") is not None:
            box = await w.find("two_step_enable", "remember")
            if remember and box is not None:
                await box.check(timeout=w.options.action_timeout_ms)
            await w.submit("two_step_enable")
            break
        start_link = await w.find("two_step_start", "start")
        if start_link is not None:
            await w.click(start_link, "start of the 2-step set-up")
            continue
        if verified:
            break  # a method added to an account that had 2-step on: back on the settings
        enable = await w.find("two_step_settings", "enable")
        if enable is not None:
            await w.click(enable, "turn 2-step on")
            continue
        raise JourneyProblem(f"a page the 2-step set-up does not know: {w.page.url}")
    else:
        raise JourneyProblem("the 2-step set-up did not end")
    if not verified:
        raise JourneyProblem("the 2-step set-up ended before a code was confirmed")
    if source is not None:
        creds.totp = source
    elif creds.sms is None:
        creds.sms = world.phone_codes(phone)
    creds.remember_device = creds.remember_device or remember


async def _app_secret(w: Walker, creds: Credentials) -> OtpSource:
    """The authenticator's secret as the page shows it for typing in by hand."""
    text = await w.text_of("secret")
    if not text:
        raise JourneyProblem(f"no authenticator secret shown at {w.page.url}")
    secret = re.sub(r"\s+", "", text).upper()
    SECRETS.add(text, secret)
    source = OtpSource(secret, ledger=CodeLedger.in_memory())
    source.account = creds.email
    return source


async def new_authenticator(w: Walker, world: World, creds: Credentials) -> None:
    """Turn 2-step verification on with an authenticator app: the enable_two_step remedy."""
    await walk_two_step(w, world, creds, method="app", start="enable")


async def two_step_remove(w: Walker, world: World, creds: Credentials, method: str) -> None:
    await w.signed_in_at(world.buyer_url("two_step_settings"), creds)
    controls = w.pages.forms["two_step_settings"]
    form = await w._form("two_step_settings")
    if form is None:
        raise JourneyProblem(f"no 2-step settings at {w.page.url}")
    rows = form.locator(f'{controls.fields["method_row"]}[data-method="{method}"]').filter(visible=True)
    if await rows.count() != 1:
        raise JourneyProblem(f"{await rows.count()} rows for the method {method} at {w.page.url}")
    button = rows.locator(controls.fields["remove"]).filter(visible=True)
    if await button.count() != 1:
        raise JourneyProblem(f"no remove button for the method {method}")
    await w.click(button, f"remove {method}")
    await w.click(await w.need("two_step_confirm", "remove"), "confirm the removal")
    if method == "totp":
        creds.totp = None


async def two_step_off(w: Walker, world: World, creds: Credentials) -> None:
    await w.signed_in_at(world.buyer_url("two_step_settings"), creds)
    await w.click(await w.need("two_step_settings", "disable"), "turn 2-step off")
    await w.click(await w.need("two_step_confirm", "disable"), "confirm turning 2-step off")


# -- passwords -------------------------------------------------------------------------------


async def change_password(w: Walker, world: World, creds: Credentials, new: str) -> bool:
    """ログインとセキュリティ → パスワード; True when the site took the new password."""
    SECRETS.add(new)
    await w.signed_in_at(world.buyer_url("change_password"), creds)
    await w.fill(await w.need("change_password", "current"), creds.password)
    await w.fill(await w.need("change_password", "new"), new)
    await w.fill(await w.need("change_password", "check"), new)
    await w.submit("change_password")
    taken = await w.find("change_password", "new") is None
    if taken:
        creds.password = new
    return taken


async def reset_password(w: Walker, creds: Credentials, new: str) -> bool:
    """The reset the site demands, from the page the browser is on: email, the mailed code, a new password."""
    if creds.mail is None:
        raise JourneyProblem("the reset code goes to the mailbox, which the probe cannot read")
    email = await w.find("reset_request", "email")
    if email is None:
        raise JourneyProblem(f"no password reset form at {w.page.url}")
    await w.fill(email, creds.email)
    await w.submit("reset_request")
    box = await w.need("reset_code", "code")
    code = await creds.mail.next_code(w.page.context)
    if code is None:
        raise JourneyProblem("no reset code arrived in the mailbox")
    await w.fill(box, code)
    await w.submit("reset_code")
    await w.fill(await w.need("reset_new_password", "password"), new)
    await w.fill(await w.need("reset_new_password", "check"), new)
    await w.submit("reset_new_password")
    if await w.find("reset_new_password", "password") is not None:
        return False  # refused: the page asks again, with its reason
    creds.password = new
    return True


# -- user permissions ----------------------------------------------------------------------


async def invite_user(w: Walker, world: World, creds: Credentials, name: str, email: str) -> None:
    await w.signed_in_at(world.seller_url(w.pages.paths["user_permissions"]), creds)
    await w.fill(await w.need("invite", "name"), name)
    await w.fill(await w.need("invite", "email"), email)
    await w.submit("invite")


async def accept_invitation(w: Walker, world: World, email: str, password: str, name: str) -> None:
    """The invitee opens the mail's link, creates the account, sets up 2-step, and notes the confirmation code."""
    creds = world.person(email, password)
    text = await world.mailbox(email).read(w.page.context)
    found = re.findall(w.pages.patterns["invitation_link"], text)
    if not found:
        raise JourneyProblem(f"no invitation link in the mailbox of {email}")
    link = urlsplit(unquote(found[0]))
    url = world.url_for(world.profile.canonical_host(link.hostname or ""), link.path) + f"?{link.query}"
    await w.goto(url)
    for _ in range(MAX_PAGES):
        code = await w.text_of("confirmation_code")
        if code:
            SECRETS.add(code)
            world.confirmation_codes[email.lower()] = code
            return
        if await w.find("register", "password") is not None:
            await w.fill(await w.need("register", "name"), name)
            await w.fill(await w.need("register", "password"), password)
            await w.fill(await w.need("register", "check"), password)
            await w.submit("register")
            continue
        if await w.is_sign_in_page():
            await w.signed_in_at(url, creds)
            continue
        setup = await w.find("invitation", "setup")
        if setup is not None:
            await w.click(setup, "set up 2-step verification for the invitation")
        if setup is not None or await _on_two_step_set_up(w):
            await walk_two_step(w, world, creds, method="app", start=None)
            await w.goto(url)
            continue
        raise JourneyProblem(f"a page the invitation does not lead to: {w.page.url}")
    raise JourneyProblem("the invitation did not end on a confirmation code")


async def _on_two_step_set_up(w: Walker) -> bool:
    checks = (
        ("two_step_settings", "enable"),
        ("two_step_start", "start"),
        ("two_step_method", "app"),
        ("two_step_method_link", "app"),
        ("two_step_code", "code"),
    )
    for name, control in checks:
        found = await w.find(name, control)
        if found is not None:
            if name == "two_step_settings":
                await w.click(found, "turn 2-step on")
            return True
    return False


async def confirm_invitation(w: Walker, world: World, creds: Credentials, email: str) -> None:
    code = world.confirmation_codes.get(email.lower())
    if code is None:
        raise JourneyProblem(f"{email} gave no confirmation code (accept_invitation first)")
    await w.signed_in_at(world.seller_url(w.pages.paths["user_permissions"]), creds)
    controls = w.pages.forms["pending_invitation"]
    form = await w._form("pending_invitation")
    if form is None:
        raise JourneyProblem(f"no pending invitations at {w.page.url}")
    row = form.locator(controls.fields["row"]).filter(visible=True, has_text=email)
    if await row.count() != 1:
        raise JourneyProblem(f"{await row.count()} pending invitations for {email}")
    await w.fill(row.locator(controls.fields["code"]), code)
    await w.click(row.locator(controls.fields["confirm"]), "confirm the invitation")


async def set_permissions(w: Walker, world: World, creds: Credentials, email: str, rights: dict[str, str]) -> None:
    await w.signed_in_at(world.seller_url(w.pages.paths["permissions"]) + f"?user={quote(email)}", creds)
    form = await w._form("permissions")
    if form is None:
        raise JourneyProblem(f"no permissions table at {w.page.url}")
    rows = w.pages.forms["permissions"].fields["row"]
    for tool, level in rights.items():
        row = form.locator(rows).filter(visible=True).and_(form.locator(f'[data-tool="{tool}"]'))
        radios = row.locator(f'input[type=radio][value="{level}"]').filter(visible=True)
        count = await radios.count()
        if count == 0:
            raise JourneyProblem(f"no {level!r} choice for {tool} at {w.page.url}")
        for i in range(count):
            await radios.nth(i).check(timeout=w.options.action_timeout_ms)
    await w.submit("permissions")


async def revoke(w: Walker, world: World, creds: Credentials, email: str) -> None:
    await w.signed_in_at(world.seller_url(w.pages.paths["permissions"]) + f"?user={quote(email)}", creds)
    await w.click(await w.need("revoke", "revoke"), "remove the access")
    confirm = await w.find("revoke", "confirm")
    if confirm is not None:
        await w.click(confirm, "confirm removing the access")


async def open_tool(w: Walker, world: World, creds: Credentials, tool: str) -> None:
    await w.signed_in_at(world.seller_url(w.pages.paths[f"tool_{tool}"]), creds)


# -- the contact form ---------------------------------------------------------------------


async def contact_form(w: Walker, world: World, fields: dict[str, str | None], solve_captcha: bool) -> None:
    """お問い合わせ without signing in: the form filled as given, the captcha read off its image."""
    await w.goto(world.seller_url(w.pages.paths["contact"]))
    topic = fields.get("topic")
    if topic:
        await (await w.need("contact", "topic")).select_option(topic, timeout=w.options.action_timeout_ms)
    for name in ("store", "email", "message"):
        value = fields.get(name)
        if value:
            await w.fill(await w.need("contact", name), value)
    if solve_captcha:
        image = await w.need("contact", "captcha_image")
        answer = _read_captcha(await image.get_attribute("src") or "")
        if answer is None:
            raise JourneyProblem("the captcha image is a picture the probe cannot read; a person must type it")
        await w.fill(await w.need("contact", "captcha"), answer)
    await w.submit("contact")


def _read_captcha(src: str) -> str | None:
    """The characters of a vector captcha (an SVG whose letters are text), in the order drawn."""
    if not src.startswith("data:image/svg+xml"):
        return None
    header, _, data = src.partition(",")
    try:
        svg = base64.b64decode(data).decode() if header.endswith(";base64") else unquote(data)
        root = ET.fromstring(svg)
    except (ValueError, ET.ParseError):
        return None
    letters = [(float(el.get("x", "0")), el.text or "") for el in root.iter() if el.tag.endswith("text")]
    return "".join(text for _, text in sorted(letters)).strip() or None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- the steps by name -----------------------------------------------------------------------

StepRunner = Callable[[Walker, World, Credentials, Any], Awaitable[None]]


async def _setup(w: Walker, world: World, creds: Credentials, step: Any) -> None:
    await walk_two_step(w, world, creds, method=step.method, start="enable", phone=step.phone, remember=step.remember)


async def _add(w: Walker, world: World, creds: Credentials, step: Any) -> None:
    start = "add_app" if step.method == "app" else "add_phone"
    await walk_two_step(w, world, creds, method=step.method, start=start, phone=step.phone)


async def _change(w: Walker, world: World, creds: Credentials, step: Any) -> None:
    await change_password(w, world, creds, step.new)


STEPS: dict[str, StepRunner] = {
    "two_step_setup": _setup,
    "two_step_add": _add,
    "two_step_remove": lambda w, world, creds, step: two_step_remove(w, world, creds, step.method),
    "two_step_off": lambda w, world, creds, step: two_step_off(w, world, creds),
    "invite_user": lambda w, world, creds, step: invite_user(w, world, creds, step.name, step.email),
    "accept_invitation": lambda w, world, creds, step: accept_invitation(
        w, world, step.email, step.password, step.name
    ),
    "confirm_invitation": lambda w, world, creds, step: confirm_invitation(w, world, creds, step.email),
    "set_permissions": lambda w, world, creds, step: set_permissions(
        w, world, creds, step.email, {str(k): str(v) for k, v in step.rights.items()}
    ),
    "revoke": lambda w, world, creds, step: revoke(w, world, creds, step.email),
    "open_tool": lambda w, world, creds, step: open_tool(w, world, creds, step.tool),
    "change_password": _change,
}


async def run_step(
    context: BrowserContext, world: World, creds: Credentials, step: Any, number: int, options: DriverOptions
) -> Sighting:
    """Walk one step (not ``sign_in`` or ``move_clock``, which the harness runs) and say what it ended on."""
    page = await context.new_page()
    w = Walker(page, world.profile, options)
    try:
        try:
            if step.do == "contact_form":
                fields: dict[str, str | None] = dict(world.contact or {}) if step.from_result else {}
                if step.from_result and world.contact:
                    fields["message"] = world.contact.get("message_ja")
                for name in ("topic", "store", "email", "message"):
                    if getattr(step, name) is not None:
                        fields[name] = getattr(step, name)
                await contact_form(w, world, fields, step.solve_captcha)
            else:
                await STEPS[step.do](w, world, creds, step)
        except (JourneyProblem, PlaywrightError) as exc:
            note = SECRETS.redact(str(exc).splitlines()[0][:300])
            log.info("step_failed", step=number, do=step.do, problem=note)
            seen = await w.sighting(number, step.do)
            seen.ok, seen.note = False, note
            return seen
        seen = await w.sighting(number, step.do)
        log.info("step", step=number, do=step.do, url=seen.url)
        return seen
    finally:
        await page.close()
