"""The demo anywhere: kubetrace from its wheel (or an editable install) runs `kubetrace demo` from any
directory, with the example services it ships as kubetrace_cli.examples."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("kubectl", "apiserver", "storage", "kubelet", "runtime")

pytestmark = pytest.mark.install


def _sources(top: str, installed_as: str) -> set[str]:
    """The .py files under the checkout's `top`/, named as the wheel names them."""
    return {
        f"{installed_as}/{path.relative_to(ROOT / top).as_posix()}"
        for path in (ROOT / top).rglob("*.py")
        if "__pycache__" not in path.parts
    }


def test_the_wheel_holds_every_module_of_the_tree_and_the_example_services(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = (
        _sources("tracing", "tracing")
        | _sources("interceptors", "interceptors")
        | _sources("kubetrace_auto", "kubetrace_auto")
        | _sources("kubetrace_cli", "kubetrace_cli")
        | _sources("examples", "kubetrace_cli/examples")
    )
    # A package missing from pyproject.toml's [tool.setuptools] packages list shows up here.
    assert sorted(wanted - names) == []
    assert "kubetrace_cli/examples/README.md" in names
    assert "kubetrace_auto/_site/sitecustomize.py" in names  # `kubetrace run`'s start-up hook
    assert not [name for name in names if name.startswith(("tests/", "examples/", "benchmarks/"))]


def test_the_wheels_demo_runs_from_any_directory_with_the_services_it_ships(from_wheel):
    where = from_wheel.run(
        from_wheel.python, "-c", "import kubetrace_cli, tracing, interceptors; print(kubetrace_cli.__file__)"
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(from_wheel.root), "kubetrace comes from the environment"

    proc = from_wheel.run("kubetrace", "demo", "--embedded", "--no-color", "--width", "100")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    trace = re.search(r"^Trace ([0-9a-f]{32})  .*, 5 services$", proc.stdout, re.MULTILINE)
    assert trace, proc.stdout
    rows = proc.stdout[trace.start() :].splitlines()
    for service in SERVICES:
        assert any(row.startswith(f"{service} ") for row in rows), service
    assert "pod default/nginx Running" in proc.stdout


def test_the_installed_command_reports_the_installed_version(from_wheel):
    version = from_wheel.run(
        from_wheel.python, "-c", "import importlib.metadata as m; print(m.version('kubetrace'))"
    )
    proc = from_wheel.run("kubetrace", "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"kubetrace {version.stdout.strip()}\n"


def test_an_editable_install_runs_the_examples_of_its_checkout(editable, source_copy):
    where = editable.run(
        editable.python,
        "-c",
        "from kubetrace_cli._demo import installed_examples; print(installed_examples())",
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == source_copy / "examples"
    proc = editable.run("kubetrace", "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("kubetrace "), proc.stderr


def test_the_wheels_zero_code_tracing_starts_in_the_program_and_registers_with_opentelemetry_instrument(
    from_wheel,
):
    check = "import tracing; print(tracing.active() is not None)"
    proc = from_wheel.run("kubetrace", "run", "--", from_wheel.python, "-c", check)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "True\n"  # set up by the shipped sitecustomize, before the program ran
    declared = from_wheel.run(
        from_wheel.python,
        "-c",
        "from importlib.metadata import entry_points as e; "
        "print([(p.group, p.value) for g in ('opentelemetry_distro', 'opentelemetry_configurator') "
        "for p in e(group=g, name='kubetrace')])",
    )
    assert declared.stdout.strip() == (
        "[('opentelemetry_distro', 'kubetrace_auto:KubetraceDistro'), "
        "('opentelemetry_configurator', 'kubetrace_auto:KubetraceConfigurator')]"
    ), declared.stderr
