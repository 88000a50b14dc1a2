"""The newcomer's path: after set-up, every command of the README's code blocks, as written.

Each command runs in bash through the virtualenv the README names (`. .venv/bin/activate`,
or `.venv/bin/probe`), in a scratch folder with its own HOME, and must exit with the code
the README promises. Commands that need the real internet (or that are the set-up itself)
are parsed only. A command added to the README without a line in PLAN fails the test.
"""

from __future__ import annotations

import email.mime.multipart
import email.mime.text
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from probe.browser import BrowserSession
from probe.cli import build_parser

from .conftest import PAGES, ROOT, run_async

README = (ROOT / "README.md").read_text(encoding="utf-8")
VENV = ROOT / ".venv"

pytestmark = pytest.mark.skipif(
    not (VENV / "bin" / "activate").is_file() or not (VENV / "bin" / "probe").is_file(),
    reason="the newcomer path runs after set-up (`make setup`): no .venv/bin/probe here",
)


@dataclass(frozen=True)
class Run:
    """Run as written; ``code`` is the exit code the README promises."""

    code: int = 0


@dataclass(frozen=True)
class Parse:
    """Parsed only (checked against the CLI's parser when it is a `probe` command)."""

    why: str


PLAN: dict[str, Run | Parse] = {
    # Quick start
    "make run": Parse("the set-up this test runs after; its command is `probe run --scenario cookies`, run below"),
    "make test": Parse("the command that runs this test"),
    ". .venv/bin/activate": Run(),
    ".venv/bin/probe list": Run(),
    # Commands
    "probe --version": Run(),
    "probe help": Run(),
    "probe": Run(2),
    # probe run
    "probe run --scenario cookies": Run(),
    "probe run --scenario ./my_case.yaml --json": Run(),
    "probe run --scenario ok --out artifacts/": Run(),
    "probe run --all --junit report.xml": Parse("every scenario: too long for a test"),
    "probe run --all --workers 2 --json": Parse("every scenario: too long for a test"),
    "probe -v run --scenario wrong_password": Run(),
    "probe run --scenario 'otp_*' --scenario ok": Run(),
    "probe run -k 'otp and not sms'": Parse("selects most of the 2-step scenarios: too long for a test"),
    # probe diagnose: run against `probe mock` in test_diagnose_against_probe_mock
    "export PROBE_EMAIL=seller@example.jp": Parse("run with the email `probe mock` prints"),
    "read -rs PROBE_PASSWORD && export PROBE_PASSWORD": Parse("run with the password `probe mock` prints"),
    "read -rs PROBE_TOTP_SECRET && export PROBE_TOTP_SECRET": Parse("run with the seed `probe mock` prints"),
    "probe diagnose --url https://sellercentral.amazon.co.jp/ --out evidence/": Parse("the real site"),
    "probe diagnose --url http://sellercentral.amazon.co.jp.localhost:8000/ --json": Parse("run against probe mock"),
    "probe diagnose --url https://sellercentral.amazon.co.jp/ --device iphone": Parse("the real site"),
    # probe access: the mock line runs in test_diagnose_against_probe_mock
    "probe access --url https://sellercentral.amazon.co.jp/": Parse("the real site"),
    "probe access --url https://sellercentral.amazon.co.jp/ --tool inventory --tool orders": Parse("the real site"),
    "probe access --url http://sellercentral.amazon.co.jp.localhost:8000/ --json": Parse("run against probe mock"),
    # probe classify: files this test writes into ~/Downloads
    "probe classify ~/Downloads/セラーセントラル.html": Run(1),  # a refused password
    "probe classify ~/Downloads/sellercentral.mhtml": Run(),  # the home page
    "probe classify ~/Downloads/sellercentral.amazon.co.jp.har --json": Run(),  # the HAR of the `ok` run
    # probe reproduce and probe search: the README's case.yaml, written by test_support_commands
    "probe reproduce case.yaml --no-run": Run(),
    "probe reproduce case.yaml --html case.html": Run(),
    "probe reproduce case.yaml --json --out evidence/": Run(),
    "probe search コードが届かない": Run(),
    'probe search "logged in on my phone but not on the PC" --json': Run(),
    # The pytest plugin, in another project
    "pip install probe pytest-playwright": Parse("installs into another project, from the network"),
    "pytest examples/test_seller_central.py": Parse("run with pytester in tests/test_pytest_plugin.py"),
    # probe fleet, --connect, --shard and probe serve: real accounts and a browser grid; the mock runs are in
    # tests/test_fleet.py, test_connect.py, test_shard.py and test_exporter.py
    "probe fleet accounts.yaml": Parse("an agency's real accounts"),
    "probe fleet accounts.yaml --json-lines": Parse("an agency's real accounts"),
    "probe fleet accounts.yaml --junit fleet.xml": Parse("an agency's real accounts"),
    "probe fleet accounts.yaml --workers 8 --per-marketplace 3": Parse("an agency's real accounts"),
    "probe fleet accounts.yaml --device iphone": Parse("an agency's real accounts"),
    "probe fleet accounts.yaml --out fleet-evidence": Parse("an agency's real accounts"),
    "python -m playwright run-server --port 3000 --host 0.0.0.0": Parse("on the browser machine"),
    "probe fleet accounts.yaml --connect ws://browsers.internal:3000/": Parse("a browser grid"),
    "probe run --all --connect ws://browsers.internal:3000/": Parse("a browser grid"),
    "probe diagnose --url https://sellercentral.amazon.co.jp/ --connect ws://browsers.internal:3000/": Parse(
        "the real site on a browser grid"
    ),
    "probe run --all --shard 1/4 --junit shard-1.xml": Parse("a quarter of every scenario: too long for a test"),
    "probe fleet accounts.yaml --shard 2/3": Parse("an agency's real accounts"),
    "probe serve --fleet accounts.yaml": Parse("a long-running exporter for real accounts"),
    "probe serve --fleet accounts.yaml --port 9160 --bind 0.0.0.0 --workers 4 --per-marketplace 2": Parse(
        "a long-running exporter for real accounts"
    ),
    "probe serve --fleet accounts.yaml --connect ws://browsers.internal:3000/": Parse("a browser grid"),
    "curl 'http://127.0.0.1:9160/probe?target=sakura-zakka'": Parse("needs `probe serve` with real accounts"),
    "curl http://127.0.0.1:9160/metrics": Parse("needs `probe serve` with real accounts"),
    # probe reset: on Chromium profiles this test creates
    "probe reset --profile ~/.config/chromium-seller": Run(),
    "probe reset --profile ./profile --origin staging.example.com": Run(),
    "probe reset --profile ./profile --all-sites": Run(),
    # probe list
    "probe list": Run(),
    "probe list -k otp --json": Run(),
    # probe mock: started and stopped in test_mock_starts_and_stops
    "probe mock --port 8000": Parse("started in the background, then stopped"),
    "probe mock --scenario wrong_password": Parse("started in the background, then stopped"),
    'curl -X PUT -H "Authorization: Bearer $TOKEN" --data @state.json '
    "http://sellercentral.amazon.co.jp.localhost:8000/__mock__/state": Parse("needs a state file of the user's"),
}


def readme_commands() -> list[str]:
    """Every command line of the README's ``sh`` blocks, comments dropped, continuations joined."""
    commands: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```$", README, re.MULTILINE | re.DOTALL):
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(strip_comment(line))
    return commands


def strip_comment(line: str) -> str:
    """The line without its trailing ``# ...`` comment (outside quotes), spaces normalised."""
    end = len(line)
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            end = i
            break
    return " ".join(line[:end].split())


def test_every_readme_command_has_a_plan() -> None:
    commands = readme_commands()
    assert set(commands) == set(PLAN), (
        f"README commands without a plan: {sorted(set(commands) - set(PLAN))}; "
        f"plans without a README command: {sorted(set(PLAN) - set(commands))}"
    )


@pytest.mark.parametrize("command", [c for c, p in PLAN.items() if isinstance(p, Parse) and c.startswith("probe ")])
def test_the_probe_commands_not_run_parse(command: str) -> None:
    build_parser().parse_args(shlex.split(command, comments=True)[1:])


# -- the scratch folder a newcomer works in


def free_port(preferred: int) -> int:
    """``preferred`` when nobody holds it on either loopback family, else a free one."""
    for port in (preferred, 0):
        try:
            with socket.socket(socket.AF_INET) as v4, socket.socket(socket.AF_INET6) as v6:
                v4.bind(("127.0.0.1", port))
                v6.bind(("::1", v4.getsockname()[1]))
                return int(v4.getsockname()[1])
        except OSError:
            continue
    raise AssertionError("no free port on both loopback families")


def chromium_profile(folder: Path) -> None:
    """A real Chromium user data folder, as a browser that ran once leaves it."""

    async def go() -> None:
        async with BrowserSession() as session, session.persistent_context(folder):
            pass

    run_async(go())


def saved_from(html: str, url: str) -> str:
    return f"<!-- saved from url=({len(url):04d}){url} -->\n{html}"


def mhtml(html: str, url: str) -> bytes:
    message = email.mime.multipart.MIMEMultipart("related", type="text/html")
    message["Snapshot-Content-Location"] = url
    part = email.mime.text.MIMEText(html, "html", "utf-8")
    part["Content-Location"] = url
    message.attach(part)
    return message.as_bytes()


@dataclass
class Workdir:
    path: Path
    env: dict[str, str]

    def bash(
        self, script: str, *, stdin: str = "", timeout: float = 120, activate: bool = True
    ) -> subprocess.CompletedProcess[str]:
        prelude = ". .venv/bin/activate\n" if activate else ""
        return subprocess.run(
            ["bash", "-e", "-c", prelude + script],
            cwd=self.path,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Workdir:
    path = tmp_path_factory.mktemp("newcomer")
    (path / ".venv").symlink_to(VENV, target_is_directory=True)
    home = path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROBE_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), NO_COLOR="1", XDG_STATE_HOME=str(path / "state"))
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(VENV)))
    if "PROBE_CHROMIUM" in os.environ:  # the browser the set-up chose
        env["PROBE_CHROMIUM"] = os.environ["PROBE_CHROMIUM"]
    shutil.copy(ROOT / "scenarios" / "ok.yaml", path / "my_case.yaml")
    return Workdir(path, env)


def runnable(section: tuple[str, ...]) -> list[str]:
    return [c for c in PLAN if isinstance(PLAN[c], Run) and c.startswith(section)]


def check(workdir: Workdir, command: str) -> subprocess.CompletedProcess[str]:
    plan = PLAN[command]
    assert isinstance(plan, Run)
    done = workdir.bash(command)
    assert done.returncode == plan.code, f"{command}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_without_activation_probe_is_not_on_path(workdir: Workdir) -> None:
    """What the README's activation line is for: without it there is no `probe`."""
    assert workdir.bash("command -v probe", activate=False).returncode != 0
    check(workdir, ".venv/bin/probe list")
    assert workdir.bash(". .venv/bin/activate\ncommand -v probe", activate=False).returncode == 0


@pytest.mark.parametrize(
    "command", ["probe --version", "probe help", "probe", "probe list", "probe list -k otp --json"]
)
def test_general_commands(workdir: Workdir, command: str) -> None:
    done = check(workdir, command)
    if command.endswith("--json"):
        assert json.loads(done.stdout)["scenarios"]


def test_help_of_every_command(workdir: Workdir) -> None:
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    names = sorted(getattr(sub, "choices", {}))
    script = "\n".join(f'probe {name} --help > /dev/null || echo "{name} $?"' for name in names)
    done = workdir.bash(script + "\nprobe --help > /dev/null")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "", f"--help failed: {done.stdout}"


@pytest.fixture(scope="module")
def ran(workdir: Workdir) -> dict[str, subprocess.CompletedProcess[str]]:
    return {command: check(workdir, command) for command in runnable(("probe run", "probe -v run"))}


def test_run_commands(workdir: Workdir, ran: dict[str, subprocess.CompletedProcess[str]]) -> None:
    assert "verdict   stale_browser_data" in ran["probe run --scenario cookies"].stdout
    assert json.loads(ran["probe run --scenario ./my_case.yaml --json"].stdout)["verdict"] == "ok"
    assert {"result.json", "network.har", "trace.zip", "log.jsonl"} <= {
        p.name for p in (workdir.path / "artifacts" / "ok").iterdir()
    }
    assert "phase" in ran["probe -v run --scenario wrong_password"].stderr
    assert "ok" in ran["probe run --scenario 'otp_*' --scenario ok"].stdout


def test_classify_commands(workdir: Workdir, ran: dict[str, subprocess.CompletedProcess[str]]) -> None:
    downloads = Path(workdir.env["HOME"]) / "Downloads"
    downloads.mkdir(exist_ok=True)
    page = (PAGES / "jp_password_incorrect.html").read_text(encoding="utf-8")
    signin = "https://sellercentral.amazon.co.jp/ap/signin"
    (downloads / "セラーセントラル.html").write_text(saved_from(page, signin), encoding="utf-8")
    home = "https://sellercentral.amazon.co.jp/home"
    (downloads / "sellercentral.mhtml").write_bytes(mhtml((PAGES / "jp_home.html").read_text("utf-8"), home))
    shutil.copy(workdir.path / "artifacts" / "ok" / "network.har", downloads / "sellercentral.amazon.co.jp.har")
    for command in runnable(("probe classify",)):
        done = check(workdir, command)
        if command.endswith("--json"):
            assert json.loads(done.stdout)["verdict"] == "ok"


def test_support_commands(workdir: Workdir) -> None:
    """The support walk-through: the README's own case.yaml, then each command as written."""
    section = README[README.index("### `probe reproduce`") :]
    case = re.search(r"^```yaml\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert case is not None, "the support walk-through has no case.yaml"
    (workdir.path / "case.yaml").write_text(case.group(1), encoding="utf-8")
    done = {command: check(workdir, command) for command in runnable(("probe reproduce", "probe search"))}
    assert "── reply (ja) ──" in done["probe reproduce case.yaml --no-run"].stdout
    data = json.loads(done["probe reproduce case.yaml --json --out evidence/"].stdout)
    assert data["candidates"][0]["reproduced"] is True
    assert (workdir.path / "evidence").is_dir()
    assert "data:image/png;base64," in (workdir.path / "case.html").read_text(encoding="utf-8")
    assert "otp_not_received" in done["probe search コードが届かない"].stdout.splitlines()[0]
    hits = json.loads(done['probe search "logged in on my phone but not on the PC" --json'].stdout)["scenarios"]
    assert hits[0]["name"] == "device_desktop_broken"


def test_reset_commands(workdir: Workdir) -> None:
    chromium_profile(Path(workdir.env["HOME"]) / ".config" / "chromium-seller")
    chromium_profile(workdir.path / "profile")
    for command in runnable(("probe reset",)):
        out = check(workdir, command).stdout
        assert "cleared" in out or "every site" in out, out


@pytest.fixture(scope="module")
def port() -> int:
    return free_port(8000)


def mock_command(command: str, port: int) -> str:
    """The README's command; on another port only when something else holds 8000 here."""
    return command.replace("8000", str(port)) if port != 8000 else command


@pytest.fixture
def mock(workdir: Workdir, port: int) -> Iterator[str]:
    """`probe mock --port 8000` running, as the README starts it; yields what it printed."""
    command = mock_command("probe mock --port 8000", port)
    process = subprocess.Popen(
        [str(VENV / "bin" / "probe"), *shlex.split(command)[1:]],
        cwd=workdir.path,
        env=workdir.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        assert process.poll() is None, "".join(lines) + (process.stderr.read() if process.stderr else "")
        yield "".join(lines)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
    assert process.returncode in (0, 130)


def test_diagnose_against_probe_mock(workdir: Workdir, port: int, mock: str) -> None:
    """The README's diagnose lines, with the account `probe mock` prints."""
    account = re.search(r"^\s+(\S+@\S+)\s+password (\S+)\s+2-step totp, TOTP seed (\S+)", mock, re.MULTILINE)
    assert account, mock
    email, password, seed = account.groups()
    lines = [
        "export PROBE_EMAIL=seller@example.jp".replace("seller@example.jp", email),
        "read -rs PROBE_PASSWORD && export PROBE_PASSWORD",
        "read -rs PROBE_TOTP_SECRET && export PROBE_TOTP_SECRET",
        mock_command("probe diagnose --url http://sellercentral.amazon.co.jp.localhost:8000/ --json", port),
    ]
    done = workdir.bash("\n".join(lines), stdin=f"{password}\n{seed}\n")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert json.loads(done.stdout)["verdict"] == "ok"
    # The primary user may open every tool: `probe access` says so, with the same credentials.
    lines[-1] = mock_command("probe access --url http://sellercentral.amazon.co.jp.localhost:8000/ --json", port)
    done = workdir.bash("\n".join(lines), stdin=f"{password}\n{seed}\n")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    tools = json.loads(done.stdout)["tools"]
    assert tools
    assert all(t["allowed"] for t in tools)


def test_mock_with_another_scenario_starts_and_stops(workdir: Workdir, port: int) -> None:
    command = "probe mock --scenario wrong_password"
    if port != 8000:
        command += f" --port {port}"
    process = subprocess.Popen(
        ["bash", "-c", f". .venv/bin/activate\nexec {command}"],
        cwd=workdir.path,
        env=workdir.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    printed = ""
    for line in process.stdout:
        printed += line
        if "Ctrl-C" in line:
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert "accounts from scenario wrong_password" in printed, printed + err
    assert process.returncode in (0, 130), err


def test_diagnose_without_the_seed_says_so(workdir: Workdir, port: int, mock: str) -> None:
    """An authenticator-app account and no PROBE_TOTP_SECRET: the detail says what is missing, not 'no SMS'."""
    account = re.search(r"^\s+(\S+@\S+)\s+password (\S+)\s+2-step totp", mock, re.MULTILINE)
    assert account, mock
    email, password = account.groups()
    lines = [
        f"export PROBE_EMAIL={email}",
        "read -rs PROBE_PASSWORD && export PROBE_PASSWORD",
        mock_command("probe diagnose --url http://sellercentral.amazon.co.jp.localhost:8000/ --json", port),
    ]
    done = workdir.bash("\n".join(lines), stdin=f"{password}\n")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr
    result = json.loads(done.stdout)
    assert (result["verdict"], result["rule"]) == ("otp_rejected", "otp_no_seed")
    assert "PROBE_TOTP_SECRET" in result["detail"]
    assert "authenticator seed" in result["detail"]
    assert "text message" not in result["detail"]
