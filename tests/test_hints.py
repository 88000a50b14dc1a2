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


# One test per hint: each slip gets its own hint, and only that one.


def test_caps_lock_gets_its_own_hint_not_the_lookalike_one() -> None:
    # "uJI-mATCHA-1192": the capital I next to digits is a flipped "i", not a look-alike of 1.
    assert [h.code for h in password_hints("uJI-mATCHA-1192")] == ["password_caps"]
    [hint] = password_hints("sAKURA-zAKKA-2024!")
    assert hint.code == "password_caps"
    assert "Caps Lock" in hint.ja
    assert "Caps Lock" in hint.en


def test_all_capitals_is_caps_lock() -> None:
    assert [h.code for h in password_hints("SAKURA-ZAKKA-2024!")] == ["password_caps"]


def test_full_width_gets_its_own_hint() -> None:
    assert [h.code for h in password_hints("Ｓａｋｕｒａ-Ｚａｋｋａ-2024!")] == ["password_full_width"]


def test_lookalikes_get_their_own_hint() -> None:
    [hint] = password_hints("Uji-Matcha-2O24")
    assert hint.code == "password_lookalike"
    assert "0/O" in hint.en


def test_spaces_get_their_own_hint() -> None:
    assert [h.code for h in password_hints("Sakura-Zakka-2024!\t")] == ["password_whitespace"]


def test_a_normal_mixed_case_password_gets_no_hint() -> None:
    assert password_hints("Sakura-Zakka-2024!") == []
    assert password_hints("Uji-Matcha-1192") == []
