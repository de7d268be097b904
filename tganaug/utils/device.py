"""The torch device a user asked for, checked: a clear error instead of torch's assertion deep inside."""

from __future__ import annotations

import torch

__all__ = ["check_device"]


def check_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device``; ``ValueError`` for an unknown one or CUDA without a usable CUDA build."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"unknown torch device {device!r} ({error})") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: this torch build has no usable CUDA (torch.cuda.is_available() is False); use 'cpu'")
    return parsed
