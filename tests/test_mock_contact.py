"""Contact Seller Support without signing in, in a real Chromium: from the sign-in help to the mailbox."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.sync_api import Page, expect

from fixtures.mock_site import JP, MAIL_HOST, US, MockServer

from .conftest import EMAIL

STORE = "さくら雑貨店"
MESSAGE = "2段階認証の電話番号が使えなくなり、セラーセントラルにログインできません。"


def open_contact_from_signin_help(page: Page, mock: MockServer, marketplace: str = "jp") -> None:
    """The email page, then the password page's help, then its contact link."""
    page.goto(mock.url(JP if marketplace == "jp" else US, "/ap/signin"))
    page.locator("#ap_email").fill(EMAIL)
    page.locator("form[name=signIn] input[type=submit]").click()
    expect(page.locator("#auth-email-claim")).to_have_text(EMAIL)
    page.locator("#auth-contact-us").click()
    expect(page).to_have_url(re.compile(r"/cu/contact-us\?nodeId="))
    expect(page.locator("#contact-form")).to_be_visible()


def captcha_answer(page: Page, mock: MockServer) -> str:
    """The characters the captcha image shows (a person reads them; the test asks the mock)."""
    sid = next(c["value"] for c in page.context.cookies() if c["name"] == "session-id")
    answer = mock.state.sessions[sid].contact_captcha
    assert answer is not None
    return answer


def submit(page: Page) -> None:
    page.locator("#contact-form #contact-submit").click()


def test_the_password_page_help_links_to_the_contact_form(page: Page, mock: MockServer) -> None:
    open_contact_from_signin_help(page, mock)
    expect(page.get_by_role("heading", name="セラーセントラルにログインできない場合のお問い合わせ")).to_be_visible()
    topic = page.locator("#contact-topic")
    expect(topic.locator("option")).to_have_text(["トピックを選択", "パスワードの再設定", "退会の手続きについて"])
    expect(topic).to_have_value("")
    for control, label in [
        ("#contact-store", "店舗名"),
        ("#contact-email", "Eメールアドレス"),
        ("#contact-message", "問い合わせ内容"),
        ("#contact-captcha-guess", "画面に表示されている文字を入力"),
    ]:
        expect(page.get_by_label(label, exact=True)).to_have_count(1)
        expect(page.locator(f"label[for={control[1:]}]")).to_have_text(label)
    image = page.locator("#contact-captcha-image")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(page.locator("#contact-submit")).to_have_accessible_name("メッセージを送信する")


def test_each_field_says_what_is_wrong_next_to_it(page: Page, mock: MockServer) -> None:
    open_contact_from_signin_help(page, mock)
    submit(page)
    expected = {
        "topic": "トピックを選択してください",
        "store": "店舗名を入力してください",
        "email": "有効なEメールアドレスを入力してください",
        "message": "問い合わせ内容を入力してください",
        "captcha": "表示されている文字を正しく入力してください",
    }
    expect(page.locator("#contact-error-summary")).to_be_visible()
    expect(page.locator(".contact-field-error")).to_have_count(len(expected))
    for field, message in expected.items():
        # The message sits in the field's own block, right under its control.
        block = page.locator(".contact-field").filter(has=page.locator(f"#contact-{field}-error"))
        expect(block.locator(f"#contact-{field}-error")).to_have_text(message)
        expect(block.locator("select, input, textarea").first).to_have_attribute("aria-invalid", "true")

    # Fix some fields, get others wrong in another way: only those keep a message; what was typed stays.
    page.locator("#contact-topic").select_option("password_reset")
    page.locator("#contact-store").fill(STORE)
    page.locator("#contact-email").fill("sakura.zakka@example")
    page.locator("#contact-message").fill("ログイン不可")
    page.locator("#contact-captcha-guess").fill("WRONG1")
    submit(page)
    expect(page.locator(".contact-field-error")).to_have_count(3)
    expect(page.locator("#contact-email-error")).to_have_text("有効なEメールアドレスを入力してください")
    expect(page.locator("#contact-message-error")).to_have_text("問い合わせ内容は10文字以上で入力してください")
    expect(page.locator("#contact-captcha-error")).to_have_text("表示されている文字を正しく入力してください")
    expect(page.locator("#contact-topic")).to_have_value("password_reset")
    expect(page.locator("#contact-store")).to_have_value(STORE)
    expect(page.locator("#contact-message")).to_have_value("ログイン不可")
    expect(page.locator("#contact-captcha-guess")).to_have_value("")

    page.locator("#contact-store").fill("")
    page.locator("#contact-email").fill(EMAIL)
    page.locator("#contact-message").fill("あ" * 2001)
    submit(page)
    expect(page.locator("#contact-store-error")).to_have_text("店舗名を入力してください")
    expect(page.locator("#contact-message-error")).to_have_text("問い合わせ内容は2000文字以内で入力してください")
    expect(page.locator("#contact-email-error")).to_have_count(0)
    assert mock.snapshot()["tickets"] == []
    assert [m for m in mock.snapshot()["mails"] if m["kind"] == "ticket_received"] == []


def test_a_valid_message_records_a_ticket_and_mails_a_confirmation(page: Page, mock: MockServer) -> None:
    open_contact_from_signin_help(page, mock)
    page.locator("#contact-topic").select_option(label="パスワードの再設定")
    page.locator("#contact-store").fill(STORE)
    page.locator("#contact-email").fill("owner@sakura-zakka.example.jp")
    page.locator("#contact-message").fill(MESSAGE)
    page.locator("#contact-captcha-guess").fill(captcha_answer(page, mock).lower())
    submit(page)

    expect(page).to_have_url(re.compile(r"/cu/contact-us/thanks$"))
    expect(page.locator("#contact-thanks")).to_contain_text("お問い合わせを受け付けました")
    ticket_id = page.locator("#contact-ticket-id").inner_text()
    assert re.fullmatch(r"\d{10}", ticket_id)
    expect(page.locator("#contact-thanks")).to_contain_text(
        "owner@sakura-zakka.example.jp 宛てに確認のEメールを送信しました"
    )

    snapshot = mock.snapshot()
    assert snapshot["tickets"] == [
        {
            "id": ticket_id,
            "topic": "password_reset",
            "store": STORE,
            "email": "owner@sakura-zakka.example.jp",
            "message": MESSAGE,
        }
    ]
    mails = [m for m in snapshot["mails"] if m["kind"] == "ticket_received"]
    assert mails == [
        {
            "to": "owner@sakura-zakka.example.jp",
            "kind": "ticket_received",
            "subject": "Amazonセラーセントラル: お問い合わせを受け付けました",
        }
    ]

    page.goto(mock.origin(MAIL_HOST) + "/inbox?to=" + quote("owner@sakura-zakka.example.jp"))
    message = page.locator("article.message").filter(has_text="お問い合わせを受け付けました")
    expect(message).to_have_count(1)
    expect(message.locator(".body")).to_contain_text(f"ケースID: {ticket_id}")
    expect(message.locator(".body")).to_contain_text("トピック: パスワードの再設定")
    expect(message.locator(".body")).to_contain_text(f"店舗名: {STORE}")

    # The thanks page is shown once per ticket; a reload does not send the message again.
    page.go_back()
    page.reload()
    expect(page.locator("#contact-ticket-id")).to_have_text(ticket_id)
    assert len(mock.snapshot()["tickets"]) == 1


def test_the_us_host_asks_in_english(page: Page, mock: MockServer) -> None:
    mock.configure(mock.state.config.model_copy(update={"accounts": [
        mock.state.config.accounts[0].model_copy(update={"marketplace": "us"})
    ]}))  # fmt: skip
    open_contact_from_signin_help(page, mock, "us")
    expect(page.locator("#contact-topic option")).to_have_text(
        ["Select a topic", "Password reset", "Closing your account"]
    )
    expect(page.locator("#contact-submit")).to_have_accessible_name("Send message")
    submit(page)
    expect(page.locator("#contact-topic-error")).to_have_text("Select a topic")
    expect(page.locator("#contact-email-error")).to_have_text("Enter a valid email address")
    page.locator("#contact-topic").select_option("closing")
    page.locator("#contact-store").fill("Sakura Goods")
    page.locator("#contact-email").fill(EMAIL)
    page.locator("#contact-message").fill("Please close my selling account.")
    page.locator("#contact-captcha-guess").fill(captcha_answer(page, mock))
    submit(page)
    expect(page.locator("#contact-thanks")).to_contain_text("We received your message")
    assert mock.snapshot()["tickets"][0]["topic"] == "closing"
    assert [m["subject"] for m in mock.snapshot()["mails"] if m["kind"] == "ticket_received"] == [
        "Amazon Seller Central: We received your message"
    ]
