"""Seeds of synthetic videos and worker sharding: reproducible and collision-free.

Every random choice of item ``index`` comes from ``numpy.random.SeedSequence(entropy=seed,
spawn_key=(index,))`` (or ``(index, epoch)`` for per-epoch augmentation), so item ``i`` is the same
video in every process, worker and run, and two indices never share a stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported where it is used: seeds alone (tganaug generate) need no torch
    import torch

__all__ = ["EpochMixin", "VideoSeeds", "check_seed", "generator_seed", "transform_seed", "video_seeds", "worker_shard"]


@dataclass(frozen=True)
class VideoSeeds:
    """The independent seeds of one synthetic video (non-negative ints < 2**32)."""

    simulator: int
    generator: int
    background: int


class EpochMixin:
    """``epoch`` / :meth:`set_epoch` of a dataset, seen by every DataLoader worker, persistent ones included.

    A worker holds its own copy of the dataset, so a plain attribute set in the main process after
    the workers started (``persistent_workers=True``) would never reach them: the epoch lives in a
    one-element shared-memory tensor instead. Call :meth:`set_epoch` before iterating the loader.
    """

    _shared_epoch: torch.Tensor

    def _init_epoch(self) -> None:
        import torch

        self._shared_epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        """The epoch whose random draws items use (0 until :meth:`set_epoch`)."""
        return int(self._shared_epoch)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose random draws items use (see the class's own docstring for what changes)."""
        epoch = check_seed(epoch, "epoch")
        if epoch >= 2**62:
            raise ValueError(f"epoch must be below 2**62, got {epoch}")
        self._shared_epoch.fill_(epoch)

    def __setstate__(self, state: dict) -> None:
        # an unpickled or deep-copied dataset gets a private tensor: put it in shared memory again
        self.__dict__.update(state)
        if "_shared_epoch" in state:
            self._shared_epoch.share_memory_()


def generator_seed(seed: object) -> int:
    """A generator's ``seed`` argument as int: None is 0; ``ValueError`` unless a non-negative integer or None."""
    if seed is None:
        return 0
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def check_seed(seed: object, what: str = "seed") -> int:
    """Return ``seed`` as int; raise ``ValueError`` naming ``what`` unless it is a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {seed!r}")
    return int(seed)


def video_seeds(seed: int, index: int) -> VideoSeeds:
    """Seeds of video ``index`` of a dataset with global ``seed``."""
    state = np.random.SeedSequence(entropy=check_seed(seed), spawn_key=(check_seed(index, "index"),)).generate_state(3)
    return VideoSeeds(*(int(s) for s in state))


def transform_seed(seed: int, index: int, epoch: int = 0) -> int:
    """Seed of the random transforms of item ``index`` in ``epoch`` (differs per epoch, fixed per run)."""
    sequence = np.random.SeedSequence(entropy=check_seed(seed), spawn_key=(check_seed(index, "index"), 1 + check_seed(epoch, "epoch")))
    return int(sequence.generate_state(1)[0])


def worker_shard() -> tuple[int, int]:
    """``(worker_id, num_workers)`` of the current DataLoader worker; ``(0, 1)`` in the main process."""
    import torch.utils.data

    info = torch.utils.data.get_worker_info()
    return (0, 1) if info is None else (int(info.id), int(info.num_workers))
