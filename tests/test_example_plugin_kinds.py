"""The example third-party package's segmenter (``half-max``) and tracker (``max-overlap``), installed as a user would
install a plugin, through the public API and through ``tganaug track`` / ``tganaug score``."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tganaug
from tganaug.cli import main
from tganaug.tracking import score_dirs

PACKAGES = Path(__file__).parent / "plugin_packages"
DISTRIBUTION = "tganaug-example-plugin"


@pytest.fixture(scope="module")
def example_site(tmp_path_factory):
    """The example package installed into a private folder (as tests/test_plugins.py does)."""
    target = tmp_path_factory.mktemp("example-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(PACKAGES / "example")],
        check=True,
    )
    return target


@pytest.fixture
def installed(example_site, monkeypatch):
    """The example package importable and its entry points discovered, in this process only for this test."""
    monkeypatch.syspath_prepend(str(example_site))
    tganaug.default_registry.cache_clear()
    yield
    tganaug.default_registry.cache_clear()  # later tests rescan without it (sys.path is restored by monkeypatch)


def _disc(shape, center, radius):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - center[0]) ** 2 + (xx - center[1]) ** 2 <= radius**2


def disc_dataset(frames: int = 8, size: int = 48) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clean discs as a raw camera would store them (uint16, background ~500, cells ~2500): track 1 moves right,
    track 2 stays, track 3 divides after frame 3 into 4 and 5, which move apart. Returns images, labels, lineage."""
    labels = np.zeros((frames, size, size), dtype=np.uint16)
    split = 4
    for t in range(frames):
        frame = labels[t]
        frame[_disc(frame.shape, (12, 8 + t), 5)] = 1
        frame[_disc(frame.shape, (36, 36), 5)] = 2
        if t < split:
            frame[_disc(frame.shape, (36, 12), 5)] = 3
        else:
            step = t - split
            frame[_disc(frame.shape, (36 - 4 - step, 12), 3)] = 4
            frame[_disc(frame.shape, (36 + 4 + step, 12), 3)] = 5
    lineage = np.array([[1, 0, frames - 1, 0], [2, 0, frames - 1, 0], [3, 0, split - 1, 0],
                        [4, split, frames - 1, 3], [5, split, frames - 1, 3]])
    noise = np.random.default_rng(0).normal(0, 40, labels.shape)
    images = np.clip(np.where(labels > 0, 2500, 500) + noise, 0, 65535).astype(np.uint16)
    return images, labels, lineage


def test_example_segmenter_and_tracker_are_found_by_their_hook_names(installed):
    registry = tganaug.default_registry()
    segmenter = registry.info("segmenter", "half-max")
    tracker = registry.info("tracker", "max-overlap")
    assert (segmenter.distribution, tracker.distribution) == (DISTRIBUTION, DISTRIBUTION)
    assert segmenter.entry_point == "tganaug.segmenters: half-max = tganaug_example_plugin.segment"
    assert tracker.entry_point == "tganaug.trackers: max-overlap = tganaug_example_plugin.track"
    # the built-ins of the same kinds are still there
    assert {"threshold", "half-max"} <= set(registry.names("segmenter"))
    assert {"overlap", "max-overlap"} <= set(registry.names("tracker"))


def test_example_segmenter_finds_each_disc_in_raw_uint16_frames(installed):
    images, labels, _ = disc_dataset()
    segmenter = tganaug.get_segmenter("half-max", min_size=5)
    assert segmenter.config.to_dict() == {"threshold": None, "min_size": 5}
    segmented = segmenter.segment(images)
    assert segmented.dtype == np.uint16 and segmented.shape == labels.shape
    np.testing.assert_array_equal(segmented > 0, labels > 0)  # clean discs: every pixel right
    assert [len(np.unique(f)) - 1 for f in segmented] == [3, 3, 3, 3, 4, 4, 4, 4]
    # a fixed threshold is in the images' own units
    assert tganaug.get_segmenter("half-max", threshold=3000).segment(images).max() == 0


def test_example_tracker_links_untracked_labels_into_the_true_lineage(installed):
    _, labels, lineage = disc_dataset()
    # per-frame ids as a segmenter gives them: reversed in every frame, so nothing is consistent over time
    shuffled = np.zeros_like(labels)
    for t, frame in enumerate(labels):
        ids = np.unique(frame[frame > 0])
        for new, old in enumerate(ids[::-1], start=1):
            shuffled[t][frame == old] = new
    tracked, found = tganaug.get_tracker("max-overlap").track(shuffled)
    tganaug.validate_tracks(tracked, found)
    assert tracked.dtype == np.uint16
    # same tracks as the truth up to their ids: spans, parents and masks
    truth_of = {int(r): int(g) for r, g in zip(tracked[labels > 0], labels[labels > 0])}
    assert len(set(truth_of.values())) == len(truth_of) == 5
    mapped = {truth_of[i]: (s, e, truth_of.get(p, 0)) for i, s, e, p in found.tolist()}
    assert mapped == {i: (s, e, p) for i, s, e, p in lineage.tolist()}
    np.testing.assert_array_equal(tracked > 0, labels > 0)


def test_cli_tracks_with_the_example_segmenter_and_tracker_and_scores_perfectly(installed, tmp_path, monkeypatch, capsys):
    images, labels, lineage = disc_dataset()
    data = tganaug.write_ctc(tmp_path / "discs", labels, lineage, images)
    # segment() gets the raw frames as stored in the TIFFs (uint16 here), not normalised
    factory = tganaug.default_registry().info("segmenter", "half-max").factory
    seen = []
    original = factory.segment
    monkeypatch.setattr(factory, "segment", lambda self, images: seen.append(images.dtype) or original(self, images))

    out = tmp_path / "run"
    assert main(["track", str(data), "--segmenter", "half-max", "--tracker", "max-overlap", "--out", str(out)]) == 0
    assert seen == [np.dtype(np.uint16)]
    scores = score_dirs(out / "01_RES", data)
    assert scores["MOTA"] == 1.0 and scores["IDSW"] == 0
    assert scores["TRA"] == pytest.approx(1.0)

    # a window of frames: the result keeps the original frame numbers and scores against those GT frames
    capsys.readouterr()
    assert main(["track", str(data), "--segmenter", "half-max", "--segmenter-config", "min_size=5", "--tracker", "max-overlap",
                 "--frames", "2-7", "--out", str(tmp_path / "window")]) == 0
    assert sorted(p.name for p in (tmp_path / "window" / "01_RES").glob("mask*.tif"))[0] == "mask002.tif"
    capsys.readouterr()
    assert main(["score", str(tmp_path / "window" / "01_RES"), str(data), "--json"]) == 0
    window = json.loads(capsys.readouterr().out)
    assert window["MOTA"] == 1.0 and window["IDSW"] == 0
