"""`make package`'s zip is a deployable Cloud Functions source: main.py at the root with the core package beside it,
reproducible, and it boots from its own requirements.txt in a fresh virtualenv."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import services

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from deploy import package_function  # noqa: E402


@pytest.fixture(scope="module")
def function_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_function.build(tmp_path_factory.mktemp("package") / "function.zip")


def test_the_zip_holds_main_the_core_package_and_requirements_at_its_root(function_zip: Path) -> None:
    names = set(zipfile.ZipFile(function_zip).namelist())
    assert {"main.py", "requirements.txt", "leadengine/__init__.py", "leadengine/settings.py"} <= names
    for module in (ROOT / "functions" / "enqueue").glob("*.py"):
        assert module.name in names  # main.py's sibling modules (it imports them by name)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert not any(n.startswith(("runner/", "tests/")) for n in names)


def test_the_zip_is_byte_for_byte_reproducible(function_zip: Path, tmp_path: Path) -> None:
    again = package_function.build(tmp_path / "again.zip")
    assert again.read_bytes() == function_zip.read_bytes()


def test_packaging_without_main_py_fails_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package_function, "FUNCTION_DIR", tmp_path)
    with pytest.raises(package_function.PackagingError, match=r"main\.py is missing"):
        package_function.build(tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


@pytest.fixture(scope="module")
def served_zip(function_zip: Path, tmp_path_factory: pytest.TempPathFactory, log_dir: Path) -> Iterator[str]:
    """The zip unpacked, its requirements installed into a fresh venv (no --system-site-packages: the zip's own
    requirements must suffice; pip's cache keeps this quick), served by that venv's functions-framework."""
    work = tmp_path_factory.mktemp("function-zip")
    source = work / "source"
    zipfile.ZipFile(function_zip).extractall(source)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", "requirements.txt"],
        cwd=source, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    port = services.free_port()
    # Only what Cloud Functions would set: no PYTHONPATH, no repository checkout, a working directory of the zip.
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(work), "GOOGLE_CLOUD_PROJECT": "leadengine-zip-test",
           "RABBITMQ_HOST": "127.0.0.1", "FIRESTORE_TIMEOUT_S": "1"}  # fmt: skip
    log = open(log_dir / "zip-server.log", "wb")  # noqa: SIM115 - closed in the finally below
    server = subprocess.Popen(
        [str(venv / "bin" / "functions-framework"), "--source", "main.py", "--target", "enqueue", "--host", "127.0.0.1", "--port", str(port)],
        cwd=source, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        services.wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # its own session: gunicorn's workers go too
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
        log.close()


def test_the_unzipped_function_boots_from_its_own_requirements_and_serves_healthz(
    served_zip: str, log_dir: Path
) -> None:
    response = httpx.get(f"{served_zip}/healthz", timeout=10)
    assert response.status_code == 200, (log_dir / "zip-server.log").read_text()[-2000:]
    assert response.json() == {"status": "ok"}
    # The API itself is there too (no key: 401 in the contract's error shape), so main.py's routes loaded.
    unauthorized = httpx.get(f"{served_zip}/api/v1/jobs/00000000-0000-4000-8000-000000000000", timeout=10)
    assert unauthorized.status_code == 401 and unauthorized.json()["error"]["code"]
