"""The mock's routes in-process, through Starlette's TestClient."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

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


def to_password(c: TestClient) -> str:
    token = csrf(c.get("/ap/signin").text)
    page = c.post("/ap/signin", data={"appActionToken": token, "email": EMAIL})
    assert 'id="ap_password"' in page.text
    return token


def to_mfa(c: TestClient) -> str:
    token = to_password(c)
    response = c.post("/ap/signin", data={"appActionToken": token, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["location"].startswith("/ap/mfa")
    return token


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
    c.get("/ap/signin")
    page = c.post("/ap/signin", data={"appActionToken": "forged", "email": EMAIL})
    assert "セッションの有効期限が切れました" in error_text(page.text)
    assert 'id="ap_password"' not in page.text


def test_unknown_email_and_wrong_password_show_the_real_messages() -> None:
    c = client()
    token = csrf(c.get("/ap/signin").text)
    unknown = c.post("/ap/signin", data={"appActionToken": token, "email": "nobody@example.jp"})
    assert error_text(unknown.text) == "このEメールアドレスを持つアカウントが見つかりません"
    assert "問題が発生しました" in unknown.text
    token = to_password(c)
    wrong = c.post("/ap/signin", data={"appActionToken": token, "password": PASSWORD + " "})
    assert error_text(wrong.text) == "パスワードが正しくありません"


def test_missing_email_shows_the_inline_alert() -> None:
    c = client()
    page = c.post("/ap/signin", data={"appActionToken": csrf(c.get("/ap/signin").text), "email": " "})
    assert re.search(r'id="auth-email-missing-alert"[^>]*role="alert"\s*>', page.text)


def test_session_id_changes_at_login_and_session_cookies_are_set() -> None:
    c = client()
    token = to_mfa(c)
    before = c.cookies.get("session-id")
    response = c.post("/ap/mfa", data={"appActionToken": token, "otpCode": pyotp.TOTP(TOTP_SECRET).now()})
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
    token = to_mfa(c)
    code = pyotp.TOTP(TOTP_SECRET).now()
    assert c.post("/ap/mfa", data={"appActionToken": token, "otpCode": code}).status_code == 302
    c2 = TestClient(app, base_url=JP, follow_redirects=False)  # same site, a second browser
    token2 = to_mfa(c2)
    replay = c2.post("/ap/mfa", data={"appActionToken": token2, "otpCode": code})
    assert replay.status_code == 200
    assert "ワンタイムパスワード（OTP）は無効です" in error_text(replay.text)


@pytest.mark.parametrize(("steps", "accepted"), [(-1, True), (1, True), (-2, False), (2, False)])
def test_totp_allows_one_step_of_drift(steps: int, accepted: bool) -> None:
    c = client()
    token = to_mfa(c)
    code = pyotp.TOTP(TOTP_SECRET).at(time.time() + steps * 30)
    response = c.post("/ap/mfa", data={"appActionToken": token, "otpCode": code})
    assert (response.status_code == 302) is accepted


def test_full_sign_in_through_the_picker_reaches_home() -> None:
    c = client()
    token = to_mfa(c)
    c.post("/ap/mfa", data={"appActionToken": token, "otpCode": pyotp.TOTP(TOTP_SECRET).now()})
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
    token = to_mfa(c)
    c.post("/ap/mfa", data={"appActionToken": token, "otpCode": pyotp.TOTP(TOTP_SECRET).now()})
    assert c.get("/home").status_code == 302  # to the picker: signed in
    assert c.get("/home").headers["location"].startswith("/account-switcher")
    session_id, session_token = c.cookies.get("session-id"), c.cookies.get("session-token")
    raw = f"session-id={session_id}; session-token=old-copy-from-2023; session-token={session_token}"
    back = c.get("/home", headers={"cookie": raw})
    assert back.headers["location"].startswith("/ap/signin")


def test_repeated_wrong_passwords_bring_a_captcha_then_a_lock() -> None:
    c = client(SiteConfig.model_validate({**site_config().model_dump(), "captcha_after": 2, "lock_after": 4}))
    token = to_password(c)
    first = c.post("/ap/signin", data={"appActionToken": token, "password": "nope"})
    assert 'id="auth-captcha-image"' not in first.text
    second = c.post("/ap/signin", data={"appActionToken": token, "password": "nope"})
    assert 'id="auth-captcha-image"' in second.text
    assert 'id="auth-warning-message-box"' in second.text
    # The right password without the characters is still refused.
    third = c.post("/ap/signin", data={"appActionToken": token, "password": PASSWORD})
    assert "画像に表示されている文字" in error_text(third.text)
    locked = c.post("/ap/signin", data={"appActionToken": token, "password": PASSWORD})
    assert "ロックされています" in locked.text


def test_return_to_on_another_host_is_ignored() -> None:
    c = client()
    c.get("/ap/signin", params={"openid.return_to": "https://evil.example/steal"})
    token = csrf(c.get("/ap/signin", params={"openid.return_to": "https://evil.example/steal"}).text)
    c.post("/ap/signin", data={"appActionToken": token, "email": EMAIL})
    c.post("/ap/signin", data={"appActionToken": token, "password": PASSWORD})
    response = c.post("/ap/mfa", data={"appActionToken": token, "otpCode": pyotp.TOTP(TOTP_SECRET).now()})
    assert response.headers["location"] == "/home"


def test_us_host_speaks_english_and_has_no_japanese_accounts() -> None:
    c = client(base=US)
    page = c.get("/ap/signin")
    assert '<html lang="en">' in page.text
    refused = c.post("/ap/signin", data={"appActionToken": csrf(page.text), "email": EMAIL})
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
    page = c.post("/ap/signin", data={"appActionToken": csrf(c.get("/ap/signin").text), "email": "new@example.jp"})
    assert 'id="ap_password"' in page.text


def test_admin_api_is_off_without_a_token() -> None:
    assert client().put("/__mock__/state", json={}).status_code == 404
