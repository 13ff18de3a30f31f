"""The private-network guard (contract §6, §7): which hosts and addresses a website fetch or a webhook delivery
may reach while SCRAPE_ALLOW_PRIVATE_NETWORKS is false. The caller resolves each host once (with a time limit),
vets every address here and connects to the vetted address itself, so DNS cannot answer differently between the
check and the connect. `vet_url` is the whole check as one call, for anything else that dials user-given URLs."""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

# Cloud metadata endpoints by name; their addresses (169.254.169.254, fd00:ec2::254) are refused as
# link-local / unique-local anyway, but a name is refused before it is even resolved.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix: judged by the IPv4 inside
# RFC 8215 local-use NAT64 prefix: operators embed IPv4 anywhere in it (/48 to /96 formats) and it never
# routes on the internet, so none of it is public. Python before 3.12.4/3.11.10 calls it global.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT (RFC 2765): ::ffff:0:a.b.c.d
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")  # all IPv6 the internet routes today
# IETF protocol assignments (RFC 6890): not global except the two anycast addresses (PCP, TURN).
_IETF_PROTOCOL = ipaddress.IPv4Network("192.0.0.0/24")
_IETF_GLOBAL = frozenset({ipaddress.IPv4Address("192.0.0.9"), ipaddress.IPv4Address("192.0.0.10")})
_DNS_POOL_SIZE = 16  # lookups running at once; a hung one holds its thread until the OS resolver gives up


class BlockedAddress(Exception):
    """The URL's host is (or resolves to) an address a scrape must not reach; the message says why."""


class LookupFailed(OSError):
    """The host's name did not resolve (unknown, or no answer within the DNS time limit)."""


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host spells, in any form a resolver would accept: dotted, decimal (2130706433),
    hex (0x7f.1), octal (0177.0.0.1), short (127.1) or IPv6 (with or without brackets). None for a name."""
    host = host.strip().rstrip(".").strip("[]")
    if not host:
        return None
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    # inet_aton implements the classic BSD forms that getaddrinfo (and browsers) also accept.
    if all(c in "0123456789abcdefABCDEFxX." for c in host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or address in _IPV4_TRANSLATED or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public destination, or None when it is: only globally routable unicast
    addresses are. `is_global` alone is false for loopback, private, link-local (metadata), CGNAT 100.64/10,
    reserved, unspecified and documentation ranges; the rest is what it misses on some Python versions."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            # Mapped, translated, NAT64, 6to4, Teredo: the IPv4 address inside is where packets go.
            why = refusal(inner)
            if why is not None:
                return f"it embeds {inner}, and {why}"
            if address in _NAT64 or address.ipv4_mapped is not None or address in _IPV4_TRANSLATED:
                return None
        if address in _LOCAL_NAT64:
            return "it is in the local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215)"
        if address not in _GLOBAL_UNICAST:
            # fec0::/10 (site-local), ::/96 and other reserved space that `is_global` may still call global.
            return "it is outside global unicast space (2000::/3)"
    elif address in _IETF_PROTOCOL and address not in _IETF_GLOBAL:
        return "it is an IETF protocol assignment (192.0.0.0/24)"
    if address.is_multicast:
        return "it is a multicast address"
    if not address.is_global:
        return "it is not a public address (loopback, private, link-local, CGNAT or reserved)"
    return None


def is_public(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses (see `refusal`)."""
    return refusal(address) is None


@functools.cache
def _dns_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_DNS_POOL_SIZE, thread_name_prefix="dns-lookup")


Lookup = Callable[..., list[tuple[Any, ...]]]  # socket.getaddrinfo's shape


def system_resolver(host: str, timeout_s: float = 5.0, lookup: Lookup = socket.getaddrinfo) -> list[str]:
    """Every address the system resolver gives for host (both families), within `timeout_s`.
    getaddrinfo has no timeout of its own (glibc retries each name server for up to tens of seconds), so it
    runs on a small pool and the caller stops waiting at the limit; the lookup ends on its own later."""
    future = _dns_pool().submit(lookup, host, None, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout_s)
    except FutureTimeout:
        future.cancel()  # still queued behind hung lookups: never run it
        raise LookupFailed(f"cannot resolve {host}: no answer within {timeout_s:g} s") from None
    except (socket.gaierror, UnicodeError) as e:
        raise LookupFailed(f"cannot resolve {host}: {e}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Guard:
    """Vets hosts for the fetcher. With `allow_private` the checks are off (tests, the local demo), but
    names are still resolved once here, so the connect path is the same in every mode."""

    def __init__(self, allow_private: bool, resolver: Resolver | None = None, dns_timeout_s: float = 5.0) -> None:
        self.allow_private = allow_private
        self.resolver: Resolver = resolver or functools.partial(system_resolver, timeout_s=dns_timeout_s)

    def check_url(self, url: str) -> None:
        """Refuse what is wrong before any network use: the scheme, metadata names, private IP literals."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise BlockedAddress(f"scheme {parts.scheme or '(none)'} is not fetched")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise BlockedAddress("URL has no host")
        if self.allow_private:
            return
        if host in METADATA_HOSTS:
            raise BlockedAddress(f"{host} is a metadata endpoint")
        literal = parse_ip_literal(host)
        why = refusal(literal) if literal is not None else None
        if why is not None:
            raise BlockedAddress(f"{literal} is refused: {why}")

    def addresses(self, host: str) -> list[str]:
        """The addresses to connect to for host, every one of them vetted; BlockedAddress if any is not
        public (a name with one private answer is refused whole: that is what DNS rebinding looks like)."""
        host = host.lower().rstrip(".").strip("[]")
        literal = parse_ip_literal(host)
        if literal is not None:
            found = [str(literal)]
        else:
            if not self.allow_private and host in METADATA_HOSTS:
                raise BlockedAddress(f"{host} is a metadata endpoint")
            found = self.resolver(host)
            if not found:
                raise LookupFailed(f"cannot resolve {host}")
        if not self.allow_private:
            for text in found:
                address = ipaddress.ip_address(text.split("%", 1)[0])
                why = refusal(address)
                if why is not None:
                    raise BlockedAddress(f"{host} resolves to {address}, which is refused: {why}")
        return found


def vet_url(
    url: str, *, allow_private: bool = False, dns_timeout_s: float = 5.0, resolver: Resolver | None = None
) -> list[str]:
    """The addresses `url` may be dialled at, every one vetted: the scheme (http/https), metadata names,
    IP literals in any spelling, and each address the host resolves to (within `dns_timeout_s`). Raises
    BlockedAddress naming why the destination is refused, or LookupFailed. Connect to a returned address
    (sending the URL's host name in Host/SNI), never to the name again: a second lookup could answer
    differently (DNS rebinding)."""
    guard = Guard(allow_private, resolver=resolver, dns_timeout_s=dns_timeout_s)
    guard.check_url(url)
    return guard.addresses(urlsplit(url).hostname or "")
