"""The engine, the formula language, the kinds and the sandbox are libraries without Flask."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["grader.engine", "grader.mathexpr", "grader.sandbox", "grader.kinds.spec"]
)
def test_library_imports_without_flask(module):
    code = f"import sys, {module}; sys.exit(1 if 'flask' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
