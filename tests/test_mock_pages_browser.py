"""The mock's failure modes in a real Chromium: scripts, caches, devices, and multi-page flows."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from playwright.sync_api import Browser, Page, Playwright, Request, expect

from fixtures.mock_site import JP, MockServer, SiteConfig

from .conftest import EMAIL, PASSWORD, TOTP_SECRET, site_config

CONTEXT = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}


def config(*, site: dict[str, Any] | None = None, **account: Any) -> SiteConfig:
    return SiteConfig.model_validate({**site_config(**account).model_dump(), **(site or {})})


def posts_of(page: Page) -> list[Request]:
    """Every POST the page sends from now on."""
    posts: list[Request] = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    return posts


def submit_email_expecting_nothing(page: Page) -> str:
    """Click Continue on the email page; the page's script throws and nothing is sent."""
    posts = posts_of(page)
    page.locator("#ap_email").fill(EMAIL)
    with page.expect_event("pageerror") as error:
        page.locator("form[name=signIn]").get_by_role("button", name="続行").click()
    # The error is thrown inside the submit handler, before any submit could start.
    assert posts == []
    expect(page.locator("#ap_email")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/ap/signin"))
    return str(error.value)


def test_a_cached_deployment_one_script_breaks_the_deployment_two_form(
    page: Page, browser: Browser, mock: MockServer
) -> None:
    page.goto(mock.url(JP, "/ap/signin"))  # deployment 1: the script is cached for a year
    expect(page.locator("form[name=signIn] input[name=workflowState]")).to_be_attached()
    mock.configure(config(site={"deployment": 2}))
    page.goto(mock.url(JP, "/ap/signin"))
    expect(page.locator("form[name=signIn] input[name=workflowContext]")).to_be_attached()
    message = submit_email_expecting_nothing(page)
    assert "reading 'value'" in message  # form.elements.workflowState is undefined

    # A browser with an empty cache gets the deployment-2 script and signs in.
    fresh = browser.new_context(**CONTEXT)
    try:
        other = fresh.new_page()
        other.goto(mock.url(JP, "/ap/signin"))
        other.locator("#ap_email").fill(EMAIL)
        with other.expect_request(lambda r: r.method == "POST") as posted:
            other.locator("form[name=signIn]").get_by_role("button", name="続行").click()
        assert "metadata1=" in (posted.value.post_data or "")
        expect(other.locator("#auth-email-claim")).to_have_text(EMAIL)
    finally:
        fresh.close()


def test_broken_widget_stops_desktop_sign_in_but_not_a_phone(
    page: Page, browser: Browser, playwright: Playwright, mock: MockServer
) -> None:
    mock.configure(config(site={"faults": [{"kind": "broken_script", "device": "desktop"}]}))
    page.goto(mock.url(JP, "/ap/signin"))
    message = submit_email_expecting_nothing(page)
    assert "reading 'record'" in message  # the widget's tracker was never loaded

    phone = playwright.devices["Pixel 7"]
    mobile = browser.new_context(
        user_agent=phone["user_agent"],
        viewport=phone["viewport"],
        is_mobile=True,
        has_touch=True,
        **CONTEXT,
    )
    try:
        other = mobile.new_page()
        other.goto(mock.url(JP, "/ap/signin"))
        other.locator("#ap_email").fill(EMAIL)
        other.locator("form[name=signIn]").get_by_role("button", name="続行").click()
        expect(other.locator("#auth-email-claim")).to_have_text(EMAIL)
        other.locator("#ap_password").fill(PASSWORD)
        other.locator("#signInSubmit").click()
        expect(other.get_by_role("heading", name="2段階認証")).to_be_visible()
    finally:
        mobile.close()


def sign_in_to_code_page(page: Page, mock: MockServer) -> None:
    page.goto(mock.url(JP))
    page.locator("#ap_email").fill(EMAIL)
    page.locator("form[name=signIn]").get_by_role("button", name="続行").click()
    page.locator("#ap_password").fill(PASSWORD)
    page.locator("#signInSubmit").click()
    expect(page).to_have_url(re.compile(r"/ap/mfa"))


def test_seller_switches_from_text_message_to_the_authenticator_app(page: Page, mock: MockServer) -> None:
    mock.configure(config(two_step="sms", sms_delivery="fails"))
    sign_in_to_code_page(page, mock)
    expect(page.locator("#auth-mfa-form p")).to_have_text(
        "末尾が123の電話番号にワンタイムパスワード（OTP）を送信しました。"
    )
    page.locator("#auth-get-new-otp-link").click()
    expect(page.locator("#auth-select-device-form")).to_be_visible()
    page.locator(".auth-TOTP input[type=radio]").check()
    page.locator("#auth-send-code").click()
    expect(page.locator("#auth-mfa-form p")).to_have_text(
        "認証アプリで生成されたワンタイムパスワード（OTP）を入力してください。"
    )
    page.locator("#auth-mfa-otpcode").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.locator("#auth-signin-button").click()
    expect(page.get_by_role("heading", name="アカウントを選択")).to_be_visible()


def test_seller_reads_the_text_message_in_the_phone_inbox(page: Page, mock: MockServer) -> None:
    mock.configure(config(two_step="sms", totp_secret=None))
    sign_in_to_code_page(page, mock)
    phone = page.context.new_page()
    phone.goto(mock.origin("mail") + "/sms?to=123")
    expect(phone).to_have_title("メッセージ")
    text = phone.locator("article.sms .body").first
    expect(text).to_have_text(re.compile(r"^\d{6} はAmazonのワンタイムパスワードです。"))
    code = text.inner_text()[:6]
    page.locator("#auth-mfa-otpcode").fill(code)
    page.locator("#auth-signin-button").click()
    expect(page.get_by_role("heading", name="アカウントを選択")).to_be_visible()


def test_seller_turns_2sv_on_at_the_shopping_site_and_gets_into_seller_central(page: Page, mock: MockServer) -> None:
    mock.configure(config(two_step="none", totp_secret=None))
    page.goto(mock.url(JP))
    page.locator("#ap_email").fill(EMAIL)
    page.locator("form[name=signIn]").get_by_role("button", name="続行").click()
    page.locator("#ap_password").fill(PASSWORD)
    page.locator("#signInSubmit").click()
    expect(page.get_by_role("heading", name="2段階認証を有効にしてください")).to_be_visible()
    expect(page.locator("#auth-warning-message-box")).to_contain_text("2段階認証が無効になっています")
    page.locator("#sc-2sv-enroll-link").click()

    # The shopping site on the same port asks for its own sign-in.
    expect(page).to_have_url(re.compile(rf"^http://www\.amazon\.co\.jp\.localhost:{mock.port}/ap/signin"))
    page.locator("#ap_email").fill(EMAIL)
    page.locator("form[name=signIn]").get_by_role("button", name="続行").click()
    page.locator("#ap_password").fill(PASSWORD)
    page.locator("#signInSubmit").click()
    expect(page.locator("#two-step-status")).to_have_text("オフ")
    page.get_by_role("link", name="オンにする").click()
    page.get_by_role("link", name="開始する").click()
    page.get_by_role("link", name=re.compile("認証アプリ")).click()
    secret = page.locator("#sia-auth-app-formatted-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.locator("#ch-auth-app-code-input").fill(totp.now())
    page.locator("#ch-auth-app-submit").click()
    page.get_by_label("このブラウザではワンタイムパスワードを必要としない").check()
    page.locator("#enable-mfa-form-submit").click()
    expect(page.locator("#two-step-status")).to_have_text("オン")

    # This browser is trusted now, so Seller Central lets the password through.
    page.goto(mock.url(JP))
    page.locator("#ap_email").fill(EMAIL)
    page.locator("form[name=signIn]").get_by_role("button", name="続行").click()
    page.locator("#ap_password").fill(PASSWORD)
    page.locator("#signInSubmit").click()
    expect(page.get_by_role("heading", name="アカウントを選択")).to_be_visible()


def test_person_solves_the_robot_check(page: Page, mock: MockServer) -> None:
    mock.configure(config(site={"faults": [{"kind": "robot_check"}]}))
    page.goto(mock.url(JP))
    expect(page).to_have_url(re.compile(r"/errors/validateCaptcha"))
    expect(page.get_by_role("heading", name="画像に表示されている文字を入力してください")).to_be_visible()
    token = page.locator("input[name=amzn]").get_attribute("value")
    assert token
    answer, _ = mock.state.robot_challenges[token]
    page.locator("#captchacharacters").fill(answer)
    page.get_by_role("button", name="次に進む").click()
    expect(page.locator("#ap_email")).to_be_visible()


def test_secondary_user_without_the_right_is_refused_orders(page: Page, mock: MockServer) -> None:
    mock.configure(config(role="secondary", permissions={"inventory": "view"}))
    page.goto(mock.url(JP, "/orders-v3"))
    page.locator("#ap_email").fill(EMAIL)
    page.locator("form[name=signIn]").get_by_role("button", name="続行").click()
    page.locator("#ap_password").fill(PASSWORD)
    page.locator("#signInSubmit").click()
    page.locator("#auth-mfa-otpcode").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.locator("#auth-signin-button").click()
    page.get_by_role("button", name="アカウントを選択").click()
    expect(page).to_have_url(re.compile(r"/orders-v3\?mons_sel_mkid="))
    expect(page.locator("#sc-permission-denied")).to_contain_text("このページへのアクセス権限がありません")
    page.locator("#sc-navbar").get_by_role("link", name="在庫").click()
    expect(page.get_by_role("heading", name="在庫管理")).to_be_visible()
