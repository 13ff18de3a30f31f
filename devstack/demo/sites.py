"""The demo's company websites: each company on its own loopback port (so each has its own lead domain,
`127.0.0.1:<port>`, by the IP-literal rule), with a home, about and contact page and a robots.txt."""

from __future__ import annotations

import html
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from devstack.demo.companies import Company


def cloudflare_encode(address: str, key: int = 0x5A) -> str:
    return f"{key:02x}" + "".join(f"{b ^ key:02x}" for b in address.encode())


def _fill(fragment: str) -> str:
    return fragment.replace("{cf}", cloudflare_encode("people@wattlehr.com.au"))


def _head(company: Company, page_title: str) -> str:
    e = html.escape
    if company.style == "modern":
        return (
            f"<title>{e(page_title)} | {e(company.name)}</title>"
            f'<meta name="description" content="{e(company.description or company.tagline)}">'
            f'<meta property="og:site_name" content="{e(company.name)}">'
            f'<meta property="og:description" content="{e(company.tagline)}">'
        )
    if company.style == "onepage":
        desc = f'<meta property="og:description" content="{e(company.description)}">' if company.description else ""
        return f"<title>{e(company.name)} — {e(company.tagline)}</title>{desc}"
    desc = f'<meta name="Description" content="{e(company.description)}">' if company.description else ""
    return f"<title>{e(page_title)} - {e(company.name)}</title>{desc}"


def _nav(company: Company) -> str:
    if company.style == "classic":
        return (
            '<table class="nav"><tr><td><a href="/">Home</a></td><td><a href="/products">Products</a></td>'
            f'<td><a href="{company.about_path}">About Us</a></td>'
            f'<td><a href="{company.contact_path}">Contact Us</a></td></tr></table>'
        )
    return (
        '<header><nav><a href="/">Home</a> <a href="/products">Platform</a> <a href="/pricing">Pricing</a> '
        f'<a href="{company.about_path}">Company</a> <a href="{company.contact_path}#form">Talk to sales</a>'
        '<a href="#top">Top</a></nav></header>'
    )


def _footer(company: Company) -> str:
    links = []
    if company.linkedin_href:
        links.append(f'<a href="{company.linkedin_href}" rel="noopener">LinkedIn</a>')
    links += [f'<a href="{href}">Follow</a>' for href in company.socials]
    phone = company.phones_html[0] if company.phones_html else ""
    return (
        f"<footer><p>&copy; 2025 {html.escape(company.name)} Pty Ltd. ABN 12 345 678 901. "
        f"Level 5, 1 Harbour Street, Sydney NSW 2000. {phone}</p>"
        f"<p>{' '.join(links)}</p><script>var tracking = 'noreply@analytics.invalid';</script></footer>"
    )


def render(company: Company, path: str) -> str | None:
    """The HTML of a page of the company's site, or None (404)."""
    e = html.escape
    if path == "/":
        title, body = (
            "Home",
            (
                f'<section class="hero"><h1>{e(company.tagline)}</h1><p>{e(company.description)}</p>'
                '<img src="/img/hero@2x.png" alt="Product screenshot"></section>'
                "<section><h2>Trusted by enterprise</h2><p>Banks, insurers and retailers across Australia run on us.</p></section>"
            ),
        )
        if company.style == "onepage":
            body += f'<section id="contact"><h2>Contact</h2><p>{" ".join(_fill(x) for x in company.phones_html)}</p></section>'
    elif path == company.about_path:
        title, body = "About", f"<h1>About {e(company.name)}</h1><p>{e(company.about_text)}</p>"
    elif path == company.contact_path:
        details = "".join(f"<li>{_fill(x)}</li>" for x in (*company.emails_html, *company.phones_html))
        title, body = "Contact", f'<h1>Contact us</h1><ul class="contact">{details}</ul><form id="form"></form>'
    elif path in ("/products", "/pricing"):
        title, body = "Platform", "<h1>Platform</h1><p>Plans start at $1,200 per month. Call for pricing.</p>"
    else:
        return None
    return (
        f'<!doctype html><html lang="en-AU"><head><meta charset="utf-8">{_head(company, title)}</head>'
        f'<body id="top">{_nav(company)}<main>{body}</main>{_footer(company)}</body></html>'
    )


class SiteServer:
    """One company's site on 127.0.0.1:<port>; `latency` delays every answer (the benchmark's 200 ms)."""

    def __init__(self, company: Company, port: int = 0, latency: float = 0.0) -> None:
        self.company = company
        self.latency = latency
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].split("#", 1)[0]
                with site._lock:
                    site.hits[path] += 1
                if site.latency:
                    time.sleep(site.latency)
                if path == "/robots.txt":
                    if site.company.robots is None:
                        self._send(404, "text/plain", b"not found")
                    else:
                        self._send(200, "text/plain", site.company.robots.encode())
                    return
                page = render(site.company, path)
                if page is None:
                    self._send(404, "text/html; charset=utf-8", b"<h1>Not found</h1>")
                else:
                    self._send(200, "text/html; charset=utf-8", page.encode())

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # quiet: the runner logs its fetches
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"site-{company.key}", daemon=True
        )

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
