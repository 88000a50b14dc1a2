"""Results and how they are shown: terminal text, JSON, JUnit XML, confusion table."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from .outcomes import Verdict, catalog
from .redact import SECRETS


@dataclass
class Result:
    scenario: str
    title: str
    verdict: str
    detail: str
    expected: str | None
    match: bool
    remedy: str | None
    remedy_verified: bool
    remedies_tried: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    hints: list[dict[str, str]] = field(default_factory=list)
    attempts: int = 1
    transient: bool | None = None
    duration_s: float = 0.0
    phases: list[dict[str, Any]] = field(default_factory=list)
    artifacts: str | None = None
    error: str | None = None
    rule: str = ""  # the profile rule (or investigation) that decided the verdict
    # How the verdict was reached: the stage whose finding stands, and each stage's step.
    decided_by: str = ""
    trail: list[dict[str, str]] = field(default_factory=list)
    # Other failures seen on the way, not the cause, each with its own remedy.
    secondary: list[dict[str, Any]] = field(default_factory=list)
    # ``detail`` in Japanese, for the seller (last, so positional construction stays as it was).
    detail_ja: str = ""
    # A scenario's journey: what each step saw (url, headings, alerts), and the checks of its expectation.
    journey: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    # A draft for Amazon's contact form when only Amazon can help: topic, store, email, message_ja, message_en.
    contact: dict[str, str] | None = None

    @property
    def remedy_text(self) -> dict[str, str] | None:
        if self.remedy is None:
            return None
        remedy = catalog().remedy(self.remedy)
        return {"ja": remedy.ja, "en": remedy.en}

    def to_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        # ``detail_ja`` is shown beside ``detail``; every other key keeps its place.
        data: dict[str, Any] = {}
        for key, value in fields.items():
            if key != "detail_ja":
                data[key] = value
            if key == "detail":
                data["detail_ja"] = fields["detail_ja"]
        data["remedy_text"] = self.remedy_text
        redacted: dict[str, Any] = SECRETS.redact_obj(data)
        return redacted


def to_json(result: Result) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2)


def summary(results: Sequence[Result], *, wall_s: float | None = None, not_run: int = 0) -> dict[str, Any]:
    """``duration_s`` is the sum of the scenarios' times; ``wall_s`` the run's elapsed time."""
    matched = sum(r.match for r in results)
    data = {
        "scenarios": len(results),
        "matched": matched,
        "mismatched": len(results) - matched,
        "verdicts_covered": sorted({r.verdict for r in results if r.match}),
        "duration_s": round(sum(r.duration_s for r in results), 2),
        "not_run": not_run,
    }
    if wall_s is not None:
        data["wall_s"] = round(wall_s, 2)
    return data


def many_to_json(results: Sequence[Result], *, wall_s: float | None = None, not_run: int = 0) -> str:
    payload = {"results": [r.to_dict() for r in results], "summary": summary(results, wall_s=wall_s, not_run=not_run)}
    return json.dumps(payload, ensure_ascii=False, indent=2)


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    query = f"?{parts.query}" if parts.query else ""
    if len(query) > 40:
        query = query[:37] + "..."
    return f"{parts.netloc}{parts.path}{query}"


def render_text(result: Result) -> str:
    mark = "✓" if result.match else "✗"
    expected = f"(expected {result.expected}) {mark}" if result.expected else ""
    lines = [
        f"scenario  {result.scenario} — {result.title}",
        f"verdict   {result.verdict}  {expected}".rstrip(),
        f"rule      {result.rule}",
        f"detail    {result.detail}",
    ]
    if result.detail_ja:
        lines.append(f"詳細      {result.detail_ja}")
    if result.error:
        lines.append(f"error     {result.error}")
    for i, ev in enumerate(result.evidence):
        head = "evidence  " if i == 0 else "          "
        status = f" [{ev['status']}]" if ev.get("status") else ""
        text = f'  "{ev["text"]}"' if ev.get("text") else ""
        lines.append(f"{head}{ev['rule']}: {ev['signal']} at {_short_url(ev['url'])}{status}{text}")
    if result.decided_by:
        lines.append(f"decided   by {result.decided_by}")
    for i, step in enumerate(result.trail):
        head = "trail     " if i == 0 else "          "
        lines.append(f"{head}{step['stage']}: {step['note']} -> {step['verdict']}")
    for finding in result.secondary:
        remedy = f" (remedy {finding['remedy']})" if finding.get("remedy") else ""
        lines.append(f"secondary {finding['verdict']}: {finding['rule']}{remedy}")
    for hint in result.hints:
        lines.append(f"hint      {hint['ja']}")
        lines.append(f"          {hint['en']}")
    if result.remedy:
        state = "verified" if result.remedy_verified else "not verified (advice)"
        lines.append(f"remedy    {result.remedy} — {state}")
        if result.remedies_tried:
            tried = ", ".join(f"{t['remedy']} {'✓' if t['fixed'] else '✗'}" for t in result.remedies_tried)
            lines.append(f"tried     {tried}")
        texts = result.remedy_text or {}
        lines.append(f"  ja: {texts.get('ja', '')}")
        lines.append(f"  en: {texts.get('en', '')}")
    for i, seen in enumerate(result.journey):
        head = "journey   " if i == 0 else "          "
        mark = "" if seen.get("ok", True) else f"  ✗ {seen.get('note', '')}"
        saw = "; ".join(seen.get("saw", [])[:2])
        lines.append(f"{head}{seen['step']}. {seen['do']} -> {_short_url(seen.get('url', ''))}{mark}")
        if saw:
            lines.append(f"             saw: {saw[:160]}")
    if result.checks:
        failed = [c for c in result.checks if not c.get("ok")]
        lines.append(f"checks    {len(result.checks) - len(failed)}/{len(result.checks)} hold")
        lines += [f"          ✗ {c['check']}: {c.get('detail', '')}" for c in failed]
    if result.contact:
        contact = result.contact
        store = contact.get("store") or "(store)"
        lines.append(f"contact   {contact.get('topic', '')} — {store} <{contact.get('email', '')}>")
    attempts = f", {result.attempts} attempts" if result.attempts > 1 else ""
    lines.append(f"time      {result.duration_s:.1f} s{attempts}")
    if result.artifacts:
        lines.append(f"artifacts {result.artifacts}")
    return SECRETS.redact("\n".join(lines))


def confusion_table(results: Sequence[Result]) -> str:
    """Expected verdicts as rows, what the probe said as numbered columns (the row numbers)."""
    counts = Counter((r.expected or "-", r.verdict) for r in results)
    known = [v.value for v in Verdict]
    labels = sorted(
        {e for e, _ in counts} | {g for _, g in counts},
        key=lambda v: (v not in known, known.index(v) if v in known else v),
    )
    number = {label: i + 1 for i, label in enumerate(labels)}
    width = max(len(label) for label in labels) + 4
    header = "expected \\ got".ljust(width) + "".join(f"{number[g]:>4}" for g in labels)
    lines = [header]
    for row in labels:
        if not any(e == row for e, _ in counts):
            continue
        cells = []
        for col in labels:
            n = counts.get((row, col), 0)
            cells.append(f"{(str(n) + ('' if row == col else '!')) if n else '.':>4}")
        lines.append(f"{number[row]:>2} {row}".ljust(width) + "".join(cells))
    expected = {e for e, _ in counts}
    lines += [f"{number[g]:>2} {g} (got, never expected)" for g in labels if g not in expected]
    return "\n".join(lines)


def render_many(results: Sequence[Result], *, wall_s: float | None = None, not_run: int = 0) -> str:
    lines = []
    for r in results:
        mark = "✓" if r.match else "✗"
        verified = " (remedy verified)" if r.remedy_verified else ""
        got = r.verdict if r.match else f"{r.verdict}, expected {r.expected}"
        lines.append(f"{mark} {r.scenario:<28} {got}{verified}  {r.duration_s:.1f} s")
    s = summary(results, wall_s=wall_s, not_run=not_run)
    if results:
        lines += ["", confusion_table(results)]
    lines.append("")
    lines.append(f"{s['matched']}/{s['scenarios']} scenarios as expected, {s['mismatched']} mismatched")
    if not_run:
        lines.append(f"{not_run} not run")
    wall = f", {s['wall_s']} s wall time" if "wall_s" in s else ""
    lines.append(f"{s['duration_s']} s of scenario time{wall}")
    return SECRETS.redact("\n".join(lines))


def junit_xml(results: Sequence[Result], name: str = "probe", *, not_run: Sequence[str] = ()) -> str:
    """``not_run``: scenarios an interruption or a failure of the probe kept from running (skipped)."""
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(results) + len(not_run)),
        failures=str(sum(not r.match and not r.error for r in results)),
        errors=str(sum(bool(r.error) for r in results)),
        skipped=str(len(not_run)),
        time=f"{sum(r.duration_s for r in results):.3f}",
    )
    for r in results:
        case = ET.SubElement(
            suite, "testcase", classname=f"{name}.scenarios", name=r.scenario, time=f"{r.duration_s:.3f}"
        )
        if r.error:
            ET.SubElement(case, "error", type="infrastructure", message=r.error)
        elif not r.match:
            failure = ET.SubElement(case, "failure", type=r.verdict, message=f"got {r.verdict}, expected {r.expected}")
            failure.text = r.detail
        out = ET.SubElement(case, "system-out")
        out.text = render_text(r)
    for skipped in not_run:
        case = ET.SubElement(suite, "testcase", classname=f"{name}.scenarios", name=skipped, time="0.000")
        ET.SubElement(case, "skipped", message="not run: the run was interrupted or the probe failed")
    xml: str = ET.tostring(suite, encoding="unicode", xml_declaration=True)
    return SECRETS.redact(xml)
