"""Hints about what the seller typed, when the site refused it.

They describe the *kind* of slip (a trailing space, a full-width letter, a
letter O among digits) and never quote the password itself.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Pairs that people confuse when copying from paper or a screen.
LOOKALIKES = (("0", "O"), ("0", "o"), ("1", "l"), ("1", "I"), ("l", "I"))


@dataclass(frozen=True)
class Hint:
    code: str
    ja: str
    en: str


def _full_width(text: str) -> bool:
    return any(unicodedata.east_asian_width(ch) in ("F", "W") for ch in text)


def _lookalikes(text: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in LOOKALIKES if (a in text and b in text) or _mixed_with_digits(text, a, b)]


def _mixed_with_digits(text: str, a: str, b: str) -> bool:
    """A letter O next to digits (or a digit 0 between letters) looks like its twin."""
    for i, ch in enumerate(text):
        neighbours = text[max(0, i - 1) : i] + text[i + 1 : i + 2]
        if ch == b and b.isalpha() and any(n.isdigit() for n in neighbours):
            return True
        if ch == a and a.isdigit() and neighbours and all(n.isalpha() for n in neighbours):
            return True
    return False


def _field_hints(field_ja: str, field_en: str, prefix: str, text: str) -> list[Hint]:
    hints = []
    if text != text.strip():
        hints.append(
            Hint(
                f"{prefix}_whitespace",
                f"{field_ja}の前後に空白が入っています。貼り付けたときに余分な空白が入っていないか確認してください。",
                f"The {field_en} starts or ends with a space; pasted text often carries one.",
            )
        )
    if _full_width(text):
        hints.append(
            Hint(
                f"{prefix}_full_width",
                f"{field_ja}に全角文字が含まれています。半角で入力してください。",
                f"The {field_en} contains full-width characters; type it in half-width (IME off).",
            )
        )
    pairs = _lookalikes(text)
    if pairs:
        shown_ja = "、".join(f"「{a}」と「{b}」" for a, b in pairs)
        shown_en = ", ".join(f"{a}/{b}" for a, b in pairs)
        hints.append(
            Hint(
                f"{prefix}_lookalike",
                f"{field_ja}に見分けにくい文字があります（{shown_ja}）。数字と英字を取り違えていないか確認してください。",
                f"The {field_en} has characters that look alike ({shown_en}); check digits against letters.",
            )
        )
    letters = [ch for ch in text if ch.isalpha() and ch.isascii()]
    if len(letters) >= 3 and all(ch.isupper() for ch in letters):
        hints.append(
            Hint(
                f"{prefix}_caps",
                f"{field_ja}の英字がすべて大文字です。Caps Lockがオンになっていないか確認してください。",
                f"Every letter of the {field_en} is upper case; is Caps Lock on?",
            )
        )
    return hints


def password_hints(password: str) -> list[Hint]:
    """What may be wrong with a refused password, without repeating it."""
    return _field_hints("パスワード", "password", "password", password)


def email_hints(email: str) -> list[Hint]:
    return _field_hints("Eメールアドレス", "email address", "email", email)
