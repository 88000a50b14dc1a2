"""Settings → User Permissions on the mock, walked in a real Chromium: invite, accept, confirm, rights, revoke."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from fixtures.mock_site import JP, MockServer, SiteConfig

from .conftest import EMAIL, PASSWORD, TOTP_SECRET

CONTEXT = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}
MERCHANT = {"name": "さくら雑貨店", "merchant_id": "A1SAKURAMOCK", "marketplaces": ["jp"]}
INVITEE = "tanaka.staff@example.jp"
INVITEE_PASSWORD = "Tanaka-Staff-2025!"
STAFF_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def config(
    *, site: dict[str, Any] | None = None, extra: list[dict[str, Any]] | None = None, **primary: Any
) -> SiteConfig:
    account = {
        "email": EMAIL,
        "password": PASSWORD,
        "two_step": "totp",
        "totp_secret": TOTP_SECRET,
        "merchants": [MERCHANT],
        **primary,
    }
    return SiteConfig.model_validate({"accounts": [account, *(extra or [])], **(site or {})})


@pytest.fixture
def other(browser: Browser) -> Iterator[BrowserContext]:
    """A second person's browser."""
    context = browser.new_context(**CONTEXT)
    yield context
    context.close()


def sign_in(page: Page, mock: MockServer, email: str, password: str, code: str, path: str = "/home") -> None:
    page.goto(mock.url(JP, path))
    page.locator("#ap_email").fill(email)
    page.locator("form[name=signIn]").get_by_role("button", name="続行").click()
    page.locator("#ap_password").fill(password)
    page.locator("#signInSubmit").click()
    page.locator("#auth-mfa-otpcode").fill(code)
    page.locator("#auth-signin-button").click()


def pick_account(page: Page) -> None:
    page.get_by_role("button", name="アカウントを選択").click()


def primary_opens_user_permissions(page: Page, mock: MockServer) -> None:
    sign_in(page, mock, EMAIL, PASSWORD, pyotp.TOTP(TOTP_SECRET).now())
    pick_account(page)
    page.locator("#sc-settings-user-permissions").click()
    expect(page.get_by_role("heading", name="ユーザー権限", exact=True)).to_be_visible()


def invite(page: Page, name: str, email: str) -> None:
    page.locator("#invite-name").fill(name)
    page.locator("#invite-email").fill(email)
    page.locator("#invite-submit").click()
    expect(page.locator("#user-permissions-notice")).to_contain_text(f"{email} に招待を送信しました")


def row(page: Page, email: str) -> Any:
    return page.locator(f".pending-invitation[data-email='{email}']")


def mailed_link(page: Page, mock: MockServer, email: str) -> str:
    """The accept link in the newest invitation mail, read in the webmail like a person would."""
    page.goto(f"http://mail.localhost:{mock.port}/inbox?to={email}")
    newest = page.locator("article.message").first
    expect(newest.locator(".subject")).to_have_text("セラーセントラルへの招待")
    found = re.search(r"https?://\S+/gp/account-manager/accept\?token=\S+", newest.locator(".body").inner_text())
    assert found
    return found.group(0)


def totp_counter(secret: str) -> int:
    return pyotp.TOTP(secret).timecode(datetime.now(tz=UTC))


def turn_on_two_step(page: Page, mock: MockServer) -> tuple[str, int]:
    """The invitee registers an authenticator app on the shopping site: its secret and the step of the code used."""
    page.goto(f"http://www.amazon.co.jp.localhost:{mock.port}/a/settings/approval/setup/app")
    secret = page.locator("#sia-auth-app-formatted-secret").inner_text().replace(" ", "")
    counter = totp_counter(secret)
    page.locator("input[name=otpCode]:visible").fill(pyotp.TOTP(secret).generate_otp(counter))
    page.locator("input[name=otpCode]:visible").press("Enter")
    expect(page).to_have_url(re.compile(r"/a/settings/approval/setup/enable"))
    page.locator("#enable-mfa-form-submit").click()
    expect(page).to_have_url(re.compile(r"/a/settings/approval"))
    return secret, counter


def test_invite_accept_confirm_then_the_user_sees_only_the_tools_allowed(
    page: Page, other: BrowserContext, mock: MockServer
) -> None:
    mock.configure(config())
    primary_opens_user_permissions(page, mock)
    invite(page, "田中 花子", INVITEE)
    expect(row(page, INVITEE)).to_have_attribute("data-state", "pending")
    snap = mock.state.snapshot()
    assert snap["invitations"] == [{"email": INVITEE, "name": "田中 花子", "state": "pending"}]
    assert [m["kind"] for m in snap["mails"] if m["to"] == INVITEE] == ["invitation"]

    # The invitee: the mail, a new sign-in, their own 2-step verification, the code.
    staff = other.new_page()
    link = mailed_link(staff, mock, INVITEE)
    staff.goto(link)
    expect(staff.get_by_role("heading", name="アカウントを作成")).to_be_visible()
    expect(staff.locator("#register-email")).to_have_text(INVITEE)
    staff.locator("#register-name").fill("田中 花子")
    staff.locator("#register-password").fill(INVITEE_PASSWORD)
    staff.locator("#register-password-check").fill("something else")
    staff.locator("#register-submit").click()
    expect(staff.locator("#auth-error-message-box")).to_contain_text("パスワードが一致しません")
    staff.locator("#register-password").fill(INVITEE_PASSWORD)
    staff.locator("#register-password-check").fill(INVITEE_PASSWORD)
    staff.locator("#register-submit").click()
    expect(staff.locator("#invitation-two-step-required")).to_have_text("2段階認証を設定してください")
    assert mock.state.snapshot()["accounts"][INVITEE]["two_step"] == "none"
    staff.locator("#invitation-two-step-setup").click()
    expect(staff).to_have_url(re.compile(r"^http://www\.amazon\.co\.jp\.localhost:\d+/a/settings/approval"))
    secret, counter = turn_on_two_step(staff, mock)
    staff.goto(link)
    expect(staff.get_by_role("heading", name="招待を承認しました")).to_be_visible()
    code = staff.locator("#invitation-confirmation-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{8}", code)
    snap = mock.state.snapshot()
    assert (
        snap["accounts"][INVITEE] | {"two_step": "totp", "role": "secondary", "invitation": "pending"}
        == snap["accounts"][INVITEE]
    )
    assert snap["invitations"][0]["state"] == "accepted"

    # Signed in before the primary user confirms: the invitation is pending.
    next_code = pyotp.TOTP(secret).generate_otp(max(counter + 1, totp_counter(secret)))
    sign_in(staff, mock, INVITEE, INVITEE_PASSWORD, next_code)
    expect(staff.locator("#sc-invitation-pending")).to_contain_text("招待が承認待ち")

    # The primary user enters the code (a wrong one first), then sets the rights.
    page.reload()
    expect(row(page, INVITEE)).to_have_attribute("data-state", "accepted")
    row(page, INVITEE).locator("#confirm-code-input").fill("WRONG234")
    row(page, INVITEE).locator("#confirm-code-submit").click()
    expect(page.locator("#confirm-code-error")).to_contain_text("確認コードが正しくありません")
    row(page, INVITEE).locator("#confirm-code-input").fill(code.lower())
    row(page, INVITEE).locator("#confirm-code-submit").click()
    expect(page).to_have_url(re.compile(r"/gp/account-manager/permissions\.html\?user="))
    expect(page.locator("#invitation-confirmed-notice")).to_be_visible()
    table = page.locator("#permissions-table")
    expect(table.locator("tr[data-tool=orders] input[name=orders][value=none]")).to_be_checked()
    table.locator("tr[data-tool=orders]").get_by_label("閲覧と編集").check()
    table.locator("tr[data-tool=reports]").get_by_label("閲覧", exact=True).check()
    expect(table.locator("tr[data-tool=user_permissions]").get_by_label("管理者")).to_be_visible()
    page.locator("#permissions-save").click()
    expect(page.locator("#permissions-saved")).to_have_text("権限を保存しました。")
    snap = mock.state.snapshot()
    assert snap["accounts"][INVITEE]["invitation"] == "accepted"
    assert snap["accounts"][INVITEE]["permissions"] == {
        "orders": "edit",
        "inventory": "none",
        "reports": "view",
        "user_permissions": "none",
    }
    assert snap["invitations"][0]["state"] == "confirmed"

    # The secondary user: only orders and reports in the navbar; the rest is refused.
    staff.goto(mock.url(JP, "/home"))
    pick_account(staff)
    expect(staff.get_by_role("heading", name="さくら雑貨店 さん、こんにちは")).to_be_visible()
    expect(staff.locator("#sc-navbar .sc-menu a")).to_have_text(["注文", "レポート"])
    expect(staff.locator("#sc-settings-user-permissions")).to_have_count(0)
    staff.locator("#sc-navbar").get_by_role("link", name="注文").click()
    expect(staff.get_by_role("heading", name="注文管理")).to_be_visible()
    staff.locator("#sc-navbar").get_by_role("link", name="レポート").click()
    expect(staff.locator(".sc-view-only")).to_have_text("閲覧のみ")
    response = staff.goto(mock.url(JP, "/inventory"))
    assert response is not None
    assert response.status == 403
    expect(staff.locator("#sc-permission-denied")).to_contain_text("「在庫」の権限")
    response = staff.goto(mock.url(JP, "/gp/account-manager/home.html"))
    assert response is not None
    assert response.status == 403
    expect(staff.locator("#sc-permission-denied")).to_contain_text("「ユーザー権限」の権限")

    # The primary user's list now holds the new user.
    page.locator("#permissions-back").click()
    expect(page.locator(f".current-user[data-email='{INVITEE}']")).to_contain_text("田中 花子")
    expect(page.locator(".pending-invitation")).to_have_count(0)


def staff_account(**changes: Any) -> dict[str, Any]:
    return {
        "email": INVITEE,
        "password": INVITEE_PASSWORD,
        "two_step": "totp",
        "totp_secret": STAFF_SECRET,
        "role": "secondary",
        "permissions": {"orders": "view"},
        "merchants": [MERCHANT],
        **changes,
    }


def test_revoked_user_loses_seller_central(page: Page, other: BrowserContext, mock: MockServer) -> None:
    mock.configure(config(extra=[staff_account()]))
    primary_opens_user_permissions(page, mock)
    page.locator(f".current-user[data-email='{INVITEE}'] .manage-permissions").click()
    expect(page.locator("tr[data-tool=orders] input[value=view]")).to_be_checked()
    page.locator("#revoke-access").click()
    expect(page.locator("#revoke-confirm")).to_contain_text("アクセスできなくなります")
    page.locator("#revoke-confirm-submit").click()
    expect(page.locator("#user-permissions-notice")).to_contain_text("アクセス権を削除しました")
    expect(page.locator(f".current-user[data-email='{INVITEE}']")).to_have_count(0)
    assert mock.state.snapshot()["accounts"][INVITEE]["invitation"] == "revoked"

    staff = other.new_page()
    sign_in(staff, mock, INVITEE, INVITEE_PASSWORD, pyotp.TOTP(STAFF_SECRET).now())
    expect(staff.locator("#sc-no-permission")).to_contain_text("セラーセントラルのユーザー権限がありません")


def test_resend_replaces_the_link_and_delete_withdraws_it(page: Page, mock: MockServer) -> None:
    mock.configure(config())
    primary_opens_user_permissions(page, mock)
    invite(page, "田中 花子", INVITEE)
    invite(page, "鈴木 一郎", "suzuki@example.jp")
    expect(page.locator(".pending-invitation")).to_have_count(2)

    first = mailed_link(page, mock, INVITEE)
    page.goto(mock.url(JP, "/gp/account-manager/home.html"))
    row(page, INVITEE).locator(".resend-invitation").click()
    expect(page.locator("#user-permissions-notice")).to_contain_text("招待を再送信しました")
    row(page, "suzuki@example.jp").locator(".delete-invitation").click()
    expect(page.locator("#user-permissions-notice")).to_contain_text("招待を削除しました")
    expect(page.locator(".pending-invitation")).to_have_count(1)
    snap = mock.state.snapshot()
    assert [i["state"] for i in snap["invitations"]] == ["pending", "deleted"]
    assert [m["to"] for m in snap["mails"] if m["kind"] == "invitation"].count(INVITEE) == 2

    suzuki = mailed_link(page, mock, "suzuki@example.jp")
    second = mailed_link(page, mock, INVITEE)
    assert second != first
    for old in (first, suzuki):
        response = page.goto(old)
        assert response is not None
        assert response.status == 404
        expect(page.locator("#sc-invitation-invalid")).to_contain_text("この招待リンクは無効です")
    page.goto(second)
    expect(page.locator("#register-form")).to_be_visible()


def test_a_link_past_its_time_to_live_is_expired_until_resent(page: Page, mock: MockServer) -> None:
    mock.configure(config(site={"invitation_ttl_days": 14}))
    primary_opens_user_permissions(page, mock)
    invite(page, "田中 花子", INVITEE)
    link = mailed_link(page, mock, INVITEE)
    mock.state.clock_offset_days = 15
    response = page.goto(link)
    assert response is not None
    assert response.status == 410
    expect(page.locator("#sc-invitation-expired")).to_contain_text("有効期限が切れています")
    assert mock.state.snapshot()["invitations"][0]["state"] == "expired"

    page.goto(mock.url(JP, "/gp/account-manager/home.html"))
    expect(row(page, INVITEE)).to_have_attribute("data-state", "expired")
    expect(row(page, INVITEE)).to_contain_text("期限切れ")
    row(page, INVITEE).locator(".resend-invitation").click()
    expect(row(page, INVITEE)).to_have_attribute("data-state", "pending")
    page.goto(mailed_link(page, mock, INVITEE))
    expect(page.locator("#register-form")).to_be_visible()
    assert mock.state.snapshot()["invitations"][0]["state"] == "pending"


def test_individual_plan_is_asked_to_upgrade(page: Page, mock: MockServer) -> None:
    mock.configure(config(plan="individual"))
    sign_in(page, mock, EMAIL, PASSWORD, pyotp.TOTP(TOTP_SECRET).now())
    pick_account(page)
    page.locator("#sc-settings-user-permissions").click()
    expect(page.locator("#sc-upgrade-required")).to_contain_text("大口出品サービス")
    expect(page.locator("#invite-user-form")).to_have_count(0)
    assert mock.state.snapshot()["accounts"][EMAIL]["plan"] == "individual"


def test_rights_per_marketplace_and_a_secondary_administrator(
    page: Page, other: BrowserContext, mock: MockServer
) -> None:
    both = {**MERCHANT, "marketplaces": ["jp", "us"]}
    admin = staff_account(email="admin@example.jp", totp_secret=TOTP_SECRET, merchants=[both])
    admin["permissions"] = {"user_permissions": "edit"}
    mock.configure(config(merchants=[both], extra=[staff_account(merchants=[both]), admin]))
    # A secondary administrator manages the others' rights.
    sign_in(page, mock, "admin@example.jp", INVITEE_PASSWORD, pyotp.TOTP(TOTP_SECRET).now())
    page.get_by_role("radio", name=re.compile("日本")).check()
    pick_account(page)
    expect(page.locator("#sc-navbar .sc-menu a")).to_have_count(0)
    page.locator("#sc-settings-user-permissions").click()
    page.locator(f".current-user[data-email='{INVITEE}'] .manage-permissions").click()
    orders = page.locator("#permissions-table tr[data-tool=orders]")
    orders.get_by_label("閲覧と編集").check()
    orders.locator("input[data-marketplace=jp]").uncheck()
    page.locator("#permissions-save").click()
    expect(page.locator("#permissions-saved")).to_be_visible()
    expect(orders.locator("input[data-marketplace=jp]")).not_to_be_checked()
    expect(orders.locator("input[data-marketplace=us]")).to_be_checked()
    assert mock.state.accounts[("jp", INVITEE)].marketplace_rights == {"orders": ["us"]}

    staff = other.new_page()
    sign_in(staff, mock, INVITEE, INVITEE_PASSWORD, pyotp.TOTP(STAFF_SECRET).now(), path="/orders-v3")
    staff.get_by_role("radio", name=re.compile("日本")).check()
    pick_account(staff)
    expect(staff.locator("#sc-permission-denied")).to_contain_text("「注文」の権限")
