"""Every control the driver uses is exactly one element on every mock page it reaches.

The mock reproduces the real pages' structure, duplicate ids included; a lookup
that matches two elements there (a bare ``#continue``) would fail on the real
site too. The driver is walked through bundled scenarios that between them
reach each page kind, and every page it reads is checked the way it looks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from fixtures.mock_site import MockServer
from probe.browser import BrowserSession
from probe.classify import page_kind
from probe.flow import DriverOptions, LoginDriver, count_controls
from probe.harness import MAIL_HOST, credentials_for
from probe.profile import load_profile
from probe.scenarios import load_scenario
from probe.signals import PageSignals

from .conftest import run_async
from .test_page_reader import disagreements


@dataclass(frozen=True)
class Visit:
    scenario: str
    kind: str
    url: str
    counts: dict[str, tuple[int, bool]]
    wrong: tuple[str, ...] = ()  # the page's own counts that are not Playwright's


# (scenario, how the seller differs from the scenario's own credentials)
WALKS = [
    ("ok", ""),
    ("ok", "remember_device"),
    ("ok_unified", ""),
    ("ok_sms", ""),
    ("ok_secondary_user", ""),
    ("otp_not_received", "prefer_app"),
    ("otp_too_many_codes", "prefer_app"),
    ("mobile_number_prompt", ""),
    ("verification_code_mail", ""),
    ("verification_code_unreadable", ""),
    ("unknown_email_unified", ""),
    ("wrong_domain_unified", ""),
]
# Every page kind the driver acts on, plus the ones where it stops on purpose.
EXPECTED_KINDS = {
    "email",
    "claim",
    "password",
    "mfa",
    "otp_method",
    "otp_method_refused",
    "verification_code",
    "add_mobile",
    "intent",
    "picker",
    "home",
}


class CountingDriver(LoginDriver):
    """The driver, noting on every page it reads how many elements each of its controls matches."""

    visits: list[tuple[str, str, dict[str, tuple[int, bool]], tuple[str, ...]]]

    async def _read(self) -> PageSignals:
        signals = await super()._read()
        kind = page_kind(signals, self.profile)
        if kind is not None:
            counts = await count_controls(self.page, self.profile, kind.action)
            hints = [self._hints.get(query, -1) for query in self._queries]
            wrong = await disagreements(self.page, self.profile, hints)
            self.visits.append((kind.kind, signals.url, counts, tuple(wrong)))
        return signals


async def _walk_all() -> list[Visit]:
    profile = load_profile()
    options = DriverOptions(navigation_timeout_ms=8_000, action_timeout_ms=3_000, challenge_wait_ms=2_000)
    visits: list[Visit] = []
    with MockServer(load_scenario("ok").site) as mock:
        async with BrowserSession() as session:
            for name, variant in WALKS:
                scenario = load_scenario(name)
                mock.configure(scenario.site)
                credentials, _ = credentials_for(scenario, mock.origin(MAIL_HOST), profile)
                if variant == "prefer_app":
                    credentials = credentials.preferring_app()
                elif variant == "remember_device":
                    credentials = replace(credentials, remember_device=True)
                async with session.context() as context:
                    page = await context.new_page()
                    driver = CountingDriver(page, profile, credentials, options)
                    driver.visits = []
                    await driver.run(mock.origin(scenario.start) + scenario.start_path)
                visits += [Visit(f"{name}/{variant or 'as is'}", *v) for v in driver.visits]
    return visits


@pytest.fixture(scope="module")
def visits() -> list[Visit]:
    return run_async(_walk_all())


def test_the_walks_reach_every_page_kind(visits: list[Visit]) -> None:
    assert {v.kind for v in visits} >= EXPECTED_KINDS, sorted({v.kind for v in visits})


def test_no_control_matches_more_than_one_element_on_any_mock_page(visits: list[Visit]) -> None:
    wrong = [
        f"{v.scenario}: {v.kind} at {v.url}: {control} matches {count}"
        for v in visits
        for control, (count, required) in v.counts.items()
        if (count != 1 if required else count > 1)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_pages_own_counts_are_playwrights_on_every_mock_page(visits: list[Visit]) -> None:
    """The driver uses a control the page counted once at once: that count must be Playwright's."""
    wrong = [f"{v.scenario}: {v.kind} at {v.url}: {w}" for v in visits for w in v.wrong]
    assert not wrong, "\n".join(wrong)
