"""The mock's failure modes in-process, through Starlette's TestClient.

Each test drives the site the way a browser would (cookies, redirects, forms)
and reads mail and text messages from the mailbox host the way a person does.
"""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from fixtures.mock_site import SiteConfig, create_app

from .conftest import EMAIL, PASSWORD, TOTP_SECRET, site_config
from .test_mock_routes import (
    JP,
    US,
    csrf,
    enter_otp,
    enter_password,
    error_text,
    find_form,
    submit,
    to_mfa,
    to_password,
)

BUYER = "https://www.amazon.co.jp.localhost"
MAIL = "https://mail.localhost"
PICKER = "/account-switcher/default/merchantMarketplace"
MOBILE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
)
DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def config(*, site: dict[str, Any] | None = None, **account: Any) -> SiteConfig:
    """The standard seller account with ``account`` changes, and site-wide settings."""
    return SiteConfig.model_validate({**site_config(**account).model_dump(), **(site or {})})


def client(cfg: SiteConfig | None = None, base: str = JP, **headers: str) -> TestClient:
    c = TestClient(create_app(cfg or site_config()), base_url=base, follow_redirects=False)
    c.headers.update(headers)
    return c


def state_of(c: TestClient) -> Any:
    return c.app.state.site  # type: ignore[attr-defined]  # the Starlette app behind the client


def submit_password(c: TestClient, password: str = PASSWORD) -> Any:
    return enter_password(c, password)


def totp_now() -> str:
    return pyotp.TOTP(TOTP_SECRET).now()


def sign_in(c: TestClient) -> Any:
    """Email, password and authenticator code: the response that ends the sign-in."""
    return enter_otp(c, to_mfa(c), totp_now())


def pick_account(c: TestClient, location: str) -> Any:
    """Follow a redirect to the account picker and choose the first account."""
    picker = c.get(location)
    value = re.search(r'name="merchantMarketplace" value="([^"]+)"', picker.text)
    anti = re.search(r'name="anti-csrftoken-a2z" value="([^"]+)"', picker.text)
    return_to = re.search(r'name="returnTo" value="([^"]+)"', picker.text)
    assert value, picker.text
    assert anti
    assert return_to
    return c.post(
        PICKER,
        data={
            "anti-csrftoken-a2z": anti.group(1),
            "merchantMarketplace": value.group(1),
            "returnTo": html.unescape(return_to.group(1)),
        },
    )


def signed_in_home(c: TestClient) -> Any:
    assert sign_in(c).headers["location"] == "/home"
    chosen = pick_account(c, c.get("/home").headers["location"])
    return c.get(chosen.headers["location"])


def messages(c: TestClient, path: str, to: str) -> list[dict[str, str]]:
    """The inbox (``/inbox``) or phone (``/sms``) as a person reads it, newest first."""
    page = c.get(f"{MAIL}{path}", params={"to": to})
    assert page.status_code == 200
    found = []
    for article in re.findall(r"<article class=\"(?:message|sms)\">(.*?)</article>", page.text, re.S):
        fields = dict(re.findall(r'class="(from|subject|date|body)"[^>]*>(.*?)</', article, re.S))
        found.append({k: html.unescape(v) for k, v in fields.items()})
    return found


def sms_code(c: TestClient, digits: str = "123") -> str:
    texts = messages(c, "/sms", digits)
    assert texts, "no text message on the phone"
    match = re.match(r"(\d{6}) ", texts[0]["body"])
    assert match, texts[0]
    return match.group(1)


def title(page: Any) -> str:
    match = re.search(r"<title>(.*?)</title>", page.text, re.S)
    return html.unescape(match.group(1)) if match else ""


def h1(page: Any) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", page.text, re.S)
    return html.unescape(match.group(1)).strip() if match else ""


def set_cookie_names(response: Any) -> set[str]:
    return {h.split("=", 1)[0] for h in response.headers.get_list("set-cookie")}


def not_signed_in(c: TestClient) -> bool:
    return c.get("/home").headers.get("location", "").startswith("/ap/signin")


# 1. The "Sorry" page


def test_transient_server_error_shows_the_sorry_page_then_recovers() -> None:
    c = client(config(site={"faults": [{"kind": "server_error", "path": "/ap/signin", "times": 2}]}))
    for _ in range(2):
        sorry = c.get("/ap/signin")
        assert sorry.status_code == 503
        assert sorry.headers["cache-control"] == "no-store"
        # No heading: the message is only in the title and the picture's alt text.
        assert title(sorry) == "申し訳ありません。問題が発生しました"
        assert "<h1" not in sorry.text
        assert re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="首をかしげる犬のイラスト"', sorry.text)
        assert 'href="/"' in sorry.text
        assert "模擬環境" in sorry.text
    assert c.get("/").status_code == 302  # other paths were never affected
    recovered = c.get("/ap/signin")
    assert recovered.status_code == 200
    assert 'id="ap_email"' in recovered.text


def test_persistent_server_error_answers_every_page_but_not_the_cdn() -> None:
    c = client(config(site={"faults": [{"kind": "server_error"}]}))
    assert [c.get("/").status_code for _ in range(5)] == [503] * 5
    assert c.post("/ap/signin", data={}).status_code == 503
    assert c.get("/static/sc.css").status_code == 200


def test_sorry_page_is_in_english_on_the_us_host() -> None:
    sorry = client(config(site={"faults": [{"kind": "server_error"}]}), base=US).get("/home")
    assert sorry.status_code == 503
    assert title(sorry) == "Sorry! Something went wrong!"
    assert "<h1" not in sorry.text
    assert 'alt="A cartoon dog tilting its head"' in sorry.text


@pytest.mark.parametrize(
    ("base", "expected"),
    [(JP, "ただいまアクセスが集中しています"), (US, "Oops! It's rush hour and traffic is piling up on that page.")],
)
def test_rush_hour_variant_names_the_overload_in_the_title(base: str, expected: str) -> None:
    fault = {"kind": "server_error", "variant": "rush_hour"}
    page = client(config(site={"faults": [fault]}), base=base).get("/ap/signin")
    assert page.status_code == 503
    assert title(page) == expected
    assert "<h1" not in page.text
    assert re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="[^"]+"', page.text)


# 2. Maintenance


def test_maintenance_answers_503_with_retry_after() -> None:
    c = client(config(site={"faults": [{"kind": "maintenance", "times": 1}]}))
    down = c.get("/ap/signin")
    assert down.status_code == 503
    assert down.headers["retry-after"] == "3600"
    assert title(down) == "セラーセントラル: メンテナンス中"
    assert h1(down) == "ただいまメンテナンス中です"
    assert "ご不便をおかけして申し訳ありません。サービスは午前6時（日本時間）頃に再開する予定です。" in down.text
    assert c.get("/ap/signin").status_code == 200


def test_maintenance_in_english() -> None:
    down = client(config(site={"faults": [{"kind": "maintenance"}]}), base=US).get("/")
    assert title(down) == "Seller Central: Scheduled maintenance"
    assert h1(down) == "Seller Central is down for maintenance"


# 3. Robot check


def robot_page(c: TestClient) -> tuple[Any, str, str]:
    """The captcha page the sign-in redirected to, its token and its answer (read from the mock's state)."""
    first = c.get("/ap/signin", params={"openid.return_to": f"{JP}/orders-v3"})
    assert first.status_code == 302
    location = first.headers["location"]
    assert location.startswith("/errors/validateCaptcha?")
    page = c.get(location)
    token = re.search(r'name="amzn" value="([^"]+)"', page.text)
    assert token
    answer, _ = state_of(c).robot_challenges[token.group(1)]
    return page, token.group(1), answer


def test_robot_check_comes_before_the_sign_in_page_and_solving_it_leads_back() -> None:
    c = client(config(site={"faults": [{"kind": "robot_check"}]}))
    page, token, answer = robot_page(c)
    assert page.status_code == 200
    assert title(page) == "Amazon.co.jp"
    assert "申し訳ございません。お客様がロボットではないことを確認させていただく必要があります。" in page.text
    assert '<h4 class="robot-heading">画像に表示されている文字を入力してください</h4>' in page.text
    assert re.search(r'<input id="captchacharacters" name="field-keywords"', page.text)
    assert 'src="data:image/svg+xml;base64,' in page.text
    assert ">次に進む</button>" in page.text
    back = re.search(r'name="amzn-r" value="([^"]+)"', page.text)
    assert back
    solved = c.get("/errors/validateCaptcha", params={"amzn": token, "amzn-r": back.group(1), "field-keywords": answer})
    assert solved.status_code == 302
    target = urlsplit(solved.headers["location"])
    assert target.path == "/ap/signin"
    assert parse_qs(target.query)["openid.return_to"] == [f"{JP}/orders-v3"]
    signin = c.get(solved.headers["location"])
    assert signin.status_code == 200
    assert 'id="ap_email"' in signin.text


def test_wrong_characters_bring_a_new_captcha() -> None:
    c = client(config(site={"faults": [{"kind": "robot_check", "times": None}]}))
    _, token, answer = robot_page(c)
    wrong = c.get("/errors/validateCaptcha", params={"amzn": token, "field-keywords": "WRONG1"})
    assert wrong.status_code == 200
    new_token = re.search(r'name="amzn" value="([^"]+)"', wrong.text)
    assert new_token
    assert new_token.group(1) != token
    # The old challenge is spent, even with its right answer.
    assert c.get("/errors/validateCaptcha", params={"amzn": token, "field-keywords": answer}).status_code == 200


def test_a_solved_robot_check_lets_this_browser_through_but_not_another() -> None:
    cfg = config(site={"faults": [{"kind": "robot_check", "times": None}]})
    c = client(cfg)
    _, token, answer = robot_page(c)
    c.get("/errors/validateCaptcha", params={"amzn": token, "field-keywords": answer.lower()})
    assert c.get("/ap/signin").status_code == 200
    other = TestClient(c.app, base_url=JP, follow_redirects=False)
    assert other.get("/ap/signin").status_code == 302


# 4. Captcha on the password page


def test_earlier_failures_bring_the_captcha_as_soon_as_the_password_page_shows() -> None:
    c = client(config(failed_attempts=3))
    page = to_password(c)
    assert 'id="auth-warning-message-box"' in page.text
    assert "重要なお知らせ!" in page.text
    assert "パスワードをもう一度入力し、画像に表示されている文字を入力してください。" in page.text
    assert 'id="auth-captcha-image"' in page.text
    assert 'id="auth-captcha-guess"' in page.text
    # The right password and the right characters sign in.
    answer = next(s.captcha_answer for s in state_of(c).sessions.values() if s.claimed_email)
    ok = submit(c, page, {"password": PASSWORD, "guess": answer})
    assert ok.headers["location"].startswith("/ap/mfa")


def test_no_captcha_below_the_threshold() -> None:
    c = client(config(failed_attempts=2))
    assert 'id="auth-captcha-image"' not in to_password(c).text


# 5. Locked


@pytest.mark.parametrize("password", [PASSWORD, "wrong-password"])
def test_locked_account_shows_the_hold_notice_after_any_password(password: str) -> None:
    c = client(config(status="locked"))
    page = submit_password(c, password)
    assert page.status_code == 200
    box = re.search(r'<div id="auth-error-message-box".*?</div>\s*</div>\s*</div>', page.text, re.S)
    assert box
    assert "アカウントの一時保留" in box.group(0)
    assert "セキュリティ上の理由により、お客様のアカウントはロックされています。" in box.group(0)
    detail = (
        "不審なアクティビティが検出されたため、アカウントを一時的に保留にしました。パスワードを再設定してください。"
    )
    assert detail not in box.group(0)
    assert detail in page.text
    assert not {"session-token", "at-acbjp"} & set_cookie_names(page)
    assert not_signed_in(c)


def test_lock_after_repeated_failures_holds_the_right_password_too() -> None:
    c = client(config(failed_attempts=5, site={"captcha_after": 10}))
    locked = submit_password(c, "wrong-password")
    assert "アカウントの一時保留" in locked.text
    again = enter_password(c, PASSWORD)
    assert "アカウントの一時保留" in again.text
    assert not_signed_in(c)


def test_locked_notice_in_english() -> None:
    cfg = SiteConfig.model_validate(
        {
            "accounts": [
                {"email": EMAIL, "password": PASSWORD, "marketplace": "us", "status": "locked", "two_step": "sms"}
            ]
        }
    )
    c = client(cfg, base=US)
    page = submit_password(c)
    assert "Account on hold temporarily" in page.text
    assert "Your account has been locked for security purposes." in page.text


# 6. Dormant


def test_dormant_account_is_stopped_after_the_right_password() -> None:
    c = client(config(status="dormant"))
    page = submit_password(c)
    assert page.status_code == 200
    assert title(page) == h1(page) == "アカウントにアクセスできません"
    warning = re.search(r'<div id="auth-warning-message-box".*?</div>\s*</div>\s*</div>', page.text, re.S)
    assert warning
    assert "重要なお知らせ!" in warning.group(0)
    assert "このアカウントは長期間ご利用がなかったため、アクセスが制限されています。" in warning.group(0)
    assert "アカウントを再開するには、Amazonにお問い合わせください。" in page.text
    assert "session-token" not in set_cookie_names(page)
    assert not_signed_in(c)


def test_dormant_account_with_a_wrong_password_hears_only_that() -> None:
    page = submit_password(client(config(status="dormant")), "wrong-password")
    assert error_text(page.text) == "パスワードが正しくありません"


# 7. Reset required and the reset flow


def test_reset_required_sends_the_browser_to_password_assistance() -> None:
    c = client(config(status="reset_required"))
    moved = submit_password(c)
    assert moved.status_code == 302
    assert moved.headers["location"] == "/ap/forgotpassword/reverification"
    page = c.get(moved.headers["location"])
    assert title(page) == h1(page) == "パスワードアシスタンス"
    assert "セキュリティ保護のため、お客様のアカウントのパスワードを再設定する必要があります。" in page.text
    assert re.search(r'<div id="auth-warning-message-box"', page.text)
    assert '<form name="forgotPassword"' in page.text
    assert re.search(rf'id="ap_email" name="email" value="{re.escape(EMAIL)}"', page.text)
    assert 'id="continue"' in page.text
    assert not_signed_in(c)


def reset_to_new_password_page(c: TestClient) -> str:
    submit_password(c)
    page = c.get("/ap/forgotpassword/reverification")
    sent = c.post("/ap/forgotpassword/reverification", data={"appActionToken": csrf(page.text), "email": EMAIL})
    assert sent.headers["location"] == "/ap/cvf"
    cvf = c.get("/ap/cvf")
    assert 'id="input-box-otp"' in cvf.text
    assert 'id="cvf-submit-otp-button"' in cvf.text
    mail = messages(c, "/inbox", EMAIL)[0]
    assert mail["subject"] == "Amazon.co.jp: パスワードアシスタンス"
    assert mail["from"] == "Amazon.co.jp <account-update@amazon.co.jp>"
    code = re.search(r"\b(\d{6})\b", mail["body"])
    assert code
    token = csrf(cvf.text)
    wrong = c.post("/ap/cvf", data={"appActionToken": token, "code": "000000" if code.group(1) != "000000" else "1"})
    assert "無効なワンタイムパスワード（OTP）です" in error_text(wrong.text)
    verified = c.post("/ap/cvf", data={"appActionToken": token, "code": code.group(1)})
    assert verified.status_code == 302
    page = c.get(verified.headers["location"])
    for element in ('id="ap_password"', 'id="ap_password_check"', 'id="continue"'):
        assert element in page.text
    return csrf(page.text)


@pytest.mark.parametrize("reused", [PASSWORD, "Sakura-Zakka-2023!", "Sakura-Zakka-2022!"])
def test_password_reset_refuses_current_and_earlier_passwords(reused: str) -> None:
    c = client(config(status="reset_required", previous_passwords=["Sakura-Zakka-2023!", "Sakura-Zakka-2022!"]))
    token = reset_to_new_password_page(c)
    refused = c.post(
        "/ap/forgotpassword/reset", data={"appActionToken": token, "password": reused, "passwordCheck": reused}
    )
    assert error_text(refused.text) == "過去に使用したパスワードは使用できません。"


def test_password_reset_sets_the_new_password_and_reactivates_the_account() -> None:
    c = client(config(status="reset_required"))
    token = reset_to_new_password_page(c)
    new = "Sakura-Zakka-2025?"
    mismatch = c.post(
        "/ap/forgotpassword/reset", data={"appActionToken": token, "password": new, "passwordCheck": new + "x"}
    )
    assert error_text(mismatch.text) == "パスワードが一致しません"
    done = c.post("/ap/forgotpassword/reset", data={"appActionToken": token, "password": new, "passwordCheck": new})
    assert done.status_code == 200
    assert "パスワードが変更されました" in done.text
    assert re.search(r'<a id="auth-signin-link" class="a-link-normal" href="/ap/signin\?', done.text)
    assert messages(c, "/inbox", EMAIL)[0]["subject"] == "Amazon.co.jp: パスワードが変更されました"
    assert error_text(submit_password(c, PASSWORD).text) == "パスワードが正しくありません"
    assert submit_password(c, new).headers["location"].startswith("/ap/mfa")


def test_reset_in_english_refuses_reuse_in_english() -> None:
    cfg = SiteConfig.model_validate(
        {
            "accounts": [
                {
                    "email": EMAIL,
                    "password": PASSWORD,
                    "marketplace": "us",
                    "status": "reset_required",
                    "two_step": "sms",
                }
            ]
        }
    )
    c = client(cfg, base=US)
    moved = submit_password(c)
    page = c.get(moved.headers["location"])
    assert h1(page) == "Password assistance"
    assert "For your security, we need you to reset the password on your account." in page.text


# 8. Two-step verification required


def test_account_without_2sv_is_sent_to_turn_it_on() -> None:
    c = client(config(two_step="none", totp_secret=None))
    moved = submit_password(c)
    assert moved.status_code == 302
    assert moved.headers["location"] == "/ap/mfa/required"
    assert "session-token" not in set_cookie_names(moved)
    page = c.get("/ap/mfa/required")
    assert title(page) == h1(page) == "2段階認証を有効にしてください"
    assert "重要なお知らせ!" in page.text
    assert (
        "セラーセントラルにログインするには2段階認証が必要です。Amazonアカウントの2段階認証が無効になっています。"
        in page.text
    )
    link = re.search(r'<a id="sc-2sv-enroll-link" class="a-button-text" href="([^"]+)">([^<]+)</a>', page.text)
    assert link
    assert link.group(1) == f"{BUYER}/a/settings/approval"
    assert link.group(2) == "2段階認証を設定する"
    assert not_signed_in(c)


def test_legacy_account_hears_that_2sv_was_never_set_up() -> None:
    c = client(config(two_step="none", totp_secret=None, legacy=True))
    submit_password(c)
    page = c.get("/ap/mfa/required")
    assert (
        "セラーセントラルでは2段階認証が必須になりました。このアカウントでは2段階認証が設定されていません。"
        in page.text
    )
    assert "無効になっています" not in page.text


def test_enroll_link_keeps_the_scheme_suffix_and_port() -> None:
    c = client(config(two_step="none", totp_secret=None), base="https://sellercentral.amazon.co.jp.localhost:8443")
    submit_password(c)
    page = c.get("/ap/mfa/required")
    assert 'href="https://www.amazon.co.jp.localhost:8443/a/settings/approval"' in page.text


def test_2sv_required_page_needs_a_sign_in_in_progress() -> None:
    assert client().get("/ap/mfa/required").headers["location"].startswith("/ap/signin")


# 9. A buyer account without Seller Central access


@pytest.mark.parametrize("path", ["/home", PICKER])
def test_buyer_account_signs_in_but_has_no_seller_central_permission(path: str) -> None:
    c = client(config(merchants=[]))
    done = sign_in(c)
    assert {"session-token", "at-acbjp", "__Host-mselc"} <= set_cookie_names(done)
    page = c.get(path)
    assert page.status_code == 200
    assert '<meta name="anti-csrftoken-a2z"' in page.text
    alert = re.search(r'<div id="sc-no-permission"[^>]*role="alert"', page.text)
    assert alert
    assert "セラーセントラルのユーザー権限がありません" in page.text
    assert (
        "このAmazonアカウントには、セラーセントラルを利用する権限がありません。"
        "出品用アカウントの管理者に招待を依頼するか、出品用アカウントを登録してください。" in page.text
    )


# 10. Tools and permissions


def test_orders_needs_sign_in_and_a_selection_and_lands_there_afterwards() -> None:
    c = client()
    first = c.get("/orders-v3")
    assert first.status_code == 302
    params = parse_qs(urlsplit(first.headers["location"]).query)
    assert params["openid.return_to"] == [f"{JP}/orders-v3"]
    password_page = submit(c, c.get(first.headers["location"]), {"email": EMAIL})
    moved = enter_password(c, PASSWORD, password_page)
    done = enter_otp(c, c.get(moved.headers["location"]), totp_now())
    assert done.headers["location"] == "/orders-v3"
    to_picker = c.get("/orders-v3")
    assert to_picker.headers["location"] == f"{PICKER}?returnTo=%2Forders-v3"
    chosen = pick_account(c, to_picker.headers["location"])
    assert chosen.headers["location"].startswith("/orders-v3?mons_sel_mkid=A1VC38T7YXB528")
    page = c.get(chosen.headers["location"])
    assert page.status_code == 200
    assert h1(page) == "注文管理"
    assert '<meta name="anti-csrftoken-a2z"' in page.text
    assert 'id="sc-navbar"' in page.text
    assert page.text.count("<tr>") >= 4


def test_inventory_page_for_the_primary_user() -> None:
    c = client()
    signed_in_home(c)
    page = c.get("/inventory")
    assert page.status_code == 200
    assert h1(page) == "在庫管理"
    assert ">編集</button>" in page.text


@pytest.mark.parametrize(
    ("role", "permissions", "status"),
    [
        ("primary", {}, 200),
        ("secondary", {}, 403),
        ("secondary", {"orders": "none"}, 403),
        ("secondary", {"inventory": "edit"}, 403),
        ("secondary", {"orders": "view"}, 200),
        ("secondary", {"orders": "edit"}, 200),
    ],
)
def test_orders_page_follows_the_users_rights(role: str, permissions: dict[str, str], status: int) -> None:
    c = client(config(role=role, permissions=permissions))
    signed_in_home(c)
    page = c.get("/orders-v3")
    assert page.status_code == status
    assert '<meta name="anti-csrftoken-a2z"' in page.text
    assert 'id="sc-navbar"' in page.text
    if status == 403:
        assert re.search(r'<div id="sc-permission-denied"[^>]*role="alert"', page.text)
        assert "このページへのアクセス権限がありません" in page.text
        assert (
            "このページを表示するには、アカウントの管理者（主たるユーザー）に「注文」の権限を依頼してください。"
            in page.text
        )
    else:
        assert h1(page) == "注文管理"


def test_view_right_shows_the_page_without_edit_buttons() -> None:
    c = client(config(role="secondary", permissions={"inventory": "view"}))
    signed_in_home(c)
    page = c.get("/inventory")
    assert page.status_code == 200
    assert "閲覧のみ" in page.text
    assert ">編集</button>" not in page.text
    denied = c.get("/orders-v3")
    assert "「注文」の権限" in denied.text


def test_permission_denied_names_the_tool_in_english() -> None:
    cfg = SiteConfig.model_validate(
        {
            "accounts": [
                {
                    "email": EMAIL,
                    "password": PASSWORD,
                    "marketplace": "us",
                    "two_step": "totp",
                    "totp_secret": TOTP_SECRET,
                    "role": "secondary",
                    "merchants": [{"name": "Sakura Goods", "marketplaces": ["us"]}],
                }
            ]
        }
    )
    c = client(cfg, base=US)
    signed_in_home(c)
    page = c.get("/inventory")
    assert page.status_code == 403
    text = html.unescape(page.text)
    assert "You don't have permission to access this page" in text
    assert '"Inventory" permission' in text


# 11. Suspended and closed


@pytest.mark.parametrize(
    ("status", "heading", "body", "health", "subject"),
    [
        (
            "suspended",
            "出品用アカウントが停止されています",
            "お客様の出品用アカウントは停止されました。詳しくは、登録済みのEメールアドレスに送信された通知をご確認ください。",
            "停止中",
            "出品用アカウントの停止について",
        ),
        (
            "closed",
            "出品用アカウントは閉鎖されています",
            "お客様の出品用アカウントは閉鎖されました。",
            "閉鎖",
            "出品用アカウントの閉鎖について",
        ),
    ],
)
def test_suspended_or_closed_account_signs_in_and_sees_the_banner(
    status: str, heading: str, body: str, health: str, subject: str
) -> None:
    c = client(config(status=status))
    home = signed_in_home(c)
    assert home.status_code == 200
    for page in (home, c.get("/orders-v3")):
        banner = re.search(r'<div id="sc-account-status"[^>]*role="alert">(.*?)</div>', page.text, re.S)
        assert banner
        assert heading in banner.group(1)
        assert body in banner.group(1)
    health_card = re.search(r'id="sc-account-health">(.*?)</article>', home.text, re.S)
    assert health_card
    assert health in health_card.group(1)
    assert "良好" not in health_card.group(1)
    mails = messages(c, "/inbox", EMAIL)
    assert [m["subject"] for m in mails] == [subject]


def test_active_account_has_no_status_banner() -> None:
    home = signed_in_home(client())
    assert 'id="sc-account-status"' not in home.text
    assert "良好" in home.text


# 12. Interruptions


def test_add_mobile_interruption_can_be_skipped() -> None:
    c = client(config(interruption="add_mobile"))
    after_code = sign_in(c)
    assert after_code.headers["location"] == "/ap/accountfixup"
    assert "session-token" not in set_cookie_names(after_code)
    page = c.get("/ap/accountfixup")
    assert h1(page) == "携帯電話番号を追加"
    assert '<input type="tel" id="ap_phone_number"' in page.text
    label = '<span id="auth-verify-button-announce" class="a-button-text" aria-hidden="true">携帯電話番号を追加</span>'
    assert f'aria-labelledby="auth-verify-button-announce">{label}' in page.text
    skip = re.search(
        r'<a id="ap-account-fixup-phone-skip-link" class="a-link-normal" href="([^"]+)">後で</a>', page.text
    )
    assert skip
    assert not_signed_in(c)
    done = c.get(html.unescape(skip.group(1)))
    assert done.headers["location"] == "/home"
    assert "session-token" in set_cookie_names(done)
    assert c.get("/home").headers["location"].startswith(PICKER)


def test_adding_a_mobile_number_ends_the_interruption() -> None:
    c = client(config(interruption="add_mobile"))
    sign_in(c)
    token = csrf(c.get("/ap/accountfixup").text)
    bad = c.post("/ap/accountfixup", data={"appActionToken": token, "phoneNumber": "12"})
    assert error_text(bad.text) == "有効な携帯電話番号を入力してください"
    done = c.post("/ap/accountfixup", data={"appActionToken": token, "phoneNumber": "090-1234-5987"})
    assert done.headers["location"] == "/home"
    account = state_of(c).account("jp", EMAIL)
    assert (account.interruption, account.phone_last_digits) == ("none", "987")


def test_new_layout_interruption_has_none_of_the_classic_ids() -> None:
    c = client(config(interruption="add_mobile_new_layout"))
    assert sign_in(c).headers["location"] == "/ap/accountfixup"
    page = c.get("/ap/accountfixup")
    assert title(page) == "アカウントのセキュリティ"
    assert h1(page) == "アカウントのセキュリティを強化しましょう"
    assert ">今すぐ追加</button>" in page.text
    for classic in ('id="ap_phone_number"', 'id="ap-account-fixup-phone-skip-link"', 'id="auth-'):
        assert classic not in page.text
    dismiss = re.search(r'<a id="fixup-dismiss" class="fx-dismiss" href="([^"]+)">スキップ</a>', page.text)
    assert dismiss
    done = c.get(html.unescape(dismiss.group(1)))
    assert done.headers["location"] == "/home"
    assert "session-token" in set_cookie_names(done)


def test_skip_link_needs_the_sign_in_in_progress() -> None:
    c = client(config(interruption="add_mobile"))
    sign_in(c)
    forged = c.get("/ap/accountfixup", params={"action": "skip", "appActionToken": "forged"})
    assert forged.status_code == 200
    assert not_signed_in(c)


# 13. Text-message codes and the method chooser


def sms_config(**account: Any) -> SiteConfig:
    return config(**{"two_step": "sms", "totp_secret": None, **account})


def test_sms_code_reaches_the_phone_and_signs_in_once() -> None:
    c = client(sms_config())
    moved = submit_password(c)
    page = c.get(moved.headers["location"])
    assert "末尾が123の電話番号にワンタイムパスワード（OTP）を送信しました。" in page.text
    texts = messages(c, "/sms", "123")
    assert texts[0]["from"] == "Amazon"
    assert re.fullmatch(r"\d{6} はAmazonのワンタイムパスワードです。誰とも共有しないでください。", texts[0]["body"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST", texts[0]["date"])
    code = sms_code(c)
    assert enter_otp(c, page, code).headers["location"] == "/home"
    again = TestClient(c.app, base_url=JP, follow_redirects=False)  # another browser, same site
    page2 = again.get(submit_password(again).headers["location"])
    replay = enter_otp(again, page2, code)
    assert "ワンタイムパスワード（OTP）は無効です" in error_text(replay.text)


def test_only_the_newest_sms_code_counts() -> None:
    c = client(sms_config())
    moved = submit_password(c)
    c.get(moved.headers["location"])
    older = sms_code(c)
    page = c.get(moved.headers["location"])
    newer = sms_code(c)
    assert len(messages(c, "/sms", "123")) == 2
    if older != newer:
        refused = enter_otp(c, page, older)
        assert refused.status_code == 200
    assert enter_otp(c, page, newer).status_code == 302


def test_sms_code_expires_after_ten_minutes() -> None:
    c = client(sms_config())
    moved = submit_password(c)
    page = c.get(moved.headers["location"])
    account = state_of(c).account("jp", EMAIL)
    account.sms_code.expires = time.time() - 1
    refused = enter_otp(c, page, sms_code(c))
    assert "ワンタイムパスワード（OTP）は無効です" in error_text(refused.text)


def test_failed_sms_delivery_leaves_the_phone_empty() -> None:
    c = client(sms_config(sms_delivery="fails"))
    moved = submit_password(c)
    page = c.get(moved.headers["location"])
    assert "末尾が123の電話番号にワンタイムパスワード（OTP）を送信しました。" in page.text
    assert messages(c, "/sms", "123") == []


def chooser_options(page: Any) -> list[tuple[str, str, str]]:
    """(container class, opaque value, label) per method on the chooser."""
    return re.findall(
        r'<div class="a-radio (auth-\w+)"><label><input type="radio" name="otpDeviceContext" value="([^"]+)"[^>]*>'
        r'<span class="a-label a-radio-label">([^<]+)</span>',
        page.text,
    )


def choose(c: TestClient, chooser: Any, css: str) -> Any:
    value = next(value for kind, value, _ in chooser_options(chooser) if kind == css)
    return submit(c, chooser, {"otpDeviceContext": value}, id="auth-select-device-form")


def test_chooser_lists_sms_voice_and_the_backup_app_and_the_app_code_works() -> None:
    c = client(sms_config(totp_secret=TOTP_SECRET))
    moved = submit_password(c)
    mfa = c.get(moved.headers["location"])
    link = re.search(r'id="auth-get-new-otp-link" class="a-link-normal" href="([^"]+)">([^<]+)<', mfa.text)
    assert link
    assert link.group(1).startswith("/ap/mfa/new-otp?arb=")
    assert link.group(2) == "ワンタイムパスワードを受信できない場合"
    # The link sits inside the 2-step form.
    assert mfa.text.index('id="auth-get-new-otp-link"') < mfa.text.index("</form>")
    chooser = c.get(link.group(1))
    assert chooser.text.index("<h1") < chooser.text.index('<form id="auth-select-device-form" method="post" action=""')
    options = chooser_options(chooser)
    assert [(kind, label) for kind, _, label in options] == [
        ("auth-SMS", "末尾が123の電話番号にテキストメッセージを送信"),
        ("auth-VOICE", "末尾が123の電話番号に音声通話で連絡"),
        ("auth-TOTP", "認証アプリを使用"),
    ]
    assert not {"sms", "voice", "totp"} & {value for _, value, _ in options}  # opaque values
    assert 'name="appAction" value="MFA_NEW_OTP"' in chooser.text
    assert 'id="auth-send-code"' in chooser.text
    assert ">ワンタイムパスワードを送信</span>" in chooser.text
    chosen = choose(c, chooser, "auth-TOTP")
    assert chosen.headers["location"].startswith("/ap/mfa")
    page = c.get(chosen.headers["location"])
    assert "認証アプリで生成されたワンタイムパスワード（OTP）を入力してください。" in page.text
    assert len(messages(c, "/sms", "123")) == 1  # no new text for the app
    assert enter_otp(c, page, totp_now()).headers["location"] == "/home"


def test_voice_call_reads_a_fresh_code_out_on_the_phone_page() -> None:
    c = client(sms_config())
    moved = submit_password(c)
    mfa = c.get(moved.headers["location"])
    chooser = c.get(re.search(r'id="auth-get-new-otp-link" class="a-link-normal" href="([^"]+)"', mfa.text)[1])
    assert "auth-TOTP" not in chooser.text
    chosen = choose(c, chooser, "auth-VOICE")
    page = c.get(chosen.headers["location"])
    assert "音声通話" in page.text
    texts = messages(c, "/sms", "123")
    assert len(texts) == 2
    spoken = re.fullmatch(
        r"Amazonからの音声メッセージです。お客様のワンタイムパスワードは、((?:\d、){5}\d)、です。", texts[0]["body"]
    )
    assert spoken, texts[0]["body"]
    assert enter_otp(c, page, spoken.group(1).replace("、", "")).status_code == 302


def test_totp_accounts_list_only_the_app() -> None:
    c = client()
    to_mfa(c)
    chooser = c.get("/ap/mfa/new-otp")
    assert [kind for kind, _, _ in chooser_options(chooser)] == ["auth-TOTP"]
    refused = submit(c, chooser, {"otpDeviceContext": "sms"}, id="auth-select-device-form")
    assert refused.status_code == 200


def test_too_many_codes_leaves_no_way_to_send_another() -> None:
    c = client(sms_config(sms_delivery="fails", site={"faults": [{"kind": "too_many_codes"}]}))
    moved = submit_password(c)
    c.get(moved.headers["location"])
    chooser = c.get("/ap/mfa/new-otp")
    assert error_text(chooser.text) == (
        "ワンタイムパスワードのリクエスト回数が多すぎます。しばらく待ってから、もう一度お試しください。"
    )
    assert 'id="auth-error-message-box"' in chooser.text
    assert chooser_options(chooser) == []
    assert 'id="auth-send-code"' not in chooser.text
    refused = submit(c, chooser, {"otpDeviceContext": "anything"}, id="auth-select-device-form")
    assert refused.status_code == 200
    assert "リクエスト回数が多すぎます" in refused.text


def test_too_many_codes_in_english() -> None:
    cfg = SiteConfig.model_validate(
        {
            "accounts": [{"email": EMAIL, "password": PASSWORD, "marketplace": "us", "two_step": "sms"}],
            "faults": [{"kind": "too_many_codes"}],
        }
    )
    c = client(cfg, base=US)
    submit_password(c)
    chooser = c.get("/ap/mfa/new-otp")
    assert error_text(chooser.text) == "You have requested too many OTPs. Please wait and try again later."


# 14. A code already used by another sign-in


def test_already_used_code_is_refused_but_the_next_steps_code_works() -> None:
    c = client(config(otp_already_used=True))
    totp = pyotp.TOTP(TOTP_SECRET)
    mfa = to_mfa(c)
    # The code on the app's screen as this sign-in sends it was spent by another one.
    used_step = totp.timecode(datetime.now(tz=UTC))
    refused = enter_otp(c, mfa, totp.generate_otp(used_step))
    assert "ワンタイムパスワード（OTP）は無効です" in error_text(refused.text)
    accepted = enter_otp(c, refused, totp.generate_otp(used_step + 1))
    assert accepted.headers["location"] == "/home"


# 15. The mailbox


def test_security_events_leave_mails_newest_first() -> None:
    events = [{"kind": "password_changed", "days_ago": 3}, {"kind": "email_changed", "days_ago": 1}]
    c = client(config(security_events=events))
    page = c.get(f"{MAIL}/inbox", params={"to": EMAIL})
    assert title(page) == "受信トレイ"
    assert '<html lang="ja">' in page.text
    mails = messages(c, "/inbox", EMAIL)
    assert [m["subject"] for m in mails] == [
        "Amazon.co.jp: Eメールアドレスが変更されました",
        "Amazon.co.jp: パスワードが変更されました",
    ]
    assert all(m["from"] == "Amazon.co.jp <account-update@amazon.co.jp>" for m in mails)
    assert mails[0]["date"] > mails[1]["date"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST", mails[1]["date"])
    assert f"パスワードが {mails[1]['date']} に変更されました" in mails[1]["body"]
    assert "心当たりがない場合" in mails[1]["body"]
    assert messages(c, "/inbox", "someone.else@example.jp") == []


def test_configure_empties_the_mailbox_and_resets_fault_counters() -> None:
    c = client(
        config(security_events=[{"kind": "password_changed"}], site={"faults": [{"kind": "server_error", "times": 1}]})
    )
    assert c.get("/").status_code == 503
    assert c.get("/").status_code == 302
    state_of(c).configure(config(site={"faults": [{"kind": "server_error", "times": 1}]}))
    assert messages(c, "/inbox", EMAIL) == []
    assert c.get("/").status_code == 503


def test_mailbox_host_has_no_seller_central() -> None:
    c = client()
    assert c.get(f"{MAIL}/").headers["location"] == "/inbox"
    assert c.get(f"{MAIL}/home").status_code == 404
    assert c.post(f"{MAIL}/inbox").status_code == 405


# 16. The shopping site: turning 2SV on


def follow_buyer_sign_in(c: TestClient, location: str) -> Any:
    """Sign in on the shopping site (no 2SV there for this account) and return the last redirect."""
    page = c.get(location if location.startswith("http") else BUYER + location)
    password_page = submit(c, page, {"email": EMAIL})
    return submit(c, password_page, {"password": PASSWORD})


def shown_secret(page: Any) -> str:
    shown = re.search(r'id="sia-auth-app-formatted-secret"[^>]*>([A-Z2-7 ]+)<', page.text)
    assert shown, page.text
    return shown.group(1).replace(" ", "")


def test_turning_2sv_on_at_the_shopping_site_opens_seller_central() -> None:
    c = client(config(two_step="none", totp_secret=None))
    submit_password(c)
    enroll = re.search(r'id="sc-2sv-enroll-link" class="a-button-text" href="([^"]+)"', c.get("/ap/mfa/required").text)
    assert enroll
    to_signin = c.get(enroll.group(1))
    assert to_signin.status_code == 302
    params = parse_qs(urlsplit(to_signin.headers["location"]).query)
    assert params["openid.return_to"] == [f"{BUYER}/a/settings/approval"]
    done = follow_buyer_sign_in(c, to_signin.headers["location"])
    assert done.headers["location"] == "/a/settings/approval"
    assert not_signed_in(c)  # a shopping-site sign-in without 2SV does not open Seller Central

    overview = c.get(f"{BUYER}/a/settings/approval")
    assert "2段階認証の設定" in overview.text
    assert re.search(r'id="two-step-status"[^>]*>オフ<', overview.text)
    assert ">オンにする</a>" in overview.text
    start = c.get(f"{BUYER}/a/settings/approval/setup/register")
    assert ">開始する</a>" in start.text
    choose = c.get(f"{BUYER}/a/settings/approval/setup/howto")
    assert "認証アプリ" in choose.text
    first_secret = shown_secret(c.get(f"{BUYER}/a/settings/approval/setup/app"))
    app = c.get(f"{BUYER}/a/settings/approval/setup/app")
    secret = shown_secret(app)
    assert len(secret) == 32
    assert secret != first_secret  # a new secret each time the page is entered
    assert "<svg" in app.text
    assert 'id="ch-auth-app-code-input"' in app.text
    assert ">ワンタイムパスワードを確認して次に進む</button>" in app.text
    token = csrf(app.text)
    wrong = c.post(f"{BUYER}/a/settings/approval/setup/app", data={"appActionToken": token, "otpCode": "000000"})
    assert "ワンタイムパスワード（OTP）は無効です" in error_text(wrong.text)
    totp = pyotp.TOTP(secret)
    verified = c.post(f"{BUYER}/a/settings/approval/setup/app", data={"appActionToken": token, "otpCode": totp.now()})
    assert verified.headers["location"] == "/a/settings/approval/setup/enable"
    enable = c.get(f"{BUYER}/a/settings/approval/setup/enable")
    assert "このブラウザではワンタイムパスワードを必要としない" in enable.text
    assert 'id="enable-mfa-form-submit"' in enable.text
    assert ">わかりました。2段階認証を有効にする</button>" in enable.text
    enabled = c.post(f"{BUYER}/a/settings/approval/setup/enable", data={"appActionToken": token})
    assert enabled.headers["location"] == "/a/settings/approval"
    assert re.search(r'id="two-step-status"[^>]*>オン<', c.get(f"{BUYER}/a/settings/approval").text)
    assert messages(c, "/inbox", EMAIL)[0]["subject"] == "Amazon.co.jp: 2段階認証が有効になりました"

    # Seller Central now asks for the new app's code. The one that proved the
    # app works is spent; the next one signs in.
    moved = submit_password(c)
    assert moved.headers["location"].startswith("/ap/mfa")
    mfa = c.get(moved.headers["location"])
    step = state_of(c).account("jp", EMAIL).last_totp_counter
    spent = enter_otp(c, mfa, totp.generate_otp(step))
    assert spent.status_code == 200
    done = enter_otp(c, spent, totp.generate_otp(step + 1))
    assert done.headers["location"] == "/home"


def test_seller_central_session_reaches_the_shopping_site() -> None:
    c = client()
    sign_in(c)
    page = c.get(f"{BUYER}/a/settings/approval")
    assert page.status_code == 200
    assert re.search(r'id="two-step-status"[^>]*>オン<', page.text)


def test_shopping_site_settings_need_a_sign_in() -> None:
    moved = client(base=BUYER).get("/a/settings/approval/setup/app")
    assert moved.status_code == 302
    params = parse_qs(urlsplit(moved.headers["location"]).query)
    assert params["openid.return_to"] == [f"{BUYER}/a/settings/approval/setup/app"]
    assert params["openid.assoc_handle"] == ["jpflex"]


def test_enable_page_needs_a_verified_app() -> None:
    c = client()
    sign_in(c)
    assert c.get(f"{BUYER}/a/settings/approval/setup/enable").headers["location"] == "/a/settings/approval"


# 17. Deployments


def test_deployment_two_renames_the_hidden_field_and_serves_its_script_at_the_same_url() -> None:
    c = client()
    one_page, one_script = c.get("/ap/signin"), c.get("/ap/static/signin.js")
    assert 'name="workflowState"' in one_page.text
    assert "form.elements.workflowState.value" in one_script.text
    state_of(c).configure(config(site={"deployment": 2}))
    two_page, two_script = c.get("/ap/signin"), c.get("/ap/static/signin.js")
    assert 'name="workflowContext"' in two_page.text
    assert 'name="workflowState"' not in two_page.text
    assert "form.elements.workflowContext.value" in two_script.text
    assert "metadata1" in two_script.text
    for script in (one_script, two_script):
        assert script.headers["cache-control"] == "public, max-age=31536000"


def test_posts_without_metadata_are_accepted() -> None:
    c = client(config(site={"deployment": 2}))
    page = submit(c, c.get("/ap/signin"), {"email": EMAIL})
    assert "metadata1" not in find_form(c.get("/ap/signin").text, name="signIn").data()
    assert 'id="ap_password"' in page.text


# 18. The broken sign-in widget


@pytest.mark.parametrize(
    ("device", "ua", "loaded"),
    [
        ("desktop", DESKTOP_UA, True),
        ("desktop", MOBILE_UA, False),
        ("mobile", MOBILE_UA, True),
        ("mobile", DESKTOP_UA, False),
    ],
)
def test_broken_widget_is_served_to_one_device_class(device: str, ua: str, loaded: bool) -> None:
    c = client(config(site={"faults": [{"kind": "broken_script", "device": device}]}), **{"user-agent": ua})
    page = c.get("/ap/signin")
    assert ('src="/ap/static/signin-widget.js"' in page.text) is loaded
    assert page.status_code == 200


def test_widget_script_is_not_cached() -> None:
    script = client().get("/ap/static/signin-widget.js")
    assert script.headers["cache-control"] == "no-store"
    assert "preventDefault" in script.text


# Configuration


def test_sms_accounts_need_no_secret_but_totp_accounts_do() -> None:
    assert sms_config().accounts[0].totp_secret is None
    with pytest.raises(ValidationError, match="needs totp_secret"):
        config(two_step="totp", totp_secret=None)


@pytest.mark.parametrize(
    "bad",
    [
        {"faults": [{"kind": "earthquake"}]},
        {"faults": [{"kind": "broken_script"}]},
        {"faults": [{"kind": "server_error", "colour": "red"}]},
        {"deployment": 3},
        {"accounts": [{"email": EMAIL, "password": PASSWORD, "two_step": "sms", "permissions": {"orders": "admin"}}]},
        {"accounts": [{"email": EMAIL, "password": PASSWORD, "two_step": "sms", "status": "frozen"}]},
    ],
)
def test_invalid_site_configs_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SiteConfig.model_validate(bad)
