"""infra/terraform on paper: every file parses, every input is typed, described and validated, the modules are wired
to each other's real inputs and outputs, providers are bounded, the README and the tfvars agree with the variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.terraform_config import (
    META_ARGUMENTS,
    MODULES,
    TERRAFORM,
    child,
    environments,
    load,
    module,
    tf_files,
    tfvars,
)

MODULE_DIRS = sorted(p for p in MODULES.iterdir() if p.is_dir())


def test_every_tf_and_tfvars_file_parses_with_python_hcl2() -> None:
    files = tf_files() + sorted(TERRAFORM.glob("envs/*.tfvars"))
    assert len(files) > 30, files  # the root and a dozen submodules, not an empty glob
    for path in files:
        assert isinstance(load(path), dict), path


@pytest.mark.parametrize("path", [TERRAFORM, *MODULE_DIRS], ids=lambda p: p.name)
def test_every_variable_has_a_type_a_description_and_a_validation(path: Path) -> None:
    variables = module(path).variables
    assert variables, f"{path} declares no variables"
    for name, spec in variables.items():
        assert spec.get("type"), f"{path.name}: variable {name} has no type"
        assert len(str(spec.get("description", ""))) >= 10, f"{path.name}: variable {name} has no description"
        validations = spec.get("validation") or []
        assert validations, f"{path.name}: variable {name} has no validation"
        for v in validations:
            assert v.get("condition") and v.get("error_message"), f"{path.name}: {name} validation is incomplete"


@pytest.mark.parametrize("path", MODULE_DIRS, ids=lambda p: p.name)
def test_each_submodule_has_main_variables_and_outputs_files(path: Path) -> None:
    for name in ("main.tf", "variables.tf", "outputs.tf"):
        assert (path / name).is_file(), f"{path.name}/{name} is missing"
    for name, spec in module(path).outputs.items():
        assert spec.get("description"), f"{path.name}: output {name} has no description"


def test_every_module_call_passes_exactly_the_declared_inputs() -> None:
    calls = module().modules
    assert {Path(c["source"]).name for c in calls.values()} == {p.name for p in MODULE_DIRS}, "a module is unused"
    for name, call in calls.items():
        declared = module((TERRAFORM / call["source"]).resolve()).variables
        passed = set(call) - META_ARGUMENTS
        assert passed <= set(declared), f"module {name} gets undeclared inputs {passed - set(declared)}"
        required = {v for v, spec in declared.items() if "default" not in spec}
        assert required <= passed, f"module {name} misses required inputs {required - passed}"


def test_every_module_output_the_root_uses_exists() -> None:
    root = module()
    used = set(re.findall(r"module\.([a-z_]+)\.([a-z_]+)", root.text))
    assert used
    for name, output in used:
        assert output in child(name).outputs, f"module.{name}.{output} is not an output of module {name}"


def test_every_submodule_reference_to_its_variables_and_locals_is_declared() -> None:
    for path in MODULE_DIRS:
        mod = module(path)
        for var in set(re.findall(r"\bvar\.([a-z_]+)", mod.text)):
            assert var in mod.variables, f"{path.name} uses var.{var}, which it does not declare"
        for local in set(re.findall(r"\blocal\.([a-z_]+)", mod.text)):
            assert local in mod.locals, f"{path.name} uses local.{local}, which it does not define"


def test_providers_are_bounded_below_and_above() -> None:
    versions = load(TERRAFORM / "versions.tf")["terraform"][0]
    assert re.fullmatch(r">= ?[\d.]+, ?< ?[\d.]+", versions["required_version"])
    providers = versions["required_providers"][0]
    assert {"google", "helm", "kubectl"} <= set(providers)
    for name, spec in providers.items():
        assert re.fullmatch(r">= ?[\d.]+, ?< ?[\d.]+", spec["version"]), f"provider {name} is not bounded: {spec}"


def test_state_is_in_a_gcs_backend_configured_at_init() -> None:
    backend = load(TERRAFORM / "backend.tf")["terraform"][0]["backend"][0]
    assert "gcs" in backend


def test_the_required_outputs_exist() -> None:
    assert {"function_url", "image_repository", "cluster_name"} <= set(module().outputs)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_tfvars_set_every_required_variable_and_nothing_undeclared(env: str) -> None:
    assert env in environments()
    values = tfvars(env)
    variables = module().variables
    assert set(values) <= set(variables), f"{env}.tfvars sets undeclared {set(values) - set(variables)}"
    required = {v for v, spec in variables.items() if "default" not in spec}
    # runner_image_tag is the git sha `make deploy` builds; prod's invokers and alert channels are inputs only the
    # operator knows (envs/prod.local.tfvars or TF_VAR_*; tests/infra/test_rendered.py); the rest is in the file.
    deploy_time = {"runner_image_tag"} | (
        {"function_invokers", "alert_notification_channels"} if env == "prod" else set()
    )
    assert required - deploy_time <= set(values), f"{env}.tfvars misses {required - deploy_time - set(values)}"
    assert values["environment"] == env


def test_readme_documents_every_input_and_output() -> None:
    readme = (TERRAFORM / "README.md").read_text()
    root = module()
    for name in [*root.variables, *root.outputs]:
        assert f"`{name}`" in readme, f"infra/terraform/README.md does not mention `{name}`"
