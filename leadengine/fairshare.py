"""Fair share between users (contract §8), the pure decisions: facts in, a decision out, no broker or store in sight.

A user owns USER_MAX_RUNNING_JOBS *places* (`user_places/{user}-{n}-{generation}`, leadengine/store.py). A job takes one before
its message goes to the broker (the function's submit, or the relay and the runner when they publish a held job)
or, for a message that came some other way (a seed-style publisher, an operator's replay), before a runner starts
it. A place is the job's until the job finishes: while it is published, waiting for a retry or running. So at most
USER_MAX_RUNNING_JOBS of a user's jobs are in the broker, and at most that many run at once; the user's other jobs
stay `queued` in Firestore, held back in submission order, and no other user waits behind them.

A place needs no lease of its own: it lives exactly as long as its job is unfinished. A job whose runner died keeps
its place, and its redelivered message runs again once the job's lease lapses; a place whose job finished (or was
never written) is free for the next taker to clear.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from leadengine.jobs import Job
from leadengine.schemas import JobStatus

# The function's submit takes a place before it writes the job: a place naming a job that does not exist (yet) is
# left alone this long, far longer than one submit takes, before it counts as abandoned (a submit that died).
PLACE_GRACE = timedelta(seconds=60)
# What a user at the quota is told to wait before submitting again: jobs take minutes, so sooner is pointless.
QUOTA_RETRY_AFTER_S = 60
# The statuses a job counts against USER_MAX_ACTIVE_JOBS in.
ACTIVE_STATUSES = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
# A held job's `held_at` is after this: the range that finds held jobs (a timestamp range never matches null).
HELD_SINCE_EVER = datetime(2000, 1, 1, tzinfo=UTC)


class Place(BaseModel):
    """`user_places/{user}-{index}-{generation}`: one generation of one of a user's places, and the job that holds it
    (None: handed back). The latest generation of an index is the place as it stands; a place changes hands only by
    create() of the next generation, so two processes can never both take it, with or without transactions."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    index: int
    generation: int = 0
    user_id: str
    job_id: str | None
    taken_at: datetime

    def document_id(self) -> str:
        return _document_id(self.user_id, self.index, self.generation)

    def previous_document_id(self) -> str:
        return _document_id(self.user_id, self.index, self.generation - 1)


def _document_id(user_id: str, index: int, generation: int) -> str:
    # Hashed: a user id may hold characters a document id may not (`/`).
    return f"{hashlib.sha256(user_id.encode()).hexdigest()[:32]}-{index}-{generation}"


def latest_places(rows: list[Place]) -> dict[int, Place]:
    """The places as they stand: the latest generation of each index read."""
    latest: dict[int, Place] = {}
    for place in rows:
        if place.index not in latest or place.generation > latest[place.index].generation:
            latest[place.index] = place
    return latest


def next_place(current: Place | None, index: int, user_id: str, job_id: str | None, now: datetime) -> Place:
    """The generation that hands place `index` to `job_id` (None: hands it back) after `current`."""
    generation = 0 if current is None else current.generation + 1
    return Place(index=index, generation=generation, user_id=user_id, job_id=job_id, taken_at=now)


def is_stale(place: Place, job: Job | None, now: datetime) -> bool:
    """Whether a held place is free in truth: its job finished, or was never written (a submit that died)."""
    if job is None:
        return now - place.taken_at > PLACE_GRACE
    return job.finished or job.user_id != place.user_id


class Choice(enum.Enum):
    HOLDS = "holds"  # the job holds a place already (a crash between taking it and publishing, a redelivery)
    TAKE = "take"  # try create() on the free indexes, in order
    FULL = "full"  # every place is taken by a live job: the job waits (held back, or its message parked)


@dataclass(frozen=True)
class PlaceDecision:
    choice: Choice
    indexes: tuple[int, ...] = ()  # TAKE: the indexes to try; HOLDS: the job's own


def choose_place(taken: dict[int, Place], job_id: str, cap: int) -> PlaceDecision:
    """Given the user's taken places (stale ones already left out), what a job that wants one should do."""
    own = tuple(index for index, place in sorted(taken.items()) if place.job_id == job_id)
    if own:
        return PlaceDecision(Choice.HOLDS, own)
    free = tuple(index for index in range(cap) if index not in taken)
    return PlaceDecision(Choice.TAKE, free) if free else PlaceDecision(Choice.FULL)


def quota_allows(active_jobs: int, max_active_jobs: int) -> bool:
    """Whether one more job keeps the user within USER_MAX_ACTIVE_JOBS queued or running jobs."""
    return active_jobs + 1 <= max_active_jobs
