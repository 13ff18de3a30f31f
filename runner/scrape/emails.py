"""Email addresses on a company page, and which of them are the company's (contract §6): addresses in
mailto links, Cloudflare's protection, text and its "[at]"/"[dot]" spellings; never placeholders, instruction
text, asset names, DSNs or no-reply senders, nor another organisation's address that the page quotes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

from runner.scrape.domains import domain_label, domain_match, registered_domain, related_domains

EMAIL_RE = re.compile(
    r"(?<![\w.%+-])[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?![\w-])",
    re.IGNORECASE,
)
# "logo@2x.png" and friends: asset names that look like addresses.
NOT_EMAIL_TLDS = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "bmp", "css", "js", "map", "woff", "woff2", "ttf"}
)
# Form placeholders and instruction text: "name@domain.com", "you@example.com", "firstname.lastname@firm".
PLACEHOLDER_DOMAINS = frozenset(
    {
        "example.com", "example.org", "example.net", "domain.com", "yourdomain.com", "email.com", "mail.com",
        "yourcompany.com", "company.com", "test.com", "website.com", "yourwebsite.com", "mysite.com",
        "sample.com", "site.com", "yoursite.com", "acme.com", "address.com", "emailaddress.com",
    }
)  # fmt: skip
PLACEHOLDER_LOCALS = frozenset(
    {
        "name", "yourname", "your.name", "your_name", "you", "your", "youremail", "your.email", "email",
        "user", "username", "firstname.lastname", "first.last", "firstname", "lastname", "first.lastname",
        "firstname_lastname", "fname.lname", "john.doe", "jane.doe", "johndoe", "janedoe", "john.smith",
        "test", "example", "someone", "somebody", "me", "abc", "xyz",
    }
)  # fmt: skip
PLACEHOLDER_TLDS = frozenset({"example", "test", "invalid", "localhost", "local"})
# Senders, not contacts.
NO_REPLY_RE = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]daemon|bounces?)(?:[-_.+].*)?$")
# Random keys before an '@': Sentry DSNs ("3f9a...@o450123.ingest.sentry.io") and other tokens in URLs.
TOKEN_LOCAL_RE = re.compile(r"^[0-9a-f]{16,}$")
TOKEN_DOMAINS = ("sentry.io", "wixpress.com", "sentry-cdn.com")
# Government domains: a company's address is never on one; a page quotes them (regulators, scam reports).
GOVERNMENT_RE = re.compile(r"(?:^|\.)gov(?:\.[a-z]{2})?$|(?:^|\.)govt\.[a-z]{2}$|(?:^|\.)gc\.ca$|\.europa\.eu$")
# Free-mail and ISP providers: a small business whose only address is on one keeps it.
FREE_MAIL_NAMES = frozenset(
    {
        "gmail", "googlemail", "hotmail", "outlook", "live", "msn", "yahoo", "ymail", "icloud", "me", "mac",
        "aol", "protonmail", "proton", "gmx", "web", "zoho", "fastmail", "bigpond", "optusnet", "iinet",
        "tpg", "westnet", "internode", "dodo", "btinternet", "btopenworld", "sky", "virginmedia", "talktalk",
        "ntlworld", "blueyonder", "orange", "free", "wanadoo", "laposte", "sfr", "libero", "tiscali",
        "comcast", "att", "verizon", "sbcglobal", "cox", "xtra", "eircom", "ziggo", "kpnmail", "hetnet",
        "planet", "telenet", "t-online", "freenet", "bluewin", "yandex", "mail",
    }
)  # fmt: skip

# Obfuscated spellings. A bracketed at-token ("[at]", "(at)", "{at}") is believed with plain dots in the
# domain ("jane [at] acme.com"); the bare word ("jane at acme dot com") only with dot-tokens throughout
# and a common suffix, so prose such as "sign in at portal.acme.com" or "at greenleaf dot gardens" stays prose.
_BRACKET_AT = r"\s*[\[\(\{<]\s*(?:at|@)\s*[\]\)\}>]\s*"
_BRACKET_DOT = r"\s*[\[\(\{<]\s*(?:dot|\.)\s*[\]\)\}>]\s*"
_BARE_DOT = r"\s+dot\s+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_LOCAL = r"(?<![\w.+-])([a-z0-9][a-z0-9._%+-]{0,63})"
# What may not follow a spelled-out domain: more of a name or a path (then it is a web address), or another
# dot, which a shorter match must not leave behind ("acme dot co" out of "acme dot co dot uk/blog").
_END = rf"(?![\w/-])(?!\.\w)(?!{_BRACKET_DOT}|{_BARE_DOT})"
BRACKETED_RE = re.compile(
    rf"{_LOCAL}{_BRACKET_AT}((?:{_LABEL}(?:{_BRACKET_DOT}|{_BARE_DOT}|\.))+[a-z]{{2,24}}){_END}", re.IGNORECASE
)
BARE_RE = re.compile(rf"{_LOCAL}\s+at\s+((?:{_LABEL}(?:{_BARE_DOT}|{_BRACKET_DOT}))+[a-z]{{2,24}}){_END}", re.I)
_DOT_TOKEN_RE = re.compile(rf"{_BRACKET_DOT}|{_BARE_DOT}", re.IGNORECASE)
COMMON_SUFFIXES = frozenset({"com", "net", "org", "edu", "biz", "info", "io", "co", "app", "dev", "ai"})
# Words that precede " at " in prose far more often than they are someone's mailbox.
PROSE_LOCALS = frozenset(
    {
        "us", "in", "me", "them", "him", "her", "it", "out", "up", "online", "available", "here", "there",
        "visit", "find", "found", "located", "based", "open", "live", "now", "or", "and", "is", "are", "be",
        "follow", "see", "look", "book", "enrol", "register", "apply", "shop",
    }
)  # fmt: skip


def normalize(candidate: str) -> str | None:
    """The address in canonical form (lowercase, no surrounding punctuation), or None if it is none."""
    address = candidate.strip().strip(".,;:!?'\"()<>[]").lower()
    if not EMAIL_RE.fullmatch(address):
        return None
    local, domain = address.rsplit("@", 1)
    suffix = domain.rsplit(".", 1)[-1]
    if suffix in NOT_EMAIL_TLDS:
        return None
    if local in PLACEHOLDER_LOCALS or NO_REPLY_RE.match(local):
        return None
    if TOKEN_LOCAL_RE.match(local) or domain.endswith(TOKEN_DOMAINS):
        return None
    return address


def is_placeholder_domain(domain: str) -> bool:
    """'domain.com', 'example.com', 'anything.example': the domains of form placeholders and instructions
    (a site that itself lives on one keeps its own addresses: the caller checks that first)."""
    return domain in PLACEHOLDER_DOMAINS or domain.rsplit(".", 1)[-1] in PLACEHOLDER_TLDS


def from_mailto(href: str) -> list[str]:
    """'mailto:a%40b.com,c@d.com?subject=...' -> the addresses (percent-decoded, query dropped; Outlook
    separates them with ';')."""
    target = unquote(href.split(":", 1)[1].split("?", 1)[0])
    return [address for part in re.split(r"[,;]", target) if (address := normalize(part))]


def cloudflare_decode(encoded: str) -> str | None:
    """Cloudflare's email protection: the address XOR-ed with the first byte, as hex."""
    try:
        data = bytes.fromhex(encoded.strip())
    except ValueError:
        return None
    if len(data) < 2:
        return None
    return normalize(bytes(b ^ data[0] for b in data[1:]).decode("utf-8", errors="replace"))


def in_text(text: str) -> list[str]:
    """Addresses written in a block of text, plainly or spelled out, in page order."""
    return [address for _, _, address in spans(text)]


def spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, address) of each address in a block of text, plainly written or spelled out."""
    found: list[tuple[int, int, str]] = []
    for match in BRACKETED_RE.finditer(text):
        found.append((match.start(), match.end(), f"{match.group(1)}@{_DOT_TOKEN_RE.sub('.', match.group(2))}"))
    for match in BARE_RE.finditer(text):
        domain = _DOT_TOKEN_RE.sub(".", match.group(2)).lower()
        suffix = domain.rsplit(".", 1)[-1]
        if match.group(1).lower() in PROSE_LOCALS or not (suffix in COMMON_SUFFIXES or len(suffix) == 2):
            continue
        found.append((match.start(), match.end(), f"{match.group(1)}@{domain}"))
    found += [(match.start(), match.end(), match.group(0)) for match in EMAIL_RE.finditer(text)]
    return [(start, end, address) for start, end, candidate in sorted(found) if (address := normalize(candidate))]


def is_free_mail(domain: str) -> bool:
    return domain_label(registered_domain(domain)) in FREE_MAIL_NAMES


def is_government(domain: str) -> bool:
    return bool(GOVERNMENT_RE.search(domain))


def names_its_owner(address: str, context: str, company: str | None) -> bool:
    """True when the text around an off-site address (`context`, without the address itself) names the
    organisation the address belongs to, and that is not the page's company: 'Reservations by OpenTable ...
    help@opentable.com.au', 'the ICAEW at professionalstandards@icaew.com'."""
    label = domain_label(registered_domain(address.rsplit("@", 1)[1]))
    if len(label) < 3 or label in FREE_MAIL_NAMES or (company and domain_match(company, label) >= 0.5):
        return False
    squashed = re.sub(r"[^a-z0-9]", "", context.lower().replace(address, " "))
    return label in squashed


def for_company(addresses: Iterable[str], domain: str | None) -> list[str]:
    """The company's addresses among a site's, its own domain's first. When the site has addresses on its own
    domain (or a sister domain of the same name), another organisation's address on it is someone else's
    (a vendor, a client, a regulator); free-mail addresses are kept (small businesses use them)."""
    unique = list(dict.fromkeys(addresses))
    site = registered_domain(domain) if domain and ":" not in domain else None

    def host(address: str) -> str:
        return registered_domain(address.rsplit("@", 1)[1])

    unique = [address for address in unique if not is_government(host(address)) or host(address) == site]
    own = [address for address in unique if site and related_domains(host(address), site)]
    free = [address for address in unique if address not in own and is_free_mail(host(address))]
    if own:
        own.sort(key=lambda address: host(address) != site)  # stable: the exact domain's first
        return own + free
    return unique
