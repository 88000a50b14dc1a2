"""The reply draft: polite, in both languages, built from the seller's facts, never leaking internals."""

from __future__ import annotations

import datetime
import re

import pytest
import yaml
from pydantic import ValidationError

from probe.outcomes import Verdict
from probe.redact import run_secrets
from probe.support.rank import Candidate
from probe.support.reply import draft_reply, parse_replies, replies
from probe.support.report import SellerReport

STORE = "さくら雑貨店"
EMAIL = "sakura.zakka@example.jp"

# Every situation the ranking may name, with its verdict.
SITUATIONS = {
    "wrong_password": "credentials_invalid",
    "password_typo": "credentials_invalid",
    "unknown_email": "credentials_invalid",
    "cookies": "stale_browser_data",
    "cache": "stale_browser_data",
    "phone_broken": "device_specific",
    "desktop_broken": "device_specific",
    "cookies_blocked": "device_specific",
    "two_step_off": "two_step_not_enabled",
    "two_step_legacy": "two_step_not_enabled",
    "otp_wrong": "otp_rejected",
    "otp_not_received": "otp_rejected",
    "otp_too_many": "otp_rejected",
    "lost_device": "otp_rejected",
    "mail_code": "otp_rejected",
    "outage": "system_error",
    "suspended": "account_suspended",
    "closed": "account_suspended",
    "takeover": "account_takeover_suspected",
    "locked": "account_takeover_suspected",
    "foreign_host": "wrong_marketplace",
    "dormant": "access_lost_dormant",
    "invitation": "permission_denied",
    "tool_permission": "permission_denied",
    "no_permission": "permission_denied",
    "forced_reset": "password_reset_required",
    "captcha": "captcha_challenge",
    "robot_check": "captcha_challenge",
    "network": "network_unreachable",
    "unknown_page": "unrecognized",
}
BROWSER_DATA = ["cookies", "cache", "phone_broken", "desktop_broken"]
CONTACT = ["suspended", "closed", "takeover", "locked", "dormant", "lost_device"]

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ASCII_RUN = re.compile(r"[!-~]{8,}")


def password_like(text: str, allowed: str = EMAIL) -> list[str]:
    """Runs of 8+ printable ASCII mixing letters, digits and symbols, other than URLs and the seller's address."""
    found = []
    for token in ASCII_RUN.findall(text):
        if token.startswith(("http://", "https://")) or allowed in token:
            continue
        if re.search(r"[A-Za-z]", token) and re.search(r"\d", token) and re.search(r"[^A-Za-z0-9]", token):
            found.append(token)
    return found


def full_report(**changes: object) -> SellerReport:
    data: dict[str, object] = {
        "says": "昨日までは普通に入れたのに、今日はログインできません。",
        "seen": "問題が発生しました",
        "device": "desktop",
        "browser": "chrome",
        "two_step": "sms",
        "last_login": datetime.date(2025, 3, 1),
        "store": STORE,
        "email": EMAIL,
        "seller": "山田",
    }
    data.update(changes)
    return SellerReport.model_validate(data)


def candidate(situation: str, confidence: float = 0.8, verdict: str | None = None) -> Candidate:
    return Candidate(
        verdict=verdict or SITUATIONS[situation],
        situation=situation,
        confidence=confidence,
        why=[],
        scenario=None,
    )


def assert_clean(text: str, lang: str) -> None:
    for code in Verdict:
        assert not re.search(rf"\b{code.value}\b", text, re.IGNORECASE), code.value
    for word in ("probe", "scenario", "mock", "verdict"):
        assert word not in text.lower(), word
    for key in SITUATIONS:
        # In English, one-word keys ("cookies", "network") are ordinary words; identifiers must not show.
        if lang == "ja" or "_" in key:
            assert not re.search(rf"(?<![A-Za-z_]){key}(?![A-Za-z_])", text), key
    assert set(EMAIL_RE.findall(text)) <= {EMAIL}
    assert password_like(text) == []
    assert "{" not in text
    assert "}" not in text


def test_every_situation_has_texts_and_every_verdict_a_fallback() -> None:
    texts = replies()
    assert set(SITUATIONS) <= set(texts.situations)
    assert set(texts.verdicts) == {v.value for v in Verdict} - {"ok"}


@pytest.mark.parametrize("situation", sorted(SITUATIONS))
@pytest.mark.parametrize("report", [full_report(), SellerReport(says="ログインできない")], ids=["full", "bare"])
def test_each_situation_gets_a_polite_clean_reply_in_both_languages(situation: str, report: SellerReport) -> None:
    reply = draft_reply(report, [candidate(situation)])
    assert set(reply) == {"ja", "en"}
    ja, en = reply["ja"], reply["en"]
    assert "です" in ja
    assert "ます" in ja
    assert "ください" in ja
    assert "1. " in ja
    assert "1. " in en
    assert_clean(ja, "ja")
    assert_clean(en, "en")
    what = replies().situations[situation].what
    assert what.ja in ja
    assert what.en in en


def test_greeting_uses_the_sellers_name_or_a_neutral_one() -> None:
    named = draft_reply(full_report(seller="山田様"), [candidate("cookies")])
    assert named["ja"].startswith("山田様\n")
    assert named["en"].startswith("Dear 山田,\n")
    anonymous = draft_reply(SellerReport(says="入れない"), [candidate("cookies")])
    assert anonymous["ja"].startswith("ご担当者様\n")
    assert anonymous["en"].startswith("Hello,\n")


@pytest.mark.parametrize("situation", BROWSER_DATA)
def test_browser_data_steps_cover_chrome_edge_safari_on_computer_and_phone(situation: str) -> None:
    reply = draft_reply(SellerReport(says="入れない"), [candidate(situation)])
    ja, en = reply["ja"], reply["en"]
    for name in ("Chrome", "Edge", "Safari"):
        assert name in ja
        assert name in en
    assert "パソコン" in ja
    assert "iPhone" in ja
    assert "スマートフォン" in ja
    assert "computer" in en
    assert "phone" in en
    for path in (
        "閲覧履歴データの削除",
        "Cookieと他のサイトデータ",
        "キャッシュされた画像とファイル",
        "プライバシー、検索、サービス",
        "閲覧データをクリア",
        "Webサイトデータを管理",
        "履歴とWebサイトデータを消去",
        "閲覧データを削除",
    ):
        assert path in ja, path
    assert "Manage Website Data" in en
    assert "Clear History and Website Data" in en


def test_the_sellers_own_browser_comes_first_in_full() -> None:
    iphone = draft_reply(full_report(device="iphone", browser="safari"), [candidate("cookies")])["ja"]
    assert iphone.index("iPhoneのSafariの場合") < iphone.index("その他のブラウザ")
    assert iphone.index("履歴とWebサイトデータを消去") < iphone.index("閲覧履歴データの削除")
    edge = draft_reply(full_report(device="desktop", browser="edge"), [candidate("cookies")])["en"]
    assert edge.index("Choose what to clear") < edge.index("Other browsers and devices")
    # the others stay short: Edge's detailed steps appear only when Edge is the seller's browser
    chrome = draft_reply(full_report(browser="chrome"), [candidate("cookies")])["en"]
    assert "Choose what to clear" not in chrome
    assert "Microsoft Edge on a computer" in chrome


def test_a_phone_only_problem_starts_with_a_phone_browser() -> None:
    ja = draft_reply(SellerReport(says="スマホだけ入れない"), [candidate("phone_broken")])["ja"]
    assert ja.index("iPhoneのSafariの場合") < ja.index("パソコンのGoogle Chrome")


def test_cookies_blocked_says_to_enable_cookies() -> None:
    reply = draft_reply(full_report(), [candidate("cookies_blocked")])
    assert "すべてのCookieをブロック" in reply["ja"]
    assert "サードパーティCookie" in reply["ja"]
    assert "Block All Cookies" in reply["en"]


@pytest.mark.parametrize("situation", ["two_step_off", "two_step_legacy"])
def test_two_step_setup_follows_the_buyer_account_path(situation: str) -> None:
    ja = draft_reply(full_report(two_step="off"), [candidate(situation)])["ja"]
    steps = [
        "アカウントサービス",
        "ログインとセキュリティ",
        "オンにする",
        "開始する",
        "わかりました。2段階認証を有効にする",
    ]
    positions = [ja.index(s) for s in steps]
    assert positions == sorted(positions)
    for text in (
        "Google Authenticator",
        "Microsoft Authenticator",
        "バーコード",
        "SMS",
        "音声",
        "このブラウザではワンタイムパスワードを必要としない",
        "新しい電話を追加",
    ):
        assert text in ja, text


def test_two_step_method_the_seller_uses_comes_first() -> None:
    app = draft_reply(full_report(two_step="app"), [candidate("two_step_off")])["ja"]
    assert app.index("認証アプリ：") < app.index("電話番号：")
    sms = draft_reply(full_report(two_step="sms"), [candidate("two_step_off")])["en"]
    assert sms.index("Phone number:") < sms.index("Authenticator app:")


def test_otp_advice_covers_other_method_newest_code_clock_and_waiting() -> None:
    ja = draft_reply(full_report(), [candidate("otp_wrong")])["ja"]
    for text in ("ワンタイムパスワードを受信できない場合", "最新のコード", "自動設定", "しばらく時間をおいて"):
        assert text in ja, text


def test_credentials_advice_lists_the_usual_typing_mistakes() -> None:
    reply = draft_reply(full_report(), [candidate("wrong_password")])
    for text in (
        "空白",
        "全角",
        "0（ゼロ）",
        "O（オー）",
        "l（エル）",
        "1（イチ）",
        "大文字",
        "Caps Lock",
        "パスワードをお忘れですか？",
    ):
        assert text in reply["ja"], text
    assert "Forgot password?" in reply["en"]


@pytest.mark.parametrize("situation", CONTACT)
def test_contact_path_is_prefilled_from_the_report(situation: str) -> None:
    reply = draft_reply(full_report(), [candidate(situation)])
    ja, en = reply["ja"], reply["en"]
    assert f"店舗名：{STORE}" in ja
    assert f"Eメールアドレス：{EMAIL}" in ja
    assert "問い合わせ内容" in ja
    assert "トピックを選択" in ja
    assert "メッセージを送信する" in ja
    assert "画面に表示されている文字" in ja
    assert f"店舗名 (store name): {STORE}" in en
    assert EMAIL in en
    assert "問い合わせ内容" in en
    # the drafted message carries the report's facts
    assert "パソコン" in ja
    assert "Google Chrome" in ja
    assert "2025年3月1日" in ja
    assert "「問題が発生しました」" in ja
    assert "2025-03-01" in en


def test_contact_path_without_store_or_email_shows_placeholders() -> None:
    ja = draft_reply(SellerReport(says="入れない"), [candidate("takeover")])["ja"]
    assert "店舗名：（ご登録の店舗名）" in ja
    assert "Eメールアドレス：（ご登録のEメールアドレス）" in ja


def test_suspension_checks_the_notice_mail_before_contacting() -> None:
    ja = draft_reply(full_report(), [candidate("suspended")])["ja"]
    assert ja.index("通知メール") < ja.index("トピックを選択")
    assert "退会の手続きについて" in ja


def test_takeover_also_changes_passwords_reused_elsewhere() -> None:
    ja = draft_reply(full_report(), [candidate("takeover")])["ja"]
    assert "パスワードの再設定" in ja
    assert "他のサービス" in ja


def test_lost_device_mentions_identity_documents_and_the_delay() -> None:
    ja = draft_reply(full_report(), [candidate("lost_device")])["ja"]
    assert "本人確認書類" in ja
    assert "12〜48時間" in ja


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        ("foreign_host", "https://sellercentral.amazon.co.jp"),
        ("outage", "しばらく"),
        ("invitation", "招待を再送"),
        ("tool_permission", "ユーザー権限"),
        ("forced_reset", "3〜6か月"),
        ("captcha", "画像に表示されている文字"),
        ("network", "プロキシ"),
        ("unknown_page", "スクリーンショット"),
    ],
)
def test_each_cause_gets_the_advice_that_fits_it(situation: str, expected: str) -> None:
    assert expected in draft_reply(full_report(), [candidate(situation)])["ja"]


def test_forced_reset_advises_new_unshared_passwords() -> None:
    ja = draft_reply(full_report(), [candidate("forced_reset")])["ja"]
    for text in ("過去に使った", "他のサービス", "共有", "ユーザー権限"):
        assert text in ja, text


def test_a_close_second_cause_is_the_fallback() -> None:
    reply = draft_reply(full_report(), [candidate("cookies", 0.6), candidate("two_step_off", 0.4)])
    fallback = reply["ja"].split("【上記で解決しない場合】")[1]
    assert "オンにする" in fallback
    assert "トピックを選択" not in fallback


def test_a_distant_second_cause_gives_way_to_contacting_amazon() -> None:
    reply = draft_reply(full_report(), [candidate("cookies", 0.9), candidate("two_step_off", 0.2)])
    fallback = reply["ja"].split("【上記で解決しない場合】")[1]
    assert "オンにする" not in fallback
    assert f"店舗名：{STORE}" in fallback
    assert "パスワードの再設定" in fallback


def test_a_second_cause_with_the_same_advice_is_skipped() -> None:
    reply = draft_reply(full_report(), [candidate("cookies", 0.8), candidate("cache", 0.7)])
    assert reply["ja"].count("閲覧履歴データの削除") == 1


def test_an_unknown_situation_falls_back_to_the_verdicts_texts() -> None:
    reply = draft_reply(full_report(), [candidate("something_new", verdict="two_step_not_enabled")])
    assert replies().situations["two_step_off"].what.ja in reply["ja"]
    assert "something_new" not in reply["ja"]


def test_low_confidence_is_worded_as_a_possibility() -> None:
    ja = draft_reply(full_report(), [candidate("cookies", 0.3)])["ja"]
    assert "可能性がございます" in ja
    assert "可能性が高い" not in ja


def test_no_candidates_asks_politely_for_details() -> None:
    reply = draft_reply(full_report(), [])
    for text in ("スクリーンショット", "端末", "ブラウザ", "メッセージ", "ください"):
        assert text in reply["ja"], text
    assert "screenshot" in reply["en"]
    assert_clean(reply["ja"], "ja")
    assert_clean(reply["en"], "en")


def test_what_the_seller_saw_loses_other_addresses_and_password_like_strings() -> None:
    seen = "Error for other.person@example.com: Sakura-Zakka-2024! was rejected"
    reply = draft_reply(full_report(seen=seen), [candidate("takeover")])
    for text in reply.values():
        assert "other.person@example.com" not in text
        assert "Sakura-Zakka-2024!" not in text
        assert password_like(text) == []


def test_registered_secrets_never_reach_the_reply() -> None:
    with run_secrets() as secrets:
        secrets.add("hunter-secret-value")
        reply = draft_reply(full_report(store="hunter-secret-value"), [candidate("takeover")])
    assert all("hunter-secret-value" not in text for text in reply.values())


def test_the_texts_file_is_checked_for_missing_pieces() -> None:
    data = yaml.safe_load(replies().model_dump_json())
    del data["common"]["closing"]
    with pytest.raises(ValidationError, match="closing"):
        parse_replies(yaml.safe_dump(data))
    data = yaml.safe_load(replies().model_dump_json())
    data["verdicts"]["otp_rejected"] = "no_such_situation"
    with pytest.raises(ValidationError, match="no_such_situation"):
        parse_replies(yaml.safe_dump(data))
