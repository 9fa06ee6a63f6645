"""Span helpers for application code: the `traced` decorator and Kubernetes-style operation spans."""

from ._operation import DURATION_MS, ELAPSED_MS, Operation, operation
from ._slowlog import Step
from ._traced import traced

__all__ = ["DURATION_MS", "ELAPSED_MS", "Operation", "Step", "operation", "traced"]
