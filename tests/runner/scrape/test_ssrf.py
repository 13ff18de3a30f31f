"""The private-network guard (SCRAPE_ALLOW_PRIVATE_NETWORKS=false): result URLs on loopback, link-local
metadata, private, CGNAT and IPv4-mapped addresses in every spelling are never fetched, nor is a public
site's redirect into them. Canary servers on 127.0.0.1 and ::1 must see zero requests.

"Public-looking" sites: the test resolver gives test names public addresses, and the test router carries
connections to those addresses to local servers (standing in for the internet). The guard checks the
resolved address exactly as in production; the router only decides where an allowed connection lands."""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from leadengine.netguard import (
    BlockedAddress,
    Guard,
    LookupFailed,
    is_public,
    parse_ip_literal,
    system_resolver,
    vet_url,
)
from leadengine.settings import Settings
from runner.scrape.fetch import Blocked, FetchError, Network, SiteSession
from runner.scrape.handler import run_job
from tests.runner.scrape.context import CollectingContext
from tests.runner.scrape.servers import Hit, LocalServer, Responder, page_html, serper_app

GOOD_IP, EVIL_IP, SNEAKY_IP, MIXED_IP = "93.184.215.14", "93.184.215.15", "93.184.215.16", "93.184.215.17"


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("example.com", None),
        ("cafe.example", None),
    ],
)
def test_ip_literals_in_every_spelling(host: str, address: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert (str(parsed) if parsed else None) == address


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fec0::1", "fd00:ec2::254", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1", "2002:7f00:1::", "64:ff9b::a00:1",
        # Python 3.11.7's is_global calls these global: RFC 8215 local-use NAT64 and SIIT spellings of 127.0.0.1.
        "64:ff9b:1::7f00:1", "64:ff9b:1:7f00:0:100::", "64:ff9b:1:ffff::1", "::ffff:0:7f00:1", "::ffff:0:a9fe:a9fe",
        "::ffff:0:0:7f00:1", "192.0.0.8", "192.0.0.171",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "1.1.1.1", "2606:4700::1111", "::ffff:1.1.1.1", "64:ff9b::101:101", "192.0.0.9"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_guard_refuses_names_resolving_to_private_and_metadata_names() -> None:
    guard = Guard(False, resolver=lambda host: {"mixed.example": [GOOD_IP, "10.0.0.7"]}.get(host, ["127.0.0.1"]))
    for host in ("mixed.example", "localhost", "metadata.google.internal"):
        with pytest.raises(BlockedAddress):
            guard.addresses(host)
    for url in (
        "http://169.254.169.254/",
        "http://0177.0.0.1/",
        "http://metadata.google.internal/",
        "file:///etc/passwd",
    ):
        with pytest.raises(BlockedAddress):
            guard.check_url(url)
    assert Guard(True).addresses("127.0.0.1") == ["127.0.0.1"]


@pytest.mark.parametrize("spelling", ["64:ff9b:1::7f00:1", "::ffff:0:7f00:1"])
def test_nat64_local_use_and_siit_spellings_of_loopback_are_refused_as_literals_and_as_answers(spelling: str) -> None:
    with pytest.raises(BlockedAddress, match="refused"):
        Guard(False).check_url(f"http://[{spelling}]:8080/")
    with pytest.raises(BlockedAddress, match="resolves to"):
        Guard(False, resolver=lambda host: [GOOD_IP, spelling]).addresses("rebind.example")


def test_vet_url_returns_the_vetted_addresses_or_says_why_a_destination_is_refused() -> None:
    names = {"hooks.example.com": [GOOD_IP, "2606:4700::1111"], "inside.example.com": ["::ffff:0:a9fe:a9fe"]}

    def resolve(host: str) -> list[str]:
        return names[host]

    assert vet_url("https://hooks.example.com/deliver", resolver=resolve) == [GOOD_IP, "2606:4700::1111"]
    refused = {
        "ftp://hooks.example.com/": "scheme ftp is not fetched",
        "http://metadata.google.internal/computeMetadata/v1/": "metadata endpoint",
        "http://[::ffff:0:7f00:1]/": "embeds 127.0.0.1",
        "https://inside.example.com/": "inside.example.com resolves to ::ffff:0:a9fe:a9fe",
        "http://0x7f.1/": "127.0.0.1 is refused",
    }
    for url, why in refused.items():
        with pytest.raises(BlockedAddress, match=re.escape(why)):
            vet_url(url, resolver=resolve)
    assert vet_url("http://127.0.0.1:8080/", allow_private=True) == ["127.0.0.1"]


@pytest.fixture
def hung_dns() -> Iterator[Callable[..., list[tuple[object, ...]]]]:
    """A getaddrinfo that never answers while the test runs (as with an unreachable name server)."""
    released = threading.Event()

    def lookup(host: str, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        released.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    yield lookup
    released.set()


def test_a_dns_lookup_that_never_answers_gives_up_at_its_own_time_limit(
    hung_dns: Callable[..., list[tuple[object, ...]]],
) -> None:
    started = time.monotonic()
    with pytest.raises(LookupFailed, match=re.escape("no answer within 0.3 s")):
        system_resolver("slow-dns.example", timeout_s=0.3, lookup=hung_dns)
    assert 0.25 < time.monotonic() - started < 1.5
    with pytest.raises(LookupFailed):
        vet_url("https://slow-dns.example/", dns_timeout_s=0.3, resolver=functools.partial(
            system_resolver, timeout_s=0.3, lookup=hung_dns))  # fmt: skip


def test_a_site_whose_dns_hangs_costs_only_the_dns_time_limit(
    make_settings: Callable[..., Settings], hung_dns: Callable[..., list[tuple[object, ...]]]
) -> None:
    guard = Guard(False, resolver=functools.partial(system_resolver, timeout_s=0.5, lookup=hung_dns))
    started = time.monotonic()
    with SiteSession(make_settings(), Network(guard), time.monotonic() + 10) as session, pytest.raises(FetchError):
        session.get("http://slow-dns.example/")
    assert time.monotonic() - started < 2
    # The setting reaches the guard the job builds.
    network = Network.from_settings(make_settings(scrape_dns_timeout_s=0.7))
    assert isinstance(network.guard.resolver, functools.partial) and network.guard.resolver.keywords == {
        "timeout_s": 0.7
    }


def canary_app(r: Responder, hit: Hit) -> None:
    r.send(200, page_html("Canary", "<p>canary@internal.example</p>"))


@pytest.fixture
def canaries() -> Iterator[tuple[LocalServer, LocalServer]]:
    with LocalServer(canary_app) as v4, LocalServer(canary_app, host="::1") as v6:
        yield v4, v6


class Internet:
    """Test names with public addresses, and where connections to those addresses land."""

    def __init__(self, routes: dict[str, int]) -> None:
        self.names = {"www.good-co.com.au": [GOOD_IP], "evil-co.com": [EVIL_IP], "sneaky-co.net": [SNEAKY_IP]}
        self.names["mixed-co.org"] = [MIXED_IP, "127.0.0.1"]  # one private answer: rebinding
        self.names["localhost"] = ["127.0.0.1", "::1"]
        self.routes = routes  # public address -> local port
        self.dialled: list[tuple[str, int]] = []

    def resolve(self, host: str) -> list[str]:
        if host not in self.names:
            raise OSError(f"cannot resolve {host}")
        return self.names[host]

    def route(self, address: str, port: int) -> tuple[str, int]:
        self.dialled.append((address, port))
        if address in self.routes:
            return "127.0.0.1", self.routes[address]
        return address, port  # if the guard ever let a private address through, it would really connect

    def network(self) -> Network:
        return Network(Guard(allow_private=False, resolver=self.resolve), route=self.route)


def test_public_site_redirecting_to_loopback_is_refused_at_the_hop(
    make_settings: Callable[..., Settings], canaries: tuple[LocalServer, LocalServer]
) -> None:
    canary, _ = canaries
    with LocalServer(lambda r, hit: r.send(302, "", Location=f"{canary.url}/")) as evil:
        internet = Internet({EVIL_IP: evil.port})
        with SiteSession(make_settings(), internet.network(), time.monotonic() + 5) as session, pytest.raises(Blocked):
            session.get("http://evil-co.com/")
    assert evil.paths() == ["/"] and evil.hits[0].headers["host"] == "evil-co.com"
    assert canary.hits == []
    assert internet.dialled == [(EVIL_IP, 80)]


def test_job_never_touches_private_addresses_whatever_the_results_say(
    make_settings: Callable[..., Settings], canaries: tuple[LocalServer, LocalServer]
) -> None:
    canary, canary6 = canaries
    port = canary.port
    # Spellings of one address share a lead domain (127.0.0.1:<port>), so each gets a canary of its own
    # port: otherwise they would merge into one candidate and only the first spelling would be tried.
    spelled = {name: LocalServer(canary_app) for name in ("decimal", "hex", "hexwhole", "octal", "short", "mapped")}

    def good_app(r: Responder, hit: Hit) -> None:
        if hit.path == "/robots.txt":
            r.send(404, "", "text/plain")
        elif hit.path == "/":
            r.send(200, page_html("Good Co", '<a href="/contact">Contact</a> hello@good-co.com.au'))
        else:  # its contact page bounces into the private network: that page is lost, not the site
            r.send(301, "", Location=f"{canary6.url}/contact")

    def evil_app(r: Responder, hit: Hit) -> None:
        r.send(302, "", Location=f"http://0x7f.1:{port}/")  # robots.txt and everything else

    def sneaky_app(r: Responder, hit: Hit) -> None:
        if hit.path == "/robots.txt":
            r.send(404, "", "text/plain")
        else:
            r.send(307, "", Location=f"http://localhost:{port}/")

    results = [
        (f"http://127.0.0.1:{port}/", "Loopback", ""),
        (f"http://[::1]:{canary6.port}/", "IPv6 loopback", ""),
        (f"http://2130706433:{spelled['decimal'].port}/", "Decimal", ""),
        (f"http://0x7f.1:{spelled['hex'].port}/", "Hex", ""),
        (f"http://0x7f000001:{spelled['hexwhole'].port}/", "Hex whole", ""),
        (f"http://0177.0.0.1:{spelled['octal'].port}/", "Octal", ""),
        (f"http://127.1:{spelled['short'].port}/", "Short", ""),
        (f"http://[::ffff:127.0.0.1]:{spelled['mapped'].port}/", "Mapped", ""),
        (f"http://localhost:{port}/", "Localhost", ""),
        ("http://169.254.169.254/latest/meta-data/", "Metadata", ""),
        ("http://metadata.google.internal/computeMetadata/v1/", "Metadata name", ""),
        ("http://10.0.0.5/", "Private", ""),
        ("http://100.64.0.1/", "CGNAT", ""),
        (f"http://mixed-co.org:{port}/", "Rebinding", ""),
        ("http://evil-co.com/", "Evil Co", "redirects to loopback"),
        ("http://sneaky-co.net/", "Sneaky Co", "redirects to localhost"),
        ("http://www.good-co.com.au/", "Good Co", "a real company"),
    ]
    with (
        LocalServer(serper_app(results)) as search,
        LocalServer(good_app) as good,
        LocalServer(evil_app) as evil,
        LocalServer(sneaky_app) as sneaky,
    ):
        internet = Internet({GOOD_IP: good.port, EVIL_IP: evil.port, SNEAKY_IP: sneaky.port})
        settings = make_settings(search_api_url=f"{search.url}/search", scrape_allow_private_networks=False)
        ctx = CollectingContext(settings, max_leads=50)
        leads = run_job(ctx, internet.network())
    for server in spelled.values():
        server.close()

    assert canary.hits == [] and canary6.hits == []
    assert all(server.hits == [] for server in spelled.values())
    assert {address for address, _ in internet.dialled} <= {GOOD_IP, EVIL_IP, SNEAKY_IP}
    # Refused URLs are no company websites: no leads. The sites that redirect into the private network
    # are refused whole at their first hop; the good site loses only its bouncing contact page.
    assert [lead.domain for lead in leads] == ["good-co.com.au"]
    assert leads[0].emails == ["hello@good-co.com.au"]
    assert evil.paths() == ["/robots.txt"] and sneaky.paths() == ["/robots.txt", "/"]
    assert sorted(good.paths()) == ["/", "/contact", "/robots.txt"]
