"""The mock driven by a real Chromium through pytest-playwright, the way a seller clicks."""

from __future__ import annotations

import re

import pyotp
from playwright.sync_api import Page, expect

from fixtures.mock_site import JP, US, MockServer

from .conftest import EMAIL, PASSWORD, TOTP_SECRET


def sign_in(page: Page, mock: MockServer, password: str = PASSWORD) -> None:
    page.goto(mock.url(JP))
    page.locator("#ap_email").fill(EMAIL)
    page.locator("form[name=signIn]").get_by_role("button", name="続行").click()
    expect(page.locator("#auth-email-claim")).to_have_text(EMAIL)
    page.locator("#ap_password").fill(password)
    page.locator("#signInSubmit").click()


def test_seller_signs_in_with_totp_and_picks_the_japanese_account(page: Page, mock: MockServer) -> None:
    sign_in(page, mock)
    expect(page).to_have_url(re.compile(r"/ap/mfa"))
    expect(page.get_by_role("heading", name="2段階認証")).to_be_visible()
    page.locator("#auth-mfa-otpcode").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.locator("#auth-mfa-remember-device").check()
    page.locator("#auth-signin-button").click()
    expect(page.get_by_role("heading", name="アカウントを選択")).to_be_visible()
    page.get_by_role("button", name="アカウントを選択").click()
    expect(page).to_have_url(re.compile(r"/home\?mons_sel_mkid=A1VC38T7YXB528"))
    expect(page.get_by_role("heading", name="さくら雑貨店 さん、こんにちは")).to_be_visible()
    names = {c["name"] for c in page.context.cookies()}
    assert {"session-id", "session-token", "at-acbjp", "__Host-mons-selections", "__Host-mselc"} <= names


def test_remembered_browser_skips_the_code_next_time(page: Page, mock: MockServer) -> None:
    sign_in(page, mock)
    page.locator("#auth-mfa-otpcode").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.locator("#auth-mfa-remember-device").check()
    page.locator("#auth-signin-button").click()
    expect(page.get_by_role("heading", name="アカウントを選択")).to_be_visible()
    page.goto(mock.url(JP, "/ap/signout"))
    sign_in(page, mock)
    expect(page.get_by_role("heading", name="アカウントを選択")).to_be_visible()


def test_wrong_password_shows_the_error_box_in_japanese(page: Page, mock: MockServer) -> None:
    sign_in(page, mock, password="Sakura-Zakka-2023!")
    box = page.locator("#auth-error-message-box")
    expect(box.locator(".a-alert-heading")).to_have_text("問題が発生しました")
    expect(box.locator(".a-alert-content")).to_have_text("パスワードが正しくありません")
    expect(page.locator(".mock-badge")).to_have_text("模擬環境")


def test_sign_in_script_adds_browser_metadata_to_the_form(page: Page, mock: MockServer) -> None:
    page.goto(mock.url(JP, "/ap/signin"))
    page.locator("#ap_email").fill(EMAIL)
    with page.expect_request(lambda r: r.method == "POST") as posted:
        page.locator("form[name=signIn]").get_by_role("button", name="続行").click()
    assert "metadata1=" in (posted.value.post_data or "")


def test_the_us_host_is_in_english(page: Page, mock: MockServer) -> None:
    page.goto(mock.url(US))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Continue")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"
