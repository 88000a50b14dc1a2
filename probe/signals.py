"""What the browser shows, reduced to the facts the classifier may use.

Only what a person at the browser could see, plus the page's structure: the
URL, the HTTP status, the title, visible text of named regions and headings,
visible alerts, which of the real site's element ids are visible, which watched
selectors match (visible, or merely present such as hidden inputs), the forms
with their fields by name and type (never their values), and events such as a
failed connection. Nothing from the site's internals, nothing from a scenario.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import CDPSession, Page
from playwright.async_api import Error as PlaywrightError

from .profile import Profile

BODY_TEXT_LIMIT = 4000
REGION_TEXT_LIMIT = 500
MAX_FORMS = 12
MAX_FIELDS = 40
MAX_HEADINGS = 8
MAX_ALERTS = 6

# What the page counts for the driver: (form, control or None[, text pattern]).
Query = tuple[str, str | None] | tuple[str, str, str]

# Runs in the page. Ids repeat on the real site, so every element carrying an
# id counts; a region is the text of all its visible matches.
_READ_PAGE_JS = """
(spec) => {
  // As Playwright sees it: a non-empty box and not visibility:hidden.
  const visible = (el) => {
    if (!el) return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const text = (el) => (el ? (el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' ') : '');
  const all = (sel) => Array.from(document.querySelectorAll(sel));
  const withId = (id) => all(`[id="${CSS.escape(id)}"]`);
  const ids = spec.ids.filter((id) => withId(id).some(visible));
  const selectors = Object.entries(spec.selectors)
    .filter(([, sel]) => all(sel).some(visible)).map(([name]) => name);
  const present = Object.entries(spec.selectors)
    .filter(([, sel]) => document.querySelector(sel) !== null).map(([name]) => name);
  const regions = {};
  for (const [name, sel] of Object.entries(spec.regions)) {
    const texts = all(sel).filter(visible).map(text).filter((t) => t);
    if (texts.length) regions[name] = texts.join(' / ').slice(0, spec.regionLimit);
  }
  const metas = spec.metas.filter((m) => document.querySelector(`meta[name="${m}"]`));
  const headings = all('h1, h2, h3, h4').filter(visible).map(text).filter((t) => t)
    .slice(0, spec.maxHeadings).map((t) => t.slice(0, 200));
  const alertSel = '.a-alert, .a-alert-inline, [role=alert], .cvf-widget-alert';
  const alerts = all(alertSel)
    .filter((el) => visible(el) && !(el.parentElement && el.parentElement.closest(alertSel)))
    .map(text).filter((t) => t).slice(0, spec.maxAlerts).map((t) => t.slice(0, 300));
  const attr = (el, name) => el.getAttribute(name) || '';
  const forms = Array.from(document.forms).slice(0, spec.maxForms).map((form) => ({
    name: attr(form, 'name'),
    id: attr(form, 'id'),
    method: (attr(form, 'method') || 'get').toLowerCase(),
    action: attr(form, 'action'),
    visible: visible(form),
    fields: Array.from(form.querySelectorAll('input, select, textarea, button'))
      .slice(0, spec.maxFields).map((el) => ({
        name: attr(el, 'name'),
        id: attr(el, 'id'),
        type: (attr(el, 'type') || (el.tagName === 'BUTTON' ? 'submit' : el.tagName === 'INPUT' ? 'text'
          : el.tagName.toLowerCase())).toLowerCase(),
        visible: visible(el),
      })),
  }));
  // Controls counted as a hint, [form, control or null, text pattern or null]: the forms, or
  // the visible controls in the one form (whose text matches the pattern). -1 where that
  // cannot be told here (not plain CSS, not one form).
  const shown = (el) => (!el.checkVisibility || el.checkVisibility()) && visible(el)
    && getComputedStyle(el).visibility === 'visible';
  const counts = (spec.controls || []).map(([form, control, pattern]) => {
    try {
      const forms = document.querySelectorAll(form);
      if (control === null) return forms.length;
      if (forms.length !== 1) return -1;
      const matching = pattern ? new RegExp(pattern) : null;
      return Array.from(forms[0].querySelectorAll(control)).filter(shown)
        .filter((el) => !matching || matching.test(el.textContent || '')).length;
    } catch (e) {
      return -1;
    }
  });
  return {title: document.title, ids, selectors, present, regions, metas, headings, alerts, forms,
          body: text(document.body).slice(0, spec.bodyLimit), counts};
}
"""


@dataclass(frozen=True)
class Event:
    """Something that happened in the browser, not on one page."""

    name: str
    url: str
    detail: str = ""


@dataclass(frozen=True)
class FormField:
    name: str
    id: str
    type: str
    visible: bool

    def describe(self) -> str:
        label = self.name or (f"#{self.id}" if self.id else "(unnamed)")
        return f"{label}[{self.type}{'' if self.visible else ', not shown'}]"


@dataclass(frozen=True)
class FormInfo:
    """A form on the page by its structure: where it posts and the names of its fields."""

    name: str
    id: str
    method: str
    action: str
    visible: bool
    fields: tuple[FormField, ...] = ()

    def describe(self) -> str:
        """One line: the form, where it posts, its fields a person sees, then the hidden ones by name."""
        label = "form" + (f"#{self.id}" if self.id else "") + (f"[name={self.name}]" if self.name else "")
        action = urlsplit(self.action)
        target = (action.path or "(this page)") + ("?…" if action.query else "")
        shown = [f.describe() for f in self.fields if f.type != "hidden"]
        hidden = [f.name or f.id or "?" for f in self.fields if f.type == "hidden"]
        text = f"{label} {self.method.upper()} {target}{'' if self.visible else ' (not shown)'}: "
        text += ", ".join(shown) or "no visible fields"
        return text + (f"; hidden: {', '.join(hidden)}" if hidden else "")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FormInfo:
        return cls(
            name=data.get("name", ""),
            id=data.get("id", ""),
            method=data.get("method", "get"),
            action=data.get("action", ""),
            visible=bool(data.get("visible", True)),
            fields=tuple(
                FormField(f.get("name", ""), f.get("id", ""), f.get("type", "text"), bool(f.get("visible", True)))
                for f in data.get("fields", ())
            ),
        )


@dataclass(frozen=True)
class PageSignals:
    url: str
    host: str
    path: str
    status: int | None
    title: str
    ids: frozenset[str] = frozenset()
    selectors: frozenset[str] = frozenset()  # watched selectors with a visible match
    metas: frozenset[str] = frozenset()
    regions: dict[str, str] = field(default_factory=dict)
    present: frozenset[str] = frozenset()  # watched selectors with any match, shown or not
    headings: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    forms: tuple[FormInfo, ...] = ()

    def text(self, region: str) -> str:
        if region == "title":
            return self.title
        return self.regions.get(region, "")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("ids", "selectors", "metas", "present"):
            data[key] = sorted(data[key])
        for key in ("headings", "alerts", "forms"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageSignals:
        return cls(
            url=data["url"],
            host=data["host"],
            path=data["path"],
            status=data.get("status"),
            title=data.get("title", ""),
            ids=frozenset(data.get("ids", ())),
            selectors=frozenset(data.get("selectors", ())),
            metas=frozenset(data.get("metas", ())),
            regions=dict(data.get("regions", {})),
            present=frozenset(data.get("present", ())),
            headings=tuple(data.get("headings", ())),
            alerts=tuple(data.get("alerts", ())),
            forms=tuple(FormInfo.from_dict(f) for f in data.get("forms", ())),
        )


def read_page_script(profile: Profile, controls: Sequence[Query] = ()) -> tuple[str, dict[str, Any]]:
    """The script and its argument for ``page.evaluate``; the sync API in tests uses them too."""
    spec: dict[str, Any] = {
        "ids": list(profile.watch.ids),
        "selectors": dict(profile.watch.selectors),
        "regions": dict(profile.watch.regions),
        "metas": list(profile.watch.metas),
        "bodyLimit": BODY_TEXT_LIMIT,
        "regionLimit": REGION_TEXT_LIMIT,
        "maxForms": MAX_FORMS,
        "maxFields": MAX_FIELDS,
        "maxHeadings": MAX_HEADINGS,
        "maxAlerts": MAX_ALERTS,
        "controls": [[*query, None][:3] for query in controls],
    }
    return _READ_PAGE_JS, spec


def signals_from(url: str, raw: dict[str, Any], status: int | None, profile: Profile) -> PageSignals:
    parts = urlsplit(url)
    regions = dict(raw["regions"])
    regions["body"] = raw["body"]
    return PageSignals(
        url=url,
        host=profile.canonical_host(parts.hostname or ""),
        path=parts.path or "/",
        status=status,
        title=raw["title"],
        ids=frozenset(raw["ids"]),
        selectors=frozenset(raw["selectors"]),
        metas=frozenset(raw["metas"]),
        regions=regions,
        present=frozenset(raw.get("present", ())),
        headings=tuple(raw.get("headings", ())),
        alerts=tuple(raw.get("alerts", ())),
        forms=tuple(FormInfo.from_dict(f) for f in raw.get("forms", ())),
    )


async def read_page(page: Page, profile: Profile, status: int | None) -> PageSignals:
    script, spec = read_page_script(profile)
    return signals_from(page.url, await page.evaluate(script, spec), status, profile)


class PageReader:
    """Reads one tab's pages, each in a single round trip to the browser.

    Over a DevTools session of the reader's own where the browser gives one:
    the page's own ``Runtime.evaluate``, with no helper script put in the page
    first, as Playwright's ``evaluate`` does on every new document. Where there
    is no such session (not Chromium, or a service that refuses one), through
    ``page.evaluate``: the same script, the same answer.
    """

    def __init__(self, page: Page, profile: Profile) -> None:
        self.page = page
        self.profile = profile
        self._session: asyncio.Future[CDPSession] | None = None

    def start(self) -> None:
        """Ask for the DevTools session now, so that it is there by the first read."""
        if self._session is None:
            self._session = asyncio.ensure_future(self.page.context.new_cdp_session(self.page))

    async def read(self, status: int | None, controls: Sequence[Query] = ()) -> tuple[PageSignals, list[int]]:
        """The page's signals, and a hint of how many elements each of ``controls`` matches (-1: unknown).

        A control is ``(form selector, control selector)``, or ``(form selector, None)``
        for the forms: the visible controls inside the one matching form; a third
        item, a regular expression, keeps those whose text matches it.
        """
        script, spec = read_page_script(self.profile, controls)
        session = await self._devtools()
        if session is None:
            raw = await self.page.evaluate(script, spec)
        else:
            raw = await _evaluate(session, f"({script})({json.dumps(spec)})")
        counts = [int(n) for n in raw.get("counts", ())]
        return signals_from(self.page.url, raw, status, self.profile), counts

    async def _devtools(self) -> CDPSession | None:
        self.start()
        assert self._session is not None
        try:
            return await asyncio.shield(self._session)
        except PlaywrightError:
            return None

    def close(self) -> None:
        """Let the DevTools session go, without waiting (a page kept open would keep it otherwise)."""
        asking, self._session = self._session, None
        if asking is None:
            return
        if not asking.done():
            asking.cancel()
            asking.add_done_callback(_retrieved)
            return
        if asking.cancelled() or asking.exception() is not None:
            return
        detaching = asyncio.ensure_future(asking.result().detach())
        _DETACHING.add(detaching)
        detaching.add_done_callback(_retrieved)


# Sessions being let go: held until done (a task nobody holds may be collected midway).
_DETACHING: set[asyncio.Future[None]] = set()


def _retrieved(done: asyncio.Future[Any]) -> None:
    """Done with: a failure (the page already closed, with its session) is of no interest."""
    _DETACHING.discard(done)
    if not done.cancelled():
        done.exception()


async def _evaluate(session: CDPSession, expression: str) -> Any:
    reply = await session.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
    if "exceptionDetails" in reply:
        details = reply["exceptionDetails"]
        error = details.get("exception", {}).get("description") or details.get("text", "script error")
        raise PlaywrightError(f"reading the page failed: {error}")
    return reply["result"]["value"]
