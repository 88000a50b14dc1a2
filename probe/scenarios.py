"""Loading and validating scenario YAML: one reproducible sign-in case per file.

A scenario describes the world (the site's accounts, the seller's browser,
what the seller types) and what the outcome should be. The probe uses the
world to set the case up and never looks at ``expect`` to decide anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fixtures.mock_site import SiteConfig

from .errors import UsageError
from .outcomes import Verdict, catalog

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
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


class Expect(Strict):
    verdict: Verdict
    remedy: str | None = None
    remedy_verified: bool | None = None

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
    network: Literal["ok", "refused", "reset", "dns_failure"] = "ok"
    site: SiteConfig
    browser: BrowserSpec = Field(default_factory=BrowserSpec)
    credentials: CredentialsSpec
    expect: Expect

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
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{_field_path(loc)}: unknown key"
    if error["type"] == "missing":
        return f"{_field_path(loc)}: required key is missing"
    message = error["msg"].removeprefix("Value error, ")
    return f"{_field_path(loc)}: {message}" if loc else message


def parse_scenario(text: str, source: str) -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise UsageError(f"{source}:{where} {problem}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{source}: a scenario is a mapping of keys, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise UsageError(f"{source}: {_first_error(exc)}") from None


def resolve(name_or_path: str, directory: Path = SCENARIO_DIR) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or "/" in name_or_path:
        if not candidate.is_file():
            raise UsageError(f"no scenario file at {name_or_path}")
        return candidate
    path = directory / f"{name_or_path}.yaml"
    if not path.is_file():
        raise UsageError(f"no scenario named {name_or_path!r} (see `probe list`)")
    return path


def load_scenario(name_or_path: str, directory: Path = SCENARIO_DIR) -> Scenario:
    path = resolve(name_or_path, directory)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    return parse_scenario(text, str(path))


def all_scenarios(directory: Path = SCENARIO_DIR) -> list[Scenario]:
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise UsageError(f"no scenarios in {directory}")
    return [load_scenario(str(p), directory) for p in paths]
