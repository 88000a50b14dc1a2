"""The mock's routes in-process, through Starlette's TestClient."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pyotp
import pytest
from starlette.testclient import TestClient

from fixtures.mock_site import SiteConfig, create_app

from .conftest import EMAIL, PASSWORD, TOTP_SECRET, site_config

JP = "https://sellercentral.amazon.co.jp.localhost"
US = "https://sellercentral.amazon.com.localhost"


def client(config: SiteConfig | None = None, base: str = JP, token: str | None = None) -> TestClient:
    return TestClient(create_app(config or site_config(), admin_token=token), base_url=base, follow_redirects=False)


def csrf(html: str) -> str:
    match = re.search(r'name="appActionToken" value="([^"]+)"', html)
    assert match, "no appActionToken on the page"
    return match.group(1)


def error_text(html: str) -> str:
    match = re.search(r'<span class="a-list-item">([^<]+)</span>', html)
    return match.group(1) if match else ""


@dataclass
class Form:
    """A form on a page: its attributes and its controls' attributes, in order."""

    attrs: dict[str, str]
    controls: list[dict[str, str]] = field(default_factory=list)

    def data(self) -> dict[str, str]:
        """What a browser sends without any click: named fields, checked boxes only, no submit buttons."""
        sent: dict[str, str] = {}
        for control in self.controls:
            kind = control.get("type", "text")
            if "name" not in control or kind in ("submit", "button", "image", "reset"):
                continue
            if kind in ("checkbox", "radio") and "checked" not in control:
                continue
            sent[control["name"]] = control.get("value", "")
        return sent


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._open: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = Form(values)
            self.forms.append(self._open)
        elif tag in ("input", "button", "textarea", "select") and self._open is not None:
            self._open.controls.append({"tag": tag, **values})

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def forms(page: str) -> list[Form]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def find_form(page: str, **attrs: str) -> Form:
    found = [f for f in forms(page) if all(f.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]
    assert found, f"no form with {attrs}"
    return found[0]


def submit(c: TestClient, page: Any, data: dict[str, str] | None = None, **form: str) -> Any:
    """Send a form of ``page`` as a browser would (default: the ``signIn`` form), with ``data`` typed in."""
    chosen = find_form(page.text, **(form or {"name": "signIn"}))
    url = urljoin(str(page.url), chosen.attrs.get("action") or str(page.url))
    payload = {**chosen.data(), **(data or {})}
    if chosen.attrs.get("method", "get").lower() == "post":
        return c.post(url, data=payload)
    return c.get(url, params=payload)


def to_password(c: TestClient) -> Any:
    """The password page, after the email step."""
    page = submit(c, c.get("/ap/signin"), {"email": EMAIL})
    assert 'id="ap_password"' in page.text
    return page


def enter_password(c: TestClient, password: str = PASSWORD, page: Any = None) -> Any:
    return submit(c, page if page is not None else to_password(c), {"password": password})


def to_mfa(c: TestClient) -> Any:
    """The 2-step page, after the email and password steps."""
    response = enter_password(c)
    assert response.status_code == 302
    assert response.headers["location"].startswith("/ap/mfa")
    return c.get(response.headers["location"])


def enter_otp(c: TestClient, mfa_page: Any, code: str, **extra: str) -> Any:
    return submit(c, mfa_page, {"otpCode": code, **extra}, id="auth-mfa-form")


def test_root_redirects_to_openid_sign_in() -> None:
    response = client().get("/")
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    params = parse_qs(location.query)
    assert location.path == "/ap/signin"
    assert params["openid.assoc_handle"] == ["sc_jp_amazon_v2"]
    assert params["openid.mode"] == ["checkid_setup"]
    assert params["language"] == ["ja_JP"]
    assert params["openid.return_to"] == [f"{JP}/home"]


def test_sign_in_page_sets_a_secure_http_only_session_cookie_and_no_store() -> None:
    response = client().get("/ap/signin")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("session-id=")
    for flag in ("HttpOnly", "Secure", "SameSite=lax", "Domain=.amazon.co.jp.localhost"):
        assert flag in cookie
    assert "no-store" in response.headers["cache-control"]
    assert 'id="ap_email"' in response.text
    assert "模擬環境" in response.text


def test_post_without_the_csrf_token_is_refused() -> None:
    c = client()
    page = c.get("/ap/signin")
    refused = c.post("/ap/signin", data={**find_form(page.text, name="signIn").data(), "appActionToken": "forged"})
    assert "セッションの有効期限が切れました" in error_text(refused.text)
    assert 'id="ap_password"' not in refused.text


def test_unknown_email_and_wrong_password_show_the_real_messages() -> None:
    c = client()
    unknown = submit(c, c.get("/ap/signin"), {"email": "nobody@example.jp"})
    assert error_text(unknown.text) == "このEメールアドレスを持つアカウントが見つかりません"
    assert "問題が発生しました" in unknown.text
    wrong = enter_password(c, PASSWORD + " ")
    assert error_text(wrong.text) == "パスワードが正しくありません"


def shown(page: str, element_id: str) -> bool:
    """Whether the element is rendered without a hiding class."""
    match = re.search(rf'<[^>]*id="{element_id}"[^>]*class="([^"]*)"', page)
    assert match, f"#{element_id} is not in the page"
    return not {"aok-hidden", "a-hidden", "hide"} & set(match.group(1).split())


def test_missing_email_shows_the_inline_alert() -> None:
    c = client()
    page = c.get("/ap/signin")
    assert not shown(page.text, "auth-email-missing-alert")
    missing = submit(c, page, {"email": " "})
    assert shown(missing.text, "auth-email-missing-alert")
    assert not shown(missing.text, "auth-password-missing-alert")


def test_session_id_changes_at_login_and_session_cookies_are_set() -> None:
    c = client()
    mfa = to_mfa(c)
    before = c.cookies.get("session-id")
    response = enter_otp(c, mfa, pyotp.TOTP(TOTP_SECRET).now())
    assert response.headers["location"] == "/home"
    names = {h.split("=", 1)[0] for h in response.headers.get_list("set-cookie")}
    assert {"session-id", "session-token", "at-acbjp", "sess-at-acbjp", "x-acbjp", "__Host-mselc"} <= names
    assert c.cookies.get("session-id") != before
    host_cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("__Host-mselc="))
    assert "Domain" not in host_cookie
    assert "Secure" in host_cookie


def test_totp_code_is_accepted_once() -> None:
    app = create_app(site_config())
    c = TestClient(app, base_url=JP, follow_redirects=False)
    mfa = to_mfa(c)
    code = pyotp.TOTP(TOTP_SECRET).now()
    assert enter_otp(c, mfa, code).status_code == 302
    c2 = TestClient(app, base_url=JP, follow_redirects=False)  # same site, a second browser
    replay = enter_otp(c2, to_mfa(c2), code)
    assert replay.status_code == 200
    assert "ワンタイムパスワード（OTP）は無効です" in error_text(replay.text)


@pytest.mark.parametrize(("steps", "accepted"), [(-1, True), (1, True), (-2, False), (2, False)])
def test_totp_allows_one_step_of_drift(steps: int, accepted: bool) -> None:
    c = client()
    mfa = to_mfa(c)
    code = pyotp.TOTP(TOTP_SECRET).at(time.time() + steps * 30)
    response = enter_otp(c, mfa, code)
    assert (response.status_code == 302) is accepted


def test_full_sign_in_through_the_picker_reaches_home() -> None:
    c = client()
    enter_otp(c, to_mfa(c), pyotp.TOTP(TOTP_SECRET).now())
    to_picker = c.get("/home")
    assert to_picker.headers["location"].startswith("/account-switcher/default/merchantMarketplace")
    picker = c.get(to_picker.headers["location"])
    assert "アカウントを選択" in picker.text
    value = re.search(r'name="merchantMarketplace" value="([^"]+)"', picker.text)
    anti = re.search(r'name="anti-csrftoken-a2z" value="([^"]+)"', picker.text)
    assert value
    assert anti
    chosen = c.post(
        "/account-switcher/default/merchantMarketplace",
        data={"anti-csrftoken-a2z": anti.group(1), "merchantMarketplace": value.group(1), "returnTo": "/home"},
    )
    assert "mons_sel_mkid=A1VC38T7YXB528" in chosen.headers["location"]
    home = c.get(chosen.headers["location"])
    assert home.status_code == 200
    assert '<meta name="anti-csrftoken-a2z"' in home.text
    assert "さくら雑貨店 さん、こんにちは" in home.text


def test_conflicting_session_tokens_send_the_browser_back_to_sign_in() -> None:
    c = client()
    enter_otp(c, to_mfa(c), pyotp.TOTP(TOTP_SECRET).now())
    assert c.get("/home").status_code == 302  # to the picker: signed in
    assert c.get("/home").headers["location"].startswith("/account-switcher")
    session_id, session_token = c.cookies.get("session-id"), c.cookies.get("session-token")
    raw = f"session-id={session_id}; session-token=old-copy-from-2023; session-token={session_token}"
    back = c.get("/home", headers={"cookie": raw})
    assert back.headers["location"].startswith("/ap/signin")


def test_repeated_wrong_passwords_bring_a_captcha_then_a_lock() -> None:
    c = client(SiteConfig.model_validate({**site_config().model_dump(), "captcha_after": 2, "lock_after": 4}))
    first = enter_password(c, "nope")
    assert 'id="auth-captcha-image"' not in first.text
    second = enter_password(c, "nope", first)
    assert 'id="auth-captcha-image"' in second.text
    assert 'id="auth-warning-message-box"' in second.text
    # The right password without the characters is still refused.
    third = enter_password(c, PASSWORD, second)
    assert "画像に表示されている文字" in error_text(third.text)
    locked = enter_password(c, PASSWORD, third)
    assert "ロックされています" in locked.text


def test_return_to_on_another_host_is_ignored() -> None:
    c = client()
    page = c.get("/ap/signin", params={"openid.return_to": "https://evil.example/steal"})
    password_page = submit(c, page, {"email": EMAIL})
    moved = enter_password(c, PASSWORD, password_page)
    response = enter_otp(c, c.get(moved.headers["location"]), pyotp.TOTP(TOTP_SECRET).now())
    assert response.headers["location"] == "/home"


def test_us_host_speaks_english_and_has_no_japanese_accounts() -> None:
    c = client(base=US)
    page = c.get("/ap/signin")
    assert '<html lang="en">' in page.text
    refused = submit(c, page, {"email": EMAIL})
    assert error_text(refused.text) == "We cannot find an account with that email address"
    assert "There was a problem" in refused.text


def test_unknown_host_is_misdirected() -> None:
    assert client(base="https://www.example.localhost").get("/").status_code == 421


def test_sign_in_script_is_cached_for_a_year() -> None:
    response = client().get("/ap/static/signin.js")
    assert response.headers["cache-control"] == "public, max-age=31536000"
    assert "metadata1" in response.text


def test_admin_api_needs_the_token_and_replaces_the_state() -> None:
    c = client(token="s3cret-token")
    assert c.get("/__mock__/health").json() == {"ok": True}
    state = {"accounts": [{"email": "new@example.jp", "password": "pw-new-1", "two_step": "none"}]}
    assert c.put("/__mock__/state", json=state).status_code == 401
    headers = {"authorization": "Bearer s3cret-token"}
    assert c.put("/__mock__/state", json={"accounts": [{"bogus": 1}]}, headers=headers).status_code == 422
    assert c.put("/__mock__/state", json=state, headers=headers).json() == {"accounts": 1}
    page = submit(c, c.get("/ap/signin"), {"email": "new@example.jp"})
    assert 'id="ap_password"' in page.text


def test_admin_api_is_off_without_a_token() -> None:
    assert client().put("/__mock__/state", json={}).status_code == 404


def test_wrong_codes_count_toward_the_lock_and_a_right_password_does_not_wipe_them() -> None:
    config = SiteConfig.model_validate({**site_config().model_dump(), "lock_after": 3})
    c = client(config)
    for _ in range(2):
        refused = enter_otp(c, to_mfa(c), "000000")
        assert refused.status_code == 200
        assert "ワンタイムパスワード（OTP）は無効です" in error_text(refused.text)
    locked = enter_otp(c, to_mfa(c), "000000")
    assert "ロックされています" in locked.text
    again = enter_password(c)  # the right password, on a locked account
    assert "ロックされています" in again.text
