"""The lead-quality corpus: realistic company websites with hand-written ground truth, one directory per site
under `sites/` (`site.toml` plus its pages), read through the real job (search, site reading, extraction,
lead building) by `tests/runner/scrape/test_quality.py` and `bench/quality.py`."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).parent
_INCLUDE_RE = re.compile(r"<!--#include\s+(\S+)\s*-->")


@dataclass(frozen=True)
class Expected:
    """What a careful person reading the site writes down: the company's name (the accepted spellings, the
    company writes itself more than one way), contact addresses, phones in E.164, LinkedIn company URL."""

    names: tuple[str, ...]
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    linkedin: str | None


@dataclass(frozen=True)
class Site:
    domain: str  # the host the search result points at (www. included when the site uses it)
    geography: str  # the job that finds it: its region reads the site's local numbers
    search_title: str
    search_snippet: str
    pages: dict[str, str]  # path (with query) -> HTML
    expected: Expected
    linkedin_result: tuple[str, str] | None = None  # (url, title) when the linkedin source finds it
    notes: str = ""
    extra_results: tuple[str, ...] = field(default=())  # more search-result URLs on the site (deep links)
    aliases: tuple[str, ...] = field(default=())  # other host names serving the same pages ("www." or not)

    @property
    def home(self) -> str:
        return f"http://{self.domain}/"


def _expand(text: str, depth: int = 0) -> str:
    """Pages share vendor boilerplate (WordPress head, tag managers, cookie banners) as real sites do."""
    if depth > 3:
        return text
    return _INCLUDE_RE.sub(lambda m: _expand((ROOT / "partials" / m.group(1)).read_text(), depth + 1), text)


def _site(directory: Path) -> Site:
    meta = tomllib.loads((directory / "site.toml").read_text())
    truth = meta["expected"]
    pages = {path: _expand((directory / name).read_text()) for path, name in meta["pages"].items()}
    linkedin = meta.get("linkedin_result")
    return Site(
        domain=meta.get("domain", directory.name),
        geography=meta["geography"],
        search_title=meta["search_title"],
        search_snippet=meta.get("search_snippet", ""),
        pages=pages,
        expected=Expected(
            names=tuple(truth["names"]),
            emails=tuple(truth.get("emails", ())),
            phones=tuple(truth.get("phones", ())),
            linkedin=truth.get("linkedin") or None,
        ),
        linkedin_result=(linkedin["url"], linkedin["title"]) if linkedin else None,
        notes=meta.get("notes", ""),
        extra_results=tuple(meta.get("extra_results", ())),
        aliases=tuple(meta.get("aliases", ())),
    )


@cache
def load_corpus() -> tuple[Site, ...]:
    return tuple(_site(path) for path in sorted((ROOT / "sites").iterdir()) if (path / "site.toml").exists())
