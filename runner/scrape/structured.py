"""What a page states about itself in machine-readable form: JSON-LD (`Organization`, `LocalBusiness` and
their subtypes), schema.org microdata, and the JSON that JavaScript frameworks embed for hydration
(`__NEXT_DATA__`, Nuxt and the like), whose markup often holds no contact details at all."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser as HTMLParser

MAX_JSON_CHARS = 1_000_000  # a hydration blob beyond this is an app's data, not a company's details
MAX_DEPTH = 40
# Types that describe a page, a thing or a person, never the company itself; any other type with a name
# and contact properties is taken as an organisation (LocalBusiness alone has hundreds of subtypes).
NOT_ORGANISATION = frozenset(
    {
        "website", "webpage", "collectionpage", "contactpage", "aboutpage", "itempage", "searchaction",
        "breadcrumblist", "listitem", "imageobject", "videoobject", "person", "product", "offer",
        "aggregateoffer", "review", "aggregaterating", "rating", "postaladdress", "geocoordinates",
        "openinghoursspecification", "article", "blogposting", "newsarticle", "event", "faqpage", "question",
        "answer", "howto", "sitenavigationelement", "wpheader", "wpfooter", "contactpoint", "readaction",
        "entrypoint", "place", "brand", "service", "thing",
    }
)  # fmt: skip
ORGANISATION_HINT = re.compile(r"organi[sz]ation|business|corporation|company|service|contractor|store", re.I)
PHONE_KEY_RE = re.compile(r"^(?:tele?phone|phone|tel|telefon|telefono|mobile|fax|phone_?number|contact_?phone)$", re.I)
EMAIL_VALUE_RE = re.compile(r"^(?:mailto:)?[^@\s/:]+@[^@\s/:]+\.[a-z]{2,24}$", re.I)


@dataclass
class Structured:
    names: list[str] = field(default_factory=list)  # organisation names, most specific source first
    emails: list[str] = field(default_factory=list)  # whole values that are addresses
    phones: list[str] = field(default_factory=list)  # values of telephone-like properties, as written
    links: list[str] = field(default_factory=list)  # URLs in string values (sameAs, social settings)


def read(tree: HTMLParser) -> Structured:
    """Call before scripts are stripped from the tree."""
    found = Structured()
    for node in tree.css('script[type="application/ld+json"]'):
        for data in _load(node.text()):
            for item in _nodes(data):
                if _is_organisation(item):
                    for key in ("name", "legalName"):
                        value = item.get(key)
                        if isinstance(value, str) and value.strip():
                            found.names.append(_squash(value))
            _values(data, found)
    _microdata(tree, found)
    seen: set[int] = set()
    for node in tree.css('script[type="application/json"], script#__NEXT_DATA__, script#__NUXT_DATA__'):
        if node.mem_id in seen:
            continue
        seen.add(node.mem_id)
        for data in _load(node.text()):
            _values(data, found)
    return found


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _load(text: str) -> list[object]:
    if len(text) > MAX_JSON_CHARS:
        return []
    try:
        return [json.loads(text)]
    except (ValueError, RecursionError):
        return []  # broken JSON-LD is common: the page's markup still counts


def _nodes(data: object, depth: int = 0) -> Iterator[dict[str, object]]:
    """Every JSON object in the data (JSON-LD nests them: @graph, publisher, provider, ...)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from _nodes(value, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _nodes(value, depth + 1)


def _types(item: dict[str, object]) -> list[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return [k.rsplit("/", 1)[-1].lower() for k in kinds if isinstance(k, str)]


def _is_organisation(item: dict[str, object]) -> bool:
    kinds = _types(item)
    if not kinds or all(kind in NOT_ORGANISATION for kind in kinds):
        return False
    contact = any(key in item for key in ("telephone", "email", "address", "contactPoint", "sameAs", "logo"))
    return contact or any(ORGANISATION_HINT.search(kind) for kind in kinds)


def _values(data: object, found: Structured, key: str = "", depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        return
    if isinstance(data, dict):
        for name, value in data.items():
            _values(value, found, str(name), depth + 1)
    elif isinstance(data, list):
        for value in data:
            _values(value, found, key, depth + 1)
    elif isinstance(data, str):
        value = data.strip()
        # Only a whole value that is an address: a Sentry DSN or an asset URL carries an '@' too.
        if EMAIL_VALUE_RE.match(value):
            found.emails.append(value.removeprefix("mailto:").removeprefix("MAILTO:"))
        elif PHONE_KEY_RE.match(key) and len(value) <= 40:
            found.phones.append(value)
        elif value.startswith(("http://", "https://")) and len(value) <= 2048:
            found.links.append(value)


def _microdata(tree: HTMLParser, found: Structured) -> None:
    for scope in tree.css("[itemscope][itemtype]"):
        kind = (scope.attributes.get("itemtype") or "").rstrip("/").rsplit("/", 1)[-1].lower()
        if not kind or kind in NOT_ORGANISATION:
            continue
        for prop in scope.css("[itemprop]"):
            name = (prop.attributes.get("itemprop") or "").strip().lower()
            owner = prop.parent
            while owner is not None and "itemscope" not in owner.attributes:
                owner = owner.parent
            if owner is None or owner.mem_id != scope.mem_id:
                continue  # a property of a nested item (its address, a person), not of the organisation
            value = _squash(prop.attributes.get("content") or prop.text())
            if not value:
                continue
            if name == "name":
                found.names.append(value)
            elif name == "telephone":
                found.phones.append(value)
            elif name == "email":
                found.emails.append(value.removeprefix("mailto:"))
