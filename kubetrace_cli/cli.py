"""The `kubetrace` command: validate files, show the effective configuration, run the demo."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tracing import ConfigError
from tracing.config import load_tracing_file, resolve


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `kubetrace config | head`
        sys.stderr.close()
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubetrace",
        description="Kubernetes-compatible tracing for Python services.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    validate = sub.add_parser(
        "validate",
        help="check TracingConfiguration, KubeletConfiguration and Jaeger sampling strategies files",
        description="Exit 0 with a summary of each file's effective settings, or 1 with one "
        "'FILE: field: message' line per problem.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(run=_validate)
    config = sub.add_parser(
        "config",
        help="print the effective configuration, each value with its source",
        description="Every setting setup() would use here, and where it came from: "
        "argument, env:VARIABLE, file:PATH or default.",
    )
    config.add_argument("--json", action="store_true", help="machine-readable output")
    config.set_defaults(run=_config)
    from . import _commands

    _commands.register(sub)
    return parser


def _validate(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        try:
            print(_validate_one(path))
        except ConfigError as err:
            failed = True
            for problem in err.problems:
                print(problem, file=sys.stderr)
    return 1 if failed else 0


def _validate_one(path: str) -> str:
    if _looks_like_strategies(path):
        from tracing.sampling import validate_strategies_file

        return validate_strategies_file(path)
    return load_tracing_file(path).summary()


def _looks_like_strategies(path: str) -> bool:
    """Jaeger strategies files are JSON without apiVersion/kind; everything else is a Kubernetes file."""
    try:
        head = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if not head.lstrip().startswith("{"):
        return False
    try:
        doc = json.loads(head)
    except ValueError:
        return "apiVersion" not in head
    return isinstance(doc, dict) and "apiVersion" not in doc and "kind" not in doc


def _config(args: argparse.Namespace) -> int:
    try:
        resolved = resolve()
    except ConfigError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 1
    rows = resolved.settings.redacted()
    if args.json:
        doc = {name: {"value": _jsonable(value), "source": source} for name, value, source in rows}
        print(json.dumps({"settings": doc, "warnings": list(resolved.warnings)}, indent=2))
        return 0
    width = max(len(name) for name, _, _ in rows)
    for name, value, source in rows:
        print(f"{name:<{width}}  {_show(value):<40}  {source}")
    for warning in resolved.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _jsonable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(value) or "none"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "{}"
    return "-" if value is None else str(value)


__all__ = ["main"]


if __name__ == "__main__":
    sys.exit(main())
