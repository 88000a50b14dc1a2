"""Hints about what the seller typed, when the site refused it.

They describe the *kind* of slip (a trailing space, a full-width letter, a
letter O among digits) and never quote the password itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A capitalised word typed with Caps Lock on: its first letter small, the rest capitals.
_FLIPPED_WORD = re.compile(r"(?<![A-Za-z])[a-z][A-Z]{2,}")

# Pairs that people confuse when copying from paper or a screen.
LOOKALIKES = (("0", "O"), ("0", "o"), ("1", "l"), ("1", "I"), ("l", "I"))


@dataclass(frozen=True)
class Hint:
    code: str
    ja: str
    en: str


def _full_width(text: str) -> bool:
    return any(unicodedata.east_asian_width(ch) in ("F", "W") for ch in text)


def _caps_lock(text: str) -> bool:
    """Case flipped as Caps Lock flips it: every letter a capital, or capitalised words inverted."""
    letters = [ch for ch in text if ch.isalpha() and ch.isascii()]
    if len(letters) >= 3 and all(ch.isupper() for ch in letters):
        return True
    return _FLIPPED_WORD.search(text) is not None


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
    caps_lock = _caps_lock(text)
    # With Caps Lock on, an "I" may be a flipped "i": look for look-alikes in what was meant.
    pairs = _lookalikes(text.swapcase() if caps_lock else text)
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
    if caps_lock:
        hints.append(
            Hint(
                f"{prefix}_caps",
                f"{field_ja}の大文字と小文字が逆になっているようです。Caps Lockがオンでないか確認してください。",
                f"The {field_en} looks typed with upper and lower case swapped; is Caps Lock on?",
            )
        )
    return hints


def password_hints(password: str) -> list[Hint]:
    """What may be wrong with a refused password, without repeating it."""
    return _field_hints("パスワード", "password", "password", password)


def email_hints(email: str) -> list[Hint]:
    return _field_hints("Eメールアドレス", "email address", "email", email)
