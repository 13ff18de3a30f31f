"""deploy/build_image.py fails fast with one clear line when it cannot do its job (no engine here, no environment)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}"}
    return subprocess.run(
        [sys.executable, "deploy/build_image.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_without_a_docker_engine_it_exits_1_with_one_line_naming_the_problem(tmp_path: Path) -> None:
    result = run(["--env", "dev", "--tag", "test"], tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("build_image: no Docker engine reachable at unix://"), lines[0]


def test_an_unknown_environment_is_named_in_one_line(tmp_path: Path) -> None:
    result = run(["--env", "nowhere", "--tag", "test"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "build_image: no such environment: infra/terraform/envs/nowhere.tfvars is missing"
