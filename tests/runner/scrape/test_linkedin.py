"""LinkedIn company URLs as sites and search results spell them: country subdomains, `/about/` and admin
suffixes, tracking parameters, numeric ids, percent-encoding; and links that name no company (people, share
buttons, short links, malformed URLs), which are skipped without failing anything."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leadengine.netguard import Guard
from leadengine.settings import Settings
from runner.scrape.fetch import Network
from runner.scrape.handler import run_job
from runner.scrape.linkedin import canonical_company_url, company_from_result, company_slug
from runner.scrape.sources.base import SearchResult
from tests.runner.scrape.context import CollectingContext
from tests.runner.scrape.servers import LocalServer, serper_app


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://au.linkedin.com/company/harbour-plumbing-sydney/about/", "harbour-plumbing-sydney"),
        ("https://www.linkedin.com/company/opalcloud/admin/dashboard/", "opalcloud"),
        ("https://www.linkedin.com/company/southern-star-logistics-pty-ltd/mycompany/", "southern-star-logistics-pty-ltd"),
        ("https://www.linkedin.com/company/tallowood-legal/?trk=public_profile_topcard-name&originalSubdomain=au",
         "tallowood-legal"),
        ("https://www.linkedin.com/company/brightpath-software/about/?viewAsMember=true", "brightpath-software"),
        ("https://www.linkedin.com/company/10234567/admin/", "10234567"),
        ("https://de.linkedin.com/company/Kanzlei-Berger", "kanzlei-berger"),
        ("linkedin.com/company/no-scheme", None),
        ("https://www.linkedin.com/in/maria-delgado-law/", None),
        ("https://www.linkedin.com/sharing/share-offsite/?url=https%3A%2F%2Fexample.com", None),
        ("https://lnkd.in/gX7kP2mQ", None),
    ],
)  # fmt: skip
def test_company_slug_reads_every_spelling_of_a_company_url(url: str, slug: str | None) -> None:
    assert company_slug(url) == slug


@pytest.mark.parametrize(
    "url", ["https://[x/company/broken", "https://[::1/company/acme", "http://www.linkedin.com:99999/company/acme"]
)
def test_malformed_urls_name_no_company_and_raise_nothing(url: str) -> None:
    assert company_slug(url) is None
    assert company_from_result(SearchResult("Broken | LinkedIn", url, "", 1)) is None


def test_percent_encoded_slug_keeps_one_canonical_spelling() -> None:
    slug = company_slug("https://www.linkedin.com/company/caf%C3%A9-lumi%C3%A8re/")
    assert slug == "café-lumière"
    assert canonical_company_url(slug) == "https://www.linkedin.com/company/caf%C3%A9-lumi%C3%A8re"


def test_a_malformed_linkedin_result_costs_only_itself_not_the_job(make_settings: Callable[..., Settings]) -> None:
    # Issue 9 defect 8: company_slug raised "Invalid IPv6 URL" and the whole job failed.
    results = [
        ("https://[x/company/broken", "Broken | LinkedIn", ""),
        ("https://au.linkedin.com/company/redgum-robotics/", "Redgum Robotics | LinkedIn", "Robotics"),
    ]
    with LocalServer(serper_app([], results)) as search:
        settings = make_settings(search_api_url=f"{search.url}/search", search_api_key="k")
        ctx = CollectingContext(settings, source_types=["linkedin"])
        leads = run_job(ctx, Network(Guard(False)))
    assert [(lead.company_name, lead.linkedin_url) for lead in leads] == [
        ("Redgum Robotics", "https://www.linkedin.com/company/redgum-robotics")
    ]
