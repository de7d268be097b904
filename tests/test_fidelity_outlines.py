"""The fidelity benchmark on a marker-annotated recording: methods are given whole cells (markers joined to the
``01_ST/SEG`` outlines), the reference background is estimated off those outlines, and the procedural renderer is
fitted on them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from _marker_recording import RADIUS, make_recording, outlines_and_markers

from tganaug.benchmarking import fidelity
from tganaug.data.normalize import fit_normalization
from tganaug.benchmarking.inputs import iter_frames, read_outlines, resolve_inputs
from tganaug.io import read_ctc
from tganaug.outlines import read_outlined_ctc
from tganaug.procedural import ProceduralRenderer
from tganaug.procedural.renderer import estimate_config


def test_methods_render_the_joined_outlines_not_the_markers(tmp_path: Path) -> None:
    data = make_recording(tmp_path / "rec")
    inputs = resolve_inputs(data, "01", "eval")
    outlines = read_outlines(inputs.scored)
    assert outlines.how == "marker TRA masks joined to 01_ST/SEG"
    expected, _ = read_outlined_ctc(data, "01", list(inputs.scored.frames), read_images=False)
    assert outlines.labels is not None and np.array_equal(outlines.labels, expected.labels)
    _, first = next(iter_frames(inputs.scored, images=False))
    fit = fidelity.fit_reference(inputs, first.shape)
    seen: list[np.ndarray] = []

    def recording(labels: Iterable[np.ndarray], seed: int) -> Iterator[np.ndarray]:
        for frame in labels:
            seen.append(frame.copy())
            yield (frame > 0).astype(np.float32)

    rows, _ = fidelity.run_fidelity(inputs, fit, {"binary": recording}, [0], progress=False, outlines=outlines)
    assert np.array_equal(np.stack(seen), expected.labels)
    cell_area = np.pi * RADIUS**2
    assert all((frame > 0).sum() > 3 * cell_area for frame in seen)  # whole cells: a marker is a 3 px disk
    assert rows[0]["PSNR_cells"] > 10  # the binary cells lie where the real cells are
    files = fidelity.fidelity_report(inputs, fit, rows, [0], "test", model="none", clip_len=2, candidate="binary", outlines=outlines)
    report = files["fidelity.md"].decode()
    assert "Masks rendered: the scored frames' full outlines, marker TRA masks joined to 01_ST/SEG." in report
    assert "outlines: marker TRA masks joined to 01_ST/SEG" in report


def test_reference_background_and_procedural_fit_use_whole_cells(tmp_path: Path) -> None:
    data = make_recording(tmp_path / "rec")
    inputs = resolve_inputs(data, "01", "eval")
    fit = fidelity.fit_reference(inputs, (96, 96))
    outlines, _ = outlines_and_markers()
    still_cell = outlines[0] == 12  # the cell that never moves: no train frame shows background there
    far = outlines.max(0) == 0
    # Real frames: background 40, cells 200 (images_of); the background must not carry the cells the markers miss.
    inside, outside = float(np.median(fit.background[still_cell])), float(np.median(fit.background[far]))
    assert abs(inside - outside) < 0.1, (inside, outside)
    # The recording's cells are flat discs on a flat background: fitted on whole cells, no halo, blur or background
    # texture; fitted on the markers, the cell pixels around them would read as a bright halo and a textured background.
    config = ProceduralRenderer.from_ctc(data, frames="train").config
    assert not config.rim and config.blur_sigma < 1 and config.background_sd < 0.01, config
    train = read_ctc(data, "01", frames="train")
    on_markers = estimate_config(fit_normalization(train.images)(train.images), train.labels)
    assert on_markers["rim"] and on_markers["background_sd"] > 0.05  # what the renderer used to be fitted on


def test_dense_masks_are_streamed_as_they_are(tmp_path: Path) -> None:
    from _benchdata import make_nuclei

    data = make_nuclei(tmp_path / "data")
    inputs = resolve_inputs(data, "01", "eval")
    outlines = read_outlines(inputs.scored)
    assert outlines.labels is None
    assert outlines.how.startswith("TRA masks used as they are")
