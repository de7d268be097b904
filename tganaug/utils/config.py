"""A mixin for dataclass configs: JSON-ready dicts, strict construction from dicts; reading a JSON object file."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["ConfigMixin", "read_json_object"]

_Config = TypeVar("_Config", bound="ConfigMixin")


class ConfigMixin:
    """Give a ``@dataclass`` config ``to_dict()`` and a strict ``from_dict()``.

    ``from_dict`` rejects unknown keys and names the valid ones, so a typo in a user's JSON or
    ``--param`` is an error instead of a silently ignored setting.
    """

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable copy of the fields."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[_Config], values: dict[str, Any]) -> _Config:
        """Build from a mapping, rejecting unknown keys with the list of valid ones."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} parameter(s) {unknown}; valid: {sorted(known)}")
        return cls(**values)


def read_json_object(path: str | Path, what: str, holding: str, missing: str | None = None) -> dict[str, Any]:
    """The JSON object in ``path``; ``FileNotFoundError`` / ``ValueError`` naming ``what`` (e.g. ``"config"``) and the
    file when it is missing (``missing``: the message's start, default ``"{what} file not found"``), not JSON, or not
    an object of ``holding`` (e.g. ``"parameters"``)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{missing or f'{what} file not found'}: {file}")
    try:
        values = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} file {file} is not valid JSON: {error}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{what} file {file} must hold a JSON object of {holding}")
    return values
