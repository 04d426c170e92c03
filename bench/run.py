#!/usr/bin/env python3
"""The whole benchmark run: ``python bench/run.py [options]`` is ``python -m chanemu bench``.

chanemu's two twins, the installed Python peers and Go (bench/go/, when go is on PATH), on the
workloads W1-W6 and Go's channel benchmarks; see bench/README.md. Options: --quick, --json,
--plot FILE, --impl c|python|both|none, --peers LIST|none, --only ITEMS, --go-dir DIR.
"""
import os
import sys

try:
    import chanemu  # noqa: F401  (an installed chanemu, or the source tree on sys.path)
except ImportError:  # run from a source checkout: use the tree this script belongs to
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from chanemu.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
