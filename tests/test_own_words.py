"""Our text is ours: no line of 40+ characters in a tracked file may appear verbatim in Go's
runtime sources or Go's test programs. We mirror Go's design and names, in our own words.

Lines are compared after stripping whitespace and comment markers (``#``, ``//``), so a Go
comment pasted behind ``#`` is still caught. Skips when ``go`` or git is not available."""
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIN_LEN = 40
OURS = (".py", ".pyx", ".pxi", ".pxd", ".h", ".c", ".go", ".md", ".txt", ".in", ".toml")


def _norm(line):
    """The text a reader sees: no indentation, no comment marker, no surrounding spaces."""
    return line.strip().lstrip("#/").strip()


def _long_lines(path):
    try:
        with open(path, encoding="utf-8", errors="ignore") as f:
            for lineno, line in enumerate(f, 1):
                text = _norm(line)
                if len(text) >= MIN_LEN:
                    yield lineno, text
    except OSError:
        return


def _goroot():
    if shutil.which("go") is None:
        pytest.skip("go is not on PATH: nothing to compare our lines with")
    out = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, timeout=60)
    root = out.stdout.strip()
    if out.returncode != 0 or not os.path.isdir(os.path.join(root, "src", "runtime")):
        pytest.skip("go env GOROOT names no Go source tree")
    return root


def _go_lines(root):
    """Every long line of a .go file under src/runtime and test."""
    theirs = set()
    for top in (os.path.join(root, "src", "runtime"), os.path.join(root, "test")):
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                if name.endswith(".go"):
                    theirs.update(text for _n, text in _long_lines(os.path.join(dirpath, name)))
    return theirs


def _tracked_files():
    if shutil.which("git") is None or not os.path.exists(os.path.join(REPO, ".git")):
        pytest.skip("not a git checkout: no list of tracked files")
    out = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], capture_output=True, timeout=60)
    if out.returncode != 0:
        pytest.skip("git ls-files failed: " + out.stderr.decode(errors="replace").strip())
    return [f for f in out.stdout.decode().split("\0") if f.endswith(OURS)]


def test_no_line_of_ours_is_verbatim_from_go():
    theirs = _go_lines(_goroot())
    assert len(theirs) > 1000, "Go's tree looked empty: the comparison would prove nothing"
    hits = [f"{rel}:{lineno}: {text[:90]}"
            for rel in _tracked_files()
            for lineno, text in _long_lines(os.path.join(REPO, rel))
            if text in theirs]
    assert not hits, (f"{len(hits)} line(s) copied from Go's tree; say it in our own words:\n"
                      + "\n".join(hits))


def test_the_check_catches_a_copied_line():
    """The comparison itself works: a line taken from Go's tree is found in the set."""
    root = _goroot()
    sample = next(text for _n, text in _long_lines(os.path.join(root, "src", "runtime", "chan.go")))
    assert _norm("    # " + sample) in _go_lines(root)
