"""`kubetrace run -- COMMAND [ARGS...]`: run a program with zero-code tracing (see kubetrace_auto).

The program's PYTHONPATH starts with kubetrace_auto's sitecustomize directory, so every Python process
it starts (gunicorn and uvicorn workers, subprocesses) sets tracing up and instruments itself; then
kubetrace replaces itself with the program (exec), so signals and the exit status are the program's own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from tracing import ConfigError
from tracing.config import read_environment, resolve
from tracing.propagation import context_from_environment, environment_for_child

NOT_FOUND = 127  # what a shell returns for a command it cannot find


def add(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="run a program with zero-code tracing: kubetrace run -- python app.py",
        description="Run COMMAND with tracing set up from KUBETRACE_CONFIG and OTEL_* variables "
        "(as tracing.setup() does) in each of its Python processes, and its grpc servers and "
        "channels, Flask, Django, Starlette and FastAPI apps, and requests, urllib3 and httpx "
        "clients traced, without changing its code. OTEL_PYTHON_DISABLED_INSTRUMENTATIONS turns "
        "libraries off (grpc_server, grpc_aio_server, grpc_client, grpc_aio_client, flask, django, "
        "starlette, fastapi, requests, urllib3, httpx, or *).",
    )
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
    run.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("kubetrace run: give the program to run: kubetrace run -- python app.py", file=sys.stderr)
        return 2
    try:
        resolve()  # a bad file fails here, with its problems, rather than in every process of the program
    except ConfigError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 1
    executable = shutil.which(command[0])
    if executable is None:
        print(f"kubetrace run: {command[0]}: command not found", file=sys.stderr)
        return NOT_FOUND
    os.execve(executable, command, child_environment())
    return 0  # not reached: exec replaced this process


def child_environment() -> dict[str, str]:
    """This process's environment, a trace context it was given kept, with the sitecustomize first
    on PYTHONPATH."""
    from kubetrace_auto import SITE_DIR

    env = environment_for_child(context=context_from_environment(read_environment()))
    site = str(SITE_DIR)
    rest = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry and entry != site]
    env["PYTHONPATH"] = os.pathsep.join([site, *rest])
    return env
