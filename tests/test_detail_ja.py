"""Every cause is told in Japanese too: ``detail_ja`` beside ``detail``, from the profile to the JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from probe import diagnosis as pipeline
from probe.classify import Diagnosis, classify
from probe.diagnosis import Attempts, Diagnoser, Finding, Outcome, Target, classification
from probe.flow import Attempt, Credentials
from probe.outcomes import Verdict
from probe.profile import Profile, parse_profile
from probe.redact import MASK, SECRETS, run_secrets
from probe.report import Result, render_text
from probe.signals import Event, PageSignals

from .conftest import ROOT, run_async, run_cli, sign_in_signals

PROFILE_YAML = ROOT / "probe" / "profiles" / "seller_central_jp.yaml"
PAGES = Path(__file__).resolve().parent / "pages"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
JP = "http://sellercentral.amazon.co.jp.localhost"


def japanese(text: str) -> bool:
    return bool(JAPANESE.search(text))


# -- the profile -----------------------------------------------------------------------


def test_every_rule_and_investigation_has_its_detail_in_japanese(profile: Profile) -> None:
    causes = [(rule.name, rule.detail_ja) for rule in profile.rules]
    causes += [(name, i.detail_ja) for name, i in profile.mailbox.investigations.items()]
    assert causes
    not_japanese = [name for name, text in causes if not japanese(text)]
    assert not_japanese == []


def test_every_detail_in_the_profile_file_has_a_detail_ja_beside_it() -> None:
    def walk(node: Any, where: str) -> list[str]:
        if isinstance(node, dict):
            lacking = [where] if "detail" in node and not japanese(str(node.get("detail_ja", ""))) else []
            return lacking + [x for k, v in node.items() for x in walk(v, f"{where}.{k}")]
        if isinstance(node, list):
            return [x for i, v in enumerate(node) for x in walk(v, f"{where}[{i}]")]
        return []

    assert walk(yaml.safe_load(PROFILE_YAML.read_text(encoding="utf-8")), "profile") == []


def _profile_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(PROFILE_YAML.read_text(encoding="utf-8"))
    return data


def test_a_rule_without_detail_ja_fails_to_load_naming_the_rule() -> None:
    data = _profile_data()
    rule = next(r for r in data["rules"] if r["name"] == "password_incorrect")
    del rule["detail_ja"]
    with pytest.raises(ValueError, match=r"rule password_incorrect: detail_ja is missing"):
        parse_profile(yaml.safe_dump(data, allow_unicode=True))


def test_a_rule_whose_detail_ja_is_not_japanese_fails_to_load_naming_the_rule() -> None:
    data = _profile_data()
    data["rules"][0]["detail_ja"] = data["rules"][0]["detail"]
    with pytest.raises(ValueError, match=rf"rule {data['rules'][0]['name']}: detail_ja is not Japanese"):
        parse_profile(yaml.safe_dump(data, allow_unicode=True))


def test_an_investigation_without_detail_ja_fails_to_load_naming_it() -> None:
    data = _profile_data()
    del data["mailbox"]["investigations"]["security_mail"]["detail_ja"]
    with pytest.raises(ValueError, match=r"investigations\.security_mail: detail_ja is missing"):
        parse_profile(yaml.safe_dump(data, allow_unicode=True))


# -- classification --------------------------------------------------------------------


def password_refused() -> PageSignals:
    return sign_in_signals(
        ids=frozenset({"auth-error-message-box", "ap_password", "signInSubmit"}),
        selectors=frozenset({"password_field"}),
        regions={"error": "パスワードが正しくありません"},
    )


def session_expired() -> PageSignals:
    return sign_in_signals(
        ids=frozenset({"auth-error-message-box", "ap_email", "continue"}),
        selectors=frozenset({"email_field"}),
        regions={"error": "セッションの有効期限が切れました。もう一度ログインしてください。"},
    )


def test_a_rule_gives_its_japanese_detail(profile: Profile) -> None:
    diagnosis = classify(password_refused(), [], profile)
    rule = next(r for r in profile.rules if r.name == "password_incorrect")
    assert (diagnosis.rule, diagnosis.detail_ja) == ("password_incorrect", rule.detail_ja)


def test_pages_no_rule_explains_are_told_in_japanese(profile: Profile) -> None:
    odd = sign_in_signals(path="/somewhere", ids=frozenset(), title="新しい画面")
    assert japanese(classify(odd, [], profile).detail_ja.replace("新しい画面", ""))
    assert japanese(classify(None, [], profile).detail_ja)
    home = sign_in_signals(url=f"{JP}/home", path="/home", metas=frozenset({"anti-csrftoken-a2z"}))
    assert (classify(home, [], profile).verdict, japanese(classify(home, [], profile).detail_ja)) == (Verdict.OK, True)


def test_the_probe_s_own_failure_keeps_what_the_driver_said_in_both(profile: Profile) -> None:
    said = "no visible element for password_form.password (page: password)"
    diagnosis = classify(password_refused(), [Event("control_missing", f"{JP}/ap/signin", said)], profile)
    assert diagnosis.rule == "control_missing"
    assert said in diagnosis.detail
    assert said in diagnosis.detail_ja
    assert japanese(diagnosis.detail_ja.replace(said, ""))


# -- the pipeline's composed details ---------------------------------------------------


def test_a_transient_failure_is_told_in_japanese(profile: Profile) -> None:
    failed = classify(sign_in_signals(status=503), [], profile)
    ok = Diagnosis(Verdict.OK, "reached_home", "home", (), detail_ja="ホーム")
    outcome = classification(Attempts((failed, ok), Attempt()))
    assert outcome.transient is True
    assert outcome.detail.startswith("Transient:")
    assert outcome.detail_ja.startswith("一時的な障害: 1回失敗しました")
    assert failed.detail_ja in outcome.detail_ja
    assert "2回目でログインできました" in outcome.detail_ja


def test_a_persistent_failure_is_told_in_japanese(profile: Profile) -> None:
    failed = classify(sign_in_signals(status=503), [], profile)
    outcome = classification(Attempts((failed, failed, failed), Attempt()))
    assert "Persistent" in outcome.detail
    assert outcome.detail_ja == f"{failed.detail_ja} 継続的な障害: 3回試しても失敗しました。"


def test_a_secondary_finding_has_its_japanese_detail(profile: Profile) -> None:
    captcha = sign_in_signals(
        ids=frozenset({"auth-error-message-box", "ap_password", "auth-captcha-image", "auth-captcha-guess"}),
        selectors=frozenset({"password_field"}),
        regions={"error": "パスワードが正しくありません", "warning": "画像に表示されている文字を入力してください"},
    )
    outcome = classification(Attempts((classify(captcha, [], profile),), Attempt()))
    finding = outcome.secondary[0].to_dict()
    assert finding["rule"] == "captcha_required"
    assert list(finding)[:4] == ["verdict", "rule", "detail", "detail_ja"]
    assert japanese(finding["detail_ja"])


def diagnoser(profile: Profile) -> Diagnoser:
    """A diagnoser whose experiments are replaced: no browser is started."""
    nothing = cast(Any, None)
    return Diagnoser(nothing, nothing, Target(f"{JP}/", profile), Credentials("a@example.jp", "pw"), profile)


def first_outcome(profile: Profile) -> Outcome:
    return classification(Attempts((classify(session_expired(), [], profile),), Attempt()))


def with_experiments(monkeypatch: pytest.MonkeyPatch, found: dict[str, Diagnosis]) -> None:
    for name in pipeline.EXPERIMENTS:

        async def fake(_: Diagnoser, name: str = name) -> tuple[Attempt, Diagnosis]:
            return Attempt(), found[name]

        monkeypatch.setitem(pipeline.EXPERIMENTS, name, fake)


def test_a_verified_remedy_is_told_in_japanese(profile: Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Diagnosis(Verdict.OK, "reached_home", "home", ())
    with_experiments(monkeypatch, dict.fromkeys(pipeline.EXPERIMENTS, home))
    first = first_outcome(profile)
    outcome = run_async(diagnoser(profile).experiments(first))
    assert (outcome.remedy, outcome.remedy_verified) == ("reset_cookies", True)
    assert "After reset_cookies the sign-in reached home." in outcome.detail
    assert outcome.detail_ja == f"{first.detail_ja} Cookieの削除（reset_cookies）を試したところ、ログインできました。"


def test_experiments_that_all_fail_are_told_in_japanese(profile: Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    first = first_outcome(profile)
    with_experiments(monkeypatch, dict.fromkeys(pipeline.EXPERIMENTS, first.diagnosis))
    outcome = run_async(diagnoser(profile).experiments(first))
    assert outcome.verdict is Verdict.UNRECOGNIZED
    assert "none let the sign-in through" in outcome.detail
    assert outcome.detail_ja.startswith(first.detail_ja)
    assert "Cookieの削除（reset_cookies）、キャッシュの削除（reset_cache）" in outcome.detail_ja
    assert outcome.detail_ja.endswith("を試しましたが、どれでもログインできませんでした。")


def test_another_failure_behind_the_first_is_told_in_japanese(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = classify(password_refused(), [], profile)
    with_experiments(monkeypatch, dict.fromkeys(pipeline.EXPERIMENTS, refused))
    first = first_outcome(profile)
    outcome = run_async(diagnoser(profile).experiments(first))
    assert outcome.rule == "password_incorrect"
    assert outcome.detail.startswith("After reset_cookies, the site showed:")
    assert outcome.detail_ja == (
        f"Cookieの削除（reset_cookies）を試したところ、別の問題が表示されました: {refused.detail_ja}"
        f"（最初の問題: {first.detail_ja}）"
    )
    assert [f.detail_ja for f in outcome.secondary] == [first.detail_ja]


def test_every_experiment_has_a_japanese_name() -> None:
    assert set(pipeline.EXPERIMENTS_JA) == set(pipeline.EXPERIMENTS)
    assert all(japanese(text) for text in pipeline.EXPERIMENTS_JA.values())


def test_a_finding_without_japanese_falls_back_to_english() -> None:
    bare = Diagnosis(Verdict.SYSTEM_ERROR, "http_5xx", "5xx", ())
    assert Finding.of(bare).detail_ja == "5xx"


# -- the result ------------------------------------------------------------------------


def test_the_result_keeps_its_positional_fields_and_shows_detail_ja_beside_detail() -> None:
    result = Result("s", "t", "credentials_invalid", "The site rejected the password.", None, False, None, False)
    assert result.detail_ja == ""
    result.detail_ja = "パスワードが受け付けられませんでした。"
    keys = list(result.to_dict())
    assert keys[keys.index("detail") + 1] == "detail_ja"
    assert keys.index("expected") == keys.index("detail_ja") + 1
    lines = render_text(result).splitlines()
    assert lines[lines.index("detail    The site rejected the password.") + 1] == (
        "詳細      パスワードが受け付けられませんでした。"
    )


def test_secrets_are_masked_in_detail_ja() -> None:
    with run_secrets():
        SECRETS.add("hunter-2-password")
        result = Result("s", "t", "unrecognized", "typed hunter-2-password", None, False, None, False)
        result.detail_ja = "hunter-2-password を入力しました"
        assert result.to_dict()["detail_ja"] == f"{MASK} を入力しました"
        assert "hunter-2-password" not in render_text(result)


# -- end to end: a saved page ----------------------------------------------------------


def test_classify_of_a_saved_page_gives_detail_ja(profile: Profile) -> None:
    done = run_cli("classify", str(PAGES / "jp_password_incorrect.html"), "--json")
    assert done.returncode in (0, 1), done.stderr
    result = json.loads(done.stdout)
    rule = next(r for r in profile.rules if r.name == result["rule"])
    assert result["verdict"] == "credentials_invalid"
    assert result["detail_ja"] == rule.detail_ja
    assert japanese(result["detail_ja"])
