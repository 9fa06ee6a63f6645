"""The `kubetrace` command: validate files, show the effective configuration; demo and view (_commands)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import yaml

import tracing
from tracing import ConfigError
from tracing.config import UnreadableFile, load_tracing_file, read_config_file, read_environment, resolve

_COMMENT_COLUMN = 40  # `config`: sources line up after values this long; longer ones push theirs out
_YAML_DOCUMENT_END = "...\n"  # what safe_dump adds after a lone scalar


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
    parser.add_argument("--version", action="version", version=f"kubetrace {tracing.__version__}")
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
        "argument, env:VARIABLE, file:PATH or default. The plain output is YAML, each value "
        "followed by its source as a comment.",
    )
    config.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="a TracingConfiguration or KubeletConfiguration file, read as KUBETRACE_CONFIG would be "
        "(and instead of it)",
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
        head = read_config_file(path).decode("utf-8")
    except (UnreadableFile, UnicodeDecodeError):
        return False  # the file's loader says what is wrong with it
    if not head.lstrip().startswith("{"):
        return False
    try:
        doc = json.loads(head)
    except (ValueError, RecursionError):
        return "apiVersion" not in head
    return isinstance(doc, dict) and "apiVersion" not in doc and "kind" not in doc


def _config(args: argparse.Namespace) -> int:
    environ = read_environment()
    if args.file is not None:
        environ["KUBETRACE_CONFIG"] = args.file
    try:
        resolved = resolve(environ=environ)
    except ConfigError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 1
    rows = [
        # The file named here is where its own path came from, as for every value it gives.
        (name, _jsonable(value), f"file:{value}" if name == "config_file" and args.file else source)
        for name, value, source in resolved.settings.redacted()
    ]
    if args.json:
        doc = {name: {"value": value, "source": source} for name, value, source in rows}
        print(json.dumps({"settings": doc, "warnings": list(resolved.warnings)}, indent=2))
        return 0
    lines = [(_yaml_entry(name, value), source) for name, value, source in rows]
    width = min(max(len(entry) for entry, _ in lines), _COMMENT_COLUMN)
    for entry, source in lines:
        print(f"{entry:<{width}}  # {source}")
    for warning in resolved.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _jsonable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _yaml_entry(name: str, value: object) -> str:
    """`name: value` as one line of YAML (true, null, [a, b], {k: v}), so the output reads, and
    parses, as YAML."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).removesuffix(_YAML_DOCUMENT_END)
    if "\n" in text.strip():  # a line break in a value: JSON's escapes keep it on one line (JSON is YAML)
        text = json.dumps(value)
    return f"{name}: {text.strip()}"


__all__ = ["main"]


if __name__ == "__main__":
    sys.exit(main())
