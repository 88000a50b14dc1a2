"""The scenario loader: every bundled scenario loads; bad input gets one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from probe.errors import UsageError
from probe.outcomes import Verdict
from probe.scenarios import SCENARIO_DIR, all_scenarios, load_scenario, parse_scenario

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
        (("expect:\n  verdict: ok", ""), "expect: required key is missing"),
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
