"""The CLI end to end: the installed command in its own process, a real Chromium, the real mock."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from probe.cli import Environment, ExitStatus, main
from probe.scenarios import SCENARIO_DIR

from .conftest import PASSWORD, TOTP_SECRET, readable, run_cli


def run_json(*args: str) -> dict[str, object]:
    done = run_cli("run", *args, "--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_cookies_scenario_is_stale_browser_data_fixed_by_a_cookie_reset() -> None:
    result = run_json("--scenario", "cookies")
    assert result["verdict"] == "stale_browser_data"
    assert result["remedy"] == "reset_cookies"
    assert result["remedy_verified"] is True
    assert result["match"] is True
    assert result["expected"] == "stale_browser_data"
    evidence = result["evidence"]
    assert isinstance(evidence, list)
    assert evidence[0]["signal"] == "event:signin_loop"
    assert "/home 302" in evidence[0]["text"]
    assert {"scenario", "detail", "evidence", "duration_s", "remedies_tried", "phases"} <= set(result)


def test_wrong_domain_is_wrong_marketplace_fixed_on_the_japanese_host() -> None:
    result = run_json("--scenario", "wrong_domain")
    assert result["verdict"] == "wrong_marketplace"
    assert result["remedy"] == "use_jp_host"
    assert result["remedy_verified"] is True


def test_ok_scenario_reaches_home_through_every_phase() -> None:
    result = run_json("--scenario", "ok")
    assert result["verdict"] == "ok"
    assert result["remedy"] is None
    phases = [p["name"] for p in result["phases"]]  # type: ignore[attr-defined]
    assert phases == ["navigate", "email", "password", "2sv", "picker", "home"]


def test_terminal_output_shows_verdict_evidence_and_both_remedy_texts() -> None:
    done = run_cli("run", "--scenario", "wrong_password")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "verdict   credentials_invalid  (expected credentials_invalid) ✓" in out
    assert "パスワードが正しくありません" in out
    assert "ja: Eメールアドレスとパスワードを確認してください" in out
    assert "en: Check the email address and password" in out
    assert PASSWORD not in out
    assert "Sakura-Zakka-2023!" not in out


def test_a_copy_with_a_wrong_expectation_exits_1(tmp_path: Path) -> None:
    text = (SCENARIO_DIR / "cookies.yaml").read_text(encoding="utf-8")
    copy = tmp_path / "cookies_mislabelled.yaml"
    copy.write_text(text.replace("verdict: stale_browser_data", "verdict: ok"), encoding="utf-8")
    done = run_cli("run", "--scenario", str(copy), "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["verdict"] == "stale_browser_data"
    assert result["expected"] == "ok"
    assert result["match"] is False


def test_changing_the_world_changes_the_verdict(tmp_path: Path) -> None:
    """Same expectation, but the browser no longer holds the stale cookies: the probe says ok."""
    text = (SCENARIO_DIR / "cookies.yaml").read_text(encoding="utf-8")
    start, end = text.index("browser:"), text.index("credentials:")
    copy = tmp_path / "cookies_clean.yaml"
    copy.write_text(text[:start] + text[end:], encoding="utf-8")
    done = run_cli("run", "--scenario", str(copy), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["verdict"] == "ok"


def test_malformed_scenario_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((SCENARIO_DIR / "ok.yaml").read_text(encoding="utf-8") + "surprise: 1\n", encoding="utf-8")
    done = run_cli("run", "--scenario", str(bad))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "surprise: unknown key" in done.stderr
    assert "Traceback" not in done.stderr


def test_junit_and_artifacts_hold_no_secret(tmp_path: Path) -> None:
    junit, out = tmp_path / "junit.xml", tmp_path / "artifacts"
    done = run_cli("run", "--scenario", "cookies", "--junit", str(junit), "--out", str(out))
    assert done.returncode == 0, done.stderr
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "1"
    assert suite.get("failures") == "0"
    files = sorted(p.name for p in (out / "cookies").iterdir())
    assert {"result.json", "log.jsonl", "trace.zip", "network.har"} <= set(files)
    assert any(name.endswith(".png") for name in files)
    trace, har = readable(out / "cookies" / "trace.zip"), readable(out / "cookies" / "network.har")
    # The password was typed (the fill is in the trace) and its value masked there.
    assert re.search(r'"selector": "[^"]*input\[name=password\][^"]*", "strict": true, "value": "\[REDACTED\]"', trace)
    assert "session-token=[REDACTED]" in har
    assert '"name": "otpCode", "value": "[REDACTED]"' in har
    assert not any(p.name.endswith(".partial") for p in out.iterdir())
    cookie_values = ("b1uK2Vx9qQm0dO1dSess10nT0kenFromMarch2023xx",)
    for path in [junit, *(out / "cookies").iterdir()]:
        data = readable(path)
        for secret in (PASSWORD, TOTP_SECRET, *cookie_values):
            assert secret not in data, f"{secret!r} in {path.name}"
    events = [json.loads(line) for line in (out / "cookies" / "log.jsonl").read_text().splitlines()]
    phases = {e["phase"] for e in events if e["event"] == "phase"}
    assert {"navigate", "email", "password", "2sv", "remedy", "picker", "home"} <= phases


def test_no_browser_is_exit_3_with_one_line(tmp_path: Path) -> None:
    done = run_cli("run", "--scenario", "ok", env={"PROBE_CHROMIUM": str(tmp_path / "no-such-chromium")})
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1
    assert "PROBE_CHROMIUM" in done.stderr


def test_list_names_every_scenario_with_its_expected_verdict() -> None:
    done = run_cli("list")
    assert done.returncode == 0
    header, *lines = done.stdout.splitlines()
    assert header.split()[:3] == ["NAME", "EXPECTED", "VERDICT"]
    assert len(lines) == len(list(SCENARIO_DIR.glob("*.yaml")))
    assert any(line.split()[:2] == ["cookies", "stale_browser_data"] for line in lines)


def in_process(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), Environment(stdout=out, stderr=err, env={}))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("run",), "one of --scenario, --all or -k is required"),
        (("run", "--scenario", "ok", "--workers", "0"), "must be 1 or more"),
        (("run", "--scenario", "no_such_case"), "no scenario named 'no_such_case'"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv: tuple[str, ...], message: str) -> None:
    code, out, err = in_process(*argv)
    assert code == ExitStatus.USAGE
    assert out == ""
    assert err.startswith("probe: error: ")
    assert message in err
    assert err.count("\n") == 1
