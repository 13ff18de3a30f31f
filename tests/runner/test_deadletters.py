"""`python -m runner.deadletters`: listing failed_jobs with each job's error and attempts, and replaying a
dead-lettered job so that it runs again, for a fresh set of attempts, and succeeds."""

from __future__ import annotations

import json
import subprocess
import sys

from leadengine import topology
from tests.runner.harness import Runners, wait_for
from tests.support import services
from tests.support.services import ROOT


def _cli(runners: Runners, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner.deadletters", *args], env=runners.base_env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_list_shows_each_dead_letter_with_its_error_and_attempts_and_keeps_them(runners: Runners) -> None:
    runners.channel.queue_purge(topology.FAILED_JOBS)
    runners.wait_started(runners.start())
    job_id = runners.submit("permanent")
    runners.publish(b"{not json")
    wait_for(lambda: runners.queue_depth(topology.FAILED_JOBS) == 2, 20, "two dead letters")
    result = _cli(runners, "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    by_job = {row["job_id"]: row for row in rows}
    assert by_job[job_id]["status"] == "failed" and by_job[job_id]["attempts"] == 1
    assert by_job[job_id]["error"]["code"] == "simulated_permanent" and by_job[job_id]["reason"] == "rejected"
    assert by_job[None]["replayable"] is False and "not json" in by_job[None]["body"]
    table = _cli(runners, "list")
    assert job_id in table.stdout and "simulated_permanent" in table.stdout and "2 dead-lettered" in table.stdout
    assert runners.queue_depth(topology.FAILED_JOBS) == 2  # listing takes nothing away


def test_a_replayed_job_gets_a_fresh_set_of_attempts_and_succeeds(runners: Runners) -> None:
    runners.channel.queue_purge(topology.FAILED_JOBS)
    runners.wait_started(runners.start())
    # Fails its first three runs: attempts exhausted, dead-lettered. The fourth run (after replay) succeeds.
    job_id = runners.submit("transient=3", "leads=1")
    other = runners.submit("permanent")
    job = runners.wait_status(job_id, timeout=40)
    assert job["status"] == "failed" and job["error"]["code"] == "attempts_exhausted" and job["attempts"] == 3
    wait_for(lambda: runners.dead_lettered(job_id) == 1 and runners.dead_lettered(other) == 1, 10, "dead letters")
    result = _cli(runners, "replay", job_id)
    assert result.returncode == 0 and f"replayed {job_id}" in result.stdout, result.stderr
    job = runners.wait_status(job_id, "succeeded", timeout=20)
    assert job["attempts"] == 4 and job["error"] is None and job["lead_count"] == 1 and job["outbox_due_at"] is None
    outcomes = [entry["outcome"] for entry in job["history"]]
    assert outcomes[-2:] == ["replayed", "succeeded"]
    assert runners.dead_lettered(job_id) == 0 and runners.dead_lettered(other) == 1  # only the chosen one moved


def test_replay_all_skips_unreadable_messages_and_a_missing_job_id_is_an_error(runners: Runners) -> None:
    runners.channel.queue_purge(topology.FAILED_JOBS)
    runners.channel.basic_publish(topology.DEAD_LETTER_EXCHANGE, topology.FAILED_JOBS, b"\x00garbage")
    result = _cli(runners, "replay", "--all")
    assert result.returncode == 0 and "skipped (unreadable message)" in result.stdout and "0 replayed" in result.stdout
    assert runners.queue_depth(topology.FAILED_JOBS) == 1  # it stays for a person to read
    assert runners.queue_depth() == 0
    missing = _cli(runners, "replay", "00000000-0000-4000-8000-000000000000")
    assert missing.returncode == 1 and "not found" in missing.stderr
    assert _cli(runners, "replay").returncode == 2  # neither JOB_ID nor --all


def test_a_replay_whose_publish_is_refused_says_so_in_one_line_exits_2_and_loses_nothing(runners: Runners) -> None:
    runners.channel.queue_purge(topology.FAILED_JOBS)
    runners.wait_started(runners.start())
    job_id = runners.submit("transient=3", "leads=1")
    assert runners.wait_status(job_id, timeout=40)["status"] == "failed"
    wait_for(lambda: runners.dead_lettered(job_id) == 1, 10, "the dead letter")
    # scrape_jobs full and refusing: the broker nacks the replayed message
    services.rabbitmqctl("set_policy", "-p", runners.vhost, "--apply-to", "queues", "refuse",
                         f"^{topology.SCRAPE_JOBS}$", '{"max-length": 0, "overflow": "reject-publish"}')  # fmt: skip
    try:
        wait_for(lambda: "refuse" in services.rabbitmqctl("list_queues", "-p", runners.vhost, "name", "policy"),
                 10, "the policy")  # fmt: skip
        result = _cli(runners, "replay", job_id)
    finally:
        services.rabbitmqctl("clear_policy", "-p", runners.vhost, "refuse")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leadengine: replay stopped at job") and job_id in lines[0]
    assert runners.dead_lettered(job_id) == 1  # the dead letter stays
    job = runners.job(job_id)
    assert job["status"] == "queued" and job["outbox_due_at"] is not None  # and the relay would publish it
    again = _cli(runners, "replay", job_id)  # once the broker takes messages, the replay works as usual
    assert again.returncode == 0, again.stderr
    assert runners.wait_status(job_id, "succeeded", timeout=20)["lead_count"] == 1
    assert runners.dead_lettered(job_id) == 0
