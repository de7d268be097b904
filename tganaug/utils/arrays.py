"""Plugin and transform outputs as numpy arrays, whether they came as arrays, lists or torch tensors."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["to_numpy"]


def to_numpy(value: Any) -> np.ndarray:
    """``value`` as a numpy array. A torch tensor (a MONAI ``MetaTensor`` too) is detached and moved to the CPU first,
    so a plugin returning one that still requires grad or lives on the GPU is read, not a torch error; torch is not
    imported for this (a tensor can only exist once it is)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        if hasattr(value, "as_tensor"):
            value = value.as_tensor()
        return value.detach().cpu().numpy()
    return np.asarray(value)
