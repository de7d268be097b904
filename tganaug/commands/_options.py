"""Option parsing shared by the sub-commands: ``KEY=VALUE`` parameters and JSON config files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

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
    if not path:
        return {}
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"config file not found: {file}")
    try:
        values = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"config file {file} is not valid JSON: {error}") from None
    if not isinstance(values, dict):
        raise ValueError(f"config file {file} must hold a JSON object of parameters")
    return values


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bars (they go to stderr, so stdout stays the command's result)."""
    parser.add_argument("--quiet", action="store_true", help="no progress bars (shown on stderr otherwise)")
