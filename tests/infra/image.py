"""Builds runner/Dockerfile without a Docker engine: Debian's buildah (vfs storage, chroot isolation; the default OCI
isolation fails on this machine's cgroups) on a stand-in for the upstream base image, which cannot be pulled here.

The stand-in is a debootstrap of the same Debian release as the base's tag (python3, venv, pip, python-is-python3),
with the machine's extra CA certificates (pip inside the build goes through this machine's TLS-inspecting egress) and
without Debian's EXTERNALLY-MANAGED marker (the official image's pip installs system-wide too), committed under the
base's name. Its tarball is cached under build/image-test/ (git-ignored; LEADENGINE_IMAGE_TEST_CACHE moves it) keyed
by what went into it; everything else (buildah's storage, the image) is made fresh each run and removed after it.

Nothing here skips: a machine without buildah, debootstrap or root fails the test (`.ci/run` installs what it needs)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser

from tests.infra.terraform_config import ROOT

DOCKERFILE = ROOT / "runner" / "Dockerfile"
CACHE = Path(os.environ.get("LEADENGINE_IMAGE_TEST_CACHE", ROOT / "build" / "image-test"))
MIRROR = os.environ.get("LEADENGINE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = ["python3", "python3-venv", "python3-pip", "python-is-python3", "ca-certificates"]
EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")
IMAGE = "localhost/leadengine-runner:image-test"
STAND_IN_LABEL = "io.leadengine.stand-in-base"


def require_tools() -> None:
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not installed: the runner image is built without a Docker engine "
            "(`apt-get install buildah debootstrap`; .ci/run does it)",
            pytrace=False,
        )
    if os.geteuid() != 0:
        pytest.fail("building the stand-in base (debootstrap, chroot) needs root", pytrace=False)


def base_image() -> str:
    base = DockerfileParser(str(DOCKERFILE)).baseimage
    assert base, "runner/Dockerfile has no FROM"
    return base


def debian_suite(base: str) -> str:
    m = re.search(r"-(bookworm|trixie|bullseye)$", base)
    assert m, f"the base {base} names no Debian release (e.g. -slim-bookworm): the stand-in needs one"
    return m.group(1)


def qualified(base: str) -> str:
    name = base if "/" in base.split(":")[0] else f"library/{base}"
    return name if name.count("/") >= 2 and "." in name.split("/")[0] else f"docker.io/{name}"


def _extra_certs() -> list[Path]:
    return sorted(EXTRA_CA_DIR.glob("**/*.crt")) if EXTRA_CA_DIR.is_dir() else []


def _stand_in_key(suite: str) -> str:
    digest = hashlib.sha256(json.dumps([suite, PACKAGES, MIRROR]).encode())
    for cert in _extra_certs():
        digest.update(cert.read_bytes())
    return digest.hexdigest()[:16]


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            mounts.append(point)
    return sorted(mounts, key=len, reverse=True)


def remove_tree(path: Path) -> None:
    """rm -rf that never descends into a mount left behind (a chroot's /proc or /dev after a killed run)."""
    if not path.exists():
        return
    for point in _mounts_under(path):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=30)
    if _mounts_under(path):
        raise RuntimeError(f"{path} still has mounts under it; not removing it")
    shutil.rmtree(path, ignore_errors=True)


def run(args: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(args[:4])} ... failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}",
            pytrace=False,
        )
    return result


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def stand_in_tarball() -> Path:
    """The stand-in base's root filesystem as a tarball, made once per key and reused."""
    suite = debian_suite(base_image())
    tarball = CACHE / f"stand-in-{suite}-{_stand_in_key(suite)}.tar"
    with _locked("stand-in"):
        if tarball.is_file():
            return tarball
        for stale in CACHE.glob("stand-in-*.tar"):
            stale.unlink()
        rootfs = CACHE / "rootfs.partial"
        remove_tree(rootfs)
        run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(rootfs), MIRROR],
            timeout=900,
        )
        try:
            for cert in _extra_certs():
                target = rootfs / cert.relative_to("/").as_posix()
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(cert, target)
            run(["chroot", str(rootfs), "update-ca-certificates"], timeout=120)
            for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
                marker.unlink()
            for junk in [*rootfs.glob("var/cache/apt/archives/*.deb"), *rootfs.glob("var/lib/apt/lists/*_*")]:
                junk.unlink()
            partial = tarball.with_suffix(".tar.partial")
            with tarfile.open(partial, "w") as tar:
                tar.add(rootfs, arcname=".")
            partial.replace(tarball)
        finally:
            remove_tree(rootfs)
    return tarball


class Buildah:
    """buildah with storage of its own (vfs) under a directory this object removes at close()."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.flags = ["--root", str(root / "storage"), "--runroot", str(root / "run"), "--storage-driver", "vfs"]

    def __call__(self, *args: str, timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return run(["buildah", *self.flags, *args], timeout=timeout, **kwargs)

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["buildah", *self.flags, *args], **kwargs)

    def commit_stand_in(self, tarball: Path, name: str) -> None:
        container = self("from", "scratch").stdout.strip()
        self("add", container, str(tarball), "/", timeout=600)
        self("config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--cmd", "python3", "--label", f"{STAND_IN_LABEL}={tarball.name}", container)  # fmt: skip
        self("commit", "--quiet", container, name, timeout=600)
        self("rm", container)

    def build(self, tag: str) -> subprocess.CompletedProcess[str]:
        # The repository root is the context, as for `docker build -f runner/Dockerfile .`; .dockerignore applies.
        return self(
            "build", "--isolation", "chroot", "--pull-never", "-f", str(DOCKERFILE), "-t", tag, str(ROOT), timeout=900
        )

    def inspect(self, image: str) -> dict[str, Any]:
        return json.loads(self("inspect", "--type", "image", image).stdout)

    def close(self) -> None:
        subprocess.run(["buildah", *self.flags, "rm", "--all"], capture_output=True, timeout=120)
        remove_tree(self.root)


def fresh_workdir() -> Path:
    """A directory for one run's buildah storage; those of earlier runs that died are removed first."""
    runs = CACHE / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for old in runs.iterdir():
        pid = old.name.split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            remove_tree(old)
    return runs / f"{os.getpid()}-{int(time.time())}"


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (buildah runs the container's process as a child of its own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def events(log: str) -> list[dict[str, Any]]:
    """The runner's JSON log lines (anything else, e.g. buildah's own words, is left out)."""
    found = []
    for line in log.splitlines():
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                found.append(json.loads(line))
    return found
