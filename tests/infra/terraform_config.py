"""Reads infra/terraform with python-hcl2 (no Terraform binary, no providers, no network) and follows simple
references (`var.x`, `local.y`, `module.m.out`) far enough to compare the infrastructure with the code."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "infra" / "terraform"
MODULES = TERRAFORM / "modules"
ENVS = TERRAFORM / "envs"

_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)
_REFERENCE = re.compile(r"^\$\{((?:var|local)\.[A-Za-z0-9_.]+)\}$")
META_ARGUMENTS = {"source", "version", "providers", "depends_on", "count", "for_each"}


def load(path: Path) -> dict[str, Any]:
    with path.open() as f:
        return dict(hcl2.load(f, serialization_options=_OPTIONS))


def tf_files() -> list[Path]:
    return sorted(p for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts)


@dataclass
class Module:
    """One Terraform module directory, its blocks merged across files."""

    path: Path
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    text: str = ""

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        return self.resources[kind][name]


@functools.cache
def module(path: Path = TERRAFORM) -> Module:
    mod = Module(path)
    for tf in sorted(path.glob("*.tf")):
        data = load(tf)
        mod.text += tf.read_text()
        for block in data.get("variable", []):
            mod.variables.update(block)
        for block in data.get("locals", []):
            mod.locals.update(block)
        for block in data.get("output", []):
            mod.outputs.update(block)
        for block in data.get("module", []):
            mod.modules.update(block)
        for block in data.get("resource", []):
            for kind, named in block.items():
                mod.resources.setdefault(kind, {}).update(named)
    return mod


def child(name: str) -> Module:
    """The module that the root's `module "<name>"` block calls."""
    call = module().modules[name]
    return module((TERRAFORM / call["source"]).resolve())


def call_of(mod: Module) -> dict[str, Any]:
    """The root's arguments to this module."""
    for call in module().modules.values():
        if (TERRAFORM / call["source"]).resolve() == mod.path.resolve():
            return call
    raise LookupError(f"no module block calls {mod.path}")


def _walk(value: Any, keys: list[str]) -> Any:
    for key in keys:
        value = value[key]
    return value


def resolve(value: Any, mod: Module) -> Any:
    """Follow a value that is exactly one `var.` or `local.` reference (through the root's module arguments) to the
    literal it comes from. Anything else (an expression, a resource attribute) comes back as it is."""
    for _ in range(10):
        if not isinstance(value, str) or not (m := _REFERENCE.match(value)):
            return value
        kind, name, *rest = m.group(1).split(".")
        if kind == "local":
            value = _walk(mod.locals[name], rest)
        elif mod.path.resolve() == TERRAFORM.resolve():
            variable = mod.variables[name]
            if "default" not in variable:
                return value  # an input of the root: set per environment in envs/*.tfvars
            value = _walk(variable["default"], rest)
        else:
            value = _walk(call_of(mod)[name], rest)
            mod = module()
    return value


def tfvars(env: str) -> dict[str, Any]:
    return load(ENVS / f"{env}.tfvars")


def environments() -> list[str]:
    """The committed environments (envs/<env>.tfvars); envs/<env>.local.tfvars are an operator's private inputs."""
    return sorted(p.stem for p in ENVS.glob("*.tfvars") if not p.name.endswith(".local.tfvars"))
