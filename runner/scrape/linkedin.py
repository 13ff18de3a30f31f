"""The `linkedin` source: `site:linkedin.com/company <query>` through the configured search provider, read
from the result data alone (company name and canonical company URL). Nothing is ever fetched from LinkedIn."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from runner.scrape.sources.base import SearchResult

# "Atlassian | LinkedIn", "Canva - LinkedIn", "Xero: Overview | LinkedIn".
_TITLE_SUFFIX_RE = re.compile(r"\s*(?:[|\-–—:]\s*)?(?:overview\s*[|\-–—:]\s*)?linkedin\s*$", re.IGNORECASE)
_TITLE_TAIL_RE = re.compile(r"\s*[:|\-–—]\s*(?:overview|about|about us|jobs|people|life)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class LinkedInCompany:
    slug: str  # lowercase: one company per slug, case and trailing slash aside
    name: str
    url: str  # canonical https://www.linkedin.com/company/<slug>
    found_url: str  # as the search result gave it
    snippet: str


def linkedin_query(query: str) -> str:
    return f"site:linkedin.com/company {query}"


def is_linkedin_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "linkedin.com" or host.endswith(".linkedin.com")


def company_slug(url: str) -> str | None:
    """The slug of a linkedin.com/company/<slug> URL (any country subdomain), lowercase; None otherwise."""
    try:
        parts = urlsplit(url.strip())
        host, _ = parts.hostname or "", parts.port
    except ValueError:  # "https://[x/..." and other malformed URLs name no company: skip them, never fail
        return None
    if parts.scheme not in ("http", "https") or not is_linkedin_host(host):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2 or segments[0].lower() != "company":
        return None
    slug = unquote(segments[1]).strip().lower()
    return slug or None


def canonical_company_url(slug: str) -> str:
    return f"https://www.linkedin.com/company/{quote(slug, safe='-_.~')}"


def company_name(title: str, slug: str) -> str:
    name = _TITLE_TAIL_RE.sub("", _TITLE_SUFFIX_RE.sub("", title.strip())).strip()
    return name or slug.replace("-", " ").title()


def company_from_result(result: SearchResult) -> LinkedInCompany | None:
    slug = company_slug(result.link)
    if slug is None:
        return None
    return LinkedInCompany(
        slug=slug,
        name=company_name(result.title, slug),
        url=canonical_company_url(slug),
        found_url=result.link,
        snippet=result.snippet,
    )
