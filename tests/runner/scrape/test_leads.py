"""Lead identity (§6): the registrable domain (bundled suffix list, no network), `host:port` for IP
literals, directories skipped, results on one domain merged, LinkedIn company URLs read from results; and what
a website lead keeps: the company's own addresses first, its own LinkedIn page, its name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runner.scrape.emails import for_company
from runner.scrape.extract import PageFacts
from runner.scrape.leads import Candidate, Candidates, company_domain, is_directory, website_lead
from runner.scrape.linkedin import canonical_company_url, company_from_result, company_slug, linkedin_query
from runner.scrape.site import SiteReport
from runner.scrape.sources.base import SearchResult


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.Harbourline.com.au/contact?x=1", "harbourline.com.au"),
        ("http://harbourline.com.au", "harbourline.com.au"),
        ("https://shop.acme.co.uk/", "acme.co.uk"),
        ("https://acme.example.com:8443/", "example.com"),
        ("http://127.0.0.1:8001/about", "127.0.0.1:8001"),
        ("http://127.0.0.1/", "127.0.0.1:80"),
        ("https://10.0.0.1/", "10.0.0.1:443"),
        ("http://[::1]:9000/", "[::1]:9000"),
        ("http://localhost:8080/", "localhost"),
        ("ftp://acme.com/", None),
        ("not a url", None),
        ("http://acme.com:99999/", None),
    ],
)
def test_company_domain(url: str, domain: str | None) -> None:
    assert company_domain(url) == domain


@pytest.mark.parametrize(
    "domain", ["linkedin.com", "facebook.com", "crunchbase.com", "glassdoor.com.au", "seek.com.au", "x.com"]
)
def test_directories_and_social_sites_are_not_companies(domain: str) -> None:
    assert is_directory(domain)


def test_company_domains_are_not_directories() -> None:
    assert not is_directory("harbourline.com.au") and not is_directory("127.0.0.1:8000")


def test_candidates_merge_by_domain_in_rank_order_and_skip_directories() -> None:
    candidates = Candidates()
    for i, link in enumerate(
        [
            "https://www.acme.com.au/",
            "https://au.linkedin.com/company/acme",
            "https://acme.com.au/contact",
            "https://www.crunchbase.com/organization/acme",
            "https://beta.io/about",
        ]
    ):
        candidates.add(SearchResult(f"Title {i}", link, f"snippet {i}", i + 1))
    ordered = candidates.ordered()
    assert [(c.domain, c.home_url) for c in ordered] == [
        ("acme.com.au", "https://www.acme.com.au/"),
        ("beta.io", "https://beta.io/"),
    ]
    assert ordered[0].result_urls == ["https://www.acme.com.au/", "https://acme.com.au/contact"]
    assert len(candidates.skipped) == 2


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://www.linkedin.com/company/Harbourline-Software/", "harbourline-software"),
        ("https://au.linkedin.com/company/opalledger/about/", "opalledger"),
        ("http://linkedin.com/company/acme?trk=x", "acme"),
        ("https://www.linkedin.com/in/jane-doe", None),
        ("https://www.linkedin.com/company/", None),
        ("https://notlinkedin.com/company/acme", None),
    ],
)
def test_company_slug(url: str, slug: str | None) -> None:
    assert company_slug(url) == slug


def test_linkedin_company_from_a_result() -> None:
    company = company_from_result(
        SearchResult("Opal Ledger: Overview | LinkedIn", "https://au.linkedin.com/company/OpalLedger/", "Fin", 3)
    )
    assert company is not None
    assert (company.slug, company.name, company.url) == (
        "opalledger",
        "Opal Ledger",
        canonical_company_url("opalledger"),
    )
    assert company.url == "https://www.linkedin.com/company/opalledger"
    assert company_from_result(SearchResult("Jane | LinkedIn", "https://www.linkedin.com/in/jane", "", 1)) is None
    assert linkedin_query("SaaS companies in Sydney") == "site:linkedin.com/company SaaS companies in Sydney"


def test_own_domain_addresses_first_and_other_organisations_left_out() -> None:
    found = ["hello@pixelandco.com.au", "jess@rottnestferries.com.au", "sales@ledgerly.co.uk",
             "hello@ledgerlyaccountants.co.uk", "ledgerly.team@gmail.com", "info@tpb.gov.au"]  # fmt: skip
    assert for_company(found, "ledgerlyaccountants.co.uk") == [
        "hello@ledgerlyaccountants.co.uk",  # the site's own domain
        "sales@ledgerly.co.uk",  # a sister domain of the same name
        "ledgerly.team@gmail.com",  # free mail is kept
    ]


def test_a_small_business_with_only_free_mail_keeps_it_but_never_a_government_address() -> None:
    assert for_company(["BlueGumSparky@gmail.com".lower(), "info@fairtrading.nsw.gov.au"], "bluegum.com.au") == [
        "bluegumsparky@gmail.com"
    ]


def _lead(facts: PageFacts, domain: str, title: str = "Title") -> tuple[str | None, str, list[str]]:
    candidate = Candidate(domain, f"https://{domain}/", title, "snippet", 0, [f"https://{domain}/"])
    lead, _ = website_lead(
        "6f1c2d3e-4b5a-4789-8a9b-0c1d2e3f4a5b",
        candidate,
        SiteReport(home_url=f"https://{domain}/", facts=facts),
        {},
        datetime.now(UTC),
    )
    return lead.linkedin_url, lead.company_name, lead.emails


def test_the_sites_own_linkedin_page_wins_over_its_web_designers() -> None:
    facts = PageFacts(linkedin=["https://www.linkedin.com/company/pixel-and-co-digital/",
                                "https://au.linkedin.com/company/sydney-fitouts-group/about/"])  # fmt: skip
    url, _, _ = _lead(facts, "sydneyfitouts.com.au")
    assert url == "https://www.linkedin.com/company/sydney-fitouts-group"


def test_without_a_name_on_its_pages_the_search_title_part_matching_the_domain_names_the_company() -> None:
    _, name, _ = _lead(PageFacts(), "lonestarroofingco.com", "Roofers in Austin TX | Lone Star Roofing Co.")
    assert name == "Lone Star Roofing Co."
