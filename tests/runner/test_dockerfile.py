"""runner/Dockerfile, checked statically (there is no Docker engine here): slim pinned base, non-root user,
exec-form entry point running `python -m runner`, no secret baked in, every COPY source present."""

from __future__ import annotations

import json
import re

import pytest
from dockerfile_parse import DockerfileParser

from tests.support.services import ROOT

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_?KEY|CREDENTIAL|PRIVATE", re.IGNORECASE)


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(ROOT / "runner" / "Dockerfile"))


def _instructions(dockerfile: DockerfileParser, name: str) -> list[str]:
    return [item["value"] for item in dockerfile.structure if item["instruction"] == name]


def test_the_base_image_is_a_slim_python_pinned_to_a_full_version(dockerfile: DockerfileParser) -> None:
    image, _, tag = dockerfile.baseimage.partition(":")
    assert image in {"python", "docker.io/library/python"}
    assert "slim" in tag and "latest" not in tag
    assert re.match(r"^3\.11\.\d+-slim", tag), tag  # 3.11.x, never a floating 3.11


def test_it_runs_as_a_non_root_user_set_after_the_installs(dockerfile: DockerfileParser) -> None:
    users = _instructions(dockerfile, "USER")
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    order = [item["instruction"] for item in dockerfile.structure]
    assert max(i for i, name in enumerate(order) if name == "RUN") < max(
        i for i, name in enumerate(order) if name == "USER"
    )


def test_the_entry_point_is_exec_form_python_dash_m_runner(dockerfile: DockerfileParser) -> None:
    [entrypoint] = _instructions(dockerfile, "ENTRYPOINT")
    command = json.loads(entrypoint)  # exec form is a JSON array; shell form would not parse
    for cmd in _instructions(dockerfile, "CMD"):
        command += json.loads(cmd)
    assert command[:3] == ["python", "-m", "runner"]


def test_no_secret_is_baked_into_the_image(dockerfile: DockerfileParser) -> None:
    names = [*dockerfile.envs, *dockerfile.args]
    assert not [name for name in names if SECRET_NAME.search(name)]
    text = dockerfile.content
    assert ".env" not in re.findall(r"COPY\s+([^\n]*)", text)


def test_it_installs_the_requirements_and_copies_only_existing_paths(dockerfile: DockerfileParser) -> None:
    copies = _instructions(dockerfile, "COPY")
    sources = [part for value in copies for part in value.split()[:-1] if not part.startswith("--")]
    assert {"requirements.txt", "leadengine/", "runner/"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such path in the build context"
    assert any("pip install" in run and "-r requirements.txt" in run for run in _instructions(dockerfile, "RUN"))
