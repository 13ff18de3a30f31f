"""How the API shows things (contract §3): a job, a lead, RFC 3339 timestamps and opaque page tokens."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from leadengine.schemas import Lead
from leadengine.views import job_view as job_view  # the job view lives in the core (webhooks carry it)
from leadengine.views import rfc3339 as rfc3339


def lead_view(lead: Lead) -> dict[str, Any]:
    view = lead.model_dump()
    view["found_at"] = rfc3339(lead.found_at)
    return view


def encode_page_token(lead_id: str) -> str:
    return base64.urlsafe_b64encode(lead_id.encode()).decode().rstrip("=")


def decode_page_token(token: str) -> str:
    """The lead id a page token points after; ValueError if the token is not one we issued."""
    if not 1 <= len(token) <= 200:
        raise ValueError("page_token is malformed")
    try:
        lead_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise ValueError("page_token is malformed") from e
    if not lead_id or not lead_id.isascii() or not lead_id.isalnum():
        raise ValueError("page_token is malformed")
    return lead_id
