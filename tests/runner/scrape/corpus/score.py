"""Precision and recall per lead field over the corpus, and each site's misses, from the leads a job made."""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.scrape.leads import company_domain
from tests.runner.scrape.corpus.web import SiteResult

FIELDS = ("emails", "phones", "names", "linkedin")


@dataclass
class Tally:
    found: int = 0  # what the leads gave
    right: int = 0  # of those, in the ground truth
    expected: int = 0  # the ground truth

    @property
    def precision(self) -> float:
        return self.right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.expected if self.expected else 1.0


@dataclass
class Score:
    tallies: dict[str, Tally] = field(default_factory=lambda: {name: Tally() for name in FIELDS})
    misses: dict[str, list[str]] = field(default_factory=dict)  # domain -> what went wrong
    own_first: int = 0  # sites whose first address is on the company's own domain, of those that have one
    own_first_of: int = 0
    sites: int = 0

    def miss(self, domain: str, text: str) -> None:
        self.misses.setdefault(domain, []).append(text)


def _lists(score: Score, domain: str, kind: str, found: list[str], expected: tuple[str, ...]) -> None:
    tally = score.tallies[kind]
    right = [item for item in found if item in expected]
    tally.found += len(found)
    tally.right += len(right)
    tally.expected += len(expected)
    wrong = [item for item in found if item not in expected]
    missing = [item for item in expected if item not in found]
    if wrong:
        score.miss(domain, f"{kind}: wrong {wrong}")
    if missing:
        score.miss(domain, f"{kind}: missed {missing}")


def _exact(score: Score, domain: str, kind: str, found: str | None, expected: tuple[str | None, ...]) -> None:
    """A one-value field: right or wrong (counted once either way, so precision = recall = share right)."""
    tally = score.tallies[kind]
    tally.found += 1
    tally.expected += 1
    if found in expected:
        tally.right += 1
    else:
        score.miss(domain, f"{kind}: {found!r}, expected {expected[0]!r}")


def score(results: list[SiteResult]) -> Score:
    out = Score()
    for result in results:
        site, lead = result.site, result.lead
        out.sites += 1
        truth = site.expected
        if lead is None:
            out.miss(site.domain, "no lead")
        emails = lead.emails if lead else []
        _lists(out, site.domain, "emails", emails, truth.emails)
        _lists(out, site.domain, "phones", lead.phones if lead else [], truth.phones)
        _exact(out, site.domain, "names", lead.company_name if lead else None, truth.names)
        _exact(out, site.domain, "linkedin", lead.linkedin_url if lead else None, (truth.linkedin,))
        own = company_domain(site.home) or ""
        if any(_on_domain(email, own) for email in truth.emails):
            out.own_first_of += 1
            if emails and _on_domain(emails[0], own):
                out.own_first += 1
            else:
                out.miss(site.domain, f"emails: first is not on {own}: {emails[:1]}")
    return out


def _on_domain(email: str, domain: str) -> bool:
    host = email.rsplit("@", 1)[-1]
    return host == domain or host.endswith("." + domain)


def report(result: Score) -> str:
    lines = [
        f"lead quality over {result.sites} corpus sites",
        f"  {'field':<9} precision  recall  (right/found/expected)",
    ]
    for name, tally in result.tallies.items():
        lines.append(
            f"  {name:<9} {tally.precision:9.3f} {tally.recall:7.3f}  ({tally.right}/{tally.found}/{tally.expected})"
        )
    lines.append(f"  own-domain address first: {result.own_first}/{result.own_first_of} sites")
    lines.append(f"  sites with misses: {len(result.misses)}")
    for domain, misses in sorted(result.misses.items()):
        lines.append(f"    {domain}")
        lines += [f"      {miss}" for miss in misses]
    return "\n".join(lines)
