"""The scrape handler end to end against the bundled demo (started as its own process, as `make run` does):
both sources, every lead field of §6, the LinkedIn merge and a LinkedIn-only lead, leads written to the
real Firestore emulator in batches, the same job twice giving the same leads; and the job-level rules
(max_leads, filters, cancellation, unknown sources, missing keys, provider outages)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from leadengine.netguard import Guard
from leadengine.schemas import lead_id_for
from leadengine.settings import Settings
from leadengine.store import JobStore
from runner.errors import JobCancelled, PermanentJobError, TransientJobError
from runner.scrape.fetch import Network
from runner.scrape.handler import SAVE_BATCH, handle, run_job
from tests.runner.scrape.conftest import Demo
from tests.runner.scrape.context import CollectingContext
from tests.runner.scrape.servers import LocalServer, page_html

LEAD_FIELDS = {
    "lead_id", "company_name", "website", "domain", "emails", "phones", "linkedin_url", "description",
    "sources", "source_urls", "found_at",
}  # fmt: skip
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@pytest.fixture
def demo_settings(make_settings: Callable[..., Settings], demo: Demo) -> Settings:
    # The demo's sites are on loopback: the private-network guard is off, as `make run` sets it.
    return make_settings(search_api_url=demo.search_url, scrape_allow_private_networks=True)


class LinkedInCanary:
    """A resolver that sends any linkedin.com name to a canary server, recording every name it is asked."""

    def __init__(self, canary: LocalServer) -> None:
        self.canary = canary
        self.asked: list[str] = []

    def resolve(self, host: str) -> list[str]:
        self.asked.append(host)
        return ["127.0.0.1"]

    def route(self, address: str, port: int) -> tuple[str, int]:
        return (address, self.canary.port) if port in (80, 443) else (address, port)


def test_demo_job_gives_every_lead_field_merges_linkedin_and_writes_the_store(
    demo: Demo, demo_settings: Settings, store: JobStore
) -> None:
    with LocalServer(lambda r, hit: r.send(200, page_html("LinkedIn"))) as canary:
        watch = LinkedInCanary(canary)
        ctx = CollectingContext(
            demo_settings, store=store, keywords=["B2B", "enterprise"], source_types=["google", "linkedin"]
        )
        leads = run_job(ctx, Network(Guard(True, resolver=watch.resolve), route=watch.route))
    assert canary.hits == [] and watch.asked == []  # nothing ever went to LinkedIn

    by_name = {lead.company_name: lead for lead in leads}
    assert len(leads) == 11 == len(by_name)
    assert set(by_name) == {*demo.sites, "Redfern Robotics"}
    for lead in leads:
        data = lead.model_dump()
        assert set(data) == LEAD_FIELDS
        assert isinstance(lead.found_at, datetime) and lead.found_at.tzinfo is not None
        assert all(E164.match(phone) for phone in lead.phones), lead.phones
        assert all(email == email.lower() for email in lead.emails) and len(set(lead.emails)) == len(lead.emails)
        assert lead.description

    harbourline = by_name["Harbourline Software"]
    site = demo.sites["Harbourline Software"]
    assert harbourline.lead_id == lead_id_for(ctx.job_id, demo.domain("Harbourline Software"))
    assert harbourline.website == site and harbourline.domain == demo.domain("Harbourline Software")
    assert harbourline.emails == ["hello@harbourline.com.au", "sales@harbourline.com.au"]
    assert harbourline.phones == ["+61255504821"]
    assert harbourline.linkedin_url == "https://www.linkedin.com/company/harbourline-software"
    assert harbourline.sources == ["google", "linkedin"]
    # Two search results on the site (home and /contact) merged into one lead, with the pages read.
    assert harbourline.source_urls[:2] == [site, f"{site}contact"]
    assert "https://www.linkedin.com/company/harbourline-software/" in harbourline.source_urls
    assert harbourline.description is not None and harbourline.description.startswith("Harbourline Software builds")

    # LinkedIn slugs compare case- and slash-insensitively: the site links .../OpalLedger, the result .../opalledger.
    assert by_name["Opal Ledger"].linkedin_url == "https://www.linkedin.com/company/opalledger"
    assert by_name["Opal Ledger"].sources == ["google", "linkedin"]
    assert by_name["Jacaranda CRM"].linkedin_url == "https://www.linkedin.com/company/jacaranda-crm"
    assert (
        by_name["Kookaburra Analytics"].sources == ["google"] and by_name["Kookaburra Analytics"].linkedin_url is None
    )
    assert by_name["Kookaburra Analytics"].website == demo.sites["Kookaburra Analytics"]  # from a deep-link result
    assert by_name["Kookaburra Analytics"].emails == ["insights@kookaburra-analytics.com.au"]  # "[at]"/"[dot]"
    assert by_name["Wattle HR"].emails == ["people@wattlehr.com.au"]  # Cloudflare-protected
    assert by_name["Bondi Cloud Systems"].phones == ["+61255502020", "+14155552671"]

    redfern = by_name["Redfern Robotics"]
    assert redfern.lead_id == lead_id_for(ctx.job_id, "linkedin:redfern-robotics")
    assert (redfern.website, redfern.domain, redfern.sources) == (None, None, ["linkedin"])
    assert redfern.linkedin_url == "https://www.linkedin.com/company/redfern-robotics"
    assert redfern.emails == [] and redfern.phones == []

    # Directory and social results are no companies of their own.
    assert not any("crunchbase" in str(lead.source_urls) for lead in leads)

    # Written in batches to the real store: every lead, once.
    assert all(size <= SAVE_BATCH for size in ctx.batches) and sum(ctx.batches) == 11
    stored, _ = store.list_leads(ctx.job_id, limit=200)
    assert {row.lead_id for row in stored} == {lead.lead_id for lead in leads}
    assert store.count_leads(ctx.job_id) == 11
    assert [step for step, _ in ctx.steps][:2] == ["searched", "searched"]
    assert ctx.steps[-1] == ("leads_found", {"leads": 11})


def test_same_job_twice_gives_the_same_leads(demo_settings: Settings, store: JobStore) -> None:
    first = CollectingContext(demo_settings, store=store, source_types=["google", "linkedin"])
    handle(first)
    second = CollectingContext(demo_settings, job_id=first.job_id, store=store, source_types=["google", "linkedin"])
    second.attempt = 2
    handle(second)

    def comparable(ctx: CollectingContext) -> dict[str, dict[str, Any]]:
        return {i: lead.model_dump(exclude={"found_at"}) for i, lead in ctx.saved.items()}

    assert comparable(first) == comparable(second)
    assert store.count_leads(first.job_id) == len(first.saved) == 11


def test_max_leads_is_respected_in_rank_order(demo: Demo, demo_settings: Settings) -> None:
    ctx = CollectingContext(demo_settings, max_leads=3, source_types=["google", "linkedin"])
    handle(ctx)
    names = [lead.company_name for lead in ctx.saved.values()]
    assert sorted(names) == sorted(list(demo.sites)[:3])  # the three best-ranked sites; no room for LinkedIn-only


def test_linkedin_source_alone_reads_no_website(demo: Demo, demo_settings: Settings) -> None:
    ctx = CollectingContext(demo_settings, source_types=["linkedin"])
    leads = run_job(ctx, Network.from_settings(demo_settings))
    assert sorted(lead.linkedin_url or "" for lead in leads) == [
        "https://www.linkedin.com/company/harbourline-software",
        "https://www.linkedin.com/company/jacaranda-crm",
        "https://www.linkedin.com/company/opalledger",
        "https://www.linkedin.com/company/redfern-robotics",
    ]
    assert all(lead.website is None and lead.sources == ["linkedin"] for lead in leads)
    assert {lead.company_name for lead in leads} == {
        "Harbourline Software",
        "Opal Ledger",
        "Redfern Robotics",
        "Jacaranda CRM",
    }


def test_company_size_filter_drops_companies_whose_pages_say_otherwise(demo_settings: Settings) -> None:
    ctx = CollectingContext(demo_settings, filters={"company_size": "50-100"})
    handle(ctx)
    names = {lead.company_name for lead in ctx.saved.values()}
    # Stated sizes: Harbourline 85, Wattle 60, Jacaranda 70, Parramatta 55 (in); Kookaburra 40, Opal 120,
    # Bondi 150+, Southern Cross 180 (out). Circular Quay's size is on a robots-disallowed page and Blue
    # Mountains states none: no evidence, so they stay.
    assert names == {
        "Harbourline Software", "Wattle HR", "Jacaranda CRM", "Parramatta Pay", "Circular Quay Labs",
        "Blue Mountains Data",
    }  # fmt: skip


def test_cancellation_stops_the_job_at_its_next_checkpoint(demo: Demo, demo_settings: Settings) -> None:
    class CancelAfterSearch(CollectingContext):
        def progress(self, step: str, **fields: Any) -> None:
            super().progress(step, **fields)
            self.cancelled = True

    ctx = CancelAfterSearch(demo_settings, source_types=["google", "linkedin"])
    with pytest.raises(JobCancelled):
        handle(ctx)
    assert ctx.saved == {}


def test_missing_key_fails_permanently_naming_the_setting(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(search_provider="serpapi")
    with pytest.raises(PermanentJobError) as caught:
        handle(CollectingContext(settings))
    assert caught.value.code == "search_not_configured" and "SEARCH_API_KEY" in caught.value.message


def test_provider_outage_is_transient(make_settings: Callable[..., Settings]) -> None:
    with LocalServer(lambda r, hit: r.json(503, {"message": "overloaded"})) as down:
        settings = make_settings(search_api_url=f"{down.url}/search")
        with pytest.raises(TransientJobError):
            handle(CollectingContext(settings))


def test_guard_is_on_by_default_so_the_loopback_demo_sites_are_refused(
    demo: Demo, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(search_api_url=demo.search_url)  # SCRAPE_ALLOW_PRIVATE_NETWORKS unset: false
    ctx = CollectingContext(settings, source_types=["google", "linkedin"])
    handle(ctx)
    # Every demo site is on 127.0.0.1: no website lead; the four LinkedIn companies stand alone.
    assert sorted(lead.sources[0] for lead in ctx.saved.values()) == ["linkedin"] * 4
    assert all(lead.website is None for lead in ctx.saved.values())
