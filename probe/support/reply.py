"""A reply draft for the seller, in Japanese and English, from the ranked causes.

The texts are data (``probe/profiles/replies.yaml``), keyed by situation; this
module only picks them, orders the steps for the seller's own device, browser
and Two-Step Verification method, and prefills the contact form.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..outcomes import Verdict
from ..redact import SECRETS
from .rank import Candidate
from .report import SellerReport

Lang = Literal["ja", "en"]
LANGS: tuple[Lang, ...] = ("ja", "en")
Device = Literal["desktop", "iphone", "android"]

# A second cause is offered as "if that does not help" when it is this close to the first.
CLOSE_SECOND = 0.5
# At or above this confidence the reply says "most likely", below it "may be".
LIKELY = 0.6
SEEN_MAX_CHARS = 200

# The ``common`` texts the code uses; the profile must define each.
COMMON_KEYS = frozenset(
    {
        "greeting_named",
        "greeting_anonymous",
        "thanks",
        "likely_high",
        "likely_low",
        "steps_intro",
        "fallback_heading",
        "fallback_second",
        "fallback_second_steps",
        "fallback_contact",
        "fallback_after_contact",
        "closing",
        "no_candidates",
        "sub_bullet",
        "browser_intro",
        "browser_others",
        "browser_after",
        "two_step_open",
        "two_step_turn_on",
        "two_step_method",
        "two_step_phone",
        "two_step_app",
        "two_step_remember",
        "two_step_enable",
        "two_step_backup",
        "two_step_retry",
        "contact_open",
        "contact_topic",
        "contact_fill",
        "contact_store",
        "contact_email",
        "contact_inquiry",
        "contact_send",
        "contact_wait",
        "topic_reset",
        "topic_closure",
        "placeholder_store",
        "placeholder_email",
        "inquiry_generic",
        "inquiry_device",
        "inquiry_browser",
        "inquiry_last_login",
        "inquiry_seen",
        "inquiry_close",
        "device_desktop",
        "device_iphone",
        "device_android",
        "browser_chrome",
        "browser_edge",
        "browser_safari",
        "browser_firefox",
        "browser_other",
    }
)


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def __getitem__(self, lang: Lang) -> str:
        return self.ja if lang == "ja" else self.en


class Lines(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ja: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)

    def __getitem__(self, lang: Lang) -> list[str]:
        return self.ja if lang == "ja" else self.en


class Block(BaseModel):
    """A step the code expands: it depends on the seller's device, method or details."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    block: Literal["browser_data", "two_step_setup", "contact"]
    topic: Literal["reset", "closure"] = "reset"


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    what: Text
    steps: list[Text | Block] = Field(min_length=1)
    inquiry: Text | None = None  # the contact form message, for causes only Amazon can solve
    devices: list[Device] = Field(default_factory=list)  # where the trouble is, when the seller did not say

    @property
    def blocks(self) -> set[str]:
        return {s.block for s in self.steps if isinstance(s, Block)}


class BrowserGuide(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    devices: list[Device] = Field(min_length=1)
    browser: str
    label: Text
    full: Lines
    short: Text


class Replies(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    common: dict[str, Text]
    browsers: dict[str, BrowserGuide] = Field(min_length=1)
    verdicts: dict[str, str]
    situations: dict[str, Entry]

    @model_validator(mode="after")
    def _complete(self) -> Replies:
        missing = COMMON_KEYS - set(self.common)
        if missing:
            raise ValueError(f"common lacks {sorted(missing)}")
        unknown = set(self.verdicts) - {v.value for v in Verdict}
        if unknown:
            raise ValueError(f"verdicts: unknown verdict codes {sorted(unknown)}")
        lacking = {v.value for v in Verdict} - {Verdict.OK.value} - set(self.verdicts)
        if lacking:
            raise ValueError(f"verdicts: no situation for {sorted(lacking)}")
        for verdict, situation in self.verdicts.items():
            if situation not in self.situations:
                raise ValueError(f"verdicts: {verdict} names unknown situation {situation!r}")
        return self

    def entry(self, candidate: Candidate) -> Entry:
        """The texts for a candidate: its situation's, else its verdict's, else the unknown page's."""
        if candidate.situation in self.situations:
            return self.situations[candidate.situation]
        return self.situations[self.verdicts.get(candidate.verdict, self.verdicts[Verdict.UNRECOGNIZED.value])]


def parse_replies(text: str) -> Replies:
    return Replies.model_validate(yaml.safe_load(text))


@cache
def replies() -> Replies:
    text = resources.files("probe.profiles").joinpath("replies.yaml").read_text(encoding="utf-8")
    return parse_replies(text)


# A numbered step: its line and the lines under it (already bulleted or indented).
Step = tuple[str, list[str]]


def draft_reply(report: SellerReport, candidates: Sequence[Candidate]) -> dict[str, str]:
    """The reply an agent can send: {"ja": ..., "en": ...}, most likely cause first."""
    return {lang: SECRETS.redact(_draft(report, candidates, lang)) for lang in LANGS}


def _draft(report: SellerReport, candidates: Sequence[Candidate], lang: Lang) -> str:
    texts = replies()
    common = texts.common
    parts = [_greeting(report, lang), common["thanks"][lang]]
    if not candidates:
        parts.append(common["no_candidates"][lang])
    else:
        top = candidates[0]
        entry = texts.entry(top)
        likely = common["likely_high" if top.confidence >= LIKELY else "likely_low"][lang]
        parts.append(f"{likely}\n{entry.what[lang]}")
        parts.append(f"{common['steps_intro'][lang]}\n{_numbered(_steps(report, entry, lang))}")
        parts.append(_fallback(report, candidates, entry, lang))
    parts.append(common["closing"][lang])
    return "\n\n".join(parts) + "\n"


def _greeting(report: SellerReport, lang: Lang) -> str:
    common = replies().common
    name = (report.seller or "").strip().removesuffix("様").removesuffix("さん").strip()
    if not name:
        return common["greeting_anonymous"][lang]
    return common["greeting_named"][lang].format(seller=name)


def _fallback(report: SellerReport, candidates: Sequence[Candidate], entry: Entry, lang: Lang) -> str:
    common = replies().common
    heading = common["fallback_heading"][lang]
    second = _second(candidates, entry)
    if second is not None:
        return (
            f"{heading}\n{common['fallback_second'][lang]}\n{second.what[lang]}\n"
            f"{common['fallback_second_steps'][lang]}\n{_numbered(_steps(report, second, lang))}"
        )
    if "contact" in entry.blocks:
        return f"{heading}\n{common['fallback_after_contact'][lang]}"
    contact = _contact_steps(report, entry, Block(block="contact"), lang)
    return f"{heading}\n{common['fallback_contact'][lang]}\n{_numbered(contact)}"


def _second(candidates: Sequence[Candidate], first: Entry) -> Entry | None:
    """The next cause close enough to the first to suggest, if its advice differs."""
    top = candidates[0].confidence
    for candidate in candidates[1:]:
        if candidate.confidence < CLOSE_SECOND * top:
            return None
        entry = replies().entry(candidate)
        if entry.steps != first.steps and not (entry.blocks & first.blocks):
            return entry
    return None


def _numbered(steps: list[Step]) -> str:
    lines = []
    for number, (line, under) in enumerate(steps, start=1):
        lines.append(f"{number}. {line}")
        lines.extend(f"   {sub}" for sub in under)
    return "\n".join(lines)


def _steps(report: SellerReport, entry: Entry, lang: Lang) -> list[Step]:
    steps: list[Step] = []
    for step in entry.steps:
        if isinstance(step, Text):
            steps.append((step[lang], []))
        elif step.block == "browser_data":
            steps.extend(_browser_steps(report, entry, lang))
        elif step.block == "two_step_setup":
            steps.extend(_two_step_steps(report, lang))
        else:
            steps.extend(_contact_steps(report, entry, step, lang))
    return steps


def _browser_steps(report: SellerReport, entry: Entry, lang: Lang) -> list[Step]:
    """Deleting cookies and cache: the seller's own browser in full, the others in one line each."""
    common = replies().common
    bullet = common["sub_bullet"][lang]
    first, *others = _guides_for(report, entry)
    under = [f"{bullet}{line}" for line in first.full[lang]]
    under.append(common["browser_others"][lang])
    under.extend(f"{bullet}{guide.short[lang]}" for guide in others)
    return [
        (common["browser_intro"][lang].format(label=first.label[lang]), under),
        (common["browser_after"][lang], []),
    ]


def _guides_for(report: SellerReport, entry: Entry) -> list[BrowserGuide]:
    devices = [report.device] if report.device else entry.devices

    def fit(guide: BrowserGuide) -> int:
        return 2 * any(d in guide.devices for d in devices) + (report.browser == guide.browser)

    return sorted(replies().browsers.values(), key=fit, reverse=True)  # stable: the profile's order breaks ties


def _two_step_steps(report: SellerReport, lang: Lang) -> list[Step]:
    """Turning Two-Step Verification on, with the method the seller uses (or wants) first."""
    common = replies().common
    bullet = common["sub_bullet"][lang]
    methods = [common["two_step_phone"][lang], common["two_step_app"][lang]]
    if report.two_step == "app":
        methods.reverse()
    return [
        (common["two_step_open"][lang], []),
        (common["two_step_turn_on"][lang], []),
        (common["two_step_method"][lang], [f"{bullet}{m}" for m in methods]),
        (common["two_step_remember"][lang], []),
        (common["two_step_enable"][lang], []),
        (common["two_step_backup"][lang], []),
        (common["two_step_retry"][lang], []),
    ]


def _contact_steps(report: SellerReport, entry: Entry, block: Block, lang: Lang) -> list[Step]:
    """The contact form that works without signing in, prefilled from the report."""
    common = replies().common
    bullet = common["sub_bullet"][lang]
    store = (report.store or "").strip() or common["placeholder_store"][lang]
    email = (report.email or "").strip() or common["placeholder_email"][lang]
    fields = [
        f"{bullet}{common['contact_store'][lang].format(store=store)}",
        f"{bullet}{common['contact_email'][lang].format(email=email)}",
        f"{bullet}{common['contact_inquiry'][lang]}",
        *(f"    {line}" for line in _inquiry(report, entry, lang)),
    ]
    topic = common[f"topic_{block.topic}"][lang]
    return [
        (common["contact_open"][lang], []),
        (common["contact_topic"][lang].format(topic=topic), []),
        (common["contact_fill"][lang], fields),
        (common["contact_send"][lang], []),
        (common["contact_wait"][lang], []),
    ]


def _inquiry(report: SellerReport, entry: Entry, lang: Lang) -> list[str]:
    """The message for the contact form: the cause and the report's facts, never a secret."""
    common = replies().common
    bullet = common["sub_bullet"][lang]
    lines = [(entry.inquiry or common["inquiry_generic"])[lang]]
    facts: list[tuple[str, str]] = []
    if report.device:
        facts.append(("inquiry_device", common[f"device_{report.device}"][lang]))
    if report.browser:
        name = f"browser_{report.browser}"
        facts.append(("inquiry_browser", common[name if name in common else "browser_other"][lang]))
    if report.last_login:
        facts.append(("inquiry_last_login", _date(report.last_login, lang)))
    seen = scrub(report.seen or "", report.email)
    if seen:
        facts.append(("inquiry_seen", seen))
    lines.extend(f"{bullet}{common[key][lang].format(value=value)}" for key, value in facts)
    lines.append(common["inquiry_close"][lang])
    return lines


def _date(day: datetime.date, lang: Lang) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if lang == "ja" else day.isoformat()


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TOKEN = re.compile(r"[!-~]{8,}")


def looks_like_secret(token: str) -> bool:
    """Letters, digits and symbols together, 8 or more, and not a web address: maybe a password."""
    if token.startswith(("http://", "https://")):
        return False
    return any(c.isalpha() for c in token) and any(c.isdigit() for c in token) and any(not c.isalnum() for c in token)


def scrub(text: str, own_email: str | None = None) -> str:
    """One short line of what the seller saw, without others' addresses or password-like strings."""
    line = " ".join(SECRETS.redact(text).split())
    if len(line) > SEEN_MAX_CHARS:
        line = line[: SEEN_MAX_CHARS - 1] + "…"
    line = _EMAIL.sub(lambda m: m.group(0) if m.group(0) == own_email else "***", line)
    return _TOKEN.sub(
        lambda m: "***" if m.group(0) != own_email and looks_like_secret(m.group(0)) else m.group(0), line
    )
