"""A page that asks for an image, a background image, a web font and a video: what does the browser fetch?"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = b"""<!doctype html><html><head><meta charset="utf-8">
<style>@font-face{font-family:Shop;src:url(/font.woff2) format("woff2")} body{font-family:Shop}</style>
<link rel="stylesheet" href="/style.css"><script src="/app.js"></script></head>
<body><h1>Sign-In</h1><img src="/logo.png" alt="logo"><div style="background:url(/banner.jpg)">x</div></body></html>"""
MEDIA_PATHS = {"/logo.png", "/banner.jpg", "/font.woff2"}
NEEDED_PATHS = {"/", "/style.css", "/app.js"}


@contextmanager
def media_site() -> Iterator[tuple[str, list[str]]]:
    """Serves the page on loopback; yields its address and the paths asked for, in order."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = PAGE if self.path == "/" else b""
            self.send_response(200 if self.path in NEEDED_PATHS else 404)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=600")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
