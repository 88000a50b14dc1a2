"""Support mode end to end: a seller's report in; ranked causes, reproductions on the mock and a reply out.

The attachments are classified first (as ``probe classify`` does), the causes
ranked, and the best ones (up to three) played on the bundled mock with the
scenario for each, adjusted to the seller's device and 2-step method. A
candidate is *reproduced* when the mock run ends in the same verdict; its
remedy is verified when the run's experiment let the sign-in through.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..browser import BrowserSession
from ..harness import play_all
from ..redact import SECRETS
from ..report import Result
from ..runner import RunOptions
from ..saved import classify_saved, load_saved
from ..scenarios import Scenario, load_scenario
from .rank import AttachmentFinding, Candidate, Question, questions_for, rank
from .reply import draft_reply
from .report import LoadedReport

MAX_REPRODUCED = 3
# Candidates below this share of the best one's confidence are listed, not played.
MIN_SHARE = 0.02
# Situations whose scenario is about one device: the report's device does not replace it.
_DEVICE_BOUND = {"phone_broken", "desktop_broken"}
# Situations whose scenario is about one 2-step method, or about 2-step being off.
_METHOD_BOUND = {"otp_not_received", "otp_expired", "otp_too_many", "lost_device", "two_step_off", "two_step_legacy"}


@dataclass
class Case:
    """Everything `probe reproduce` found for one report."""

    report: LoadedReport
    attachments: list[AttachmentFinding]
    candidates: list[Candidate]
    questions: list[Question]
    reply: dict[str, str]
    adjustments: dict[str, list[str]] = field(default_factory=dict)  # scenario -> what was changed for the seller

    def to_dict(self) -> dict[str, Any]:
        candidates = []
        for candidate in self.candidates:
            data = candidate.to_dict()
            data["adjusted"] = self.adjustments.get(candidate.situation, [])
            if candidate.result is not None:
                data["result"] = {
                    "verdict": candidate.result.verdict,
                    "rule": candidate.result.rule,
                    "detail": candidate.result.detail,
                    "detail_ja": candidate.result.detail_ja,
                    "artifacts": candidate.result.artifacts,
                }
            candidates.append(data)
        return {
            "report": str(self.report.source),
            "attachments": [{"name": a.name, "verdict": a.verdict, "rule": a.rule} for a in self.attachments],
            "candidates": candidates,
            "questions": [{"ja": q.ja, "en": q.en, "separates": list(q.separates)} for q in self.questions],
            "reply": self.reply,
        }


def adjust(scenario: Scenario, loaded: LoadedReport, situation: str) -> tuple[Scenario, list[str]]:
    """The bundled scenario with the seller's device and 2-step method, where the cause allows it."""
    report = loaded.report
    data = scenario.model_dump(by_alias=True)
    changes: list[str] = []
    if report.device and situation not in _DEVICE_BOUND and scenario.browser.device != report.device:
        data["browser"]["device"] = report.device
        changes.append(f"device: {scenario.browser.device} -> {report.device}")
    method = {"sms": "sms", "voice": "sms", "app": "totp"}.get(report.two_step or "")
    accounts = data["site"]["accounts"]
    if method and situation not in _METHOD_BOUND and accounts:
        account = next((a for a in accounts if a["email"] == scenario.credentials.email), accounts[0])
        if account["two_step"] not in ("none", method) and (method == "sms" or account.get("totp_secret")):
            changes.append(f"two-step: {account['two_step']} -> {method}")
            account["two_step"] = method
            if method == "sms":
                data["credentials"]["phone"] = account.get("phone_last_digits") or "123"
    if not changes:
        return scenario, []
    return Scenario.model_validate(data), changes


async def classify_attachments(loaded: LoadedReport, session: BrowserSession) -> list[AttachmentFinding]:
    # Every file is read (and its secrets registered) before any is classified.
    saved = [(path.name, load_saved(path)) for path in loaded.attachment_paths()]
    findings = []
    for name, page in saved:
        result = await classify_saved(page, session)
        findings.append(AttachmentFinding(name, result.verdict, result.rule))
    return findings


def rank_only(loaded: LoadedReport, attachments: Sequence[AttachmentFinding] = ()) -> Case:
    candidates = rank(loaded.report, attachments, today=datetime.date.today())
    return Case(
        report=loaded,
        attachments=list(attachments),
        candidates=candidates,
        questions=questions_for(candidates),
        reply=draft_reply(loaded.report, candidates),
    )


async def reproduce(
    loaded: LoadedReport,
    session: BrowserSession,
    *,
    out: Path | None = None,
    workers: int = 1,
    on_start: Callable[[Scenario], None] | None = None,
    on_done: Callable[[Result], None] | None = None,
) -> Case:
    """Rank the causes, play the best ones on the mock, and draft the reply.

    With ``out``, each reproduction keeps its artifacts (screenshots, trace,
    HAR, all scrubbed) in ``out/<scenario>``, and the candidates list the screenshots.
    """
    attachments = await classify_attachments(loaded, session)
    case = rank_only(loaded, attachments)
    chosen = _to_play(case.candidates)
    if not chosen:
        return case
    scenarios: list[Scenario] = []
    for candidate in chosen:
        assert candidate.scenario is not None
        scenario, changes = adjust(load_scenario(candidate.scenario), loaded, candidate.situation)
        case.adjustments[candidate.situation] = changes
        scenarios.append(scenario)
    options = RunOptions(out=out, workers=workers, on_start=on_start, on_done=on_done)
    results = await play_all(scenarios, session, options)
    for candidate, result in zip(chosen, results, strict=True):
        candidate.result = result
        candidate.reproduced = result.verdict == candidate.verdict
        candidate.remedy = result.remedy
        candidate.remedy_verified = result.remedy_verified
        if result.artifacts:
            candidate.screenshots = await asyncio.to_thread(_screenshots, Path(result.artifacts))
    case.reply = draft_reply(loaded.report, case.candidates)
    return case


def _screenshots(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png"))


def _to_play(candidates: Sequence[Candidate]) -> list[Candidate]:
    if not candidates:
        return []
    best = candidates[0].confidence
    chosen = [c for c in candidates if c.scenario and c.confidence >= MIN_SHARE * best]
    return chosen[:MAX_REPRODUCED]


def _mark(value: bool | None) -> str:
    return "not run" if value is None else ("yes" if value else "no")


def render_case(case: Case) -> str:
    """The case for a terminal: causes with reasons, reproductions, questions, the reply in both languages."""
    report = case.report.report
    said = " ".join(report.says.split())
    lines = [f"report    {case.report.source}", f"says      「{said[:70]}{'…' if len(said) > 70 else ''}」"]
    if report.seen:
        lines.append(f"seen      「{' '.join(report.seen.split())[:70]}」")
    for finding in case.attachments:
        lines.append(f"attached  {finding.name}: {finding.verdict} ({finding.rule})")
    if not case.candidates:
        lines.append("causes    none found in the report")
    for i, c in enumerate(case.candidates, 1):
        head = "causes    " if i == 1 else "          "
        lines.append(f"{head}{i}. {c.verdict} ({c.situation}) {c.confidence:.0%}")
        for reason in c.why[:3]:
            lines.append(f"             {'+' if reason.weight >= 0 else '-'} {reason.note_ja}")
        if c.scenario and (c.reproduced is not None or c.result is not None):
            verified = f", remedy {c.remedy} verified {_mark(c.remedy_verified)}" if c.remedy else ""
            changed = case.adjustments.get(c.situation) or []
            adjusted = f" [{'; '.join(changed)}]" if changed else ""
            lines.append(f"             scenario {c.scenario}{adjusted}: reproduced {_mark(c.reproduced)}{verified}")
            if c.result is not None and c.result.artifacts:
                lines.append(f"             artifacts {c.result.artifacts}")
    for i, q in enumerate(case.questions):
        head = "ask       " if i == 0 else "          "
        lines.append(f"{head}{q.ja}")
        lines.append(f"          {q.en}")
    lines += ["", "── reply (ja) ──", case.reply.get("ja", ""), "", "── reply (en) ──", case.reply.get("en", "")]
    return SECRETS.redact("\n".join(lines))
