"""robots.txt per RFC 9309 through protego: fetched once per site (origin) and job, obeyed for the runner's
user agent. 2xx: the rules; 4xx: "unavailable", everything allowed; 5xx, unreachable or refused: "unreachable",
nothing allowed."""

from __future__ import annotations

from dataclasses import dataclass

from protego import Protego

from runner.scrape.fetch import Blocked, FetchError, SiteSession, TooManyRedirects

MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309 §2.5: parse at least the first 500 KiB
MAX_CRAWL_DELAY_S = 10.0  # a Crawl-delay above this would spend a site's whole time on one page


@dataclass
class Robots:
    user_agent: str
    rules: Protego | None
    allow_all: bool
    reason: str

    def allows(self, url: str) -> bool:
        if self.rules is None:
            return self.allow_all
        return bool(self.rules.can_fetch(url, self.user_agent))

    def crawl_delay(self) -> float | None:
        if self.rules is None:
            return None
        delay = self.rules.crawl_delay(self.user_agent)
        return min(float(delay), MAX_CRAWL_DELAY_S) if delay else None


def product_token(user_agent: str) -> str:
    """'LeadEngineBot/0.1 (+https://...)' -> 'LeadEngineBot'."""
    return user_agent.strip().split("/", 1)[0].split(" ", 1)[0] or user_agent


def fetch_robots(session: SiteSession, origin: str) -> Robots:
    """The robots rules for origin (scheme://host[:port])."""
    # RFC 9309 §2.2.1: groups match the crawler's product token ("LeadEngineBot"), not its whole UA string.
    agent = product_token(session.settings.scrape_user_agent)
    try:
        page = session.get(f"{origin}/robots.txt", html=False, max_bytes=MAX_ROBOTS_BYTES)
    except Blocked:
        raise  # a site whose robots.txt the guard refuses is refused whole, not read as "unreachable"
    except TooManyRedirects:
        # §2.3.1.2: a robots.txt not reached within five redirects may be taken as unavailable.
        return Robots(agent, None, allow_all=True, reason="unavailable (redirect loop)")
    except FetchError as e:
        return Robots(agent, None, allow_all=False, reason=f"unreachable: {e}")
    if 200 <= page.status < 300:
        return Robots(agent, Protego.parse(page.text()), allow_all=True, reason="rules")
    if 400 <= page.status < 500:
        return Robots(agent, None, allow_all=True, reason=f"unavailable (HTTP {page.status})")
    return Robots(agent, None, allow_all=False, reason=f"unreachable (HTTP {page.status})")
