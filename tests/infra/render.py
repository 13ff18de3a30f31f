"""Evaluates parts of infra/terraform with the real Terraform binary, offline: no providers, no backend, no network.

A module's Kubernetes objects and Helm values live in its `manifests.tf`, which refers only to variables and locals.
`render()` copies that file with the module's `variables.tf` into a scratch directory, feeds it the inputs the root
module would pass for an environment (module outputs replaced by realistic samples), and asks `terraform console`
for the result. The variables' own validations run too, exactly as in a plan.

A missing or too old `terraform` is a failure, never a skip: these checks are what stands between a typo and a
broken first deploy."""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.infra.terraform_config import MODULES, TERRAFORM, load, module, tfvars

MINIMUM_VERSION = (1, 11)

# What the root gives a module from another module's outputs, as a real deployment of `dev` would have it.
SAMPLE_OUTPUTS: dict[str, Any] = {
    "module.gke.cluster_id": "projects/leadengine-dev/locations/europe-west1/clusters/leadengine-dev",
    "module.gke.workload_identity_pool": "leadengine-dev.svc.id.goog",
    "module.iam.emails.external_secrets": "le-dev-external-secrets@leadengine-dev.iam.gserviceaccount.com",
    "module.iam.names.external_secrets": "projects/leadengine-dev/serviceAccounts/le-dev-external-secrets@leadengine-dev.iam.gserviceaccount.com",
    "module.iam.emails.runner": "le-dev-runner@leadengine-dev.iam.gserviceaccount.com",
    "module.iam.names.runner": "projects/leadengine-dev/serviceAccounts/le-dev-runner@leadengine-dev.iam.gserviceaccount.com",
    "module.network.broker_address": "10.10.0.50",
    "module.network.subnetwork_name": "leadengine-dev",
    "module.platform.cert_manager_ready": "cert-manager",
    "module.platform.cluster_secret_store": "gcp-secret-manager",
    "module.platform.keda_ready": "keda",
    "module.rabbitmq.service_host": "leadengine.rabbitmq.svc.cluster.local",
    "module.registry.repository_url": "europe-west1-docker.pkg.dev/leadengine-dev/leadengine-dev",
    "module.secrets.ids.rabbitmq_password": "leadengine-dev-rabbitmq-password",
    "module.secrets.ids.search_api_key": "leadengine-dev-search-api-key",
    "module.secrets.rabbitmq_password_version": "1",
}

# Root inputs that no tfvars file holds: `make deploy` passes the image tag; prod's invokers and alert channels are
# inputs only the operator knows (envs/prod.local.tfvars or TF_VAR_*), stood in for here by well-formed values.
DEPLOY_TIME_INPUTS: dict[str, Any] = {
    "runner_image_tag": "0123456789ab",
    "function_invokers": ["serviceAccount:partner-gateway@leadengine-prod.iam.gserviceaccount.com"],
    "alert_notification_channels": ["projects/leadengine-prod/notificationChannels/1234567890123456789"],
}

_REFERENCE = re.compile(r"\$\{((?:var|local|module)\.[A-Za-z0-9_.]+)\}")


def terraform_binary() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.fail("terraform is not on PATH: these checks need Terraform >= 1.11 (docs/deploy.md)", pytrace=False)
    return path


@functools.cache
def terraform_version() -> tuple[int, int, int]:
    out = run_terraform(["version", "-json"], Path(tempfile.gettempdir())).stdout
    version = tuple(int(part) for part in json.loads(out)["terraform_version"].split("-")[0].split("."))
    if version[:2] < MINIMUM_VERSION:
        pytest.fail(f"terraform {version} is older than the configuration's required_version >= 1.11", pytrace=False)
    return version  # type: ignore[return-value]


def run_terraform(
    args: list[str], cwd: Path, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": os.devnull,  # no credentials helpers, no plugin mirrors of the machine
        "CHECKPOINT_DISABLE": "1",  # no version check against HashiCorp's servers
        "TF_IN_AUTOMATION": "1",
        "NO_COLOR": "1",
    }
    env.pop("TF_DATA_DIR", None)
    return subprocess.run(
        [terraform_binary(), *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )


def root_inputs(env: str) -> dict[str, Any]:
    """The root module's input values for an environment: variable defaults, then the tfvars, then deploy-time ones."""
    values = {name: spec["default"] for name, spec in module().variables.items() if "default" in spec}
    values.update(DEPLOY_TIME_INPUTS)
    values.update(tfvars(env))
    return values


def _walk(value: Any, keys: list[str]) -> Any:
    for key in keys:
        value = value[key]
    return value


def _resolve_reference(reference: str, env: str) -> Any:
    kind, name, *rest = reference.split(".")
    if kind == "var":
        return _walk(root_inputs(env)[name], rest)
    if kind == "local":
        return resolve_root_value(_walk(module().locals[name], rest), env)
    if reference not in SAMPLE_OUTPUTS:
        raise KeyError(f"tests/infra/render.py has no sample for {reference}: add one to SAMPLE_OUTPUTS")
    return SAMPLE_OUTPUTS[reference]


def resolve_root_value(value: Any, env: str) -> Any:
    """A root-module argument (as python-hcl2 reads it) turned into the value Terraform would compute, for references
    (`var.`, `local.`, `module.`) and string templates built of them. Anything else is returned as written."""
    if isinstance(value, dict):
        return {k: resolve_root_value(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_root_value(v, env) for v in value]
    if not isinstance(value, str):
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole:
        return _resolve_reference(whole.group(1), env)
    if "${" not in value:
        return value
    return _REFERENCE.sub(lambda m: str(_resolve_reference(m.group(1), env)), value)


def module_inputs(name: str, env: str, **overrides: Any) -> dict[str, Any]:
    """The inputs the root passes to `module "<name>"` in an environment, resolved to values."""
    call = module().modules[name]
    child = module((TERRAFORM / call["source"]).resolve())
    inputs = {
        arg: resolve_root_value(value, env)
        for arg, value in call.items()
        if arg in child.variables  # not source, depends_on, ...
    }
    inputs.update(overrides)
    return inputs


class TerraformError(AssertionError):
    """Terraform refused the configuration or the inputs (a failed validation, an unknown reference, ...)."""


def _console(directory: Path, expression: str, inputs: dict[str, Any]) -> Any:
    (directory / "inputs.tfvars.json").write_text(json.dumps(inputs))
    terraform_version()
    result = run_terraform(
        ["console", "-var-file=inputs.tfvars.json"], directory, stdin=f"base64encode(jsonencode({expression}))\n"
    )
    out = result.stdout.strip()
    if result.returncode != 0 or not out.startswith('"'):
        raise TerraformError(
            f"terraform console failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return json.loads(base64.b64decode(json.loads(out)))


def rendered_locals(path: Path) -> list[str]:
    """The locals a manifests.tf defines that tests read: `manifests`, and `helm_values` where there is one."""
    names: list[str] = []
    for block in load(path).get("locals", []):
        names += [n for n in ("manifests", "helm_values") if n in block]
    return names


def render(module_dir: Path, inputs: dict[str, Any]) -> dict[str, Any]:
    """`local.manifests` (and `local.helm_values`) of a module's manifests.tf, computed by Terraform from `inputs`."""
    source = module_dir / "manifests.tf"
    assert source.is_file(), f"{module_dir.relative_to(TERRAFORM)} has no manifests.tf"
    names = rendered_locals(source)
    assert "manifests" in names or "helm_values" in names, (
        f"{source} defines neither local.manifests nor local.helm_values"
    )
    with tempfile.TemporaryDirectory(prefix="render-") as scratch:
        directory = Path(scratch)
        shutil.copy(module_dir / "variables.tf", directory / "variables.tf")
        shutil.copy(source, directory / "manifests.tf")
        expression = "{" + ", ".join(f"{n} = local.{n}" for n in names) + "}"
        return _console(directory, expression, inputs)


def render_module(name: str, env: str, **overrides: Any) -> dict[str, Any]:
    call = module().modules[name]
    return render((TERRAFORM / call["source"]).resolve(), module_inputs(name, env, **overrides))


def check_root_inputs(values: dict[str, Any]) -> None:
    """Runs the root module's variable validations on `values` (raises TerraformError when one fails)."""
    with tempfile.TemporaryDirectory(prefix="root-vars-") as scratch:
        directory = Path(scratch)
        shutil.copy(TERRAFORM / "variables.tf", directory / "variables.tf")
        _console(directory, "{ ok = true }", values)


def manifest_modules() -> list[Path]:
    """Every module that applies Kubernetes objects or Helm releases (it must keep them in manifests.tf)."""
    return sorted(
        p
        for p in MODULES.iterdir()
        if p.is_dir() and re.search(r'resource "(kubectl_manifest|helm_release)"', module(p).text)
    )
