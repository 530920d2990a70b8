"""The seed's script name, kept: the same as ``ephitup migrate to-s3`` (flags pass through)."""

import sys

from scripts.cli import main

if __name__ == "__main__":
    sys.exit(main(["migrate", "to-s3", *sys.argv[1:]]))
