"""Every ```python block of README.md runs as written, on both twins.

Each block runs alone in a fresh interpreter (``CHANEMU_IMPL`` selects the twin), with a timeout,
exactly as a reader would paste it: no names from another block, nothing added. A block inside a
list item is indented; its common indentation is removed first, as Markdown does.
"""
import os
import re
import subprocess
import sys
import textwrap

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
TIMEOUT = 120          # seconds; the blocks take well under one


def python_blocks(text):
    """[(line number, code)] of the ```python fences, in order."""
    blocks = []
    for m in re.finditer(r"^([ \t]*)```python[ \t]*\n(.*?)^\1```[ \t]*$", text, re.M | re.S):
        line = text.count("\n", 0, m.start()) + 1
        blocks.append((line, textwrap.dedent(m.group(2))))
    return blocks


BLOCKS = python_blocks(open(README, encoding="utf-8").read())


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 2, "README.md lost its python examples (or the fence pattern broke)"


@pytest.mark.parametrize("line, code", BLOCKS, ids=[f"README.md:{n}" for n, _ in BLOCKS])
def test_readme_block_runs_as_written(ce, tmp_path, line, code):
    script = tmp_path / "block.py"
    script.write_text(code)
    env = dict(os.environ, CHANEMU_IMPL=ce.IMPL)
    r = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, f"README.md:{line} failed on the {ce.IMPL} twin:\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr
    # What the block's comments promise for its last print, where it states one exactly.
    for expected in re.findall(r"^\s*# (\(.*\))\s*$", code, re.M):
        assert expected in r.stdout, f"README.md:{line} promises {expected}, printed:\n{r.stdout}"
