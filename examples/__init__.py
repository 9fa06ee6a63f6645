"""The demo's example services: six scripts, each run as its own process (`python storage.py`).

Installed with kubetrace as the package `kubetrace_cli.examples` (pyproject.toml maps this directory
to it), which is how `kubetrace demo` finds them wherever kubetrace is installed. Nothing imports
them as modules; see README.md here for what each one is and how to run them by hand.
"""
