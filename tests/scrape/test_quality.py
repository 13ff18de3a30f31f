"""Lead quality over the corpus of realistic company sites (tests/scrape/corpus): every site read by the real
job (search fake, SSRF guard on, site reading, extraction, lead building) and scored against its hand-written
ground truth. The targets of issue 14: emails and phones precision >= 0.98 and recall >= 0.95, names >= 0.95
right, LinkedIn >= 0.98 right, and the company's own-domain addresses first."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from leadengine.settings import Settings
from tests.scrape.corpus import load_corpus
from tests.scrape.corpus.score import Score, report, score
from tests.scrape.corpus.web import run_corpus


@pytest.fixture(scope="module")
def corpus_score() -> Iterator[Score]:
    yield score(run_corpus())


@pytest.fixture(autouse=True)
def _isolated(make_settings: Callable[..., Settings]) -> None:
    """No developer `.env` or shell variable changes how the corpus jobs run (make_settings clears them)."""


def test_corpus_covers_forty_sites_in_four_countries() -> None:
    sites = load_corpus()
    assert len(sites) >= 40
    regions = {site.geography.rsplit(",", 1)[-1].strip() for site in sites}
    assert {"Australia", "United Kingdom", "USA"} <= regions and len(regions) >= 5


def test_every_corpus_site_becomes_a_lead(corpus_score: Score) -> None:
    assert not [domain for domain, misses in corpus_score.misses.items() if "no lead" in misses], report(corpus_score)


def test_emails_precision_and_recall(corpus_score: Score) -> None:
    emails = corpus_score.tallies["emails"]
    assert emails.precision >= 0.98 and emails.recall >= 0.95, report(corpus_score)


def test_own_domain_addresses_come_first(corpus_score: Score) -> None:
    assert corpus_score.own_first == corpus_score.own_first_of, report(corpus_score)


def test_phones_precision_and_recall(corpus_score: Score) -> None:
    phones = corpus_score.tallies["phones"]
    assert phones.precision >= 0.98 and phones.recall >= 0.95, report(corpus_score)


def test_company_names_right(corpus_score: Score) -> None:
    assert corpus_score.tallies["names"].precision >= 0.95, report(corpus_score)


def test_linkedin_urls_right(corpus_score: Score) -> None:
    assert corpus_score.tallies["linkedin"].precision >= 0.98, report(corpus_score)
