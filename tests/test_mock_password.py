"""The password policy in a real Chromium: the change page, expiry on the mock clock, the forced reset."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pyotp
import pytest
from playwright.sync_api import Page, expect

from fixtures.mock_site import JP, MAIL_HOST, MockServer, SiteConfig

from .conftest import EMAIL, PASSWORD, TOTP_SECRET, site_config

TOKEN = "clock-admin-token-for-tests"
# Newest first; the sixth is too old to count.
PREVIOUS = [
    "Sakura-Zakka-2023!",
    "Sakura-Zakka-2022!",
    "Sakura-Zakka-2021!",
    "Sakura-Zakka-2020!",
    "Sakura-Zakka-2019!",
    "Sakura-Zakka-2018!",
]
NEW = "Kanazawa-Gold-Leaf-77"
REUSED = "過去に使用したパスワードは使用できません。"


@pytest.fixture(scope="module")
def admin_mock() -> Iterator[MockServer]:
    with MockServer(site_config(), admin_token=TOKEN) as server:
        yield server


def configure(server: MockServer, *, site: dict[str, Any] | None = None, **account: Any) -> MockServer:
    server.configure(SiteConfig.model_validate({**site_config(**account).model_dump(), **(site or {})}))
    return server


def buyer(server: MockServer, path: str) -> str:
    return server.origin(JP.buyer_host) + path


def enter_credentials(page: Page, password: str) -> None:
    page.locator("#ap_email").fill(EMAIL)
    page.locator("form[name=signIn] input[type=submit]").click()
    expect(page.locator("#auth-email-claim")).to_have_text(EMAIL)
    page.locator("#ap_password").fill(password)
    page.locator("#signInSubmit").click()


def change_password(page: Page, current: str, new: str, again: str | None = None) -> None:
    form = page.locator("form#cnep-form")
    form.locator("#ap_password").fill(current)
    form.locator("#ap_password_new").fill(new)
    form.locator("#ap_password_new_check").fill(new if again is None else again)
    form.locator("#cnep_1D_submit_button").click()


def error_box(page: Page) -> str:
    return page.locator("#auth-error-message-box .a-alert-content").inner_text().strip()


def password_mails(server: MockServer) -> list[dict[str, Any]]:
    return [m for m in server.snapshot()["mails"] if m["kind"] == "password_changed"]


def test_the_change_page_refuses_weak_and_recent_passwords_then_changes_it(page: Page, mock: MockServer) -> None:
    configure(mock, two_step="none", name="Yamada Sakura", previous_passwords=PREVIOUS)
    page.goto(buyer(mock, "/ap/cnep"))
    enter_credentials(page, PASSWORD)
    expect(page).to_have_url(re.compile(r"/a/settings/approval"))
    page.goto(buyer(mock, "/ap/cnep"))
    expect(page.get_by_role("heading", name="パスワードを変更")).to_be_visible()
    expect(page.locator("form#cnep-form #cnep_1D_submit_button")).to_have_accessible_name("変更を保存")

    refusals = [
        ("Not-The-Password-1", NEW, None, "現在のパスワードに誤りがあります"),
        (PASSWORD, "Ab1!xyz", None, "パスワードは8文字以上にしてください"),
        (PASSWORD, "abcdefghijkl", None, "英字の大文字・小文字、数字、記号のうち2種類以上を組み合わせてください"),
        (PASSWORD, "SAKURA.ZAKKA-77", None, "Eメールアドレスを含むパスワードは使用できません"),
        (PASSWORD, "yamada sakura 2025", None, "お名前を含むパスワードは使用できません"),
        (PASSWORD, NEW, NEW + "?", "パスワードが一致しません"),
        (PASSWORD, PASSWORD, None, REUSED),
        *[(PASSWORD, old, None, REUSED) for old in PREVIOUS[:5]],
    ]
    for current, new, again, message in refusals:
        change_password(page, current, new, again)
        expect(page.locator("#auth-error-message-box")).to_be_visible()
        assert error_box(page) == message, (new, message)
        expect(page.locator("#auth-success-message-box")).to_have_count(0)
    assert mock.snapshot()["accounts"][EMAIL]["password_changes"] == 0
    assert password_mails(mock) == []

    # The sixth password back is old enough to be used again.
    change_password(page, PASSWORD, PREVIOUS[5])
    expect(page.locator("#auth-success-message-box")).to_contain_text("パスワードが変更されました。")
    expect(page.locator("#auth-error-message-box")).to_have_count(0)
    assert mock.snapshot()["accounts"][EMAIL]["password_changes"] == 1
    assert password_mails(mock) == [
        {"to": EMAIL, "kind": "password_changed", "subject": "Amazon.co.jp: パスワードが変更されました"}
    ]

    # The old password no longer signs in; the new one does.
    page.goto(buyer(mock, "/ap/signout"))
    enter_credentials(page, PASSWORD)
    expect(page.locator("#auth-error-message-box")).to_contain_text("パスワードが正しくありません")
    page.locator("#ap_password").fill(PREVIOUS[5])
    page.locator("#signInSubmit").click()
    expect(page).to_have_url(re.compile(r"/a/settings/approval"))


def test_the_change_page_needs_a_signed_in_browser(page: Page, mock: MockServer) -> None:
    page.goto(buyer(mock, "/ap/cnep"))
    expect(page).to_have_url(re.compile(r"/ap/signin\?"))
    expect(page.locator("form#cnep-form")).to_have_count(0)


def put_clock(page: Page, server: MockServer, body: dict[str, int], token: str = TOKEN) -> Any:
    return page.request.put(
        f"http://127.0.0.1:{server.port}/__mock__/clock", data=body, headers={"Authorization": f"Bearer {token}"}
    )


def test_an_expired_password_forces_the_reset_which_refuses_reuse(page: Page, admin_mock: MockServer) -> None:
    mock = configure(
        admin_mock, site={"password_max_age_days": 90}, password_age_days=80, previous_passwords=PREVIOUS[:2]
    )
    # Day 80: the password still works; this browser is remembered, so later sign-ins need no code.
    page.goto(mock.url(JP))
    enter_credentials(page, PASSWORD)
    page.locator("#auth-mfa-otpcode").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.locator("#auth-mfa-remember-device").check()
    page.locator("#auth-signin-button").click()
    expect(page.get_by_role("heading", name="アカウントを選択")).to_be_visible()
    page.goto(mock.url(JP, "/ap/signout"))

    # The clock API wants the admin token.
    refused = put_clock(page, mock, {"days": 30}, token="wrong")
    assert refused.status == 401
    assert mock.snapshot()["clock_offset_days"] == 0
    assert put_clock(page, mock, {"days": "ten"}).status == 422  # type: ignore[dict-item]
    moved = put_clock(page, mock, {"days": 10})
    assert moved.ok
    assert moved.json()["clock_offset_days"] == 10
    assert put_clock(page, mock, {"add_days": 1}).json()["clock_offset_days"] == 11
    assert mock.snapshot()["clock_offset_days"] == 11

    # Day 91: past the maximum age, the right password leads to the forced reset.
    page.goto(mock.url(JP))
    enter_credentials(page, PASSWORD)
    expect(page).to_have_url(re.compile(r"/ap/forgotpassword/reverification"))
    expect(page.locator("#auth-warning-message-box")).to_contain_text("パスワードを再設定する必要があります")
    assert mock.snapshot()["accounts"][EMAIL]["status"] == "reset_required"
    page.locator("form[name=forgotPassword] input[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/ap/cvf"))

    mailbox = page.context.new_page()
    mailbox.goto(mock.origin(MAIL_HOST) + "/inbox?to=" + quote(EMAIL))
    code_mail = mailbox.locator("article.message").filter(has_text="パスワードアシスタンス").first
    code = re.search(r"\b\d{6}\b", code_mail.locator(".body").inner_text())
    assert code is not None
    page.locator("#input-box-otp").fill(code.group(0))
    page.locator("#verification-code-form input[type=submit]").click()
    expect(page.get_by_role("heading", name="新しいパスワードを作成")).to_be_visible()

    form = page.locator("form[name=resetPassword]")
    for new, message in [
        (PASSWORD, REUSED),
        (PREVIOUS[0], REUSED),
        (PREVIOUS[1], REUSED),
        ("short1!", "パスワードは8文字以上にしてください"),
        ("onlylowercase", "英字の大文字・小文字、数字、記号のうち2種類以上を組み合わせてください"),
        ("Sakura.Zakka.2026", "Eメールアドレスを含むパスワードは使用できません"),
    ]:
        form.locator("#ap_password").fill(new)
        form.locator("#ap_password_check").fill(new)
        form.locator("input[type=submit]").click()
        assert error_box(page) == message, new
    assert mock.snapshot()["accounts"][EMAIL]["password_changes"] == 0

    form.locator("#ap_password").fill(NEW)
    form.locator("#ap_password_check").fill(NEW)
    form.locator("input[type=submit]").click()
    expect(page.get_by_role("heading", name="パスワードが変更されました")).to_be_visible()
    account = mock.snapshot()["accounts"][EMAIL]
    assert (account["status"], account["password_changes"]) == ("active", 1)
    assert [m["to"] for m in password_mails(mock)] == [EMAIL]
    mailbox.reload()
    expect(mailbox.locator("article.message").first.locator(".subject")).to_have_text(
        "Amazon.co.jp: パスワードが変更されました"
    )

    # The next sign-in works with the new password: the clock stands where it was, the password is new.
    page.locator("#auth-signin-link").click()
    enter_credentials(page, NEW)
    expect(page.get_by_role("heading", name="アカウントを選択")).to_be_visible()
    page.get_by_role("button", name="アカウントを選択").click()
    expect(page).to_have_url(re.compile(r"/home\?mons_sel_mkid="))
    assert mock.snapshot()["accounts"][EMAIL]["status"] == "active"


def test_a_configured_clock_offset_ages_the_password_too(page: Page, mock: MockServer) -> None:
    configure(mock, site={"clock_offset_days": 30}, password_age_days=70, password_max_age_days=90)
    assert mock.snapshot()["clock_offset_days"] == 30
    assert mock.state.now() - datetime.now(UTC) > timedelta(days=29)
    page.goto(mock.url(JP))
    enter_credentials(page, PASSWORD)
    expect(page.locator("form[name=forgotPassword]")).to_be_visible()
    expect(page.locator("#auth-warning-message-box")).to_contain_text("パスワードを再設定する必要があります")


def test_a_password_within_its_age_or_without_a_maximum_does_not_expire(page: Page, mock: MockServer) -> None:
    configure(mock, site={"clock_offset_days": 3650}, password_age_days=400)  # no maximum: never expires
    page.goto(mock.url(JP))
    enter_credentials(page, PASSWORD)
    expect(page).to_have_url(re.compile(r"/ap/mfa"))
    configure(mock, site={"password_max_age_days": 90}, password_age_days=90)  # exactly 90 days: still valid
    page.goto(mock.url(JP))
    enter_credentials(page, PASSWORD)
    expect(page).to_have_url(re.compile(r"/ap/mfa"))
    assert mock.snapshot()["accounts"][EMAIL]["status"] == "active"
