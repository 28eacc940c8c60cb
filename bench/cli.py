"""The command line every integration benchmark shares: its own arguments plus `--json PATH`.

bench/run.py runs each script with `--json <file>` and reads its figures back
from that file; run by hand, the option is left out and the script only prints.
"""
from __future__ import annotations

import argparse
import json
from typing import Any


def parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first line of the script's docstring."""
    return argparse.ArgumentParser(description=doc.split("\n", 1)[0])


def parse(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add the common `--json` option to the script's own arguments and parse them."""
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args()


def write_figures(path: str | None, figures: dict[str, Any]) -> None:
    """Write the figures for bench/run.py when `--json` asked for them."""
    if path:
        with open(path, "w") as fh:
            json.dump(figures, fh)
