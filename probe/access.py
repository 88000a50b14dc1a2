"""Which Seller Central tools a signed-in user may open (``probe access``).

The sign-in is the probe's own diagnosis; once it reaches home, each tool's
page is opened in the same browser context and read like any other page: a
tool is allowed when its page loads as a Seller Central page (the
``anti-csrftoken-a2z`` meta) and shows no refusal; denied otherwise, with the
page's own message. Tool paths are data in the profile (``tools:``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from .browser import BrowserSession
from .diagnosis import Target
from .errors import UsageError
from .evidence import Recorder
from .flow import Credentials
from .outcomes import Verdict
from .profile import Profile, load_profile
from .redact import SECRETS
from .report import Result
from .runner import RunOptions, _diagnoser, _outcome_result, _recorded, _register_cookie_values

# The refusals a tool page may show, by the profile's watched regions, most specific first.
REFUSALS = ("permission_denied", "invitation", "no_permission")
PAGE_TIMEOUT_MS = 30_000


@dataclass
class ToolAccess:
    tool: str
    url: str
    allowed: bool
    status: int | None
    message: str = ""


@dataclass
class AccessReport:
    verdict: str
    sign_in: Result
    tools: list[ToolAccess] = field(default_factory=list)

    @property
    def all_allowed(self) -> bool:
        return self.verdict == Verdict.OK.value and all(t.allowed for t in self.tools)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "detail": self.sign_in.detail,
            "tools": [asdict(t) for t in self.tools],
        }


def tool_paths(profile: Profile, names: Sequence[str] | None = None) -> dict[str, str]:
    """The tools to check (all the profile knows, without ``names``), name -> path."""
    known = dict(profile.tools)
    if not names:
        return known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown tool {unknown[0]!r}; known: {', '.join(sorted(known))}")
    return {n: known[n] for n in dict.fromkeys(names)}


async def _check_tool(page: Page, profile: Profile, tool: str, url: str) -> ToolAccess:
    try:
        response = await page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
    except PlaywrightError as exc:
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        return ToolAccess(tool, url, False, None, SECRETS.redact(f"the page did not load: {first[:160]}"))
    status = response.status if response is not None else None
    regions = profile.watch.regions
    for name in REFUSALS:
        selector = regions.get(name)
        if selector is None:
            continue
        shown = page.locator(selector).filter(visible=True)
        if await shown.count():
            text = " ".join((await shown.first.inner_text()).split())
            return ToolAccess(tool, url, False, status, SECRETS.redact(text))
    meta = await page.locator("meta[name='anti-csrftoken-a2z']").count()
    landed = urlsplit(page.url)
    if landed.path != urlsplit(url).path:
        return ToolAccess(tool, url, False, status, f"sent elsewhere: {landed.path}")
    if status is not None and status >= 400:
        return ToolAccess(tool, url, False, status, f"HTTP {status}")
    if not meta:
        return ToolAccess(tool, url, False, status, "not a signed-in Seller Central page")
    return ToolAccess(tool, url, True, status)


async def check_access(
    url: str,
    credentials: Credentials,
    session: BrowserSession,
    options: RunOptions,
    *,
    tools: Sequence[str] | None = None,
    device: str = "desktop",
) -> AccessReport:
    """Sign in at ``url`` with the probe's diagnosis, then open each tool's page in the same context."""
    profile = load_profile()
    wanted = tool_paths(profile, tools)
    started = time.perf_counter()
    name = "access"
    checked: list[ToolAccess] = []

    async def run(recorder: Recorder) -> Result:
        context: BrowserContext
        async with session.context(device, **recorder.context_options()) as context, recorder.tracing(context):
            target = Target(url, profile)
            outcome = await _diagnoser(
                session, context, target, credentials, options, recorder, name=name, device=device
            ).run()
            if outcome.verdict is Verdict.OK:
                base = outcome.final.url if outcome.final is not None else url
                page = await context.new_page()
                for tool, path in wanted.items():
                    checked.append(await _check_tool(page, profile, tool, urljoin(base, path)))
                await page.close()
            await _register_cookie_values(context, profile)
        result = _outcome_result(name, url, outcome, started, expected=None, match=outcome.verdict is Verdict.OK)
        if recorder.enabled:
            recorder.write_json("access.json", {"tools": [asdict(t) for t in checked]})
        return result

    result = await _recorded(name, options, profile, run)
    return AccessReport(verdict=result.verdict, sign_in=result, tools=checked)


def render_access(report: AccessReport) -> str:
    """A table of the tools, after the sign-in's verdict."""
    lines = [f"sign-in  {report.verdict}" + (f"  ({report.sign_in.detail})" if report.verdict != "ok" else "")]
    if not report.tools:
        if report.verdict != Verdict.OK.value:
            lines.append("tools    not checked: the sign-in did not reach Seller Central home")
        return "\n".join(lines)
    width = max(len(t.tool) for t in report.tools)
    lines.append("")
    lines.append(f"{'TOOL':<{width}}  {'ACCESS':<7}  {'STATUS':<6}  PATH / MESSAGE")
    for t in report.tools:
        access = "allowed" if t.allowed else "denied"
        status = str(t.status) if t.status is not None else "-"
        where = urlsplit(t.url).path
        lines.append(f"{t.tool:<{width}}  {access:<7}  {status:<6}  {where}" + (f"  {t.message}" if t.message else ""))
    return "\n".join(lines)
