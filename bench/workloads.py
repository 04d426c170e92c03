#!/usr/bin/env python3
"""The cross-library workloads W1-W6 (defined in bench/README.md) alone, on every library.

``python bench/workloads.py [options]`` is ``python -m chanemu bench --only workloads [options]``
(an --only of your own replaces it). The workloads themselves live in chanemu/_bench/workloads.py
(chanemu) and chanemu/_bench/peers.py (the peers), their Go twins in bench/go/main.go.
"""
import os
import sys

try:
    import chanemu  # noqa: F401  (an installed chanemu, or the source tree on sys.path)
except ImportError:  # run from a source checkout: use the tree this script belongs to
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from chanemu.__main__ import main  # noqa: E402

if __name__ == "__main__":
    args = sys.argv[1:]
    if not any(a == "--only" or a.startswith("--only=") for a in args):
        args = ["--only", "workloads", *args]
    sys.exit(main(["bench", *args]))
