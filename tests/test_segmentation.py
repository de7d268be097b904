
import numpy as np
import pytest
import torch
from _checkpoints import write_pickle_payload

import tganaug
from tganaug.data import SyntheticVideoDataset
from tganaug.segmentation import (
    SegmenterConfig,
    UNetSegmenter,
    build_network,
    instance_targets,
    probabilities_to_instances,
)
from tganaug.segmentation.model import CheckpointError
from tganaug.segmentation.train import train_segmenter

TINY = SegmenterConfig(features=(4, 4, 8, 8, 16, 4))


def test_instance_targets_mark_rims_between_touching_cells():
    labels = np.zeros((1, 8, 10), dtype=np.uint16)
    labels[0, 2:6, 1:5] = 1
    labels[0, 2:6, 5:9] = 2  # touching cell 1 along a vertical line
    targets = instance_targets(labels)[0]
    assert targets.dtype == np.int64 and targets.shape == (8, 10)
    assert (targets[labels[0] == 0] == 0).all()
    assert targets[3, 2] == 1 and targets[4, 6] == 1  # interiors
    assert targets[3, 4] == 2 and targets[3, 5] == 2  # both sides of the contact are boundary
    assert targets[2, 2] == 2  # top rim
    with pytest.raises(TypeError, match="integer instance ids"):
        instance_targets(labels.astype(float))


def test_watershed_splits_touching_cells():
    yy, xx = np.mgrid[:40, :60]
    interior = np.zeros((40, 60), np.float32)
    for cx in (20, 38):
        interior = np.maximum(interior, np.clip(1 - np.hypot(yy - 20, xx - cx) / 9, 0, 1))
    background = (np.minimum(np.hypot(yy - 20, xx - 20), np.hypot(yy - 20, xx - 38)) > 10).astype(np.float32)
    boundary = np.clip(1 - background - interior, 0, 1)
    instances = probabilities_to_instances(np.stack([background, interior, boundary]))
    assert instances.dtype == np.uint16 and set(np.unique(instances)) == {0, 1, 2}
    assert instances[20, 20] != instances[20, 38]
    assert instances[20, 5] == 0
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        probabilities_to_instances(np.zeros((2, 5, 5)))


def _dataset():
    return SyntheticVideoDataset(simulator="division", generator="procedural", num_videos=4, frames=2, size=(32, 32), seed=1)


def test_resume_equals_straight_run(tmp_path):
    straight = train_segmenter(_dataset(), tmp_path / "a", steps=4, batch_size=1, config=TINY, progress=False, checkpoint_every=2)
    # interrupted after 2 steps: run 2 steps of a 4-step schedule by stopping at the first checkpoint
    partial_dir = tmp_path / "b"
    train_segmenter(_dataset(), partial_dir, steps=4, batch_size=1, config=TINY, progress=False, checkpoint_every=2)
    state = torch.load(partial_dir / "training_state.pt", weights_only=True)
    assert state["step"] == 4
    # now a genuine resume: rewrite the state as of step 2 from a fresh run stopped there
    class Stop(Exception):
        pass

    calls = {"n": 0}
    dataset = _dataset()
    original = dataset.__getitem__

    def limited(index):
        calls["n"] += 1
        if calls["n"] > 2:  # batch_size 1: item 3 belongs to step 3 -> crash after the step-2 checkpoint
            raise Stop
        return original(index)

    dataset.__getitem__ = limited  # type: ignore[method-assign]
    crashed = tmp_path / "c"
    with pytest.raises(Stop):
        train_segmenter(_WrapIndex(dataset), crashed, steps=4, batch_size=1, config=TINY, progress=False, checkpoint_every=2)
    assert torch.load(crashed / "training_state.pt", weights_only=True)["step"] == 2
    resumed = train_segmenter(_dataset(), crashed, steps=4, batch_size=1, config=TINY, progress=False, checkpoint_every=2)
    a = torch.load(straight, weights_only=True)["state_dict"]
    b = torch.load(resumed, weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for other in ({"batch_size": 2}, {"learning_rate": 0.5}):  # a finished run is not "resumed" with other settings
        with pytest.raises(ValueError, match="another config, step count, seed, batch size or learning rate"):
            train_segmenter(_dataset(), crashed, steps=4, config=TINY, progress=False, **{"batch_size": 1, **other})


class _WrapIndex:
    """Forward len/getitem to an object whose __getitem__ was replaced on the instance."""

    def __init__(self, inner):
        self.inner = inner

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, index):
        return self.inner.__getitem__(index)


def test_checkpoint_round_trip_and_plugin(tmp_path):
    torch.manual_seed(0)
    network = build_network(TINY)
    path = tmp_path / "seg.pt"
    UNetSegmenter.save(path, TINY, network, {"note": "test"})
    assert (tmp_path / "seg.json").is_file()
    segmenter = tganaug.get_segmenter("unet", model=str(path), device="cpu")
    images = np.random.default_rng(0).integers(0, 255, (2, 20, 30)).astype(np.uint8)
    probabilities = segmenter.probabilities(images)
    assert probabilities.shape == (2, 3, 20, 30)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    with torch.no_grad():
        direct = torch.softmax(network.eval()(torch.zeros(1, 1, 32, 32)), 1)
    loaded = UNetSegmenter(path, device="cpu").network
    with torch.no_grad():
        np.testing.assert_allclose(torch.softmax(loaded(torch.zeros(1, 1, 32, 32)), 1), direct, atol=1e-6)
    labels = segmenter.segment(images)
    assert labels.shape == (2, 20, 30) and labels.dtype == np.uint16
    assert segmenter.meta == {"note": "test"}


def test_bad_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="neither a shipped name"):
        UNetSegmenter(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot load segmenter checkpoint"):
        UNetSegmenter(corrupt)
    evil = write_pickle_payload(tmp_path)
    with pytest.raises(CheckpointError, match="cannot load segmenter checkpoint"):
        UNetSegmenter(evil)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="not a tganaug segmenter checkpoint"):
        UNetSegmenter(other)
    mismatched = tmp_path / "mismatch.pt"
    UNetSegmenter.save(mismatched, TINY, build_network(SegmenterConfig(features=(4, 4, 8, 8, 16, 8))), {})
    with pytest.raises(CheckpointError, match="weights do not match the segmenter network"):
        UNetSegmenter(mismatched)
    segmenter = UNetSegmenter(_saved(tmp_path))
    with pytest.raises(ValueError, match="non-empty"):
        segmenter.segment(np.zeros((0, 16, 16)))
    with pytest.raises(ValueError, match="finite"):
        segmenter.segment(np.full((1, 16, 16), np.nan))


def _saved(tmp_path):
    path = tmp_path / "ok.pt"
    UNetSegmenter.save(path, TINY, build_network(TINY), {})
    return path


def test_short_training_learns_to_segment(tmp_path):
    torch.manual_seed(0)
    dataset = SyntheticVideoDataset(simulator="random-walk", generator="procedural", num_videos=8, frames=2, size=(48, 48), seed=3,
                                    simulator_config={"radius_mean": 6.0})
    model = train_segmenter(dataset, tmp_path, steps=60, batch_size=2, config=SegmenterConfig(features=(8, 8, 16, 16, 32, 8)),
                            learning_rate=5e-3, progress=False)
    segmenter = UNetSegmenter(model, device="cpu")
    item = SyntheticVideoDataset(simulator="random-walk", generator="procedural", num_videos=1, frames=2, size=(48, 48), seed=99,
                                 simulator_config={"radius_mean": 6.0})[0]
    probabilities = segmenter.probabilities(item["image"].numpy()[:, 0])
    foreground = probabilities[:, 0] < 0.5
    truth = item["label"].numpy() > 0
    dice = 2 * (foreground & truth).sum() / (foreground.sum() + truth.sum())
    assert dice > 0.8, f"foreground Dice after 60 steps: {dice:.3f}"
