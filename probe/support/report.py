"""The seller's report: what they told support, as a YAML or JSON file.

``says`` (their own words) is required; everything else is what an agent
might have learned. Unknown keys are an error naming the key, as for scenarios.
"""

from __future__ import annotations

import datetime
import difflib
import unicodedata
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import UsageError
from ..scenarios import _check_shape, _check_size, _first_error, _one_line, read_text

BROWSERS = {
    "chrome": ("chrome", "クローム", "グーグルクローム", "google chrome"),
    "edge": ("edge", "エッジ", "microsoft edge"),
    "safari": ("safari", "サファリ"),
    "firefox": ("firefox", "ファイアフォックス"),
}


def normalise_browser(value: str) -> str:
    """``Google Chrome 120``, 「クローム」 -> ``chrome``; a browser not listed -> ``other``."""
    text = unicodedata.normalize("NFKC", value).strip().lower()
    for name, spellings in BROWSERS.items():
        if any(s in text for s in spellings):
            return name
    return "other"


class SellerReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    says: str = Field(min_length=1, max_length=20_000)
    seen: str | None = Field(default=None, max_length=5_000)
    url: str | None = None
    device: Literal["desktop", "iphone", "android"] | None = None
    browser: str | None = None
    two_step: Literal["app", "sms", "voice", "off", "unknown"] | None = None
    last_login: datetime.date | None = None
    marketplace: str | None = None
    attachments: list[str] = Field(default_factory=list, max_length=20)
    store: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    seller: str | None = Field(default=None, max_length=100)

    @field_validator("says")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty: write the seller's own words")
        return value

    @field_validator("browser")
    @classmethod
    def _browser(cls, value: str | None) -> str | None:
        return normalise_browser(value) if value is not None else None

    @field_validator("marketplace")
    @classmethod
    def _marketplace(cls, value: str | None) -> str | None:
        return value.strip().lower() if value is not None else None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError(f"{value!r} is not an email address")
        return value


class LoadedReport(BaseModel):
    """A report with where it came from (attachments are relative to it)."""

    model_config = ConfigDict(frozen=True)

    report: SellerReport
    source: Path

    def attachment_paths(self) -> list[Path]:
        base = self.source.parent
        return [p if p.is_absolute() else base / p for p in (Path(a) for a in self.report.attachments)]


def parse_report(text: str, source: str) -> SellerReport:
    try:
        return _parse(text, source)
    except UsageError as exc:
        raise UsageError(str(exc).replace("not a scenario", "not a report")) from None


def _parse(text: str, source: str) -> SellerReport:
    try:
        _check_shape(text, source)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise UsageError(f"{source}:{where} {problem}") from None
    if not isinstance(data, dict):
        raise UsageError(
            f"{source}: a report is a mapping of keys (says, seen, device, ...), got {type(data).__name__}"
        )
    _check_size(data, source)
    try:
        return SellerReport.model_validate(data)
    except ValidationError as exc:
        unknown = next((e for e in exc.errors() if e["type"] == "extra_forbidden" and len(e["loc"]) == 1), None)
        if unknown is not None:
            key = str(unknown["loc"][0])
            close = difflib.get_close_matches(key, list(SellerReport.model_fields), n=1, cutoff=0.6)
            known = ", ".join(SellerReport.model_fields)
            hint = f" (did you mean {close[0]}?)" if close else f" (a report has: {known})"
            raise UsageError(f"{source}: {key}: unknown key{hint}") from None
        raise UsageError(f"{source}: {_one_line(_first_error(exc))}") from None


def load_report(path: Path) -> LoadedReport:
    if not path.is_file():
        raise UsageError(f"no report file at {path}")
    try:
        text = read_text(path)
    except UsageError as exc:
        raise UsageError(str(exc).replace("not a scenario", "not a report")) from None
    report = parse_report(text, str(path))
    loaded = LoadedReport(report=report, source=path)
    for attachment in loaded.attachment_paths():
        if not attachment.is_file():
            raise UsageError(f"{path}: attachments: no file at {attachment}")
    return loaded
