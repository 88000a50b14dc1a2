"""The classifier on saved pages (rendered by Chromium) and on hand-made signals."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route

from probe.classify import classify, page_kind
from probe.outcomes import Verdict
from probe.profile import Profile
from probe.signals import Event, PageSignals, read_page_script, signals_from

from .conftest import PAGES, sign_in_signals

JP = "http://sellercentral.amazon.co.jp.localhost"
US = "http://sellercentral.amazon.com.localhost"


def saved_page(page: Page, profile: Profile, name: str, url: str, status: int = 200) -> PageSignals:
    """Render a saved page in Chromium at ``url`` and read it the way the driver does."""
    html = (PAGES / name).read_text(encoding="utf-8")

    def serve(route: Route) -> None:
        if route.request.url == url:
            route.fulfill(status=status, body=html, content_type="text/html; charset=utf-8")
        else:
            route.abort()

    page.route("**/*", serve)
    page.goto(url)
    script, spec = read_page_script(profile)
    return signals_from(page.url, page.evaluate(script, spec), status, profile)


@pytest.mark.parametrize(
    ("name", "url", "kind"),
    [
        ("jp_email.html", f"{JP}/ap/signin", "email"),
        ("jp_password.html", f"{JP}/ap/signin", "password"),
        ("jp_mfa.html", f"{JP}/ap/mfa", "mfa"),
        ("jp_picker.html", f"{JP}/account-switcher/default/merchantMarketplace", "picker"),
        ("jp_home.html", f"{JP}/home", "home"),
    ],
)
def test_page_kinds_of_the_sign_in_flow(page: Page, profile: Profile, name: str, url: str, kind: str) -> None:
    found = page_kind(saved_page(page, profile, name, url), profile)
    assert found is not None
    assert found.kind == kind


@pytest.mark.parametrize(
    ("name", "url", "verdict", "rule", "text"),
    [
        ("jp_password_incorrect.html", f"{JP}/ap/signin", Verdict.CREDENTIALS_INVALID, "password_incorrect",
         "パスワードが正しくありません"),
        ("jp_email_unknown.html", f"{JP}/ap/signin", Verdict.CREDENTIALS_INVALID, "email_unknown",
         "アカウントが見つかりません"),
        ("jp_mfa_invalid.html", f"{JP}/ap/mfa", Verdict.OTP_REJECTED, "otp_invalid", "ワンタイムパスワード"),
        # The password error and the captcha it brought: the password is the cause.
        ("jp_password_captcha.html", f"{JP}/ap/signin", Verdict.CREDENTIALS_INVALID, "password_incorrect",
         "パスワードが正しくありません"),
        ("us_email_unknown.html", f"{US}/ap/signin", Verdict.WRONG_MARKETPLACE, "sign_in_on_other_marketplace",
         "sellercentral.amazon.com"),
        ("jp_home.html", f"{JP}/home", Verdict.OK, "reached_home", ""),
    ],
)  # fmt: skip
def test_saved_pages_get_their_verdict_and_evidence(
    page: Page, profile: Profile, name: str, url: str, verdict: Verdict, rule: str, text: str
) -> None:
    diagnosis = classify(saved_page(page, profile, name, url), [], profile)
    assert (diagnosis.verdict, diagnosis.rule) == (verdict, rule)
    assert all(e.rule == rule and e.url == url for e in diagnosis.evidence)
    if text:
        assert any(text in e.text for e in diagnosis.evidence)


def test_reworded_error_is_unrecognized_not_guessed(page: Page, profile: Profile) -> None:
    signals = saved_page(page, profile, "jp_password_reworded.html", f"{JP}/ap/signin")
    diagnosis = classify(signals, [], profile)
    assert diagnosis.verdict is Verdict.UNRECOGNIZED
    assert any("入力されたパスワードをご確認ください" in e.text for e in diagnosis.evidence)


def test_the_host_not_the_text_decides_wrong_marketplace(page: Page, profile: Profile) -> None:
    on_jp = classify(saved_page(page, profile, "us_email_unknown.html", f"{JP}/ap/signin"), [], profile)
    assert (on_jp.verdict, on_jp.rule) == (Verdict.CREDENTIALS_INVALID, "email_unknown")
    on_us = classify(saved_page(page, profile, "us_email_unknown.html", f"{US}/ap/signin"), [], profile)
    assert on_us.verdict is Verdict.WRONG_MARKETPLACE


signals = sign_in_signals


def test_sign_in_loop_event_means_stale_browser_data_with_experiments(profile: Profile) -> None:
    loop = Event("signin_loop", f"{JP}/ap/signin", "POST /ap/mfa 302 -> GET /home 302 -> GET /ap/signin 200")
    diagnosis = classify(signals(), [loop], profile)
    assert diagnosis.verdict is Verdict.STALE_BROWSER_DATA
    assert diagnosis.experiments[0] == "reset_cookies"
    assert diagnosis.evidence[0].text.endswith("/ap/signin 200")


def test_no_page_and_a_connection_error_is_network_unreachable(profile: Profile) -> None:
    event = Event("network_error", f"{JP}/", "net::ERR_CONNECTION_REFUSED")
    diagnosis = classify(None, [event], profile)
    assert diagnosis.verdict is Verdict.NETWORK_UNREACHABLE
    assert diagnosis.evidence[0].text == "net::ERR_CONNECTION_REFUSED"


def test_error_box_alone_is_not_enough_for_a_verdict(profile: Profile) -> None:
    page = signals(
        ids=frozenset({"auth-error-message-box", "ap_password"}),
        regions={"error": "予期しないエラー", "heading": "ログイン"},
    )
    assert classify(page, [], profile).verdict is Verdict.UNRECOGNIZED


def test_message_text_without_the_site_element_is_not_enough(profile: Profile) -> None:
    page = signals(ids=frozenset({"ap_password"}), regions={"body": "パスワードが正しくありません"})
    assert classify(page, [], profile).verdict is Verdict.UNRECOGNIZED


def test_any_signed_in_page_is_ok_unless_a_rule_says_otherwise(profile: Profile) -> None:
    orders = signals(path="/orders-v3", metas=frozenset({"anti-csrftoken-a2z"}), ids=frozenset())
    assert classify(orders, [], profile).verdict is Verdict.OK
    denied = signals(
        path="/orders-v3",
        status=403,
        metas=frozenset({"anti-csrftoken-a2z"}),
        ids=frozenset({"sc-permission-denied"}),
        regions={"permission_denied": "このページへのアクセス権限がありません"},
    )
    assert classify(denied, [], profile).verdict is Verdict.PERMISSION_DENIED


def test_present_holds_for_hidden_elements_selector_only_for_visible_ones(profile: Profile) -> None:
    waf = signals(ids=frozenset(), present=frozenset({"waf_container"}))
    assert classify(waf, [], profile).rule == "waf_challenge"
    kind = page_kind(waf, profile)
    assert kind is not None
    assert kind.action == "wait"
    # A hidden chooser form (nothing left to choose) still counts as present.
    refused = signals(
        ids=frozenset({"auth-error-message-box"}),
        present=frozenset({"select_device_form"}),
        regions={
            "error": "ワンタイムパスワードのリクエスト回数が多すぎます。しばらく待ってから、もう一度お試しください。"
        },
    )
    diagnosis = classify(refused, [], profile)
    assert (diagnosis.verdict, diagnosis.rule, diagnosis.remedy) == (
        Verdict.OTP_REJECTED,
        "otp_too_many_requests",
        "wait_and_retry",
    )


def test_a_control_event_is_unrecognized_naming_the_control(profile: Profile) -> None:
    event = Event("control_missing", f"{JP}/ap/signin", "submit of the email form (input[type=submit]): none")
    diagnosis = classify(signals(), [event], profile)
    assert (diagnosis.verdict, diagnosis.rule) == (Verdict.UNRECOGNIZED, "control_missing")
    assert "submit of the email form" in diagnosis.detail
    assert any(e.signal == "url" for e in diagnosis.evidence)  # what the page showed comes along


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"any": ["x"], "id": "ap_email"}, "belongs to a region"),
        ({"present": "no_such_selector"}, "not in watch.selectors"),
        ({"status": "5x"}, "not like 503"),
    ],
)
def test_the_profile_schema_is_strict(profile: Profile, change: dict[str, object], message: str) -> None:
    data = profile.model_dump(mode="json", exclude_none=True)
    data["rules"][0]["all"] = [change]
    with pytest.raises(ValueError, match=message):
        Profile.model_validate(data)


def test_a_rule_remedy_must_exist(profile: Profile) -> None:
    data = profile.model_dump(mode="json", exclude_none=True)
    data["rules"][0]["remedy"] = "pray"
    with pytest.raises(ValueError, match="unknown remedy"):
        Profile.model_validate(data)
