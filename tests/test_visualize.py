"""Figure writers: montages scaled down to a size that can be committed, written atomically."""

import numpy as np
import pytest
from PIL import Image

from tganaug.visualize import montage, save_gif, save_png, shrink


def test_shrink_averages_pixel_blocks_and_keeps_the_aspect_ratio():
    # 4 x 8 image of 2 x 2 blocks with distinct values: halving must give exactly the block values
    blocks = np.arange(8, dtype=np.uint8).reshape(2, 4) * 30
    image = np.kron(blocks, np.ones((2, 2), dtype=np.uint8))
    small = shrink(image, 4)
    assert small.shape == (2, 4) and small.dtype == np.uint8
    np.testing.assert_array_equal(small, blocks)
    # mixed 2 x 2 block (0, 0, 100, 100) -> its mean
    assert shrink(np.array([[0, 100], [0, 100]], dtype=np.uint8), 1).item() == 50


def test_shrink_leaves_images_that_fit_and_rejects_bad_sizes():
    rgb = np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    np.testing.assert_array_equal(shrink(rgb, None), rgb)
    np.testing.assert_array_equal(shrink(rgb, 50), rgb)
    assert shrink(rgb, 25).shape == (15, 25, 3)
    with pytest.raises(ValueError, match="max_side"):
        shrink(rgb, 0)


def test_save_png_and_gif_write_the_scaled_images(tmp_path):
    panel = np.full((60, 90), 200, dtype=np.uint8)
    image = montage([[panel, panel], [panel, panel]])
    save_png(tmp_path / "m.png", image, max_side=92)
    with Image.open(tmp_path / "m.png") as written:
        assert max(written.size) == 92
        assert written.size[0] > written.size[1]  # wider than tall, like the montage
    frames = [np.full((40, 80), value, dtype=np.uint8) for value in (0, 128, 255)]
    save_gif(tmp_path / "v.gif", frames, max_side=40)
    with Image.open(tmp_path / "v.gif") as written:
        assert written.size == (40, 20) and written.n_frames == 3
    with pytest.raises(ValueError, match="at least one frame"):
        save_gif(tmp_path / "empty.gif", [])
    assert not (tmp_path / "empty.gif").exists()
