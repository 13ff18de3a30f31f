"""The job's `filters` (company_size, revenue) applied where a company's own pages give evidence.

Search results carry no company size or revenue, so a filter can only judge a company whose pages state
it ("a team of 120", "over 500 employees", "ARR of $12M"). A lead whose stated figure falls outside the
range is left out; a lead without evidence is kept, because leaving it out would drop most companies for
what their pages do not say. Filters that do not parse are ignored (they stay on the job as given)."""

from __future__ import annotations

import re
from typing import Any

_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
_EMPLOYEES_RE = re.compile(
    rf"(?:team of|staff of|workforce of|employs|employing)\s+(?:over|more than|about|around|some|nearly)?\s*{_NUMBER}\+?"
    rf"|{_NUMBER}\+?\s*(?:full[- ]time\s+)?(?:employees|staff|people|team members|engineers and staff)\b",
    re.IGNORECASE,
)
_MONEY = r"(?:a\$|us\$|au\$|\$|€|£)\s?(\d+(?:\.\d+)?)\s*(k|m|mm|b|bn|thousand|million|billion)\b"
_REVENUE_RE = re.compile(
    rf"(?:revenue|turnover|arr|annual recurring revenue|sales)[^.$€£]{{0,40}}{_MONEY}", re.IGNORECASE
)
_RANGE_RE = re.compile(
    r"^\s*([<>]=?)?\s*(\d+(?:\.\d+)?)\s*([kmb]?)\s*(\+)?\s*(?:-\s*(\d+(?:\.\d+)?)\s*([kmb]?))?\s*$", re.I
)
_SCALE = {"": 1, "k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def employee_count(text: str) -> int | None:
    """The first head count the text states, if any."""
    match = _EMPLOYEES_RE.search(text)
    if match is None:
        return None
    value = _number(match.group(1) or match.group(2))
    return int(value) if 1 <= value < 10_000_000 else None


def revenue(text: str) -> float | None:
    match = _REVENUE_RE.search(text)
    if match is None:
        return None
    return _number(match.group(1)) * _SCALE[match.group(2).lower()]


def parse_range(spec: str) -> tuple[float, float] | None:
    """'50-200' -> (50, 200); '1000+' and '>1M' -> (1000, inf) and (1e6, inf); '<50' -> (0, 50)."""
    match = _RANGE_RE.match(spec.replace("$", "").replace(" to ", "-"))
    if match is None:
        return None
    op, low, low_unit, plus, high, high_unit = match.groups()
    low_value = float(low) * _SCALE[(low_unit or "").lower()]
    if high is not None:
        return low_value, float(high) * _SCALE[(high_unit or low_unit or "").lower()]
    if plus or (op and op.startswith(">")):
        return low_value, float("inf")
    if op and op.startswith("<"):
        return 0.0, low_value
    return low_value, low_value


def rejects(filters: dict[str, Any] | None, text: str) -> str | None:
    """Why the page text rules the company out, or None when it passes (or there is no evidence)."""
    if not filters:
        return None
    checks = (("company_size", employee_count), ("revenue", revenue))
    for name, measure in checks:
        spec = filters.get(name)
        bounds = parse_range(spec) if isinstance(spec, str) else None
        if bounds is None:
            continue
        value = measure(text)
        if value is not None and not bounds[0] <= value <= bounds[1]:
            return f"{name} {value:g} outside {spec}"
    return None
