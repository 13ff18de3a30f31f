"""Builds build/function.zip, the enqueue function's Cloud Functions source: the function's modules (main.py first) at
the root, the core `leadengine` package beside them, and the function's requirements.txt.

The zip is reproducible (sorted entries, fixed timestamps): the same sources give the same bytes, so Terraform, which
names the uploaded object by the zip's hash, redeploys the function only when its code changed."""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTION_DIR = ROOT / "functions" / "enqueue"
CORE_PACKAGE = ROOT / "leadengine"
DEFAULT_OUTPUT = ROOT / "build" / "function.zip"
ENTRY_MODULE = "main.py"  # Cloud Functions' Python runtime loads main.py from the source root
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can record


class PackagingError(Exception):
    """The function's sources are not packageable (a missing entry module or requirements file)."""


def _sources(directory: Path) -> Iterator[Path]:
    for path in sorted(directory.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix in {".pyc", ".pyo"}:
            continue
        yield path


def entries() -> list[tuple[str, Path]]:
    """(name in the zip, file on disk) for everything the function needs, in a stable order."""
    for required in (FUNCTION_DIR / ENTRY_MODULE, FUNCTION_DIR / "requirements.txt", CORE_PACKAGE / "__init__.py"):
        if not required.is_file():
            shown = required.relative_to(ROOT) if required.is_relative_to(ROOT) else required
            raise PackagingError(f"cannot package the function: {shown} is missing")
    items = [(path.relative_to(FUNCTION_DIR).as_posix(), path) for path in _sources(FUNCTION_DIR)]
    items += [(path.relative_to(ROOT).as_posix(), path) for path in _sources(CORE_PACKAGE) if path.suffix == ".py"]
    return items


def build(output: Path = DEFAULT_OUTPUT) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".zip.partial")  # never leave a half-written zip under the real name
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in entries():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    partial.replace(output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the zip")
    args = parser.parse_args(argv)
    try:
        path = build(args.output)
    except PackagingError as e:
        print(f"package_function: {e}", file=sys.stderr)
        return 1
    print(f"package_function: wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
