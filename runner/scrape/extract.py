"""What a company page says about the company, read with a real HTML parser (selectolax): emails, phones,
social links, description, name, and which links look like its contact/about pages. The rules for each
field live in their own modules (emails, phones, names, structured); this one walks the page."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from leadengine.netguard import parse_ip_literal
from runner.scrape import emails, names, phones, structured
from runner.scrape.domains import domain_label, registered_domain, related_domains
from runner.scrape.names import clean_title

__all__ = ["PageFacts", "clean_title", "contact_links", "extract", "same_site"]

MAX_TEXT_CHARS = 200_000  # the phone matcher is slow on huge texts; company details sit near the top or foot
MAX_DESCRIPTION_CHARS = 500
MAX_ANCHORS = 5_000

LINKEDIN_HOSTS = ("linkedin.com",)
CONTACT_WORDS = (
    "contact", "get-in-touch", "get in touch", "say-hello", "say hello", "kontakt", "impressum", "imprint",
    "reach us", "enquir", "mentions-legales", "mentions légales", "legal notice", "contacto", "contatti",
)  # fmt: skip
ABOUT_WORDS = (
    "about", "who-we-are", "who we are", "our-story", "our story", "company", "team", "over-ons", "over ons",
    "ueber-uns", "über uns", "uber-uns", "a-propos", "à propos", "qui-sommes-nous",
)  # fmt: skip
BLOCK_END = "\x1e"  # marks where a block element starts or ends (newlines in the source text do not)
# Elements that end a line of text: a paragraph, cell or list item is the context of what it holds.
BLOCK_TAGS = (
    "p, div, li, td, th, tr, dd, dt, h1, h2, h3, h4, h5, h6, address, blockquote, section, article, header, "
    "footer, nav, main, aside, ul, ol, table, form, br, hr, figcaption, label"
)


@dataclass
class PageFacts:
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    linkedin: list[str] = field(default_factory=list)
    description: str | None = None
    company_name: str | None = None
    name_rank: int = 9  # how trustworthy the name's source is (names.choose): lower wins when pages merge
    text: str = ""
    contact_links: list[str] = field(default_factory=list)


def extract(html: str, url: str, region: str | None) -> PageFacts:
    """The facts of one page. `url` is where it was read (relative links resolve against it); `region`
    (ISO 3166 alpha-2, or None) is how numbers without a country code are read."""
    tree = HTMLParser(html)
    base = _base_url(tree, url)
    anchors = [(node, link) for node in tree.css("a[href]")[:MAX_ANCHORS] if (link := _join(base, node)) is not None]
    site = _site_domain(url)
    label = domain_label(site) if site else ""
    data = structured.read(tree)  # before scripts are stripped: JSON-LD and hydration data live in scripts
    title = _title(tree)
    site_name = _meta(tree, "property", "og:site_name")
    tree.strip_tags(["script", "style", "noscript", "template", "svg"])
    for node in tree.css(BLOCK_TAGS):
        node.insert_before(BLOCK_END)
        node.insert_after(BLOCK_END)
    root = tree.body or tree.root
    raw = root.text(separator=" ") if root is not None else ""
    # Twice the text limit before squashing: markers and runs of whitespace go away.
    blocks = [line for line in (_squash(line) for line in raw[: MAX_TEXT_CHARS * 2].split(BLOCK_END)) if line]
    text = " ".join(blocks)[:MAX_TEXT_CHARS]
    name, rank = names.choose(data.names, site_name, title, names.logo_alt(tree), names.copyright_holder(text), label)
    facts = PageFacts(description=_description(tree), company_name=name, name_rank=rank, text=text)
    facts.emails = _emails(tree, anchors, blocks, data, site, name)
    facts.phones = _phones(anchors, blocks, data, region)
    links = [link for _, link in anchors] + data.links
    facts.linkedin = unique(link for link in links if _host_in(link, LINKEDIN_HOSTS))
    facts.contact_links = contact_links(anchors, url)
    return facts


def _join(base: str, node: Node) -> str | None:
    """The anchor's absolute URL; None for one that does not parse ("https://[x/..."), which is skipped
    without costing the page anything else."""
    href = (node.attributes.get("href") or "").strip()
    try:
        link = urljoin(base, href)
        parts = urlsplit(link)
        _ = parts.hostname, parts.port
    except ValueError:
        return None
    return link


def _site_domain(url: str) -> str | None:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    if not host or parse_ip_literal(host) is not None:
        return None
    return registered_domain(host)


def _base_url(tree: HTMLParser, url: str) -> str:
    node = tree.css_first("base[href]")
    href = (node.attributes.get("href") or "").strip() if node is not None else ""
    try:
        return urljoin(url, href) if href else url
    except ValueError:
        return url


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def unique(items: Iterable[str | None]) -> list[str]:
    """The items in their first order, each once, without empty ones."""
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


def _block_of(node: Node) -> str:
    """The text of the paragraph (or cell, item, ...) an element sits in: its context."""
    current: Node | None = node
    while current is not None and current.tag in ("a", "span", "b", "strong", "em", "i", "small", "font"):
        current = current.parent
    return _squash((current or node).text(separator=" "))


def _emails(
    tree: HTMLParser,
    anchors: list[tuple[Node, str]],
    blocks: list[str],
    data: structured.Structured,
    site: str | None,
    company: str | None,
) -> list[str]:
    found: list[tuple[str, str, bool]] = []  # (address, its context, whether it sits after a quote)
    for node, link in anchors:
        scheme = link.split(":", 1)[0].lower()
        if scheme == "mailto":
            found += [(address, _block_of(node), _after_a_quote(node)) for address in emails.from_mailto(link)]
        elif "/cdn-cgi/l/email-protection#" in link:
            address = emails.cloudflare_decode(link.rsplit("#", 1)[1])
            if address:
                found.append((address, _block_of(node), _after_a_quote(node)))
    for node in tree.css("[data-cfemail]"):
        address = emails.cloudflare_decode(node.attributes.get("data-cfemail") or "")
        if address:
            found.append((address, _block_of(node), _after_a_quote(node)))
    for block in blocks:
        quoted = phones.quoted_spans(block)
        found += [
            (address, block[:start] + " " + block[end:], phones.is_quoted(start, quoted))
            for start, end, address in emails.spans(block)
        ]
    kept = [address for address, context, after in found if not _quoted(address, context, after, site, company)]
    kept += [e for raw in data.emails if (e := emails.normalize(raw)) and not _quoted(e, "", False, site, company)]
    return unique(kept)


def _quoted(address: str, context: str, after_a_quote: bool, site: str | None, company: str | None) -> bool:
    """Not the company's address: off the site's domain and a placeholder ('name@domain.com'), or where its
    block quotes another organisation (a regulator, a vendor's widget, the web designer's credit), or next to
    the name of the organisation it belongs to."""
    host = address.rsplit("@", 1)[1]
    domain = registered_domain(host)
    if site and related_domains(domain, site):
        return False
    if emails.is_placeholder_domain(host) or emails.is_placeholder_domain(domain):
        return True
    return after_a_quote or emails.names_its_owner(address, context, company)


def _phones(
    anchors: list[tuple[Node, str]], blocks: list[str], data: structured.Structured, region: str | None
) -> list[str]:
    found: list[str | None] = []
    for node, link in anchors:
        if link.split(":", 1)[0].lower() in ("tel", "callto") and not _after_a_quote(node):
            found.append(phones.from_tel(link, region))
    found += [phones.e164(raw, region) for raw in data.phones]
    for block in blocks:
        found += phones.in_text(block, region)
    return unique(found)


def _after_a_quote(node: Node) -> bool:
    """True for a link that sits where its block quotes another organisation (phones.quoted_spans)."""
    block = _block_of(node)
    where = block.find(_squash(node.text(separator=" ")))
    return where >= 0 and phones.is_quoted(where, phones.quoted_spans(block))


def _host_in(link: str, hosts: tuple[str, ...]) -> bool:
    try:
        host = (urlsplit(link).hostname or "").lower()
    except ValueError:
        return False
    return any(host == h or host.endswith("." + h) for h in hosts)


def contact_links(anchors: list[tuple[Node, str]], page_url: str, limit: int = 2) -> list[str]:
    """Up to `limit` links on the same site that look like contact or about pages, a contact page first
    (`/contact-us/`, "Get in touch", "Kontakt", "Impressum", a `/?page_id=27` page whose link says so)."""
    here = _without_fragment(page_url)
    contact: list[str] = []
    about: list[str] = []
    for node, link in anchors:
        if not same_site(link, page_url):
            continue
        link = _without_fragment(link)
        parts = urlsplit(link)
        path = parts.path.lower()
        if link == here or (path in ("", "/") and not parts.query) or path.endswith((".pdf", ".jpg", ".png", ".zip")):
            continue
        label = f"{path} {_squash(node.text()).lower()}"
        if any(word in label for word in CONTACT_WORDS):
            contact.append(link)
        elif any(word in label for word in ABOUT_WORDS):
            about.append(link)
    contact, about = unique(contact), unique(about)
    picked = contact[:1] + about[:1]
    picked += [link for link in contact[1:] + about[1:] if link not in picked]
    return unique(picked)[:limit]


def same_site(url: str, other: str) -> bool:
    """Two http(s) URLs of one website: the same host and port but for a leading `www.` and the scheme (a
    page served on `acme.com` that links its contact page as `https://www.acme.com/contact`)."""

    def site(value: str) -> tuple[str, int | None] | None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        port = parts.port if parts.port not in (None, 80, 443) else None
        return parts.hostname.lower().removeprefix("www."), port

    try:
        mine = site(url)
        return mine is not None and mine == site(other)
    except ValueError:
        return False


def _without_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))
