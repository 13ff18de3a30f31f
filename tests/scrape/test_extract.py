"""Extraction from realistic company pages of several styles: addresses (plain, mailto, obfuscated,
Cloudflare-protected), phones in local and international forms, social links, description, name, and the
links that look like contact/about pages; and the phone region read from a job's geography."""

from __future__ import annotations

import pytest

from runner.scrape.extract import clean_title, extract
from runner.scrape.geography import region_for_geography

MODERN = """<!doctype html><html lang="en-AU"><head><meta charset="utf-8">
<title>Home | Harbourline Software</title>
<meta name="description" content="  Workflow automation for
 enterprise operations teams. ">
<meta property="og:site_name" content="Harbourline">
<meta property="og:description" content="Not this one: meta description wins">
<link rel="icon" href="/favicon@2x.png"></head>
<body><header><img src="/img/logo@2x.png" alt="logo"><nav>
<a href="/">Home</a><a href="/platform">Platform</a><a href="/company/about-us">Company</a>
<a href="/contact#sales">Talk to sales</a><a href="https://partner.example.com/contact">Partner contact</a>
</nav></header>
<main><h1>Automate the enterprise</h1><p>Assets like hero@2x.png or sprite@3x.webp are not addresses.</p></main>
<footer><a href="mailto:Hello@Harbourline.com.au?subject=Demo%20request">Email us</a>
<a href="mailto:sales@harbourline.com.au,Support@harbourline.com.au">Sales and support</a>
<a href="tel:+61 2 5550 4821">(02) 5550 4821</a>
<a href="https://www.linkedin.com/company/harbourline-software/">LinkedIn</a>
<a href="https://twitter.com/harbourline">Twitter</a> <a href="https://x.com/harbourline_au">X</a>
<a href="https://www.facebook.com/harbourlinesoftware">Facebook</a>
<script>var support = "tracking@analytics-vendor.com";</script></footer></body></html>"""

CLASSIC = """<html><head><TITLE>Welcome to Kookaburra Analytics - Home</TITLE>
<META NAME="Description" CONTENT="Revenue analytics for B2B subscription businesses"></head>
<body><table><tr><td><a href="about-us.html">About Us</a></td><td><a href="contact-us.html">Contact Us</a></td>
<td><a href="products.html">Products</a></td></tr></table>
<p>Enquiries: insights&#64;kookaburra-analytics.com.au &middot; Careers: jobs [at] kookaburra-analytics [dot] com [dot] au</p>
<p>Partners: partners (at) kookaburra (dot) io, or write to ceo at kookaburra dot com dot au.</p>
<p>Phone (02) 5550 1177 &nbsp; Mobile 0491 570 156 &nbsp; Freecall 1300 975 707</p>
<p>London office +44 20 7946 0321, New York +1 212-555-0123, Auckland +64 9 555 0123.</p>
<p>ABN 12 345 678 901. Founded 2014-05-01. Plans from $1,200 per month. We meet at the office at 9.</p>
</body></html>"""

ONEPAGE = """<!DOCTYPE html><html><head><meta property="og:description" content="Financial close for enterprise">
<meta property="og:site_name" content="Opal Ledger"><title>Opal Ledger — Close the books in days</title></head>
<body><section id="contact"><a href="#contact">Contact</a>
<a href="/cdn-cgi/l/email-protection" class="__cf_email__" data-cfemail="5a2a3f352a363f1a352a3b36363f3e3d3f2874393537743b2f">[email&#160;protected]</a>
<a href="tel:1300975707">1300 975 707</a> <a href="tel:+61-2-5550-6464;ext=2">Sales</a></section></body></html>"""


def test_modern_page() -> None:
    facts = extract(MODERN, "https://www.harbourline.com.au/", "AU")
    assert facts.emails == ["hello@harbourline.com.au", "sales@harbourline.com.au", "support@harbourline.com.au"]
    assert facts.phones == ["+61255504821"]
    assert facts.linkedin == ["https://www.linkedin.com/company/harbourline-software/"]
    assert facts.twitter == ["https://twitter.com/harbourline", "https://x.com/harbourline_au"]
    assert facts.facebook == ["https://www.facebook.com/harbourlinesoftware"]
    assert facts.description == "Workflow automation for enterprise operations teams."
    assert facts.company_name == "Harbourline"  # og:site_name before the title
    assert facts.contact_links == [
        "https://www.harbourline.com.au/contact",
        "https://www.harbourline.com.au/company/about-us",
    ]


def test_no_asset_names_or_script_strings_as_emails() -> None:
    emails = extract(MODERN, "https://www.harbourline.com.au/", "AU").emails
    assert not any(e.endswith((".png", ".webp")) for e in emails)
    assert "tracking@analytics-vendor.com" not in emails


def test_classic_page_with_obfuscations_and_international_numbers() -> None:
    facts = extract(CLASSIC, "http://kookaburra-analytics.com.au/index.html", "AU")
    assert facts.emails == [  # in page order
        "insights@kookaburra-analytics.com.au",
        "jobs@kookaburra-analytics.com.au",
        "partners@kookaburra.io",
        "ceo@kookaburra.com.au",
    ]
    assert facts.phones == [
        "+61255501177",
        "+61491570156",
        "+611300975707",
        "+442079460321",
        "+12125550123",
        "+6495550123",
    ]
    assert facts.company_name == "Kookaburra Analytics"  # "Welcome to" and "Home" cleaned away
    assert facts.description == "Revenue analytics for B2B subscription businesses"
    assert facts.contact_links == [
        "http://kookaburra-analytics.com.au/contact-us.html",
        "http://kookaburra-analytics.com.au/about-us.html",
    ]


def test_one_page_site_with_cloudflare_protected_email_and_tel_links() -> None:
    facts = extract(ONEPAGE, "https://opalledger.com.au/", "AU")
    assert facts.emails == ["people@opalledger.com.au"]
    assert facts.phones == ["+611300975707", "+61255506464"]
    assert facts.description == "Financial close for enterprise"  # og:description when no meta description
    assert facts.company_name == "Opal Ledger"
    assert facts.contact_links == []  # only a same-page anchor


def test_local_numbers_read_with_the_jobs_region() -> None:
    html = "<p>Tel. 030 12345678 · Fax 030 12345679</p>"
    assert extract(html, "https://example.de/", "DE").phones == ["+493012345678", "+493012345679"]
    # Without a region only numbers written with a country code parse.
    assert extract("<p>(02) 5550 1177 or +61 2 5550 1178</p>", "https://x.example/", None).phones == ["+61255501178"]


def test_tel_link_that_does_not_parse_is_kept_as_digits() -> None:
    facts = extract('<a href="tel:555-0199-77">call</a>', "https://x.example/", None)
    assert facts.phones == ["555019977"]


def test_contact_links_stay_on_the_site_and_skip_files_and_other_schemes() -> None:
    html = """<a href="https://other.example/contact">x</a><a href="mailto:a@b.co">contact</a>
    <a href="/contact.pdf">Contact sheet</a><a href="/get-in-touch/">Get in touch</a><a href="/team">Team</a>
    <a href="/about">About</a><a href="/contact">Contact</a>"""
    links = extract(html, "https://acme.example/", "AU").contact_links
    assert links == ["https://acme.example/get-in-touch/", "https://acme.example/team"]


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Home | Harbourline Software", "Harbourline Software"),
        ("Jacaranda CRM — Customer relationships for enterprise", "Jacaranda CRM"),
        ("Welcome to Wattle HR", "Wattle HR"),
        ("Contact Us - Parramatta Pay", "Parramatta Pay"),
        ("Home", None),
        ("", None),
    ],
)
def test_clean_title(title: str, name: str | None) -> None:
    assert clean_title(title) == name


@pytest.mark.parametrize(
    ("geography", "region"),
    [
        ("Sydney, Australia", "AU"),
        ("Sydney", "AU"),
        ("Melbourne, VIC", "AU"),
        ("London, United Kingdom", "GB"),
        ("Manchester, UK", "GB"),
        ("Berlin, Germany", "DE"),
        ("New York, NY, USA", "US"),
        ("Auckland", "NZ"),
        ("Remote", None),
    ],
)
def test_region_for_geography(geography: str, region: str | None) -> None:
    assert region_for_geography(geography) == region
