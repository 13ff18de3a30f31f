"""The layers' import boundaries: Firestore is the store's alone, pika the broker modules' alone, and the core
(leadengine/) depends on neither the function nor the runner."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("leadengine", "runner", "functions", "devstack", "deploy")
# Who may import what: the one module that owns each client library.
OWNERS = {
    "google": {"leadengine/store.py"},
    "pika": {"leadengine/publisher.py", "leadengine/topology.py", "runner/consumer.py", "runner/deadletters.py",
             "runner/policy.py"},
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _product_files() -> list[Path]:
    return sorted(path for package in PRODUCT for path in (ROOT / package).rglob("*.py"))


def test_the_scan_sees_the_modules_that_own_the_clients() -> None:
    """Guards the test itself: if the scan found nothing, every boundary below would hold vacuously."""
    files = {path.relative_to(ROOT).as_posix(): _imports(path) for path in _product_files()}
    assert "google.cloud" in files["leadengine/store.py"] and "pika" in files["leadengine/publisher.py"]


@pytest.mark.parametrize("library", sorted(OWNERS))
def test_only_the_owning_modules_import_a_client_library(library: str) -> None:
    offenders = sorted(
        rel for path in _product_files()
        if (rel := path.relative_to(ROOT).as_posix()) not in OWNERS[library]
        and any(name == library or name.startswith(f"{library}.") for name in _imports(path))
    )  # fmt: skip
    assert offenders == [], f"only {sorted(OWNERS[library])} may import {library}"


def test_the_core_depends_on_neither_deploy_unit() -> None:
    core = sorted((ROOT / "leadengine").rglob("*.py"))
    offenders = sorted(
        path.relative_to(ROOT).as_posix() for path in core
        if any(name.split(".")[0] in {"runner", "functions", "devstack"} for name in _imports(path))
    )  # fmt: skip
    assert offenders == []
