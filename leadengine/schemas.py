"""The job's schemas: the scrape request (contract §3), the queue message (§4), job status and the lead (§6)."""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

if TYPE_CHECKING:
    from leadengine.jobs import Job

# Every string field is trimmed; a blank one is rejected by min_length after trimming.
Text50 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text256 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
SourceType = Literal["google", "linkedin"]
SOURCE_TYPES: tuple[str, ...] = ("google", "linkedin")
DEFAULT_MAX_LEADS = 50


class _Strict(BaseModel):
    # strict: "5" is not an integer and true is not a string; extra fields and explicit nulls are 422.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None:
                    raise ValueError(f"{key} must not be null; leave it out instead")
        return data


class Filters(_Strict):
    company_size: Text50 | None = None
    revenue: Text50 | None = None


MAX_WEBHOOK_URL = 2048


@dataclass(frozen=True)
class WebhookRules:
    """What a `webhook_url` may be on this deployment (§3): nothing while webhooks are off; an absolute
    `https://` URL of at most 2,048 characters without user or password; `http://` only where private networks
    are allowed (local development). Where its host points is judged at every delivery, not here (§7)."""

    enabled: bool = True
    allow_http: bool = False

    def check(self, url: str) -> str:
        if not self.enabled:
            raise ValueError("webhooks are off on this deployment (no WEBHOOK_SIGNING_KEY)")
        if len(url) > MAX_WEBHOOK_URL:
            raise ValueError(f"webhook_url must be at most {MAX_WEBHOOK_URL} characters")
        if any(ch.isspace() or not ch.isprintable() for ch in url):
            raise ValueError("webhook_url must not contain spaces or control characters")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 -- raises ValueError for a port out of range or not a number
        except ValueError as e:
            raise ValueError("webhook_url is not a valid URL") from e
        schemes = ("https", "http") if self.allow_http else ("https",)
        if parts.scheme.lower() not in schemes:
            raise ValueError("webhook_url must be an absolute https:// URL")
        if not parts.hostname:
            raise ValueError("webhook_url must name a host")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise ValueError("webhook_url must not contain a user or password")
        return url


class ScrapeRequest(_Strict):
    """The body of `POST /api/v1/jobs/scrape`."""

    industry: Text100
    geography: Text100
    keywords: list[Text50] = Field(default_factory=list, max_length=20)
    source_types: list[SourceType] = Field(default_factory=lambda: ["google"], min_length=1)  # type: ignore[arg-type]
    search_query: Text256 | None = None
    filters: Filters | None = None
    max_leads: int = Field(DEFAULT_MAX_LEADS, ge=1, le=500)
    user_id: Text100 | None = None
    # §3/§7. Judged with the deployment's settings, passed as validation context (WebhookRules).
    webhook_url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = None

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        rules = info.context.get("webhooks") if isinstance(info.context, dict) else None
        return (rules if isinstance(rules, WebhookRules) else WebhookRules()).check(value)

    @field_validator("source_types")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("source_types must not repeat a value")
        return value

    def effective_query(self) -> str:
        """The search query: the given one, else one built from industry, geography and keywords."""
        if self.search_query:
            return self.search_query
        return build_query(self.industry, self.geography, self.keywords)

    def job_request(self) -> dict[str, Any]:
        """The validated fields as stored on the job and shown by GET (the built query filled in)."""
        data = self.model_dump(exclude={"user_id"})
        data["search_query"] = self.effective_query()
        data["filters"] = self.filters.model_dump(exclude_none=True) if self.filters else None
        return data


def build_query(industry: str, geography: str, keywords: list[str]) -> str:
    query = " ".join([f"{industry} companies in {geography}", *keywords])
    return query[:256].strip()


class JobMessage(BaseModel):
    """The seed's "Scrape Job Message" (§4). Lenient on purpose: the seed's own publishers must keep working,
    so extra fields pass through and unknown source types are the runner's decision, not a parse error."""

    model_config = ConfigDict(extra="allow")

    # The API's ranges (§3), so that a message no API request could have made fails at its first delivery
    # (§9) instead of failing writes later: Firestore refuses documents over 1 MiB and maps deeper than 20.
    job_id: str
    user_id: str = Field(min_length=1, max_length=256)
    industry: str = Field("", max_length=100)
    geography: str = Field("", max_length=100)
    keywords: list[Annotated[str, StringConstraints(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=20
    )
    source_types: list[Annotated[str, StringConstraints(max_length=50)]] = Field(
        default_factory=lambda: ["google"], max_length=10
    )
    search_query: str | None = Field(default=None, max_length=256)
    filters: (
        dict[Annotated[str, StringConstraints(max_length=50)], Annotated[str, StringConstraints(max_length=50)]] | None
    ) = Field(default=None, max_length=10)
    max_leads: int = Field(DEFAULT_MAX_LEADS, ge=1, le=500)

    @field_validator("job_id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        try:
            uuid.UUID(value)
        except ValueError as e:
            raise ValueError("job_id must be a UUID") from e
        return value

    @field_validator("filters", mode="before")
    @classmethod
    def _empty_filters(cls, value: Any) -> Any:
        return value or None

    def query(self) -> str:
        return self.search_query or build_query(self.industry, self.geography, self.keywords)

    @staticmethod
    def job_id_in(body: bytes) -> str | None:
        """The job id a body names, even when it is not a valid message (to fail its job); None if none."""
        try:
            job_id = json.loads(body)["job_id"]
            uuid.UUID(job_id)
        except Exception:  # anything unreadable simply has no job id
            return None
        return str(job_id)

    def job_request(self) -> dict[str, Any]:
        """The request fields of a job created from a seed message that had no job document."""
        return {
            "industry": self.industry,
            "geography": self.geography,
            "keywords": list(self.keywords),
            "source_types": list(self.source_types),
            "search_query": self.query(),
            "filters": self.filters,
            "max_leads": self.max_leads,
        }

    @classmethod
    def for_job(cls, job: Job) -> JobMessage:
        request = job.request
        return cls(
            job_id=job.job_id,
            user_id=job.user_id,
            industry=request.industry,
            geography=request.geography,
            keywords=list(request.keywords),
            source_types=list(request.source_types) or ["google"],
            search_query=request.search_query,
            filters=request.filters or {},
            max_leads=request.max_leads,
        )

    def body(self) -> bytes:
        """UTF-8 JSON as the seed writes it (filters an object, never null)."""
        data = self.model_dump()
        data["filters"] = data["filters"] or {}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED

    def can_move_to(self, target: JobStatus) -> bool:
        """Status moves only forward: queued -> running -> succeeded | failed | cancelled."""
        return _RANK[target] > _RANK[self]


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
_RANK = {
    JobStatus.QUEUED: 0,
    JobStatus.RUNNING: 1,
    JobStatus.SUCCEEDED: 2,
    JobStatus.FAILED: 2,
    JobStatus.CANCELLED: 2,
}


class Lead(BaseModel):
    """One company found by a job (§6). `lead_id` is derived from the job and the company, so writing the
    same company twice overwrites one document instead of adding a second."""

    lead_id: str
    company_name: str
    website: str | None = None
    domain: str | None = None
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    linkedin_url: str | None = None
    description: str | None = None
    sources: list[str] = Field(default_factory=list)
    source_urls: list[str] = Field(default_factory=list)
    found_at: datetime


def lead_id_for(job_id: str, company_key: str) -> str:
    """Deterministic lead id: the same company in the same job always gets the same id."""
    return uuid.uuid5(uuid.UUID(job_id), company_key).hex
