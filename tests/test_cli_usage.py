"""The CLI in-process, without a browser: help, suggestions, selection, bad input, partial results."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

import fixtures.mock_site
import probe.cli
import probe.harness
from probe import __version__
from probe.cli import Environment, ExitStatus, build_parser, keyword_matcher, main, paint
from probe.errors import InfraError, UsageError
from probe.report import Result
from probe.runner import RunOptions
from probe.scenarios import SCENARIO_DIR, Scenario

from .conftest import ROOT


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def in_process(
    *argv: str, env: dict[str, str] | None = None, stdout: io.StringIO | None = None
) -> tuple[int, str, str]:
    out, err = stdout or io.StringIO(), io.StringIO()
    code = call_main(list(argv), Environment(stdout=out, stderr=err, env=env or {}, stdin=io.StringIO()))
    return code, out.getvalue(), err.getvalue()


def call_main(argv: list[str], environment: Environment) -> int:
    """``main`` on a thread of its own: pytest-playwright keeps an event loop running on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(main, argv, environment).result()


def one_line_error(code: int, out: str, err: str, status: int = ExitStatus.USAGE) -> str:
    assert code == status, err
    assert out == ""
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# -- first minutes


def test_version() -> None:
    code, out, _ = in_process("--version")
    assert code == 0
    assert out == f"probe {__version__}\n"


def test_bare_probe_prints_the_help_on_stderr_and_exits_2() -> None:
    code, out, err = in_process()
    assert code == ExitStatus.USAGE
    assert out == ""
    assert err.startswith("usage: probe")
    assert "run" in err
    assert "exit codes:" in err


@pytest.mark.parametrize("argv", [("help",), ("--help",), ("-h",)])
def test_help_is_on_stdout_with_exit_0(argv: tuple[str, ...]) -> None:
    code, out, err = in_process(*argv)
    assert code == 0, err
    assert out.startswith("usage: probe")
    assert "examples:" in out
    assert "exit codes:" in out


def commands() -> list[str]:
    return sorted(probe.cli._subparsers(build_parser()))


@pytest.mark.parametrize("command", commands())
def test_every_command_help_has_examples_and_exit_codes(command: str) -> None:
    for argv in ((command, "--help"), ("help", command)):
        code, out, _ = in_process(*argv)
        assert code == 0
        assert out.startswith(f"usage: probe {command}")
        assert f"  probe {command}" in out.split("examples:")[1]
        assert "exit codes:\n  0" in out
        assert "  3  the probe's own failure" in out


def test_help_of_an_unknown_command_suggests_one() -> None:
    err = one_line_error(*in_process("help", "rn"))
    assert "no command 'rn' (did you mean run?)" in err


@pytest.mark.parametrize(
    ("argv", "verbosity"),
    [(("list",), 0), (("-v", "list"), 1), (("list", "-v"), 1), (("-v", "list", "-v"), 2), (("list", "-vv"), 2)],
)
def test_verbose_is_accepted_before_and_after_the_command(
    argv: tuple[str, ...], verbosity: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    monkeypatch.setattr(probe.cli.probe_log, "configure", lambda level, stream: seen.append(level))
    code, _, _ = in_process(*argv)
    assert code == 0
    assert seen == [verbosity]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("run", "--scenaro", "cookies"), "unknown option --scenaro for `probe run` (did you mean --scenario?)"),
        (("run", "--scenario", "ok", "--jsn"), "unknown option --jsn for `probe run` (did you mean --json?)"),
        (("diagnose", "--ulr", "http://x/"), "unknown option --ulr for `probe diagnose` (did you mean --url?)"),
        (("--verbse", "list"), "(did you mean --verbose?)"),
        (("list", "--jason"), "unknown option --jason for `probe list` (did you mean --json?)"),
        (("rn",), "invalid choice: 'rn'"),
        (("rn",), "(did you mean run?)"),
        (("run", "--scenario", "cookie"), "no scenario named 'cookie'; did you mean cookies?"),
        (("diagnose", "--url", "http://x/", "--device", "iphon"), "(did you mean iphone?)"),
    ],
)
def test_a_misspelling_is_named_with_a_suggestion(argv: tuple[str, ...], message: str) -> None:
    err = one_line_error(*in_process(*argv))
    assert err.startswith("probe: error: ")
    assert message in err


def test_a_misspelled_yaml_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (SCENARIO_DIR / "ok.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("\ncredentials:\n", "\ncredentails:\n"), encoding="utf-8")
    err = one_line_error(*in_process("run", "--scenario", str(bad)))
    assert "credentails: unknown key (did you mean credentials?)" in err


def test_the_readme_says_how_to_reach_the_installed_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ". .venv/bin/activate" in readme
    assert ".venv/bin/probe list" in readme


# -- choosing scenarios


def test_list_json_has_names_titles_descriptions_and_expected_verdicts() -> None:
    code, out, _ = in_process("list", "--json")
    assert code == 0
    rows = json.loads(out)["scenarios"]
    assert len(rows) == len(list(SCENARIO_DIR.glob("*.yaml")))
    cookies = next(r for r in rows if r["name"] == "cookies")
    assert cookies["title"] == "古いCookieが残っていてログイン画面に戻される"
    assert cookies["description"].startswith("The seller's browser still holds cookies")
    assert cookies["expected"] == "stale_browser_data"


def test_list_k_filters_names() -> None:
    code, out, _ = in_process("list", "-k", "otp and not (sms or reused)")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert names
    assert all("otp" in n and "sms" not in n and "reused" not in n for n in names)


@pytest.mark.parametrize(
    ("expression", "name", "matches"),
    [
        ("otp", "otp_expired", True),
        ("OTP", "otp_expired", True),
        ("otp and not expired", "otp_expired", False),
        ("otp and not expired", "otp_reused", True),
        ("ok or cookies", "stale_cache", False),
        ("(wrong or unknown) and unified", "wrong_domain_unified", True),
        ("not not ok", "ok_sms", True),
        ("", "anything", True),
    ],
)
def test_k_expressions_are_pytest_like(expression: str, name: str, matches: bool) -> None:
    assert keyword_matcher(expression)(name) is matches


@pytest.mark.parametrize("expression", ["otp and", "(otp", "otp)", "and otp", "otp otp", "not"])
def test_a_broken_k_expression_is_a_usage_error(expression: str) -> None:
    with pytest.raises(UsageError, match=re.escape(f"-k '{expression}'")):
        keyword_matcher(expression)


# -- a fake browser and runner: the CLI's own logic, fast


class FakeSession:
    def __init__(self, **_: Any) -> None:
        pass

    async def __aenter__(self) -> FakeSession:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


def result(name: str, match: bool = True) -> Result:
    return Result(
        scenario=name,
        title="タイトル",
        verdict="ok" if match else "otp_rejected",
        detail="",
        expected="ok",
        match=match,
        remedy=None,
        remedy_verified=False,
        duration_s=1.5,
    )


def fake_runner(monkeypatch: pytest.MonkeyPatch, finish: int, then: BaseException | None) -> list[str]:
    """``play_all`` that finishes ``finish`` scenarios (the second a mismatch), then raises ``then``."""
    started: list[str] = []

    async def play_all(scenarios: Sequence[Scenario], session: object, options: RunOptions) -> list[Result]:
        done = []
        for i, scenario in enumerate(scenarios[:finish]):
            assert options.on_start is not None
            assert options.on_done is not None
            options.on_start(scenario)
            started.append(scenario.name)
            done.append(result(scenario.name, match=i != 1))
            options.on_done(done[-1])
        if then is not None:
            raise then
        return done

    monkeypatch.setattr(probe.cli, "BrowserSession", FakeSession)
    monkeypatch.setattr(probe.harness, "play_all", play_all)
    return started


def test_one_line_per_finished_scenario_on_stderr_and_wall_time(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_runner(monkeypatch, finish=3, then=None)
    code, out, err = in_process(
        "run", "--scenario", "ok", "--scenario", "cookies", "--scenario", "stale_cache", "--json"
    )
    assert code == ExitStatus.MISMATCH
    assert err.splitlines() == [
        "[1/3] ✓ ok  ok  1.5 s",
        "[2/3] ✗ cookies  otp_rejected, expected ok  1.5 s",
        "[3/3] ✓ stale_cache  ok  1.5 s",
    ]
    summary = json.loads(out)["summary"]
    assert summary["duration_s"] == 4.5  # the sum of scenario times, as before
    assert 0 <= summary["wall_s"] < 4.5  # the run's own time, apart
    assert summary["not_run"] == 0


@pytest.mark.parametrize(
    ("then", "status", "message"),
    [
        (KeyboardInterrupt(), ExitStatus.INTERRUPTED, "probe: interrupted: 2 of 4 scenarios finished, 2 not run"),
        (InfraError("Chromium crashed"), ExitStatus.INFRA, "probe: failed: Chromium crashed (2 of 4 scenarios"),
    ],
)
def test_an_interrupted_or_failed_run_keeps_what_finished(
    then: BaseException, status: int, message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_runner(monkeypatch, finish=2, then=then)
    junit = tmp_path / "junit.xml"
    names = ("cookies", "ok", "stale_cache", "wrong_password")
    code, out, err = in_process("run", *(f"--scenario={n}" for n in names), "--json", "--junit", str(junit))
    assert code == status
    assert err.splitlines()[-1].startswith(message)
    assert f"results so far in {junit}" in err
    payload = json.loads(out)
    assert [r["scenario"] for r in payload["results"]] == ["cookies", "ok"]
    assert payload["summary"]["not_run"] == 2
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "4"
    assert suite.get("failures") == "1"
    assert suite.get("skipped") == "2"
    assert [c.get("name") for c in suite.iter("testcase") if c.find("skipped") is not None] == [
        "stale_cache",
        "wrong_password",
    ]


def test_mismatches_stand_out_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_runner(monkeypatch, finish=2, then=None)
    code, out, _ = in_process("run", "--scenario", "ok", "--scenario", "cookies", stdout=Terminal())
    assert code == ExitStatus.MISMATCH
    assert "\x1b[1m\x1b[31m✗ cookies" in out
    code, out, _ = in_process(
        "run", "--scenario", "ok", "--scenario", "cookies", stdout=Terminal(), env={"NO_COLOR": "1"}
    )
    assert "\x1b[" not in out
    assert "✗ cookies" in out


def test_paint_is_identity_when_off() -> None:
    text = "verdict   ok  (expected otp_rejected) ✗\n✓ ok  ok  1.0 s"
    assert paint(text, False) == text
    assert paint(text, True).startswith("\x1b[1m\x1b[31mverdict")


def test_a_run_is_one_result_for_one_name_and_many_for_a_glob(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_runner(monkeypatch, finish=99, then=None)
    _, out, _ = in_process("run", "--scenario", "otp_*", "--json")
    names = [r["scenario"] for r in json.loads(out)["results"]]
    assert names
    assert all(n.startswith("otp_") for n in names)


# -- bad input: exit 2, one line, before anything runs, nothing left behind


@pytest.fixture
def no_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    class Refused:
        def __init__(self, **_: Any) -> None:
            raise AssertionError("a browser was started for bad input")

    monkeypatch.setattr(probe.cli, "BrowserSession", Refused)


def bad_paths(tmp_path: Path) -> list[tuple[list[str], str]]:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return [
        (["run", "--scenario", "ok", "--out", str(a_file)], f"--out {a_file}: is a file, not a folder"),
        (["run", "--scenario", "ok", "--out", str(a_file / "sub")], f"{a_file} is a file, not a folder"),
        (["run", "--scenario", "ok", "--junit", str(tmp_path)], f"--junit {tmp_path}: is a folder; name a file"),
        (["run", "--scenario", "ok", "--junit", str(a_file / "j.xml")], f"{a_file} is a file, not a folder"),
        (["run", "--scenario", "ok", "--junit", str(tmp_path / "no" / "j.xml")], "no such folder"),
        (["diagnose", "--url", "http://x/", "--out", str(a_file)], "is a file, not a folder"),
    ]


def test_two_scenarios_of_one_name_are_refused(tmp_path: Path, no_browser: None) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text((SCENARIO_DIR / "ok.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    err = one_line_error(*in_process("run", "--scenario", "ok", "--scenario", str(copy)))
    assert "two of the chosen scenarios are named 'ok'" in err


def test_a_scenario_without_expect_reports_its_verdict_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (SCENARIO_DIR / "ok.yaml").read_text(encoding="utf-8")
    bare = tmp_path / "bare.yaml"
    bare.write_text(text[: text.index("expect:")], encoding="utf-8")
    seen: list[Scenario] = []

    async def play(scenario: Scenario, session: object, options: RunOptions) -> Result:
        seen.append(scenario)
        return Result(
            scenario=scenario.name, title=scenario.title, verdict="otp_rejected", detail="", expected=None,
            match=True, remedy=None, remedy_verified=False,
        )  # fmt: skip

    monkeypatch.setattr(probe.cli, "BrowserSession", FakeSession)
    monkeypatch.setattr(probe.harness, "play", play)
    code, out, _ = in_process("run", "--scenario", str(bare))
    assert code == ExitStatus.OK
    assert seen[0].expect is None
    assert "verdict   otp_rejected\n" in out


def test_bad_output_places_are_refused_before_running(tmp_path: Path, no_browser: None) -> None:
    for argv, message in bad_paths(tmp_path):
        err = one_line_error(*in_process(*argv))
        assert message in err, argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


@pytest.mark.skipif(os.geteuid() != 0 and not Path("/proc").is_dir(), reason="needs /proc")
def test_an_unwritable_out_is_refused(no_browser: None) -> None:
    err = one_line_error(*in_process("run", "--scenario", "ok", "--out", "/proc/probe-out"))
    assert "--out /proc/probe-out: cannot write there" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("diagnose", "--url", "http://[::1"), "--url 'http://[::1': Invalid IPv6 URL"),
        (("diagnose", "--url", "http://localhost:99999/"), "Port out of range 0-65535"),
        (("diagnose", "--url", "http://localhost:abc/"), "Port could not be cast to integer value as 'abc'"),
        (("diagnose", "--url", "http://localhost:0/"), "port 0 is not a port to connect to"),
        (("diagnose", "--url", "ftp://x/"), "--url needs an http(s) URL with a host"),
        (("mock", "--port", "70000"), "argument --port: 70000 is not a port: 0 to 65535"),
        (("mock", "--port", "-5"), "argument --port: -5 is not a port: 0 to 65535"),
        (("mock", "--port", "abc"), "argument --port: not a port number: 'abc'"),
        (("run", "--scenario", "ok", "--all"), "not allowed with argument"),
        (("run", "-k", "zzz_nothing"), "-k 'zzz_nothing' matches no scenario"),
        (("run", "--scenario", "ok", "--workers", "-1"), "must be 1 or more"),
        (("reset", "--profile", "/nonexistent/profile"), "no browser profile folder at /nonexistent/profile"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(argv: tuple[str, ...], message: str, no_browser: None) -> None:
    err = one_line_error(*in_process(*argv))
    assert message in err


def test_a_terminal_gets_a_live_line_of_the_running_scenarios(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_runner(monkeypatch, finish=2, then=None)
    err = Terminal()
    code = call_main(
        ["run", "--scenario", "ok", "--scenario", "cookies"], Environment(stdout=io.StringIO(), stderr=err, env={})
    )
    assert code == ExitStatus.MISMATCH
    text = err.getvalue()
    assert "[0/2] running: ok" in text
    assert "\r\x1b[K[1/2] " in text
    assert "\x1b[1m\x1b[31m[2/2] ✗ cookies" in text
    assert text.endswith("\r\x1b[K")


def readme_commands() -> list[list[str]]:
    """Every `probe ...` line of the README's shell blocks, as argv."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```sh\n(.*?)```", readme, re.DOTALL):
        for line in block.splitlines():
            if not line.startswith(("probe", ".venv/bin/probe")):
                continue
            words = shlex.split(line, comments=True)
            if words[:1] == [".venv/bin/probe"]:
                words[0] = "probe"
            if words[:1] == ["probe"]:
                found.append(words[1:])
    return found


def test_the_readme_has_many_commands() -> None:
    assert len(readme_commands()) > 20


@pytest.mark.parametrize("argv", readme_commands(), ids=" ".join)
def test_every_readme_command_parses_as_written(argv: list[str]) -> None:
    parser = build_parser()
    code: object = 0
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            probe.cli._parse(parser, argv)
        except SystemExit as exc:  # --version, --help
            code = exc.code
    assert code == 0


def test_mock_prints_the_accounts_it_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    class Served:
        def __init__(self, *_: Any, **__: Any) -> None:
            pass

        def start(self) -> None:
            pass

        def url(self, marketplace: Any) -> str:
            return f"http://{marketplace.host}.localhost:8000/"

        def origin(self, host: str) -> str:
            return f"http://{host}.localhost:8000"

        def wait(self) -> None:
            raise KeyboardInterrupt

        def stop(self) -> None:
            pass

    monkeypatch.setattr(fixtures.mock_site, "MockServer", Served)
    code, out, _ = in_process("mock")
    assert code == 0
    assert (
        "sakura.zakka@example.jp  password Sakura-Zakka-2024!  2-step totp, TOTP seed LT2AVT453DHX3TOM25FZWVVJ2XA23RYQ"
        in out
    )
