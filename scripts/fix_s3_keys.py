"""The seed's script name, kept: the same as ``ephitup fix-keys`` (flags pass through)."""

import sys

from scripts.cli import main

if __name__ == "__main__":
    sys.exit(main(["fix-keys", *sys.argv[1:]]))
