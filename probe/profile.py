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

# Hiragana, katakana (with the prolonged sound mark) and CJK ideographs.
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

SIGNAL_KINDS = ("id", "selector", "present", "meta", "path", "host", "event", "status", "region")

# What the driver types into or clicks is always looked up inside its form:
# ids repeat on the real pages (``#continue`` sits on a wrapper and its input).
DEFAULT_SUBMIT = "input[type=submit], button[type=submit], button:not([type])"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signal(Strict):
    """One observable fact a page kind or a verdict rests on.

    ``id`` and ``selector`` hold when a matching element is *visible*: the real
    pages carry every alert in the DOM and hide the ones that do not apply.
    ``present`` names a watched selector that holds when a matching element
    exists at all, shown or not: hidden inputs, an empty challenge container.
    """

    id: str | None = None
    selector: str | None = None
    present: str | None = None
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
        if self.region is None and self.any:
            raise ValueError("`any:` belongs to a region signal")
        if self.path is not None:
            re.compile(self.path)
        if self.status is not None and not re.fullmatch(r"[1-5](xx|\d\d)", self.status):
            raise ValueError(f"status {self.status!r} is not like 503 or 5xx")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in SIGNAL_KINDS if getattr(self, k) is not None)


Action = Literal[
    "enter_email",
    "enter_password",
    "enter_otp",
    "choose_otp_method",
    "enter_verification_code",
    "pick_account",
    "skip",
    "wait",
    "done",
    "stop",
]


class PageKind(Strict):
    """A page of the sign-in the driver recognises, and what it does there.

    ``wait`` pages are challenges that may clear themselves (a script solves a
    puzzle and reloads): the driver waits for a navigation, then reads again.
    """

    kind: str
    action: Action
    all: tuple[Signal, ...] = Field(min_length=1)


class Rule(Strict):
    name: str
    verdict: Verdict
    detail: str
    # The same cause in Japanese, for the seller; required (checked by the profile, naming the rule).
    detail_ja: str = ""
    all: tuple[Signal, ...] = Field(min_length=1)
    # The remedy to give instead of the verdict's default one.
    remedy: str | None = None
    experiments: str | None = None
    investigate: str | None = None


class Precedence(Strict):
    """When both rules match one page, ``rule`` is the cause and each of ``over`` follows from it.

    The followers stay secondary findings with their own remedies, unless
    ``explains``: then they are the cause's consequence alone and not reported apart.
    """

    rule: str
    over: tuple[str, ...] = Field(min_length=1)
    why: str
    explains: bool = False


class Unexplained(Strict):
    """A sign-in page the driver knows, showing an error no rule names.

    The verdict stays ``unrecognized`` (the probe does not guess what the
    message means), but the browser may be at fault: its experiments run first.
    """

    pages: tuple[str, ...] = Field(min_length=1)
    any: tuple[Signal, ...] = Field(min_length=1)  # an error shows: any one of these holds
    experiments: str


class ExperimentGroup(Strict):
    """Remedies to try in order; ``if_unfixed`` replaces the verdict when none works."""

    remedies: tuple[str, ...] = Field(min_length=1)
    if_unfixed: Verdict | None = None


class Investigation(Strict):
    """A second look that can change a verdict: the seller's mailbox, read like a person would."""

    verdict: Verdict
    detail: str
    detail_ja: str = ""  # required (checked by the profile, naming the investigation)
    subject_any: tuple[str, ...] = Field(min_length=1)


class Mailbox(Strict):
    otp_pattern: str
    investigations: dict[str, Investigation] = Field(default_factory=dict)


class Watch(Strict):
    ids: tuple[str, ...]
    selectors: dict[str, str]
    regions: dict[str, str]
    metas: tuple[str, ...]


class FormControls(Strict):
    """A form the driver fills, described by structure.

    ``form`` must match exactly one form on the page; each field and the submit
    are looked up inside it and must match exactly one *visible* element, so a
    duplicated id, a hidden autofill twin or a second form never gets typed into.
    """

    form: str
    fields: dict[str, str] = Field(default_factory=dict)
    submit: str = DEFAULT_SUBMIT


class Controls(Strict):
    email_form: FormControls  # fields: email
    password_form: FormControls  # fields: password
    otp_form: FormControls  # fields: code; optional: remember, new_code
    # A prompt naming a phone means the code comes by text message, not from the app.
    otp_sms_prompt: tuple[str, ...]
    # Fields of the chooser are its methods (sms, voice, app), each a radio found by its container.
    otp_method_form: FormControls
    verification_form: FormControls  # fields: code
    # A heading naming a phone means the verification code went by text message, not by mail.
    verification_sms_heading: tuple[str, ...]
    picker_form: FormControls  # fields: choice (one per row)
    picker_prefer: tuple[str, ...]
    skip: tuple[str, ...]
    # Fields holding secrets, on any page: masked in screenshots.
    secret_fields: dict[Literal["password", "otp"], str]

    @property
    def password(self) -> str:
        """Every field that may hold the password (a selector for masking, not for typing)."""
        return self.secret_fields["password"]

    @property
    def otp(self) -> str:
        """Every field that may hold a one-time code (a selector for masking, not for typing)."""
        return self.secret_fields["otp"]


class JourneyPages(Strict):
    """The pages around the sign-in a journey (or an experiment that changes the account) walks.

    ``paths`` by name (on ``buyer_host`` or the Seller Central host), ``forms``
    found by structure as the driver's (a link or button outside a form is
    looked up inside its section), ``texts`` what a page or a mail must show.
    """

    buyer_host: str
    paths: dict[str, str]
    forms: dict[str, FormControls]
    selectors: dict[str, str] = Field(default_factory=dict)
    patterns: dict[str, str] = Field(default_factory=dict)


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
    # Which of two findings on one page is the cause; otherwise the first rule in order.
    precedence: tuple[Precedence, ...] = ()
    unexplained: Unexplained | None = None
    # Seller Central tools behind user permissions, name -> path (``probe access``).
    tools: dict[str, str] = Field(default_factory=dict)
    journeys: JourneyPages | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        # One registry: every remedy named here has texts, every one tried has an experiment.
        known = catalog()
        for group, experiments in self.experiments.items():
            for name in experiments.remedies:
                known.check_remedy(name, f"experiments.{group}", experiment=True)
        names = [rule.name for rule in self.rules]
        if len(names) != len(set(names)):
            raise ValueError("rule names must be unique")
        for entry in self.precedence:
            for name in (entry.rule, *entry.over):
                if name not in names:
                    raise ValueError(f"precedence: unknown rule {name!r}")
        for name, investigation in self.mailbox.investigations.items():
            _check_japanese(investigation.detail_ja, f"mailbox.investigations.{name}")
        for rule in self.rules:
            _check_japanese(rule.detail_ja, f"rule {rule.name}")
            if rule.remedy is not None:
                known.check_remedy(rule.remedy, f"rule {rule.name}")
            if rule.experiments is not None and rule.experiments not in self.experiments:
                raise ValueError(f"rule {rule.name}: unknown experiments group {rule.experiments!r}")
            if rule.investigate is not None and rule.investigate not in self.mailbox.investigations:
                raise ValueError(f"rule {rule.name}: unknown investigation {rule.investigate!r}")
            for signal in rule.all:
                self._check_signal(signal, f"rule {rule.name}")
        if self.unexplained is not None:
            if self.unexplained.experiments not in self.experiments:
                raise ValueError(f"unexplained: unknown experiments group {self.unexplained.experiments!r}")
            kinds = {page.kind for page in self.pages}
            for kind in self.unexplained.pages:
                if kind not in kinds:
                    raise ValueError(f"unexplained: unknown page kind {kind!r}")
            for signal in self.unexplained.any:
                self._check_signal(signal, "unexplained")
        for page in self.pages:
            for signal in page.all:
                self._check_signal(signal, f"page {page.kind}")
        required = {
            "email_form": ("email",),
            "password_form": ("password",),
            "otp_form": ("code",),
            "verification_form": ("code",),
            "picker_form": ("choice",),
        }
        for step, fields in required.items():
            form: FormControls = getattr(self.controls, step)
            missing = [f for f in fields if f not in form.fields]
            if missing:
                raise ValueError(f"controls.{step} lacks fields {missing}")
        return self

    def outranks(self, cause: str, other: str) -> Precedence | None:
        """The precedence entry that makes ``cause`` the cause of ``other``, if any."""
        return next((p for p in self.precedence if p.rule == cause and other in p.over), None)

    def _check_signal(self, signal: Signal, where: str) -> None:
        if signal.id is not None and signal.id not in self.watch.ids:
            raise ValueError(f"{where}: id {signal.id!r} is not in watch.ids")
        for name in (signal.selector, signal.present):
            if name is not None and name not in self.watch.selectors:
                raise ValueError(f"{where}: selector {name!r} is not in watch.selectors")
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


def _check_japanese(text: str, where: str) -> None:
    """Every cause is told to the seller in Japanese too: ``detail_ja`` beside ``detail``."""
    if not text.strip():
        raise ValueError(f"{where}: detail_ja is missing (the detail in Japanese)")
    if not JAPANESE.search(text):
        raise ValueError(f"{where}: detail_ja is not Japanese: {text!r}")


def parse_profile(text: str) -> Profile:
    return Profile.model_validate(yaml.safe_load(text))


@cache
def load_profile(name: str = "seller_central_jp") -> Profile:
    text = resources.files("probe.profiles").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return parse_profile(text)
