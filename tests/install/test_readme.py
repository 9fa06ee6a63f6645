"""Every python and sh block of README.md runs as written, as someone who installed kubetrace would.

The rules (README.md points here):

- The blocks run against kubetrace installed from this checkout's wheel in a fresh virtual
  environment (conftest.py), from an empty directory that is not the checkout, with none of the
  developer's OTEL_* or KUBETRACE_* variables.
- A ```python block runs in a fresh interpreter and must exit 0.
- A ```sh block runs under `sh -e` (every command must succeed), the environment's bin first on
  PATH, so `kubetrace` and `python` are the installed ones.
- A ```yaml block after `<!-- file: NAME -->` is written to NAME in that directory before the blocks
  below it run; every ```yaml block must parse.
- A block after `<!-- not run: REASON -->` is not run, for the reason given (Docker, a server that
  runs until stopped).
- SUBSTITUTIONS are the only edits: installing kubetrace from the checkout (the environment has it,
  from the wheel, with every extra's dependencies) and running the test suite (it is running) become
  `true`. Each must still match the README, so none outlives its command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

README = Path(__file__).resolve().parents[2] / "README.md"
SUBSTITUTIONS = {
    'python -m pip install -q -e ".[demo]"': "true",
    'python -m pip install -q -e ".[dev]"': "true",
    "python -m pytest": "true",
}
_FENCE = re.compile(r"^```(\w*)\s*$")
_MARK = re.compile(r"^<!-- (file|not run): (.+?) -->$")

pytestmark = pytest.mark.install


@dataclass(frozen=True)
class Block:
    language: str
    line: int  # of the opening fence, 1-based
    text: str
    mark: tuple[str, str] | None  # ("file", NAME) or ("not run", REASON)

    @property
    def id(self) -> str:
        return f"{self.language}-line{self.line}"


def readme_blocks() -> list[Block]:
    lines = README.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        above = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        mark = _MARK.match(above.strip())
        blocks.append(
            Block(fence.group(1), i + 1, "\n".join(lines[i + 1 : end]) + "\n", mark and mark.groups())
        )
        i = end + 1
    return blocks


BLOCKS = readme_blocks()
RUN = [b for b in BLOCKS if b.language in ("python", "sh") and not (b.mark and b.mark[0] == "not run")]


def _substituted(text: str) -> str:
    for command, replacement in SUBSTITUTIONS.items():
        text = text.replace(command, replacement)
    return text


def _write_files_above(block: Block, workdir: Path) -> None:
    for above in BLOCKS:
        if above.line < block.line and above.mark and above.mark[0] == "file":
            (workdir / above.mark[1]).write_text(above.text, encoding="utf-8")


def test_the_readme_has_the_blocks_this_test_runs():
    assert [b.language for b in RUN].count("python") >= 1
    assert [b.language for b in RUN].count("sh") >= 2
    for command in SUBSTITUTIONS:
        assert any(command in b.text for b in RUN), f"SUBSTITUTIONS: {command!r} is no longer in README.md"
    for block in BLOCKS:
        if block.mark:
            assert block.mark[1].strip(), f"{block.id}: a mark needs a file name or a reason"
            assert block.mark[0] != "file" or block.language == "yaml", block.id


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.language == "yaml"], ids=lambda b: b.id)
def test_yaml_blocks_parse(block):
    assert list(yaml.safe_load_all(block.text))


@pytest.mark.parametrize("block", RUN, ids=lambda b: b.id)
def test_block_runs_as_written(block, from_wheel, tmp_path):
    workdir = from_wheel.workdir
    _write_files_above(block, workdir)
    if block.language == "python":
        script = tmp_path / "block.py"
        script.write_text(block.text, encoding="utf-8")
        proc = from_wheel.run(from_wheel.python, str(script))
    else:
        proc = from_wheel.run("sh", "-e", "-c", _substituted(block.text), timeout=180)
    assert proc.returncode == 0, f"README.md line {block.line}:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
