"""Hostile checkpoint files shared by the checkpoint-loading tests."""

from __future__ import annotations

import pickle
from pathlib import Path


class _Payload:
    """Unpickling this runs ``print``: ``torch.load(weights_only=True)`` must refuse it."""

    def __reduce__(self):
        return (print, ("pickle payload executed",))


def write_pickle_payload(folder: Path, name: str = "evil.pt") -> Path:
    """Write a file whose unpickling would execute code; returns its path."""
    path = folder / name
    path.write_bytes(pickle.dumps(_Payload()))
    return path
