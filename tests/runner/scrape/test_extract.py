"""Extraction from realistic company pages of several styles: addresses (plain, mailto, obfuscated,
Cloudflare-protected), phones in local and international forms, social links, description, name, and the
links that look like contact/about pages; and the phone region read from a job's geography."""

from __future__ import annotations

import pytest

from runner.scrape.extract import clean_title, extract, same_site
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
        ("Denver, CO", "US"),  # not Colombia
        ("Adelaide, SA", "AU"),  # not Saudi Arabia
        ("Chicago, IL", "US"),  # not Israel
        ("Berlin, DE", "DE"),
        ("Paris, TX", "US"),
        ("Bondi Beach, NSW 2026", "AU"),
        ("Toronto, ON", "CA"),
        ("Hamburg", "DE"),
    ],
)
def test_region_for_geography(geography: str, region: str | None) -> None:
    assert region_for_geography(geography) == region


def test_a_malformed_link_is_skipped_and_the_page_keeps_its_details() -> None:
    # Issue 9 defect 8: urljoin raised "Invalid IPv6 URL" and the site lost everything it said.
    html = """<nav><a href="https://[x/quote">Quote</a><a href="http://[::1/admin">admin</a>
    <a href="/contact-us/">Contact us</a></nav><p>Email <a href="mailto:info@solar.com.au">info@solar.com.au</a>
    or call (02) 4228 1155.</p><a href="https://www.linkedin.com/company/solar-co/">LinkedIn</a>"""
    facts = extract(html, "https://solar.com.au/", "AU")
    assert facts.emails == ["info@solar.com.au"] and facts.phones == ["+61242281155"]
    assert facts.contact_links == ["https://solar.com.au/contact-us/"]
    assert facts.linkedin == ["https://www.linkedin.com/company/solar-co/"]


def test_cloudflare_protection_as_a_link_fragment_and_mailto_spellings() -> None:
    html = """<a href="/cdn-cgi/l/email-protection#2152555445484e615549404c44524548464855404d0f424e0f544a">[email&#160;protected]</a>
    <a href="mailto:enquiries%40koala.com.au?subject=Website%20enquiry&amp;body=Hi">Email</a>
    <a href="MAILTO:ORDERS@MARIGOLD.COM.AU">ORDERS@MARIGOLD.COM.AU</a>"""
    assert extract(html, "https://thamesdigital.co.uk/", "GB").emails == [
        "studio@thamesdigital.co.uk",
        "enquiries@koala.com.au",
        "orders@marigold.com.au",
    ]


@pytest.mark.parametrize(
    ("text", "emails"),
    [
        ("Email: tom [at] greenleaf [dot] co [dot] uk.", ["tom@greenleaf.co.uk"]),
        ("kontakt(at)kanzlei-berger.de", ["kontakt@kanzlei-berger.de"]),
        ("probate(at)texasheritage(dot)com", ["probate@texasheritage.com"]),
        ("hello (at) brightspark.com.au", ["hello@brightspark.com.au"]),
        ("write to ceo at kookaburra dot com dot au.", ["ceo@kookaburra.com.au"]),
        ("Drop us a line at HELLO@QUOKKALABS.COM.AU.", ["hello@quokkalabs.com.au"]),
        ("Families can sign in at portal.brightspark.com.au to see homework.", []),
        ("New students can enrol at brightspark.com.au/enrol.", []),
        ("Follow our projects at greenleaf dot co dot uk/blog or on Instagram at greenleaf dot gardens.", []),
        ("Parking is available at Wilson dot points on Elizabeth Street.", []),
        ("Quotes: projects at fitouts dot com dot au", ["projects@fitouts.com.au"]),
        ("Meet us at the office or mail info@site.com.au", ["info@site.com.au"]),
    ],
)
def test_spelled_out_addresses_are_read_and_prose_is_not_glued_into_one(text: str, emails: list[str]) -> None:
    assert extract(f"<p>{text}</p>", "https://site.com.au/", "AU").emails == emails


def test_placeholders_instructions_no_reply_assets_and_dsns_are_not_addresses() -> None:
    html = """<p>Please enter a valid address, e.g. name@domain.com, so we can reply.</p>
    <p>Staff addresses follow firstname.lastname@ironbark.com.au. Reminders come from no-reply@petdesk.com.</p>
    <p>Replace you@example.com with yours. Retina logo: logo@2x.png, sprite@3x.webp.</p>
    <p>https://3f9a1c27b4e84d0c9a6e2f1b7d5c8e42@o450123.ingest.sentry.io/5523417</p>
    <p>Real one: hello@ironbark.com.au</p>"""
    assert extract(html, "https://www.ironbark.com.au/", "AU").emails == ["hello@ironbark.com.au"]


def test_another_organisations_address_and_number_quoted_on_the_page_are_not_the_companys() -> None:
    html = """<p>Call us on (02) 8004 1234 or email enquiries@koala.com.au.</p>
    <p>If we cannot resolve your complaint you may contact the Tax Practitioners Board, the regulator of tax
    agents, on 1300 362 829 or at info@tpb.gov.au.</p>
    <p>Complaints: Australian Financial Complaints Authority (AFCA), 1800 931 678, info@afca.org.au.</p>
    <div class="widget"><p>Reservations by OpenTable. Need help? help@opentable.com.au</p></div>
    <p>Website by Pixel &amp; Co &ndash; hello@pixelandco.com.au</p>"""
    facts = extract(html, "https://koala.com.au/", "AU")
    assert facts.emails == ["enquiries@koala.com.au"]
    assert facts.phones == ["+61280041234"]


@pytest.mark.parametrize(
    ("text", "region", "phones"),
    [
        ("ABN 53 004 085 616 · Phone: (02) 9555 0142", "AU", ["+61295550142"]),
        ("IBAN NL91 ABNA 0417 1643 00 · Tel. 020 665 1234", "NL", ["+31206651234"]),
        ("IBAN NL91 ABNA 0417 1643 00", "AU", []),
        ("Order #1800 778 899 shipped 14/02/2024 for $1,290", "AU", []),
        ("Bookings: 1300 655 506", "AU", ["+611300655506"]),
        (
            "Telefon: 030 688 123 45 · Telefax: 030 / 688 123 46 · HRB 123456 B",
            "DE",
            ["+493068812345", "+493068812346"],
        ),
        ("T +61 (0)2 9233 4455 · F +61 (0)2 9233 4456", "AU", ["+61292334455", "+61292334456"]),
        ("Call or text: 512.555.0199 · Zip codes 78704 78745", "US", ["+15125550199"]),
        ("Tél. : 01 42 68 53 00 · SIRET 423 456 789 00012", "FR", ["+33142685300"]),
        ("Registered in England & Wales No. 07654321. VAT GB 123 4567 89.", "GB", []),
    ],
)
def test_numbers_that_are_not_phones_are_left_out(text: str, region: str, phones: list[str]) -> None:
    assert extract(f"<p>{text}</p>", "https://site.example/", region).phones == phones


def test_contacts_only_in_embedded_framework_json() -> None:
    html = """<div id="__next"><h1>Payroll</h1></div><script>Sentry.init({dsn: "https://k@o1.ingest.sentry.io/2"})</script>
    <script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{"contact":{"email":"hello@opal.io",
    "phone":"+61 2 8188 9000"},"social":{"linkedin":"https://www.linkedin.com/company/opalcloud/"},
    "sentryDsn":"https://3f9a1c27b4e84d0c9a6e2f1b7d5c8e42@o450123.ingest.sentry.io/5523417","logo":"/logo@2x.png"}}}</script>"""
    facts = extract(html, "https://opal.io/", "AU")
    assert facts.emails == ["hello@opal.io"] and facts.phones == ["+61281889000"]
    assert facts.linkedin == ["https://www.linkedin.com/company/opalcloud/"]


def test_json_ld_and_microdata_give_name_phone_and_email() -> None:
    json_ld = """<title>Roofers in Austin TX | Lone Star Roofing Co.</title><script type="application/ld+json">
    {"@context":"https://schema.org","@graph":[{"@type":"WebSite","name":"Home"},{"@type":"RoofingContractor",
    "name":"Lone Star Roofing Co.","telephone":"+1-512-472-3100","email":"office@lonestar.com"}]}</script>"""
    facts = extract(json_ld, "https://www.lonestar.com/", "US")
    assert (facts.company_name, facts.phones, facts.emails) == (
        "Lone Star Roofing Co.",
        ["+15124723100"],
        ["office@lonestar.com"],
    )
    microdata = """<title>Dentist Bondi Junction | Smiles</title><div itemscope itemtype="https://schema.org/Dentist">
    <h3 itemprop="name">Wattle Dental Care</h3><div itemprop="address" itemscope itemtype="https://schema.org/PostalAddress">
    <span itemprop="name">Shop 3</span></div><span itemprop="telephone">(02) 9387 1122</span></div>"""
    facts = extract(microdata, "https://wattledental.com.au/", "AU")
    assert (facts.company_name, facts.phones) == ("Wattle Dental Care", ["+61293871122"])


@pytest.mark.parametrize(
    ("html", "url", "name"),
    [
        ("<title>Electrician Northern Beaches | Licensed Sparky | Bluegum Electrical</title>",
         "https://bluegumelectrical.com.au/", "Bluegum Electrical"),
        ('<title>Home | My Site</title><meta property="og:site_name" content="My Site">'
         "<footer>© 2023 by Coastal Roof Restorations. Proudly created with Wix.com</footer>",
         "https://www.coastalroofs.com.au/", "Coastal Roof Restorations"),
        ('<title>Welcome!</title><header><a href="/"><img src="/img/ppt-logo.png" alt="Peak Performance PT logo">'
         "</a></header>", "https://www.peakpt.com/", "Peak Performance PT"),
        ("<title>Enquiries</title><p>Copyright &copy; 2008-2024 Dalesview Cottages. All rights reserved.</p>",
         "http://www.dalesview.co.uk/", "Dalesview Cottages"),
        ("<title>Accueil | Atelier Lumière</title>", "https://atelier-lumiere.fr/", "Atelier Lumière"),
        ("<title>Home - Kookaburra Analytics</title><footer>&copy; 2025 Kookaburra Analytics Pty Ltd.</footer>",
         "http://127.0.0.1:8001/", "Kookaburra Analytics"),
    ],
)  # fmt: skip
def test_company_name_from_the_pages_evidence(html: str, url: str, name: str) -> None:
    assert extract(html, url, None).company_name == name


def test_contact_pages_by_query_string_say_hello_kontakt_and_impressum() -> None:
    html = """<a href="/?page_id=2">About</a><a href="/?page_id=27">Contact</a><a href="/?s=x">Search</a>"""
    assert extract(html, "http://fitouts.com.au/", "AU").contact_links == [
        "http://fitouts.com.au/?page_id=27",
        "http://fitouts.com.au/?page_id=2",
    ]
    assert extract('<a href="/say-hello">Say hello</a>', "https://a.com/", None).contact_links == [
        "https://a.com/say-hello"
    ]
    assert extract('<a href="/kontakt/">Kontakt</a>', "https://a.de/", None).contact_links == ["https://a.de/kontakt/"]
    assert extract('<a href="/impressum">Impressum</a>', "https://a.de/", None).contact_links == [
        "https://a.de/impressum"
    ]


def test_a_number_before_the_words_that_quote_a_regulator_is_still_the_companys() -> None:
    html = """<footer><p>Bluegum Electrical · Jason 0412 345 678 · Licensed by NSW Fair Trading, Lic. No. 287461C,
    enquiries 13 32 20</p><p>Call <a href="tel:0295550142">(02) 9555 0142</a>. Complaints can go to the Ombudsman
    on <a href="tel:1800931678">1800 931 678</a>.</p></footer>"""
    assert extract(html, "https://bluegum.com.au/", "AU").phones == ["+61295550142", "+61412345678"]


def test_outlook_style_mailto_callto_links_and_an_address_before_a_designers_credit() -> None:
    html = """<a href="mailto:sales@acme.com.au;jobs@acme.com.au">Email</a><a href="callto:+442079460018">Skype</a>
    <p>Old clients: write to acme.plumbing@iinet.net.au · Website by Pixel &amp; Co, hello@pixelandco.com.au</p>"""
    facts = extract(html, "https://acme.com.au/", "AU")
    assert facts.emails == ["sales@acme.com.au", "jobs@acme.com.au", "acme.plumbing@iinet.net.au"]
    assert facts.phones == ["+442079460018"]


def test_a_regulator_introduced_as_registered_with_keeps_its_line_off_the_lead() -> None:
    html = """<p>Tel: 01423 500600</p><p>Our physiotherapists are registered with the Health and Care Professions
    Council. To raise a concern about a registrant, contact the HCPC at ftp@hcpc-uk.org or 0300 500 6184.</p>"""
    facts = extract(html, "https://www.harrogatephysio.co.uk/", "GB")
    assert facts.phones == ["+441423500600"] and facts.emails == []


def test_a_tagline_in_og_site_name_is_cut_off() -> None:
    html = '<meta property="og:site_name" content="Sydney Plumbers | Harbour Plumbing"><title>Home</title>'
    assert extract(html, "https://harbourplumbing.com.au/", "AU").company_name == "Harbour Plumbing"
    html = '<meta property="og:site_name" content="Harbourline — Workflow automation"><title>Home</title>'
    assert extract(html, "http://127.0.0.1:8000/", "AU").company_name == "Harbourline"


def test_contact_page_linked_on_the_www_host_of_the_same_site() -> None:
    html = '<a href="http://www.hawthorn.com.au/contact/">Contact</a><a href="https://shop.hawthorn.com.au/about">About</a>'
    assert extract(html, "http://hawthorn.com.au/", "AU").contact_links == ["http://www.hawthorn.com.au/contact/"]
    assert same_site("https://www.acme.com/contact", "http://acme.com/")
    assert not same_site("http://acme.com:8080/", "http://acme.com/") and not same_site(
        "mailto:a@acme.com", "http://acme.com/"
    )
