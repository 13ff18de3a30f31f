"""A job handler for the fault tests (RUNNER_HANDLER=tests.faults.handlers:partial) whose attempts find different
leads, as a real scrape's may: the first run saves FIRST (a LinkedIn-only lead for Acme among them), marks
`first_saved` in its run record, then waits at checkpoints until its runner is killed or its time runs out; every
later run saves SECOND (Acme now merged with its website, two companies gone, two new) and completes.

Runs and completions are counted as tests/runner/handlers.py counts them (`test_runs/{job_id}`)."""

from __future__ import annotations

import os
import time
import uuid

from google.cloud import firestore

from leadengine.schemas import Lead, lead_id_for
from leadengine.store import utcnow
from runner.handler_api import JobContext
from tests.runner.handlers import _client, runs_ref

ACME_LINKEDIN = "https://www.linkedin.com/company/acme"


def _site(job_id: str, n: int) -> Lead:
    return Lead(lead_id=lead_id_for(job_id, f"company-{n}.example"), company_name=f"Company {n}",
                website=f"https://company-{n}.example/", domain=f"company-{n}.example", sources=["google"],
                found_at=utcnow())  # fmt: skip


def first(job_id: str) -> list[Lead]:
    """The first attempt: Acme known only from LinkedIn (keyed by its slug), companies 0-3 from their sites."""
    acme = Lead(lead_id=lead_id_for(job_id, "linkedin:acme"), company_name="Acme", linkedin_url=ACME_LINKEDIN,
                sources=["linkedin"], found_at=utcnow())  # fmt: skip
    return [acme, *(_site(job_id, n) for n in range(4))]


def second(job_id: str) -> list[Lead]:
    """A later attempt: Acme's website read and merged with its LinkedIn page (keyed by its domain now),
    companies 2-5 from their sites."""
    acme = Lead(lead_id=lead_id_for(job_id, "acme.example"), company_name="Acme", website="https://acme.example/",
                domain="acme.example", linkedin_url=ACME_LINKEDIN, sources=["google", "linkedin"],
                found_at=utcnow())  # fmt: skip
    return [acme, *(_site(job_id, n) for n in range(2, 6))]


def partial(ctx: JobContext) -> None:
    ref = runs_ref(_client(ctx.settings.google_cloud_project), ctx.job_id)
    ref.set({"runs": firestore.Increment(1)}, merge=True)
    runs = int((ref.get().to_dict() or {}).get("runs", 1))
    ctx.checkpoint()
    if runs == 1:
        ctx.save_leads(first(ctx.job_id))
        ref.set({"first_saved": True}, merge=True)
        while True:  # until killed, interrupted, or past JOB_TIMEOUT_S
            time.sleep(0.1)
            ctx.checkpoint()
    ctx.save_leads(second(ctx.job_id))
    ref.collection("completions").document(uuid.uuid4().hex).set({"pid": os.getpid(), "at": utcnow()})
