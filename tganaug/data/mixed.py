"""``MixedVideoDataset``: draw real and synthetic items at a given ratio (mixed batches)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.utils.data

from tganaug.data.indexing import resolve_index
from tganaug.data.seeding import EpochMixin, check_seed

__all__ = ["MixedVideoDataset"]


class MixedVideoDataset(EpochMixin, torch.utils.data.Dataset):
    """A map-style mixture: item ``i`` comes from dataset ``k`` with probability ``weights[k]``.

    Args:
        datasets: map-style datasets with the video item format (e.g. a ``CTCVideoDataset`` and a
            ``SyntheticVideoDataset``); they must yield the same ``T, H, W`` to be batched together.
        weights: non-negative mixing weights, normalised to sum 1 (default: equal).
        num_items: length of the mixture (default: the sum of the datasets' lengths).
        seed: item ``i``'s choice of dataset and of the item within it is drawn from
            ``SeedSequence(seed, spawn_key=(i, epoch))``: deterministic per index, different per epoch.

    The source of each item is recorded as ``meta["mixed_source"]`` (dataset position). The draw is
    i.i.d. per item, so the fraction from dataset ``k`` among ``n`` items is within a few
    ``sqrt(w_k (1 - w_k) / n)`` of ``w_k``; items within a dataset are drawn uniformly with replacement.
    """

    def __init__(
        self,
        datasets: Sequence[torch.utils.data.Dataset],
        weights: Sequence[float] | None = None,
        num_items: int | None = None,
        seed: int = 0,
    ) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("MixedVideoDataset needs at least one dataset")
        for k, dataset in enumerate(self.datasets):
            if isinstance(dataset, torch.utils.data.IterableDataset) or not hasattr(dataset, "__len__"):
                raise TypeError(f"dataset {k} ({type(dataset).__name__}) must be map-style with a length, not an iterable stream")
            if len(dataset) == 0:
                raise ValueError(f"dataset {k} ({type(dataset).__name__}) is empty")
        weights = [1.0] * len(self.datasets) if weights is None else list(weights)
        if len(weights) != len(self.datasets):
            raise ValueError(f"got {len(weights)} weights for {len(self.datasets)} datasets")
        w = np.asarray(weights, dtype=np.float64)
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"weights must be finite, non-negative and not all zero, got {list(weights)}")
        self.weights = w / w.sum()
        self.cumulative = np.cumsum(self.weights)
        if num_items is not None and (isinstance(num_items, bool) or not isinstance(num_items, (int, np.integer)) or num_items < 1):
            raise ValueError(f"num_items must be a positive integer, got {num_items!r}")
        self.num_items = sum(len(d) for d in self.datasets) if num_items is None else int(num_items)
        self.seed = check_seed(seed)
        self._init_epoch()

    def __len__(self) -> int:
        return self.num_items

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (new draws; reaches persistent DataLoader workers); passed on to the datasets that have ``set_epoch``."""
        super().set_epoch(epoch)
        for dataset in self.datasets:
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)

    def choice(self, index: int) -> tuple[int, int]:
        """``(dataset position, item index within it)`` of mixture item ``index``."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(int(index), self.epoch)))
        k = int(np.searchsorted(self.cumulative, rng.random(), side="right"))
        k = min(k, len(self.datasets) - 1)
        return k, int(rng.integers(len(self.datasets[k])))

    def __getitem__(self, index: Any) -> dict[str, Any] | torch.utils.data.Subset:
        index = resolve_index(self, index, self.num_items, "items")
        if isinstance(index, torch.utils.data.Subset):
            return index
        k, inner = self.choice(index)
        item = dict(self.datasets[k][inner])
        item["meta"] = {**item["meta"], "mixed_source": k}
        return item
