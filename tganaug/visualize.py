"""Pictures to look at: label videos coloured by track id, montages, GIFs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from tganaug.utils.fsutil import atomic_write_bytes

__all__ = ["colorize_labels", "to_uint8", "montage", "shrink", "save_png", "save_gif", "frame_indices", "line_plot"]


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


def montage(rows: Sequence[Sequence[np.ndarray]], gap: int = 4, *, row_titles: Sequence[str] | None = None,
            column_titles: Sequence[str] | None = None, title_size: int | None = None) -> np.ndarray:
    """Tile panels (``(H, W)`` uint8 grey or ``(H, W, 3)`` uint8 RGB) into one ``(H', W', 3)`` image.

    ``rows[i][j]`` is the panel in row i, column j; panels in a row share a height. ``row_titles`` (one per row,
    e.g. ``"masks"``, ``"synthetic"``) are written in a white band left of the rows, ``column_titles`` (one per
    column of the longest row, e.g. frame numbers) in a band above them, in black; ``title_size``: their font
    size in px (default: about a twelfth of the smallest panel height, at least 12). Raises ``ValueError`` for a
    title count that does not match.
    """
    if not rows or not all(rows):
        raise ValueError("montage needs at least one non-empty row of panels")
    rendered_rows = []
    offsets: list[list[tuple[int, int]]] = []  # (x, width) of each panel in its row
    for row in rows:
        panels = [_as_rgb(np.asarray(p, dtype=np.uint8)) for p in row]
        height = max(p.shape[0] for p in panels)
        spacer = np.full((height, gap, 3), 255, dtype=np.uint8)
        padded = [np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0)), constant_values=255) for p in panels]
        rendered_rows.append(np.concatenate([x for p in padded for x in (p, spacer)][:-1], axis=1))
        starts = np.cumsum([0] + [p.shape[1] + gap for p in panels[:-1]])
        offsets.append([(int(x), p.shape[1]) for x, p in zip(starts, panels)])
    width = max(r.shape[1] for r in rendered_rows)
    spacer_row = np.full((gap, width, 3), 255, dtype=np.uint8)
    padded_rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rendered_rows]
    grid = np.concatenate([x for r in padded_rows for x in (r, spacer_row)][:-1], axis=0)
    if not row_titles and not column_titles:
        return grid
    columns = max(len(row) for row in rows)
    if row_titles is not None and len(row_titles) != len(rows):
        raise ValueError(f"montage has {len(rows)} row(s), got {len(row_titles)} row title(s)")
    if column_titles is not None and len(column_titles) != columns:
        raise ValueError(f"montage has {columns} column(s), got {len(column_titles)} column title(s)")
    return _with_titles(grid, gap, [r.shape[0] for r in rendered_rows], next(o for o in offsets if len(o) == columns),
                        row_titles, column_titles, title_size or max(12, min(r.shape[0] for r in rendered_rows) // 12))


def _with_titles(grid: np.ndarray, gap: int, row_heights: list[int], columns: list[tuple[int, int]],
                 row_titles: Sequence[str] | None, column_titles: Sequence[str] | None, size: int) -> np.ndarray:
    """``grid`` with a white band of ``row_titles`` on the left and one of ``column_titles`` on top (black text)."""
    from PIL import ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def extent(text: str) -> tuple[int, int]:
        left, top, right, bottom = measure.textbbox((0, 0), str(text), font=font)
        return right - left, bottom - top

    pad = max(2, size // 3)
    left = pad * 2 + max(extent(t)[0] for t in row_titles) if row_titles else 0
    top = pad * 2 + max(extent(t)[1] for t in column_titles) if column_titles else 0
    canvas = Image.new("RGB", (grid.shape[1] + left, grid.shape[0] + top), (255, 255, 255))
    canvas.paste(Image.fromarray(grid), (left, top))
    draw = ImageDraw.Draw(canvas)
    for (x, panel_width), text in zip(columns, column_titles or ()):
        draw.text((left + x + panel_width / 2, top / 2), str(text), fill=(0, 0, 0), font=font, anchor="mm")
    y = top
    for height, text in zip(row_heights, row_titles or ()):
        draw.text((pad, y + height / 2), str(text), fill=(0, 0, 0), font=font, anchor="lm")
        y += height + gap
    return np.asarray(canvas)


def _png_bytes(image: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def shrink(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """A ``(H, W[, 3]) uint8`` image scaled down (area averaging) so that its longer side is at most ``max_side``.

    Returned unchanged when it already fits or ``max_side`` is None; the aspect ratio is kept.
    """
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be a positive number of pixels, got {max_side}")
    image = np.asarray(image, dtype=np.uint8)
    if max_side is None or max(image.shape[:2]) <= max_side:
        return image
    scale = max_side / max(image.shape[:2])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))  # PIL: (width, height)
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX))


def save_png(path: str | Path, image: np.ndarray, max_side: int | None = None) -> None:
    """Write a ``(H, W)`` or ``(H, W, 3)`` uint8 image as PNG, atomically (scaled down to ``max_side``, see :func:`shrink`)."""
    atomic_write_bytes(path, _png_bytes(shrink(image, max_side)))


def save_gif(path: str | Path, frames: Sequence[np.ndarray], duration_ms: int = 150, max_side: int | None = None) -> None:
    """Write ``(H, W[, 3]) uint8`` frames as a looping GIF, atomically (each scaled down to ``max_side``, see :func:`shrink`)."""
    import io

    if not frames:
        raise ValueError("save_gif needs at least one frame")
    images = [Image.fromarray(shrink(f, max_side)) for f in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    atomic_write_bytes(path, buffer.getvalue())


def frame_indices(n_frames: int, count: int = 6) -> list[int]:
    """Up to ``count`` evenly spaced frame indices of a video with ``n_frames`` frames."""
    return sorted(set(np.linspace(0, n_frames - 1, min(count, n_frames)).round().astype(int).tolist()))


#: line colours of :func:`line_plot` (RGB), one per series in order
PLOT_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189))


def line_plot(x: Sequence[float], series: dict[str, Sequence[float]], *, title: str = "", x_label: str = "",
              size: tuple[int, int] = (560, 320)) -> np.ndarray:
    """A small line chart ``(H, W, 3) uint8`` of ``series`` (name -> y values at ``x``), with axis ticks and a legend.

    Drawn with Pillow (no plotting library is a dependency). Raises ``ValueError`` when a series'
    length differs from ``x``, when there are more series than :data:`PLOT_COLOURS`, or a value is not finite.
    """
    from PIL import ImageDraw

    xs = np.asarray(x, dtype=float)
    if len(series) > len(PLOT_COLOURS):
        raise ValueError(f"at most {len(PLOT_COLOURS)} series, got {len(series)}")
    values = {name: np.asarray(ys, dtype=float) for name, ys in series.items()}
    for name, ys in values.items():
        if ys.shape != xs.shape:
            raise ValueError(f"series {name!r} has {ys.size} values for {xs.size} x positions")
    every = np.concatenate([xs, *values.values()])
    if every.size == 0 or not np.isfinite(every).all():
        raise ValueError("line_plot needs at least one x value and finite values only")
    width, height = size
    left, right, top, bottom = 56, 140, 28, 44
    y_low, y_high = 0.0, float(max(ys.max() for ys in values.values())) * 1.1 or 1.0
    x_low, x_high = float(xs.min()), float(xs.max()) if xs.max() > xs.min() else float(xs.min()) + 1.0

    def to_pixel(px: float, py: float) -> tuple[float, float]:
        return (left + (px - x_low) / (x_high - x_low) * (width - left - right),
                height - bottom - (py - y_low) / (y_high - y_low) * (height - top - bottom))

    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle([left, top, width - right, height - bottom], outline=(0, 0, 0))
    for tick in np.linspace(y_low, y_high, 5):
        _, py = to_pixel(x_low, tick)
        draw.line([left - 4, py, left, py], fill=(0, 0, 0))
        draw.text((4, py - 6), f"{tick:.3g}", fill=(0, 0, 0))
    for tick in xs:
        px, _ = to_pixel(tick, y_low)
        draw.line([px, height - bottom, px, height - bottom + 4], fill=(0, 0, 0))
        draw.text((px - 6, height - bottom + 8), f"{tick:g}", fill=(0, 0, 0))
    draw.text((left, 8), title, fill=(0, 0, 0))
    draw.text((left + (width - left - right) // 2 - 3 * len(x_label), height - 16), x_label, fill=(0, 0, 0))
    for k, (name, ys) in enumerate(values.items()):
        colour = PLOT_COLOURS[k]
        points = [to_pixel(px, py) for px, py in zip(xs, ys)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for px, py in points:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        draw.text((width - right + 10, top + 6 + 14 * k), name, fill=colour)
    return np.asarray(image)
