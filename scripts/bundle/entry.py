"""Entry point frozen into the bundle's executable: the ``sc4pac`` command line."""

import sys

from sc4pac.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
