"""Every third-party module the project imports comes from a distribution pinned in `requirements/`
(or one that a pinned distribution depends on). CI builds a fresh virtual environment from those
files alone, so a package installed by hand into a working environment but never listed would pass
here and fail there.

Imports are read from the source with `ast` (module level or inside a function); the installed
distributions' metadata says which distribution provides a module and what each depends on.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
SKIPPED_DIRECTORIES = {".venv", "var", "node_modules", ".git"}


def _pinned(path: Path) -> list[Requirement]:
    requirements = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            requirements += _pinned(path.parent / line[3:].strip())
        else:
            requirements.append(Requirement(line))
    return requirements


def _closure(requirements: list[Requirement]) -> set[str]:
    """The pinned distributions and everything they pull in, extras included where asked for."""
    seen: set[str] = set()
    stack = [(canonicalize_name(r.name), frozenset(r.extras)) for r in requirements]
    while stack:
        name, extras = stack.pop()
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # pinned for another machine (the GPU nodes): its own name is enough
        for line in requires:
            dependency = Requirement(line)
            marker_ok = dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in (extras or {""})
            )
            if marker_ok:
                stack.append((canonicalize_name(dependency.name), frozenset(dependency.extras)))
    return seen


def _sources() -> Iterator[Path]:
    for path in ROOT.rglob("*.py"):
        if not SKIPPED_DIRECTORIES.intersection(path.relative_to(ROOT).parts):
            yield path


def _top_level_imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def _is_local(module: str, path: Path) -> bool:
    """The project's own packages, and scripts' sibling modules (a benchmark imports its harness)."""
    for directory in (ROOT, path.parent):
        if (directory / f"{module}.py").is_file() or (directory / module).is_dir():
            return True
    return False


def test_every_imported_distribution_is_pinned() -> None:
    pinned = _closure(_pinned(REQUIREMENTS / "dev.txt") + _pinned(REQUIREMENTS / "gpu.txt"))
    providers = metadata.packages_distributions()
    unpinned: dict[str, set[str]] = {}
    for path in _sources():
        for module in _top_level_imports(path):
            if module in sys.stdlib_module_names or module == "__future__" or _is_local(module, path):
                continue
            distributions = {canonicalize_name(d) for d in providers.get(module, [module])}
            if not distributions & pinned:
                unpinned.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    assert not unpinned, f"imported but in no requirements file (nor pulled in by one): {unpinned}"


def test_the_check_sees_a_module_that_is_not_pinned() -> None:
    """The check itself: an installed distribution outside the requirements is not in the closure."""
    pinned = _closure(_pinned(REQUIREMENTS / "base.txt"))
    assert "django" in pinned and "asgiref" in pinned  # a pin and a dependency of it
    assert "pytest" not in pinned  # installed here (dev.txt), not a runtime requirement
