"""Generate the demo channel: asset files plus the JSON channel, ready to be used as a ``file:`` channel.

Run from the repository root:  .venv/bin/python channels/demo/generate.py --output <dir>
then add ``file:///<abs dir>/`` as a channel (``<dir>/files`` holds the assets the channel points to).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sc4pac.channels.demo import generate_demo_channel


def main() -> int:
    """Parse ``--output`` and generate the demo channel there."""
    parser = argparse.ArgumentParser(description="Generate the sc4pac demo channel (assets + JSON channel).")
    parser.add_argument(
        "--output", "-o", type=Path, required=True, help="directory to write the channel into"
    )
    args = parser.parse_args()
    channel = generate_demo_channel(args.output)
    print(f"Demo channel written to {channel}")
    print(f"Channel URL: {channel.as_uri()}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
