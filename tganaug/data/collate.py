"""Batching video items whose lineage tables differ in length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["LINEAGE_PAD", "collate_videos"]

#: Value of the padding rows of a batched lineage (a real row never holds -1: ids are positive,
#: frames and parents non-negative).
LINEAGE_PAD = -1


def collate_videos(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Collate video items into a batch (``collate_fn`` for ``torch.utils.data.DataLoader``).

    Args:
        items: dicts with ``image (T, 1, H, W) float32``, ``label (T, H, W) int64``,
            ``lineage (N_b, 4) int64`` tensors and a ``meta`` dict.

    Returns:
        ``{"image": (B, T, 1, H, W) float32, "label": (B, T, H, W) int64,
        "lineage": (B, max N_b, 4) int64`` padded with rows of :data:`LINEAGE_PAD` (-1),
        ``"lineage_length": (B,) int64`` (the real row counts), ``"meta": list of B dicts}``.
        Any other keys, which every item must have, are collated with ``torch.utils.data.default_collate``.

    Raises:
        ValueError: for an empty batch, items whose image/label shapes differ (name them; give
        every dataset the same ``frames`` / ``clip_frames`` and size, e.g. with a crop transform) or
        items with different keys.
    """
    if len(items) == 0:
        raise ValueError("cannot collate an empty batch")
    for key in ("image", "label", "lineage", "meta"):
        missing = [b for b, item in enumerate(items) if key not in item]
        if missing:
            raise ValueError(f"batch item(s) {missing} have no {key!r} key; collate_videos needs video items")
    for key in ("image", "label"):
        shapes = [tuple(item[key].shape) for item in items]
        if len(set(shapes)) > 1:
            raise ValueError(
                f"cannot batch videos of different {key} shapes {shapes}: use the same frames/clip_frames and "
                "size for every dataset (e.g. a spatial crop transform)"
            )
    lengths = [int(item["lineage"].shape[0]) for item in items]
    lineage = torch.full((len(items), max(lengths), 4), LINEAGE_PAD, dtype=torch.int64)
    for b, item in enumerate(items):
        lineage[b, : lengths[b]] = torch.as_tensor(item["lineage"], dtype=torch.int64)
    batch: dict[str, Any] = {
        "image": torch.stack([torch.as_tensor(item["image"]) for item in items]),
        "label": torch.stack([torch.as_tensor(item["label"]) for item in items]),
        "lineage": lineage,
        "lineage_length": torch.tensor(lengths, dtype=torch.int64),
        "meta": [item["meta"] for item in items],
    }
    extra = sorted(set().union(*items) - set(batch))
    for key in extra:
        lacking = [b for b, item in enumerate(items) if key not in item]
        if lacking:
            raise ValueError(
                f"batch item(s) {lacking} have no {key!r} key that the others have (e.g. a transform on only one "
                "of the mixed datasets): give every item the same keys"
            )
        batch[key] = torch.utils.data.default_collate([item[key] for item in items])
    return batch
