from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require_or_skip(what: str, reason: str) -> NoReturn:
    """A test cannot run because `what` (e.g. "go", "jaeger") is missing: in CI (CI=true)
    that is a failure, on a developer machine a skip."""
    message = f"{what} unavailable: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: real backends are required)", pytrace=False)
    pytest.skip(message)
