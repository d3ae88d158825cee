"""No module of grader/ imports a private name (``_x``) or private module from another package:
what another package keeps private is its own business (STYLE rule 11). Modules of one package
may share private helpers."""

from __future__ import annotations

import ast
from pathlib import Path

GRADER = Path(__file__).resolve().parents[1] / "grader"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_of(path: Path) -> tuple[str, str]:
    """Return (module name, package name) of a file under grader/."""
    parts = list(path.relative_to(GRADER.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def private_imports(path: Path, source: str | None = None) -> list[str]:
    """Return the private imports from another package in the file at ``path`` (whose text is
    ``source`` if given)."""
    _, package = _module_of(path)
    text = path.read_text(encoding="utf-8") if source is None else source
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if any(_private(part) for part in alias.name.split(".")):
                    found.append(f"{path.name}:{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, package)
            # A name from a module is private to that module's package; a name from a package
            # (its __init__) is private to that package.
            names = [alias.name for alias in node.names]
            private_module = any(_private(part) for part in source.split("."))
            if not private_module and not any(_private(name) for name in names):
                continue
            owner = source if _is_package(source) else source.rpartition(".")[0]
            if owner != package:
                found.append(f"{path}:{node.lineno}: from {source} import {', '.join(names)}")
    return found


def _is_package(module: str) -> bool:
    if not module.startswith("grader"):
        return False  # another distribution: never the importer's package
    return (GRADER.parent / module.replace(".", "/") / "__init__.py").exists()


def test_no_private_import_across_packages():
    found = [hit for path in sorted(GRADER.rglob("*.py")) for hit in private_imports(path)]
    assert found == []


def test_the_check_sees_a_private_import():
    source = (
        "from grader.engine.tensor import _STATE\n"  # another package: refused
        "from grader.kinds.base import _shared\n"  # this package: allowed
        "from sqlalchemy.orm import _private\n"  # another distribution: refused
        "from . import _sibling\n"  # this package: allowed
        "from ..mathexpr._lexer import token\n"  # a private module elsewhere: refused
    )
    hits = private_imports(GRADER / "kinds" / "example.py", source)
    assert len(hits) == 3
    assert "_STATE" in hits[0] and "_private" in hits[1] and "_lexer" in hits[2]
