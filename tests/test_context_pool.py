"""Browser contexts reused across fleet accounts: what a pooled context is wiped of, and that it is.

The proof: account A signs in, its context is then made to hold every kind of
site data a page can leave (cookies, local and session storage, IndexedDB, cache
storage) and an extra page; it goes back to the pool; account B gets that very
context, which at that moment holds no cookie, no page and no storage of A, and
B gets B's own verdict. Without the wipe the same check sees A's leftovers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import probe.browser
from fixtures.mock_site import MockServer, SiteConfig
from probe.browser import BrowserSession, ContextPool, _Pooled, stored_bytes
from probe.fleet import FleetOptions, artifact_name, check_account, check_fleet, generate_fleet, parse_fleet

from .conftest import run_async, run_cli

PLANT = """async () => {
    localStorage.setItem("planted", "A");
    sessionStorage.setItem("planted", "A");
    await new Promise((done, fail) => {
        const request = indexedDB.open("planted", 1);
        request.onupgradeneeded = () => request.result.createObjectStore("things");
        request.onsuccess = () => { request.result.close(); done(); };
        request.onerror = () => fail(request.error);
    });
    const cache = await caches.open("planted");
    await cache.put("/planted", new Response("A"));
    document.cookie = "planted=A; path=/";
}"""

LOOK = """async () => ({
    cookie: document.cookie,
    local: Object.keys(localStorage),
    session: Object.keys(sessionStorage),
    idb: (await indexedDB.databases()).map((d) => d.name),
    caches: await caches.keys(),
})"""

# A document of the site's origin served by the browser itself: reading storage there sets no cookie.
LOOKOUT = "/__context_pool_lookout__"


async def look(pooled: _Pooled, origin: str) -> dict[str, Any]:
    """What a context holds: its cookies and pages, and what a page of ``origin`` finds stored."""
    context = pooled.context
    cookies = [c["name"] for c in await context.cookies()]
    pages = len(context.pages)
    page = await context.new_page()
    try:
        await page.route(
            f"**{LOOKOUT}",
            lambda route: route.fulfill(body="<!doctype html><title>.</title>", content_type="text/html"),
        )
        await page.goto(origin + LOOKOUT)
        stored: dict[str, Any] = await page.evaluate(LOOK)
    finally:
        await page.close()
    return {"cookies": cookies, "pages": pages, **stored}


CLEAN = {"cookies": [], "pages": 1, "cookie": "", "local": [], "session": [], "idb": [], "caches": []}


class WatchedPool(ContextPool):
    """A pool that, for the test, fills a context with site data before it goes back and looks into it when taken."""

    def __init__(self, session: BrowserSession, origin: str) -> None:
        super().__init__(session, 1)
        self.origin = origin
        self.left: list[dict[str, Any]] = []  # what each context held when it went back, after planting
        self.found: list[dict[str, Any]] = []  # what each context held when a sign-in got it
        self.contexts: list[object] = []

    async def _take(self, device: str) -> _Pooled:
        pooled = await super()._take(device)
        self.contexts.append(pooled.context)
        self.found.append(await look(pooled, self.origin))
        return pooled

    async def _give_back(self, pooled: _Pooled) -> None:
        page = await pooled.context.new_page()  # stays open: the wipe must close it
        await page.goto(self.origin + "/")
        await page.evaluate(PLANT)
        # Session storage belongs to the tab: what the planting tab holds, as another tab sees the rest.
        session = (await page.evaluate(LOOK))["session"]
        stored = await stored_bytes(pooled.context, pooled.kept, {self.origin})
        self.left.append({**await look(pooled, self.origin), "session": session, "stored": stored})
        await super()._give_back(pooled)


def check_three(monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[WatchedPool, list[str | None], str]:
    generated = generate_fleet(3, mix=("ok", "wrong_password", "ok"), seed="context-pool")
    with MockServer(SiteConfig.model_validate(generated.site)) as server:
        fleet = parse_fleet(generated.fleet_data(server.url()))
        origin = server.url().rstrip("/")

        async def run() -> tuple[WatchedPool, list[str | None]]:
            async with BrowserSession(skip_media=True) as session:
                pool = WatchedPool(session, origin)
                async with pool:
                    verdicts = []
                    for account in fleet.accounts:
                        checked = await check_account(account, session, generated.env, pool=pool)
                        assert checked.error is None, checked.error
                        verdicts.append(checked.verdict)
                return pool, verdicts

        pool, verdicts = run_async(run())
    assert list(generated.expected.values()) == ["ok", "credentials_invalid", "ok"]
    return pool, verdicts, origin


def test_the_next_account_starts_with_nothing_of_the_last() -> None:
    pool, verdicts, _ = check_three()
    # One context served all three accounts, one after another.
    assert pool.opened == 1
    assert pool.reused == 2
    assert pool.discarded == 0
    assert len(set(map(id, pool.contexts))) == 1
    # A's context, when it went back, held A's session, the planted data and an extra page ...
    for left in pool.left:
        assert "planted" in left["cookies"]
        assert len(left["cookies"]) > 1
        assert left["pages"] >= 2
        assert left["stored"] > 0  # what the wipe's own check counts (IndexedDB, cache storage)
        assert left["local"] == left["session"] == left["idb"] == left["caches"] == ["planted"]
    # ... and the next account found none of it: only the kept blank page, no cookie, no storage.
    assert pool.found == [CLEAN, CLEAN, CLEAN]
    # Each account got its own verdict: B's wrong password is not hidden by A's session.
    assert verdicts == ["ok", "credentials_invalid", "ok"]


def test_without_the_wipe_the_next_account_would_inherit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: skip the wipe (close the pages only) and A's leftovers are found."""

    async def pages_only(context: Any, kept: Any, origins: set[str]) -> None:
        for page in context.pages:
            if page is not kept:
                await page.close()

    monkeypatch.setattr(probe.browser, "wipe", pages_only)
    pool, verdicts, _ = check_three()
    assert pool.found[0] == CLEAN  # a new context
    leaked = pool.found[1]
    assert "planted" in leaked["cookies"]
    assert leaked["local"] == ["planted"]
    assert leaked["idb"] == ["planted"]
    assert verdicts[1] != "credentials_invalid"  # B rode on A's session


def test_a_context_that_failed_or_stays_dirty_is_not_reused() -> None:
    with MockServer(SiteConfig.model_validate(generate_fleet(1).site)) as server:
        origin = server.url().rstrip("/")

        async def run() -> tuple[int, int, int, int]:
            async with BrowserSession(skip_media=True) as session, ContextPool(session, 2) as pool:
                with pytest.raises(RuntimeError):
                    async with pool.context() as context:
                        raise RuntimeError("the sign-in broke")
                assert pool.idle() == 0
                async with pool.context() as context:
                    # A page that navigated the kept page away from about:blank: nothing can say what it left.
                    await context.pages[0].goto(origin + "/")
                after_dirty = pool.idle()
                async with pool.context() as context:
                    await (await context.new_page()).goto(origin + "/")
                return after_dirty, pool.idle(), pool.opened, pool.discarded

        after_dirty, idle, opened, discarded = run_async(run())
    assert after_dirty == 0
    assert (idle, opened, discarded) == (1, 3, 2)


def test_only_the_same_device_is_reused_and_idle_contexts_are_bounded() -> None:
    async def run() -> tuple[list[str], int, int, int]:
        async with BrowserSession(skip_media=True) as session, ContextPool(session, 1) as pool:
            agents = []
            async with pool.context("desktop") as desktop, pool.context("desktop") as second:
                assert desktop is not second
                agents.append(await desktop.pages[0].evaluate("navigator.userAgent"))
            idle_desktop = pool.idle("desktop")  # two went back, one is kept
            async with pool.context("iphone") as phone:
                assert phone is not desktop
                agents.append(await phone.pages[0].evaluate("navigator.userAgent"))
            async with pool.context("desktop") as again:
                assert again in (desktop, second)
            return agents, idle_desktop, pool.idle("iphone"), pool.opened

    agents, idle_desktop, idle_phone, opened = run_async(run())
    assert "iPhone" not in agents[0]
    assert "iPhone" in agents[1]
    assert (idle_desktop, idle_phone, opened) == (1, 1, 3)


def test_a_fleet_reuses_contexts_and_keeps_each_verdict() -> None:
    generated = generate_fleet(6, mix=("ok", "suspended", "wrong_password"), seed="pooled-fleet")
    opened: list[ContextPool] = []
    real_init = ContextPool.__init__

    def init(self: ContextPool, session: BrowserSession, size: int) -> None:
        real_init(self, session, size)
        opened.append(self)

    with MockServer(SiteConfig.model_validate(generated.site)) as server:
        fleet = parse_fleet(generated.fleet_data(server.url()))

        async def run() -> dict[str, str | None]:
            async with BrowserSession(skip_media=True) as session:
                ContextPool.__init__ = init  # type: ignore[method-assign]
                try:
                    results = await check_fleet(fleet, session, generated.env, FleetOptions(workers=2))
                finally:
                    ContextPool.__init__ = real_init  # type: ignore[method-assign]
            return {r.account.name: r.verdict for r in results}

        got = run_async(run())
    assert got == generated.expected
    (pool,) = opened
    assert pool.opened <= 2 + pool.discarded
    assert pool.reused >= 6 - pool.opened


def test_fleet_artifacts_go_under_each_account(tmp_path: Path) -> None:
    generated = generate_fleet(2, mix=("ok", "wrong_password"), seed="fleet-out")
    out = tmp_path / "out"
    with MockServer(SiteConfig.model_validate(generated.site)) as server:
        path = generated.write(tmp_path / "fleet.yaml", server.url())
        done = run_cli("fleet", str(path), "--out", str(out), "--json-lines", env=generated.env, timeout=300)
    assert done.returncode == 1, done.stderr
    names = list(generated.expected)
    assert sorted(p.name for p in out.iterdir()) == names
    for name in names:
        result = json.loads((out / name / "result.json").read_text(encoding="utf-8"))
        assert result["verdict"] == generated.expected[name]
        lines = (out / name / "log.jsonl").read_text(encoding="utf-8").splitlines()
        runs = {json.loads(line).get("run") for line in lines}
        assert runs == {name}  # this account's own events, none of the other's
        assert (out / name / "network.har").is_file()  # a context of its own, recorded


@pytest.mark.parametrize(
    ("name", "safe"),
    [("shop-001", True), ("sakura.zakka_2", True), ("../etc", False), ("a/b", False), (".", False), ("店舗", False)],
)
def test_artifact_names_stay_inside_the_folder(name: str, safe: bool) -> None:
    folder = artifact_name(name)
    assert (folder == name) is safe
    assert "/" not in folder
    assert folder not in ("", ".", "..")
    assert Path("/out", folder).resolve().parent == Path("/out")
    assert artifact_name("a/b") != artifact_name("a_b")
    assert artifact_name("a/b") != artifact_name("a:b")
