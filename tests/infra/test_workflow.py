"""The deploy workflow uses actions at majors that run on a supported Node (Node 20 actions are deprecated on GitHub's
runners), a Terraform that satisfies the configuration, and refuses to deploy without the committed provider lock."""

from __future__ import annotations

import re

import yaml

from tests.infra.terraform_config import ROOT, TERRAFORM, load

WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
# The first major of each action that runs on Node 24; an action not listed here needs a decision before it is used.
NODE24_MAJORS = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "google-github-actions/auth": 3,
    "google-github-actions/setup-gcloud": 3,
    "hashicorp/setup-terraform": 4,
}


def steps() -> list[dict]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_every_action_is_at_a_node24_major() -> None:
    used = [s["uses"] for s in steps() if "uses" in s]
    assert used
    for reference in used:
        name, _, ref = reference.partition("@")
        assert name in NODE24_MAJORS, f"{name}: which major runs on Node 24? add it to NODE24_MAJORS"
        major = re.fullmatch(r"v(\d+)(\.\d+)*", ref)
        assert major, f"{reference}: pin a major tag"
        assert int(major.group(1)) >= NODE24_MAJORS[name], f"{reference} is older than v{NODE24_MAJORS[name]}"


def test_the_workflow_terraform_satisfies_required_version() -> None:
    (setup,) = [s for s in steps() if s.get("uses", "").startswith("hashicorp/setup-terraform@")]
    major, minor, _ = (int(x) for x in setup["with"]["terraform_version"].split("."))
    required = load(TERRAFORM / "versions.tf")["terraform"][0]["required_version"]
    low = re.search(r">= ?(\d+)\.(\d+)", required)
    high = re.search(r"< ?(\d+)\.(\d+)", required)
    assert low and high
    assert (int(low.group(1)), int(low.group(2))) <= (major, minor) < (int(high.group(1)), int(high.group(2)))
    assert setup["with"]["terraform_wrapper"] is False


def test_the_workflow_deploys_with_the_committed_provider_lock_only() -> None:
    runs = [s.get("run", "") for s in steps()]
    lock_check = next(i for i, r in enumerate(runs) if ".terraform.lock.hcl" in r)
    deploy = next(i for i, r in enumerate(runs) if "make deploy" in r)
    assert lock_check < deploy
