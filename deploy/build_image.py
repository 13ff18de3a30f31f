"""Builds the runner image (runner/Dockerfile, the repository root as context) with the Docker SDK for Python, tags it
with the git sha and pushes it to the environment's Artifact Registry repository. `make deploy` runs it after the
repository exists and before `terraform apply`, which points the runner's ScaledJob at the same tag."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker
import docker.errors
import hcl2

ROOT = Path(__file__).resolve().parents[1]
ENVS = ROOT / "infra" / "terraform" / "envs"
DOCKERFILE = "runner/Dockerfile"
IMAGE_NAME = "runner"


class DeployError(Exception):
    """Something the operator must fix: no engine, no credentials, a failed build or push. One line says what."""


def tfvars(env: str) -> dict[str, Any]:
    path = ENVS / f"{env}.tfvars"
    if not path.is_file():
        raise DeployError(f"no such environment: {path.relative_to(ROOT)} is missing")
    options = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)
    with path.open() as f:
        return dict(hcl2.load(f, serialization_options=options))


def repository_for(env: str) -> str:
    """The environment's image repository, named as infra/terraform names it: leadengine-<environment> in the
    region's Docker registry (tests/infra checks the two agree)."""
    values = tfvars(env)
    return f"{values['region']}-docker.pkg.dev/{values['project_id']}/leadengine-{values['environment']}"


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as e:
        raise DeployError("cannot tag the image: not a git checkout (pass --tag)") from e
    return out.stdout.strip()


def engine() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except docker.errors.DockerException as e:
        where = os.environ.get("DOCKER_HOST", "the default socket")
        raise DeployError(f"no Docker engine reachable at {where}: start one or set DOCKER_HOST ({e})") from None
    return client


def registry_auth(registry: str) -> dict[str, str]:
    """Short-lived credentials for Artifact Registry from gcloud (CI's Workload Identity login, or yours)."""
    try:
        token = subprocess.run(
            ["gcloud", "auth", "print-access-token"], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        raise DeployError(f"cannot get credentials for {registry}: is gcloud installed and logged in? ({e})") from None
    return {"username": "oauth2accesstoken", "password": token, "serveraddress": f"https://{registry}"}


def already_pushed(client: docker.DockerClient, reference: str, auth: dict[str, str]) -> bool:
    """Tags are immutable in the repository (a tag is a commit): redeploying a commit reuses its image."""
    try:
        client.images.get_registry_data(reference, auth_config=auth)
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as e:
        if e.status_code in (401, 403):
            raise DeployError(f"registry refused access to {reference}: {e.explanation or e}") from None
        return False  # the registry says nothing useful: build, and let the push report a real problem
    return True


def build_and_push(repository: str, tag: str) -> str:
    client = engine()
    image = f"{repository}/{IMAGE_NAME}"
    reference = f"{image}:{tag}"
    auth = registry_auth(repository.split("/", 1)[0])
    if already_pushed(client, reference, auth):
        print(f"build_image: {reference} is already in the registry; nothing to build", flush=True)
        return reference
    print(f"build_image: building {reference} from {DOCKERFILE}", flush=True)
    try:
        client.images.build(path=str(ROOT), dockerfile=DOCKERFILE, tag=reference, rm=True, pull=True)
    except docker.errors.BuildError as e:
        tail = " | ".join(str(line.get("stream", line.get("error", ""))).strip() for line in list(e.build_log)[-5:])
        raise DeployError(f"image build failed: {e.msg} ({tail})") from None
    except docker.errors.APIError as e:
        raise DeployError(f"image build failed: {e.explanation or e}") from None
    print(f"build_image: pushing {reference}", flush=True)
    # The push answers 200 and reports failures inside its progress stream, so every line is checked.
    for line in client.images.push(image, tag=tag, auth_config=auth, stream=True, decode=True):
        if "error" in line:
            raise DeployError(f"push of {reference} failed: {line.get('error')}")
    return reference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="dev", help="environment: infra/terraform/envs/<env>.tfvars")
    parser.add_argument("--tag", help="image tag (default: the git sha)")
    args = parser.parse_args(argv)
    try:
        reference = build_and_push(repository_for(args.env), args.tag or git_sha())
    except DeployError as e:
        print(f"build_image: {e}", file=sys.stderr)
        return 1
    print(f"build_image: pushed {reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
