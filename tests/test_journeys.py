"""Journeys: the scenario format's `journey:` and `expect.steps`/`expect.state`, the checks, and the
experiments that change an account, which run only when changes are allowed."""

from __future__ import annotations

import pytest
import yaml

from fixtures.mock_site import MockServer, SiteConfig
from probe.browser import BrowserSession
from probe.errors import UsageError
from probe.flow import Credentials
from probe.harness import check_state, play
from probe.report import Result
from probe.runner import RunOptions, diagnose_url
from probe.scenarios import Scenario, StateCheck, load_scenario, parse_scenario

from .conftest import ROOT, run_async

BASE = """
name: j
title: 旅程のテスト
site:
  accounts:
    - {email: a.b@example.jp, password: "Pass-word-123", two_step: none}
credentials: {email: a.b@example.jp, password: "Pass-word-123"}
"""


def scenario_with(extra: str) -> Scenario:
    return parse_scenario(BASE + extra, "test.yaml")


def error_of(extra: str) -> str:
    with pytest.raises(UsageError) as caught:
        scenario_with(extra)
    return str(caught.value)


def test_a_journey_parses_into_typed_steps() -> None:
    scenario = scenario_with(
        "journey:\n  - {do: two_step_setup, method: sms, phone: '090-1111-2222'}\n  - {do: move_clock, days: 3}\n"
        "  - {do: sign_in, fresh_browser: true}\n"
        "expect:\n  verdict: ok\n  steps: [{step: 1, saw: [有効]}]\n"
        "  state: [{path: accounts.a.b@example.jp.two_step, equals: sms}]\n"
    )
    assert [step.do for step in scenario.journey] == ["two_step_setup", "move_clock", "sign_in"]
    assert scenario.journey[2].fresh_browser is True
    assert scenario.expect is not None
    assert scenario.expect.state[0].equals == "sms"


def test_old_scenarios_need_no_journey() -> None:
    assert load_scenario("ok").journey == []


def test_an_unknown_step_is_named_with_a_suggestion() -> None:
    message = error_of("journey:\n  - {do: two_step_setpu}\n")
    assert "journey[0].do: unknown step 'two_step_setpu' (did you mean two_step_setup?)" in message


def test_a_step_without_do_says_so() -> None:
    assert "journey[0]: a journey step needs `do:`" in error_of("journey:\n  - {method: app}\n")


def test_an_unknown_key_of_a_step_is_named_with_the_steps_own_keys() -> None:
    message = error_of("journey:\n  - {do: two_step_setup, methd: app}\n")
    assert "journey[0].methd: unknown key (did you mean method?)" in message


def test_a_missing_step_parameter_is_named() -> None:
    assert "journey[0].email: required key is missing" in error_of("journey:\n  - {do: invite_user, name: x}\n")


def test_a_state_check_has_exactly_one_test() -> None:
    message = error_of("expect:\n  verdict: ok\n  state: [{path: mails, count: 1, contains: x}]\n")
    assert "expect.state[0]" in message
    assert "exactly one of equals, contains, count" in message


def test_expected_sightings_name_a_step_of_the_journey() -> None:
    message = error_of("journey:\n  - {do: sign_in}\nexpect:\n  verdict: ok\n  steps: [{step: 2, saw: [x]}]\n")
    assert "expect.steps[0].step: no journey step 2" in message


def test_a_step_for_an_unknown_account_is_refused() -> None:
    message = error_of("journey:\n  - {do: sign_in, account: nobody@example.jp}\n")
    assert "journey[0].account" in message


SNAPSHOT = {
    "accounts": {"a.b@example.jp": {"two_step_methods": ["sms", "totp"], "permissions": {"orders": "view"}}},
    "mails": [{"to": "a.b@example.jp", "kind": "two_step_enabled"}, {"to": "c@example.jp", "kind": "invitation"}],
}


@pytest.mark.parametrize(
    ("check", "holds"),
    [
        ({"path": "accounts.a.b@example.jp.two_step_methods", "equals": ["sms", "totp"]}, True),
        ({"path": "accounts.a.b@example.jp.two_step_methods", "equals": ["totp"]}, False),
        ({"path": "accounts.a.b@example.jp.two_step_methods", "contains": "totp"}, True),
        ({"path": "accounts.a.b@example.jp.permissions.orders", "equals": "edit"}, False),
        ({"path": "mails", "contains": {"kind": "two_step_enabled", "to": "a.b@example.jp"}}, True),
        ({"path": "mails", "contains": {"kind": "two_step_disabled"}}, False),
        ({"path": "mails.kind", "contains": "invitation"}, True),
        ({"path": "mails", "count": 1, "where": {"kind": "invitation"}}, True),
        ({"path": "mails", "count": 3}, False),
        ({"path": "tickets", "count": 0}, False),  # not in the state at all
    ],
)
def test_state_checks(check: dict[str, object], holds: bool) -> None:
    assert check_state(SNAPSHOT, StateCheck.model_validate(check))[0] is holds


def play_with(scenario: Scenario, options: RunOptions | None = None) -> Result:
    async def go() -> Result:
        async with BrowserSession() as session:
            return await play(scenario, session, options or RunOptions())

    return run_async(go())


def test_a_wrong_state_expectation_fails_the_scenario() -> None:
    data = yaml.safe_load((ROOT / "scenarios" / "two_step_setup_app.yaml").read_text(encoding="utf-8"))
    data["expect"]["state"][0]["equals"] = ["sms"]
    data["expect"]["steps"][0]["saw"] = ["見たことのない文言"]
    result = play_with(Scenario.model_validate(data))
    assert result.verdict == "ok"
    assert result.match is False
    failed = {c["check"] for c in result.checks if not c["ok"]}
    assert failed == {"state accounts.midori.tea@example.jp.two_step_methods", "step 1 saw"}
    assert [seen["do"] for seen in result.journey] == ["two_step_setup", "sign_in"]
    assert "2段階認証が有効になりました" in result.journey[0]["saw"]


def test_diagnose_without_allow_changes_leaves_the_remedy_as_advice() -> None:
    config = SiteConfig.model_validate(
        {"accounts": [{"email": "off@example.jp", "password": "Off-Pass-2025", "two_step": "none"}]}
    )

    async def go(allow: bool) -> Result:
        with MockServer(config) as mock:
            async with BrowserSession() as session:
                credentials = Credentials(email="off@example.jp", password="Off-Pass-2025")
                return await diagnose_url(mock.url(), credentials, session, RunOptions(allow_changes=allow))

    advice = run_async(go(False))
    assert advice.verdict == "two_step_not_enabled"
    assert advice.remedy == "enable_two_step"
    assert advice.remedy_verified is False
    assert advice.remedies_tried == []
    assert any("--allow-changes" in step["note"] for step in advice.trail)

    verified = run_async(go(True))
    assert verified.verdict == "two_step_not_enabled"
    assert verified.remedy == "enable_two_step"
    assert verified.remedy_verified is True


def test_a_suspended_account_carries_a_contact_draft_without_secrets() -> None:
    result = play_with(load_scenario("account_suspended"))
    assert result.contact is not None
    assert set(result.contact) == {"topic", "store", "email", "message_ja", "message_en"}
    assert result.contact["topic"] == "closing"
    assert result.contact["store"]
    password = load_scenario("account_suspended").credentials.password
    assert password not in str(result.contact)
