"""Phone numbers on a company page (contract §6): numbers the site gives as phone numbers, in E.164 for the
job's region; never dates, prices, postcodes, registration, tax, bank or order numbers, nor a number the page
quotes for another organisation (a regulator's or an ombudsman's line)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import phonenumbers

# Labels that say what a number is. The one nearest before a number decides: "ABN 53 004 085 616" is no
# phone, "Bookings: 1300 655 506" is one. Checked on the text just before the number, within its block.
PHONE_LABEL_RE = re.compile(
    r"\b(?:ph|phone|tel|tele|telephone|telefon|telefono|telefoon|téléphone|tél|t|p|m|f|mob|mobile|mobil|"
    r"cell|call|calls|fax|telefax|freecall|freephone|toll[- ]free|hotline|office|whatsapp|text|sms|"
    r"enquiries|bookings|intl|international|on|or|us|dial)\b|\+\s*$",
    re.IGNORECASE,
)
NOT_PHONE_LABEL_RE = re.compile(
    r"\b(?:abn|acn|arbn|afsl|licen[cs]e|lic|registration|registered|reg|regnr|company\s+(?:no|number)|"
    r"vat|gst|tax|tva|btw|ust|ust-idnr|steuernummer|steuer-nr|ein|ssn|npi|kvk|siret|siren|rcs|hrb|hra|"
    r"iban|bic|swift|bsb|account|acct|order|invoice|inv|ref|reference|job|case|cause|matter|"
    r"booking\s+(?:ref|reference|no|number)|consignment|tracking|po|ndis|cro|gdc|sra|rics|ahpra|"
    r"member|membership|policy|model|serial|sku|isbn|id)\b\.?|#|№",
    re.IGNORECASE,
)
LABEL_WINDOW = 40
# A block that quotes another organisation: its numbers and off-site addresses are that organisation's.
OTHER_ORGANISATION_RE = re.compile(
    r"ombudsman|complaints?\s+(?:authority|commission|scheme|body)|dispute\s+resolution|regulat(?:or|ed\s+by|ory)|"
    r"aufsicht|kammer\b|rechtsanwaltskammer|scamwatch|phishing|licensed\s+by|board\s+of|commission\b|"
    r"registered\s+with|accredited\s+by|raise\s+a\s+concern|make\s+a\s+complaint|complain\s+to|"
    r"tribunal|h[ée]bergeur|hosted\s+by|website\s+by|site\s+by|designed\s+by|powered\s+by|provided\s+by|"
    r"reviews?\s+by|reservations?\s+by|payments?\s+by|you\s+(?:can|may)\s+(?:also\s+)?(?:contact|refer|ask)",
    re.IGNORECASE,
)


def e164(raw: str, region: str | None) -> str | None:
    """The number in E.164 if it is a valid number for the region (or written with its country code)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def from_tel(href: str, region: str | None) -> str | None:
    """A tel: link: the site says it is a phone, so one that does not parse is kept as its digits."""
    raw = unquote(href.split(":", 1)[1]).split(";", 1)[0].strip()
    found = e164(raw, region)
    if found:
        return found
    digits = re.sub(r"[^\d+]", "", raw)
    return digits if sum(c.isdigit() for c in digits) >= 6 else None


def quoted_spans(block: str) -> list[tuple[int, int]]:
    """Where the block quotes another organisation: from the first words that introduce one ("licensed by",
    "contact the Ombudsman") to the block's end, since a paragraph that turns to a regulator rarely turns
    back. What comes before is still the company's ("Call 0412 345 678 · Licensed by NSW Fair Trading")."""
    match = OTHER_ORGANISATION_RE.search(block)
    return [(match.start(), len(block))] if match else []


def is_quoted(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def in_text(block: str, region: str | None) -> list[str]:
    """Numbers in one block of text (a paragraph, a list item, a cell) that its labels do not rule out.
    The VALID leniency already rejects dates, prices and most ids that only look like numbers."""
    found: list[str] = []
    quoted = quoted_spans(block)
    matcher = phonenumbers.PhoneNumberMatcher(block, region or "ZZ", leniency=phonenumbers.Leniency.VALID)
    for match in matcher:
        if is_quoted(match.start, quoted) or _labelled_otherwise(
            block[max(0, match.start - LABEL_WINDOW) : match.start]
        ):
            continue
        found.append(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))
    return found


def _labelled_otherwise(before: str) -> bool:
    phone = [m.end() for m in PHONE_LABEL_RE.finditer(before)]
    other = [m.end() for m in NOT_PHONE_LABEL_RE.finditer(before)]
    return bool(other) and (not phone or max(other) > max(phone))
