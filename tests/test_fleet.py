"""``probe fleet``: an agency's accounts, their secrets' places, concurrent checks against one mock of many accounts."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from keyring.backend import KeyringBackend

from fixtures.mock_site import MockServer, SiteConfig
from probe.errors import UsageError
from probe.fleet import (
    Fleet,
    FleetFileError,
    FleetResult,
    GeneratedFleet,
    SecretError,
    SecretRef,
    generate_fleet,
    load_fleet,
    parse_fleet,
    render_table,
)
from probe.report import Result

from .conftest import run_cli

GOOD = {"name": "sakura", "marketplace": "jp", "email": "sakura@example.jp", "password": {"env": "SAKURA_PW"}}


def write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# -- the file


def test_a_good_file(tmp_path: Path) -> None:
    fleet = load_fleet(
        write(
            tmp_path / "fleet.yaml",
            {
                "accounts": [
                    GOOD,
                    {
                        "name": "kyoto",
                        "marketplace": "US",
                        "email": "kyoto@example.jp",
                        "password": {"keyring": {"service": "sc", "username": "kyoto"}},
                        "totp_secret": {"file": "kyoto.totp"},
                        "url": "http://sellercentral.amazon.com.localhost:8000/",
                    },
                ]
            },
        )
    )
    sakura, kyoto = fleet.accounts
    assert sakura.url == "https://sellercentral.amazon.co.jp/"  # the marketplace's Seller Central by default
    assert sakura.password == SecretRef("env", env="SAKURA_PW")
    assert kyoto.marketplace == "us"
    assert kyoto.totp_secret == SecretRef("file", path=tmp_path / "kyoto.totp")  # relative to the fleet file
    assert kyoto.url == "http://sellercentral.amazon.com.localhost:8000/"


@pytest.mark.parametrize(
    ("account", "says"),
    [
        ({**GOOD, "password": "Sakura-2024!"}, "account 'sakura': `password` is written in the file"),
        ({**GOOD, "totp_secret": "LT2AVT453DHX3TOM25FZWVVJ2XA23RYQ"}, "`totp_secret` is written in the file"),
        ({**GOOD, "password": 12345678}, "`password` is written in the file"),
        ({**GOOD, "password": {"vault": "x"}}, "must be one of {env: VAR}"),
        ({**GOOD, "password": {"env": "not a name"}}, "must name an environment variable"),
        ({**GOOD, "password": {"keyring": {"service": "s"}}}, "{service: S, username: U}"),
        ({**GOOD, "marketplace": "mars"}, "unknown marketplace 'mars'"),
        ({**GOOD, "email": "nobody"}, "`email` must be an email address"),
        ({**GOOD, "url": "ftp://x/"}, "`url` must be an http(s) URL"),
        ({**GOOD, "pasword": {"env": "X"}}, "unknown key 'pasword' (did you mean password?)"),
        ({k: v for k, v in GOOD.items() if k != "email"}, "`email` is missing"),
        ({**GOOD, "name": ""}, "`name` must be a non-empty line"),
    ],
)
def test_a_bad_account_is_named(tmp_path: Path, account: dict[str, Any], says: str) -> None:
    with pytest.raises(FleetFileError) as caught:
        load_fleet(write(tmp_path / "fleet.yaml", {"accounts": [account]}))
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "Sakura-2024!" not in str(caught.value)
    assert "LT2AVT453DHX3TOM25FZWVVJ2XA23RYQ" not in str(caught.value)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ([], "expected a mapping with `accounts:`"),
        ({"accounts": []}, "a list of one or more accounts"),
        ({"accounts": [GOOD, GOOD]}, "two accounts have this name"),
        ({"accounts": [GOOD], "extra": 1}, "unknown key 'extra'"),
    ],
)
def test_a_bad_file(data: Any, says: str) -> None:
    with pytest.raises(FleetFileError, match=says.replace("(", r"\(")):
        parse_fleet(data, Path("fleet.yaml"))


def test_a_literal_secret_is_exit_2_naming_the_account(tmp_path: Path) -> None:
    path = write(tmp_path / "fleet.yaml", {"accounts": [{**GOOD, "name": "kyoto-tea", "password": "Matcha-1192"}]})
    done = run_cli("fleet", str(path), timeout=60)
    assert done.returncode == 2
    assert "kyoto-tea" in done.stderr
    assert done.stderr.count("\n") == 1
    assert "Matcha-1192" not in done.stdout + done.stderr


def test_a_missing_file_and_a_missing_variable_are_exit_2(tmp_path: Path) -> None:
    assert run_cli("fleet", str(tmp_path / "nope.yaml"), timeout=60).returncode == 2
    path = write(tmp_path / "fleet.yaml", {"accounts": [GOOD]})
    done = run_cli("fleet", str(path), env={"SAKURA_PW": ""}, timeout=60)
    assert done.returncode == 2
    assert "account 'sakura': password ($SAKURA_PW): the environment variable SAKURA_PW is not set" in done.stderr


# -- where secrets come from


def test_a_secret_file_must_be_private(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("Sakura-2024!\n", encoding="utf-8")
    ref = SecretRef("file", path=secret)
    secret.chmod(0o644)
    with pytest.raises(SecretError, match=r"can be read by others \(mode 0644\): run chmod 600"):
        ref.read({})
    secret.chmod(0o600)
    assert ref.read({}) == "Sakura-2024!"  # the one trailing newline is not part of it
    secret.write_text("", encoding="utf-8")
    with pytest.raises(SecretError, match="is empty"):
        ref.read({})
    with pytest.raises(SecretError, match="cannot read"):
        SecretRef("file", path=tmp_path / "missing").read({})


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.values.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    import keyring

    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


def test_a_secret_from_the_keyring(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("sellercentral", "kyoto", "Uji-Matcha-1192")
    assert SecretRef("keyring", service="sellercentral", username="kyoto").read({}) == "Uji-Matcha-1192"
    with pytest.raises(SecretError, match="the keyring has no secret for service 'sellercentral', user 'osaka'"):
        SecretRef("keyring", service="sellercentral", username="osaka").read({})


def test_every_secret_is_checked_before_a_browser_starts(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("sc", "kyoto", "Uji-Matcha-1192")
    totp = tmp_path / "kyoto.totp"
    totp.write_text("not base32 at all!\n", encoding="utf-8")
    totp.chmod(0o600)
    fleet = parse_fleet(
        {
            "accounts": [
                GOOD,
                {
                    **GOOD,
                    "name": "kyoto",
                    "password": {"keyring": {"service": "sc", "username": "kyoto"}},
                    "totp_secret": {"file": str(totp)},
                },
            ]
        }
    )
    with pytest.raises(UsageError, match=r"account 'kyoto': totp_secret .* is not a base32 TOTP secret"):
        fleet.check_secrets({"SAKURA_PW": "Sakura-2024!"})
    totp.write_text("LT2AVT453DHX3TOM25FZWVVJ2XA23RYQ\n", encoding="utf-8")
    fleet.check_secrets({"SAKURA_PW": "Sakura-2024!"})
    credentials = fleet.accounts[1].credentials({})
    assert credentials.password == "Uji-Matcha-1192"
    assert credentials.totp is not None


# -- the generated fleet


def test_the_generator_mixes_faults_and_keeps_secrets_out_of_the_file(tmp_path: Path) -> None:
    generated = generate_fleet(300)
    site = SiteConfig.model_validate(generated.site)  # the mock takes it as it is
    assert len(site.accounts) == 300
    assert len(set(generated.expected.values())) >= 8
    path = generated.write(tmp_path / "fleet.yaml", "http://sellercentral.amazon.co.jp.localhost:1/")
    text = path.read_text(encoding="utf-8")
    for value in generated.env.values():
        assert value not in text
    fleet = load_fleet(path)
    assert len(fleet.accounts) == 300
    fleet.check_secrets(generated.env)
    # Reproducible: the same seed makes the same fleet.
    assert generate_fleet(300).env == generated.env


def test_the_table(tmp_path: Path) -> None:
    fleet = parse_fleet({"accounts": [GOOD, {**GOOD, "name": "kyoto"}, {**GOOD, "name": "osaka"}]})
    ok = Result("x", "", "ok", "Reached home.", "ok", True, None, False, duration_s=2.5)
    bad = Result("x", "", "account_suspended", "Suspended.", "ok", False, "appeal_suspension", False, duration_s=3)
    results = [
        FleetResult(fleet.accounts[0], ok),
        FleetResult(fleet.accounts[1], bad),
        FleetResult(fleet.accounts[2], error="the browser or its driver failed: gone"),
    ]
    table = render_table(results, wall_s=4.0)
    lines = table.splitlines()
    assert lines[0].split() == ["ACCOUNT", "MARKET", "VERDICT", "REMEDY", "TIME", "DETAIL"]
    assert lines[1].split()[:3] == ["sakura", "jp", "ok"]
    assert "account_suspended" in lines[2]
    assert "appeal_suspension" in lines[2]
    assert "Suspended." in lines[2]
    assert lines[3].split()[:3] == ["osaka", "jp", "error"]
    assert lines[-1] == "3 accounts in 4.0 s: 1 signed in, 1 cannot sign in, 1 not checked (the probe's own failure)"


# -- twenty accounts, one mock, the CLI end to end


@pytest.fixture(scope="module")
def twenty() -> Iterator[tuple[GeneratedFleet, MockServer]]:
    generated = generate_fleet(20)
    with MockServer(SiteConfig.model_validate(generated.site)) as server:
        yield generated, server


def test_twenty_accounts_of_mixed_verdicts(twenty: tuple[GeneratedFleet, MockServer], tmp_path: Path) -> None:
    generated, server = twenty
    path = generated.write(tmp_path / "fleet.yaml", server.url())
    junit = tmp_path / "fleet.xml"
    done = run_cli(
        "fleet", str(path), "--json-lines", "--junit", str(junit), "--workers", "4", env=generated.env, timeout=600
    )
    assert done.returncode == 1, done.stderr  # some accounts cannot sign in
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    got = {line["account"]: line["verdict"] for line in lines}
    assert got == generated.expected
    assert {line["account"] for line in lines if line["ok"]} == {n for n, v in generated.expected.items() if v == "ok"}
    for line in lines:
        assert line["error"] is None
        assert line["marketplace"] == "jp"
        assert line["phases"], line
    # JUnit: one test case per account, the failures are the accounts that cannot sign in.
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "20"
    failed = {case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None}
    assert failed == {n for n, v in generated.expected.items() if v != "ok"}
    # No password, no TOTP seed in anything the fleet printed or wrote.
    written = done.stdout + done.stderr + junit.read_text(encoding="utf-8")
    for value in generated.env.values():
        assert value not in written


def test_a_shard_holding_no_account_checks_nothing(tmp_path: Path) -> None:
    from probe.fleet import shard_of

    path = write(tmp_path / "fleet.yaml", {"accounts": [GOOD]})
    empty = 2 if shard_of("sakura", 2) == 1 else 1
    done = run_cli("fleet", str(path), "--shard", f"{empty}/2", env={"SAKURA_PW": "x"}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"shard {empty}/2 holds none of the accounts" in done.stderr
    assert "0 accounts" in done.stdout


def test_fleet_only(tmp_path: Path) -> None:
    fleet = parse_fleet({"accounts": [GOOD, {**GOOD, "name": "kyoto"}]})
    assert isinstance(fleet.only(["kyoto"]), Fleet)
    assert fleet.only(["kyoto"]).names() == ["kyoto"]
    assert os.sep not in fleet.names()[0]


# -- a usage error raised while a run plays: exit 2, as everywhere else
