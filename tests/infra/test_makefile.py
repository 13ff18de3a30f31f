"""`make -n deploy ENV=dev` shows the whole deployment, in order; plan and deploy refuse to run without a state bucket."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "TF_STATE_BUCKET"}}
    return subprocess.run(["make", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_make_n_deploy_shows_package_image_and_terraform_in_order() -> None:
    result = make("-n", "deploy", "ENV=dev", "TF_STATE_BUCKET=state-bucket", "IMAGE_TAG=abc123")
    assert result.returncode == 0, result.stderr
    steps = [
        "deploy/package_function.py",
        'init -input=false -reconfigure -backend-config="bucket=state-bucket" -backend-config="prefix=leadengine/dev"',
        "apply -input=false -auto-approve -var-file=envs/dev.tfvars -var=runner_image_tag=abc123",
        "deploy/build_image.py --env dev --tag abc123",
        "plan -input=false -var-file=envs/dev.tfvars -var=runner_image_tag=abc123",
        "apply -input=false dev.tfplan",
    ]
    position = 0
    for step in steps:
        found = result.stdout.find(step, position)
        assert found >= 0, f"`make -n deploy` does not show {step!r} after position {position}:\n{result.stdout}"
        position = found
    assert "-chdir=infra/terraform" in result.stdout
    first_apply = next(line for line in result.stdout.splitlines() if "apply -input=false -auto-approve" in line)
    assert "-target=module.registry" in first_apply  # the registry exists before the push
    assert "-target=module.gke" in first_apply  # the cluster exists before its providers plan
    # The nodes' and the function build's service accounts get their roles in the same first apply, and the cluster
    # waits for them (module.iam's granted_* outputs), instead of the cluster being made before its account may work.
    assert "-target=module.iam" in first_apply
    assert "-target=module.services" in first_apply


def test_make_plan_uses_the_environment_tfvars() -> None:
    result = make("-n", "plan", "ENV=prod", "TF_STATE_BUCKET=b", "IMAGE_TAG=abc123")
    assert result.returncode == 0, result.stderr
    assert "plan -input=false -var-file=envs/prod.tfvars -var=runner_image_tag=abc123" in result.stdout
    assert "prefix=leadengine/prod" in result.stdout


def test_terraform_commands_refuse_to_run_without_a_state_bucket() -> None:
    result = make("tf-init", "ENV=dev")
    assert result.returncode != 0
    assert "set TF_STATE_BUCKET" in result.stderr
