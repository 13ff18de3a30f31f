"""The private-network guard: which hosts and addresses a website fetch may reach while
SCRAPE_ALLOW_PRIVATE_NETWORKS is false. The fetcher resolves each host once, vets every address here and
connects to the vetted address itself, so DNS cannot answer differently between the check and the connect."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

# Cloud metadata endpoints by name; their addresses (169.254.169.254, fd00:ec2::254) are refused as
# link-local / unique-local anyway, but a name is refused before it is even resolved.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class BlockedAddress(Exception):
    """The URL's host is (or resolves to) an address a scrape must not reach."""


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
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses. `is_global` is false for loopback, private,
    link-local (metadata), CGNAT 100.64/10, reserved, unspecified and documentation ranges."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local:  # fec0::/10: deprecated, but `is_global` still calls it global
            return False
        inner = embedded_ipv4(address)
        if inner is not None and not is_public(inner):
            return False
    return address.is_global and not address.is_multicast


def system_resolver(host: str) -> list[str]:
    """Every address the system resolver gives for host (both families)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise OSError(f"cannot resolve {host}: {e}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Guard:
    """Vets hosts for the fetcher. With `allow_private` the checks are off (tests, the local demo), but
    names are still resolved once here, so the connect path is the same in every mode."""

    def __init__(self, allow_private: bool, resolver: Resolver = system_resolver) -> None:
        self.allow_private = allow_private
        self.resolver = resolver

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
        if literal is not None and not is_public(literal):
            raise BlockedAddress(f"{literal} is not a public address")

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
                raise OSError(f"cannot resolve {host}")
        if not self.allow_private:
            for text in found:
                address = ipaddress.ip_address(text.split("%", 1)[0])
                if not is_public(address):
                    raise BlockedAddress(f"{host} resolves to {address}, which is not a public address")
        return found
