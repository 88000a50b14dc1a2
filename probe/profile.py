"""Site knowledge as data: load and validate a profile from ``probe/profiles/``."""

from __future__ import annotations

import fnmatch
import re
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .outcomes import Verdict, catalog

SIGNAL_KINDS = ("id", "selector", "meta", "path", "host", "event", "status", "region")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signal(Strict):
    """One observable fact a page kind or a verdict rests on."""

    id: str | None = None
    selector: str | None = None
    meta: str | None = None
    path: str | None = None
    host: Literal["other_marketplace", "home_marketplace", "unknown"] | None = None
    event: str | None = None
    status: str | None = None
    region: str | None = None
    any: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_kind(self) -> Signal:
        kinds = [k for k in SIGNAL_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a signal names exactly one of {SIGNAL_KINDS}, got {kinds}")
        if self.region is not None and not self.any:
            raise ValueError("a region signal needs `any: [patterns]`")
        if self.path is not None:
            re.compile(self.path)
        return self

    @property
    def kind(self) -> str:
        return next(k for k in SIGNAL_KINDS if getattr(self, k) is not None)


Action = Literal[
    "enter_email", "enter_password", "enter_otp", "choose_otp_method", "pick_account", "skip", "done", "stop"
]


class PageKind(Strict):
    """A page of the sign-in the driver recognises, and what it does there."""

    kind: str
    action: Action
    all: tuple[Signal, ...] = Field(min_length=1)


class Rule(Strict):
    name: str
    verdict: Verdict
    detail: str
    all: tuple[Signal, ...] = Field(min_length=1)
    experiments: str | None = None
    investigate: str | None = None


class ExperimentGroup(Strict):
    """Remedies to try in order; ``if_unfixed`` replaces the verdict when none works."""

    remedies: tuple[str, ...] = Field(min_length=1)
    if_unfixed: Verdict | None = None


class Investigation(Strict):
    """A second look that can change a verdict: the seller's mailbox, read like a person would."""

    verdict: Verdict
    detail: str
    subject_any: tuple[str, ...] = Field(min_length=1)


class Mailbox(Strict):
    otp_pattern: str
    investigations: dict[str, Investigation] = Field(default_factory=dict)


class Watch(Strict):
    ids: tuple[str, ...]
    selectors: dict[str, str]
    regions: dict[str, str]
    metas: tuple[str, ...]


class Controls(Strict):
    email: str
    email_submit: str
    password: str
    password_submit: str
    otp: str
    otp_remember: str
    otp_submit: str
    otp_prompt: str
    otp_sms_prompt: tuple[str, ...]
    otp_new_link: str
    otp_method_choice: str
    otp_method_labels: dict[str, tuple[str, ...]]
    otp_method_submit: str
    picker_choice: str
    picker_prefer: tuple[str, ...]
    picker_submit: tuple[str, ...]
    skip: tuple[str, ...]


class Profile(Strict):
    name: str
    title: str
    home_host: str
    start_path: str = "/"
    test_suffixes: tuple[str, ...] = ()
    marketplace_hosts: dict[str, str]
    home_marketplace: str
    session_cookies: tuple[str, ...]
    watch: Watch
    controls: Controls
    pages: tuple[PageKind, ...]
    experiments: dict[str, ExperimentGroup]
    mailbox: Mailbox
    rules: tuple[Rule, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        remedies = catalog().remedies
        for group, experiments in self.experiments.items():
            for name in experiments.remedies:
                if name not in remedies or not remedies[name].automatic:
                    raise ValueError(f"experiments.{group}: {name!r} is not an automatic remedy")
        for rule in self.rules:
            if rule.experiments is not None and rule.experiments not in self.experiments:
                raise ValueError(f"rule {rule.name}: unknown experiments group {rule.experiments!r}")
            if rule.investigate is not None and rule.investigate not in self.mailbox.investigations:
                raise ValueError(f"rule {rule.name}: unknown investigation {rule.investigate!r}")
            for signal in rule.all:
                self._check_signal(signal, f"rule {rule.name}")
        for page in self.pages:
            for signal in page.all:
                self._check_signal(signal, f"page {page.kind}")
        return self

    def _check_signal(self, signal: Signal, where: str) -> None:
        if signal.id is not None and signal.id not in self.watch.ids:
            raise ValueError(f"{where}: id {signal.id!r} is not in watch.ids")
        if signal.selector is not None and signal.selector not in self.watch.selectors:
            raise ValueError(f"{where}: selector {signal.selector!r} is not in watch.selectors")
        if signal.region is not None and signal.region not in {*self.watch.regions, "title", "body"}:
            raise ValueError(f"{where}: region {signal.region!r} is not in watch.regions")
        if signal.meta is not None and signal.meta not in self.watch.metas:
            raise ValueError(f"{where}: meta {signal.meta!r} is not in watch.metas")

    def canonical_host(self, host: str) -> str:
        host = host.lower().rstrip(".")
        for suffix in self.test_suffixes:
            if host.endswith(suffix):
                return host[: -len(suffix)]
        return host

    def marketplace_of(self, host: str) -> str | None:
        return self.marketplace_hosts.get(self.canonical_host(host))

    def is_session_cookie(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.session_cookies)


def parse_profile(text: str) -> Profile:
    return Profile.model_validate(yaml.safe_load(text))


@cache
def load_profile(name: str = "seller_central_jp") -> Profile:
    text = resources.files("probe.profiles").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return parse_profile(text)
