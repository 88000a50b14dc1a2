"""Loading and validating scenario YAML: one reproducible sign-in case per file.

A scenario describes the world (the site's accounts, the seller's browser,
what the seller types) and what the outcome should be. The probe uses the
world to set the case up and never looks at ``expect`` to decide anything.
"""

from __future__ import annotations

import difflib
import fnmatch
import glob
import re
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fixtures.mock_site import SiteConfig

from .errors import UsageError
from .outcomes import Verdict, catalog

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
# Limits checked before a scenario is parsed or validated: a scenario is a few
# kilobytes, nested a few levels; anything far beyond is not a scenario.
MAX_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 100_000
_GLOB = re.compile(r"[*?\[]")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CookieSpec(Strict):
    """A cookie already in the seller's browser, on a real host name."""

    name: str
    value: str
    domain: str
    path: str = "/"
    secure: bool = True
    http_only: bool = True


class Visit(Strict):
    """A page this browser opened before, when the site was configured as ``site`` says."""

    path: str = "/ap/signin"
    host: str = "sellercentral.amazon.co.jp"
    site: dict[str, Any] = Field(default_factory=dict)  # changes to the scenario's site config then


class BrowserSpec(Strict):
    device: Literal["desktop", "iphone", "android"] = "desktop"
    cookies: list[CookieSpec] = Field(default_factory=list)
    # A profile on disk (cookies and cache survive restarts), as a seller's own browser.
    persistent: bool = False
    # The seller blocked all cookies in the browser's settings (implies a profile on disk).
    block_cookies: bool = False
    history: list[Visit] = Field(default_factory=list)


class CredentialsSpec(Strict):
    """What the seller types and can read. ``otp`` is a fixed code typed as given."""

    email: str
    password: str
    totp_secret: str | None = None
    otp: str | None = None
    clock_skew_s: float = 0.0  # how wrong the clock of the phone with the authenticator app is
    phone: str | None = None  # last digits of the phone whose text messages the seller reads
    mailbox: bool = False  # the seller can read the mail sent to `email`
    remember_device: bool = False


TwoStepMethod = Literal["app", "sms", "voice"]
ToolName = Literal["orders", "inventory", "reports", "user_permissions"]
Level = Literal["none", "view", "edit"]


class JourneyStep(Strict):
    """One thing a person does on the site; ``fresh_browser``: in a new browser, not the seller's."""

    fresh_browser: bool = False
    # Whose step it is (an account of the site); the scenario's credentials when not given.
    account: str | None = None


class SignInStep(JourneyStep):
    """The probe's diagnosis of a sign-in; the last one's verdict is the scenario's."""

    do: Literal["sign_in"]
    path: str | None = Field(default=None, pattern=r"^/")  # where the sign-in starts (a tool page)
    method: TwoStepMethod | None = None  # the 2-step method asked for when the site offers a choice


class TwoStepSetupStep(JourneyStep):
    do: Literal["two_step_setup"]
    method: TwoStepMethod = "app"
    phone: str = "090-1234-5678"
    remember: bool = False


class TwoStepAddStep(JourneyStep):
    do: Literal["two_step_add"]
    method: TwoStepMethod = "app"
    phone: str = "080-9876-5432"


class TwoStepRemoveStep(JourneyStep):
    do: Literal["two_step_remove"]
    method: Literal["totp", "sms", "voice"]


class TwoStepOffStep(JourneyStep):
    do: Literal["two_step_off"]


class InviteUserStep(JourneyStep):
    do: Literal["invite_user"]
    name: str
    email: str


class AcceptInvitationStep(JourneyStep):
    do: Literal["accept_invitation"]
    email: str
    password: str
    name: str = "招待ユーザー"


class ConfirmInvitationStep(JourneyStep):
    do: Literal["confirm_invitation"]
    email: str


class SetPermissionsStep(JourneyStep):
    do: Literal["set_permissions"]
    email: str
    rights: dict[ToolName, Level] = Field(min_length=1)


class RevokeStep(JourneyStep):
    do: Literal["revoke"]
    email: str


class OpenToolStep(JourneyStep):
    do: Literal["open_tool"]
    tool: ToolName


class ContactFormStep(JourneyStep):
    do: Literal["contact_form"]
    topic: str | None = None
    store: str | None = None
    email: str | None = None
    message: str | None = None
    # Fill the form from the last sign-in's result (its ``contact``); given fields override it.
    from_result: bool = False
    # Type the characters of the captcha image (false: leave it empty).
    solve_captcha: bool = True


class ChangePasswordStep(JourneyStep):
    do: Literal["change_password"]
    new: str


class MoveClockStep(JourneyStep):
    """Move the bundled mock's clock (its admin API): a test-harness step, never against a real site."""

    do: Literal["move_clock"]
    days: int = Field(ge=-3650, le=3650)


Step = Annotated[
    SignInStep
    | TwoStepSetupStep
    | TwoStepAddStep
    | TwoStepRemoveStep
    | TwoStepOffStep
    | InviteUserStep
    | AcceptInvitationStep
    | ConfirmInvitationStep
    | SetPermissionsStep
    | RevokeStep
    | OpenToolStep
    | ContactFormStep
    | ChangePasswordStep
    | MoveClockStep,
    Field(discriminator="do"),
]
STEP_NAMES = tuple(
    typing.get_args(m.model_fields["do"].annotation)[0] for m in typing.get_args(typing.get_args(Step)[0])
)


class StepSighting(Strict):
    """What the user saw after journey step ``step`` (1 = the first): each text in a heading or alert."""

    step: int = Field(ge=1)
    saw: list[str] = Field(min_length=1)


_UNSET: Any = object()


class StateCheck(Strict):
    """A fact of the site after the run (the mock's snapshot), at a dotted ``path``.

    Exactly one of ``equals``, ``contains`` (an item of a list, a substring, or a
    mapping's items) and ``count`` (of a list, filtered by ``where``).
    """

    path: str = Field(min_length=1)
    equals: Any = None
    contains: Any = None
    count: int | None = Field(default=None, ge=0)
    where: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_check(self) -> StateCheck:
        given = [k for k in ("equals", "contains", "count") if k in self.model_fields_set]
        if len(given) != 1:
            raise ValueError(f"a state check has exactly one of equals, contains, count (got {given or 'none'})")
        return self


class Expect(Strict):
    verdict: Verdict
    remedy: str | None = None
    remedy_verified: bool | None = None
    steps: list[StepSighting] = Field(default_factory=list)
    state: list[StateCheck] = Field(default_factory=list)

    @field_validator("remedy")
    @classmethod
    def _known_remedy(cls, value: str | None) -> str | None:
        if value is not None and value not in catalog().remedies:
            raise ValueError(f"unknown remedy {value!r}")
        return value


class Scenario(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    title: str
    description: str = ""
    start: str = "sellercentral.amazon.co.jp"
    start_path: str = Field(default="/", pattern=r"^/")
    network: Literal["ok", "refused", "reset", "dns_failure", "timeout", "tls_failure"] = "ok"
    site: SiteConfig
    browser: BrowserSpec = Field(default_factory=BrowserSpec)
    credentials: CredentialsSpec
    # What people do on the site, in order; ``sign_in`` steps are the probe's diagnosis.
    journey: list[Step] = Field(default_factory=list)
    # Optional: without it a run reports the verdict and counts as expected.
    expect: Expect | None = None

    @model_validator(mode="after")
    def _journey_consistent(self) -> Scenario:
        steps = self.expect.steps if self.expect else []
        for i, sighting in enumerate(steps):
            if sighting.step > len(self.journey):
                raise ValueError(
                    f"expect.steps[{i}].step: no journey step {sighting.step} (the journey has {len(self.journey)})"
                )
        accounts = {a.email.lower() for a in self.site.accounts} | {self.credentials.email.lower()}
        accounts |= {step.email.lower() for step in self.journey if isinstance(step, AcceptInvitationStep)}
        for i, step in enumerate(self.journey):
            if step.account is not None and step.account.lower() not in accounts:
                raise ValueError(
                    f"journey[{i}].account: {step.account!r} is neither an account of the site nor an invitee"
                )
        return self

    @model_validator(mode="after")
    def _history_needs_a_profile(self) -> Scenario:
        if self.browser.history and not self.browser.persistent:
            raise ValueError("browser.history needs browser.persistent: true")
        for i, visit in enumerate(self.browser.history):
            try:
                self.site_at(visit)
            except ValidationError as exc:
                raise ValueError(f"browser.history[{i}].site: {_first_error(exc)}") from None
        return self

    def site_at(self, visit: Visit) -> SiteConfig:
        """The site as it was when ``visit`` happened."""
        return SiteConfig.model_validate({**self.site.model_dump(), **visit.site})

    @field_validator("title")
    @classmethod
    def _japanese_title(cls, value: str) -> str:
        if not _JAPANESE.search(value):
            raise ValueError("the title is written in Japanese")
        return value


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not re.fullmatch(r"[\w-]+", str(part)):
            path += f"[{str(part)!r}]"  # a key with spaces or line breaks, shown as it is
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _unwrap(annotation: Any) -> list[Any]:
    """The model classes an annotation may hold (through ``X | None``, ``list[X]``, ``dict[str, X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, tuple, dict, typing.Annotated):
        found: list[Any] = []
        for arg in typing.get_args(annotation):
            found += _unwrap(arg)
        return found
    return []


def _keys_at(loc: tuple[int | str, ...]) -> list[str]:
    """The keys a scenario may have at ``loc`` (a pydantic error location), for suggestions."""
    models: list[Any] = [Scenario]
    for part in loc:
        if isinstance(part, int):
            continue
        nested: list[Any] = []
        for model in models:
            info = model.model_fields.get(part)
            if info is not None:
                nested += _unwrap(info.annotation)
        models = nested
    return sorted({name for model in models for name in model.model_fields})


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _journey_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """A journey step's error location without the step kind pydantic puts in it (its ``do``)."""
    if len(loc) >= 3 and loc[0] == "journey" and isinstance(loc[1], int) and loc[2] in STEP_NAMES:
        return (*loc[:2], *loc[3:])
    return loc


def _step_keys(loc: tuple[int | str, ...], data: Any) -> list[str] | None:
    """The keys a journey step of its kind may have, for suggestions."""
    if len(loc) != 2 or loc[0] != "journey" or not isinstance(data, dict):
        return None
    steps = data.get("journey")
    index = loc[1]
    if not isinstance(steps, list) or not isinstance(index, int) or index >= len(steps):
        return None
    step = steps[index]
    kind = step.get("do") if isinstance(step, dict) else None
    for model in typing.get_args(typing.get_args(Step)[0]):
        if typing.get_args(model.model_fields["do"].annotation)[0] == kind:
            return sorted(model.model_fields)
    return None


def _first_error(exc: ValidationError, data: Any = None) -> str:
    errors: list[dict[str, Any]] = [{**e, "loc": _journey_loc(tuple(e["loc"]))} for e in exc.errors()]
    # A misspelled required key shows as an unknown key and a missing one: the
    # unknown key, with its suggestion, is the one that explains both.
    missing = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "missing"}
    unknown = [e for e in errors if e["type"] == "extra_forbidden" and tuple(e["loc"][:-1]) in missing]
    error = unknown[0] if unknown else errors[0]
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        keys = _step_keys(loc[:-1], data) or _keys_at(loc[:-1])
        return f"{_field_path(loc)}: unknown key{_did_you_mean(key, keys)}"
    if error["type"] == "missing":
        return f"{_field_path(loc)}: required key is missing"
    if error["type"] == "union_tag_not_found":
        return f"{_field_path(loc)}: a journey step needs `do:` (one of {', '.join(STEP_NAMES)})"
    if error["type"] == "union_tag_invalid":
        tag = str(error.get("ctx", {}).get("tag", ""))
        known = ", ".join(STEP_NAMES)
        return f"{_field_path(loc)}.do: unknown step {tag!r}{_did_you_mean(tag, STEP_NAMES)} (one of {known})"
    message = error["msg"].removeprefix("Value error, ")
    return f"{_field_path(loc)}: {message}" if loc else message


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _check_shape(text: str, source: str) -> None:
    """Reject input too large or too deeply nested before the YAML is built (its builder recurses)."""
    if len(text) > MAX_BYTES:
        raise UsageError(f"{source}: larger than {MAX_BYTES // 1_000_000} MB, not a scenario")
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise UsageError(f"{source}: line {line} nested deeper than {MAX_DEPTH} levels, not a scenario")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_size(data: Any, source: str) -> None:
    """Aliases can make a small file a huge document: count its nodes as they expand, up to a limit."""
    stack, count = [data], 0
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise UsageError(f"{source}: more than {MAX_NODES} values (aliases included), not a scenario")
        if isinstance(node, dict):
            stack += node.keys()
            stack += node.values()
        elif isinstance(node, list):
            stack += node


def parse_scenario(text: str, source: str) -> Scenario:
    try:
        _check_shape(text, source)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise UsageError(f"{source}:{where} {problem}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{source}: a scenario is a mapping of keys, got {type(data).__name__}")
    _check_size(data, source)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise UsageError(f"{source}: {_one_line(_first_error(exc, data))}") from None


def names(directory: Path = SCENARIO_DIR) -> list[str]:
    """The bundled scenarios' names, sorted."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


def _unknown_name(name: str, directory: Path) -> UsageError:
    close = difflib.get_close_matches(name, names(directory), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return UsageError(f"no scenario named {name!r}{hint} (see `probe list`)")


def resolve(name_or_path: str, directory: Path = SCENARIO_DIR) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or "/" in name_or_path:
        if not candidate.is_file():
            raise UsageError(f"no scenario file at {name_or_path}")
        return candidate
    path = directory / f"{name_or_path}.yaml"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name_or_path) or not path.is_file():
        raise _unknown_name(name_or_path, directory)
    return path


def select(patterns: Iterable[str], directory: Path = SCENARIO_DIR) -> list[Path]:
    """Scenario files for names, paths and globs (``otp_*``), in order, each once."""
    chosen: list[Path] = []
    for pattern in patterns:
        if _GLOB.search(pattern) and "/" not in pattern and not pattern.endswith((".yaml", ".yml")):
            found = [directory / f"{n}.yaml" for n in names(directory) if fnmatch.fnmatchcase(n, pattern)]
            if not found:
                raise UsageError(f"no scenario matches {pattern!r} (see `probe list`)")
        elif _GLOB.search(pattern):
            found = sorted(Path(p) for p in glob.glob(pattern) if Path(p).is_file())
            if not found:
                raise UsageError(f"no scenario file matches {pattern!r}")
        else:
            found = [resolve(pattern, directory)]
        chosen += [p for p in found if p not in chosen]
    return chosen


def read_text(path: Path) -> str:
    """A scenario file's text, read no further than the size limit."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"{path}: larger than {MAX_BYTES // 1_000_000} MB, not a scenario")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None


def load_path(path: Path) -> Scenario:
    return parse_scenario(read_text(path), str(path))


def load_scenario(name_or_path: str, directory: Path = SCENARIO_DIR) -> Scenario:
    return load_path(resolve(name_or_path, directory))


def load_many(patterns: Iterable[str], directory: Path = SCENARIO_DIR) -> list[Scenario]:
    return [load_path(p) for p in select(patterns, directory)]


def all_scenarios(directory: Path = SCENARIO_DIR) -> list[Scenario]:
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise UsageError(f"no scenarios in {directory}")
    return [load_path(p) for p in paths]
