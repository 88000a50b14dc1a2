"""The mock's real-structure sign-in pages in a real Chromium: scripts, duplicate ids, challenges."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from playwright.sync_api import Browser, Page, expect

from fixtures.mock_site import JP, US, MockServer, SiteConfig

from .conftest import EMAIL, PASSWORD, TOTP_SECRET, site_config

CONTEXT = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}


def config(*, site: dict[str, Any] | None = None, **account: Any) -> SiteConfig:
    return SiteConfig.model_validate({**site_config(**account).model_dump(), **(site or {})})


def press(page: Page, form: str, label: str) -> None:
    """Click a form's submit button by its accessible name, as a person reads it."""
    page.locator(form).get_by_role("button", name=label).click()


def test_email_page_has_the_continue_id_twice_and_a_hidden_password_field(page: Page, mock: MockServer) -> None:
    page.goto(mock.url(JP, "/ap/signin"))
    expect(page.locator("#continue")).to_have_count(2)
    expect(page.locator("#ap-credential-autofill-hint")).to_be_hidden()
    expect(page.locator("#auth-email-missing-alert")).to_be_hidden()
    expect(page.locator("#auth-cookie-warning-message")).to_be_hidden()
    press(page, "form[name=signIn]", "続行")
    expect(page.locator("#auth-email-missing-alert")).to_be_visible()
    expect(page.locator("#auth-email-missing-alert")).to_have_text(
        "Eメールアドレスまたは携帯電話番号を入力してください"
    )
    page.locator("#ap_email").fill(EMAIL)
    press(page, "form[name=signIn]", "続行")
    expect(page.locator("#auth-email-claim")).to_have_text(EMAIL)
    expect(page.locator("#ap_email")).to_be_hidden()


def test_a_password_manager_filling_the_hidden_field_does_not_skip_the_password_page(
    page: Page, mock: MockServer
) -> None:
    page.goto(mock.url(JP, "/ap/signin"))
    page.locator("#ap_email").fill(EMAIL)
    page.locator("#ap-credential-autofill-hint").evaluate("(el, v) => { el.value = v; }", PASSWORD)
    press(page, "form[name=signIn]", "続行")
    expect(page.locator("#ap_password")).to_be_visible()
    expect(page.locator("#auth-error-message-box")).to_have_count(0)


def test_seller_signs_in_through_the_unified_entry(page: Page, mock: MockServer) -> None:
    mock.configure(config(site={"entry": "unified"}))
    page.goto(mock.url(JP))
    expect(page).to_have_url(re.compile(r"/ax/claim/signin\?"))
    expect(page.get_by_role("heading", name="ログインまたはアカウントを作成")).to_be_visible()
    page.locator("#ap_email_login").fill(EMAIL)
    press(page, "#ap_login_form", "続行")
    expect(page).to_have_url(re.compile(r"/ap/signin\?.*arb="))
    expect(page.locator("#auth-email-claim")).to_have_text(EMAIL)
    expect(page.locator("#continue")).to_have_count(2)  # the passkey form's button
    expect(page.locator("input[name=rememberMe]")).to_have_count(0)
    page.locator("#ap_password").fill(PASSWORD)
    press(page, "form[name=signIn]", "ログイン")
    expect(page.get_by_role("heading", name="2段階認証")).to_be_visible()
    page.locator("#auth-mfa-otpcode").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.get_by_label("このブラウザではOTPを要求しない").check()
    press(page, "#auth-mfa-form", "サインイン")
    expect(page.get_by_role("heading", name="アカウントを選択")).to_be_visible()


def test_passkey_button_shows_its_inline_alert(page: Page, mock: MockServer) -> None:
    mock.configure(config(site={"entry": "unified"}))
    page.goto(mock.url(JP))
    page.locator("#ap_email_login").fill(EMAIL)
    press(page, "#ap_login_form", "続行")
    expect(page.locator("#passkey-error-alert")).to_be_hidden()
    press(page, "#passkey-form", "パスキーでログイン")
    expect(page.locator("#passkey-error-alert")).to_be_visible()


def test_unknown_email_on_the_us_unified_entry_meets_the_intent_page(page: Page, mock: MockServer) -> None:
    mock.configure(config(site={"entry": "unified"}))
    page.goto(mock.url(US))
    page.locator("#ap_email_login").fill(EMAIL)
    press(page, "#ap_login_form", "Continue")
    expect(page.get_by_role("heading", name="Looks like you're new to Amazon")).to_be_visible()
    expect(page.locator("#intent-form").get_by_role("button", name="Proceed to create an account")).to_be_visible()
    page.locator("#ap_switch_account_link").click()
    expect(page.locator("#ap_email_login")).to_be_visible()


def test_page_script_shows_the_cookie_warning_when_cookies_are_blocked(page: Page, mock: MockServer) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setDocumentCookieDisabled", {"disabled": True})
    page.goto(mock.url(JP, "/ap/signin"))
    warning = page.locator("#auth-cookie-warning-message")
    expect(warning).to_be_visible()
    expect(warning.locator("h4.a-alert-heading")).to_have_text("Cookieを有効にしてください")


def test_server_shows_the_cookie_warning_for_a_post_without_cookies(page: Page, mock: MockServer) -> None:
    page.goto(mock.url(JP, "/ap/signin"))
    page.context.clear_cookies()
    page.locator("#ap_email").fill(EMAIL)
    press(page, "form[name=signIn]", "続行")
    expect(page.locator("#auth-cookie-warning-message")).to_be_visible()
    expect(page.locator("#ap_password")).to_have_count(0)


def test_verification_code_is_copied_by_the_page_script(page: Page, mock: MockServer) -> None:
    mock.configure(config(verify_new_browser="email"))
    page.goto(mock.url(JP))
    page.locator("#ap_email").fill(EMAIL)
    press(page, "form[name=signIn]", "続行")
    page.locator("#ap_password").fill(PASSWORD)
    page.locator("#signInSubmit").click()
    expect(page.get_by_role("heading", name="Eメールアドレスを確認")).to_be_visible()
    mail = page.context.new_page()
    mail.goto(mock.origin("mail") + f"/inbox?to={EMAIL}")
    code = re.search(r"\b(\d{6})\b", mail.locator("article .body").first.inner_text())
    assert code
    page.locator("#input-box-otp").fill(code.group(1))
    expect(page.locator("#otpCode")).to_have_value(code.group(1))
    press(page, "#verification-code-form", "コードを確認する")
    expect(page.get_by_role("heading", name="2段階認証")).to_be_visible()


def test_without_javascript_the_verification_code_never_reaches_the_server(browser: Browser, mock: MockServer) -> None:
    mock.configure(config(verify_new_browser="email"))
    context = browser.new_context(java_script_enabled=False, **CONTEXT)
    try:
        page = context.new_page()
        page.goto(mock.url(JP))
        page.locator("#ap_email").fill(EMAIL)
        press(page, "form[name=signIn]", "続行")
        page.locator("#ap_password").fill(PASSWORD)
        page.locator("#signInSubmit").click()
        code = re.search(r"\b(\d{6})\b", mock.state.mails[-1].body)
        assert code
        page.locator("#input-box-otp").fill(code.group(1))
        press(page, "#verification-code-form", "コードを確認する")
        expect(page.locator(".cvf-widget-alert")).to_be_visible()
        expect(page.locator(".cvf-widget-alert")).to_contain_text("無効なワンタイムパスワードです。")
    finally:
        context.close()


def test_waf_challenge_under_the_fault_never_clears(page: Page, mock: MockServer) -> None:
    mock.configure(config(site={"faults": [{"kind": "waf_challenge", "times": None}]}))
    with page.expect_navigation():  # the solved token, and the reload that carries it
        page.goto(mock.url(JP, "/ap/signin"))
    expect(page.locator("#challenge-container")).to_have_text("ブラウザを確認しています…")
    # The reload carried the solved token and the layer refused it: that page's script stops
    # before it schedules another reload.
    page.wait_for_function("window.gokuProps && window.gokuProps.refused === true")
    expect(page.locator("#challenge-container")).to_have_text("ブラウザを確認しています…")
    expect(page.locator("#ap_email")).to_have_count(0)
    assert any(c["name"] == "aws-waf-token" for c in page.context.cookies())


def test_a_solvable_waf_challenge_clears_itself(page: Page, mock: MockServer) -> None:
    mock.configure(config(site={"faults": [{"kind": "waf_challenge", "times": 1}]}))
    response = page.goto(mock.url(JP, "/ap/signin"))
    assert response is not None
    assert response.status == 202
    expect(page.locator("#ap_email")).to_be_visible()


def test_javascript_required_page_has_no_form(page: Page, mock: MockServer) -> None:
    mock.configure(config(site={"faults": [{"kind": "js_challenge", "times": None}]}))
    page.goto(mock.url(JP, "/ap/signin"))
    expect(page.get_by_role("heading", name="JavaScriptを有効にしてください")).to_be_visible()
    expect(page.locator("form")).to_have_count(0)


def test_person_presses_the_robot_check_button(page: Page, mock: MockServer) -> None:
    mock.configure(config(site={"faults": [{"kind": "robot_check", "variant": "button"}]}))
    page.goto(mock.url(JP))
    expect(page).to_have_url(re.compile(r"/errors/validateCaptcha"))
    expect(page.locator("img")).to_have_count(0)
    page.get_by_role("button", name="ショッピングを続ける").click()
    expect(page.locator("#ap_email")).to_be_visible()


def test_server_error_page_has_no_heading(page: Page, mock: MockServer) -> None:
    mock.configure(config(site={"faults": [{"kind": "server_error", "variant": "rush_hour"}]}))
    response = page.goto(mock.url(JP, "/ap/signin"))
    assert response is not None
    assert response.status == 503
    expect(page).to_have_title("ただいまアクセスが集中しています")
    expect(page.locator("h1")).to_have_count(0)
    expect(page.get_by_role("img")).to_have_count(1)
