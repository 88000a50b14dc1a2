"""The scenario loader: every bundled scenario loads; bad input gets one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from probe.errors import UsageError
from probe.outcomes import Verdict
from probe.scenarios import MAX_BYTES, SCENARIO_DIR, all_scenarios, load_scenario, parse_scenario, select

MINIMAL = """
name: minimal
title: 最小のシナリオ
site:
  accounts:
    - email: a@example.jp
      password: pw
      two_step: none
credentials:
  email: a@example.jp
  password: pw
expect:
  verdict: ok
"""


def test_every_bundled_scenario_loads_and_is_named_after_its_file() -> None:
    scenarios = all_scenarios()
    assert {s.name for s in scenarios} >= {"ok", "wrong_password", "cookies", "wrong_domain"}
    for scenario in scenarios:
        assert (SCENARIO_DIR / f"{scenario.name}.yaml").is_file()


def test_minimal_scenario_parses_with_defaults() -> None:
    scenario = parse_scenario(MINIMAL, "minimal.yaml")
    assert scenario.expect.verdict is Verdict.OK
    assert scenario.start == "sellercentral.amazon.co.jp"
    assert scenario.browser.device == "desktop"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("credentials:", "credentials:\n  pasword: x"), "minimal.yaml: credentials.pasword: unknown key"),
        (("      two_step: none", "      two_step: none\n      colour: red"), "site.accounts[0].colour: unknown key"),
        (("  verdict: ok", "  verdict: fine"), "expect.verdict: Input should be"),
        (("title: 最小のシナリオ", "title: Minimal"), "title: the title is written in Japanese"),
        (("      two_step: none", "      two_step: totp"), "two_step 'totp' needs totp_secret"),
        (("credentials:\n  email: a@example.jp\n  password: pw\n", ""), "credentials: required key is missing"),
        (("name: minimal", "name: Minimal Case"), "name: String should match pattern"),
    ],
)
def test_invalid_scenario_names_the_field(change: tuple[str, str], message: str) -> None:
    text = MINIMAL.replace(*change)
    with pytest.raises(UsageError) as info:
        parse_scenario(text, "minimal.yaml")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_yaml_syntax_error_gives_the_line() -> None:
    with pytest.raises(UsageError, match=r"broken.yaml: line 3 mapping values are not allowed here"):
        parse_scenario("name: x\ntitle: ば\nexpect: a: b\n", "broken.yaml")


def test_a_list_is_not_a_scenario() -> None:
    with pytest.raises(UsageError, match="a scenario is a mapping"):
        parse_scenario("- one\n- two\n", "list.yaml")


def test_unknown_name_and_missing_file_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no scenario named 'nope'"):
        load_scenario("nope")
    with pytest.raises(UsageError, match="no scenario file at"):
        load_scenario(str(tmp_path / "missing.yaml"))


def test_unknown_remedy_in_expectation_is_rejected() -> None:
    text = MINIMAL.replace("  verdict: ok", "  verdict: ok\n  remedy: pray")
    with pytest.raises(UsageError, match=r"expect\.remedy: unknown remedy 'pray'"):
        parse_scenario(text, "minimal.yaml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("credentials:", "credentials:\n  pasword: x"), "credentials.pasword: unknown key (did you mean password?)"),
        (
            ("  password: pw\nexpect", "  pasword: pw\nexpect"),
            "credentials.pasword: unknown key (did you mean password?)",
        ),
        (("site:", "sitee:"), "sitee: unknown key (did you mean site?)"),
        (
            ("      two_step: none", "      two_stp: none"),
            "site.accounts[0].two_stp: unknown key (did you mean two_step?)",
        ),
        (("expect:", "expct:"), "expct: unknown key (did you mean expect?)"),
        (("credentials:", "credentials:\n  zzz: x"), "credentials.zzz: unknown key"),
    ],
)
def test_a_misspelled_key_gets_a_suggestion(change: tuple[str, str], message: str) -> None:
    """A misspelled required key is reported as the misspelling, not only as the key it left missing."""
    with pytest.raises(UsageError) as info:
        parse_scenario(MINIMAL.replace(*change), "minimal.yaml")
    assert str(info.value) == f"minimal.yaml: {message}"


def test_expect_is_optional() -> None:
    scenario = parse_scenario(MINIMAL.replace("expect:\n  verdict: ok\n", ""), "minimal.yaml")
    assert scenario.expect is None


def test_a_misspelled_scenario_name_gets_a_suggestion() -> None:
    with pytest.raises(UsageError, match=r"no scenario named 'cookie'; did you mean cookies\? \(see `probe list`\)"):
        load_scenario("cookie")
    with pytest.raises(UsageError, match=r"no scenario named 'no such' \(see `probe list`\)"):
        load_scenario("no such")


def test_select_takes_names_globs_and_files_each_once(tmp_path: Path) -> None:
    copy = tmp_path / "mine.yaml"
    copy.write_text(MINIMAL, encoding="utf-8")
    chosen = select(["otp_*", "ok", "otp_expired", str(copy)])
    names = [p.stem for p in chosen]
    assert names[0].startswith("otp_")
    assert all(n.startswith("otp_") for n in names[:-2])
    assert names[-2:] == ["ok", "mine"]
    assert len(names) == len(set(names))
    with pytest.raises(UsageError, match=r"no scenario matches 'nothing_\*'"):
        select(["nothing_*"])
    assert select([str(tmp_path / "*.yaml")]) == [copy]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 600 + "]" * 600, "nested deeper than 40 levels"),
        ("\n".join("  " * i + f"k{i}:" for i in range(600)) + " 1", "line 41 nested deeper than 40 levels"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcde", "bcdef", strict=True)),
            "more than 100000 values",
        ),
        ("name: x\nbig: '" + "a" * (MAX_BYTES + 1) + "'\n", "larger than 1 MB"),
    ],
)
def test_deep_huge_or_exploding_yaml_is_refused_before_it_is_built(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_scenario(text, "evil.yaml")


def test_a_huge_file_is_not_read_whole(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(50_000_000)  # sparse: 50 MB of NUL bytes, nothing on disk
    with pytest.raises(UsageError, match=r"huge.yaml: larger than 1 MB, not a scenario"):
        load_scenario(str(huge))


def test_a_binary_file_is_a_usage_error(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(UsageError, match="not UTF-8 text"):
        load_scenario(str(binary))
