"""The ``trackastra`` tracker plugin: loading from disk only, a tiny model trained here, tracking, resuming."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from _tracking_cases import SHARED_DATA, division_gt, tracked_gt

import tganaug
from tganaug.tracking.checks import checked_tracking
from tganaug.tracking.metrics import mot_metrics
from tganaug.tracking.trackastra_model import (
    SHIPPED_TRACKASTRA,
    TrackastraCheckpointError,
    TrackastraModelConfig,
    TrackastraTracker,
    TrackastraTrainConfig,
    association_targets,
    load_trackastra,
    save_trackastra,
    shipped_path,
    train_trackastra,
)

TINY = TrackastraModelConfig(window=3, d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                             pos_embed_per_dim=8, spatial_pos_cutoff=64)


def _shuffled(labels: np.ndarray, seed: int = 1) -> np.ndarray:
    """The same objects with new, per-frame random ids (a detector's output: no identity over time)."""
    rng = np.random.default_rng(seed)
    out = np.zeros_like(labels)
    for t, frame in enumerate(labels):
        ids = np.unique(frame[frame > 0])
        for old, new in zip(ids, rng.permutation(len(ids)) + 1):
            out[t][frame == old] = new
    return out


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: these tiny networks run slower, not faster, with threads on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trackastra model trained in seconds on two hand-made videos (a division and three straight tracks);
    without augmentation it learns these very cases."""
    videos = [division_gt(frames=8, divide_at=4), tracked_gt(frames=6)]
    config = TrackastraTrainConfig(epochs=60, batch_size=2, learning_rate=3e-3, augment=False, seed=0)
    transformer, record = train_trackastra(videos, TINY, config)
    assert record["losses"][-1] < 0.05 * record["losses"][0]
    path = tmp_path_factory.mktemp("tiny") / "trackastra-tiny.pt"
    save_trackastra(path, TINY, transformer, {"test": True})
    return path


def test_association_targets_follow_the_lineage() -> None:
    # mother 1 (t0, t1) -> daughters 4, 5 (t2); 2 is unrelated
    labels = np.array([1, 2, 1, 2, 4, 5, 2])
    timepoints = np.array([0, 0, 1, 1, 2, 2, 2])
    lineage = np.array([[1, 0, 1, 0], [2, 0, 2, 0], [4, 2, 2, 1], [5, 2, 2, 1]])
    a = association_targets(labels, timepoints, lineage)
    assert a[0, 2] and a[2, 4] and a[2, 5] and a[0, 5]  # itself later, its daughters, a granddaughter-by-time
    assert not a[4, 5] and not a[0, 1] and not a[2, 6]  # sisters and unrelated cells are not associated
    assert (a == a.T).all() and a.diagonal().all()


def test_tiny_model_tracks_a_hand_made_division(tiny_model: Path) -> None:
    gt, lineage = division_gt(frames=8, divide_at=4)
    tracker = tganaug.get_tracker("trackastra", model=str(tiny_model))
    assert isinstance(tracker, TrackastraTracker)
    tracked, res_lineage = checked_tracking(tracker.track(_shuffled(gt)), "trackastra", gt.shape)
    scores = mot_metrics(gt, tracked)
    assert scores["IDSW"] == 0 and scores["MOTA"] == 1.0  # one id per GT track over all its frames
    # the model links the mother to both daughters: the result's lineage holds that division
    mother = int(np.unique(tracked[3][gt[3] == 1])[0])
    daughters = {int(np.unique(tracked[4][gt[4] == d])[0]) for d in (4, 5)}
    parents = {int(row[0]): int(row[3]) for row in res_lineage}
    assert len(daughters) == 2 and all(parents[d] == mother for d in daughters)
    # straight tracks without a division keep one id each
    straight, _ = tracked_gt(frames=6)
    again, again_lineage = checked_tracking(tracker.track(_shuffled(straight, seed=3)), "trackastra", straight.shape)
    assert mot_metrics(straight, again)["IDSW"] == 0 and len(again_lineage) == 3 and (again_lineage[:, 3] == 0).all()


def test_empty_and_one_frame_videos(tiny_model: Path) -> None:
    tracker = TrackastraTracker(model=str(tiny_model))
    tracked, lineage = tracker.track(np.zeros((4, 32, 32), np.uint16))
    assert tracked.max() == 0 and lineage.shape == (0, 4)
    one = np.zeros((1, 32, 32), np.uint16)
    one[0, 4:9, 4:9] = 7
    tracked, lineage = tracker.track(one)
    assert lineage.tolist() == [[int(tracked.max()), 0, 0, 0]]
    with pytest.raises(ValueError, match="differ in shape"):
        tracker.track(one, images=np.zeros((2, 32, 32)))


def test_missing_or_invalid_weights_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TrackastraCheckpointError, match=r"'nowhere/model\.pt' is neither a shipped name \(fluo-nuclei\)"):
        TrackastraTracker(model="nowhere/model.pt")
    folder = tmp_path / "half"
    folder.mkdir()
    (folder / "model.pt").write_bytes(b"")
    with pytest.raises(TrackastraCheckpointError, match="trackastra model folder"):  # no config.yaml
        load_trackastra(folder)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(TrackastraCheckpointError, match=r"cannot load trackastra checkpoint .*garbage\.pt"):
        load_trackastra(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"format": "something-else", "state_dict": {}}, foreign)
    with pytest.raises(TrackastraCheckpointError, match="is not a tganaug trackastra checkpoint"):
        load_trackastra(foreign)


class _Payload:
    """An arbitrary object: pickling it into a checkpoint must be refused by ``weights_only=True``."""


def test_pickled_objects_are_refused(tmp_path: Path, tiny_model: Path) -> None:
    transformer, _, _ = load_trackastra(tiny_model)
    folder = tmp_path / "pickled"
    transformer.save(folder)  # trackastra's own layout: model.pt + config.yaml
    torch.save({"state": _Payload()}, folder / "model.pt")
    with pytest.raises(TrackastraCheckpointError, match=r"cannot load .*model\.pt .*(Unpickl|weights_only)"):
        load_trackastra(folder)
    bad_yaml = tmp_path / "yaml"
    transformer.save(bad_yaml)
    (bad_yaml / "config.yaml").write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(TrackastraCheckpointError, match=r"cannot read .*config\.yaml"):
        load_trackastra(bad_yaml)


def test_trackastra_folder_layout_loads_the_same_weights(tmp_path: Path, tiny_model: Path) -> None:
    transformer, features, meta = load_trackastra(tiny_model)
    assert features == "wrfeat" and meta["input"] == "masks" and meta["test"] is True
    folder = tmp_path / "folder_model"
    transformer.save(folder)  # what trackastra writes (and what its pretrained zips unpack to)
    (folder / "train_config.yaml").write_text("features: wrfeat\n")
    loaded, features, _ = load_trackastra(folder)
    assert features == "wrfeat"
    for (name, a), (_, b) in zip(transformer.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    gt, _ = division_gt(frames=8, divide_at=4)
    from_file = TrackastraTracker(model=str(tiny_model)).track(gt)
    from_folder = TrackastraTracker(model=str(folder)).track(gt, images=(gt > 0).astype(np.float32))
    assert np.array_equal(from_file[0], from_folder[0]) and np.array_equal(from_file[1], from_folder[1])
    (folder / "train_config.yaml").write_text("features: pretrained_feats\n")
    with pytest.raises(TrackastraCheckpointError, match="features 'pretrained_feats' are not supported"):
        load_trackastra(folder)


def test_config_is_checked(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="mode must be greedy, greedy_nodiv or ilp"):
        TrackastraTracker(model=str(tiny_model), mode="fast")
    with pytest.raises(ValueError, match=r"unknown TrackastraTrackerConfig parameter\(s\) \['weights'\]"):
        TrackastraTracker(model=str(tiny_model), weights="x")
    with pytest.raises(ValueError, match="must be a positive multiple of nhead"):
        TrackastraModelConfig(d_model=10, nhead=4)


def test_training_resumes_where_it_stopped() -> None:
    videos = [tracked_gt(frames=5)]
    config = TrackastraTrainConfig(epochs=4, batch_size=2, seed=3)
    straight, _ = train_trackastra(videos, TINY, config)
    saved: list[dict] = []

    def keep(state: dict) -> None:  # what benchmarks/train_trackastra.py writes: through torch.save, weights_only
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        saved.append(torch.load(buffer, weights_only=True))

    train_trackastra(videos, TINY, TrackastraTrainConfig(epochs=4, batch_size=2, seed=3), checkpoint=keep, checkpoint_every=2)
    assert [s["epoch"] for s in saved] == [2, 4]
    resumed, record = train_trackastra(videos, TINY, config, state=saved[0])
    assert len(record["losses"]) == 4 and record["losses"][:2] == saved[0]["losses"]
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), name


@pytest.mark.skipif(not shipped_path().is_file(), reason="shipped trackastra weights not built")
def test_shipped_model_loads_offline_and_is_small() -> None:
    assert shipped_path().stat().st_size < 5_000_000
    tracker = TrackastraTracker()
    assert tracker.config.model == "fluo-nuclei" and tracker.meta["input"] == "masks"
    assert tracker.meta["frames"] == "t000-t044" and tracker.meta["sequence"] == "01"
    assert SHIPPED_TRACKASTRA == {"fluo-nuclei": "trackastra-fluo-nuclei.pt"}


@pytest.mark.slow
@pytest.mark.skipif(not shipped_path().is_file() or not SHARED_DATA.is_dir(), reason="needs shipped weights and shared data")
def test_shipped_model_links_sim_eval_frames() -> None:
    sequence = tganaug.read_ctc(SHARED_DATA / "Fluo-N2DH-SIM+", frames=range(45, 52), read_images=False)
    tracked, lineage = checked_tracking(TrackastraTracker().track(_shuffled(sequence.labels)), "trackastra",
                                        sequence.labels.shape)
    assert mot_metrics(sequence.labels, tracked)["MOTA"] > 0.95
