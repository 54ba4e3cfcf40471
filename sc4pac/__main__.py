"""``python -m sc4pac``."""

import sys

from .cli.main import main

# Guarded: a process started with the spawn method imports the parent's main module (staging workers).
if __name__ == "__main__":
    sys.exit(main())
