"""A TCP proxy on 127.0.0.1 in front of a real service (RabbitMQ), for half-open faults: `blackhole()` stops
forwarding while every socket stays open (a peer that stops answering without closing: no RST, no FIN),
`heal()` resumes. Bytes are never dropped, only held back, as in a network partition that recovers.

    with TcpProxy(5672) as proxy:      # clients connect to proxy.port
        proxy.blackhole()              # existing and new connections go silent
        proxy.heal()
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from types import TracebackType

_CHUNK = 65536
_POLL_S = 0.05


class _Pair:
    """One client connection and its connection to the service."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.frozen = False  # silent on its own, whatever the proxy's state (freeze_existing)

    def close(self) -> None:
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.close()


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[_Pair] = []
        self._threads = [threading.Thread(target=self._accept, name="proxy-accept", daemon=True)]
        self._threads[0].start()

    # --- control ----------------------------------------------------------------------------------------

    def blackhole(self) -> None:
        """Stop forwarding on every connection, open or yet to come; sockets stay open and new connections are
        accepted (the client's TCP handshake succeeds), then nothing comes back."""
        self._flowing.clear()

    def freeze_existing(self) -> None:
        """Silence only the connections open now; new ones are forwarded."""
        with self._lock:
            for pair in self._pairs:
                pair.frozen = True

    def heal(self) -> None:
        """Forward again on every connection, held bytes first."""
        with self._lock:
            for pair in self._pairs:
                pair.frozen = False
        self._flowing.set()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close()
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # --- forwarding -------------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed.is_set():
            readable, _, _ = select.select([self._listener], [], [], _POLL_S)
            if not readable:
                continue
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            pair = _Pair(client, server)
            with self._lock:
                self._pairs.append(pair)
            for source, target in ((client, server), (server, client)):
                thread = threading.Thread(target=self._pump, args=(pair, source, target), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _may_flow(self, pair: _Pair) -> bool:
        return self._flowing.is_set() and not pair.frozen

    def _pump(self, pair: _Pair, source: socket.socket, target: socket.socket) -> None:
        while not self._closed.is_set():
            if not self._may_flow(pair):
                # Not reading leaves the bytes in the kernel's buffers: the sender sees an open, silent peer.
                self._closed.wait(_POLL_S)
                continue
            try:
                readable, _, _ = select.select([source], [], [], _POLL_S)
                if not readable or not self._may_flow(pair):
                    continue
                data = source.recv(_CHUNK)
                if not data:
                    with contextlib.suppress(OSError):
                        target.shutdown(socket.SHUT_WR)
                    return
                target.sendall(data)
            except (OSError, ValueError):  # ValueError: the other pump closed this pair's sockets
                pair.close()
                return
