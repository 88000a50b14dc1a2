"""Ranking the causes a seller's report points to.

Evidence counts in this order: a page or HAR the seller attached (classified
as ``probe classify`` does) outweighs a message they copied from the screen,
which outweighs their own words. A copied message is read with the profile's
own rules, so it decides as it would on the page. Words go through the
symptom lexicon (``profiles/symptoms_ja.yaml``): phrases that point to a
situation, and phrases that speak against one.
"""

from __future__ import annotations

import datetime
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..outcomes import Verdict
from ..profile import Profile, Rule, load_profile
from .report import SellerReport
from .words import Clause, clauses, fold, reading

if TYPE_CHECKING:
    from ..report import Result

# How much each kind of evidence weighs against the lexicon's phrases (1 to 6).
ATTACHMENT_WEIGHT = 14.0
SEEN_WEIGHT = 9.0
# A copied message no rule knows hints at a page nobody knows yet.
UNKNOWN_MESSAGE_WEIGHT = 2.0
# Below this much evidence (the sum of the weights for any cause) the report says too little.
LITTLE_EVIDENCE = 1.5
# Softmax temperature: the lower, the more the top score dominates the confidence.
TEMPERATURE = 1.6
# Two candidates are "close" when the second has at least this share of the first's confidence.
CLOSE = 0.45
# Below this confidence the best cause is a guess: questions are asked whatever the others score.
UNSURE = 0.6
MAX_CANDIDATES = 5
# Causes under this confidence are not listed (the best one always is).
LISTED = 0.01


@dataclass
class Reason:
    kind: str  # "words" | "against" | "seen" | "attachment" | "context"
    text: str  # what was matched: the seller's phrase, the message, a file name
    weight: float  # for the cause (+) or against it (-)
    note_ja: str
    note_en: str


@dataclass
class Candidate:
    verdict: str
    situation: str
    confidence: float
    why: list[Reason]
    scenario: str | None
    reproduced: bool | None = None
    remedy: str | None = None
    remedy_verified: bool | None = None
    result: Result | None = None
    screenshots: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "situation": self.situation,
            "confidence": round(self.confidence, 3),
            "why": [
                {"kind": r.kind, "text": r.text, "weight": round(r.weight, 2), "ja": r.note_ja, "en": r.note_en}
                for r in self.why
            ],
            "scenario": self.scenario,
            "reproduced": self.reproduced,
            "remedy": self.remedy,
            "remedy_verified": self.remedy_verified,
        }


@dataclass(frozen=True)
class Question:
    ja: str
    en: str
    separates: tuple[str, str]


# -- the lexicon


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Situation(_Strict):
    verdict: Verdict
    scenario: str
    ja: str
    en: str


class Phrase(_Strict):
    all: tuple[str, ...] = Field(min_length=1)
    negated: bool | None = None
    across: bool = False  # the concepts may spread over a clause and the one after it
    for_: dict[str, float] = Field(default_factory=dict, alias="for")
    against: dict[str, float] = Field(default_factory=dict)


class QuestionSpec(_Strict):
    separates: tuple[Verdict, Verdict]
    ja: str
    en: str


class Lexicon(_Strict):
    situations: dict[str, Situation]
    priors: dict[Verdict, float] = Field(default_factory=dict)
    concepts: dict[str, tuple[str, ...]]
    phrases: tuple[Phrase, ...]
    rules: dict[str, str]
    questions: tuple[QuestionSpec, ...]

    @model_validator(mode="after")
    def _names_resolve(self) -> Lexicon:
        targets = set(self.situations) | {v.value for v in Verdict}
        for i, phrase in enumerate(self.phrases):
            for concept in phrase.all:
                if concept not in self.concepts:
                    raise ValueError(f"phrases[{i}]: unknown concept {concept!r}")
            for target in (*phrase.for_, *phrase.against):
                if target not in targets:
                    raise ValueError(f"phrases[{i}]: {target!r} is neither a situation nor a verdict code")
        for rule, situation in self.rules.items():
            if situation not in self.situations:
                raise ValueError(f"rules.{rule}: unknown situation {situation!r}")
        return self

    def situations_of(self, verdict: str) -> list[str]:
        return [name for name, s in self.situations.items() if s.verdict == verdict]


@cache
def lexicon() -> Lexicon:
    text = resources.files("probe").joinpath("profiles/symptoms_ja.yaml").read_text(encoding="utf-8")
    return Lexicon.model_validate(yaml.safe_load(text))


@cache
def _concept_patterns() -> dict[str, tuple[tuple[str, ...], re.Pattern[str] | None]]:
    """Per concept: the folded Japanese terms (part of the text or a lemma), and one regex for the ASCII ones."""
    patterns: dict[str, tuple[tuple[str, ...], re.Pattern[str] | None]] = {}
    for name, terms in lexicon().concepts.items():
        folded = [fold(t) for t in terms]
        ascii_terms = [t for t in folded if t.isascii()]
        other = tuple(t for t in folded if not t.isascii())
        regex = (
            re.compile("|".join(rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])" for t in ascii_terms))
            if ascii_terms
            else None
        )
        patterns[name] = (other, regex)
    return patterns


def _has(clause: Clause, concept: str) -> bool:
    terms, regex = _concept_patterns()[concept]
    if any(t in clause.text or t in clause.lemmas for t in terms):
        return True
    return regex is not None and regex.search(clause.text) is not None


# -- the ranking


@dataclass
class _Tally:
    """Scores per situation and per verdict, with the reasons behind each."""

    situations: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    verdicts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    reasons: dict[str, list[Reason]] = field(default_factory=lambda: defaultdict(list))

    def add(self, target: str, weight: float, reason: Reason) -> None:
        lex = lexicon()
        if target in lex.situations:
            verdict = lex.situations[target].verdict.value
            if weight > 0:
                self.situations[target] += weight
        else:
            verdict = target
        self.verdicts[verdict] += weight
        same = next((r for r in self.reasons[verdict] if r.note_ja == reason.note_ja and r.kind == reason.kind), None)
        if same is not None:  # two phrases of one clause for one cause: one reason, both weights
            same.weight += reason.weight
        else:
            self.reasons[verdict].append(reason)


def _label(target: str) -> tuple[str, str]:
    lex = lexicon()
    if target in lex.situations:
        return lex.situations[target].ja, lex.situations[target].en
    from ..outcomes import catalog

    info = catalog().info(Verdict(target))
    return info.summary_ja.rstrip("。"), info.summary_en.rstrip(".").lower()


def score_words(text: str, tally: _Tally) -> None:
    """The lexicon's phrases in ``text``: each counts once, at the first clause where it holds."""
    found = clauses(text)
    for phrase in lexicon().phrases:
        quoted = _first_match(phrase, found)
        if quoted is None:
            continue
        for target, weight in phrase.for_.items():
            ja, en = _label(target)
            tally.add(target, weight, Reason("words", quoted, weight, f"「{quoted}」→ {ja}", f'"{quoted}" → {en}'))
        for target, weight in phrase.against.items():
            ja, en = _label(target)
            tally.add(
                target,
                -weight,
                Reason("against", quoted, -weight, f"「{quoted}」は{ja}らしくない", f'"{quoted}" speaks against {en}'),
            )


def _first_match(phrase: Phrase, found: Sequence[Clause]) -> str | None:
    """The seller's words where ``phrase`` holds first: one clause, or with ``across`` two in a row."""
    for i, clause in enumerate(found):
        if all(_has(clause, c) for c in phrase.all) and (phrase.negated is None or clause.negated == phrase.negated):
            return clause.original
        if phrase.across and i + 1 < len(found):
            pair = (clause, found[i + 1])
            if all(any(_has(part, c) for part in pair) for c in phrase.all):
                return f"{clause.original}…{found[i + 1].original}"
    return None


_PUNCTUATION = re.compile(r"[\s\"'「」『』。、.,!?！？()（）:：・…]+")


def _squash(text: str) -> str:
    return _PUNCTUATION.sub("", fold(text))


def rule_for_message(
    message: str, profile: Profile | None = None, *, foreign_host: bool = False, context: str = ""
) -> tuple[str, str] | None:
    """The profile rule (name, verdict) whose on-screen texts the message carries, as on a page.

    Each of a rule's text signals (error box, heading, warning, title...) is
    checked; the rule with the most of them in the message wins, and among
    equals the first in the profile, as the classifier takes the first rule
    that holds. A rule with no texts cannot be told from words. As on a page:
    the same page on another marketplace's host (``foreign_host``) is that
    host's rule, and a rule's investigation (a security mail quoted in
    ``context``) turns the verdict as the mailbox would.
    """
    profile = profile or load_profile()
    seen = _squash(message)
    if not seen:
        return None
    heard = _squash(reading(message))

    def carries(phrase: str) -> bool:
        written = _squash(phrase)
        return len(written) >= 4 and (written in seen or _squash(reading(phrase)) in heard)

    best: tuple[float, Rule] | None = None
    for rule in profile.rules:
        texts = [s.any for s in rule.all if s.region is not None]
        if not texts:
            continue
        hits = sum(any(carries(p) for p in group) for group in texts)
        if hits and (best is None or hits / len(texts) > best[0]):
            best = (hits / len(texts), rule)
    if best is None:
        for name, investigation in profile.mailbox.investigations.items():
            if any(_squash(s) in seen for s in investigation.subject_any):
                return name, investigation.verdict.value
        return None
    rule = best[1]
    if foreign_host:
        page = {s for s in rule.all if s.region is None and s.host is None}
        for other in profile.rules:
            signals = [s for s in other.all if s.host == "other_marketplace"]
            rest = {s for s in other.all if s.host is None}
            if signals and rest and rest <= page:
                return other.name, other.verdict.value
    if rule.investigate is not None and context:
        investigation = profile.mailbox.investigations[rule.investigate]
        folded = _squash(context)
        if any(_squash(s) in folded for s in investigation.subject_any):
            return rule.investigate, investigation.verdict.value
    return rule.name, rule.verdict.value


def _situation_for_rule(rule: str, verdict: str) -> str:
    lex = lexicon()
    mapped = lex.rules.get(rule)
    if mapped is not None and lex.situations[mapped].verdict == verdict:
        return mapped
    own = lex.situations_of(verdict)
    return own[0] if own else verdict


def score_seen(message: str, tally: _Tally, *, foreign_host: bool = False, context: str = "") -> str | None:
    """The rule a copied message decides by (its name), counted for its situation."""
    found = rule_for_message(message, foreign_host=foreign_host, context=context)
    if found is None:
        return None
    rule, verdict = found
    target = _situation_for_rule(rule, verdict)
    short = message.strip().splitlines()[0][:80]
    ja, en = _label(target)
    tally.add(
        target,
        SEEN_WEIGHT,
        Reason(
            "seen", short, SEEN_WEIGHT, f"画面の表示「{short}」は{ja}を示します", f'The message "{short}" means {en}'
        ),
    )
    return rule


@dataclass(frozen=True)
class AttachmentFinding:
    """What ``probe classify`` said of one attached file."""

    name: str
    verdict: str
    rule: str


def score_attachments(findings: Iterable[AttachmentFinding], tally: _Tally) -> None:
    for finding in findings:
        if finding.verdict == Verdict.OK:
            note = "サインインが最後まで進んだ記録です（原因はこのファイルの外にあります）"
            tally.reasons["ok"].append(
                Reason("attachment", finding.name, 0.0, note, "The file shows a sign-in that went through")
            )
            continue
        target = _situation_for_rule(finding.rule, finding.verdict)
        ja, en = _label(target)
        tally.add(
            target,
            ATTACHMENT_WEIGHT,
            Reason(
                "attachment",
                finding.name,
                ATTACHMENT_WEIGHT,
                f"添付ファイル {finding.name} の画面は{ja}を示します",
                f"The attached {finding.name} shows {en}",
            ),
        )


_JAPAN = ("jp", "japan", "co.jp", "日本", "amazon.co.jp")
_OTHER_MARKETPLACE = re.compile(r"sellercentral(?:-[a-z]+)?\.amazon\.(?!co\.jp)([a-z.]+)", re.IGNORECASE)


def shows_foreign_host(report: SellerReport) -> bool:
    """The report names a Seller Central host or marketplace other than Japan's."""
    if report.marketplace not in (None, *_JAPAN):
        return True
    return any(_OTHER_MARKETPLACE.search(t) for t in (report.url or "", report.seen or "", report.says))


def score_mail_quoted(text: str, tally: _Tally) -> None:
    """A security mail's subject quoted in the seller's words counts as the mailbox's finding would."""
    profile = load_profile()
    folded = _squash(text)
    for name, investigation in profile.mailbox.investigations.items():
        subject = next((s for s in investigation.subject_any if _squash(s) in folded), None)
        if subject is None:
            continue
        target = _situation_for_rule(name, investigation.verdict.value)
        ja, en = _label(target)
        tally.add(
            target,
            SEEN_WEIGHT,
            Reason(
                "seen",
                subject,
                SEEN_WEIGHT,
                f"届いたメール「{subject}」は{ja}を示します",
                f'The mail "{subject}" means {en}',
            ),
        )


def score_context(report: SellerReport, tally: _Tally, today: datetime.date) -> None:
    def context(target: str, weight: float, ja: str, en: str) -> None:
        tally.add(target, weight, Reason("context", ja, weight, ja, en))

    if report.two_step == "off":
        context("two_step_off", 3.0, "2段階認証: オフ（報告の記載）", "Two-step: off (as reported)")
    if report.marketplace not in (None, *_JAPAN):
        context("foreign_host", 3.0, f"マーケットプレイス: {report.marketplace}", f"Marketplace: {report.marketplace}")
    for text in (report.url or "", report.seen or "", report.says):
        found = _OTHER_MARKETPLACE.search(text)
        if found:
            context(
                "foreign_host", 4.0, f"日本以外のアドレス: {found.group(0)}", f"A non-Japan address: {found.group(0)}"
            )
            break
    if report.last_login is not None:
        days = (today - report.last_login).days
        if days > 365:
            years = days // 365
            context("dormant", 2.5, f"最終ログイン: 約{years}年前", f"Last sign-in: about {years} year(s) ago")
            context("two_step_legacy", 0.5, f"最終ログイン: 約{years}年前", f"Last sign-in: about {years} year(s) ago")
        elif days > 180:
            context("dormant", 1.0, "最終ログイン: 半年以上前", "Last sign-in: over six months ago")
    if report.device in ("iphone", "android"):
        context("phone_broken", 0.3, f"端末: {report.device}", f"Device: {report.device}")
    elif report.device == "desktop":
        context("desktop_broken", 0.3, "端末: PC", "Device: a computer")
    if report.two_step in ("sms", "voice"):
        context("otp_not_received", 0.3, f"2段階認証: {report.two_step}", f"Two-step: {report.two_step}")
    elif report.two_step == "app":
        context("otp_expired", 0.3, "2段階認証: 認証アプリ", "Two-step: authenticator app")


def rank(
    report: SellerReport,
    attachments: Sequence[AttachmentFinding] = (),
    *,
    today: datetime.date | None = None,
) -> list[Candidate]:
    """The likely causes, best first, with a confidence that sums to 1 over the causes listed."""
    tally = _Tally()
    score_words(report.says, tally)
    decided = None
    if report.seen:
        decided = score_seen(report.seen, tally, foreign_host=shows_foreign_host(report), context=report.says)
        score_words(report.seen, tally)
    if report.seen and decided is None and not attachments:
        short = report.seen.strip().splitlines()[0][:80]
        tally.add(
            "unknown_page",
            UNKNOWN_MESSAGE_WEIGHT,
            Reason(
                "seen",
                short,
                UNKNOWN_MESSAGE_WEIGHT,
                f"画面の表示「{short}」は、既知のどの画面のメッセージとも一致しません",
                f'The message "{short}" matches no page the profile knows',
            ),
        )
    if decided not in load_profile().mailbox.investigations:
        score_mail_quoted(report.says, tally)
    score_context(report, tally, today or datetime.date.today())
    score_attachments(attachments, tally)
    lex = lexicon()
    evidence = sum(r.weight for reasons in tally.reasons.values() for r in reasons if r.weight > 0)
    if evidence < LITTLE_EVIDENCE:
        # Too little to tell causes apart: say so first, and list the common causes after it.
        weight = max(lex.priors.values(), default=0.0) + 0.3
        tally.add(
            "unknown_page",
            weight,
            Reason(
                "context",
                report.says.strip()[:80],
                weight,
                "手がかりが少なく、原因を絞り込めません（質問で確認してください）",
                "Too little to go on: the cause cannot be narrowed down (ask the questions)",
            ),
        )
    for common, prior in lex.priors.items():
        tally.verdicts[common.value] += prior
    scores = {v: s for v, s in tally.verdicts.items() if v != Verdict.OK and s > 0}
    if not scores:
        return []
    top = max(scores.values())
    weights = {v: math.exp((s - top) / TEMPERATURE) for v, s in scores.items()}
    total = sum(weights.values())
    ordered = [
        v for i, v in enumerate(sorted(scores, key=lambda v: (-scores[v], v))) if i == 0 or weights[v] / total >= LISTED
    ][:MAX_CANDIDATES]
    candidates = []
    for verdict in ordered:
        situation = _best_situation(verdict, tally.situations)
        spec = lex.situations.get(situation)
        candidates.append(
            Candidate(
                verdict=verdict,
                situation=situation,
                confidence=weights[verdict] / total,
                why=sorted(tally.reasons.get(verdict, []), key=lambda r: -abs(r.weight)),
                scenario=spec.scenario if spec else None,
            )
        )
    return candidates


def _best_situation(verdict: str, scores: Mapping[str, float]) -> str:
    own = lexicon().situations_of(verdict)
    if not own:
        return verdict
    return max(own, key=lambda s: (scores.get(s, 0.0), -own.index(s)))


def questions_for(candidates: Sequence[Candidate]) -> list[Question]:
    """Questions that tell the top causes apart, when they are close."""
    if len(candidates) < 2:
        return []
    first = candidates[0]
    unsure = first.confidence < UNSURE
    close = [c for c in candidates[1:3] if unsure or c.confidence >= CLOSE * first.confidence]
    asked: list[Question] = []
    for other in close:
        pair = {first.verdict, other.verdict}
        for spec in lexicon().questions:
            if {v.value for v in spec.separates} == pair:
                asked.append(Question(spec.ja, spec.en, (spec.separates[0].value, spec.separates[1].value)))
    if close and not asked:  # no question for this exact pair: one that separates the first from anything
        for spec in lexicon().questions:
            if first.verdict in {v.value for v in spec.separates}:
                asked.append(Question(spec.ja, spec.en, (spec.separates[0].value, spec.separates[1].value)))
                break
    return asked
