"""The arrows point one way: `tracing` <- `interceptors` <- `kubetrace_auto` (zero-code tracing) <-
`kubetrace_cli` (the tools). The library stands without zero-code tracing and the tools, and zero-code
tracing, which runs inside a user's service, without the tools.

Read from the source (every import statement and every importlib.import_module("...") with a
literal name), so a lazy import inside a function is caught as well as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = "kubetrace_cli"
ABOVE = {  # package -> the packages above it, which it must never import
    "tracing": ("kubetrace_auto", TOOLS),
    "interceptors": ("kubetrace_auto", TOOLS),
    "kubetrace_auto": (TOOLS,),
}


def imported_modules(source: str) -> set[str]:
    """The absolute module names a module's source imports, wherever the import statement sits."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def _is_import_module(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name in ("import_module", "__import__")


def _imports_tools(source: str, above: tuple[str, ...] = (TOOLS,)) -> bool:
    return any(
        name == top or name.startswith(top + ".") for name in imported_modules(source) for top in above
    )


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_no_package_imports_one_above_it(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no sources under {package}/"
    offenders = [
        str(path.relative_to(ROOT))
        for path in files
        if _imports_tools(path.read_text(encoding="utf-8"), ABOVE[package])
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        "import kubetrace_cli",
        "import kubetrace_cli.receiver as r",
        "from kubetrace_cli import cli",
        "def f():\n    from kubetrace_cli._waterfall import render_waterfall",
        "import importlib\nimportlib.import_module('kubetrace_cli.receiver')",
        "__import__('kubetrace_cli')",
    ],
)
def test_the_check_sees_every_form_of_import(source):
    assert _imports_tools(source)


@pytest.mark.parametrize("source", ["import kubetrace_client", "from . import cli", "x = 'kubetrace_cli'"])
def test_the_check_ignores_what_is_not_an_import_of_the_tools(source):
    assert not _imports_tools(source)
