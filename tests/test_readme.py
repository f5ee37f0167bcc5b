"""The README's code blocks run as written, in order, in one folder, as a reader would run them
in an activated virtualenv (``ldsnn`` and ``python`` on the PATH).

A ```` ```python ```` block runs as a script, a ```` ```bash ```` block as a bash script
(``set -e``); when a plain ```` ``` ```` block follows one directly, it is the block's output and
must equal what the block printed. A block preceded by ``<!-- readme-test: skip (reason) -->``
is not run (the reason says who runs it instead).
"""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
SKIP = re.compile(r"<!-- readme-test: skip \((.+)\) -->")


@dataclass
class Block:
    language: str
    code: str
    line: int
    output: str | None = None
    skip: str | None = None


def readme_blocks(text: str) -> list[Block]:
    """The fenced blocks of ``text``: runnable ones with their expected output, if any."""
    lines = text.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = re.fullmatch(r"```(\w*)", lines[index])
        if fence is None:
            index += 1
            continue
        end = lines.index("```", index + 1)
        body = "\n".join(lines[index + 1:end]) + "\n"
        skip = SKIP.fullmatch(lines[index - 1]) if index else None
        language = fence.group(1)
        if language in ("python", "bash"):
            blocks.append(Block(language, body, index + 1,
                                skip=skip.group(1) if skip else None))
        elif language == "" and blocks and blocks[-1].output is None \
                and end_of(blocks[-1], lines) == index:
            blocks[-1].output = body
        index = end + 1
    return blocks


def end_of(block: Block, lines: list[str]) -> int:
    """The line index just after ``block``'s closing fence."""
    return lines.index("```", block.line) + 1


def test_readme_has_runnable_blocks():
    blocks = readme_blocks(README.read_text())
    assert sum(b.language == "python" for b in blocks) >= 3
    assert sum(b.language == "bash" and not b.skip for b in blocks) >= 3
    assert all(b.skip for b in blocks if "make " in b.code)


def test_readme_blocks_run_as_written(tmp_path):
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "100"
    for block in readme_blocks(README.read_text()):
        if block.skip:
            continue
        command = ([sys.executable, "-c", block.code] if block.language == "python"
                   else ["bash", "-e", "-o", "pipefail", "-c", block.code])
        proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=1200)
        where = f"README.md line {block.line}"
        assert proc.returncode == 0, f"{where}:\n{proc.stdout}\n{proc.stderr}"
        if block.output is not None:
            assert proc.stdout == block.output, f"{where}: output differs"


@pytest.mark.parametrize("text, expected", [
    ("```python\nprint(1)\n```\n```\n1\n```\n", [("python", "1\n", None)]),
    ("<!-- readme-test: skip (CI) -->\n```bash\nmake x\n```\n", [("bash", None, "CI")]),
    ("```bash\nls\n```\ntext\n```\nnot output\n```\n", [("bash", None, None)]),
])
def test_block_parser(text, expected):
    assert [(b.language, b.output, b.skip) for b in readme_blocks(text)] == expected
