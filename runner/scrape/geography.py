"""The phone region of a job's geography text ("Sydney, Australia" -> "AU"), so that local numbers on
company pages ("(02) 9251 4000") parse to E.164. Countries by name and common alias, a few big cities."""

from __future__ import annotations

import re

import phonenumbers

COUNTRIES = {
    "australia": "AU", "new zealand": "NZ", "united kingdom": "GB", "uk": "GB", "great britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB", "ireland": "IE",
    "united states": "US", "united states of america": "US", "usa": "US", "us": "US", "america": "US",
    "canada": "CA", "mexico": "MX", "brazil": "BR", "argentina": "AR", "chile": "CL", "colombia": "CO",
    "germany": "DE", "deutschland": "DE", "france": "FR", "spain": "ES", "portugal": "PT", "italy": "IT",
    "netherlands": "NL", "the netherlands": "NL", "holland": "NL", "belgium": "BE", "switzerland": "CH",
    "austria": "AT", "sweden": "SE", "norway": "NO", "denmark": "DK", "finland": "FI", "iceland": "IS",
    "poland": "PL", "czech republic": "CZ", "czechia": "CZ", "hungary": "HU", "romania": "RO", "greece": "GR",
    "turkey": "TR", "israel": "IL", "united arab emirates": "AE", "uae": "AE", "saudi arabia": "SA",
    "qatar": "QA", "egypt": "EG", "south africa": "ZA", "nigeria": "NG", "kenya": "KE", "india": "IN",
    "pakistan": "PK", "bangladesh": "BD", "sri lanka": "LK", "singapore": "SG", "malaysia": "MY",
    "indonesia": "ID", "philippines": "PH", "thailand": "TH", "vietnam": "VN", "china": "CN",
    "hong kong": "HK", "taiwan": "TW", "japan": "JP", "south korea": "KR", "korea": "KR",
}  # fmt: skip
CITIES = {
    "sydney": "AU", "melbourne": "AU", "brisbane": "AU", "perth": "AU", "adelaide": "AU", "canberra": "AU",
    "hobart": "AU", "darwin": "AU", "gold coast": "AU", "nsw": "AU", "new south wales": "AU", "victoria": "AU",
    "queensland": "AU", "auckland": "NZ", "wellington": "NZ", "london": "GB", "manchester": "GB",
    "edinburgh": "GB", "dublin": "IE", "new york": "US", "nyc": "US", "san francisco": "US", "los angeles": "US",
    "chicago": "US", "boston": "US", "seattle": "US", "austin": "US", "toronto": "CA", "vancouver": "CA",
    "montreal": "CA", "berlin": "DE", "munich": "DE", "paris": "FR", "madrid": "ES", "barcelona": "ES",
    "amsterdam": "NL", "zurich": "CH", "stockholm": "SE", "bangalore": "IN", "bengaluru": "IN", "mumbai": "IN",
    "tokyo": "JP", "dubai": "AE", "tel aviv": "IL", "hamburg": "DE", "frankfurt": "DE", "cologne": "DE",
    "köln": "DE", "koln": "DE", "stuttgart": "DE", "düsseldorf": "DE", "dusseldorf": "DE", "vienna": "AT",
    "wien": "AT", "lyon": "FR", "marseille": "FR", "toulouse": "FR", "rotterdam": "NL", "utrecht": "NL",
    "the hague": "NL", "brussels": "BE", "antwerp": "BE", "geneva": "CH", "copenhagen": "DK", "oslo": "NO",
    "helsinki": "FI", "lisbon": "PT", "rome": "IT", "milan": "IT", "warsaw": "PL", "prague": "CZ",
    "birmingham": "GB", "leeds": "GB", "glasgow": "GB", "bristol": "GB", "liverpool": "GB", "cork": "IE",
    "christchurch": "NZ", "calgary": "CA", "ottawa": "CA", "houston": "US", "dallas": "US", "denver": "US",
    "miami": "US", "atlanta": "US", "phoenix": "US", "philadelphia": "US", "san diego": "US", "portland": "US",
    "washington dc": "US", "singapore": "SG", "hong kong": "HK", "jakarta": "ID", "manila": "PH",
    "bangkok": "TH", "kuala lumpur": "MY", "seoul": "KR", "shanghai": "CN", "beijing": "CN",
}  # fmt: skip
# State and province abbreviations written after a city ("Denver, CO", "Adelaide, SA"): many are also
# country codes (CO Colombia, SA Saudi Arabia, IL Israel, DE Germany), and a known city settles which.
_US_STATES = frozenset(
    {
        "al", "ak", "az", "ar", "ca", "co", "ct", "de", "fl", "ga", "hi", "id", "il", "in", "ia", "ks", "ky", "la",
        "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh", "nj", "nm", "ny", "nc", "nd", "oh", "ok",
        "or", "pa", "ri", "sc", "sd", "tn", "tx", "ut", "vt", "va", "wa", "wv", "wi", "wy", "dc",
    }
)  # fmt: skip
_AU_STATES = frozenset({"nsw", "vic", "qld", "tas", "act", "nt", "sa", "wa"})
_CA_PROVINCES = frozenset({"on", "qc", "bc", "ab", "mb", "sk", "ns", "nb", "nl", "pe", "nu", "yt"})


def _state_regions(code: str) -> list[str]:
    return [region for region, codes in (("AU", _AU_STATES), ("US", _US_STATES), ("CA", _CA_PROVINCES))
            if code in codes]  # fmt: skip


def region_for_geography(geography: str) -> str | None:
    """ISO 3166 alpha-2 region for the geography text, or None when nothing in it is recognised
    (then only numbers written with a country code parse)."""
    parts = [p.strip().lower() for p in re.split(r"[,/;()]", geography) if p.strip()]
    # A country's name settles it; the most specific country-level part is usually last.
    for part in reversed(parts):
        if part in COUNTRIES:
            return COUNTRIES[part]
    city = next((region for part in reversed(parts) for name, region in CITIES.items()
                 if re.search(rf"\b{re.escape(name)}\b", part)), None)  # fmt: skip
    # What a short code after the city may mean ("TX 78701", "NSW 2026"): a state, else a country code.
    codes: list[str] = []
    for index, part in enumerate(parts):
        code = re.sub(r"\s+\d{3,5}$", "", part)
        if index > 0:
            codes += _state_regions(code)
        if len(code) == 2 and code.upper() in phonenumbers.SUPPORTED_REGIONS:
            codes.append("GB" if code == "uk" else code.upper())
    if city and (not codes or city in codes):
        return city  # "Berlin, DE", "Perth, WA", or a known city alone
    if codes:
        return codes[0]  # "Paris, TX" is in Texas
    text = geography.lower()
    for name, region in COUNTRIES.items():
        if len(name) > 3 and re.search(rf"\b{re.escape(name)}\b", text):
            return region
    return None
