"""Website fetching for one site at a time: httpx with connect/read timeouts, a total per-site deadline,
a body-size cap read as a stream, a content-type check, redirects followed here (so every hop is vetted)
and a connection that goes to the exact address the SSRF guard checked."""

from __future__ import annotations

import email.utils
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from leadengine.netguard import BlockedAddress, Guard
from leadengine.pinned_http import PinnedBackend, PinnedTransport
from leadengine.settings import Settings

DEFAULT_PORTS = {"http": 80, "https": 443}  # the web schemes a site is read over, and their ports

MAX_REDIRECTS = 5  # RFC 9309 asks crawlers to follow at least five for robots.txt; pages get the same
# A site answering 429 (or 503 with Retry-After) is asked again after the wait it names, twice at most per
# site; the third such answer gives the site up. Retrying without limit is the "death spiral" crawlers
# (Crawlee) had to learn to avoid; ignoring Retry-After (Scrapy) hammers a site that asked for a pause.
MAX_THROTTLED_RETRIES = 2
DEFAULT_429_WAIT_S = 1.0  # a 429 that names no Retry-After waits this (or the politeness delay, if longer)
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Tests stand in for the internet with a routing table from a (public) vetted address to a local server.
Router = Callable[[str, int], tuple[str, int]]


class FetchError(Exception):
    """A page could not be read; the message says why (never a secret: site URLs carry none)."""


class Blocked(FetchError):
    """The SSRF guard refused the URL or an address it resolves to."""


class SiteTimeout(FetchError):
    """The site's total time (SCRAPE_SITE_TIMEOUT_S) ran out, or the job is stopping."""


class NotHtml(FetchError):
    """The response is not an HTML page."""


class Disallowed(FetchError):
    """robots.txt forbids the URL (a redirect hop, usually: pages are checked before they are asked for)."""


class TooManyRedirects(FetchError):
    """More than MAX_REDIRECTS hops (a redirect loop, usually)."""


class Throttled(FetchError):
    """The site keeps answering 429/503, or asks to wait longer than SCRAPE_MAX_RETRY_AFTER_S or its time
    left: the whole site is given up (no further request to it), so its thread frees up for another."""


class HttpStatus(FetchError):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


@dataclass
class Page:
    url: str  # after redirects
    status: int
    content_type: str
    charset: str | None
    body: bytes
    truncated: bool = False

    def text(self) -> str:
        for encoding in (self.charset, "utf-8"):
            if encoding:
                try:
                    return self.body.decode(encoding)
                except (LookupError, UnicodeDecodeError):
                    continue
        return self.body.decode("cp1252", errors="replace")


@dataclass
class Network:
    """How the fetcher reaches the network: the guard (with its resolver) and, for tests only, a router."""

    guard: Guard
    route: Router | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Network:
        return cls(Guard(settings.scrape_allow_private_networks, dns_timeout_s=settings.scrape_dns_timeout_s))


class SiteSession:
    """One site's requests: one at a time, `delay` seconds apart, all within `deadline` (monotonic)."""

    def __init__(
        self,
        settings: Settings,
        network: Network,
        deadline: float,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.network = network
        self.deadline = deadline
        self.stop = stop or threading.Event()
        self.delay: float = settings.scrape_politeness_delay_s
        self.requests = 0
        self.throttled: str | None = None  # why the site was given up, once it was
        self._throttled_retries = 0
        self._not_before = 0.0  # monotonic time before which the site asked not to be asked again
        self._last_request: float | None = None
        # No environment proxies: a proxy would make the connection, bypassing the guard.
        self.client = httpx.Client(
            # One request at a time per site; a second connection only while the first one is being let go.
            transport=PinnedTransport(
                PinnedBackend(network.guard.addresses, route=network.route),
                max_connections=2,
                max_keepalive_connections=1,
            ),
            trust_env=False,
            follow_redirects=False,
            headers={
                "User-Agent": settings.scrape_user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9",
                "Accept-Encoding": "gzip, deflate",
            },
        )

    def __enter__(self) -> SiteSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0 or self.stop.is_set():
            raise SiteTimeout("site time limit reached" if left <= 0 else "job is stopping")
        return left

    def _pause(self) -> None:
        """The politeness delay between two requests to this site (also between redirect hops), or the
        site's own Retry-After when it asked for longer."""
        start = max(self._not_before, self._last_request + self.delay if self._last_request is not None else 0.0)
        wait = start - time.monotonic()
        if wait > 0:
            if wait >= self.remaining():
                raise SiteTimeout("site time limit reached")
            if self.stop.wait(wait):
                raise SiteTimeout("job is stopping")
        self._last_request = time.monotonic()

    def _throttle(self, response: httpx.Response) -> bool:
        """For a 429 or 503 answer: True when it is to be asked again (after the wait it names, which
        `_pause` then honours); False for an ordinary 503 (no Retry-After). Raises Throttled when the site
        is given up."""
        status = response.status_code
        asked = retry_after_s(response.headers.get("retry-after"))
        if status == 503 and asked is None:
            return False
        if self._throttled_retries >= MAX_THROTTLED_RETRIES:
            self.throttled = f"site keeps answering HTTP {status}"
        else:
            wait = asked if asked is not None else max(DEFAULT_429_WAIT_S, self.delay)
            if wait > self.settings.scrape_max_retry_after_s or time.monotonic() + wait >= self.deadline:
                self.throttled = f"site asked to wait {wait:.0f} s (HTTP {status} Retry-After)"
            else:
                self._throttled_retries += 1
                self._not_before = time.monotonic() + wait
                return True
        raise Throttled(self.throttled)

    def get(
        self,
        url: str,
        *,
        html: bool = True,
        max_bytes: int | None = None,
        allowed: Callable[[str], bool] | None = None,
    ) -> Page:
        """GET url following up to MAX_REDIRECTS redirects, each hop vetted by the guard and, with `allowed`
        (robots.txt), asked before it is requested. A 429 (or a 503 with Retry-After) is asked again after
        the wait it names, within the site's limits (see `_throttle`). With `html`, a non-2xx status raises
        HttpStatus and a non-HTML content type raises NotHtml; without it (robots.txt) any other status is
        returned to the caller."""
        if self.throttled is not None:
            raise Throttled(self.throttled)  # the site was given up: not one more request
        limit = max_bytes or self.settings.scrape_max_page_bytes
        hops: list[str] = []
        while True:
            try:
                self.network.guard.check_url(url)
            except BlockedAddress as e:
                raise Blocked(str(e)) from None
            if allowed is not None and not allowed(url):
                raise Disallowed(f"robots.txt disallows {url}")
            self._pause()
            response = self._send(url)
            try:
                if response.status_code in (429, 503) and self._throttle(response):
                    continue  # the same URL again, once the site's wait is over
                location = response.headers.get("location")
                if response.is_redirect and location:
                    if len(hops) >= MAX_REDIRECTS:
                        raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")
                    hops.append(url)
                    url = urljoin(url, location.strip())
                    continue
                return self._read(response, url, html=html, limit=limit)
            finally:
                response.close()

    def _send(self, url: str) -> httpx.Response:
        left = self.remaining()
        connect = min(self.settings.scrape_connect_timeout_s, left)
        read = min(self.settings.scrape_read_timeout_s, left)
        timeout = httpx.Timeout(connect=connect, read=read, write=read, pool=connect)
        self.requests += 1
        try:
            request = self.client.build_request("GET", url, timeout=timeout)
            return self.client.send(request, stream=True)
        except BlockedAddress as e:
            raise Blocked(str(e)) from None
        except httpx.TimeoutException as e:
            raise FetchError(f"timed out ({type(e).__name__})") from None
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            raise FetchError(f"request failed ({type(e).__name__}: {e})") from None

    def _read(self, response: httpx.Response, url: str, *, html: bool, limit: int) -> Page:
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if html:
            if not 200 <= response.status_code < 300:
                raise HttpStatus(response.status_code)
            if content_type not in HTML_TYPES:
                raise NotHtml(f"content type {content_type or '(none)'} is not HTML")
        # The raw stream is decompressed here, never more than the cap: httpx's own decoder would inflate
        # a whole chunk at once, and a 64 KiB gzip bomb chunk is 64 MiB of zeros.
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip", "deflate", ""):
            raise FetchError(f"content encoding {encoding} is not supported")
        inflate = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding not in ("identity", "") else None
        body = bytearray()
        truncated = False
        wire = 0  # bytes as sent: the cap bounds these too, not only the page they inflate to
        try:
            for chunk in response.iter_raw():
                wire += len(chunk)
                if inflate is not None:
                    try:
                        chunk = inflate.decompress(chunk, limit + 1 - len(body))
                    except zlib.error as e:
                        raise FetchError(f"bad {encoding} body") from e
                body.extend(chunk)
                if len(body) >= limit or (inflate is not None and wire > limit and not inflate.eof):
                    # Stop reading: an endless or huge page costs at most `limit` bytes; keep its start.
                    # (Compressed input that inflates to almost nothing is cut at `limit` bytes too.)
                    del body[limit:]
                    truncated = True
                    break
                if inflate is not None and inflate.eof:
                    # The compressed stream has ended: zlib would keep every further byte in
                    # `unused_data`, so a tiny page followed by 50 MiB cost 50 MiB and seconds of CPU.
                    break
                self.remaining()  # a slow drip of bytes cannot outlast the site's deadline
        except httpx.TimeoutException as e:
            raise FetchError(f"timed out reading ({type(e).__name__})") from None
        except httpx.HTTPError as e:
            raise FetchError(f"read failed ({type(e).__name__})") from None
        return Page(
            url=url,
            status=response.status_code,
            content_type=content_type,
            charset=response.charset_encoding,
            body=bytes(body),
            truncated=truncated,
        )


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), or None
    when there is none or it cannot be read. A date in the past is 0."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def origin_of(url: str) -> str:
    """scheme://host[:port] of url, lowercase, without a default port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = DEFAULT_PORTS.get(parts.scheme)
    port = parts.port
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")
