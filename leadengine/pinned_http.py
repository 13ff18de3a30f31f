"""HTTP connections pinned to addresses the private-network guard vetted (leadengine/netguard.py), for the website
reader and webhook deliveries alike: a connection goes to a vetted address, never to the host name again, since a
second DNS lookup could answer differently (DNS rebinding). TLS still sends and verifies the URL's host name
(httpcore takes both from the URL)."""

from __future__ import annotations

import functools
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

MAX_ADDRESSES = 3  # addresses tried per connection: each may take the whole connect timeout
Route = Callable[[str, int], tuple[str, int]]


@functools.cache
def ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds: one context serves every connection (it is thread-safe).
    return httpx.create_ssl_context(trust_env=False)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by a deadline: per-operation timeouts alone
    would let a peer that trickles a byte every few seconds hold a caller for ever."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0.01:
            raise error("the time is up")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, self._left(timeout, httpcore.ConnectTimeout))
        return DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.SyncBackend):
    """Connects to the addresses `vetted(host)` gives (raising OSError when the guard refuses or the lookup
    fails), the first that answers; `route` maps an address to where it is really served (tests' fake hosts);
    with a `deadline` (monotonic) every operation of the connection ends by it."""

    def __init__(
        self, vetted: Callable[[str], list[str]], *, route: Route | None = None, deadline: float | None = None
    ) -> None:
        self._vetted = vetted
        self._route = route
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._vetted(host)
        except OSError as e:
            raise httpcore.ConnectError(str(e)) from None
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses[:MAX_ADDRESSES]:
            target = self._route(address, port) if self._route else (address, port)
            if self._deadline is not None:
                left = self._deadline - time.monotonic()
                if left <= 0.01:
                    raise httpcore.ConnectTimeout("the time is up")
                timeout = left if timeout is None else min(timeout, left)
            try:
                stream = super().connect_tcp(target[0], target[1], timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
                continue
            return DeadlineStream(stream, self._deadline) if self._deadline is not None else stream
        raise error


class PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport (its exception mapping included) over a pool on a PinnedBackend. httpx takes no
    network backend argument, so the pool it built is replaced by an equivalent one."""

    def __init__(self, backend: PinnedBackend, *, max_connections: int, max_keepalive_connections: int) -> None:
        super().__init__(verify=ssl_context(), trust_env=False, retries=0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            network_backend=backend,
        )
