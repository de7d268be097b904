"""Apply MONAI dictionary transforms to whole videos, identically on every frame.

A video item holds ``image (T, 1, H, W)`` and ``label (T, H, W)``. For the transform, both are
presented as *channel-first 2-D images whose channels are the T frames*: ``image (T, H, W) float32``
and ``label (T, H, W)`` (integer ids). A MONAI dict transform draws its random parameters once per
call and applies them to every channel, so flips, rotations, crops, zooms and affine warps move all
frames of image and label together. Use ``mode="nearest"`` for ``label`` in interpolating
transforms: labels that stop being ids of the input raise an error. After the transform the
lineage is made consistent again with :func:`tganaug.data.tracks.restrict_lineage` (a crop may
remove cells or split tracks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from monai.transforms import Randomizable, apply_transform

from tganaug.data.tracks import restrict_lineage
from tganaug.utils.arrays import to_numpy

__all__ = ["VideoTransformError", "apply_video_transform"]


class VideoTransformError(ValueError):
    """A transform returned something that is no longer a valid video item."""


def apply_video_transform(transform: Callable[[dict[str, Any]], Any], item: dict[str, Any], seed: int | None = None) -> dict[str, Any]:
    """Apply ``transform`` to a video item (numpy arrays), returning the transformed item.

    Args:
        transform: a MONAI dict transform (or ``Compose``) or any callable on the dict.
        item: ``{"image": (T, 1, H, W) float32, "label": (T, H, W) int, "lineage": (N, 4) int64, "meta": dict}``.
        seed: when the transform is :class:`monai.transforms.Randomizable`, its random state is set
            from this seed first, so the result is reproducible.

    Returns:
        The item with ``image (T, 1, H', W') float32``, ``label (T, H', W') int64`` numpy arrays and
        a lineage consistent with the new labels.

    Raises:
        VideoTransformError: naming the key and the shapes, when the transform drops a key, changes
        the number of frames, gives image and label different sizes, or turns labels into values
        that are not ids of the input.
    """
    image = item["image"]
    n_frames = image.shape[0]
    data = dict(item)
    data["image"] = image[:, 0]
    if isinstance(transform, Randomizable) and seed is not None:
        transform.set_random_state(seed=int(seed) % (2**32))
    try:
        result = apply_transform(transform, data)
    except Exception as error:
        raise VideoTransformError(
            f"transform {type(transform).__name__} failed on a video item (image and label are given to it as "
            f"(T, H, W) = {tuple(data['image'].shape)} channel-first arrays, T frames as channels): {error}"
        ) from error
    if isinstance(result, list) and len(result) == 1:
        result = result[0]  # MONAI's cropping transforms return a list even for num_samples=1
    if isinstance(result, list):
        raise VideoTransformError(
            f"transform {type(transform).__name__} returned {len(result)} samples (e.g. RandCropByPosNegLabeld "
            "with num_samples > 1); video items need exactly one: use num_samples=1"
        )
    if not isinstance(result, dict):
        raise VideoTransformError(f"transform {type(transform).__name__} must return a dict, got {type(result).__name__}")
    for key in ("image", "label"):
        if key not in result:
            raise VideoTransformError(f"transform {type(transform).__name__} dropped the {key!r} key")
    new_image = to_numpy(result["image"])
    new_label = to_numpy(result["label"])
    if new_image.ndim != 3 or new_image.shape[0] != n_frames:
        raise VideoTransformError(
            f"transform {type(transform).__name__} broke the image shape: expected (T={n_frames}, H, W) "
            f"frames-as-channels, got {tuple(new_image.shape)}"
        )
    if new_label.shape != new_image.shape:
        raise VideoTransformError(
            f"transform {type(transform).__name__} gave label {tuple(new_label.shape)} and image "
            f"{tuple(new_image.shape)} different shapes; apply spatial transforms to keys ['image', 'label']"
        )
    if min(new_image.shape[1:]) < 1:
        raise VideoTransformError(f"transform {type(transform).__name__} produced an empty image {tuple(new_image.shape)}")
    if not np.issubdtype(new_label.dtype, np.integer):
        rounded = np.rint(new_label)
        if not np.all(np.isfinite(new_label)) or not np.array_equal(rounded, new_label):
            raise VideoTransformError(
                f"transform {type(transform).__name__} interpolated the label ids (non-integer values): "
                "use mode='nearest' for the 'label' key"
            )
        new_label = rounded
    new_label = np.ascontiguousarray(new_label, dtype=np.int64)
    if not np.all(np.isfinite(new_image)):
        raise VideoTransformError(f"transform {type(transform).__name__} produced NaN or Inf image values")
    not_ids = f"transform {type(transform).__name__} created label values that are not ids of the input: " \
        "use mode='nearest' for the 'label' key and no intensity transform on it"
    if new_label.size and new_label.min() < 0:
        raise VideoTransformError(not_ids)
    try:
        labels, lineage = restrict_lineage(new_label, item["lineage"])
    except ValueError as error:  # an id the lineage does not know: the transform invented it
        raise VideoTransformError(f"{not_ids} ({error})") from None
    out = dict(result)
    out["image"] = np.ascontiguousarray(new_image, dtype=np.float32)[:, None]
    out["label"], out["lineage"] = labels, lineage
    out["meta"] = item["meta"]
    return out
