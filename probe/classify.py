"""Signals seen in the browser -> a verdict and the evidence that decided it.

Pure functions over ``PageSignals`` and ``Event``s, driven by the profile's
rules. A page that no rule explains is ``unrecognized``: the probe says so and
shows what it saw instead of guessing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from .outcomes import Verdict
from .profile import PageKind, Profile, Rule, Signal
from .signals import Event, PageSignals

EVIDENCE_TEXT_LIMIT = 200
FORM_TEXT_LIMIT = 400  # a form's fields by name: longer than a sentence


@dataclass(frozen=True)
class Evidence:
    rule: str
    signal: str
    url: str
    status: int | None = None
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Diagnosis:
    verdict: Verdict
    rule: str
    detail: str
    evidence: tuple[Evidence, ...]
    experiments: tuple[str, ...] = ()
    if_unfixed: Verdict | None = None
    investigate: str | None = None
    # The rule's own remedy; None means the verdict's default one.
    remedy: str | None = None
    # Other findings on the same page: what the cause brought along (a captcha
    # after the failures a wrong password caused), each with its own remedy.
    secondary: tuple[Diagnosis, ...] = ()
    # Every rule that matched the page, the deciding one first, and why it decides.
    matched: tuple[str, ...] = ()
    why: str = ""
    # ``detail`` in Japanese, for the seller.
    detail_ja: str = ""


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _status_matches(pattern: str, status: int | None) -> bool:
    if status is None:
        return False
    if pattern.endswith("xx"):
        return status // 100 == int(pattern[0])
    return status == int(pattern)


def match_signal(
    signal: Signal, rule: str, page: PageSignals | None, events: Sequence[Event], profile: Profile
) -> Evidence | None:
    """Evidence for ``signal`` if it holds, else None."""
    if signal.event is not None:
        event = next((e for e in events if e.name == signal.event), None)
        return Evidence(rule, f"event:{signal.event}", event.url, None, event.detail) if event else None
    if page is None:
        return None

    def found(label: str, text: str = "") -> Evidence:
        return Evidence(rule, label, page.url, page.status, text[:EVIDENCE_TEXT_LIMIT])

    if signal.id is not None:
        return found(f"id:#{signal.id}") if signal.id in page.ids else None
    if signal.selector is not None:
        return found(f"selector:{signal.selector}") if signal.selector in page.selectors else None
    if signal.present is not None:
        return found(f"present:{signal.present}") if signal.present in page.present else None
    if signal.meta is not None:
        return found(f"meta:{signal.meta}") if signal.meta in page.metas else None
    if signal.path is not None:
        return found("path", page.path) if re.search(signal.path, page.path) else None
    if signal.status is not None:
        return found("status", str(page.status)) if _status_matches(signal.status, page.status) else None
    if signal.host is not None:
        return found("host", page.host) if _host_is(signal.host, page.host, profile) else None
    assert signal.region is not None
    text = page.text(signal.region)
    folded = _fold(text)
    if any(_fold(pattern) in folded for pattern in signal.any):
        return found(f"text:{signal.region}", text)
    return None


def _host_is(what: str, host: str, profile: Profile) -> bool:
    marketplace = profile.marketplace_of(host)
    if what == "unknown":
        return marketplace is None
    if what == "home_marketplace":
        return marketplace == profile.home_marketplace
    return marketplace is not None and marketplace != profile.home_marketplace


def _all_hold(
    signals: Sequence[Signal], name: str, page: PageSignals | None, events: Sequence[Event], profile: Profile
) -> list[Evidence] | None:
    evidence = []
    for signal in signals:
        found = match_signal(signal, name, page, events, profile)
        if found is None:
            return None
        evidence.append(found)
    return evidence


def page_kind(page: PageSignals, profile: Profile) -> PageKind | None:
    """Which page of the sign-in flow this is, if the driver knows it."""
    for kind in profile.pages:
        if _all_hold(kind.all, kind.kind, page, (), profile) is not None:
            return kind
    return None


def match_rule(rule: Rule, page: PageSignals | None, events: Sequence[Event], profile: Profile) -> Diagnosis | None:
    evidence = _all_hold(rule.all, rule.name, page, events, profile)
    if evidence is None:
        return None
    group = profile.experiments.get(rule.experiments) if rule.experiments else None
    detail, detail_ja = rule.detail, rule.detail_ja
    if rule.verdict is Verdict.UNRECOGNIZED:
        # The probe's own failure: say which control, then what the page showed.
        said = [e.text for e in evidence if e.signal.startswith("event:") and e.text]
        detail = " ".join([detail, *said])
        detail_ja = " ".join([detail_ja, *said])
        evidence += seen(page)
    return Diagnosis(
        rule.verdict,
        rule.name,
        detail,
        tuple(evidence),
        group.remedies if group else (),
        group.if_unfixed if group else None,
        rule.investigate,
        rule.remedy,
        detail_ja=detail_ja,
    )


def classify(page: PageSignals | None, events: Sequence[Event], profile: Profile) -> Diagnosis:
    """The verdict for a sign-in that stopped on ``page`` after ``events``.

    Rules come first, so a signed-in page that carries a suspension notice or
    a permission error is not mistaken for success. Every rule that matches is
    a finding; the profile's precedence (else the rules' order) picks the cause,
    and the others are kept as secondary findings.
    """
    found = [d for rule in profile.rules if (d := match_rule(rule, page, events, profile))]
    if found:
        return rank(found, profile)
    kind = page_kind(page, profile) if page is not None else None
    if kind is not None and kind.action == "done":
        evidence = _all_hold(kind.all, "reached_home", page, (), profile)
        return Diagnosis(
            Verdict.OK,
            "reached_home",
            "Reached a signed-in Seller Central page.",
            tuple(evidence or ()),
            detail_ja="ログイン後のセラーセントラルの画面に到達しました。",
        )
    diagnosis = unrecognized(page, events, kind.kind if kind is not None else None)
    return _with_browser_experiments(diagnosis, page, kind, profile)


def _with_browser_experiments(
    diagnosis: Diagnosis, page: PageSignals | None, kind: PageKind | None, profile: Profile
) -> Diagnosis:
    """An error no rule names, on a sign-in page: still unrecognized, after the browser experiments."""
    unexplained = profile.unexplained
    if unexplained is None or page is None or kind is None or kind.kind not in unexplained.pages:
        return diagnosis
    shown = next((e for s in unexplained.any if (e := match_signal(s, "unrecognized", page, (), profile))), None)
    if shown is None:
        return diagnosis
    group = profile.experiments[unexplained.experiments]
    return replace(diagnosis, experiments=group.remedies, if_unfixed=Verdict.UNRECOGNIZED)


def rank(found: Sequence[Diagnosis], profile: Profile) -> Diagnosis:
    """The cause among several findings on one page, with the others as secondary findings."""

    def outranked(d: Diagnosis) -> bool:
        return any(profile.outranks(other.rule, d.rule) for other in found if other is not d)

    cause = next((d for d in found if not outranked(d)), found[0])
    secondary: list[Diagnosis] = []
    reasons: list[str] = []
    for d in found:
        if d is cause:
            continue
        entry = next((p for c in found if (p := profile.outranks(c.rule, d.rule))), None)
        if entry is not None:
            reasons.append(f"{entry.rule} over {d.rule}: {entry.why}")
            if entry.explains:
                continue
        if d.verdict is not cause.verdict and all(d.verdict is not s.verdict for s in secondary):
            secondary.append(d)
    matched = (cause.rule, *(d.rule for d in found if d is not cause))
    return replace(cause, secondary=tuple(secondary), matched=matched, why=" ".join(reasons))


def seen(page: PageSignals | None) -> list[Evidence]:
    """What a page showed, for a verdict that cannot name a cause: URL, title, headings, alerts, forms."""
    if page is None:
        return []

    def item(signal: str, text: str, limit: int = EVIDENCE_TEXT_LIMIT) -> Evidence:
        return Evidence("unrecognized", signal, page.url, page.status, text[:limit])

    evidence = [item("url", page.title)]
    for region in ("heading", "error_heading", "error", "warning"):
        text = page.regions.get(region)
        if text:
            evidence.append(item(f"text:{region}", text))
    evidence += [item("heading", h) for h in page.headings if h != page.regions.get("heading")]
    evidence += [item("alert", a) for a in page.alerts]
    evidence += [item("form", f.describe(), FORM_TEXT_LIMIT) for f in page.forms if f.visible]
    return evidence


def unrecognized(page: PageSignals | None, events: Sequence[Event], kind: str | None = None) -> Diagnosis:
    evidence: list[Evidence] = [Evidence("unrecognized", f"event:{e.name}", e.url, None, e.detail) for e in events]
    if page is None:
        return Diagnosis(
            Verdict.UNRECOGNIZED,
            "unrecognized",
            "No page was shown and no rule explains why.",
            tuple(evidence),
            detail_ja="ページが表示されず、その理由を説明できるルールもありません。",
        )
    evidence += seen(page)
    shown = page.title or page.path
    if kind is not None:
        # A step of the sign-in the probe knows, with nothing on it that says what went wrong.
        detail = f"The sign-in stopped on the {kind} page ({shown!r}) with no message a rule explains."
        detail_ja = f"ログインは既知の画面（{kind}: {shown!r}）で止まり、ルールで説明できるメッセージはありません。"
    else:
        detail = f"The sign-in stopped on a page no rule explains: {shown!r}."
        detail_ja = f"ログインは、どのルールでも説明できない画面で止まりました: {shown!r}。"
    return Diagnosis(Verdict.UNRECOGNIZED, "unrecognized", detail, tuple(evidence), detail_ja=detail_ja)
