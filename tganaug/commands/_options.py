"""Option parsing shared by the sub-commands: ``KEY=VALUE`` parameters and JSON config files."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tganaug.utils.config import read_json_object

__all__ = ["add_quiet_option", "parse_params", "load_config_file"]


def parse_params(pairs: list[str] | None, option: str = "--param") -> dict[str, Any]:
    """``["key=value", ...]`` -> dict; values are parsed as JSON when possible (``3``, ``0.5``, ``true``).

    Dashes in keys become underscores (``min-size=5`` sets ``min_size``).
    """
    params: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{option} expects KEY=VALUE, got {pair!r}")
        try:
            params[key.replace("-", "_")] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.replace("-", "_")] = raw
    return params


def load_config_file(path: str | None) -> dict[str, Any]:
    """Read a JSON object of plugin parameters (``{}`` when no path)."""
    return read_json_object(path, "config", "parameters") if path else {}


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bars (they go to stderr, so stdout stays the command's result)."""
    parser.add_argument("--quiet", action="store_true", help="no progress bars (shown on stderr otherwise)")
