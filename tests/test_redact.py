"""Secrets never reach what the probe writes."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from probe.redact import MASK, Redactor


def test_every_encoding_of_a_secret_is_masked() -> None:
    r = Redactor()
    r.add("pa ss&wörd")
    text = 'form: password=pa+ss%26w%C3%B6rd json: "pa ss&wörd" html: pa ss&amp;wörd raw: pa ss&wörd'
    redacted = r.redact(text)
    assert "pa ss" not in redacted
    assert "pa+ss" not in redacted
    assert redacted.count(MASK) == 4


def test_digit_codes_are_masked_only_where_they_stand_alone() -> None:
    r = Redactor()
    r.add("123456")
    assert r.redact("code 123456.") == f"code {MASK}."
    assert r.redact("ts 17123456789") == "ts 17123456789"


def test_short_values_are_not_treated_as_secrets() -> None:
    r = Redactor()
    r.add("ab", None, "")
    assert len(r) == 0
    assert r.redact("ab") == "ab"


def test_leaks_finds_the_files_holding_a_secret(tmp_path: Path) -> None:
    r = Redactor()
    r.add("Sakura-Zakka-2024!")
    (tmp_path / "clean.json").write_text('{"verdict": "ok"}')
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "dirty.log").write_text("typed Sakura-Zakka-2024%21 into the form")
    assert r.leaks([tmp_path]) == [tmp_path / "nested" / "dirty.log"]


def test_nested_structures_are_redacted() -> None:
    r = Redactor()
    r.add("topsecret")
    assert r.redact_obj({"a": ["x topsecret", {"b": "topsecret"}], "n": 3}) == {
        "a": [f"x {MASK}", {"b": MASK}],
        "n": 3,
    }


def test_a_secret_learnt_after_a_redaction_is_masked_from_then_on() -> None:
    """The pattern is kept between redactions, and made again once any registry up the chain learns a secret."""
    parent = Redactor()
    child = Redactor(parent=parent)
    child.add("first-secret")
    assert child.redact("first-secret second-secret parent-secret") == f"{MASK} second-secret parent-secret"
    child.add("second-secret")
    parent.add("parent-secret")
    assert child.redact("first-secret second-secret parent-secret") == f"{MASK} {MASK} {MASK}"
    assert child.found_in("x parent-secret")
    child.clear()
    assert child.redact("first-secret parent-secret") == f"first-secret {MASK}"
    parent.clear()
    assert child.redact_obj(["parent-secret"]) == ["parent-secret"]
    assert not child.found_in("parent-secret")


def _one_pattern(secrets: set[str], text: str) -> str:
    """What masking means: one pattern of every secret, longest first, codes standing alone."""
    parts = [
        rf"(?<!\d){re.escape(v)}(?!\d)" if v.isdigit() else re.escape(v)
        for v in sorted(secrets, key=lambda v: (-len(v), v))
    ]
    return re.sub("|".join(parts), MASK, text) if parts else text


_PIECES = st.sampled_from(["ab", "cd", "abcd", "bcde", "1234", "12345", "123456", "%40", "@", " ", "x", "9", "0"])


@settings(max_examples=300, deadline=None)
@given(
    secrets=st.lists(st.lists(_PIECES, min_size=1, max_size=4).map("".join), max_size=5),
    text=st.lists(_PIECES, max_size=25).map("".join),
)
def test_masking_only_the_secrets_present_is_masking_them_all(secrets: list[str], text: str) -> None:
    registry = Redactor()
    registry.add(*secrets)
    expected = _one_pattern(registry._all(), text)
    assert registry.redact(text) == expected
    assert registry.redact_obj({"k": [text]}) == {"k": [expected]}
    assert registry.found_in(text) == (expected != text)
