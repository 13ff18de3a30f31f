"""The runner image is built from runner/Dockerfile and started, without a Docker engine (tests/infra/image.py: buildah
on a debootstrapped stand-in of the base). Its configuration is what the ScaledJob expects (user, entrypoint, port, no
secret inside), and its entrypoint, read from the image as Kubernetes would run it, consumes from the local RabbitMQ,
exits 0 when idle, and exits 0 on a SIGTERM sent to the Python process (buildah does not forward signals)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadengine import topology
from tests.infra import image, render
from tests.support import services

pytestmark = pytest.mark.timeout(900)  # cold: debootstrap (~45 s) and the image's pip install (~45 s)


@pytest.fixture(scope="module")
def buildah() -> Iterator[image.Buildah]:
    image.require_tools()
    tarball = image.stand_in_tarball()
    tool = image.Buildah(image.fresh_workdir())
    try:
        base = image.base_image()
        tool.commit_stand_in(tarball, image.qualified(base))
        tool.build(image.IMAGE)
        yield tool
    finally:
        tool.close()


@pytest.fixture(scope="module")
def config(buildah: image.Buildah) -> dict[str, Any]:
    return buildah.inspect(image.IMAGE)["OCIv1"]["config"]


@pytest.fixture(scope="module")
def container(buildah: image.Buildah) -> Iterator[str]:
    """One working container of the image for every run below (with vfs, each one is a full copy)."""
    name = buildah("from", "--pull-never", image.IMAGE).stdout.strip()
    yield name
    buildah("rm", name)


def test_the_image_is_built_on_the_dockerfile_base(buildah: image.Buildah) -> None:
    # FROM resolved to the stand-in committed under the base's own name: nothing was pulled or substituted.
    history = buildah.inspect(image.IMAGE)
    labels = history["OCIv1"]["config"].get("Labels") or {}
    assert labels.get(image.STAND_IN_LABEL, "").startswith("stand-in-"), labels
    assert image.debian_suite(image.base_image()) == "bookworm"


def test_the_image_config_is_what_the_scaled_job_expects(config: dict[str, Any]) -> None:
    job = render.render_module("runner", "dev")["manifests"]["scaled_job"]
    pod = job["spec"]["jobTargetRef"]["template"]["spec"]
    (container,) = pod["containers"]
    assert config["Entrypoint"] == container["command"] == ["python", "-m", "runner"]
    assert not config.get("Cmd"), "arguments come from the ScaledJob, not the image"
    uid, _, gid = config["User"].partition(":")
    assert (int(uid), int(gid)) == (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"])
    assert f"{container['ports'][0]['containerPort']}/tcp" in config["ExposedPorts"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PYTHONUNBUFFERED"] == "1" and env["RUNNER_METRICS_ADDR"] == "0.0.0.0"
    assert not {"RABBITMQ_PASSWORD", "SEARCH_API_KEY", "API_KEYS", "RELAY_TOKEN"} & set(env), "a secret is baked in"
    assert config["WorkingDir"] == "/app"


def test_the_image_holds_the_runner_and_nothing_else_of_the_repository(buildah: image.Buildah, container: str) -> None:
    listing = buildah("run", "--isolation", "chroot", container, "--", "ls", "-A", "/app").stdout.split()
    assert sorted(listing) == ["constraints.txt", "leadengine", "requirements.txt", "runner"], listing
    imports = buildah("run", "--isolation", "chroot", container, "--", "python", "-c",
                      "import pika, google.cloud.firestore, runner.scrape.handler, sys; print(sys.version_info[:2])")  # fmt: skip
    assert imports.stdout.strip() == "(3, 11)"


@pytest.fixture
def runner_env(emulator: services.Emulator, vhost: str) -> dict[str, str]:
    return {
        "RABBITMQ_HOST": "127.0.0.1",
        "RABBITMQ_VHOST": vhost,
        "GOOGLE_CLOUD_PROJECT": "leadengine-image-test",
        "FIRESTORE_EMULATOR_HOST": emulator.host,
        "SEARCH_PROVIDER": "serper",
        "SEARCH_API_KEY": "image-test-key",
        "RUNNER_METRICS_PORT": str(services.free_port()),
        "RUNNER_SHUTDOWN_GRACE_S": "5",
        "LOG_LEVEL": "info",
    }


def _start(
    buildah: image.Buildah, container: str, config: dict[str, Any], env: dict[str, str], args: list[str], log: Path
) -> subprocess.Popen[bytes]:
    """`buildah run` of the image's entrypoint (buildah run does not apply ENTRYPOINT itself) plus `args`."""
    env_flags = [flag for name, value in env.items() for flag in ("--env", f"{name}={value}")]
    command = [*config["Entrypoint"], *(config.get("Cmd") or []), *args]
    out = log.open("wb")
    process = buildah.popen("run", "--isolation", "chroot", *env_flags, container, "--", *command,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    out.close()
    return process


def _wait_for_event(log: Path, event: str, process: subprocess.Popen[bytes], timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = image.events(log.read_text(errors="replace"))
        if any(e.get("event") == event for e in found):
            return found
        assert process.poll() is None, (
            f"the runner exited ({process.returncode}) before {event}:\n{log.read_text()[-3000:]}"
        )
        time.sleep(0.2)
    raise AssertionError(f"no {event} within {timeout} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_the_entrypoint_consumes_from_the_broker_and_exits_0_when_idle(
    buildah: image.Buildah, container: str, config: dict[str, Any], runner_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "runner.log"
    process = _start(buildah, container, config, runner_env, ["--exit-when-idle", "3"], log)
    try:
        _wait_for_event(log, "consuming", process, timeout=60)
        metrics = httpx.get(f"http://127.0.0.1:{runner_env['RUNNER_METRICS_PORT']}/metrics", timeout=5)
        assert metrics.status_code == 200 and "python_info" in metrics.text
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        _stop(process)
    names = [e.get("event") for e in image.events(log.read_text())]
    assert names.index("runner_started") < names.index("consuming") < names.index("idle_exit"), names
    (consuming,) = [e for e in image.events(log.read_text()) if e.get("event") == "consuming"]
    assert consuming["queue"] == topology.SCRAPE_JOBS


def test_sigterm_to_the_python_process_stops_the_runner_with_status_0(
    buildah: image.Buildah, container: str, config: dict[str, Any], runner_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "runner.log"
    process = _start(buildah, container, config, runner_env, [], log)
    try:
        _wait_for_event(log, "consuming", process, timeout=60)
        # The entrypoint's process itself (buildah's chroot helpers above it carry its arguments too).
        entry = config["Entrypoint"]
        pythons = [p for p in image.descendants(process.pid)
                   if (c := image.cmdline(p)) and Path(c[0]).name == entry[0] and c[1:len(entry)] == entry[1:]]  # fmt: skip
        assert len(pythons) == 1, [image.cmdline(p) for p in image.descendants(process.pid)]
        os.kill(pythons[0], signal.SIGTERM)  # what the kubelet does to the container's PID 1
        assert process.wait(timeout=30) == 0, log.read_text()[-3000:]
    finally:
        _stop(process)
    names = [e.get("event") for e in image.events(log.read_text())]
    assert "runner_stopped" in names and "idle_exit" not in names, names
