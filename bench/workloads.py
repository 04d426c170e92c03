#!/usr/bin/env python3
"""The cross-library workloads W1-W6 (shared bench/WORKLOADS.md) on chanemu's two twins.

A thin script over chanemu._bench, where the workloads live; the same as ``python -m chanemu bench``
and taking the same options (--quick, --json, --impl c|python|both, --only W1,W2,...).
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
