"""The exercise format's part union is built from the registry on first use, so any module of
grader.kinds can be imported first (kind modules import ``spec`` and ``instances`` at module
level) and the union holds every registered kind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.catalog import json_schema
from grader.kinds.registry import kind_names

MODULES = sorted(
    f"grader.kinds.{path.stem}"
    for path in (Path(__file__).resolve().parents[2] / "grader" / "kinds").glob("*.py")
    if path.stem != "__init__"
)
SPEC = """
slug: s
title: S
parts:
  - {id: p, kind: shape, answer: "1"}
"""


def test_the_part_union_holds_every_registered_kind():
    parts = json_schema()["properties"]["parts"]["items"]
    tags = set(parts["discriminator"]["mapping"])
    assert tags == set(kind_names()) and len(tags) == 7


def test_every_kinds_module_can_be_imported_first():
    code = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.startswith('grader')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
        "    from grader.catalog import parse_exercise\n"
        f"    assert parse_exercise({SPEC!r}, 'x.yaml').part('p').kind == 'shape', name\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *MODULES], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("kind", ["nope", "Formula"])
def test_an_unknown_kind_is_refused_when_the_file_loads(kind):
    from grader.catalog import CatalogError, parse_exercise

    with pytest.raises(CatalogError, match="unknown kind"):
        parse_exercise(SPEC.replace("kind: shape", f"kind: {kind}"), "x.yaml")
