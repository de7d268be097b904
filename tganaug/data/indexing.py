"""Map-style dataset indexing shared by the datasets: ints, negative ints, slices and index lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["resolve_index"]


def resolve_index(dataset: Any, index: Any, length: int, what: str) -> int | torch.utils.data.Subset:
    """A valid non-negative int for ``index``, or a ``Subset`` for a slice / sequence of ints.

    Raises ``TypeError`` for other index types and ``IndexError`` (naming ``what``) out of range.
    """
    if isinstance(index, slice):
        return torch.utils.data.Subset(dataset, range(length)[index])
    if isinstance(index, Sequence) and not isinstance(index, str):
        return torch.utils.data.Subset(dataset, [_checked(i, length, what) for i in index])
    return _checked(index, length, what)


def _checked(index: Any, length: int, what: str) -> int:
    """``index`` as a non-negative int below ``length``; ``TypeError`` / ``IndexError`` otherwise."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"index must be an int, a slice or a sequence of ints, got {type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"index {index} out of range for {length} {what}")
    return int(index) % length
