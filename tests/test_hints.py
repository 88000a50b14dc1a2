"""Hints about a refused password name the slip, never the password."""

from __future__ import annotations

import pytest

from probe.hints import email_hints, password_hints


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("Sakura-Zakka-2024!", set()),
        ("Sakura-Zakka-2024! ", {"password_whitespace"}),
        (" Sakura-Zakka-2024!", {"password_whitespace"}),
        ("Ｓakura-Zakka-2024!", {"password_full_width"}),
        ("Uji-Matcha-2O24", {"password_lookalike"}),
        ("pa1l-word", {"password_lookalike"}),
        ("SAKURA-ZAKKA-2024!", {"password_caps"}),
        ("ｐａｓｓ ", {"password_whitespace", "password_full_width"}),
    ],
)
def test_password_hints(password: str, codes: set[str]) -> None:
    hints = password_hints(password)
    assert {h.code for h in hints} == codes
    for hint in hints:
        assert password.strip() not in hint.ja
        assert password.strip() not in hint.en


def test_email_hints_mention_the_email_field() -> None:
    [hint] = email_hints("sakura＠example.jp")
    assert hint.code == "email_full_width"
    assert "Eメールアドレス" in hint.ja
