"""The enqueue function and one runner as real processes, for tests that follow a job from POST to its leads."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support import services


def healthy(base_url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
    return False


@contextlib.contextmanager
def function_and_runner(env: dict[str, str], log_dir: Path) -> Iterator[tuple[str, services.Process]]:
    """Start both with `env`, wait until the function answers and the runner consumes; (base URL, runner)."""
    port = services.free_port()
    function = services.Process(
        [str(services.VENV_BIN / "functions-framework"), "--source", str(services.ROOT / "functions/enqueue/main.py"),
         "--target", "enqueue", "--host", "127.0.0.1", "--port", str(port)],
        env, "enqueue", log_dir,
    )  # fmt: skip
    runner = services.Process([sys.executable, "-m", "runner"], env, "runner", log_dir)
    try:
        base_url = f"http://127.0.0.1:{port}"
        services.wait_until(lambda: healthy(base_url), what="the enqueue function")
        services.wait_until(lambda: '"consuming"' in runner.output() or runner.popen.poll() is not None,
                            what="the runner to consume")  # fmt: skip
        assert runner.popen.poll() is None, runner.output()
        yield base_url, runner
    finally:
        runner.stop()
        function.stop()
