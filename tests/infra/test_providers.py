"""What `terraform init` will look for, found offline: `terraform get` and `terraform providers` on a copy of
infra/terraform without its gcs backend. Every provider any module uses must be one the root declares, with the same
source; a module that does not declare a non-hashicorp provider makes Terraform look for hashicorp/<name>, which for
kubectl does not exist, and the first `terraform init` fails. The root declares and configures nothing it does not use."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.infra import render
from tests.infra.terraform_config import MODULES, ROOT, TERRAFORM, load, module

BUILTIN = "terraform.io/builtin/terraform"
_LINE = re.compile(r"^(?P<indent>[│├└─\s]*)(?:(?P<module>module\.[a-z_]+)|provider\[(?P<address>[^\]]+)\])")


def address(source: str) -> str:
    return source if source.count("/") == 2 else f"registry.terraform.io/{source}"


def declared(path: Path) -> dict[str, str]:
    """name => registry address of the providers a module's `terraform { required_providers }` declares."""
    found: dict[str, str] = {}
    for tf in sorted(path.glob("*.tf")):
        for block in load(tf).get("terraform", []):
            for providers in block.get("required_providers", []):
                found.update({name: address(spec["source"]) for name, spec in providers.items()})
    return found


@functools.cache
def provider_tree() -> dict[str, set[str]]:
    """`terraform providers`: "." (the root) and each "module.<name>" => the provider addresses it requires."""
    with tempfile.TemporaryDirectory(prefix="tf-providers-") as scratch:
        copy = Path(scratch) / "terraform"
        shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan"))
        (copy / "backend.tf").unlink()  # the gcs backend needs `init` and a bucket; the provider requirements do not
        got = render.run_terraform(["get"], copy)
        assert got.returncode == 0, got.stdout + got.stderr
        listed = render.run_terraform(["providers"], copy)
        assert listed.returncode == 0, listed.stdout + listed.stderr
    tree: dict[str, set[str]] = {}
    current = None
    for line in listed.stdout.splitlines():
        m = _LINE.match(line)
        if line.strip() == ".":
            current = "."
            tree[current] = set()
        elif m and m.group("module"):
            current = m.group("module")
            tree[current] = set()
        elif m and m.group("address") and current is not None:
            tree[current].add(m.group("address"))
    assert "." in tree and len(tree) > 10, listed.stdout
    return tree


def test_terraform_on_path_is_new_enough_for_the_configuration() -> None:
    assert render.terraform_version()[:2] >= render.MINIMUM_VERSION


def test_every_provider_in_the_module_tree_is_one_the_root_declares_with_its_source() -> None:
    root = declared(TERRAFORM)
    tree = provider_tree()
    for where, addresses in tree.items():
        unknown = addresses - set(root.values()) - {BUILTIN}
        assert not unknown, (
            f"{where} requires {sorted(unknown)}, which the root does not declare: `terraform init` would look for "
            "them (a module that does not declare a provider gets hashicorp/<name>)"
        )


def test_every_module_declares_each_provider_it_uses_with_the_roots_source() -> None:
    root = declared(TERRAFORM)
    calls = {f"module.{name}": (TERRAFORM / call["source"]).resolve() for name, call in module().modules.items()}
    tree = provider_tree()
    for where, path in calls.items():
        own = declared(path)
        used = tree[where] - {BUILTIN}
        assert used, f"{where} uses no provider?"
        missing = {a for a in used if a not in own.values()}
        assert not missing, f"{path.relative_to(ROOT)} uses {sorted(missing)} but does not declare them (versions.tf)"
        for name, source in own.items():
            assert root.get(name) == source, f"{path.name} declares {name} = {source}, the root {root.get(name)}"


def test_the_root_declares_and_configures_only_providers_something_uses() -> None:
    root = declared(TERRAFORM)
    tree = provider_tree()
    used = set().union(*(addresses for where, addresses in tree.items() if where != "."))
    own_types = set()
    for tf in TERRAFORM.glob("*.tf"):
        data = load(tf)
        for kind in ("resource", "data", "ephemeral"):
            for block in data.get(kind, []):
                own_types |= {t.split("_")[0] for t in block}
    used |= {root[name] for name in own_types if name in root}
    unused = {name for name, source in root.items() if source not in used}
    assert not unused, f"the root declares providers nothing uses: {sorted(unused)}"
    configured = set()
    for block in load(TERRAFORM / "providers.tf").get("provider", []):
        configured |= set(block)
    assert configured <= set(root), configured - set(root)
    assert not {name for name in configured if root[name] not in used}


def test_the_kubectl_provider_retries_applies_that_race_new_crds_and_namespaces() -> None:
    (kubectl,) = [b["kubectl"] for b in load(TERRAFORM / "providers.tf")["provider"] if "kubectl" in b]
    assert kubectl.get("apply_retry_count", 0) >= 5


def test_the_dependency_lock_file_is_committed_not_ignored_and_read_only_at_init() -> None:
    lock = TERRAFORM / ".terraform.lock.hcl"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(lock)], cwd=ROOT, capture_output=True)
    assert ignored.returncode == 1, "infra/terraform/.terraform.lock.hcl must not be git-ignored"
    makefile = (ROOT / "Makefile").read_text()
    assert "-lockfile=readonly" in makefile and ".terraform.lock.hcl" in makefile
    assert "Lock file policy" in (TERRAFORM / "versions.tf").read_text()


def test_child_modules_are_all_in_the_tree() -> None:
    tree = provider_tree()
    assert {f"module.{name}" for name in module().modules} <= set(tree)
    assert {p.name for p in MODULES.iterdir() if p.is_dir()} == {
        Path(c["source"]).name for c in module().modules.values()
    }
