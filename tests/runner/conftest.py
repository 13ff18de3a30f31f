"""Fixtures of the runner tests: runner processes on this module's vhost and the run's emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadengine.store import JobStore
from tests.runner.harness import Runners


@pytest.fixture
def runners(base_env: dict[str, str], log_dir: Path, store: JobStore, vhost: str) -> Iterator[Runners]:
    harness = Runners(base_env, log_dir, store, vhost)
    yield harness
    harness.stop_all()
