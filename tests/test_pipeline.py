"""The verdict pipeline: stages over immutable results, findings on one page, one remedy registry."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest
import yaml

from probe.browser import BrowserSession
from probe.classify import Diagnosis, classify
from probe.diagnosis import EXPERIMENTS, Attempts, Outcome, classification, hinted
from probe.flow import Attempt, Credentials
from probe.harness import play
from probe.outcomes import EXPERIMENTS as REGISTRY
from probe.outcomes import Verdict, _parse_catalog, catalog
from probe.profile import Profile, parse_profile
from probe.report import Result, render_text
from probe.runner import RunOptions
from probe.scenarios import load_scenario
from probe.signals import PageSignals

from .conftest import run_async, sign_in_signals

JP = "http://sellercentral.amazon.co.jp.localhost"
US = "http://sellercentral.amazon.com.localhost"
PROFILE_YAML = Path(__file__).resolve().parent.parent / "probe" / "profiles" / "seller_central_jp.yaml"


page = sign_in_signals


PASSWORD_ERROR = {"auth-error-message-box", "ap_password", "signInSubmit"}
CAPTCHA = {"auth-captcha-image", "auth-captcha-guess", "auth-warning-message-box"}
CAPTCHA_TEXT = "パスワードをもう一度入力し、画像に表示されている文字を入力してください。"


def password_page_with_captcha(error: str = "パスワードが正しくありません") -> PageSignals:
    return page(
        ids=frozenset(PASSWORD_ERROR | CAPTCHA),
        selectors=frozenset({"password_field"}),
        regions={"error": error, "warning": CAPTCHA_TEXT},
    )


# -- several findings on one page ------------------------------------------------------


def test_the_wrong_password_is_the_cause_and_its_captcha_secondary(profile: Profile) -> None:
    diagnosis = classify(password_page_with_captcha(), [], profile)
    assert (diagnosis.verdict, diagnosis.rule) == (Verdict.CREDENTIALS_INVALID, "password_incorrect")
    assert [(d.verdict, d.rule) for d in diagnosis.secondary] == [(Verdict.CAPTCHA_CHALLENGE, "captcha_required")]
    assert set(diagnosis.matched) == {"password_incorrect", "captcha_required"}
    assert "password_incorrect over captcha_required" in diagnosis.why
    assert diagnosis.investigate == "security_mail"


def test_a_captcha_alone_is_still_the_verdict(profile: Profile) -> None:
    alone = page(ids=frozenset(CAPTCHA | {"ap_password"}), regions={"warning": CAPTCHA_TEXT})
    diagnosis = classify(alone, [], profile)
    assert (diagnosis.verdict, diagnosis.secondary) == (Verdict.CAPTCHA_CHALLENGE, ())


def test_another_marketplace_explains_the_unknown_email_without_a_secondary(profile: Profile) -> None:
    on_us = page(
        url=f"{US}/ap/signin",
        host="sellercentral.amazon.com",
        ids=frozenset({"auth-error-message-box", "ap_email"}),
        regions={"error": "We cannot find an account with that email address"},
    )
    diagnosis = classify(on_us, [], profile)
    assert diagnosis.verdict is Verdict.WRONG_MARKETPLACE
    assert diagnosis.secondary == ()
    assert "email_unknown" in diagnosis.matched


def test_another_marketplace_explains_a_refused_password_too(profile: Profile) -> None:
    on_us = page(
        url=f"{US}/ap/signin",
        host="sellercentral.amazon.com",
        ids=frozenset(PASSWORD_ERROR),
        selectors=frozenset({"password_field"}),
        regions={"error": "Your password is incorrect"},
    )
    diagnosis = classify(on_us, [], profile)
    assert (diagnosis.verdict, diagnosis.secondary) == (Verdict.WRONG_MARKETPLACE, ())
    assert "password_incorrect" in diagnosis.matched


def test_another_marketplace_explains_its_offer_to_create_an_account(profile: Profile) -> None:
    intent = page(
        url=f"{US}/ax/claim/intent",
        host="sellercentral.amazon.com",
        path="/ax/claim/intent",
        ids=frozenset(),
        selectors=frozenset({"intent_form"}),
        regions={"heading": "Looks like you're new to Amazon"},
    )
    diagnosis = classify(intent, [], profile)
    assert (diagnosis.rule, diagnosis.secondary) == ("email_unknown_intent_on_other_marketplace", ())
    assert "email_unknown_intent" in diagnosis.matched


def test_every_precedence_pair_is_tested_here(profile: Profile) -> None:
    tested = {
        ("password_incorrect", "captcha_required"),
        ("sign_in_on_other_marketplace", "email_unknown"),
        ("sign_in_on_other_marketplace", "password_incorrect"),
        ("email_unknown_intent_on_other_marketplace", "email_unknown_intent"),
    }
    assert {(p.rule, other) for p in profile.precedence for other in p.over} == tested


def test_precedence_names_only_known_rules() -> None:
    data = yaml.safe_load(PROFILE_YAML.read_text(encoding="utf-8"))
    data["precedence"] = [{"rule": "password_incorrect", "over": ["no_such_rule"], "why": "x"}]
    with pytest.raises(ValueError, match="no_such_rule"):
        parse_profile(yaml.safe_dump(data, allow_unicode=True))


# -- unknown errors and the session-expired message -----------------------------------


def test_session_expired_is_known_and_gets_the_browser_experiments(profile: Profile) -> None:
    expired = page(
        ids=frozenset({"auth-error-message-box", "ap_email", "continue"}),
        selectors=frozenset({"email_field"}),
        regions={"error": "セッションの有効期限が切れました。もう一度ログインしてください。"},
    )
    diagnosis = classify(expired, [], profile)
    assert (diagnosis.verdict, diagnosis.rule) == (Verdict.STALE_BROWSER_DATA, "session_expired")
    assert diagnosis.experiments == ("reset_cookies", "reset_cache", "reset_storage", "other_device")
    assert diagnosis.if_unfixed is Verdict.UNRECOGNIZED


def test_an_unknown_error_on_a_sign_in_page_gets_the_browser_experiments_first(profile: Profile) -> None:
    odd = page(
        ids=frozenset({"auth-error-message-box", "ap_email", "continue"}),
        selectors=frozenset({"email_field"}),
        regions={"error": "予期しないエラーが発生しました"},
    )
    diagnosis = classify(odd, [], profile)
    assert (diagnosis.verdict, diagnosis.rule) == (Verdict.UNRECOGNIZED, "unrecognized")
    assert diagnosis.experiments[0] == "reset_cookies"
    assert diagnosis.if_unfixed is Verdict.UNRECOGNIZED


def test_an_unknown_page_without_an_error_gets_no_experiments(profile: Profile) -> None:
    odd = page(path="/somewhere", ids=frozenset(), title="新しい画面")
    diagnosis = classify(odd, [], profile)
    assert diagnosis.verdict is Verdict.UNRECOGNIZED
    assert diagnosis.experiments == ()


# -- stages ----------------------------------------------------------------------------


def attempts(*diagnoses: Diagnosis) -> Attempts:
    return Attempts(tuple(diagnoses), Attempt())


def test_classification_is_decided_by_the_rule_and_says_so(profile: Profile) -> None:
    found = classify(password_page_with_captcha(), [], profile)
    outcome = classification(attempts(found))
    assert (outcome.verdict, outcome.decided_by) == (Verdict.CREDENTIALS_INVALID, "classification")
    assert [s.stage for s in outcome.trail] == ["attempts", "classification"]
    assert "password_incorrect" in outcome.trail[-1].note
    assert [f.rule for f in outcome.secondary] == ["captcha_required"]
    assert outcome.secondary[0].remedy == "solve_captcha"


def test_a_retry_that_gets_in_is_decided_by_the_attempts() -> None:
    failed = Diagnosis(Verdict.SYSTEM_ERROR, "http_5xx", "5xx", ())
    ok = Diagnosis(Verdict.OK, "reached_home", "home", ())
    outcome = classification(attempts(failed, ok))
    assert (outcome.verdict, outcome.decided_by, outcome.transient) == (Verdict.SYSTEM_ERROR, "attempts", True)
    assert (outcome.remedy, outcome.remedy_verified) == ("wait_and_retry", True)


def test_a_stage_returns_a_new_result_and_keeps_the_old_one(profile: Profile) -> None:
    before = classification(attempts(classify(password_page_with_captcha(), [], profile)))
    after = before.step("investigation", "the mailbox holds a notice", decides=True, verdict=Verdict.OK)
    assert before.verdict is Verdict.CREDENTIALS_INVALID
    assert (after.verdict, after.decided_by, len(after.trail)) == (Verdict.OK, "investigation", len(before.trail) + 1)
    with pytest.raises(FrozenInstanceError):
        before.verdict = Verdict.OK  # type: ignore[misc]


def test_hints_follow_the_final_verdict(profile: Profile) -> None:
    outcome = classification(attempts(classify(password_page_with_captcha(), [], profile)))
    hinted_outcome = hinted(outcome, Credentials("sakura.zakka@example.jp", "sAKURA-zAKKA-2024!"))
    assert [h.code for h in hinted_outcome.hints] == ["password_caps"]
    assert hinted_outcome.decided_by == "classification"
    assert hinted_outcome.trail[-1].stage == "hints"


def test_result_json_and_text_say_how_the_verdict_was_decided(profile: Profile) -> None:
    outcome: Outcome = classification(attempts(classify(password_page_with_captcha(), [], profile)))
    result = Result(
        "s",
        "t",
        outcome.verdict.value,
        outcome.detail,
        None,
        True,
        outcome.remedy,
        False,
        decided_by=outcome.decided_by,
        trail=[s.to_dict() for s in outcome.trail],
        secondary=[f.to_dict() for f in outcome.secondary],
    )
    data = result.to_dict()
    assert data["decided_by"] == "classification"
    assert data["trail"][0]["stage"] == "attempts"
    assert data["secondary"][0]["verdict"] == "captcha_challenge"
    assert data["secondary"][0]["remedy_text"]["ja"]
    text = render_text(result)
    assert "decided   by classification" in text
    assert "secondary captcha_challenge: captcha_required" in text


# -- one remedy registry ----------------------------------------------------------------


def profile_with(change: dict[str, Any]) -> str:
    data = yaml.safe_load(PROFILE_YAML.read_text(encoding="utf-8"))
    for key, value in change.items():
        data[key] = value if not isinstance(value, dict) else {**data[key], **value}
    return yaml.safe_dump(data, allow_unicode=True)


def test_a_profile_naming_an_unknown_remedy_fails_to_load_naming_it() -> None:
    text = profile_with({"experiments": {"browser_suspect": {"remedies": ["reset_cookies", "pray_harder"]}}})
    with pytest.raises(ValueError, match="pray_harder"):
        parse_profile(text)


def test_a_profile_naming_advice_as_an_experiment_fails_to_load() -> None:
    text = profile_with({"experiments": {"otp_code": {"remedies": ["contact_amazon"]}}})
    with pytest.raises(ValueError, match=r"contact_amazon.*no experiment"):
        parse_profile(text)


def test_a_rule_remedy_without_text_fails_to_load() -> None:
    data = yaml.safe_load(PROFILE_YAML.read_text(encoding="utf-8"))
    data["rules"][0]["remedy"] = "no_text_for_this"
    with pytest.raises(ValueError, match="no_text_for_this"):
        parse_profile(yaml.safe_dump(data, allow_unicode=True))


def test_an_automatic_remedy_without_an_experiment_fails_to_load() -> None:
    data = yaml.safe_load(
        (PROFILE_YAML.parent.parent / "outcomes.yaml").read_text(encoding="utf-8"),
    )
    data["remedies"]["levitate"] = {"automatic": True, "proves": "ok", "ja": "浮く", "en": "Levitate."}
    with pytest.raises(ValueError, match="levitate"):
        _parse_catalog(data)


def test_every_automatic_remedy_has_its_experiment_and_a_verdict() -> None:
    automatic = {name for name, r in catalog().remedies.items() if r.automatic}
    assert automatic == set(REGISTRY) == set(EXPERIMENTS)
    assert all(catalog().remedy(name).proves is not None for name in automatic)


def test_wait_and_retry_is_an_experiment_the_probe_can_run() -> None:
    assert "wait_and_retry" in EXPERIMENTS
    text = profile_with({"experiments": {"otp_code": {"remedies": ["fresh_code", "wait_and_retry"]}}})
    assert parse_profile(text).experiments["otp_code"].remedies[-1] == "wait_and_retry"


# -- the whole pipeline, live against the mock -----------------------------------------


def play_named(name: str) -> Result:
    async def go() -> Result:
        async with BrowserSession() as session:
            return await play(load_scenario(name), session, RunOptions())

    return run_async(go())


def test_pipeline_reports_the_stage_that_decided() -> None:
    expired = play_named("combo_session_expired_old_session_cookie")
    assert (expired.verdict, expired.decided_by, expired.remedy_verified) == ("stale_browser_data", "experiments", True)
    assert [s["stage"] for s in expired.trail] == ["attempts", "classification", "experiments"]

    suspended = play_named("combo_suspended_behind_stale_cookies")
    assert (suspended.verdict, suspended.decided_by) == ("account_suspended", "experiments")
    assert [f["verdict"] for f in suspended.secondary] == ["stale_browser_data"]
    assert suspended.secondary[0]["remedy"] == "reset_cookies"
    assert "After reset_cookies" in suspended.detail


def test_an_error_the_profile_cannot_name_still_gets_the_browser_experiments(profile: Profile) -> None:
    """Without its rule, the session-expired message is an unknown error: a cookie reset still finds the cause."""
    unaware = profile.model_copy(update={"rules": tuple(r for r in profile.rules if r.name != "session_expired")})

    async def go() -> Result:
        async with BrowserSession() as session:
            scenario = load_scenario("combo_session_expired_old_session_cookie")
            return await play(scenario, session, RunOptions(), unaware)

    result = run_async(go())
    assert (result.verdict, result.remedy, result.remedy_verified) == ("stale_browser_data", "reset_cookies", True)
    assert result.rule == "unrecognized"
    assert result.decided_by == "experiments"


def test_an_unknown_error_on_the_password_page_is_not_retried(profile: Profile) -> None:
    """It may be a reworded refusal: the experiments would type the password again."""
    reworded = page(
        ids=frozenset(PASSWORD_ERROR),
        selectors=frozenset({"password_field"}),
        regions={"error": "入力されたパスワードをご確認ください"},
    )
    diagnosis = classify(reworded, [], profile)
    assert diagnosis.verdict is Verdict.UNRECOGNIZED
    assert diagnosis.experiments == ()
