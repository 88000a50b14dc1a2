"""The case page: one self-contained, escaped, redacted HTML document, Japanese first."""

from __future__ import annotations

import base64
import datetime
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from playwright.sync_api import Page

from probe.redact import run_secrets
from probe.support.casepage import render_case_page
from probe.support.rank import Candidate, Question, Reason
from probe.support.reply import draft_reply
from probe.support.report import SellerReport

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Structure(HTMLParser):
    """Checks that elements nest properly and collects what the tests look at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.langs: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.tags: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if values.get("lang"):
            self.langs.append(str(values["lang"]))
        if tag == "img":
            self.images.append(str(values.get("src")))
        for name in ("href", "src"):
            if values.get(name) and tag != "img":
                self.links.append(str(values[name]))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def parse(document: str) -> Structure:
    parser = Structure()
    parser.feed(document)
    parser.close()
    return parser


def tiny_png(path: Path, width: int = 4, height: int = 3) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x99\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )
    return path


def report(**changes: object) -> SellerReport:
    data: dict[str, object] = {
        "says": "スマホからは入れましたが、パソコンのChromeだとログイン画面に戻されます",
        "seen": "問題が発生しました",
        "device": "desktop",
        "browser": "chrome",
        "two_step": "app",
        "last_login": datetime.date(2025, 3, 1),
        "marketplace": "jp",
        "attachments": ["saved/signin.html"],
        "store": "さくら雑貨店",
        "email": "sakura.zakka@example.jp",
        "seller": "山田",
    }
    data.update(changes)
    return SellerReport.model_validate(data)


def candidates(screenshots: list[Path] | None = None) -> list[Candidate]:
    return [
        Candidate(
            verdict="device_specific",
            situation="desktop_broken",
            confidence=0.72,
            why=[
                Reason(
                    kind="words",
                    text="スマホからは入れました",
                    weight=0.5,
                    note_ja="『スマホからは入れた』は端末・ブラウザ固有の不具合を示します",
                    note_en="'It works on my phone' points to a device- or browser-specific problem",
                ),
                Reason(
                    kind="against",
                    text="2段階認証",
                    weight=-0.1,
                    note_ja="2段階認証の話はありません",
                    note_en="Nothing about two-step verification",
                ),
            ],
            scenario="desktop_only_broken",
            reproduced=True,
            remedy="reset_cookies",
            remedy_verified=True,
            screenshots=screenshots or [],
        ),
        Candidate(
            verdict="two_step_not_enabled",
            situation="two_step_off",
            confidence=0.3,
            why=[],
            scenario="two_step_off",
            reproduced=False,
        ),
    ]


QUESTIONS = [
    Question(
        ja="スマートフォンではログインできましたか？",
        en="Does the sign-in work on your phone?",
        separates=("desktop_broken", "cookies"),
    )
]


def page_for(seller: SellerReport, cands: list[Candidate], questions: list[Question] = QUESTIONS) -> str:
    return render_case_page(seller, cands, questions, draft_reply(seller, cands))


def test_page_is_one_well_formed_html5_document(tmp_path: Path) -> None:
    document = page_for(report(), candidates([tiny_png(tmp_path / "01-attempt-1.png")]))
    structure = parse(document)
    assert structure.doctype.lower() == "doctype html"
    assert structure.errors == []
    assert structure.stack == []
    assert structure.tags[:1] == ["html"]


def test_japanese_comes_first_and_english_below() -> None:
    document = page_for(report(), candidates())
    structure = parse(document)
    assert structure.langs[0] == "ja"
    assert "en" in structure.langs
    assert document.index('<section class="lang" lang="ja">') < document.index('<section class="lang" lang="en">')


def test_sellers_words_are_escaped() -> None:
    document = page_for(report(says="<script>alert('x')</script> 入れません"), candidates())
    assert "<script>" not in document
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in document
    assert "script" not in parse(document).tags


def test_screenshots_are_embedded_as_data_uris(tmp_path: Path) -> None:
    png = tiny_png(tmp_path / "01-attempt-1.png")
    document = page_for(report(), candidates([png, tmp_path / "missing.png"]))
    images = parse(document).images
    assert len(images) == 1
    prefix = "data:image/png;base64,"
    assert images[0].startswith(prefix)
    assert base64.b64decode(images[0][len(prefix) :]) == png.read_bytes()
    assert "missing.png" in document


def test_a_file_that_is_not_a_png_is_not_embedded(tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_text("<svg onload=alert(1)>", encoding="utf-8")
    document = page_for(report(), candidates([fake]))
    assert parse(document).images == []
    assert "onload" not in document


def test_page_loads_nothing_from_outside(tmp_path: Path) -> None:
    document = page_for(report(), candidates([tiny_png(tmp_path / "a.png")]))
    structure = parse(document)
    assert structure.links == []
    assert "link" not in structure.tags
    assert "url(" not in document
    assert all(src.startswith("data:") for src in structure.images)


def test_page_shows_report_candidates_reproduction_questions_and_reply() -> None:
    seller = report()
    cands = candidates()
    reply = draft_reply(seller, cands)
    document = render_case_page(seller, cands, QUESTIONS, reply)
    for text in (
        "スマホからは入れましたが",
        "問題が発生しました",
        "signin.html",
        "2025-03-01",
        "device_specific",  # internal page: codes may show
        "desktop_only_broken",
        "72%",
        "30%",
        "『スマホからは入れた』は端末・ブラウザ固有の不具合を示します",
        "&#x27;It works on my phone&#x27; points to a device- or browser-specific problem",
        "reset_cookies",
        "スマートフォンではログインできましたか？",
        "Does the sign-in work on your phone?",
        "さくら雑貨店",
    ):
        assert text in document, text
    assert reply["ja"].splitlines()[0] in document
    assert "Dear 山田," in document
    assert document.count('<pre class="copy"') == 2


def test_without_candidates_or_questions_the_page_still_renders() -> None:
    document = render_case_page(SellerReport(says="入れない"), [], [], draft_reply(SellerReport(says="入れない"), []))
    assert parse(document).errors == []
    assert "原因の候補は見つかりませんでした" in document


def test_secrets_are_redacted_everywhere() -> None:
    with run_secrets() as secrets:
        secrets.add("Sakura-Zakka-2024!")
        seller = report(says="パスワードは Sakura-Zakka-2024! です", seen="Sakura-Zakka-2024!")
        document = page_for(seller, candidates())
    assert "Sakura-Zakka-2024" not in document
    assert "[REDACTED]" in document


@pytest.mark.timeout(120)
def test_page_renders_in_chromium_with_its_screenshot(tmp_path: Path, page: Page) -> None:
    png = tiny_png(tmp_path / "01-attempt-1.png", width=40, height=30)
    page.set_content(page_for(report(), candidates([png])))
    image = page.locator("section[lang=ja] figure img")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 40
    assert page.locator("pre.copy").first.is_visible()
    assert page.locator("section[lang=en] .cand").count() == 2
