"""Registrable domains (bundled public suffix list, never fetched) and how closely an address's or a name's
words match a company's domain: what tells the company's own addresses and names from everyone else's."""

from __future__ import annotations

import re

import tldextract

# The bundled public suffix list only: a runner never fetches the list over the network.
TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


def registered_domain(host: str) -> str:
    """'www.Acme.com.au' -> 'acme.com.au'; the host itself when it has no registrable domain."""
    host = host.lower().rstrip(".")
    return TLD(host).top_domain_under_public_suffix or host


def domain_label(domain: str) -> str:
    """The name part of a registrable domain, letters and digits only: 'oak-and-ash.co.uk' -> 'oakandash'."""
    return re.sub(r"[^a-z0-9]", "", TLD(domain.lower()).domain)


def words(text: str) -> list[str]:
    return [word.lower() for word in _WORD_RE.findall(text)]


def domain_match(text: str, label: str) -> float:
    """The share of the text's words (three letters or more) that occur in the domain label:
    'Lone Star Roofing Co.' vs 'lonestarroofingco' -> 1.0, 'Roofers in Austin TX' -> 0.0."""
    if not label:
        return 0.0
    found = [word for word in words(text) if len(word) >= 3]
    if not found:
        return 0.0
    return sum(1 for word in found if word in label) / len(found)


def related_domains(a: str, b: str) -> bool:
    """Two registrable domains of one company: equal, or one's name contains the other's
    ('ledgerly.co.uk' and 'ledgerlyaccountants.co.uk', 'bakkerijdevries.nl' and 'bakkerij-devries.nl')."""
    if a == b:
        return True
    x, y = domain_label(a), domain_label(b)
    return len(x) >= 4 and len(y) >= 4 and (x in y or y in x)
