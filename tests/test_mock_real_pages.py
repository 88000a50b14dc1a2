"""The mock's sign-in pages on the real site's structure, in-process through Starlette's TestClient.

Duplicate ids, hidden autofill fields, opaque workflow tokens, hidden-by-class
alerts, the unified entry, the verification pages and the bot challenges.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from fixtures.mock_site import SiteConfig, create_app
from fixtures.mock_site.faults import WAF_DIFFICULTY, fnv1a

from .conftest import EMAIL, PASSWORD, TOTP_SECRET, site_config
from .test_mock_routes import (
    JP,
    US,
    enter_otp,
    enter_password,
    error_text,
    find_form,
    shown,
    submit,
    to_mfa,
    to_password,
)

MAIL = "https://mail.localhost"
HIDING = {"aok-hidden", "a-hidden", "hide"}


def config(*, site: dict[str, Any] | None = None, **account: Any) -> SiteConfig:
    return SiteConfig.model_validate({**site_config(**account).model_dump(), **(site or {})})


def client(cfg: SiteConfig | None = None, base: str = JP) -> TestClient:
    return TestClient(create_app(cfg or site_config()), base_url=base, follow_redirects=False)


def us_config(**site: Any) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "accounts": [
                {
                    "email": EMAIL,
                    "password": PASSWORD,
                    "marketplace": "us",
                    "two_step": "totp",
                    "totp_secret": TOTP_SECRET,
                }
            ],
            **site,
        }
    )


def title(page: Any) -> str:
    match = re.search(r"<title>(.*?)</title>", page.text, re.S)
    return html.unescape(match.group(1)) if match else ""


def tags_with_id(page: str, element_id: str) -> list[str]:
    return re.findall(rf'<(\w+)[^>]*\bid="{element_id}"', page)


def inbox_code(c: TestClient, path: str, to: str) -> str:
    page = c.get(f"{MAIL}{path}", params={"to": to})
    bodies = re.findall(r'<div class="body">(.*?)</div>', page.text, re.S)
    assert bodies, f"nothing at {path} for {to}"
    match = re.search(r"(?<!\d)(\d{6})(?!\d)", html.unescape(bodies[0]))
    assert match, bodies[0]
    return match.group(1)


# The classic email page


def test_email_page_is_built_like_the_real_one() -> None:
    page = client().get("/ap/signin").text
    form = find_form(page, name="signIn")
    assert (form.attrs["method"], form.attrs["action"]) == ("post", "/ap/signin")
    assert tags_with_id(page, "continue") == ["span", "input"]  # the id twice, as on the real page
    assert re.search(
        r'<span id="continue" class="a-button[^"]*"><span class="a-button-inner"><input id="continue" '
        r'class="a-button-input" type="submit" aria-labelledby="continue-announce">'
        r'<span id="continue-announce" class="a-button-text" aria-hidden="true">続行</span>',
        page,
    )
    assert re.search(r'<input type="email"[^>]*id="ap_email"[^>]*name="email"', page)
    hint = re.search(r'<input type="password"[^>]*id="ap-credential-autofill-hint"[^>]*>', page)
    assert hint
    assert 'name="password"' in hint.group(0)
    assert HIDING & set(re.search(r'class="([^"]*)"', hint.group(0))[1].split())  # type: ignore[index]
    hidden = form.data()
    assert hidden["appAction"] == "SIGNIN_PWD_COLLECT"
    assert hidden["subPageType"] == "SignInClaimCollect"
    assert hidden["create"] == "0"
    assert hidden["password"] == ""
    for name in ("appActionToken", "openid.return_to", "prevRID", "workflowState"):
        assert hidden[name], name
    assert hidden["workflowState"] not in ("email", "password")  # opaque


def test_the_email_step_is_told_by_its_workflow_token_even_with_a_password_posted() -> None:
    c = client()
    page = c.get("/ap/signin")
    # A password manager filled the hidden autofill field: still the email step.
    moved_on = submit(c, page, {"email": EMAIL, "password": PASSWORD})
    assert 'id="ap_password"' in moved_on.text
    assert 'id="auth-email-claim"' in moved_on.text
    assert error_text(moved_on.text) == ""
    # Without a password the email step is the email step too.
    assert 'id="ap_password"' in submit(c, c.get("/ap/signin"), {"email": EMAIL}).text


def test_a_password_without_a_known_workflow_token_does_not_sign_in() -> None:
    c = client()
    password_page = to_password(c)
    data = {**find_form(password_page.text, name="signIn").data(), "password": PASSWORD}
    data["workflowState"] = "password"
    refused = c.post("/ap/signin", data=data)
    assert refused.status_code == 200
    assert "セッションの有効期限が切れました" in error_text(refused.text)
    # The email page's token still names the email step: a password there is ignored.
    email_page = c.get("/ap/signin")
    again = c.post("/ap/signin", data={**find_form(email_page.text, name="signIn").data(), "password": PASSWORD})
    assert 'id="auth-email-missing-alert"' in again.text
    assert shown(again.text, "auth-email-missing-alert")


# The classic password page


def test_password_page_hides_the_email_and_carries_the_real_hidden_fields() -> None:
    c = client()
    page = to_password(c).text
    form = find_form(page, name="signIn")
    assert re.search(rf'<input type="hidden" id="ap_email" name="email" value="{re.escape(EMAIL)}">', page)
    assert re.search(rf'<span id="auth-email-claim">{re.escape(EMAIL)}</span>', page)
    assert 'id="ap_change_login_claim"' in page
    for name in ("metadata1", "encryptedPasswordExpected", "aaToken", "appActionToken", "appAction", "prevRID"):
        assert name in form.data(), name
    assert re.search(
        r'<span id="auth-signin-button" class="a-button[^"]*"><span class="a-button-inner">'
        r'<input id="signInSubmit" class="a-button-input" type="submit"',
        page,
    )
    assert re.search(r'<a id="auth-fpp-link-bottom" class="[^"]*" href="/ap/forgotpassword">', page)
    remember = re.search(r'<div class="a-checkbox" data-a-input-name="rememberMe"><label><input ([^>]*)>', page)
    assert remember
    assert 'name="rememberMe" value="true"' in remember.group(1)
    assert "id=" not in remember.group(1)
    assert 'id="passkey-form"' not in page


def test_an_empty_password_shows_the_inline_alert_and_costs_no_attempt() -> None:
    c = client()
    page = enter_password(c, "")
    assert shown(page.text, "auth-password-missing-alert")
    assert error_text(page.text) == ""
    assert c.app.state.site.account("jp", EMAIL).failures == 0  # type: ignore[attr-defined]


# Alerts in the DOM of every sign-in page


def sign_in_pages(c: TestClient) -> dict[str, str]:
    pages = {"email": c.get("/ap/signin").text, "password": to_password(c).text}
    pages["claim"] = c.get("/ax/claim/signin").text
    return pages


@pytest.mark.parametrize("kind", ["email", "password", "claim", "mfa", "chooser", "intent", "cvf"])
def test_every_sign_in_page_has_the_alerts_hidden_by_class(kind: str) -> None:
    cfg = config(verify_new_browser="email") if kind == "cvf" else None
    c = client(cfg)
    if kind in ("email", "password", "claim"):
        page = sign_in_pages(c)[kind]
    elif kind == "mfa":
        page = to_mfa(c).text
    elif kind == "chooser":
        to_mfa(c)
        page = c.get("/ap/mfa/new-otp").text
    elif kind == "intent":
        moved = submit(c, c.get("/ax/claim/signin"), {"email": "new.seller@example.jp"}, id="ap_login_form")
        page = c.get(moved.headers["location"]).text
    else:
        page = c.get(enter_password(c).headers["location"]).text
    for element in ("auth-email-missing-alert", "auth-password-missing-alert", "passkey-error-alert"):
        assert len(tags_with_id(page, element)) == 1, element
        assert not shown(page, element), element
    assert not shown(page, "auth-cookie-warning-message")
    warning = re.search(r'<div id="auth-cookie-warning-message" class="a-box a-alert a-alert-warning[^"]*"', page)
    assert warning
    assert "Cookieを有効にしてください" in page
    assert "Amazonへのログインには、ブラウザのCookieを有効にする必要があります。" in page


def test_a_post_without_any_cookie_shows_the_cookie_warning() -> None:
    c = client()
    page = c.get("/ap/signin")
    data = find_form(page.text, name="signIn").data()
    c.cookies.clear()
    refused = c.post("/ap/signin", data={**data, "email": EMAIL})
    assert shown(refused.text, "auth-cookie-warning-message")
    assert 'id="ap_password"' not in refused.text
    assert error_text(refused.text) == ""  # the warning, not a session error
    claim = c.get("/ax/claim/signin")
    claim_data = find_form(claim.text, id="ap_login_form").data()
    c.cookies.clear()
    assert shown(c.post("/ax/claim", data={**claim_data, "email": EMAIL}).text, "auth-cookie-warning-message")


def test_cookie_warning_in_english() -> None:
    c = client(us_config(), base=US)
    data = find_form(c.get("/ap/signin").text, name="signIn").data()
    c.cookies.clear()
    page = c.post("/ap/signin", data={**data, "email": EMAIL}).text
    assert shown(page, "auth-cookie-warning-message")
    assert "Please Enable Cookies to Continue" in page
    assert "To continue shopping at Amazon.com, please enable cookies in your Web browser." in page


# The unified entry


def unified(**site: Any) -> SiteConfig:
    return config(site={"entry": "unified", **site})


def test_unified_entry_is_where_root_sends_the_browser() -> None:
    c = client(unified())
    moved = c.get("/")
    target = urlsplit(moved.headers["location"])
    assert target.path == "/ax/claim/signin"
    assert parse_qs(target.query)["openid.return_to"] == [f"{JP}/home"]
    assert urlsplit(client().get("/").headers["location"]).path == "/ap/signin"


def test_claim_page_is_built_like_the_real_one() -> None:
    page = client(unified()).get("/ax/claim/signin").text
    form = find_form(page, id="ap_login_form")
    assert (form.attrs["name"], form.attrs["method"], form.attrs["action"]) == ("signIn", "post", "/ax/claim")
    assert re.search(r'<input type="hidden" name="anti-csrftoken-a2z" value="[^"]+">', page)
    assert '<meta name="anti-csrftoken-a2z"' not in page
    assert re.search(r'<input type="email"[^>]*id="ap_email_login"[^>]*name="email"', page)
    assert tags_with_id(page, "continue") == ["span"]
    submit_input = re.search(r'<span id="continue" [^>]*><span class="a-button-inner"><input ([^>]*)>', page)
    assert submit_input
    assert "id=" not in submit_input.group(1)
    assert "name=" not in submit_input.group(1)
    assert re.search(r"<h1[^>]*>ログインまたはアカウントを作成</h1>", page)


def test_known_email_on_the_unified_entry_goes_on_to_the_2025_password_page() -> None:
    c = client(unified())
    moved = submit(c, c.get("/ax/claim/signin"), {"email": EMAIL}, id="ap_login_form")
    assert moved.status_code == 303
    target = urlsplit(moved.headers["location"])
    assert target.path == "/ap/signin"
    assert "arb" in parse_qs(target.query)
    page = c.get(moved.headers["location"])
    assert 'id="ap_password"' in page.text
    assert re.search(rf'<span id="auth-email-claim">{re.escape(EMAIL)}</span>', page.text)
    assert 'name="rememberMe"' not in page.text
    passkey = find_form(page.text, id="passkey-form")
    assert "name" not in passkey.attrs
    assert tags_with_id(page.text, "continue") == ["span", "input"]
    assert ">パスキーでログイン</span>" in page.text
    assert not shown(page.text, "passkey-error-alert")
    # The passkey form: no passkey anywhere, the inline alert shows.
    failed = submit(c, page, id="passkey-form")
    assert shown(failed.text, "passkey-error-alert")
    # The password goes on to the 2-step page, and the sign-in ends at home.
    after = enter_password(c, PASSWORD, failed)
    assert after.headers["location"].startswith("/ap/mfa")
    done = enter_otp(c, c.get(after.headers["location"]), pyotp.TOTP(TOTP_SECRET).now())
    assert done.headers["location"] == "/home"


def test_the_password_page_url_without_the_claim_is_the_email_page() -> None:
    c = client(unified())
    moved = submit(c, c.get("/ax/claim/signin"), {"email": EMAIL}, id="ap_login_form")
    forged = moved.headers["location"].replace("arb=", "arb=0")
    assert 'id="ap_email_login"' not in c.get(forged).text
    assert re.search(r'<input type="email"[^>]*id="ap_email"', c.get(forged).text)


def test_unknown_email_on_the_unified_entry_gets_the_intent_page_not_an_error() -> None:
    c = client(unified())
    moved = submit(c, c.get("/ax/claim/signin"), {"email": "sakura.zaka@example.jp"}, id="ap_login_form")
    assert moved.status_code == 303
    assert urlsplit(moved.headers["location"]).path == "/ax/claim/intent"
    page = c.get(moved.headers["location"]).text
    assert re.search(r"<h1[^>]*>Amazonのご利用は初めてのようです</h1>", page)
    assert "sakura.zaka@example.jp でアカウントを作成しましょう。" in page
    assert 'id="auth-error-message-box"' not in page
    intent = find_form(page, id="intent-form")
    assert intent.attrs["action"].startswith("/ax/claim/intent")
    assert re.search(
        r'<span id="intention-submit-button" class="a-button[^"]*"><span class="a-button-inner">'
        r'<input class="a-button-input" type="submit"',
        page,
    )
    assert ">アカウントの作成に進む</span>" in page
    switch = re.search(r'<a id="ap_switch_account_link" class="a-link-normal" href="([^"]+)">([^<]+)</a>', page)
    assert switch
    assert switch.group(2) == "別のEメールアドレスまたは携帯電話番号でログイン"
    assert urlsplit(html.unescape(switch.group(1))).path == "/ax/claim/signin"


def test_a_japanese_account_on_the_us_unified_entry_is_new_to_amazon_there() -> None:
    c = client(unified(), base=US)
    moved = submit(c, c.get("/ax/claim/signin"), {"email": EMAIL}, id="ap_login_form")
    page = html.unescape(c.get(moved.headers["location"]).text)
    assert "Looks like you're new to Amazon" in page
    assert f"Let's create an account using your email {EMAIL}" in page
    assert ">Proceed to create an account</span>" in page
    assert ">Sign in with another email or mobile number</a>" in page
    claim = c.get("/ax/claim/signin").text
    assert "Sign in or create account" in claim


def test_empty_email_on_the_unified_entry_shows_the_inline_alert() -> None:
    c = client(unified())
    page = submit(c, c.get("/ax/claim/signin"), {"email": ""}, id="ap_login_form")
    assert shown(page.text, "auth-email-missing-alert")


# The 2-step page and its remember box


def test_two_step_form_is_unnamed_and_posts_to_the_sign_in_url() -> None:
    c = client()
    page = to_mfa(c).text
    form = find_form(page, id="auth-mfa-form")
    assert "name" not in form.attrs
    assert form.attrs["action"] == "/ap/signin"
    data = form.data()
    assert data["appAction"] == "SIGNIN_MFA"
    for name in ("appActionToken", "prevRID", "workflowState", "deviceId"):
        assert name in data, name
    assert re.search(r"<p class=\"a-spacing-base\">認証アプリで生成されたワンタイムパスワード", page)
    assert re.search(r'<input type="tel" id="auth-mfa-otpcode" name="otpCode"', page)
    assert re.search(
        r'<div class="a-checkbox"><label for="auth-mfa-remember-device"><input type="checkbox" '
        r'id="auth-mfa-remember-device" name="rememberDevice" value="">',
        page,
    )
    assert re.search(r'<input id="auth-signin-button" name="mfaSubmit" class="a-button-input" type="submit"', page)


def test_the_remember_box_counts_when_present_with_its_empty_value() -> None:
    c = client()
    enter_otp(c, to_mfa(c), pyotp.TOTP(TOTP_SECRET).now(), rememberDevice="")
    c.get("/ap/signout")
    assert enter_password(c).headers["location"] == "/home"  # no 2-step page this time


# Verification pages after the password


def test_verification_captcha_stands_between_password_and_code() -> None:
    c = client(config(site={"faults": [{"kind": "cvf_captcha", "times": None}]}))
    moved = enter_password(c)
    assert urlsplit(moved.headers["location"]).path == "/ap/cvf/request"
    page = c.get(moved.headers["location"])
    assert 'id="cvf-page-content"' in page.text
    assert "<h1" not in page.text
    assert re.search(
        r'<span class="a-size-large[^"]*">アカウントを保護するために、表示されている文字を入力してください</span>',
        page.text,
    )
    image = re.search(r'<img alt="captcha" src="data:image/svg\+xml;base64,[^"]+"[^>]*>', page.text)
    assert image
    assert "id=" not in image.group(0)
    actions = re.findall(r'name="cvf_captcha_captcha_action" value="(\w+)"', page.text)
    assert sorted(actions) == ["audioCaptcha", "refreshCaptcha", "verifyCaptcha"]
    assert re.search(r'class="a-box a-alert a-alert-error cvf-widget-alert aok-hidden"', page.text)
    state = c.app.state.site  # type: ignore[attr-defined]
    wrong = submit(
        c, page, {"cvf_captcha_input": "WRONG1", "cvf_captcha_captcha_action": "verifyCaptcha"}, method="post"
    )
    assert re.search(r'class="a-box a-alert a-alert-error cvf-widget-alert"', wrong.text)
    assert "入力された文字が正しくありません" in wrong.text
    refreshed = submit(c, wrong, {"cvf_captcha_captcha_action": "refreshCaptcha"}, method="post")
    assert urlsplit(refreshed.headers["location"]).path == "/ap/cvf/request"
    page = c.get(refreshed.headers["location"])
    answer = next(s.captcha_answer for s in state.sessions.values() if s.stage == "cvf_captcha")
    solved = submit(
        c, page, {"cvf_captcha_input": answer.lower(), "cvf_captcha_captcha_action": "verifyCaptcha"}, method="post"
    )
    assert solved.headers["location"].startswith("/ap/mfa")


def test_verification_captcha_in_english() -> None:
    c = client(us_config(faults=[{"kind": "cvf_captcha"}]), base=US)
    page = html.unescape(c.get(enter_password(c).headers["location"]).text)
    assert "Solve this puzzle to protect your account" in page
    assert ">Continue</span>" in page


def code_page(c: TestClient) -> Any:
    moved = enter_password(c)
    assert urlsplit(moved.headers["location"]).path == "/ap/cvf/verify"
    return c.get(moved.headers["location"])


def test_new_browser_code_by_mail_needs_the_page_script_to_copy_it() -> None:
    c = client(config(verify_new_browser="email"))
    page = code_page(c)
    assert 'id="cvf-page-content"' in page.text
    assert re.search(r"<h1[^>]*>Eメールアドレスを確認</h1>", page.text)
    assert "セキュリティ強化のため、sa***@example.jpにワンタイムパスワード（OTP）を送信しました。" in page.text
    box = re.search(r'<input type="tel" id="input-box-otp"[^>]*>', page.text)
    assert box
    assert "name=" not in box.group(0)
    assert '<input type="hidden" id="otpCode" name="otpCode" value="">' in page.text
    assert re.search(
        r'<span id="cvf-submit-otp-button" class="a-button[^"]*"><span class="a-button-inner"><input ', page.text
    )
    assert 'src="/ap/static/cvf.js"' in page.text
    for form_id in ("cvf-resend-form", "cvf-polling-form"):
        find_form(page.text, id=form_id)
    code = inbox_code(c, "/inbox", EMAIL)
    # Without the script, the visible box is not sent: the hidden field stays empty.
    refused = submit(c, page, id="verification-code-form")
    assert refused.status_code == 200
    assert re.search(r'class="a-box a-alert a-alert-error cvf-widget-alert"', refused.text)
    assert "無効なワンタイムパスワードです。もう一度お試しください。" in refused.text
    # What the script does: the code travels in otpCode.
    accepted = submit(c, refused, {"otpCode": code}, id="verification-code-form")
    assert accepted.headers["location"].startswith("/ap/mfa")
    # This browser is known now: the next sign-in skips the verification.
    c.get("/ap/signout")
    assert enter_password(c).headers["location"].startswith("/ap/mfa")


def test_new_browser_code_by_text_message_reaches_the_phone() -> None:
    c = client(config(verify_new_browser="sms"))
    page = code_page(c)
    assert re.search(r"<h1[^>]*>携帯電話番号を確認</h1>", page.text)
    assert "********123" in page.text
    code = inbox_code(c, "/sms", "123")
    resent = submit(c, page, id="cvf-resend-form")
    assert "新しいワンタイムパスワード（OTP）を送信しました。" in resent.text
    newer = inbox_code(c, "/sms", "123")
    if newer != code:
        assert submit(c, resent, {"otpCode": code}, id="verification-code-form").status_code == 200
    assert submit(c, resent, {"otpCode": newer}, id="verification-code-form").status_code == 302


def test_new_browser_code_in_english() -> None:
    c = client(
        SiteConfig.model_validate(
            {
                "accounts": [
                    {
                        "email": EMAIL,
                        "password": PASSWORD,
                        "marketplace": "us",
                        "two_step": "sms",
                        "verify_new_browser": "email",
                    }
                ]
            }
        ),
        base=US,
    )
    page = code_page(c)
    assert "Verify email address" in page.text
    assert "To verify your email, we've sent a One Time Password (OTP) to sa***@example.jp" in html.unescape(page.text)
    refused = submit(c, page, id="verification-code-form")
    assert "Invalid OTP. Please check your code and try again." in refused.text


# Robot check, bot challenges


def test_robot_check_button_variant_has_no_image_and_no_text_box() -> None:
    c = client(unified(faults=[{"kind": "robot_check", "variant": "button", "times": None}]))
    moved = c.get("/ax/claim/signin")
    assert urlsplit(moved.headers["location"]).path == "/errors/validateCaptcha"
    page = c.get(moved.headers["location"])
    assert title(page) == "Amazon.co.jp"
    assert "<img" not in page.text
    assert 'type="text"' not in page.text
    assert "ロボットではないことを確認" in page.text
    assert "ショッピングを続けるには、下のボタンをクリックしてください。" in page.text
    form = forms_without_name(page.text)
    assert {"amzn", "amzn-r", "amzn-pt"} <= set(form)
    assert '<button type="submit" class="a-button-text">ショッピングを続ける</button>' in page.text
    back = submit(c, page, method="get")
    assert urlsplit(back.headers["location"]).path == "/ax/claim/signin"
    assert c.get(back.headers["location"]).status_code == 200


def forms_without_name(page: str) -> dict[str, str]:
    form = find_form(page, method="get")
    assert "name" not in form.attrs
    return form.data()


def test_robot_check_button_variant_in_english() -> None:
    c = client(us_config(faults=[{"kind": "robot_check", "variant": "button"}]), base=US)
    page = c.get(c.get("/ap/signin").headers["location"]).text
    assert "Click the button below to continue shopping" in page
    assert ">Continue shopping</button>" in page
    assert "not a robot" in page


def solve(challenge: str) -> str:
    nonce = 0
    while fnv1a(f"{challenge}:{nonce}") >= 1 << (32 - WAF_DIFFICULTY):
        nonce += 1
    return f"{challenge}:{nonce}"


def props_of(page: Any) -> dict[str, Any]:
    import json

    match = re.search(r"window.gokuProps = (\{.*?\});", page.text)
    assert match
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_waf_challenge_page_is_a_202_with_a_script_and_no_form() -> None:
    c = client(config(site={"faults": [{"kind": "waf_challenge"}]}))
    page = c.get("/ap/signin")
    assert page.status_code == 202
    assert title(page) == ""
    assert '<div id="challenge-container"></div>' in page.text
    assert "<form" not in page.text
    noscript = re.search(r"<noscript>(.*?)</noscript>", page.text, re.S)
    assert noscript
    assert (
        "JavaScriptが無効になっています。続行するには、ロボットではないことを確認する必要があります。"
        "JavaScriptを有効にしてページを再読み込みしてください。" in noscript.group(1)
    )
    assert 'src="/challenge.js"' in page.text
    assert props_of(page)["verifying"] == "ブラウザを確認しています…"
    assert c.get("/challenge.js").status_code == 200


def test_waf_challenge_under_the_fault_never_passes_even_when_solved() -> None:
    c = client(config(site={"faults": [{"kind": "waf_challenge", "times": None}]}))
    page = c.get("/ap/signin")
    for _ in range(3):
        c.cookies.set("aws-waf-token", solve(props_of(page)["challenge"]))
        page = c.get("/ap/signin")
        assert page.status_code == 202
        assert props_of(page)["refused"] is True


def test_a_solvable_waf_challenge_passes_with_a_solved_token_only() -> None:
    c = client(config(site={"faults": [{"kind": "waf_challenge", "times": 1}]}))
    first = c.get("/ap/signin")
    assert first.status_code == 202
    c.cookies.set("aws-waf-token", props_of(first)["challenge"] + ":0000")
    unsolved = c.get("/ap/signin")
    if unsolved.status_code == 200:  # the nonce 0 happened to solve it
        return
    assert unsolved.status_code == 202
    c.cookies.set("aws-waf-token", solve(props_of(unsolved)["challenge"]))
    passed = c.get("/ap/signin")
    assert passed.status_code == 200
    assert 'id="ap_email"' in passed.text
    assert c.get("/ap/signin").status_code == 200  # the token keeps working


def test_javascript_required_page_has_no_sign_in_form() -> None:
    c = client(config(site={"faults": [{"kind": "js_challenge", "times": 1}]}))
    page = c.get("/ap/signin")
    assert page.status_code == 200
    assert title(page) == "Amazon.co.jp"
    assert '<h4 class="a-alert-heading">JavaScriptを有効にしてください</h4>' in page.text
    assert (
        "続行するには、ブラウザでJavaScriptを有効にしてください。自動化されたアクセスではないことを確認しています。"
        in page.text
    )
    assert "<form" not in page.text
    assert 'id="ap_email"' in c.get("/ap/signin").text  # times: 1


def test_javascript_required_page_in_english() -> None:
    page = client(us_config(faults=[{"kind": "js_challenge"}]), base=US).get("/ap/signin")
    assert title(page) == "Amazon.com"
    assert "Enable JavaScript" in page.text
    assert "Please enable JavaScript in your browser to continue. We are checking that you are not a bot." in page.text


# Configuration


@pytest.mark.parametrize(
    "bad",
    [
        {"entry": "modern"},
        {"faults": [{"kind": "robot_check", "variant": "audio"}]},
        {"faults": [{"kind": "server_error", "variant": "teapot"}]},
        {"faults": [{"kind": "waf_challenge", "times": -1}]},
        {"accounts": [{"email": EMAIL, "password": PASSWORD, "two_step": "sms", "verify_new_browser": "fax"}]},
    ],
)
def test_invalid_new_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SiteConfig.model_validate(bad)
