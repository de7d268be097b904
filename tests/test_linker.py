"""The learned linker (``linker`` tracker): features, training, linking, checkpoints and errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from _checkpoints import write_pickle_payload
from _tracking_cases import disc_video
from skimage.draw import disk

import tganaug
from tganaug.lineage import validate_tracks
from tganaug.tracking.linker import (
    DAUGHTER,
    FEATURES,
    LinkerCheckpointError,
    LinkerConfig,
    load_linker,
    pair_features,
    save_linker,
    train_linker,
    training_examples,
)
from tganaug.tracking.metrics import score_tracking

COLUMN = {name: index for index, name in enumerate(FEATURES)}


def _discs(size: int, discs: list[tuple[int, int, int, int]]) -> np.ndarray:
    """``(size, size) uint16`` frame of discs ``(row, col, radius, label)``."""
    frame = np.zeros((size, size), np.uint16)
    for row, col, radius, label in discs:
        rr, cc = disk((row, col), radius, shape=frame.shape)
        frame[rr, cc] = label
    return frame


def _simulated(seeds: range) -> list[tganaug.SimulatedVideo]:
    simulator = tganaug.get_simulator("division", cycle_mean=8)
    return [simulator.simulate(frames=12, height=96, width=96, seed=s) for s in seeds]


@pytest.fixture(scope="module")
def sim_linker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A linker trained on three simulated division videos (300 steps, a few seconds)."""
    torch.set_num_threads(1)
    return train_linker(_simulated(range(3)), tmp_path_factory.mktemp("linker") / "sim.pt", steps=300, seed=0, progress=False)


def test_pair_features_on_hand_built_frames() -> None:
    # A (id 3) moves 4 px right, B (id 7) 4 px down; C (id 5) appears far away
    a = _discs(96, [(20, 20, 6, 3), (20, 40, 6, 7)])
    b = _discs(96, [(20, 24, 6, 1), (24, 40, 6, 2), (80, 80, 6, 5)])
    pairs = pair_features(a, b, 1, LinkerConfig(radius=4.0))
    ids_a, ids_b = np.array([3, 7]), np.array([1, 2, 5])
    found = {(int(ids_a[i]), int(ids_b[j])): row for i, j, row in zip(pairs.i, pairs.j, pairs.features)}
    # C is 14 typical radii from both: no candidate; A-B' (20.4 px) and B-A' (16 px) are within 4 radii
    assert set(found) == {(3, 1), (3, 2), (7, 1), (7, 2)}
    area = float((a == 3).sum())
    r = math.sqrt(area / math.pi)  # every disc has the same area
    inter = float(((a == 3) & (b == 1)).sum())
    row = found[(3, 1)]
    assert row[COLUMN["gap"]] == 0
    assert row[COLUMN["dx"]] == pytest.approx(4 / r, rel=1e-5) and row[COLUMN["dy"]] == pytest.approx(0, abs=1e-6)
    assert row[COLUMN["distance"]] == pytest.approx(4 / r, rel=1e-5)
    assert row[COLUMN["iou"]] == pytest.approx(inter / (2 * area - inter), rel=1e-5)
    assert row[COLUMN["overlap_i"]] == pytest.approx(inter / area, rel=1e-5)
    assert row[COLUMN["log_area_ratio"]] == pytest.approx(0, abs=1e-6)
    assert row[COLUMN["rank_i"]] == 0 and row[COLUMN["excess_i"]] == 0
    assert row[COLUMN["has_sister"]] == 1 and row[COLUMN["candidates_i"]] == pytest.approx(2 / 6)
    cross = found[(3, 2)]  # A -> B': second nearest, disjoint, sister of A' in the division context
    assert cross[COLUMN["iou"]] == 0 and cross[COLUMN["rank_i"]] == 0.25
    assert cross[COLUMN["distance"]] == pytest.approx(math.hypot(4, 20) / r, rel=1e-5)
    assert cross[COLUMN["excess_i"]] == pytest.approx((math.hypot(4, 20) - 4) / r, rel=1e-5)
    assert cross[COLUMN["sister_log_area"]] == pytest.approx(math.log(2), abs=1e-5)  # (B' + A') / A
    # discs are round: elongation ~ 0
    assert abs(row[COLUMN["elongation_i"]]) < 0.05


def test_training_examples_label_continuations_and_daughters() -> None:
    # frame 0: mother 1 and cell 4; frame 1: daughters 2 and 3 of 1, cell 4 moved
    labels = np.stack([_discs(64, [(20, 20, 7, 1), (50, 50, 6, 4)]),
                       _discs(64, [(14, 20, 5, 2), (26, 20, 5, 3), (50, 53, 6, 4)])])
    lineage = np.array([[1, 0, 0, 0], [2, 1, 1, 1], [3, 1, 1, 1], [4, 0, 1, 0]])
    features, classes = training_examples(labels, lineage, LinkerConfig(max_gap=1))
    pairs = pair_features(labels[0], labels[1], 1, LinkerConfig(max_gap=1))
    named = {(int([1, 4][i]), int([2, 3, 4][j])): int(c) for i, j, c in zip(pairs.i, pairs.j, classes)}
    assert features.shape == (len(classes), len(FEATURES))
    assert named[(1, 2)] == DAUGHTER and named[(1, 3)] == DAUGHTER and named[(4, 4)] == 1
    assert all(c == 0 for key, c in named.items() if key not in {(1, 2), (1, 3), (4, 4)})


def test_linker_trained_on_simulated_videos_tracks_a_new_one(sim_linker: Path) -> None:
    test = _simulated(range(10, 11))[0]
    tracker = tganaug.get_tracker("linker", model=str(sim_linker))
    tracked, lineage = tracker.track(test.labels)
    validate_tracks(tracked, lineage)
    scores = score_tracking(tracked, lineage, test.labels, test.lineage)
    assert scores["MOTA"] >= 0.98 and scores["TRA"] >= 0.98 and scores["IDSW"] == 0
    # divisions: mothers with two daughters, found as in the GT
    gt_divisions = int((np.unique(test.lineage[test.lineage[:, 3] > 0, 3], return_counts=True)[1] == 2).sum())
    divisions = int((np.unique(lineage[lineage[:, 3] > 0, 3], return_counts=True)[1] == 2).sum())
    assert gt_divisions >= 3 and gt_divisions - 1 <= divisions <= gt_divisions
    # and on a hand-made division it has never seen (discs)
    _, disc_lineage = tracker.track(disc_video(divide_at=4, split=5))
    parents, children = np.unique(disc_lineage[disc_lineage[:, 3] > 0, 3], return_counts=True)
    assert children.tolist() == [2]
    assert disc_lineage[disc_lineage[:, 0] == parents[0]][0, 1:3].tolist() == [0, 3]


def test_same_seed_same_weights_other_seed_other_weights(tmp_path: Path) -> None:
    videos = _simulated(range(1))
    paths = [train_linker(videos, tmp_path / f"{name}.pt", steps=40, seed=seed, progress=False)
             for name, seed in (("a", 3), ("b", 3), ("c", 4))]
    states = [load_linker(p)[1].state_dict() for p in paths]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])


def test_save_load_round_trip(sim_linker: Path, tmp_path: Path) -> None:
    config, network, meta = load_linker(sim_linker)
    assert config == LinkerConfig() and meta["steps"] == 300 and meta["videos"] == 3
    assert meta["examples"]["daughter"] > 0 and meta["train_recall"]["continuation"] > 0.95
    saved = save_linker(tmp_path / "run" / "linker.pt", config, network, meta)
    config2, network2, meta2 = load_linker(tmp_path / "run")  # a folder holding linker.pt
    assert config2 == config and meta2 == meta
    assert LinkerConfig.from_dict(json.loads(saved.with_suffix(".json").read_text())["config"]) == config
    x = torch.randn(5, len(FEATURES))
    with torch.no_grad():
        assert torch.equal(network(x), network2(x))
    assert not list((tmp_path / "run").glob(".*tmp-*"))  # atomic writes leave no staging files


def test_shipped_linkers_link_shuffled_discs() -> None:
    truth = disc_video(shuffle=False)
    for model in ("fluo-nuclei", "phase-contrast"):
        tracked, lineage = tganaug.get_tracker("linker", model=model).track(disc_video(shuffle=True))
        assert lineage.tolist() == [[1, 0, 7, 0], [2, 0, 7, 0], [3, 0, 7, 0]], model
        assert np.array_equal(tracked > 0, truth > 0)


def _foreign_checkpoint(tmp: Path) -> Path:
    torch.save({"weights": torch.zeros(3)}, tmp / "other.pt")
    return tmp / "other.pt"


def _mismatched_checkpoint(tmp: Path) -> Path:
    """Weights of a (16,) MLP saved under a config that says (32, 32)."""
    from tganaug.tracking.linker import CHECKPOINT_FORMAT, LinkerConfig, LinkerNet
    from tganaug.utils.weights import save_weights

    return save_weights(tmp / "mismatch.pt", CHECKPOINT_FORMAT, LinkerConfig().to_dict(), LinkerNet(LinkerConfig(hidden=(16,))), {})


def _bad_config_checkpoint(tmp: Path) -> Path:
    from tganaug.tracking.linker import CHECKPOINT_FORMAT, LinkerConfig, LinkerNet
    from tganaug.utils.weights import save_weights

    return save_weights(tmp / "badconfig.pt", CHECKPOINT_FORMAT, {**LinkerConfig().to_dict(), "max_gap": 7}, LinkerNet(LinkerConfig()), {})




@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: "no-such-linker", "neither a shipped name (fluo-nuclei, phase-contrast)"),
        (lambda tmp: (tmp / "bad.pt").write_bytes(b"not a torch file") and tmp / "bad.pt", "cannot load linker checkpoint"),
        (_foreign_checkpoint, "is not a tganaug linker checkpoint"),
        (write_pickle_payload, "cannot load linker checkpoint"),
        (_mismatched_checkpoint, "weights do not match the linker network"),
        (_bad_config_checkpoint, "its config does not fit the linker network: LinkerConfig.max_gap must be 1 or 2"),
    ],
    ids=["unknown-name", "corrupt-file", "foreign-checkpoint", "pickle-payload", "mismatched-weights", "bad-config"],
)
def test_bad_models_are_named(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(LinkerCheckpointError, match="linker") as raised:
        tganaug.get_tracker("linker", model=str(make(tmp_path)))
    assert message in str(raised.value)


def test_bad_videos_configs_and_training_data(tmp_path: Path) -> None:
    tracker = tganaug.get_tracker("linker")
    with pytest.raises(TypeError, match="integer dtype"):
        tracker.track(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"\(T, H, W\)"):
        tracker.track(np.zeros((8, 8), np.uint16))
    with pytest.raises(ValueError, match="empty video"):
        tracker.track(np.zeros((0, 8, 8), np.uint16))
    tracked, lineage = tracker.track(np.zeros((3, 8, 8), np.uint16))
    assert lineage.shape == (0, 4) and not tracked.any()
    with pytest.raises(ValueError, match="link_threshold must be in"):
        tganaug.get_tracker("linker", link_threshold=1.5)
    with pytest.raises(ValueError, match="unknown LinkerTrackerConfig parameter.*nope"):
        tganaug.get_tracker("linker", nope=1)
    still = np.zeros((1, 16, 16), np.uint16)  # one frame: no link to learn from
    still[0, 2:6, 2:6] = 1
    with pytest.raises(ValueError, match="no continuation link"):
        train_linker([(still, np.array([[1, 0, 0, 0]]))], tmp_path / "x.pt", steps=5, progress=False)
    assert not (tmp_path / "x.pt").exists()
