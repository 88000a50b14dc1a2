"""`probe diagnose` against the mock served by `probe mock` in another process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .conftest import EMAIL, PASSWORD, ROOT, TOTP_SECRET, run_cli


@dataclass(frozen=True)
class ServedMock:
    jp_url: str
    admin_url: str
    token: str

    def put_state(self, state: dict[str, object]) -> None:
        # Python's resolver does not know *.localhost (Chromium does): connect to
        # loopback and name the host in the Host header.
        parts = urlsplit(self.admin_url)
        request = urllib.request.Request(
            parts._replace(netloc=f"127.0.0.1:{parts.port}").geturl(),
            data=json.dumps(state).encode(),
            method="PUT",
            headers={
                "Host": parts.netloc,
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


@pytest.fixture(scope="module")
def served_mock() -> Iterator[ServedMock]:
    with subprocess.Popen(
        [sys.executable, "-m", "probe", "mock", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            text = "".join(process.stdout.readline() for _ in range(4))
            jp = re.search(r"Japan:\s+(\S+)", text)
            admin = re.search(r"admin:\s+PUT (\S+)\s+\(Authorization: Bearer (\S+)\)", text)
            assert jp, text
            assert admin, text
            yield ServedMock(jp.group(1), admin.group(1), admin.group(2))
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(autouse=True)
def state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The probe's state folder (the codes it used) in a temporary place, never the user's."""
    home = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


def account(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "email": EMAIL,
        "password": PASSWORD,
        "two_step": "totp",
        "totp_secret": TOTP_SECRET,
        "merchants": [{"name": "さくら雑貨店"}],
    }
    return {"accounts": [{**base, **changes}]}


def diagnose(mock: ServedMock, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    env = {"PROBE_EMAIL": EMAIL, "PROBE_PASSWORD": password, "PROBE_TOTP_SECRET": TOTP_SECRET}
    return run_cli("diagnose", "--url", mock.jp_url, "--json", env=env)


def test_diagnose_signs_in_to_the_served_mock(served_mock: ServedMock) -> None:
    served_mock.put_state(account())
    done = diagnose(served_mock)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "ok"
    assert result["expected"] is None
    assert PASSWORD not in done.stdout + done.stderr


def test_diagnose_names_a_wrong_password_and_exits_1(served_mock: ServedMock) -> None:
    served_mock.put_state(account())
    done = diagnose(served_mock, password="Sakura-Zakka-2024 ")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["verdict"] == "credentials_invalid"
    assert {h["code"] for h in result["hints"]} == {"password_whitespace"}
    assert "Sakura-Zakka-2024 " not in done.stdout


def test_diagnose_sees_a_state_changed_through_the_admin_api(served_mock: ServedMock) -> None:
    served_mock.put_state(account(status="suspended"))
    done = diagnose(served_mock)
    assert done.returncode == 1
    assert json.loads(done.stdout)["verdict"] == "account_suspended"


def test_diagnose_never_takes_credentials_from_argv_and_says_how(served_mock: ServedMock) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROBE_")}
    done = subprocess.run(
        [sys.executable, "-m", "probe", "diagnose", "--url", served_mock.jp_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "PROBE_EMAIL and PROBE_PASSWORD" in done.stderr


def test_diagnose_rejects_a_url_without_a_host() -> None:
    done = run_cli("diagnose", "--url", "sellercentral.amazon.co.jp", env={"PROBE_EMAIL": "a", "PROBE_PASSWORD": "b"})
    assert done.returncode == 2
    assert "--url needs an http(s) URL" in done.stderr


def test_two_diagnose_runs_back_to_back_both_sign_in(served_mock: ServedMock, state_home: Path) -> None:
    """The second run does not type the code the first one used: it takes the next one."""
    served_mock.put_state(account())
    for _ in range(2):
        done = diagnose(served_mock)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert json.loads(done.stdout)["verdict"] == "ok"
    folder = state_home / "probe"
    assert folder.stat().st_mode & 0o777 == 0o700
    kept = (folder / "otp-steps.json").read_text(encoding="utf-8")
    assert EMAIL not in kept
    assert len(json.loads(kept)) == 1
