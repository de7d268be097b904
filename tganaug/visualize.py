"""Pictures to look at: label videos coloured by track id, montages, GIFs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from tganaug.utils.fsutil import atomic_write_bytes

__all__ = ["colorize_labels", "to_uint8", "montage", "save_png", "save_gif", "frame_indices"]


def colorize_labels(labels: np.ndarray) -> np.ndarray:
    """``(..., H, W)`` integer labels -> ``(..., H, W, 3) uint8`` RGB; background black.

    Each id gets a fixed colour (a hash of the id), so a track keeps its colour in every frame.
    """
    labels = np.asarray(labels).astype(np.int64)
    hashed = (labels * 2654435761) % (2**32)
    rgb = np.stack([(hashed >> shift) & 0xFF for shift in (0, 8, 16)], axis=-1)
    rgb = 64 + (rgb * 191) // 255  # keep colours bright enough to see against black
    rgb[labels == 0] = 0
    return rgb.astype(np.uint8)


def to_uint8(image: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
    """Scale an image to ``uint8`` for display (default range: 1st..99.8th percentile)."""
    image = np.asarray(image, dtype=np.float64)
    finite = image[np.isfinite(image)]
    if low is None:
        low = float(np.percentile(finite, 1)) if finite.size else 0.0
    if high is None:
        high = float(np.percentile(finite, 99.8)) if finite.size else 1.0
    scaled = (image - low) / max(high - low, 1e-12)
    return (np.clip(np.nan_to_num(scaled), 0, 1) * 255).round().astype(np.uint8)


def _as_rgb(panel: np.ndarray) -> np.ndarray:
    return panel if panel.ndim == 3 else np.repeat(panel[..., None], 3, axis=-1)


def montage(rows: Sequence[Sequence[np.ndarray]], gap: int = 4) -> np.ndarray:
    """Tile panels (``(H, W)`` uint8 grey or ``(H, W, 3)`` uint8 RGB) into one ``(H', W', 3)`` image.

    ``rows[i][j]`` is the panel in row i, column j; panels in a row share a height.
    """
    if not rows or not all(rows):
        raise ValueError("montage needs at least one non-empty row of panels")
    rendered_rows = []
    for row in rows:
        panels = [_as_rgb(np.asarray(p, dtype=np.uint8)) for p in row]
        height = max(p.shape[0] for p in panels)
        spacer = np.full((height, gap, 3), 255, dtype=np.uint8)
        padded = [np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0)), constant_values=255) for p in panels]
        rendered_rows.append(np.concatenate([x for p in padded for x in (p, spacer)][:-1], axis=1))
    width = max(r.shape[1] for r in rendered_rows)
    spacer_row = np.full((gap, width, 3), 255, dtype=np.uint8)
    padded_rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rendered_rows]
    return np.concatenate([x for r in padded_rows for x in (r, spacer_row)][:-1], axis=0)


def _png_bytes(image: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(path: str | Path, image: np.ndarray) -> None:
    """Write a ``(H, W)`` or ``(H, W, 3)`` uint8 image as PNG, atomically."""
    atomic_write_bytes(path, _png_bytes(np.asarray(image, dtype=np.uint8)))


def save_gif(path: str | Path, frames: Sequence[np.ndarray], duration_ms: int = 150) -> None:
    """Write ``(H, W[, 3]) uint8`` frames as a looping GIF, atomically."""
    import io

    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    atomic_write_bytes(path, buffer.getvalue())


def frame_indices(n_frames: int, count: int = 6) -> list[int]:
    """Up to ``count`` evenly spaced frame indices of a video with ``n_frames`` frames."""
    return sorted(set(np.linspace(0, n_frames - 1, min(count, n_frames)).round().astype(int).tolist()))
