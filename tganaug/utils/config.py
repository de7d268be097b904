"""A mixin for dataclass configs: JSON-ready dicts, strict construction from dicts."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, TypeVar

__all__ = ["ConfigMixin"]

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
