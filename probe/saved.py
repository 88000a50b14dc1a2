"""Pages a customer saved: the verdict from a saved web page or a HAR, without a live sign-in.

Three kinds of file come in:

- a web page saved by Chrome ("Save page as", HTML only or complete), which
  starts with ``<!-- saved from url=(NNNN)URL -->``;
- an MHTML file (Chrome's "single file"), a MIME message whose headers give the
  original URL (``Snapshot-Content-Location``) and whose HTML part is usually
  quoted-printable;
- a HAR file exported from the browser's developer tools: every request of the
  sign-in, in order, with the bodies of the pages.

The page is shown to Chromium with scripts off and the network cut: the document
is served from the file at its original URL (so host and path signals are
right), the stylesheets and images the file holds are served from it, and every
other request is aborted. The probe's own reader and classifier then decide, as
they do after a live sign-in. From a HAR the chain of sign-in documents also
gives the events a live run would have seen: a redirect loop back to the sign-in
page, a network failure.

Secrets in the file (passwords, one-time codes, cookie values, session tokens in
form bodies, headers and query strings) are registered with the redactor as the
file is read, before anything is shown, and left out of URLs and evidence.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import json
import mimetypes
import posixpath
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Route

from .browser import BrowserSession
from .classify import Diagnosis, classify
from .errors import InfraError, UsageError
from .outcomes import Verdict, catalog
from .profile import Profile, load_profile
from .redact import MASK, SECRETS, Redactor, own_secrets
from .report import Result
from .signals import Event, PageSignals, read_page

SavedKind = Literal["html", "mhtml", "har"]

KIND_LABELS: dict[SavedKind, str] = {"html": "saved web page", "mhtml": "saved web page (MHTML)", "har": "HAR file"}

# Where a page with no known original address is shown; `.invalid` never resolves.
UNKNOWN_URL = "https://saved-page.invalid/"

# Sign-in paths: leaving them after a sign-in form was sent means the site accepted it.
SIGN_IN_PREFIXES = ("/ap/", "/ax/")
# The pages a sign-in starts over on.
SIGN_IN_START = re.compile(r"^/(ap/signin|ax/claim)")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Navigations a browser cancels itself (a newer navigation replaced them): not a network fault.
BENIGN_FAILURES = ("net::ERR_ABORTED",)
CHAIN_LENGTH = 6

# Names of form fields, query parameters and headers whose values are secrets:
# passwords, one-time codes, session and anti-forgery tokens.
SECRET_NAME = re.compile(
    r"pass|pwd|otp|code|token|sess|secret|csrf|authorization|signature|nonce|ticket|workflowstate|^arb$", re.I
)
# Cookie values shorter than this (a language, a currency) are settings, not credentials; any
# value of a session cookie is a secret whatever its length.
COOKIE_SECRET_LENGTH = 8

# Scripts are off, so <noscript> would show text the customer never saw; and a
# page saved without its stylesheet would show what the site's CSS keeps hidden
# (Amazon's utility classes are ``display: none``).
SAVED_PAGE_CSS = b"<style>noscript,.aok-hidden,.a-hidden,.hide{display:none!important}</style>"

NAVIGATION_TIMEOUT_MS = 15_000

_SAVED_FROM = re.compile(rb"<!--\s*saved from url=\(\s*(\d+)\)(.*?)-->", re.I | re.S)
_HTML_START = re.compile(rb"<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>]|!--\s*saved from url=)", re.I)
_MIME_HEADER = re.compile(rb"^(from|subject|date|mime-version|content-type|snapshot-content-location):", re.I)


@dataclass(frozen=True)
class Resource:
    """A response the file holds, served to the browser instead of the network."""

    body: bytes
    content_type: str
    status: int = 200


@dataclass(frozen=True)
class Document:
    """One main-frame document request of a HAR, redirects and failures included."""

    method: str
    url: str
    status: int  # 0: no response (see ``error``)
    error: str = ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def failed(self) -> bool:
        return self.status <= 0

    @property
    def redirect(self) -> bool:
        return self.status in REDIRECTS


@dataclass(frozen=True)
class SavedPage:
    """A file read and understood: the page to show, what it needs, and what happened before it."""

    source: Path
    kind: SavedKind
    url: str | None  # the page's original address (secrets masked), None when unknown
    status: int | None  # the HTTP status, when the file records it (HAR only)
    document: Resource | None  # None: no page was shown (the last request failed)
    resources: Mapping[str, Resource] = field(default_factory=dict)
    documents: tuple[Document, ...] = ()
    events: tuple[Event, ...] = ()
    local_folder: Path | None = None  # where a "complete" save keeps its files

    @property
    def title(self) -> str:
        parts = urlsplit(self.url or "")
        where = f"{parts.netloc}{parts.path}" if parts.netloc else "an unknown address"
        if self.kind == "har":
            return f"{KIND_LABELS[self.kind]} {self.source.name}: {len(self.documents)} documents, the last at {where}"
        return f"{KIND_LABELS[self.kind]} {self.source.name}, saved from {where}"


# -- reading the file --------------------------------------------------------------


def load_saved(path: Path, redactor: Redactor = SECRETS, profile: Profile | None = None) -> SavedPage:
    """Read ``path`` (HTML, MHTML or HAR); a file the probe cannot use raises ``UsageError``."""
    data = _read(path)
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    suffix = path.suffix.lower()
    if suffix == ".har" or head.startswith((b"{", b"[")):
        return parse_har(data, path, redactor, profile)
    if suffix in (".mhtml", ".mht") or _MIME_HEADER.match(head):
        return parse_mhtml(data, path, redactor)
    if b"\x00" not in head and _HTML_START.search(head):
        return parse_html(data, path, redactor)
    raise UsageError(f"{path} is not a saved web page (HTML or MHTML) or a HAR file")


def _read(path: Path) -> bytes:
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if path.is_dir():
        raise UsageError(f"{path} is a folder: give a saved page (.html, .mhtml) or a HAR file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise UsageError(f"{path} is empty")
    return data


def parse_html(data: bytes, source: Path, redactor: Redactor = SECRETS) -> SavedPage:
    """A page saved by "Save page as": the original address is in Chrome's ``saved from`` comment."""
    url = None
    found = _SAVED_FROM.search(data[:8192])
    if found:
        length, rest = int(found.group(1)), found.group(2).decode("utf-8", errors="replace").strip()
        url = _mask_url(rest[:length] if 0 < length <= len(rest) else rest, redactor)
    document = Resource(data, _html_type(data))
    files = source.parent if source.parent.is_dir() else None
    return SavedPage(source, "html", url, None, document, local_folder=files)


def _html_type(data: bytes, charset: str | None = None) -> str:
    """``text/html`` with the charset when known; UTF-8 when the bytes are UTF-8 (no guessing by locale)."""
    if charset:
        return f"text/html; charset={charset}"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "text/html"  # the page's own <meta charset> decides
    return "text/html; charset=utf-8"


def parse_mhtml(data: bytes, source: Path, redactor: Redactor = SECRETS) -> SavedPage:
    """Chrome's single-file save: the HTML part at ``Snapshot-Content-Location``, the rest as resources."""
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    if not message.is_multipart():
        raise UsageError(f"{source} is not an MHTML file (no MIME parts)")
    location = str(message.get("Snapshot-Content-Location", "") or "").strip()
    pages: list[tuple[str, Message]] = []
    resources: dict[str, Resource] = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        where = str(part.get("Content-Location", "") or "").strip()
        if part.get_content_type() == "text/html":
            pages.append((where, part))
            continue
        payload = part.get_payload(decode=True)
        if where and isinstance(payload, bytes):
            resources[_without_fragment(where)] = Resource(payload, part.get_content_type())
    # The snapshot's own page; the other HTML parts are its frames.
    html_part = next((p for w, p in pages if location and w == location), pages[0][1] if pages else None)
    location = location or (pages[0][0] if pages else "")
    if html_part is None:
        raise UsageError(f"{source} holds no HTML page (an MHTML file without a text/html part)")
    body = html_part.get_payload(decode=True)
    assert isinstance(body, bytes)
    url = _mask_url(location, redactor) if location.startswith(("http://", "https://")) else None
    document = Resource(body, _html_type(body, html_part.get_content_charset()))
    return SavedPage(source, "mhtml", url, None, document, resources)


def parse_har(data: bytes, source: Path, redactor: Redactor = SECRETS, profile: Profile | None = None) -> SavedPage:
    """A HAR export: the main-frame documents in order, the last one shown, the chain turned into events."""
    try:
        har = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise UsageError(f"{source} is not a HAR file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source} is not valid HAR JSON (truncated?): {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    log = har.get("log") if isinstance(har, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"{source} is JSON but not a HAR file (no log.entries)")
    entries = _in_time_order([e for e in entries if isinstance(e, dict)])
    for entry in entries:
        register_har_secrets(entry, redactor, profile)
    documents: list[tuple[Document, dict[str, Any]]] = []
    resources: dict[str, Resource] = {}
    for entry in entries:
        request, response = _dict(entry.get("request")), _dict(entry.get("response"))
        if _is_document(entry, request, response):
            documents.append((_document(entry, request, response, redactor), response))
        elif str(request.get("method", "GET")).upper() == "GET" and _status(response) == 200:
            resource = _resource(response)
            if resource is not None:
                resources[_without_fragment(str(request.get("url", "")))] = resource
    documents = _on_the_site(documents, profile or load_profile())
    shown = [i for i, (d, _) in enumerate(documents) if not d.failed and not d.redirect]
    after = documents[shown[-1] + 1 if shown else 0 :]
    failed_after = [d for d, _ in after if d.failed and not d.error.startswith(BENIGN_FAILURES)]
    if not shown and not failed_after:
        raise UsageError(
            f"{source} holds no HTML page: record the sign-in in DevTools' Network tab "
            "with 'Preserve log' on, then export the HAR again"
        )
    chain = tuple(d for d, _ in documents)
    events = har_events(chain, shown[-1] if shown else None)
    if not shown:
        return SavedPage(source, "har", failed_after[-1].url, None, None, resources, chain, events)
    final, response = documents[shown[-1]]
    body = _body(response) or b""
    document = Resource(body, _html_type(body), final.status)
    return SavedPage(source, "har", final.url, final.status, document, resources, chain, events)


def _site_domains(profile: Profile) -> frozenset[str]:
    """The registrable domains of the profile's hosts: amazon.co.jp for sellercentral.amazon.co.jp, ..."""
    return frozenset(host.split(".", 1)[1] for host in (profile.home_host, *profile.marketplace_hosts) if "." in host)


def _on_the_site(
    documents: list[tuple[Document, dict[str, Any]]], profile: Profile
) -> list[tuple[Document, dict[str, Any]]]:
    """The documents of the site's own hosts, when the recording has any.

    A customer may open their webmail (to copy a code) in the same tab while
    recording; the verdict is about the last page the site itself showed.
    """
    domains = _site_domains(profile)

    def ours(url: str) -> bool:
        host = profile.canonical_host(urlsplit(url).hostname or "")
        return any(host == d or host.endswith("." + d) for d in domains)

    kept = [(d, r) for d, r in documents if ours(d.url)]
    return kept or documents


def har_events(documents: tuple[Document, ...], final: int | None) -> tuple[Event, ...]:
    """What a live run would have reported from this chain of documents.

    ``signin_loop``: a sign-in form was sent (a POST to a sign-in path), the
    redirects after it left the sign-in pages (the site accepted it), and a
    redirect later brought the browser back to the start of the sign-in, where
    the recording ends. ``network_error``: a document got no response after
    the last page that was shown.
    """
    events: list[Event] = []
    loop: Event | None = None
    signed_in = False
    following = False  # inside the redirects that answered a sign-in form
    last_post = 0
    for i, doc in enumerate(documents):
        if doc.failed:
            continue
        signing_in = doc.path.startswith(SIGN_IN_PREFIXES)
        if doc.method == "POST":
            last_post = i
            following = signing_in
        elif following and not signing_in:
            signed_in = True
        came_back = i > 0 and documents[i - 1].redirect and SIGN_IN_START.match(doc.path)
        if signed_in and came_back and not doc.redirect:
            chain = documents[max(last_post, i - CHAIN_LENGTH + 1) : i + 1]
            loop = Event("signin_loop", doc.url, " -> ".join(f"{d.method} {d.path} {d.status}" for d in chain))
        if not doc.redirect:
            following = False
    # A loop the recording went on past (it ends outside the sign-in) is not where the sign-in stopped.
    if loop is not None and final is not None and documents[final].path.startswith(SIGN_IN_PREFIXES):
        events.append(loop)
    start = final + 1 if final is not None else 0
    for doc in documents[start:]:
        if doc.failed and not doc.error.startswith(BENIGN_FAILURES):
            events.append(Event("network_error", doc.url, doc.error or "no response"))
            break
    return tuple(events)


def register_har_secrets(
    entry: Mapping[str, Any], redactor: Redactor = SECRETS, profile: Profile | None = None
) -> None:
    """Every secret one HAR entry holds: cookie values, secret form fields, headers and query values."""
    profile = profile or load_profile()

    def cookie(name: str, value: str) -> None:
        if profile.is_session_cookie(name) or SECRET_NAME.search(name) or len(value) >= COOKIE_SECRET_LENGTH:
            redactor.add(value)

    for side in ("request", "response"):
        message = _dict(entry.get(side))
        for item in _dicts(message.get("cookies")):
            cookie(str(item.get("name", "")), str(item.get("value", "")))
        for header in _dicts(message.get("headers")):
            name, value = str(header.get("name", "")).lower(), str(header.get("value", ""))
            if name == "cookie":
                for pair in _cookie_pairs(value):
                    cookie(*pair)
            elif name == "set-cookie":
                for line in value.split("\n"):
                    for pair in _cookie_pairs(line.split(";", 1)[0]):
                        cookie(*pair)
            elif SECRET_NAME.search(name):
                redactor.add(value)
    request = _dict(entry.get("request"))
    _register_query(str(request.get("url", "")), redactor)
    for param in _dicts(request.get("queryString")):
        if SECRET_NAME.search(str(param.get("name", ""))):
            redactor.add(unquote(str(param.get("value", ""))))
    post = _dict(request.get("postData"))
    for param in _dicts(post.get("params")):
        if SECRET_NAME.search(unquote(str(param.get("name", "")))):
            value = str(param.get("value", ""))
            redactor.add(value, unquote(value.replace("+", " ")))
    text = str(post.get("text", "") or "")
    if text:
        for name, value in _form_or_json_fields(text):
            if SECRET_NAME.search(name):
                redactor.add(value)


def _form_or_json_fields(text: str) -> Iterator[tuple[str, str]]:
    try:
        data = json.loads(text)
    except ValueError:
        yield from parse_qsl(text, keep_blank_values=False)
        return

    def walk(value: Any, name: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            for key, item in value.items():
                yield from walk(item, str(key))
        elif isinstance(value, list):
            for item in value:
                yield from walk(item, name)
        elif value is not None:
            yield name, str(value)

    yield from walk(data, "")


def _cookie_pairs(header: str) -> Iterator[tuple[str, str]]:
    for chunk in header.split(";"):
        name, sep, value = chunk.strip().partition("=")
        if sep:
            yield name, value.strip('"')


def _register_query(url: str, redactor: Redactor) -> None:
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=False):
        if SECRET_NAME.search(name):
            redactor.add(value)


def _mask_url(url: str, redactor: Redactor) -> str:
    """The address with secret query values registered and masked, and without a fragment."""
    parts = urlsplit(url.strip())
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret = [(n, v) for n, v in pairs if v and SECRET_NAME.search(n)]
    if not secret:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
    redactor.add(*(v for _, v in secret))
    masked = [(n, MASK if v and SECRET_NAME.search(n) else v) for n, v in pairs]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(masked, quote_via=quote), ""))


def _in_time_order(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries by start time (exports are usually in order already; a sort keeps ties as they are)."""
    times = []
    for entry in entries:
        try:
            times.append(datetime.fromisoformat(str(entry.get("startedDateTime", ""))).timestamp())
        except ValueError:
            return entries
    return [e for _, _, e in sorted(zip(times, range(len(entries)), entries, strict=True))]


def _is_document(entry: Mapping[str, Any], request: Mapping[str, Any], response: Mapping[str, Any]) -> bool:
    """A main-frame navigation: by Fetch metadata, else the exporter's resource type, else the content."""
    dest = _header(request, "sec-fetch-dest")
    if dest:
        return dest == "document"
    kind = entry.get("_resourceType")
    if isinstance(kind, str) and kind:
        return kind.lower() == "document"
    return "text/html" in _header(request, "accept") or _mime(response).startswith(
        ("text/html", "application/xhtml+xml")
    )


def _document(
    entry: Mapping[str, Any], request: Mapping[str, Any], response: Mapping[str, Any], redactor: Redactor
) -> Document:
    status = _status(response)
    error = str(response.get("_error") or response.get("_failureText") or entry.get("_failureText") or "")
    if error and status > 0 and not response.get("headers"):
        status = 0
    url = _mask_url(str(request.get("url", "")), redactor)
    return Document(str(request.get("method", "GET")).upper(), url, max(status, 0), error)


def _status(response: Mapping[str, Any]) -> int:
    status = response.get("status")
    return status if isinstance(status, int) else 0


def _mime(response: Mapping[str, Any]) -> str:
    return str(_dict(response.get("content")).get("mimeType", "") or "")


def _body(response: Mapping[str, Any]) -> bytes | None:
    content = _dict(response.get("content"))
    text = content.get("text")
    if not isinstance(text, str):
        return None
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(text)
        except (binascii.Error, ValueError):
            return None
    return text.encode("utf-8")


def _resource(response: Mapping[str, Any]) -> Resource | None:
    body = _body(response)
    if body is None:
        return None
    mime = _mime(response)
    if _dict(response.get("content")).get("encoding") != "base64" and mime.startswith("text/"):
        mime = mime.split(";", 1)[0] + "; charset=utf-8"  # the HAR holds decoded text; served as UTF-8
    return Resource(body, mime)


def _header(message: Mapping[str, Any], name: str) -> str:
    for header in _dicts(message.get("headers")):
        if str(header.get("name", "")).lower() == name:
            return str(header.get("value", ""))
    return ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


# -- showing it to the browser -----------------------------------------------------


async def read_saved(saved: SavedPage, session: BrowserSession, profile: Profile) -> PageSignals | None:
    """The page's signals as a browser shows it, scripts off and nothing sent anywhere."""
    if saved.document is None:
        return None
    document = saved.document
    url = saved.url or UNKNOWN_URL
    served = False

    async def serve(route: Route) -> None:
        nonlocal served
        request = route.request
        if request.is_navigation_request():
            if not served and request.frame.parent_frame is None:
                served = True
                body = document.body + SAVED_PAGE_CSS
                await route.fulfill(status=document.status, headers={"content-type": document.content_type}, body=body)
            else:
                await route.abort("aborted")  # a refresh, a link, a frame: nothing leaves the machine
            return
        resource = _resource_for(saved, request.url, url) if request.method == "GET" else None
        if resource is None:
            await route.abort("aborted")
        else:
            await route.fulfill(
                status=resource.status, headers={"content-type": resource.content_type}, body=resource.body
            )

    # The proxy goes nowhere: should any request slip past the router it fails instead of leaving.
    options: dict[str, Any] = {
        "java_script_enabled": False,
        "service_workers": "block",
        "proxy": {"server": "http://127.0.0.1:1"},
    }
    try:
        async with session.context("desktop", **options) as context:
            await context.route("**/*", serve)
            page = await context.new_page()
            await page.goto(url, wait_until="load", timeout=NAVIGATION_TIMEOUT_MS)
            return await read_page(page, profile, saved.status)
    except PlaywrightError as exc:
        raise InfraError(f"the saved page could not be shown: {str(exc).splitlines()[0]}") from exc


def _resource_for(saved: SavedPage, requested: str, page_url: str) -> Resource | None:
    key = _without_fragment(requested)
    if key in saved.resources:
        return saved.resources[key]
    if saved.local_folder is None:
        return None
    # A "complete" save links its files relative to the page: ``name_files/style.css``.
    page, wanted = urlsplit(page_url), urlsplit(key)
    if (page.scheme, page.netloc) != (wanted.scheme, wanted.netloc):
        return None
    relative = posixpath.relpath(unquote(wanted.path), posixpath.dirname(page.path) or "/")
    folder = saved.local_folder.resolve()
    candidate = (folder / relative).resolve()
    if not candidate.is_relative_to(folder) or not candidate.is_file() or candidate == saved.source.resolve():
        return None
    try:
        body = candidate.read_bytes()
    except OSError:
        return None
    return Resource(body, mimetypes.guess_type(candidate.name)[0] or "application/octet-stream")


# -- the verdict ---------------------------------------------------------------------


def saved_result(saved: SavedPage, diagnosis: Diagnosis, duration_s: float) -> Result:
    """The same result a live run gives: verdict, evidence, remedy (as advice: nothing was tried)."""
    return Result(
        scenario="classify",
        title=saved.title,
        verdict=diagnosis.verdict.value,
        detail=diagnosis.detail,
        expected=None,
        match=diagnosis.verdict is Verdict.OK,
        remedy=catalog().info(diagnosis.verdict).remedy,
        remedy_verified=False,
        evidence=[e.to_dict() for e in diagnosis.evidence],
        duration_s=round(duration_s, 2),
        rule=diagnosis.rule,
        detail_ja=diagnosis.detail_ja,
    )


@own_secrets
async def classify_saved(saved: SavedPage, session: BrowserSession, profile: Profile | None = None) -> Result:
    """The verdict for a page a customer saved, or the sign-in a HAR recorded."""
    profile = profile or load_profile()
    started = time.perf_counter()
    page = await read_saved(saved, session, profile)
    return saved_result(saved, classify(page, saved.events, profile), time.perf_counter() - started)
