"""Secrets belong to one run: concurrent runs in one process never share their registries."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import probe.harness
from probe.browser import BrowserSession
from probe.harness import play
from probe.redact import MASK, SECRETS, Redactor, current, own_secrets, run_secrets
from probe.report import Result, to_json
from probe.runner import RunOptions
from probe.scenarios import Scenario, load_scenario

from .conftest import run_async


def test_concurrent_tasks_keep_their_own_secrets() -> None:
    seen: dict[str, tuple[bool, bool]] = {}

    async def one(mine: str, theirs: str) -> None:
        with run_secrets():
            SECRETS.add(mine)
            await asyncio.sleep(0.05)  # the other run registers its secret meanwhile
            inner = asyncio.create_task(asyncio.sleep(0, result=SECRETS.redact(f"{mine} {theirs}")))
            seen[mine] = (SECRETS.found_in(mine), SECRETS.found_in(theirs))
            assert await inner == f"{MASK} {theirs}"  # a task started in the run inherits its registry

    async def both() -> None:
        await asyncio.gather(one("alpha-secret-1", "bravo-secret-2"), one("bravo-secret-2", "alpha-secret-1"))

    run_async(both())
    assert seen == {"alpha-secret-1": (True, False), "bravo-secret-2": (True, False)}
    assert not SECRETS.found_in("alpha-secret-1")
    assert not SECRETS.found_in("bravo-secret-2")


def test_a_run_masks_what_was_known_before_it_and_keeps_what_it_learns() -> None:
    with run_secrets() as outer:
        SECRETS.add("read-before-the-run")
        with run_secrets() as inner:
            SECRETS.add("learnt-in-the-run")
            assert SECRETS.redact("read-before-the-run learnt-in-the-run") == f"{MASK} {MASK}"
            assert current() is inner
        assert "learnt-in-the-run" not in outer
        assert current() is outer


def test_a_result_leaves_its_run_redacted() -> None:
    @dataclass
    class Finding:
        detail: str
        evidence: list[str] = field(default_factory=list)
        attempts: int = 1

    @own_secrets
    async def run() -> Finding:
        SECRETS.add("hunter-2-password")
        return Finding("typed hunter-2-password", ["url?p=hunter-2-password"])

    assert run_async(run()) == Finding(f"typed {MASK}", [f"url?p={MASK}"])


def secrets_token() -> str:
    return uuid.uuid4().hex[:12]


def with_password(scenario: Scenario, password: str) -> Scenario:
    """The scenario with a password no other test uses, so nothing registered it before this run."""
    account = scenario.site.accounts[0].model_copy(update={"password": password})
    return scenario.model_copy(
        update={
            "site": scenario.site.model_copy(update={"accounts": [account]}),
            "credentials": scenario.credentials.model_copy(update={"password": password}),
        }
    )


@pytest.mark.parametrize("names", [("ok", "ok_secondary_user")])
def test_two_concurrent_plays_share_no_secrets(
    names: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenarios = [with_password(load_scenario(n), f"Run-{secrets_token()}!") for n in names]
    # The passwords are this test's alone; the TOTP seeds are shared with other tests (and runs).
    passwords = {s.name: s.credentials.password for s in scenarios}
    secrets = {s.name: [v for v in (s.credentials.password, s.credentials.totp_secret) if v] for s in scenarios}
    registries: list[Redactor] = []
    register = probe.harness._register_cookie_values

    async def spy(*args: object) -> None:
        await register(*args)  # type: ignore[arg-type]
        registries.append(current())

    monkeypatch.setattr(probe.harness, "_register_cookie_values", spy)

    async def both() -> list[Result]:
        async with BrowserSession() as session:
            options = RunOptions(out=tmp_path)
            return list(await asyncio.gather(*(play(s, session, options) for s in scenarios)))

    results = run_async(both())
    assert [r.verdict for r in results] == ["ok", "ok"]
    assert len(registries) == 2
    assert registries[0] is not registries[1]
    for registry in registries:
        known = [name for name in names if passwords[name] in registry]
        assert len(known) == 1, "each run knows its own password, and not the other run's"
    for result in results:
        own = Redactor()
        own.add(*secrets[result.scenario])
        assert result.artifacts is not None
        assert own.leaks([Path(result.artifacts)]) == []
        assert not own.found_in(to_json(result))
        assert any(Path(result.artifacts).iterdir())
