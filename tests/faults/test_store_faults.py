"""A job's leads under faults of the runner and of Firestore: a runner killed (SIGKILL) after saving part of a job's
leads, and Firestore paused (SIGSTOP: connections stay open, nothing answers) while a job runs. Each job ends
`succeeded` once, with exactly the leads of the attempt that finished it: one lead per company, `lead_count` the
number listed. The handler (tests/faults/handlers.py) finds different leads on its first and later attempts, so
a lead left over from the first would show."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadengine.schemas import Lead
from leadengine.settings import load_settings
from leadengine.store import JobStore
from tests.faults import handlers as fault_handlers
from tests.runner import handlers
from tests.runner.harness import Runners, wait_for
from tests.support import services

PARTIAL = "tests.faults.handlers:partial"
PAUSE_S = 6.0  # three leases (RUNNER_LEASE_S=2) and three FIRESTORE_TIMEOUT_S: every call in flight gives up


def _holder(runners: Runners, job_id: str) -> services.Process:
    runner_id = runners.job(job_id)["runner"]
    [process] = [p for p in runners.processes if runner_id.endswith(f"-{p.pid}")]
    return process


def _first_saved(runners: Runners, job_id: str) -> bool:
    snapshot = handlers.runs_ref(handlers._client(runners.project), job_id).get()
    return bool((snapshot.to_dict() or {}).get("first_saved"))


def _leads(store: JobStore, job_id: str) -> list[Lead]:
    return [lead for page in store.lead_pages(job_id, 50) for lead in page]


def _assert_exactly_the_last_attempts_leads(runners: Runners, job_id: str, job: dict[str, Any]) -> None:
    leads = _leads(runners.store, job_id)
    names = [lead.company_name for lead in leads]
    assert len(names) == len(set(names)), f"a company twice: {sorted(names)}"
    assert sorted(names) == sorted(lead.company_name for lead in fault_handlers.second(job_id))
    assert {lead.lead_id for lead in leads} == {lead.lead_id for lead in fault_handlers.second(job_id)}
    [acme] = [lead for lead in leads if lead.company_name == "Acme"]
    assert acme.domain == "acme.example"  # the merged lead, not the first attempt's LinkedIn-only one
    assert job["lead_count"] == len(leads) == job["progress"]["leads_found"], job


def test_a_runner_killed_after_saving_part_of_a_jobs_leads_leaves_one_lead_per_company(runners: Runners) -> None:
    for n in (1, 2):
        runners.wait_started(runners.start(f"runner-{n}", RUNNER_HANDLER=PARTIAL))
    job_id = runners.submit()
    wait_for(lambda: _first_saved(runners, job_id), 30, "the first attempt to save its leads")
    assert runners.store.count_leads(job_id) == len(fault_handlers.first(job_id))
    victim = _holder(runners, job_id)
    victim.signal(signal.SIGKILL)
    job = runners.wait_status(job_id, {"succeeded", "failed"}, timeout=45)
    assert job["status"] == "succeeded" and job["attempts"] == 2, job
    assert runners.runs(job_id) == 2 and runners.completions(job_id) == 1
    assert victim.wait(timeout=5) == -signal.SIGKILL and not job["runner"].endswith(f"-{victim.pid}")
    assert [entry["outcome"] for entry in job["history"] if entry["attempt"] is not None] == ["lost", "succeeded"]
    _assert_exactly_the_last_attempts_leads(runners, job_id, job)


@contextlib.contextmanager
def _paused(emulator: services.Emulator) -> Iterator[None]:
    """The emulator's process stopped (SIGSTOP): its sockets stay open and accept, nothing answers. Always
    continued (SIGCONT), whatever happens inside."""
    os.kill(emulator.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(emulator.process.pid, signal.SIGCONT)


@pytest.fixture
def own_emulator(log_dir: Path) -> Iterator[services.Emulator]:
    """An emulator of this test's own: pausing the run's shared one would stall other fixtures' clients."""
    emulator = services.Emulator(log_dir)
    yield emulator
    with contextlib.suppress(ProcessLookupError):
        os.kill(emulator.process.pid, signal.SIGCONT)  # never leave a stopped process behind
    emulator.stop()


def test_firestore_paused_while_a_job_runs_ends_it_succeeded_once_without_duplicate_leads(
    base_env: dict[str, str], log_dir: Path, vhost: str, own_emulator: services.Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    project = f"le-paused-{uuid.uuid4().hex[:8]}"
    env = {**base_env, "FIRESTORE_EMULATOR_HOST": own_emulator.host, "GOOGLE_CLOUD_PROJECT": project}
    for name in ("FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.setenv(name, env[name])
    runners = Runners(env, log_dir, JobStore(load_settings()), vhost)
    try:
        runner = runners.start(RUNNER_HANDLER=PARTIAL)
        runners.wait_started(runner)
        job_id = runners.submit()
        wait_for(lambda: _first_saved(runners, job_id), 30, "the first attempt to save its leads")
        with _paused(own_emulator):
            wait_for(lambda: '"lease_not_renewed"' in runner.output(), PAUSE_S * 3, "a lease renewal to fail")
            # held long enough that the attempt's lease lapses and every call in flight has given up
            time.sleep(PAUSE_S / 2)
            assert runner.popen.poll() is None
        job = runners.wait_status(job_id, {"succeeded", "failed"}, timeout=60)
        assert job["status"] == "succeeded", job
        assert runners.runs(job_id) == 2 and runners.completions(job_id) == 1
        attempts = [entry for entry in job["history"] if entry["attempt"] is not None]
        assert [entry["outcome"] for entry in attempts][-1] == "succeeded"
        assert sum(entry["outcome"] == "succeeded" for entry in attempts) == 1
        _assert_exactly_the_last_attempts_leads(runners, job_id, job)
        assert runner.popen.poll() is None  # it rode out the pause: no crash, no restart
    finally:
        runners.stop_all()
