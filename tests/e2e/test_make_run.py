"""`make run` as a new user runs it: from a fresh clone, with nothing set up, to leads on screen, then Ctrl+C
stops every process it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import services


def _processes_under(directory: Path) -> list[str]:
    """Processes whose working directory or command line is inside `directory`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(directory)) or str(directory) in cmdline:
            found.append(f"{proc.name}: {cmdline.strip()}")
    return found


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    clone = tmp_path / "leadengine"
    subprocess.run(["git", "clone", "--quiet", str(services.ROOT), str(clone)], check=True, timeout=120)
    return clone


@pytest.mark.timeout(600)
def test_make_run_from_a_fresh_clone_shows_leads_and_ctrl_c_stops_everything(
    fresh_clone: Path, vhost: str, tmp_path: Path
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RABBITMQ_", "FIRESTORE_", "API_KEYS", "SEARCH_", "VIRTUAL_ENV", "PYTEST"))
    }
    env.update(
        RABBITMQ_VHOST=vhost,  # its own vhost and ports: never collides with a developer's `make run`
        FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{services.free_port()}",
        ENQUEUE_PORT=str(services.free_port()),
        PATH=os.environ["PATH"],
    )
    log_path = tmp_path / "make-run.log"
    with open(log_path, "wb") as log:
        make = subprocess.Popen(
            ["make", "run"], cwd=fresh_clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            services.wait_until(
                lambda: "leads on screen" in log_path.read_text(errors="replace") or make.poll() is not None,
                timeout=480,
                interval=0.5,
                what="`make run` to show the example job's leads",
            )
            started = log_path.read_text(errors="replace")
            assert make.poll() is None, started
            # Ctrl+C reaches the whole foreground process group.
            os.killpg(make.pid, signal.SIGINT)
            make.wait(timeout=60)
        finally:
            if make.poll() is None:
                os.killpg(make.pid, signal.SIGKILL)
    output = log_path.read_text(errors="replace")
    match = re.search(r"(\d+) leads on screen", output)
    assert match and int(match.group(1)) >= 5, output
    assert "status=succeeded" in output, output
    assert re.search(r"webhook job\.finished received at \S+: job \S+ succeeded, .*signature verified", output), output
    assert re.search(r"emails\s+\S+@\S+", output), output
    assert "stopped every process it started" in output, output
    time.sleep(0.5)
    assert _processes_under(fresh_clone) == []
