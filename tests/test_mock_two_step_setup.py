"""Two-step verification on the shopping site, walked in a real Chromium.

Turning it on with an authenticator app, a text message or a voice call;
backups added and removed; turning it off; and what each does to the next
Seller Central sign-in: the remembered browser, the method chooser, the
"2-step required" stop. Each test checks what the page shows and what the
mock holds.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from fixtures.mock_site import JP, MockServer, SiteConfig
from fixtures.mock_site.config import AccountConfig

from .conftest import EMAIL, PASSWORD, TOTP_SECRET, site_config

BUYER = "www.amazon.co.jp"
NUMBER = "090-1234-5678"
CONTEXT = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}


def account_state(mock: MockServer) -> dict[str, Any]:
    accounts: dict[str, dict[str, Any]] = mock.state.snapshot()["accounts"]
    return accounts[EMAIL]


def mail_kinds(mock: MockServer) -> list[str]:
    return [m["kind"] for m in mock.state.snapshot()["mails"] if m["to"] == EMAIL]


def next_step_code(secret: str) -> str:
    """The code for the next 30 s step (one step of drift is allowed): proving the app spent the current one."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def enter_credentials(page: Page) -> None:
    page.locator("#ap_email").fill(EMAIL)
    page.locator("form[name=signIn]").get_by_role("button", name="続行").click()
    page.locator("#ap_password").fill(PASSWORD)
    page.locator("#signInSubmit").click()


def enter_code(page: Page, code: str) -> None:
    page.locator("#auth-mfa-otpcode").fill(code)
    page.locator("#auth-signin-button").click()


def open_settings(page: Page, mock: MockServer, code: str | None = None) -> None:
    """Sign in on the shopping site (with ``code`` when 2-step asks for one) and open 2段階認証の設定."""
    page.goto(mock.origin(BUYER) + "/a/settings/approval")
    enter_credentials(page)
    if code is not None:
        enter_code(page, code)
    expect(page.get_by_role("heading", name="2段階認証の設定", exact=True)).to_be_visible()


def latest_text(context: BrowserContext, mock: MockServer, number: str = NUMBER) -> str:
    """The newest text message (or call transcript) on the phone, read on the mailbox host's phone page."""
    phone = context.new_page()
    try:
        phone.goto(mock.origin("mail") + "/sms?to=" + number)
        expect(phone).to_have_title("メッセージ")
        return phone.locator("article.sms .body").first.inner_text()
    finally:
        phone.close()


def code_in(text: str) -> str:
    """The six digits in a text, or in a call's words read out digit by digit."""
    digits = "".join(re.findall(r"\d", text))
    assert len(digits) == 6, text
    return digits


def start_setup(page: Page, method: str) -> None:
    """From the settings page (2-step off): オンにする -> 開始する -> the method."""
    expect(page.locator("#two-step-status")).to_have_text("オフ")
    page.locator("#sia-otp-enable").click()
    page.locator("#sia-setup-start").click()
    expect(page.get_by_role("heading", name="ワンタイムパスワードの受け取り方法を選択")).to_be_visible()
    page.locator(f"#sia-method-{method}").check()
    page.locator("#sia-method-continue").click()


def register_phone(page: Page, delivery: str) -> None:
    expect(page.get_by_role("heading", name="電話番号を登録")).to_be_visible()
    page.locator("#sia-phone-number").fill(NUMBER)
    page.locator(f"input[name=deliveryMethod][value={delivery}]").check()
    page.locator("#sia-phone-continue").click()
    expect(page).to_have_url(re.compile(r"/a/settings/approval/setup/phone/verify$"))


def verify_phone(page: Page, context: BrowserContext, mock: MockServer) -> str:
    """Type the code the phone received; returns the message as the phone showed it."""
    message = latest_text(context, mock)
    page.locator("#sia-otp-code").fill(code_in(message))
    page.locator("#sia-otp-verify").click()
    return message


def register_app(page: Page) -> str:
    """Read the secret off the page, type the app's code; returns the secret."""
    expect(page.get_by_role("heading", name="認証アプリを登録")).to_be_visible()
    expect(page.locator("#sia-qr-code")).to_be_visible()
    secret = page.locator("#sia-auth-app-formatted-secret").inner_text().replace(" ", "")
    page.locator("#sia-otp-code").fill(pyotp.TOTP(secret).now())
    page.locator("#sia-otp-verify").click()
    return secret


def finish_setup(page: Page, *, remember: bool) -> None:
    expect(page.get_by_role("heading", name="あと少しで完了です")).to_be_visible()
    if remember:
        page.get_by_label("このブラウザではワンタイムパスワードを必要としない").check()
    page.get_by_role("button", name="わかりました。2段階認証を有効にする").click()
    expect(page.locator("#sia-success-alert")).to_have_text("2段階認証が有効になりました")
    expect(page.locator("#two-step-status")).to_have_text("オン")


def listed_methods(page: Page) -> list[tuple[str | None, str]]:
    """The settings page's methods, once the page shows 2-step as on (a click may still be navigating)."""
    expect(page.locator("#sia-methods")).to_be_visible()
    rows = page.locator("#sia-methods .sia-method")
    return [
        (rows.nth(i).get_attribute("data-method"), rows.nth(i).locator(".sia-method-role").inner_text())
        for i in range(rows.count())
    ]


def seller_sign_in(page: Page, mock: MockServer) -> None:
    page.goto(mock.url(JP))
    enter_credentials(page)


def signed_in_to_seller_central(page: Page) -> None:
    expect(page.get_by_role("heading", name="アカウントを選択")).to_be_visible()


def test_app_set_up_turns_two_step_on_and_seller_central_asks_for_the_apps_code(page: Page, mock: MockServer) -> None:
    mock.configure(site_config(two_step="none", totp_secret=None))
    open_settings(page, mock)
    start_setup(page, "app")
    assert page.locator("#sia-qr-code").evaluate("e => e.tagName.toLowerCase()") == "svg"
    secret = register_app(page)
    finish_setup(page, remember=False)
    assert listed_methods(page) == [("totp", "優先")]
    expect(page.locator(".sia-method-remove")).to_have_count(0)  # the only method goes by turning 2-step off
    state = account_state(mock)
    assert (state["two_step_methods"], state["two_step"]) == (["totp"], "totp")
    assert "two_step_enabled" in mail_kinds(mock)

    seller_sign_in(page, mock)  # not remembered: the app's code is asked for
    expect(page.get_by_role("heading", name="2段階認証")).to_be_visible()
    enter_code(page, next_step_code(secret))
    signed_in_to_seller_central(page)


def test_sms_set_up_remembers_this_browser_only(page: Page, browser: Browser, mock: MockServer) -> None:
    mock.configure(site_config(two_step="none", totp_secret=None))
    open_settings(page, mock)
    start_setup(page, "phone")
    register_phone(page, "sms")
    expect(page.locator("#sia-otp-sent")).to_have_text("末尾が678の電話番号にワンタイムパスワードを送信しました。")
    message = verify_phone(page, page.context, mock)
    assert message.endswith("はAmazonのワンタイムパスワードです。誰とも共有しないでください。")
    finish_setup(page, remember=True)
    assert listed_methods(page) == [("sms", "優先")]
    expect(page.locator("#sia-methods")).to_contain_text("末尾が678の電話番号（テキストメッセージ）")
    state = account_state(mock)
    assert (state["two_step_methods"], state["two_step"]) == (["sms"], "sms")

    seller_sign_in(page, mock)  # this browser was remembered: no code
    signed_in_to_seller_central(page)

    other = browser.new_context(**CONTEXT)  # another browser profile still gets a text
    try:
        elsewhere = other.new_page()
        seller_sign_in(elsewhere, mock)
        expect(
            elsewhere.get_by_text("末尾が678の電話番号にワンタイムパスワード（OTP）を送信しました。")
        ).to_be_visible()
        enter_code(elsewhere, code_in(latest_text(other, mock)))
        signed_in_to_seller_central(elsewhere)
    finally:
        other.close()


def test_voice_set_up_reads_the_code_out_and_the_next_sign_in_calls(page: Page, mock: MockServer) -> None:
    mock.configure(site_config(two_step="none", totp_secret=None))
    open_settings(page, mock)
    start_setup(page, "phone")
    register_phone(page, "voice")
    expect(page.locator("#sia-otp-sent")).to_contain_text("電話をかけて")
    message = verify_phone(page, page.context, mock)
    assert message.startswith("Amazonからの音声メッセージです。")
    finish_setup(page, remember=False)
    expect(page.locator("#sia-methods")).to_contain_text("末尾が678の電話番号（音声通話）")
    state = account_state(mock)
    assert (state["two_step_methods"], state["two_step"]) == (["voice"], "sms")

    seller_sign_in(page, mock)
    expect(
        page.get_by_text("末尾が678の電話番号に音声通話でワンタイムパスワード（OTP）をお知らせしました。")
    ).to_be_visible()
    call = latest_text(page.context, mock)
    assert call.startswith("Amazonからの音声メッセージです。")
    enter_code(page, code_in(call))
    signed_in_to_seller_central(page)


def test_a_backup_phone_is_added_and_the_app_removed(page: Page, mock: MockServer) -> None:
    open_settings(page, mock, code=pyotp.TOTP(TOTP_SECRET).now())
    assert listed_methods(page) == [("totp", "優先")]
    page.locator("#sia-add-phone").click()
    register_phone(page, "sms")
    verify_phone(page, page.context, mock)
    expect(page.locator("#sia-success-alert")).to_have_text("バックアップ方法を追加しました")
    assert listed_methods(page) == [("totp", "優先"), ("sms", "バックアップ")]
    assert account_state(mock)["two_step_methods"] == ["totp", "sms"]
    assert "two_step_method_added" in mail_kinds(mock)

    page.locator(".sia-method[data-method=totp] .sia-method-remove").click()
    expect(page.get_by_role("heading", name="この方法を削除しますか？")).to_be_visible()
    expect(page.locator("#sia-remove-confirm")).to_be_visible()
    page.locator("#sia-remove-submit").click()
    expect(page.locator("#sia-success-alert")).to_have_text("2段階認証の方法を削除しました")
    assert listed_methods(page) == [("sms", "優先")]
    state = account_state(mock)
    assert (state["two_step_methods"], state["two_step"]) == (["sms"], "sms")
    assert mock.state.account("jp", EMAIL).totp_secret is None  # type: ignore[union-attr]
    assert "two_step_method_removed" in mail_kinds(mock)


def test_the_chooser_lists_every_method_and_the_chosen_one_signs_in(
    page: Page, browser: Browser, mock: MockServer
) -> None:
    mock.configure(site_config(two_step="sms", totp_secret=None, phone_last_digits="678"))
    page.goto(mock.origin(BUYER) + "/a/settings/approval")
    enter_credentials(page)
    enter_code(page, code_in(latest_text(page.context, mock)))
    page.locator("#sia-add-app").click()
    secret = register_app(page)
    expect(page.locator("#sia-success-alert")).to_have_text("バックアップ方法を追加しました")
    assert listed_methods(page) == [("sms", "優先"), ("totp", "バックアップ")]
    assert account_state(mock)["two_step_methods"] == ["sms", "totp"]

    for pick, css in (("voice", "auth-VOICE"), ("totp", "auth-TOTP")):
        fresh = browser.new_context(**CONTEXT)
        try:
            other = fresh.new_page()
            seller_sign_in(other, mock)
            other.locator("#auth-get-new-otp-link").click()
            chooser = other.locator("#auth-select-device-form")
            expect(chooser.locator("div.a-radio")).to_have_count(3)
            for each in ("auth-SMS", "auth-VOICE", "auth-TOTP"):
                expect(chooser.locator(f"div.a-radio.{each} input[name=otpDeviceContext]")).to_have_count(1)
            chooser.locator(f"div.a-radio.{css} input").check()
            chooser.get_by_role("button", name="ワンタイムパスワードを送信").click()
            if pick == "voice":
                expect(other.get_by_text("音声通話でワンタイムパスワード（OTP）をお知らせしました")).to_be_visible()
                call = latest_text(fresh, mock)
                assert call.startswith("Amazonからの音声メッセージです。")
                enter_code(other, code_in(call))
            else:
                expect(other.get_by_text("認証アプリで生成されたワンタイムパスワード")).to_be_visible()
                enter_code(other, next_step_code(secret))
            signed_in_to_seller_central(other)
        finally:
            fresh.close()


def test_turning_two_step_off_stops_seller_central_at_the_required_page(page: Page, mock: MockServer) -> None:
    open_settings(page, mock, code=pyotp.TOTP(TOTP_SECRET).now())
    page.locator("#sia-otp-disable").click()
    expect(page.get_by_role("heading", name="2段階認証を無効にしますか？")).to_be_visible()
    page.locator("#sia-disable-confirm").get_by_role("button", name="無効にする").click()
    expect(page.locator("#sia-success-alert")).to_have_text("2段階認証を無効にしました")
    expect(page.locator("#two-step-status")).to_have_text("オフ")
    expect(page.locator("#sia-otp-enable")).to_be_visible()
    expect(page.locator("#sia-methods")).to_have_count(0)
    state = account_state(mock)
    assert (state["two_step_methods"], state["two_step"]) == ([], "none")
    assert "two_step_disabled" in mail_kinds(mock)

    seller_sign_in(page, mock)
    expect(page.get_by_role("heading", name="2段階認証を有効にしてください")).to_be_visible()
    expect(page.locator("#auth-warning-message-box")).to_contain_text("2段階認証が無効になっています")
    expect(page.locator("#sc-2sv-enroll-link")).to_be_visible()


def test_a_wrong_phone_number_or_code_is_refused_on_the_page(page: Page, mock: MockServer) -> None:
    mock.configure(site_config(two_step="none", totp_secret=None))
    open_settings(page, mock)
    start_setup(page, "phone")
    page.locator("#sia-phone-number").fill("12-34")
    page.locator("#sia-phone-continue").click()
    expect(page.locator("#auth-error-message-box")).to_contain_text("有効な携帯電話番号を入力してください。")
    register_phone(page, "sms")
    page.locator("#sia-otp-code").fill("000000")
    page.locator("#sia-otp-verify").click()
    expect(page.locator("#auth-error-message-box")).to_contain_text("ワンタイムパスワード（OTP）は無効です")
    assert account_state(mock)["two_step_methods"] == []


def test_configured_methods_set_two_step_from_the_primary() -> None:
    voice_first = AccountConfig(
        email=EMAIL, password=PASSWORD, two_step_methods=["voice", "totp"], totp_secret="A" * 32
    )
    assert voice_first.two_step == "sms"
    assert site_config().accounts[0].two_step_methods is None  # derived: ["totp"]
    for bad in (
        {"two_step_methods": ["totp"]},  # no secret
        {"two_step_methods": ["sms", "voice"]},  # one phone only
        {"two_step": "totp", "totp_secret": "A" * 32, "two_step_methods": ["sms"]},  # two_step disagrees
    ):
        with pytest.raises(ValueError, match="two_step"):
            AccountConfig.model_validate({"email": EMAIL, "password": PASSWORD, **bad})


def test_configured_backup_app_is_listed_on_the_settings_page(page: Page, mock: MockServer) -> None:
    config = SiteConfig.model_validate(
        {
            "accounts": [
                {
                    **site_config().accounts[0].model_dump(exclude={"two_step"}),
                    "two_step_methods": ["voice", "totp"],
                    "phone_last_digits": "678",
                }
            ]
        }
    )
    mock.configure(config)
    assert account_state(mock)["two_step_methods"] == ["voice", "totp"]
    page.goto(mock.origin(BUYER) + "/a/settings/approval")
    enter_credentials(page)
    expect(page.get_by_text("音声通話でワンタイムパスワード（OTP）をお知らせしました")).to_be_visible()
    enter_code(page, code_in(latest_text(page.context, mock)))
    assert listed_methods(page) == [("voice", "優先"), ("totp", "バックアップ")]
    expect(page.locator(".sia-method-remove")).to_have_count(2)
