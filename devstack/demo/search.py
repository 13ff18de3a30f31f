"""The demo search provider: Serper's format (POST /search, X-API-KEY, JSON {q, num, page, gl} -> organic[]).
Any query gets the demo companies' sites; a `site:linkedin.com/company` query gets LinkedIn company URLs.
Like the real API, pages are Google's: 9 and 8 organic results in turn whatever `num` asks, pages 1..10."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devstack.demo.companies import DIRECTORY_RESULTS, LINKEDIN_RESULTS

PAGE_SIZES = (9, 8)  # organic results on Google's pages, in turn
MAX_PAGES = 10  # Serper's documented depth


def google_page(results: list[tuple[str, str, str]], page: int) -> tuple[int, list[tuple[str, str, str]]]:
    """The 1-based `page` of `results` as Google serves it, with the offset of its first result."""
    if page > MAX_PAGES:
        return 0, []
    start = sum(PAGE_SIZES[p % 2] for p in range(page - 1))
    return start, results[start : start + PAGE_SIZES[(page - 1) % 2]]


class SearchServer:
    def __init__(self, web_results: list[tuple[str, str, str]], port: int = 0) -> None:
        self.web_results = web_results
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                if self.path.split("?", 1)[0] != "/search":
                    self._json(404, {"message": "Not found", "statusCode": 404})
                    return
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                    query = str(body.get("q") or "")
                    num = max(1, min(100, int(body.get("num") or 10)))
                    page = max(1, int(body.get("page") or 1))
                    gl = str(body.get("gl") or "us")
                except (ValueError, TypeError, AttributeError):
                    self._json(400, {"message": "Invalid request", "statusCode": 400})
                    return
                linkedin = "site:linkedin.com" in query.lower()
                results = list(LINKEDIN_RESULTS) if linkedin else server.web_results
                start, chosen = google_page(results, page)
                server.requests.append(
                    {"q": query, "num": num, "page": page, "gl": body.get("gl"), "organic": len(chosen),
                     "has_key": "X-API-KEY" in self.headers}
                )  # fmt: skip
                organic = [
                    {"title": title, "link": link, "snippet": snippet, "position": start + i + 1}
                    for i, (link, title, snippet) in enumerate(chosen)
                ]
                parameters = {"q": query, "gl": gl, "num": num, "page": page, "type": "search", "engine": "google"}
                self._json(200, {"searchParameters": parameters, "organic": organic, "credits": 1})

            def _json(self, status: int, data: Any) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/search"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-search", daemon=True
        )

    def start(self) -> SearchServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def web_results_for(sites: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str]]:
    """Search results for the demo sites (url, name, tagline, description): mostly home pages, one deep
    link, a second result on the first site (merges by domain) and directory pages (skipped)."""
    results: list[tuple[str, str, str]] = []
    for i, (url, name, tagline, description) in enumerate(sites):
        link = f"{url}about-us" if i == 1 else url
        results.append((link, f"{name} | {tagline}", description or tagline))
        if i == 0:
            results.append((f"{url}contact", f"Contact | {name}", f"Get in touch with {name}."))
        if i == 3:
            results.extend(DIRECTORY_RESULTS)
    return results
