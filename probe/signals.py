"""What the browser shows, reduced to the facts the classifier may use.

Only what a person at the browser could see, plus the page's structure: the
URL, the HTTP status, the title, visible text of named regions and headings,
visible alerts, which of the real site's element ids are visible, which watched
selectors match (visible, or merely present such as hidden inputs), the forms
with their fields by name and type (never their values), and events such as a
failed connection. Nothing from the site's internals, nothing from a scenario.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Page

from .profile import Profile

BODY_TEXT_LIMIT = 4000
REGION_TEXT_LIMIT = 500
MAX_FORMS = 12
MAX_FIELDS = 40
MAX_HEADINGS = 8
MAX_ALERTS = 6

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
  return {title: document.title, ids, selectors, present, regions, metas, headings, alerts, forms,
          body: text(document.body).slice(0, spec.bodyLimit)};
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


def read_page_script(profile: Profile) -> tuple[str, dict[str, Any]]:
    """The script and its argument for ``page.evaluate``; the sync API in tests uses them too."""
    spec = {
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
