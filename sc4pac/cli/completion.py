"""``sc4pac completion SHELL``: print the tab-completion script for bash, zsh, fish or PowerShell.

The script calls ``sc4pac`` back with argcomplete's environment variables set; :func:`main` answers those
calls with the matching commands and options before doing anything else.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["cmd_completion"]


def cmd_completion(args: argparse.Namespace) -> int:
    """Write the completion script for ``args.shell`` to stdout."""
    from argcomplete.shell_integration import shellcode

    sys.stdout.write(shellcode(["sc4pac"], shell=args.shell))
    return 0
