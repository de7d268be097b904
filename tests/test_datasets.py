"""Dataset API: synthetic, real CTC and mixed video items; transforms; collation; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.transforms import Compose, Lambdad, RandFlipd, RandRotate90d, RandSpatialCropd, SpatialPadd
from torch.utils.data import DataLoader

import tganaug
from tganaug.data import (
    CTCVideoDataset,
    MixedVideoDataset,
    SyntheticVideoDataset,
    SyntheticVideoStream,
    VideoTransformError,
    collate_videos,
)
from tganaug.data.cache import CacheMismatchError
from tganaug.data.seeding import video_seeds
from tganaug.data.tracks import restrict_lineage
from tganaug.lineage import validate_tracks
from tganaug.splits import split_frames

T, SIZE = 4, 32


def small(**kwargs) -> SyntheticVideoDataset:
    options = dict(simulator="division", generator="procedural", num_videos=6, frames=T, size=SIZE, seed=0)
    options.update(kwargs)
    return SyntheticVideoDataset(**options)


def test_item_format_and_values():
    dataset = small(simulator_config={"cells_per_10k_px": 20.0})
    item = dataset[2]
    assert set(item) == {"image", "label", "lineage", "meta"}
    assert item["image"].shape == (T, 1, SIZE, SIZE) and item["image"].dtype == torch.float32
    assert item["label"].shape == (T, SIZE, SIZE) and item["label"].dtype == torch.int64
    assert item["lineage"].ndim == 2 and item["lineage"].shape[1] == 4 and item["lineage"].dtype == torch.int64
    assert torch.isfinite(item["image"]).all() and item["image"].min() >= 0 and item["image"].max() <= 1
    # labels and lineage are exactly the simulator's output for this item's seed
    seeds = video_seeds(0, 2)
    expected = tganaug.get_simulator("division", cells_per_10k_px=20.0).simulate(T, SIZE, SIZE, seed=seeds.simulator)
    np.testing.assert_array_equal(item["label"].numpy(), expected.labels)
    np.testing.assert_array_equal(item["lineage"].numpy(), expected.lineage)
    assert item["label"].max() > 0
    meta = item["meta"]
    assert meta["source"] == "synthetic" and meta["index"] == 2 and meta["simulator_seed"] == seeds.simulator
    assert meta["simulator"]["name"] == "division" and meta["generator"]["name"] == "procedural"
    assert meta["frames"] == T and meta["size"] == [SIZE, SIZE]
    # the image is the generator's rendering of those labels with the item's generator seed
    rendered = tganaug.get_generator("procedural").generate(expected.labels, seed=seeds.generator)
    np.testing.assert_array_equal(item["image"][:, 0].numpy(), rendered)
    assert len(dataset) == 6 and isinstance(dataset[1:3], torch.utils.data.Subset)
    np.testing.assert_array_equal(dataset[-1]["image"], dataset[5]["image"])


def test_objects_instead_of_names():
    sim = tganaug.get_simulator("random-walk")
    gen = tganaug.get_generator("procedural", rim=True)
    dataset = SyntheticVideoDataset(sim, gen, num_videos=2, frames=T, size=(SIZE, 48))
    item = dataset[0]
    assert item["image"].shape == (T, 1, SIZE, 48)
    assert item["meta"]["generator"]["config"]["rim"] is True


def test_determinism_per_index_and_seed():
    a, b = small(), small()
    for i in (0, 3):
        x, y = a[i], b[i]
        assert torch.equal(x["image"], y["image"]) and torch.equal(x["label"], y["label"])
    assert not torch.equal(a[0]["image"], a[1]["image"])
    assert not torch.equal(a[0]["image"], small(seed=1)[0]["image"])


def test_distinct_videos_across_two_workers():
    dataset = small(num_videos=4)
    loader = DataLoader(dataset, batch_size=1, num_workers=2, collate_fn=collate_videos)
    batches = list(loader)
    images = [batch["image"][0] for batch in batches]
    assert [batch["meta"][0]["index"] for batch in batches] == [0, 1, 2, 3]
    for i, image in enumerate(images):
        assert torch.equal(image, dataset[i]["image"])  # workers make exactly the main-process items
    stream = SyntheticVideoStream("division", "procedural", frames=T, size=SIZE, seed=0, max_videos=4)
    streamed = list(DataLoader(stream, batch_size=None, num_workers=2))
    indices = sorted(item["meta"]["index"] for item in streamed)
    assert indices == [0, 1, 2, 3]  # each video once, none repeated across workers
    for item in streamed:
        assert torch.equal(item["image"], dataset[item["meta"]["index"]]["image"])
    stream.set_epoch(1)
    assert min(item["meta"]["index"] for item in stream) == 2**40  # a fresh block of videos


def _dihedral(array: np.ndarray, k: int, flip: bool) -> np.ndarray:
    out = np.rot90(array, k, axes=(-2, -1))
    return out[..., ::-1, :] if flip else out


def test_monai_transforms_move_every_frame_of_image_and_label_together():
    plain = small(simulator_config={"cells_per_10k_px": 20.0})
    transform = Compose(
        [RandFlipd(keys=["image", "label"], prob=0.5, spatial_axis=0), RandRotate90d(keys=["image", "label"], prob=0.9)]
    )
    augmented = small(simulator_config={"cells_per_10k_px": 20.0}, transform=transform)
    seen = set()
    for i in range(6):
        base, aug = plain[i], augmented[i]
        matches = [
            (k, flip)
            for k in range(4)
            for flip in (False, True)
            if np.array_equal(_dihedral(base["label"].numpy(), k, flip), aug["label"].numpy())
            and np.array_equal(_dihedral(base["image"][:, 0].numpy(), k, flip), aug["image"][:, 0].numpy())
        ]
        assert matches, f"item {i}: image and label frames were not moved by one common transform"
        seen.add(matches[0])
        torch.testing.assert_close(aug["lineage"], base["lineage"])
        assert aug["image"].dtype == torch.float32 and aug["label"].dtype == torch.int64
    assert len(seen) > 1  # the transform really is random across items
    again = small(simulator_config={"cells_per_10k_px": 20.0}, transform=transform)[3]
    assert torch.equal(again["image"], augmented[3]["image"])  # seeded per item
    epoch0 = [augmented[i]["label"] for i in range(6)]
    augmented.set_epoch(1)  # new augmentation draws, same videos
    assert any(not torch.equal(augmented[i]["label"], epoch0[i]) for i in range(6))


def test_random_crop_keeps_lineage_valid():
    crop = RandSpatialCropd(keys=["image", "label"], roi_size=(20, 20), random_size=False)
    dataset = small(size=48, frames=6, transform=crop, simulator_config={"cells_per_10k_px": 20.0})
    for i in range(3):
        item = dataset[i]
        assert item["image"].shape == (6, 1, 20, 20)
        validate_tracks(item["label"].numpy(), item["lineage"].numpy())


def test_restrict_lineage_splits_gaps_ctc_style():
    labels = np.zeros((5, 4, 4), dtype=np.int64)
    labels[[0, 1, 3], 0, 0] = 1  # leaves the crop in frame 2, comes back in frame 3, divides after it
    labels[4, 2, 2] = 2  # its daughter
    lineage = np.array([[1, 0, 3, 0], [2, 4, 4, 1], [3, 0, 4, 0]])  # 3 was cropped away entirely
    new_labels, new_lineage = restrict_lineage(labels, lineage)
    validate_tracks(new_labels, new_lineage)
    # the part after the gap is a new track (id 4) whose parent is the part before; the daughter follows it
    assert new_lineage.tolist() == [[1, 0, 1, 0], [2, 4, 4, 4], [4, 3, 3, 1]]
    assert new_labels[3, 0, 0] == 4 and new_labels[0, 0, 0] == 1


def test_transform_errors_are_clear():
    drop_frame = Lambdad(keys=["image", "label"], func=lambda x: x[1:])
    with pytest.raises(VideoTransformError, match="broke the image shape"):
        small(transform=drop_frame)[0]
    pad_image_only = SpatialPadd(keys=["image"], spatial_size=(40, 40))
    with pytest.raises(VideoTransformError, match="different shapes"):
        small(transform=pad_image_only)[0]
    smear = Lambdad(keys=["label"], func=lambda x: x * 0.5)
    with pytest.raises(VideoTransformError, match="mode='nearest'"):
        small(transform=smear, simulator_config={"cells_per_10k_px": 20.0})[0]
    with pytest.raises(TypeError, match="transform must be callable"):
        small(transform=3)


def test_bad_arguments():
    with pytest.raises(tganaug.UnknownPluginError, match="unknown generator 'nope'.*procedural"):
        small(generator="nope")
    with pytest.raises(tganaug.UnknownPluginError, match="unknown simulator 'nope'"):
        small(simulator="nope")
    for size in (0, -4, (32, 0)):
        with pytest.raises(ValueError, match="size must be positive"):
            small(size=size)
    with pytest.raises(ValueError, match="frames must be a positive integer, got 0"):
        small(frames=0)
    with pytest.raises(ValueError, match="num_videos must be a positive integer"):
        small(num_videos=0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        small(seed=-1)
    with pytest.raises(TypeError, match="generate"):
        small(generator=object())
    with pytest.raises(ValueError, match="generator_config is only used with a generator plugin name"):
        small(generator=tganaug.get_generator("procedural"), generator_config={"rim": True})
    with pytest.raises(IndexError):
        small()[6]
    with pytest.raises(IndexError, match="index 9 out of range for 6 videos"):
        small()[[0, 9]]  # at indexing, not when element 9 is read
    with pytest.raises(ValueError, match="num_items must be a positive integer, got 2.5"):
        MixedVideoDataset([small()], num_items=2.5)

    class Loud:
        name = "loud"

        def generate(self, labels, background=None, seed=None):
            return np.full(labels.shape, 2.0, dtype=np.float32)

    with pytest.raises(ValueError, match="generator 'loud' returned values .* outside \\[0, 1\\]"):
        small(generator=Loud())[0]


def test_one_sample_crop_is_unwrapped_and_several_are_refused():
    from monai.transforms import RandCropByPosNegLabeld

    def crop(samples):
        return RandCropByPosNegLabeld(keys=["image", "label"], label_key="label", spatial_size=(20, 20), num_samples=samples)

    item = small(size=48, transform=crop(1), simulator_config={"cells_per_10k_px": 20.0})[0]
    assert item["image"].shape == (T, 1, 20, 20) and item["label"].shape == (T, 20, 20)
    validate_tracks(item["label"].numpy(), item["lineage"].numpy())
    with pytest.raises(VideoTransformError, match="returned 2 samples"):
        small(size=48, transform=crop(2), simulator_config={"cells_per_10k_px": 20.0})[0]


def test_simulator_output_is_checked_naming_the_simulator():
    class Unlisted:
        name = "unlisted"

        def simulate(self, frames, height, width, seed=0):
            labels = np.zeros((frames, height, width), dtype=np.uint16)
            labels[:, 2:6, 2:6] = 7
            return tganaug.SimulatedVideo(labels, np.zeros((0, 4), dtype=np.int64))

    class WrongShape(Unlisted):
        name = "wrong-shape"

        def simulate(self, frames, height, width, seed=0):
            video = super().simulate(frames, height + 1, width, seed)
            return tganaug.SimulatedVideo(video.labels, np.array([[7, 0, frames - 1, 0]]))

    class NotAVideo(Unlisted):
        name = "not-a-video"

        def simulate(self, frames, height, width, seed=0):
            return {"labels": np.zeros((frames, height, width), dtype=np.uint16)}

    with pytest.raises(tganaug.LineageError, match="simulator 'unlisted': labels and lineage disagree: label 7 in frame 0 is not in the lineage"):
        small(simulator=Unlisted())[0]
    with pytest.raises(ValueError, match=rf"simulator 'wrong-shape' returned labels \({T}, 33, 32\), expected \({T}, 32, 32\)"):
        small(simulator=WrongShape())[0]
    with pytest.raises(TypeError, match="simulator 'not-a-video': simulate\\(\\) must return an object with .labels and .lineage, got dict"):
        small(simulator=NotAVideo())[0]


def test_background_outside_unit_range_is_refused():
    """A raw uint16 image passed as the background would render blank (all 1.0) frames."""
    with pytest.raises(ValueError, match=r"background 0 must be in \[0, 1\] \(output units\), got 40000\.\.40000"):
        small(background=np.full((SIZE, SIZE), 40000, np.uint16))
    with pytest.raises(ValueError, match=r"background must be in \[0, 1\]"):
        tganaug.get_generator("procedural").generate(np.zeros((2, 16, 16), np.uint16), background=np.full((16, 16), -0.5))


def test_collate_pads_lineage():
    dataset = small(simulator_config={"cells_per_10k_px": 20.0})
    items = [dataset[i] for i in range(3)]
    batch = collate_videos(items)
    lengths = [len(item["lineage"]) for item in items]
    assert batch["image"].shape == (3, T, 1, SIZE, SIZE) and batch["label"].shape == (3, T, SIZE, SIZE)
    assert batch["lineage"].shape == (3, max(lengths), 4)
    assert batch["lineage_length"].tolist() == lengths
    for b, n in enumerate(lengths):
        assert torch.equal(batch["lineage"][b, :n], items[b]["lineage"])
        assert (batch["lineage"][b, n:] == -1).all()
    assert [m["index"] for m in batch["meta"]] == [0, 1, 2]
    other = small(size=24)[0]
    with pytest.raises(ValueError, match="different image shapes"):
        collate_videos([items[0], other])
    with pytest.raises(ValueError, match="empty batch"):
        collate_videos([])
    tagged = {**items[1], "weight": torch.tensor(0.5)}
    for batch_items in ([tagged, items[0]], [items[0], tagged]):  # in either order
        with pytest.raises(ValueError, match="have no 'weight' key that the others have"):
            collate_videos(batch_items)
    assert collate_videos([tagged, {**items[0], "weight": torch.tensor(1.0)}])["weight"].tolist() == [0.5, 1.0]


def test_mixing_ratio_within_tolerance():
    real, synthetic = small(num_videos=3, seed=5), small(num_videos=5)
    mixed = MixedVideoDataset([real, synthetic], weights=[0.3, 0.7], num_items=4000, seed=1)
    sources = np.array([mixed.choice(i)[0] for i in range(4000)])
    # binomial sd = sqrt(0.21 / 4000) = 0.0072: 0.025 is 3.5 sd
    assert abs((sources == 0).mean() - 0.3) < 0.025
    inner = [mixed.choice(i)[1] for i in range(4000) if mixed.choice(i)[0] == 1]
    assert set(inner) == set(range(5))  # every synthetic video gets drawn
    item = mixed[7]
    k, j = mixed.choice(7)
    assert item["meta"]["mixed_source"] == k and torch.equal(item["image"], [real, synthetic][k][j]["image"])
    assert mixed.choice(7) == MixedVideoDataset([real, synthetic], [0.3, 0.7], 4000, seed=1).choice(7)
    with pytest.raises(ValueError, match="2 weights for 1 datasets"):
        MixedVideoDataset([real], weights=[0.5, 0.5])
    with pytest.raises(ValueError, match="non-negative"):
        MixedVideoDataset([real, synthetic], weights=[-1, 2])
    with pytest.raises(TypeError, match="map-style"):
        MixedVideoDataset([SyntheticVideoStream(frames=T, size=SIZE)])


def test_ctc_clips_honour_splits(shared_data):
    path = shared_data / "Fluo-N2DH-SIM+"
    train = CTCVideoDataset(path, split="train", clip_frames=5, stride=4, size=64, crop="center")
    eval_ = CTCVideoDataset(path, split="eval", clip_frames=5, stride=5)
    train_frames, eval_frames = set(split_frames(path, "train")), set(split_frames(path, "eval"))
    assert len(train) == (45 - 5) // 4 + 1 and len(eval_) == 4
    for dataset, allowed in ((train, train_frames), (eval_, eval_frames)):
        for i in (0, len(dataset) - 1):
            item = dataset[i]
            assert set(item["meta"]["frames"]) <= allowed and len(item["meta"]["frames"]) == 5
            assert item["image"].dtype == torch.float32 and 0 <= item["image"].min() and item["image"].max() <= 1
            validate_tracks(item["label"].numpy(), item["lineage"].numpy())
    # the clip's labels and lineage are the real annotation, cropped and renumbered from the clip start
    item = eval_[2]
    real = tganaug.read_ctc(path, frames=range(55, 60))
    np.testing.assert_array_equal(item["label"].numpy(), real.labels)
    np.testing.assert_array_equal(item["lineage"].numpy(), real.lineage)
    assert item["meta"]["frames"] == list(range(55, 60)) and item["image"].shape == (5, 1, 690, 628)
    assert train[1]["image"].shape == (5, 1, 64, 64)
    lazy = CTCVideoDataset(path, split="eval", clip_frames=5, stride=5, preload=False)
    assert torch.equal(lazy[2]["image"], item["image"]) and torch.equal(lazy[2]["lineage"], item["lineage"])


def test_ctc_errors(shared_data):
    with pytest.raises(ValueError, match="sequence 02 of Fluo-N2DH-GOWT1 is evaluation-only"):
        CTCVideoDataset(shared_data / "Fluo-N2DH-GOWT1", split="train", sequence="02")
    with pytest.raises(ValueError, match="sequence 01 of Fluo-N2DH-GOWT1 has no 'eval' frames"):
        CTCVideoDataset(shared_data / "Fluo-N2DH-GOWT1", split="eval")
    with pytest.raises(ValueError, match="clip_frames=30 exceeds the 20 frames of split 'eval' of sequence 01"):
        CTCVideoDataset(shared_data / "Fluo-N2DH-SIM+", split="eval", clip_frames=30)
    with pytest.raises(ValueError, match="clip_frames must be a positive integer"):
        CTCVideoDataset(shared_data / "Fluo-N2DH-SIM+", split="eval", clip_frames=0)
    with pytest.raises(ValueError, match="unknown split"):
        CTCVideoDataset(shared_data / "Fluo-N2DH-SIM+", split="test")


def test_ctc_outline_labels_of_a_marker_recording(tmp_path):
    from _marker_recording import RADIUS, make_recording, outlines_and_markers

    root = make_recording(tmp_path / "rec")
    outlines, markers = outlines_and_markers()
    by_outline = CTCVideoDataset(root, split="train", clip_frames=2, labels="outlines")
    by_marker = CTCVideoDataset(root, split="train", clip_frames=2)
    assert by_outline.outline_report.method == "joined" and by_marker.outline_report is None
    item, marker_item = by_outline[1], by_marker[1]
    assert item["meta"]["labels"] == "outlines" and marker_item["meta"]["labels"] == "tra"
    labels = item["label"].numpy()
    # every marked cell is its whole outline, under its marker's track id; the markers are the small disks
    for t in range(2):
        for track, outline_id in ((1, 10), (2, 11), (3, 12)):
            np.testing.assert_array_equal(labels[t] == track, outlines[1 + t] == outline_id)
        assert (marker_item["label"].numpy()[t] == 1).sum() < (labels[t] == 1).sum() / 10
    assert (labels[0] == 1).sum() > 0.9 * np.pi * RADIUS**2
    torch.testing.assert_close(item["image"], marker_item["image"])
    with pytest.raises(ValueError, match="labels='outlines' needs preload=True"):
        CTCVideoDataset(root, split="train", labels="outlines", preload=False)
    with pytest.raises(ValueError, match="labels must be one of"):
        CTCVideoDataset(root, split="train", labels="markers")


def test_mixed_real_and_synthetic_batch(shared_data):
    real = CTCVideoDataset(shared_data / "PhC-T98G-Usiigaci", split="train", clip_frames=T, size=SIZE, stride=8)
    mixed = MixedVideoDataset([real, small()], weights=[0.5, 0.5], num_items=8, seed=0)
    batch = next(iter(DataLoader(mixed, batch_size=8, collate_fn=collate_videos)))
    assert batch["image"].shape == (8, T, 1, SIZE, SIZE)
    assert {m["source"] for m in batch["meta"]} == {"ctc", "synthetic"}


def test_disk_cache_round_trip(tmp_path):
    first = small(cache_dir=tmp_path / "cache")
    item = first[1]
    assert (tmp_path / "cache" / "000001" / "01_GT" / "TRA" / "man_track.txt").is_file()
    again = small(cache_dir=tmp_path / "cache")[1]  # read back from disk
    assert torch.equal(again["image"], item["image"]) and torch.equal(again["label"], item["label"])
    assert torch.equal(again["lineage"], item["lineage"])
    with pytest.raises(CacheMismatchError, match="different 'generator'"):
        small(cache_dir=tmp_path / "cache", generator_config={"rim": True})[1]


class _TinyTGAN:
    """The tiny random tGAN as a dataset generator object (``generate`` and ``generate_batch``), counting batched calls."""

    name = "tiny-tgan"

    def __init__(self, batched: bool = True) -> None:
        from _tiny_tgan import tiny_tgan

        self.model = tiny_tgan()
        with torch.no_grad():  # non-zero noise scales (they start at zero): a video given another's noise would show
            for name, parameter in [*self.model.lowres.named_parameters(), *self.model.sr.named_parameters()]:
                if name.endswith("noise.weight"):
                    parameter.fill_(0.3)
        self.batch_sizes: list[int] = []
        if not batched:
            self.generate_batch = None  # type: ignore[assignment]

    def generate(self, labels, background=None, seed=None):
        return self.model.generate(labels, background=background, seed=seed)

    def generate_batch(self, labels, backgrounds, seeds):
        self.batch_sizes.append(len(labels))
        return self.model.generate_batch(labels, backgrounds, seeds)


def test_render_batch_renders_fixed_blocks_the_same_however_they_are_read():
    """``render_batch=3``: blocks 0-2, 3-5 rendered together; an item is the same bytes in any access order, through
    DataLoader workers and in a stream, and its ``render_batch=1`` rendering up to float rounding."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # DataLoader workers run one thread; convolutions round differently with more
    try:
        generator = _TinyTGAN()
        batched = small(generator=generator, num_videos=5, render_batch=3)
        order = [4, 0, 2, 4, 1, 3]
        items = {i: batched[i] for i in order}
        # one block is kept at a time, each item handed out once: 4 | 0 (2 kept) 2 | 4 again | 1 | 3
        assert generator.batch_sizes == [3] * 5
        assert items[0]["meta"]["render_batch"] == 3
        fresh = small(generator=_TinyTGAN(), num_videos=5, render_batch=3)
        plain = small(generator=_TinyTGAN(), num_videos=5)
        for i in range(5):
            in_order, reference = fresh[i], plain[i]
            assert torch.equal(items[i]["image"], in_order["image"])
            assert torch.equal(items[i]["label"], reference["label"]) and torch.equal(items[i]["lineage"], reference["lineage"])
            assert (items[i]["image"] - reference["image"]).abs().max() < 1e-5
            assert "render_batch" not in reference["meta"]
        assert min((items[i]["image"] - items[j]["image"]).abs().mean() for i in range(5) for j in range(i)) > 1e-3
        loader = DataLoader(small(generator=_TinyTGAN(), num_videos=5, render_batch=3), batch_size=3, num_workers=2, collate_fn=collate_videos)
        loaded = [image for batch in loader for image in batch["image"]]
        assert len(loaded) == 5 and all(torch.equal(image, items[i]["image"]) for i, image in enumerate(loaded))
        stream = SyntheticVideoStream("division", _TinyTGAN(), frames=T, size=SIZE, seed=0, start=1, max_videos=6, render_batch=3)
        streamed = list(DataLoader(stream, batch_size=None, num_workers=2))
        assert sorted(item["meta"]["index"] for item in streamed) == [1, 2, 3, 4, 5, 6]  # blocks 0 (from 1), 1, 2 (to 6)
        for item in streamed:
            if item["meta"]["index"] < 5:
                assert torch.equal(item["image"], items[item["meta"]["index"]]["image"])
        # a generator without generate_batch renders one video at a time: the render_batch=1 bytes
        unbatched = small(generator=_TinyTGAN(batched=False), num_videos=5, render_batch=3)
        assert torch.equal(unbatched[4]["image"], plain[4]["image"]) and torch.equal(unbatched[1]["image"], plain[1]["image"])
    finally:
        torch.set_num_threads(threads)
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match="render_batch must be a positive integer"):
            small(render_batch=bad)


def test_set_epoch_reaches_persistent_workers():
    """Workers keep their own copy of the dataset: the epoch must still reach them (it lives in shared memory)."""
    transform = Compose([RandFlipd(keys=["image", "label"], prob=0.5, spatial_axis=0), RandRotate90d(keys=["image", "label"], prob=0.9)])
    mixed = MixedVideoDataset([small(seed=1, transform=transform), small(seed=2)], weights=[0.5, 0.5], num_items=8, seed=0)

    def epoch_labels(loader, epoch):
        mixed.set_epoch(epoch)
        return [batch["label"] for batch in loader]

    in_process = DataLoader(mixed, batch_size=4, num_workers=0, collate_fn=collate_videos)
    persistent = DataLoader(mixed, batch_size=4, num_workers=2, persistent_workers=True, collate_fn=collate_videos)
    expected = [epoch_labels(in_process, epoch) for epoch in (0, 1)]
    assert any(not torch.equal(a, b) for a, b in zip(*expected))  # the epochs really differ
    for epoch in (0, 1):
        assert all(torch.equal(a, b) for a, b in zip(epoch_labels(persistent, epoch), expected[epoch]))


def test_cache_knows_the_background_and_names_a_corrupt_entry(tmp_path):
    dark = small(num_videos=1, background=np.full((SIZE, SIZE), 0.1), cache_dir=tmp_path / "cache")[0]
    with pytest.raises(CacheMismatchError, match="different 'background'"):
        small(num_videos=1, background=np.full((SIZE, SIZE), 0.5), cache_dir=tmp_path / "cache")[0]
    assert torch.equal(small(num_videos=1, background=np.full((SIZE, SIZE), 0.1), cache_dir=tmp_path / "cache")[0]["image"], dark["image"])
    (tmp_path / "cache" / "000000" / "meta.json").write_text('{"truncated": ')
    with pytest.raises(CacheMismatchError, match="000000/meta.json is corrupt"):
        small(num_videos=1, background=np.full((SIZE, SIZE), 0.1), cache_dir=tmp_path / "cache")[0]


def test_a_video_cached_meanwhile_by_another_process_is_kept(tmp_path, monkeypatch):
    """Two writers of one cache_dir: the second must neither crash nor swap the folder under a reader."""
    first = small(num_videos=1, cache_dir=tmp_path / "winner")[0]
    dataset = small(num_videos=1, cache_dir=tmp_path / "cache")
    real_render = dataset.factory._render

    def render_while_another_process_caches(index):
        import shutil

        shutil.copytree(tmp_path / "winner" / "000000", tmp_path / "cache" / "000000")  # it lands between check and write
        return real_render(index)

    monkeypatch.setattr(dataset.factory, "_render", render_while_another_process_caches)
    item = dataset[0]
    assert torch.equal(item["image"], first["image"])
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["000000"]  # no staging folder left behind


def test_copied_datasets_keep_a_shared_epoch_and_stray_cache_folders_are_replaced(tmp_path):
    import copy
    import pickle

    dataset = small(num_videos=2)
    for clone in (copy.deepcopy(dataset), pickle.loads(pickle.dumps(dataset))):
        assert clone._shared_epoch.is_shared()  # so that forked persistent workers see its set_epoch
        clone.set_epoch(3)
        assert clone.epoch == 3 and dataset.epoch == 0
    with pytest.raises(ValueError, match="epoch must be below 2\\*\\*62"):
        dataset.set_epoch(2**63)
    (tmp_path / "cache" / "000000").mkdir(parents=True)
    (tmp_path / "cache" / "000000" / "partial.tif").write_bytes(b"left by a crash")  # no meta.json: not an entry
    cached = small(num_videos=1, cache_dir=tmp_path / "cache")[0]
    assert torch.equal(cached["image"], small(num_videos=1)[0]["image"])
    assert (tmp_path / "cache" / "000000" / "meta.json").is_file() and not (tmp_path / "cache" / "000000" / "partial.tif").exists()
