"""Local HTTP servers for the scraping tests: stand-ins for search APIs and websites, on loopback only.
Each records what it was asked, so a test can prove a request was made, or never made."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Hit:
    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(handler.path)
        self.method = handler.command
        self.path = parts.path
        self.query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.raw_path = handler.path
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        self.body = body
        self.at = time.monotonic()  # when the server got the request: politeness is asserted on these

    def json(self) -> Any:
        return json.loads(self.body)


App = Callable[["Responder", Hit], None]


class Responder:
    """What an app uses to answer (it may also write slowly to `wfile`, or forever)."""

    def __init__(self, handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        self.handler = handler
        self.wfile = handler.wfile
        self.stop = stop

    def send(
        self, status: int, body: bytes | str = b"", content_type: str = "text/html; charset=utf-8", **headers: str
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", content_type)
        self.handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.handler.send_header(name.replace("_", "-"), value)
        self.handler.end_headers()
        self.wfile.write(data)

    def json(self, status: int, data: Any) -> None:
        self.send(status, json.dumps(data), "application/json")

    def headers(self, status: int, content_type: str, **headers: str) -> None:
        """Status and headers only (no Content-Length): the app streams the body and closes."""
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.handler.send_header(name.replace("_", "-"), value)
        self.handler.send_header("Connection", "close")
        self.handler.end_headers()
        self.handler.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class LocalServer:
    def __init__(self, app: App, host: str = "127.0.0.1") -> None:
        self.app = app
        self.hits: list[Hit] = []
        self.stop_event = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hit = Hit(self, self.rfile.read(length) if length else b"")
                server.hits.append(hit)
                try:
                    server.app(Responder(self, server.stop_event), hit)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_HEAD = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        cls = _Server6 if ":" in host else _Server
        self.httpd = cls((host, 0), Handler)
        self.port = int(self.httpd.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def paths(self) -> list[str]:
        return [hit.path for hit in self.hits]

    def close(self) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


GOOGLE_PAGE_SIZES = (9, 8)  # organic results on Google's pages alternate like this, whatever `num` asks


def google_page(results: list[Any], page: int) -> tuple[int, list[Any]]:
    """The 1-based `page` of `results` as Google serves it: short pages of 8-9 organic results. Returns
    the offset of the page's first result and the page."""
    start = sum(GOOGLE_PAGE_SIZES[p % 2] for p in range(page - 1))
    return start, results[start : start + GOOGLE_PAGE_SIZES[(page - 1) % 2]]


def serper_app(results: list[tuple[str, str, str]], linkedin: list[tuple[str, str, str]] | None = None) -> App:
    """A search API in Serper's format over fixed results: (link, title, snippet), in Google's short pages."""

    def app(r: Responder, hit: Hit) -> None:
        body = hit.json()
        page = int(body.get("page", 1))
        chosen = (linkedin or []) if "site:linkedin.com" in body["q"] else results
        start, shown = google_page(chosen, page) if page <= 10 else (0, [])
        organic = [
            {"title": t, "link": link, "snippet": s, "position": start + i + 1} for i, (link, t, s) in enumerate(shown)
        ]
        parameters = {"q": body["q"], "gl": body.get("gl", "us"), "type": "search", "num": body.get("num", 10)}
        r.json(200, {"searchParameters": parameters, "organic": organic, "credits": 1})

    return app


def page_html(name: str, body: str = "", title: str | None = None) -> str:
    return (
        f"<!doctype html><html><head><title>{title or name}</title>"
        f'<meta property="og:site_name" content="{name}"></head><body>{body}</body></html>'
    )
