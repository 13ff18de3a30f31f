"""The company's name as the company writes it (contract §6), from the page's own evidence in order of
trust: structured data, `og:site_name`, the title part that matches the domain or the logo and copyright
line, the logo's alt text, the copyright holder; never "Home", "Welcome!", "Contact us" or a site builder's
"My Site", nor an SEO tagline such as "Roofers in Austin TX" when the page names the company elsewhere."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from runner.scrape.domains import domain_match, words

MAX_NAME_CHARS = 200
TITLE_SEPARATORS_RE = re.compile(r"\s+[|\-–—·:»/]\s+|\s*[|–—·»]\s*")
GENERIC_PARTS = frozenset(
    {
        "home", "homepage", "home page", "welcome", "welcome!", "contact", "contact us", "about", "about us",
        "official site", "official website", "enquiries", "enquiry", "inquiries", "get in touch", "say hello",
        "kontakt", "impressum", "startseite", "start", "accueil", "inicio", "contacto", "contatti", "over ons",
        "my site", "my website", "my wordpress blog", "just another wordpress site", "site title", "untitled",
        "new page", "index", "default", "mentions légales", "legal notice", "privacy policy", "blog",
    }
)  # fmt: skip
LEGAL_SUFFIX_RE = re.compile(
    r"[\s,]+(?:pty\.?\s+ltd\.?|pty\.?\s+limited|ltd\.?|limited|llc|l\.l\.c\.|inc\.?|incorporated|plc|llp|pllc|"
    r"p\.c\.|gmbh|ag|b\.v\.|bv|sarl|sas|s\.a\.|partg\s+mbb|corp\.?)$",
    re.IGNORECASE,
)
COPYRIGHT_RE = re.compile(
    r"(?:©|&copy;|\(c\)|copyright)\s*(?:©\s*)?(?:\d{4}(?:\s*[-–—]\s*\d{4})?\s*,?\s*)?(?:by\s+)?"
    r"([^\d\s.|·•,©][^.|·•©]{1,80}?)(?=\s*(?:[.|·•]|all rights|proudly|powered|$))",
    re.IGNORECASE,
)
LOGO_HINT_RE = re.compile(r"logo|brand|site-?title|header", re.IGNORECASE)


def is_generic(part: str) -> bool:
    return part.strip().strip("!.").lower() in GENERIC_PARTS or part.strip().lower() in GENERIC_PARTS


def title_parts(title: str) -> list[str]:
    """'Home | Harbourline Software' -> ['Harbourline Software']: the title's parts without generic ones."""
    parts = []
    for part in TITLE_SEPARATORS_RE.split(title):
        part = re.sub(r"^welcome\s+to\s+", "", part.strip(), flags=re.IGNORECASE).strip()
        if part and not is_generic(part):
            parts.append(part[:MAX_NAME_CHARS])
    return parts


def clean_title(title: str) -> str | None:
    """A company name from a page title alone: its first part that is not generic."""
    parts = title_parts(title)
    return parts[0] if parts else None


def without_legal_suffix(name: str) -> str:
    return LEGAL_SUFFIX_RE.sub("", name).strip(" ,")


def logo_alt(tree: HTMLParser) -> str | None:
    """The alt text of the site's logo: an image in the header, or one that links home or is called a logo."""
    for node in tree.css("header img[alt], a[href] img[alt], img[alt]"):
        alt = re.sub(r"\s+", " ", node.attributes.get("alt") or "").strip()
        link = node.parent
        home = link is not None and link.tag == "a" and (link.attributes.get("href") or "").strip() in ("/", "./", "")
        hints = " ".join(filter(None, [node.attributes.get("src"), node.attributes.get("class"), alt]))
        if not alt or not (home or LOGO_HINT_RE.search(hints)):
            continue
        alt = re.sub(r"\s*(?:[-–|]\s*)?\b(?:logo|home)\b\s*$", "", alt, flags=re.IGNORECASE).strip(" -–|")
        alt = alt.split(" - ")[0].strip()
        if alt and not is_generic(alt) and len(words(alt)) <= 8:
            return alt[:MAX_NAME_CHARS]
    return None


def copyright_holder(text: str) -> str | None:
    """'© 2023 by Coastal Roof Restorations. Proudly created with Wix.com' -> 'Coastal Roof Restorations'."""
    for match in COPYRIGHT_RE.finditer(text):
        name = without_legal_suffix(match.group(1).strip())
        if name and not is_generic(name) and len(words(name)) <= 8 and any(c.isalpha() for c in name):
            return name[:MAX_NAME_CHARS]
    return None


def _similar(part: str, name: str) -> bool:
    a, b = set(words(part)), set(words(name))
    return bool(a) and len(a & b) / len(a) >= 0.6


def choose(
    structured: list[str], site_name: str | None, title: str, logo: str | None, holder: str | None, label: str
) -> tuple[str | None, int]:
    """The name and how trustworthy its source is (lower is better), from the page's evidence; `label` is
    the domain's name part ('lonestarroofingco'), empty for an IP-literal site."""
    for name in structured:
        if not is_generic(name):
            return name[:MAX_NAME_CHARS], 0
    # og:site_name is the name, but some sites put a tagline in it too ("Harbour Plumbing | Sydney Plumbers").
    site_parts = title_parts(site_name or "")
    if site_parts:
        best = max(site_parts, key=lambda part: (domain_match(part, label), -site_parts.index(part)))
        return best, 1
    parts = title_parts(title)
    scored = sorted(((domain_match(part, label), -i, part) for i, part in enumerate(parts)), reverse=True)
    if scored and scored[0][0] >= 0.5:
        return scored[0][2], 2
    for evidence in (logo, holder):
        for part in parts:
            if evidence and _similar(part, evidence):
                return part, 2
    if logo and domain_match(logo, label) >= 0.5:
        return logo, 3
    if holder and domain_match(holder, label) >= 0.5:
        return holder, 3
    if logo:
        return logo, 4
    if holder:
        return holder, 4
    if parts:
        return parts[0], 5
    return None, 9
