"""The simulator contract: what every mask simulator returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tganaug.contracts import Simulator  # the simulator contract, re-exported here
from tganaug.lineage import as_lineage, validate_tracks

__all__ = ["SimulatedVideo", "Simulator", "check_video_size"]


@dataclass
class SimulatedVideo:
    """Masks and lineage made by a simulator.

    Attributes:
        labels: ``(T, H, W) uint16`` instance labels; label = track id, consistent over time.
        lineage: ``(N, 4) int64`` CTC lineage (id, start, end, parent).
        meta: what made it (simulator name, config, seed, size), JSON-serialisable.
    """

    labels: np.ndarray
    lineage: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise :class:`tganaug.lineage.LineageError` if labels and lineage disagree."""
        validate_tracks(self.labels, self.lineage)

    def __post_init__(self) -> None:
        self.lineage = as_lineage(self.lineage)


def check_video_size(frames: int, height: int, width: int, min_side: int = 16) -> None:
    """Raise ``ValueError`` for non-positive frame counts or image sides below ``min_side``."""
    for what, value in (("frames", frames), ("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{what} must be an integer, got {type(value).__name__}")
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    if height < min_side or width < min_side:
        raise ValueError(f"height and width must be >= {min_side} pixels, got {height} x {width}")
