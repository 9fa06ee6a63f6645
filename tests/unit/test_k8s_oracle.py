"""`kubetrace validate` agrees with Kubernetes' own code on which tracing files are valid.

The oracle is a small Go program (tests/k8s_oracle/main.go) that runs the real decoding and
validation code: kube-apiserver's options.ReadTracingConfiguration (strict apiserver.config.k8s.io
codec) + component-base's tracingapi.ValidateTracingConfiguration for TracingConfiguration files,
and the apimachinery strict codec + ValidateTracingConfiguration on the `tracing` stanza of
KubeletConfiguration files. For every file of tests/unit/corpus/ and tests/k8s_oracle/extra_corpus/
our validator (tracing.config.load_tracing_file) must say valid exactly when Kubernetes does.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tracing import ConfigError
from tracing.config import load_tracing_file

REPO_ROOT = Path(__file__).resolve().parents[2]
ORACLE_DIR = REPO_ROOT / "tests" / "k8s_oracle"
CORPORA = {
    "corpus": REPO_ROOT / "tests" / "unit" / "corpus",
    "extra": ORACLE_DIR / "extra_corpus",
}
FILES = [
    (label, path) for label, folder in CORPORA.items() for path in sorted(folder.iterdir()) if path.is_file()
]

# A cold build of the oracle takes ~4 minutes on 2 cores; it happens in the first test's setup.
pytestmark = pytest.mark.timeout(float(os.environ.get("KUBETRACE_K8S_ORACLE_BUILD_TIMEOUT", "1800")) + 120)


def _load_build_helper():
    spec = importlib.util.spec_from_file_location("_k8s_oracle_build", ORACLE_DIR / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unescape(message: str) -> str:
    """Undo the oracle's escaping of backslash, newline, tab and carriage return."""
    out, chars = [], iter(message)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(nxt, "\\" + nxt))
        else:
            out.append(c)
    return "".join(out)


@pytest.fixture(scope="module")
def kubernetes_verdicts() -> dict[Path, tuple[bool, str]]:
    """Build the oracle once, run it once on every file: {path: (valid, Kubernetes' message)}."""
    if shutil.which("go") is None:
        reason = f"Go toolchain not found: `go` is not on PATH; it is needed to build {ORACLE_DIR}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: the Kubernetes oracle is required)", pytrace=False)
        pytest.skip(reason)
    build = _load_build_helper()
    try:
        binary = build.build_oracle()
    except build.BuildError as err:
        pytest.fail(f"cannot build the Kubernetes oracle: {err}", pytrace=False)
    paths = [str(path) for _, path in FILES]
    proc = subprocess.run(
        [str(binary), *paths],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"k8s-oracle exited {proc.returncode}:\n{proc.stderr}"
    verdicts: dict[Path, tuple[bool, str]] = {}
    for line in proc.stdout.splitlines():
        path, verdict, *message = line.split("\t", 2)
        assert verdict in ("valid", "invalid"), f"unexpected oracle line: {line!r}"
        verdicts[Path(path)] = (verdict == "valid", _unescape(message[0]) if message else "")
    missing = [p for p in paths if Path(p) not in verdicts]
    assert not missing, f"k8s-oracle printed no verdict for {missing}\n{proc.stderr}"
    return verdicts


def test_the_corpora_are_there():
    assert sum(label == "corpus" for label, _ in FILES) >= 35
    assert any(label == "extra" for label, _ in FILES)


@pytest.mark.parametrize(("label", "path"), FILES, ids=[f"{label}/{path.name}" for label, path in FILES])
def test_kubetrace_agrees_with_kubernetes(kubernetes_verdicts, label, path):
    k8s_valid, k8s_message = kubernetes_verdicts[path]
    try:
        load_tracing_file(path)
    except ConfigError as err:
        ours_valid, ours_message = False, str(err)
    else:
        ours_valid, ours_message = True, ""

    def says(valid: bool, message: str) -> str:
        return "valid" if valid else f"invalid: {message}"

    if ours_valid != k8s_valid:
        pytest.fail(
            f"{label}/{path.name}: kubetrace and Kubernetes disagree\n"
            f"  kubetrace:  {says(ours_valid, ours_message)}\n"
            f"  Kubernetes: {says(k8s_valid, k8s_message)}",
            pytrace=False,
        )
