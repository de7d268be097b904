"""``unet``: the learned 3-class UNet segmenter (weights trained here, shipped small, or a checkpoint path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tganaug.hookspecs import hookimpl


def _factory(**config: Any) -> Any:
    # imported on use: torch and MONAI are only needed when this segmenter is created
    from tganaug.segmentation.model import UNetSegmenter

    return UNetSegmenter(**config)


@hookimpl
def tganaug_segmenters() -> dict[str, Callable[..., Any]]:
    return {"unet": _factory}
