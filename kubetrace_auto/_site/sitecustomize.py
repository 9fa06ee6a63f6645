"""Imported by Python at start-up in every process `kubetrace run` starts (this directory comes first
on their PYTHONPATH): zero-code tracing, then the sitecustomize this one shadows."""

import os
import sys

try:
    from kubetrace_auto._bootstrap import run_site
except ImportError as err:  # another interpreter, without kubetrace: it runs untraced, and says why
    print(f"kubetrace run: {err}; {sys.executable} runs untraced", file=sys.stderr)
else:
    run_site(os.path.dirname(os.path.abspath(__file__)))
