"""The pytest plugin (probe.pytest_plugin) as other teams use it: pytest runs of their own test files.

Each run is a pytest subprocess (``pytester.runpytest_subprocess``) with no
conftest: the plugin alone finds the Chromium (Playwright's, else the
system's) and signs in inside pytest-playwright's browser.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from fixtures.mock_site import MockServer
from probe.errors import UsageError
from probe.outcomes import catalog
from probe.pytest_plugin import credentials_from, read_credentials_file
from probe.scenarios import load_scenario

from .conftest import EMAIL, PASSWORD, ROOT, TOTP_SECRET, readable

pytest_plugins = ["pytester"]

EXAMPLE = ROOT / "examples" / "test_seller_central.py"
# Every run: no cache folder in the test's directory, markers checked as this project checks its own.
BASE_ARGS = ("-p", "no:cacheprovider", "--strict-markers")
RUN_TIMEOUT = 240

TWO_TESTS = """
import pytest


def test_signed_in(seller_central_page, probe_diagnosis):
    assert probe_diagnosis.verdict == "ok"
    assert "/home" in seller_central_page.url


@pytest.mark.probe_scenario("wrong_password")
def test_wrong_password(seller_central_page):
    raise AssertionError("never reached: the sign-in fails in set-up")
"""


@pytest.fixture(autouse=True)
def _no_credentials_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROBE_EMAIL", "PROBE_PASSWORD", "PROBE_TOTP_SECRET"):
        monkeypatch.delenv(name, raising=False)


def _secret_forms(secret: str) -> list[str]:
    return [secret, secret.replace("!", "%21"), secret.replace("!", "&#33;")]


def test_the_readme_example_passes_against_the_mock(pytester: pytest.Pytester) -> None:
    shutil.copy(EXAMPLE, pytester.path / EXAMPLE.name)
    result = pytester.runpytest_subprocess(*BASE_ARGS, EXAMPLE.name, timeout=RUN_TIMEOUT)
    result.assert_outcomes(passed=4)
    # Artifacts are kept only for failed tests: nothing failed, nothing kept.
    assert not list((pytester.path / "test-results").rglob("result.json"))


def test_a_failed_sign_in_errors_in_setup_with_verdict_remedy_artifacts_and_no_secret(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_team=TWO_TESTS)
    result = pytester.runpytest_subprocess(
        *BASE_ARGS, "--junit-xml=report.xml", "--output=results", timeout=RUN_TIMEOUT
    )
    result.assert_outcomes(passed=1, errors=1)
    output = result.stdout.str() + result.stderr.str()

    # The set-up error names the verdict, its evidence and the remedy in both languages.
    remedy = catalog().remedy("check_credentials")
    assert "ERROR at setup of test_wrong_password" in output
    assert "Seller Central sign-in failed: credentials_invalid" in output
    assert "evidence" in output
    assert remedy.en in output
    assert remedy.ja in output
    assert "never reached" not in output

    # JUnit XML: the verdict of each test as a property, the failure's report as the error.
    tree = ET.parse(pytester.path / "report.xml")
    cases = {case.get("name"): case for case in tree.iter("testcase")}
    wrong = cases["test_wrong_password[chromium]"]
    props = {p.get("name"): p.get("value") for p in wrong.iter("property")}
    assert props["probe_verdict"] == "credentials_invalid"
    error = wrong.find("error")
    assert error is not None
    assert "credentials_invalid" in (error.get("message") or "") + (error.text or "")
    ok_props = {p.get("name"): p.get("value") for p in cases["test_signed_in[chromium]"].iter("property")}
    assert ok_props["probe_verdict"] == "ok"
    assert "probe_artifacts" not in ok_props

    # The probe's artifacts: in the failed test's folder under --output, none for the passed test.
    kept = pytester.path / "results" / "test-team-py-test-wrong-password-chromium" / "probe"
    assert props["probe_artifacts"] == "results/test-team-py-test-wrong-password-chromium/probe"
    assert {"trace.zip", "network.har", "result.json", "log.jsonl"} <= {p.name for p in kept.iterdir()}
    assert any(p.suffix == ".png" for p in kept.iterdir())
    assert [p.parent.name for p in (pytester.path / "results").rglob("result.json")] == ["probe"]
    assert f"artifacts {props['probe_artifacts']}" in output

    # The password the seller typed (and the account's real one) appear nowhere.
    scenario = load_scenario("wrong_password")
    secrets = [scenario.credentials.password, *(a.password for a in scenario.site.accounts)]
    assert scenario.credentials.totp_secret is not None
    secrets.append(scenario.credentials.totp_secret)
    everything = [output, (pytester.path / "report.xml").read_text(encoding="utf-8")]
    everything += [readable(p) for p in kept.iterdir()]
    for secret in secrets:
        for text in everything:
            for form in _secret_forms(secret):
                assert form not in text


def test_a_live_target_with_a_credentials_file_and_artifacts_kept_for_passing_tests(
    pytester: pytest.Pytester, mock: MockServer
) -> None:
    pytester.makepyfile(
        test_live="""
        import pytest


        def test_signed_in(seller_central_page, probe_diagnosis):
            assert probe_diagnosis.verdict == "ok"
            assert probe_diagnosis.title.startswith("http://sellercentral.amazon.co.jp.localhost:")


        @pytest.mark.parametrize("probe_mock", ["otp_wrong_code"], indirect=True)
        def test_a_named_scenario_still_plays_the_mock(probe_diagnosis):
            assert probe_diagnosis.scenario == "otp_wrong_code"
            assert probe_diagnosis.verdict == "otp_rejected"
        """
    )
    creds = pytester.path / "seller.env"
    creds.write_text(
        f"# the account of the mock\nPROBE_EMAIL={EMAIL}\nexport PROBE_PASSWORD='{PASSWORD}'\n"
        f"PROBE_TOTP_SECRET={TOTP_SECRET}\n",
        encoding="utf-8",
    )
    result = pytester.runpytest_subprocess(
        *BASE_ARGS,
        f"--probe-target={mock.origin('sellercentral.amazon.co.jp')}/",
        "--probe-credentials=seller.env",
        "--probe-artifacts=on",
        timeout=RUN_TIMEOUT,
    )
    result.assert_outcomes(passed=2)
    kept = pytester.path / "test-results" / "test-live-py-test-signed-in-chromium" / "probe"
    assert (kept / "result.json").is_file()
    for path in kept.iterdir():
        text = readable(path)
        assert PASSWORD not in text
        assert TOTP_SECRET not in text
    assert PASSWORD not in result.stdout.str() + result.stderr.str()


def test_ini_settings_and_a_bad_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nprobe_device = nokia\n")
    pytester.makepyfile(test_nothing="def test_nothing(): pass\n")
    result = pytester.runpytest_subprocess(*BASE_ARGS, timeout=RUN_TIMEOUT)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ini probe_device 'nokia': choose one of desktop, iphone, android" in result.stderr.str()

    # The command line wins over the ini file.
    result = pytester.runpytest_subprocess(
        *BASE_ARGS, "--probe-device=iphone", "--probe-artifacts=sometimes", timeout=RUN_TIMEOUT
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.str().strip() == (
        "ERROR: --probe-artifacts 'sometimes': choose one of on, off, retain-on-failure"
    )


def test_the_marker_and_options_are_listed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--markers", timeout=RUN_TIMEOUT)
    result.stdout.fnmatch_lines(["*@pytest.mark.probe_scenario(name)*"])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--help", timeout=RUN_TIMEOUT)
    result.stdout.fnmatch_lines(["*--probe-target=URL*", "*--probe-artifacts=MODE*", "*probe_marketplace*"])


# -- credentials files, in-process -------------------------------------------------------------


def test_a_yaml_credentials_file(tmp_path: Path) -> None:
    path = tmp_path / "seller.yaml"
    path.write_text(f"email: {EMAIL}\npassword: '{PASSWORD}'\ntotp_secret: {TOTP_SECRET}\n", encoding="utf-8")
    assert read_credentials_file(path) == {
        "PROBE_EMAIL": EMAIL,
        "PROBE_PASSWORD": PASSWORD,
        "PROBE_TOTP_SECRET": TOTP_SECRET,
    }


def test_a_dotenv_credentials_file_whose_password_looks_like_yaml(tmp_path: Path) -> None:
    path = tmp_path / "seller.env"
    path.write_text(f'PROBE_EMAIL={EMAIL}\nPROBE_PASSWORD="a: b # c"\n', encoding="utf-8")
    assert read_credentials_file(path) == {"PROBE_EMAIL": EMAIL, "PROBE_PASSWORD": "a: b # c"}


def test_errors_about_a_credentials_file_never_quote_a_value(tmp_path: Path) -> None:
    path = tmp_path / "seller.yaml"
    path.write_text(f"mail: {EMAIL}\npassword: [{PASSWORD}\n", encoding="utf-8")
    with pytest.raises(UsageError) as broken:
        read_credentials_file(path)
    assert PASSWORD not in str(broken.value)
    path.write_text(f"login: x\npassword: '{PASSWORD}'\n", encoding="utf-8")
    with pytest.raises(UsageError, match="unknown key 'login'") as unknown:
        read_credentials_file(path)
    assert PASSWORD not in str(unknown.value)


def test_a_live_target_without_a_password_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="set PROBE_PASSWORD"):
        credentials_from({"PROBE_EMAIL": EMAIL}, "in the environment")
    with pytest.raises(UsageError, match="not a base32 TOTP secret"):
        credentials_from({"PROBE_EMAIL": EMAIL, "PROBE_PASSWORD": PASSWORD, "PROBE_TOTP_SECRET": "xyz"}, "here")


def test_the_readme_example_is_the_file_that_is_run() -> None:
    """The README's "Use it in your own tests" example is examples/test_seller_central.py, run above."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Use it in your own tests") :]
    block = section[section.index("```python\n") + len("```python\n") :]
    assert block[: block.index("```\n")] == EXAMPLE.read_text(encoding="utf-8")
