"""Leads per contract §6: one per company per job, keyed by the registrable domain (or `linkedin:<slug>` for
a LinkedIn company no website links to), so the same job always produces the same lead ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from leadengine.netguard import parse_ip_literal
from leadengine.schemas import SOURCE_TYPES, Lead, lead_id_for
from runner.scrape import emails, names
from runner.scrape.domains import TLD as _TLD
from runner.scrape.domains import domain_label, domain_match
from runner.scrape.extract import unique
from runner.scrape.fetch import DEFAULT_PORTS, origin_of
from runner.scrape.linkedin import LinkedInCompany, canonical_company_url, company_slug
from runner.scrape.site import SiteReport
from runner.scrape.sources.base import SearchResult

# Results on these sites are about companies, not companies: social networks, directories, review and job
# sites, encyclopaedias, news and app stores. Matched on the registrable domain's name, any suffix.
DIRECTORY_NAMES = frozenset(
    {
        "linkedin", "facebook", "twitter", "instagram", "youtube", "tiktok", "pinterest", "reddit", "quora",
        "medium", "wikipedia", "wikidata", "crunchbase", "glassdoor", "indeed", "seek", "yelp", "yellowpages",
        "truelocal", "hotfrog", "zoominfo", "dnb", "bloomberg", "owler", "g2", "capterra", "getapp",
        "softwareadvice", "trustpilot", "productreview", "builtin", "wellfound", "ycombinator",
        "producthunt", "github", "gitlab", "google", "bing", "apple", "amazon", "ebay", "gumtree",
        "abr", "asic", "startupdaily", "smartcompany", "afr", "techcrunch", "forbes", "clutch",
        "goodfirms", "sortlist", "designrush", "themanifest", "upwork", "fiverr", "tracxn", "pitchbook",
        "rocketreach", "lusha", "signalhire", "comparably", "ambitionbox",
    }
)  # fmt: skip
# Names too common to match under any suffix: these exact domains only.
DIRECTORY_DOMAINS = frozenset({"x.com", "angel.co", "craft.co", "apollo.io", "news.com.au", "news.google.com"})


def company_domain(url: str) -> str | None:
    """The lead's domain: the registrable domain, lowercase (`www.` and paths never split a company), or
    `host:port` for an IP-literal URL (the port tells apart sites on one address); None if not a web URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in DEFAULT_PORTS or not host:
        return None
    address = parse_ip_literal(host)
    if address is not None:
        shown = f"[{address}]" if address.version == 6 else str(address)
        return f"{shown}:{port or DEFAULT_PORTS[parts.scheme]}"
    registered = _TLD(host).top_domain_under_public_suffix
    return (registered or host).lower()


def is_directory(domain: str) -> bool:
    if ":" in domain:
        return False
    return domain in DIRECTORY_DOMAINS or _TLD(domain).domain.lower() in DIRECTORY_NAMES


def home_url(url: str) -> str:
    return f"{origin_of(url.strip())}/"


@dataclass
class Candidate:
    """A company website found by the `google` source: every result on one registrable domain."""

    domain: str
    home_url: str
    title: str
    snippet: str
    rank: int
    result_urls: list[str] = field(default_factory=list)


class Candidates:
    """Website candidates in rank order, merged by domain; directories and social sites left out."""

    def __init__(self) -> None:
        self.by_domain: dict[str, Candidate] = {}
        self.skipped: list[str] = []

    def add(self, result: SearchResult) -> None:
        domain = company_domain(result.link)
        if domain is None or is_directory(domain):
            self.skipped.append(result.link)
            return
        found = self.by_domain.get(domain)
        if found is None:
            rank = len(self.by_domain)
            found = self.by_domain[domain] = Candidate(
                domain, home_url(result.link), result.title, result.snippet, rank
            )
        if result.link not in found.result_urls:
            found.result_urls.append(result.link)

    def __len__(self) -> int:
        return len(self.by_domain)

    def ordered(self) -> list[Candidate]:
        return sorted(self.by_domain.values(), key=lambda c: c.rank)


class LinkedInCompanies:
    """LinkedIn companies in rank order, one per slug."""

    def __init__(self) -> None:
        self.by_slug: dict[str, LinkedInCompany] = {}

    def add(self, company: LinkedInCompany | None) -> None:
        if company is not None and company.slug not in self.by_slug:
            self.by_slug[company.slug] = company

    def __len__(self) -> int:
        return len(self.by_slug)


def _sources(*names: str) -> list[str]:
    return [name for name in SOURCE_TYPES if name in names]


def website_lead(
    job_id: str, candidate: Candidate, site: SiteReport, linkedin: dict[str, LinkedInCompany], found_at: datetime
) -> tuple[Lead, str | None]:
    """The lead of a website, merged with the LinkedIn company its pages link to (if the linkedin source
    found that company). Returns the lead and the slug of the LinkedIn company it claimed."""
    facts = site.facts
    slug = _own_slug(unique(company_slug(link) for link in facts.linkedin), linkedin, candidate.domain)
    claimed = slug if slug in linkedin else None
    company = linkedin.get(claimed) if claimed else None
    linkedin_url = company.url if company else (canonical_company_url(slug) if slug else None)
    label = domain_label(candidate.domain) if ":" not in candidate.domain else ""
    name = (
        facts.company_name
        or (company.name if company else None)
        or names.choose([], None, candidate.title, None, None, label)[0]
        or candidate.domain
    )
    sources = _sources("google", "linkedin") if company else _sources("google")
    lead = Lead(
        lead_id=lead_id_for(job_id, candidate.domain),
        company_name=name,
        website=site.home_url or candidate.home_url,
        domain=candidate.domain,
        emails=emails.for_company(facts.emails, candidate.domain),
        phones=facts.phones,
        linkedin_url=linkedin_url,
        description=facts.description or candidate.snippet or (company.snippet if company else None) or None,
        sources=sources,
        source_urls=unique([*candidate.result_urls, *site.pages, company.found_url if company else None]),
        found_at=found_at,
    )
    return lead, claimed


def _own_slug(slugs: list[str], found: dict[str, LinkedInCompany], domain: str) -> str | None:
    """The company's own LinkedIn page among those its site links to: the one whose slug matches the domain
    (a web designer's or partner's page may be linked too), else one the linkedin source found, else the
    first."""
    label = domain_label(domain) if ":" not in domain else ""

    def rank(item: tuple[int, str]) -> tuple[bool, bool, float, int]:
        index, slug = item
        match = domain_match(slug.replace("-", " ").replace("_", " "), label)
        return (match >= 0.5, slug in found, match, -index)

    return max(enumerate(slugs), key=rank)[1] if slugs else None


def linkedin_lead(job_id: str, company: LinkedInCompany, found_at: datetime) -> Lead:
    """A LinkedIn company that no website of the job links to: a lead of its own, without website."""
    return Lead(
        lead_id=lead_id_for(job_id, f"linkedin:{company.slug}"),
        company_name=company.name,
        website=None,
        domain=None,
        linkedin_url=company.url,
        description=company.snippet or None,
        sources=_sources("linkedin"),
        source_urls=[company.found_url],
        found_at=found_at,
    )
