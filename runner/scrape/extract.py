"""What a company page says about the company, read with a real HTML parser (selectolax): emails, phones,
social links, description, name, and which links look like its contact/about pages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import phonenumbers
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from runner.scrape.fetch import origin_of

MAX_TEXT_CHARS = 200_000  # the phone matcher is slow on huge texts; company details sit near the top or foot
MAX_DESCRIPTION_CHARS = 500

EMAIL_RE = re.compile(
    r"(?<![\w.%+-])[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?![\w-])",
    re.IGNORECASE,
)
# "logo@2x.png" and friends: asset names that look like addresses.
NOT_EMAIL_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "bmp", "css", "js", "map"})
_AT = r"(?:\s*[\[\(\{<]\s*at\s*[\]\)\}>]\s*|\s+at\s+)"
_DOT = r"(?:\s*[\[\(\{<]\s*dot\s*[\]\)\}>]\s*|\s+dot\s+)"
# "jane [at] acme [dot] com", "jane (at) acme (dot) com.au", "jane at acme dot com": an at-token and at
# least one dot-token, so ordinary prose ("meet us at the office") never turns into an address.
OBFUSCATED_RE = re.compile(
    rf"(?<![\w.+-])([a-z0-9][a-z0-9._%+-]{{0,63}}){_AT}((?:[a-z0-9-]+(?:{_DOT}|\.))+[a-z]{{2,24}})(?![\w-])",
    re.IGNORECASE,
)
_DOT_TOKEN_RE = re.compile(_DOT, re.IGNORECASE)

SOCIAL_HOSTS = {
    "linkedin": ("linkedin.com",),
    "twitter": ("twitter.com", "x.com"),
    "facebook": ("facebook.com", "fb.com"),
}
CONTACT_WORDS = ("contact", "get-in-touch", "get in touch", "kontakt", "impressum", "reach us", "enquir")
ABOUT_WORDS = ("about", "who-we-are", "who we are", "our-story", "our story", "company", "team")
GENERIC_TITLE_PARTS = frozenset(
    {"home", "homepage", "home page", "welcome", "contact", "contact us", "about", "about us", "official site"}
)
TITLE_SEPARATORS_RE = re.compile(r"\s+[|\-–—·:»]\s+")


@dataclass
class PageFacts:
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    linkedin: list[str] = field(default_factory=list)
    twitter: list[str] = field(default_factory=list)
    facebook: list[str] = field(default_factory=list)
    description: str | None = None
    company_name: str | None = None
    text: str = ""
    contact_links: list[str] = field(default_factory=list)


def extract(html: str, url: str, region: str | None) -> PageFacts:
    """The facts of one page. `url` is where it was read (relative links resolve against it); `region`
    (ISO 3166 alpha-2, or None) is how numbers without a country code are read."""
    tree = HTMLParser(html)
    base = _base_url(tree, url)
    anchors = [(node, urljoin(base, (node.attributes.get("href") or "").strip())) for node in tree.css("a[href]")]
    facts = PageFacts(
        description=_description(tree),
        company_name=_meta(tree, "property", "og:site_name") or clean_title(_title(tree)),
    )
    tree.strip_tags(["script", "style", "noscript", "template", "svg"])
    root = tree.body or tree.root
    facts.text = _squash(root.text(separator=" ") if root is not None else "")[:MAX_TEXT_CHARS]
    facts.emails = _emails(tree, anchors, facts.text)
    facts.phones = _phones(anchors, facts.text, region)
    for kind, hosts in SOCIAL_HOSTS.items():
        setattr(facts, kind, _unique(link for _, link in anchors if _host_in(link, hosts)))
    facts.contact_links = contact_links(anchors, url)
    return facts


def _base_url(tree: HTMLParser, url: str) -> str:
    node = tree.css_first("base[href]")
    href = (node.attributes.get("href") or "").strip() if node is not None else ""
    return urljoin(url, href) if href else url


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _unique(items: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def _meta(tree: HTMLParser, attribute: str, name: str) -> str | None:
    for node in tree.css(f"meta[{attribute}]"):
        if (node.attributes.get(attribute) or "").strip().lower() == name:
            content = _squash(node.attributes.get("content") or "")
            if content:
                return content
    return None


def _title(tree: HTMLParser) -> str:
    node = tree.css_first("title")
    return _squash(node.text()) if node is not None else ""


def _description(tree: HTMLParser) -> str | None:
    text = _meta(tree, "name", "description") or _meta(tree, "property", "og:description")
    return text[:MAX_DESCRIPTION_CHARS] if text else None


def clean_title(title: str) -> str | None:
    """A company name from a page title: 'Home | Harbourline Software' -> 'Harbourline Software'."""
    parts = [part.strip() for part in TITLE_SEPARATORS_RE.split(title) if part.strip()]
    names = []
    for part in parts:
        part = re.sub(r"^welcome to\s+", "", part, flags=re.IGNORECASE).strip()
        if part and part.lower() not in GENERIC_TITLE_PARTS:
            names.append(part)
    return names[0][:200] if names else None


def normalize_email(candidate: str) -> str | None:
    address = candidate.strip().strip(".").lower()
    if not EMAIL_RE.fullmatch(address):
        return None
    if address.rsplit(".", 1)[-1] in NOT_EMAIL_TLDS:
        return None
    return address


def _emails(tree: HTMLParser, anchors: list[tuple[Node, str]], text: str) -> list[str]:
    found: list[str | None] = []
    for _, link in anchors:
        if link.lower().startswith("mailto:"):
            for part in unquote(link[7:].split("?", 1)[0]).split(","):
                found.append(normalize_email(part))
    # Cloudflare's email protection: the address XOR-ed with the first byte, as hex.
    for node in tree.css("[data-cfemail]"):
        found.append(normalize_email(_cloudflare_decode(node.attributes.get("data-cfemail") or "")))
    for match in OBFUSCATED_RE.finditer(text):
        domain = _DOT_TOKEN_RE.sub(".", match.group(2))
        found.append(normalize_email(f"{match.group(1)}@{domain}"))
    found.extend(normalize_email(match.group(0)) for match in EMAIL_RE.finditer(text))
    return _unique(found)


def _cloudflare_decode(encoded: str) -> str:
    try:
        data = bytes.fromhex(encoded)
    except ValueError:
        return ""
    if len(data) < 2:
        return ""
    return bytes(b ^ data[0] for b in data[1:]).decode("utf-8", errors="replace")


def _phones(anchors: list[tuple[Node, str]], text: str, region: str | None) -> list[str]:
    found: list[str] = []
    for _, link in anchors:
        if link.lower().startswith("tel:"):
            raw = unquote(link[4:]).split(";", 1)[0].strip()
            found.append(to_e164(raw, region) or _digits(raw))
    # The VALID leniency rejects dates, prices and ABNs that only look like numbers.
    matcher = phonenumbers.PhoneNumberMatcher(text, region or "ZZ", leniency=phonenumbers.Leniency.VALID)
    for match in matcher:
        found.append(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))
    return _unique(found)


def _digits(raw: str) -> str:
    """A tel: link that does not parse for the region, kept as its digits (the site says it is a phone)."""
    cleaned = re.sub(r"[^\d+]", "", raw)
    return cleaned if sum(c.isdigit() for c in cleaned) >= 6 else ""


def to_e164(raw: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _host_in(link: str, hosts: tuple[str, ...]) -> bool:
    host = (urlsplit(link).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in hosts)


def contact_links(anchors: list[tuple[Node, str]], page_url: str, limit: int = 2) -> list[str]:
    """Up to `limit` same-origin links that look like contact or about pages, a contact page first."""
    origin = origin_of(page_url)
    here = _without_fragment(page_url)
    contact: list[str] = []
    about: list[str] = []
    for node, link in anchors:
        if urlsplit(link).scheme not in ("http", "https") or origin_of(link) != origin:
            continue
        link = _without_fragment(link)
        path = urlsplit(link).path.lower()
        if link == here or path in ("", "/") or path.endswith((".pdf", ".jpg", ".png", ".zip")):
            continue
        label = f"{path} {_squash(node.text()).lower()}"
        if any(word in label for word in CONTACT_WORDS):
            contact.append(link)
        elif any(word in label for word in ABOUT_WORDS):
            about.append(link)
    contact, about = _unique(contact), _unique(about)
    picked = contact[:1] + about[:1]
    picked += [link for link in contact[1:] + about[1:] if link not in picked]
    return _unique(picked)[:limit]


def _without_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))
