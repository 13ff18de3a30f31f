"""The pinned operators' CRD schemas and charts' default values, read from ../shared/infra-schemas/ (never copied into
the project). A missing folder is a failure: the checks that use it are what proves the manifests offline."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.infra.terraform_config import ROOT

SCHEMAS = ROOT.parent / "shared" / "infra-schemas"
CRDS = SCHEMAS / "crds"
HELM_VALUES = SCHEMAS / "helm-values"

# Kinds of the core API, which no CRD describes; the API server validates them itself.
CORE_KINDS = {("v1", "Namespace"), ("v1", "ServiceAccount")}


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(
            f"{path} is missing: the offline checks read the pinned schemas from ../shared/infra-schemas/",
            pytrace=False,
        )
    return path


def _strict(schema: Any) -> Any:
    """The API server prunes fields a structural schema does not list, and `kubectl apply` (strict field validation)
    refuses them: a misspelt field is an error. jsonschema only sees that with additionalProperties: false, which CRDs
    leave implicit. Objects that keep unknown fields (x-kubernetes-preserve-unknown-fields) or are free-form maps stay
    open."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) => the strict openAPIV3Schema of every served version of every pinned CRD."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(_require(CRDS).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for version in doc["spec"]["versions"]:
                if version.get("served"):
                    schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                    found[(f"{group}/{version['name']}", kind)] = schema
    assert found, f"no CustomResourceDefinition in {CRDS}"
    return found


def validation_errors(manifest: dict[str, Any]) -> list[str]:
    """What the pinned CRD schema says against this object (empty: it validates). An object of a kind no pinned CRD
    describes is an error too, unless it is a core kind."""
    key = (manifest.get("apiVersion", ""), manifest.get("kind", ""))
    metadata = manifest.get("metadata") or {}
    errors = []
    if (
        not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", str(metadata.get("name", "")))
        or len(metadata["name"]) > 253
    ):
        errors.append(f"metadata.name {metadata.get('name')!r} is not a Kubernetes name")
    if key in CORE_KINDS:
        return errors
    schema = crd_schemas().get(key)
    if schema is None:
        return [*errors, f"no pinned CRD for {key[0]} {key[1]} in {CRDS}"]
    validator = jsonschema.Draft7Validator(schema)
    for error in sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path) or "(root)"
        errors.append(f"{where}: {error.message}")
    return errors


@functools.cache
def schema_versions() -> dict[str, str]:
    """Upstream repository => the tag (or chart version) its files in infra-schemas were taken at, from the table in
    infra-schemas/README.md (`| file | repository | tag v1.2.3 | ...`) and the helm-values file names."""
    readme = _require(SCHEMAS / "README.md").read_text()
    versions: dict[str, str] = {}
    for row in readme.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if (
            len(cells) >= 3
            and (m := re.fullmatch(r"tag (v?\d+\.\d+\.\d+)", cells[2]))
            and cells[0].startswith("`crds/")
        ):
            versions[cells[1]] = m.group(1)
    for path in _require(HELM_VALUES).glob("*.values.yaml"):
        chart, version = re.fullmatch(r"(.+)-(v?\d+\.\d+\.\d+)\.values\.yaml", path.name).groups()  # type: ignore[union-attr]
        versions[f"chart:{chart}"] = version
    return versions


def chart_defaults(chart: str, version: str) -> dict[str, Any]:
    path = HELM_VALUES / f"{chart}-{version}.values.yaml"
    if not path.is_file():
        pytest.fail(
            f"{path.name} is missing from {HELM_VALUES}: the chart version in the Terraform has no schema",
            pytrace=False,
        )
    return yaml.safe_load(path.read_text()) or {}


def unknown_values(values: Any, defaults: Any, path: str = "") -> list[str]:
    """Every value path set in `values` that the chart's defaults do not have. A default that is an empty map is a
    free-form map (annotations, labels, ...): anything may go under it."""
    problems: list[str] = []
    if not isinstance(values, dict):
        return problems
    if not isinstance(defaults, dict):
        return [f"{path or '(root)'}: the chart's default is {type(defaults).__name__}, not a map"]
    if not defaults and path:
        return problems
    for key, value in values.items():
        here = f"{path}.{key}" if path else key
        if key not in defaults:
            problems.append(f"{here}: not a value of the chart")
        elif isinstance(value, dict):
            problems += unknown_values(value, defaults[key], here)
        elif defaults[key] is not None and isinstance(defaults[key], bool) != isinstance(value, bool):
            problems.append(f"{here}: the chart's default is {defaults[key]!r}, set to {value!r}")
    return problems
