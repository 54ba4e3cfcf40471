"""Entry point frozen into the bundle's executable: the ``sc4pac`` command line."""

import multiprocessing
import sys

from sc4pac.cli.main import main

if __name__ == "__main__":
    # Staging worker processes (sc4pac.install.stage_processes) are this executable started again with
    # multiprocessing's arguments: freeze_support runs the worker instead of the command line then.
    multiprocessing.freeze_support()
    sys.exit(main())
