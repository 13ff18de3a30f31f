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
    "tokyo": "JP", "dubai": "AE", "tel aviv": "IL",
}  # fmt: skip


def region_for_geography(geography: str) -> str | None:
    """ISO 3166 alpha-2 region for the geography text, or None when nothing in it is recognised
    (then only numbers written with a country code parse)."""
    parts = [p.strip().lower() for p in re.split(r"[,/;()]", geography) if p.strip()]
    # The most specific country-level part is usually last ("Sydney, NSW, Australia").
    for part in reversed(parts):
        if part in COUNTRIES:
            return COUNTRIES[part]
        if len(part) == 2 and part.upper() in phonenumbers.SUPPORTED_REGIONS:
            return "GB" if part == "uk" else part.upper()
    for part in reversed(parts):
        for city, region in CITIES.items():
            if re.search(rf"\b{re.escape(city)}\b", part):
                return region
    text = geography.lower()
    for name, region in COUNTRIES.items():
        if len(name) > 3 and re.search(rf"\b{re.escape(name)}\b", text):
            return region
    return None
