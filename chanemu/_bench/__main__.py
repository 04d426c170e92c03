"""The measuring child processes of ``python -m chanemu bench`` (see cli.child_main)."""
import sys

from .cli import child_main

if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
