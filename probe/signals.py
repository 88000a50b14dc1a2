"""What the browser shows, reduced to the facts the classifier may use.

Only what a person at the browser could see: the URL, the HTTP status, the
title, visible text of named regions, which of the real site's element ids are
visible, and events such as a failed connection. Nothing from the site's
internals, nothing from a scenario.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Page

from .profile import Profile

BODY_TEXT_LIMIT = 4000

# Runs in the page: which watched ids are visible, the text of each region.
_READ_PAGE_JS = """
(spec) => {
  const visible = (el) => !!el && !el.hidden && el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== 'hidden';
  const text = (el) => (el ? (el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' ') : '');
  const ids = spec.ids.filter((id) => visible(document.getElementById(id)));
  const selectors = Object.entries(spec.selectors)
    .filter(([, sel]) => Array.from(document.querySelectorAll(sel)).some(visible))
    .map(([name]) => name);
  const regions = {};
  for (const [name, sel] of Object.entries(spec.regions)) {
    const el = document.querySelector(sel);
    if (visible(el)) regions[name] = text(el).slice(0, 500);
  }
  const metas = spec.metas.filter((m) => document.querySelector(`meta[name="${m}"]`));
  return {title: document.title, ids, selectors, regions, metas,
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
class PageSignals:
    url: str
    host: str
    path: str
    status: int | None
    title: str
    ids: frozenset[str] = frozenset()
    selectors: frozenset[str] = frozenset()
    metas: frozenset[str] = frozenset()
    regions: dict[str, str] = field(default_factory=dict)

    def text(self, region: str) -> str:
        if region == "title":
            return self.title
        return self.regions.get(region, "")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("ids", "selectors", "metas"):
            data[key] = sorted(data[key])
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
        )


def read_page_script(profile: Profile) -> tuple[str, dict[str, Any]]:
    """The script and its argument for ``page.evaluate``; the sync API in tests uses them too."""
    spec = {
        "ids": list(profile.watch.ids),
        "selectors": dict(profile.watch.selectors),
        "regions": dict(profile.watch.regions),
        "metas": list(profile.watch.metas),
        "bodyLimit": BODY_TEXT_LIMIT,
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
    )


async def read_page(page: Page, profile: Profile, status: int | None) -> PageSignals:
    script, spec = read_page_script(profile)
    return signals_from(page.url, await page.evaluate(script, spec), status, profile)
