"""What the fetcher reads from a site is bounded in bytes on the wire, not only in bytes of page: a gzip
stream followed by a long tail (zlib would keep it all in `unused_data`), and a compressed stream that
inflates to almost nothing, both stop at the page-size cap (issue 9, defect 4)."""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Callable

from leadengine.netguard import Guard
from leadengine.settings import Settings
from runner.scrape.fetch import Network, SiteSession
from tests.runner.scrape.servers import Hit, LocalServer, Responder

PAGE = b"<p>a@b.co</p>\r\n"  # 15 bytes
TAIL = 50 * 1024 * 1024
CHUNK = b"\0" * 65536


class Streamer:
    """Sends a gzip body (declared with its full length) and counts how much of it the client took."""

    def __init__(self, head: bytes, tail_bytes: int, tail_chunk: Callable[[], bytes] = lambda: CHUNK) -> None:
        self.head, self.tail_bytes, self.tail_chunk = head, tail_bytes, tail_chunk
        self.sent = 0

    def app(self, r: Responder, hit: Hit) -> None:
        if hit.path == "/robots.txt":
            r.send(404, "", "text/plain")
            return
        r.headers(200, "text/html", Content_Encoding="gzip", Content_Length=str(len(self.head) + self.tail_bytes))
        try:
            r.wfile.write(self.head)
            self.sent = len(self.head)
            while self.sent < len(self.head) + self.tail_bytes and not r.stop.is_set():
                chunk = self.tail_chunk()
                r.wfile.write(chunk)
                self.sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading and closed: what we want


def fetch(make_settings: Callable[..., Settings], server: LocalServer) -> tuple[bytes, bool, float]:
    settings = make_settings(scrape_max_page_bytes=2_000_000, scrape_site_timeout_s=20.0)
    started = time.monotonic()
    with SiteSession(settings, Network(Guard(allow_private=True)), time.monotonic() + 20) as session:
        page = session.get(f"{server.url}/")
    return page.body, page.truncated, time.monotonic() - started


def test_bytes_after_the_end_of_a_gzip_stream_are_not_read(make_settings: Callable[..., Settings]) -> None:
    streamer = Streamer(gzip.compress(PAGE), TAIL)
    with LocalServer(streamer.app) as server:
        body, truncated, elapsed = fetch(make_settings, server)
        time.sleep(0.3)  # let the server notice the closed connection
    assert body == PAGE and not truncated
    # The socket buffers take a few MiB before the server sees the close; 50 MiB were on offer.
    assert streamer.sent < 16 * 1024 * 1024, streamer.sent
    assert elapsed < 3, elapsed


def test_a_compressed_stream_that_inflates_to_nothing_stops_at_the_cap_of_compressed_bytes(
    make_settings: Callable[..., Settings],
) -> None:
    # An endless deflate stream of empty stored blocks: bytes on the wire forever, no page ever grows.
    head = gzip.compress(PAGE)[:10]  # the gzip header only
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(PAGE) + deflate.flush(zlib.Z_SYNC_FLUSH)
    empty_block = deflate.flush(zlib.Z_SYNC_FLUSH) or b"\x00\x00\x00\xff\xff"
    streamer = Streamer(head + first, TAIL, lambda: empty_block * 8192)
    with LocalServer(streamer.app) as server:
        body, truncated, elapsed = fetch(make_settings, server)
        time.sleep(0.3)
    assert body == PAGE and truncated
    assert streamer.sent < 16 * 1024 * 1024, streamer.sent
    assert elapsed < 3, elapsed
