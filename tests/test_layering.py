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


# --- adapters on the core's public contract ----------------------------------------------------------

ADAPTERS = ROOT / "interceptors"
# OpenTelemetry's private state kubetrace reads: only tracing/_otel_private.py names it.
OTEL_PRIVATE = {
    "_RUNTIME_CONTEXT",
    "_current_context",
    "_TRACER_PROVIDER_SET_ONCE",
    "_HTTP_TEXT_FORMAT",
    "_SUPPRESS_INSTRUMENTATION_KEY",
    "_SUPPRESS_HTTP_INSTRUMENTATION_KEY",
    "_BAGGAGE_KEY",
    "_SPAN_KEY",
    "_root",
    "_remote_parent_sampled",
    "_remote_parent_not_sampled",
    "_local_parent_sampled",
    "_local_parent_not_sampled",
    "_decision",
    "_is_enabled",
    "_Span",
    "_dict",
}
# grpc's private state interceptors.grpc reads: only interceptors/grpc/_grpc_private.py names it.
GRPC_PRIVATE = {"_state", "_channel"}


def _absolute_imports(path: Path) -> set[str]:
    """Every module a source file imports, relative imports resolved, with each imported name too
    (`from tracing import _x` gives tracing._x)."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _private_state_names(path: Path, private: set[str]) -> set[str]:
    """Attribute reads and imported names of `private` in a source file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in private:
            found.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            found.update(alias.name for alias in node.names if alias.name in private)
    return found


def test_adapters_import_only_public_names_of_tracing():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _absolute_imports(path)
            if name.split(".")[0] == "tracing" and any(part.startswith("_") for part in name.split(".")[1:])
        )
        for path in sorted(ADAPTERS.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize(("adapter", "other"), [("grpc", "http"), ("http", "grpc")])
def test_the_grpc_and_http_adapters_never_import_each_other(adapter, other):
    files = sorted((ADAPTERS / adapter).rglob("*.py"))
    assert files
    forbidden = f"interceptors.{other}"
    offenders = [
        str(path.relative_to(ROOT))
        for path in files
        if any(name == forbidden or name.startswith(forbidden + ".") for name in _absolute_imports(path))
    ]
    assert offenders == []


def test_opentelemetry_private_state_is_read_in_one_core_module():
    own = ROOT / "tracing" / "_otel_private.py"
    files = [p for p in sorted([*(ROOT / "tracing").rglob("*.py"), *ADAPTERS.rglob("*.py")]) if p != own]
    offenders = {str(p.relative_to(ROOT)): sorted(_private_state_names(p, OTEL_PRIVATE)) for p in files}
    assert {path: names for path, names in offenders.items() if names} == {}
    assert _private_state_names(own, OTEL_PRIVATE)  # the check looks for what is really there


def test_grpc_private_state_is_read_in_one_adapter_module():
    own = ADAPTERS / "grpc" / "_grpc_private.py"
    files = [p for p in sorted(ADAPTERS.rglob("*.py")) if p != own]
    offenders = {str(p.relative_to(ROOT)): sorted(_private_state_names(p, GRPC_PRIVATE)) for p in files}
    assert {path: names for path, names in offenders.items() if names} == {}
    imports = {
        str(p.relative_to(ROOT)) for p in files if any(n.startswith("grpc._") for n in _absolute_imports(p))
    }
    assert imports == set()
    assert _private_state_names(own, GRPC_PRIVATE)
