import math

import numpy as np
import pytest
from scipy import ndimage

import tganaug
from tganaug.lineage import track_problems
from tganaug.simulation.fit import video_statistics
from tganaug_plugins.simulators.colony import ColonySimulator
from tganaug_plugins.simulators.division import DivisionConfig, DivisionSimulator
from tganaug_plugins.simulators.random_walk import RandomWalkSimulator

NAMES = ("random-walk", "division", "colony")


@pytest.fixture(scope="module")
def videos():
    return {name: tganaug.get_simulator(name).simulate(frames=40, height=96, width=112, seed=3) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_labels_and_lineage_are_consistent(videos, name):
    video = videos[name]
    assert video.labels.shape == (40, 96, 112) and video.labels.dtype == np.uint16
    assert video.lineage.dtype == np.int64 and video.lineage.shape[1] == 4
    assert track_problems(video.labels, video.lineage) == []
    ids_in_video = np.unique(video.labels)
    assert set(ids_in_video[ids_in_video > 0].tolist()) == set(video.lineage[:, 0].tolist())
    assert video.meta["simulator"] == name and video.meta["seed"] == 3


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_bytes_other_seed_differs(videos, name):
    again = tganaug.get_simulator(name).simulate(frames=40, height=96, width=112, seed=3)
    assert again.labels.tobytes() == videos[name].labels.tobytes()
    assert again.lineage.tobytes() == videos[name].lineage.tobytes()
    other = tganaug.get_simulator(name).simulate(frames=40, height=96, width=112, seed=4)
    assert other.labels.tobytes() != videos[name].labels.tobytes()


def test_random_walk_moves_enters_and_leaves():
    video = RandomWalkSimulator(speed=3.0, persistence=0.8).simulate(frames=60, height=96, width=96, seed=0)
    lineage = video.lineage
    assert (lineage[:, 3] == 0).all()  # no divisions
    assert (lineage[:, 2] < 59).any(), "some cell should leave the field"
    assert (lineage[:, 1] > 0).any(), "some cell should enter the field"
    stats = video_statistics(video.labels, lineage)
    assert 1.5 < stats["speed_mean"] < 4.5
    assert stats["persistence"] > 0.3


def test_random_walk_cells_do_not_overlap_much():
    """Touching cells share a border; no cell is squeezed to a sliver (area stays near pi*r^2)."""
    video = RandomWalkSimulator(radius_mean=8.0, radius_sd=0.0, aspect_sd=0.0, jitter=0.0).simulate(20, 96, 96, seed=1)
    ids = video.lineage[:, 0]
    middle = video.labels[10]
    areas = ndimage.sum_labels(np.ones_like(middle), middle, ids)
    border = np.zeros_like(middle, dtype=bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    inside = [i for i, a in zip(ids, areas) if a > 0 and not (border & (middle == i)).any()]
    assert inside
    inner_areas = np.array([areas[list(ids).index(i)] for i in inside])
    assert np.all(inner_areas > 0.8 * math.pi * 64)


def test_division_lineage_and_geometry():
    video = DivisionSimulator(cycle_mean=10, cycle_sd=1).simulate(frames=40, height=128, width=128, seed=0)
    lineage = video.lineage
    parents, counts = np.unique(lineage[lineage[:, 3] > 0, 3], return_counts=True)
    assert len(parents) >= 5 and set(counts.tolist()) <= {1, 2} and (counts == 2).sum() >= 5
    rows = {int(r[0]): r for r in lineage}
    for parent in parents[counts == 2]:
        daughters = lineage[lineage[:, 3] == parent]
        parent_end = rows[int(parent)][2]
        assert (daughters[:, 1] == parent_end + 1).all()
        # daughters appear where the parent was
        parent_center = np.argwhere(video.labels[parent_end] == parent).mean(axis=0)
        for daughter in daughters[:, 0]:
            center = np.argwhere(video.labels[parent_end + 1] == daughter).mean(axis=0)
            assert np.hypot(*(center - parent_center)) < 20
    assert track_problems(video.labels, lineage) == []


def test_colony_reaches_high_density():
    video = ColonySimulator().simulate(frames=40, height=128, width=128, seed=0)
    coverage = (video.labels > 0).mean(axis=(1, 2))
    assert coverage[0] < 0.1 and coverage[-1] > 0.6
    last = video.labels[-1]
    # touching cells: many pixels whose right neighbour is a different cell
    touching = (last[:, :-1] > 0) & (last[:, 1:] > 0) & (last[:, :-1] != last[:, 1:])
    assert touching.sum() > 200
    assert track_problems(video.labels, video.lineage) == []


def test_bad_arguments():
    simulator = tganaug.get_simulator("division")
    with pytest.raises(ValueError, match="frames must be >= 1"):
        simulator.simulate(frames=0, height=64, width=64)
    with pytest.raises(ValueError, match="height and width must be >= 16"):
        simulator.simulate(frames=5, height=-64, width=64)
    with pytest.raises(TypeError, match="frames must be an integer"):
        simulator.simulate(frames=2.5, height=64, width=64)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        simulator.simulate(frames=5, height=64, width=64, seed=-1)
    with pytest.raises(ValueError, match=r"RandomWalkConfig.radius_mean must be in \(0, inf\), got -3"):
        tganaug.get_simulator("random-walk", radius_mean=-3)
    with pytest.raises(ValueError, match=r"unknown DivisionConfig parameter\(s\) \['radius'\]"):
        tganaug.get_simulator("division", radius=3)
    with pytest.raises(ValueError, match="persistence must be in"):
        tganaug.get_simulator("random-walk", persistence=1.0)
    with pytest.raises(TypeError, match="needs a DivisionConfig"):
        DivisionSimulator(config=object())


@pytest.mark.parametrize(
    ("simulator", "params", "message"),
    [
        ("division", {"cycle_mean": float("nan")}, r"DivisionConfig.cycle_mean must be a finite number, got nan"),
        ("division", {"cycle_mean": "20"}, r"DivisionConfig.cycle_mean must be a finite number, got '20'"),
        ("division", {"replenish": "False"}, r"DivisionConfig.replenish must be true or false, got 'False'"),
        ("division", {"n_cells": 2.0}, r"DivisionConfig.n_cells must be a finite integer, got 2.0"),
        ("random-walk", {"persistence": "0.5"}, r"RandomWalkConfig.persistence must be a finite number"),
        ("random-walk", {"relax_iterations": 1.5}, r"RandomWalkConfig.relax_iterations must be a finite integer"),
        ("colony", {"fill_fraction": "x"}, r"ColonyConfig.fill_fraction must be a finite number, got 'x'"),
        ("colony", {"target_coverage": 1.0}, r"ColonyConfig.target_coverage must be in \(0, 1\), got 1.0"),
    ],
)
def test_simulator_config_types_and_ranges_are_checked_by_name(simulator, params, message):
    """A wrong type or a NaN is refused naming the parameter, not run (NaN cycle: no divisions) or failed deep inside."""
    with pytest.raises(ValueError, match=message):
        tganaug.get_simulator(simulator, **params)


def test_from_ctc_matches_source_statistics(shared_data):
    source = tganaug.read_ctc(shared_data / "Fluo-N2DH-SIM+", frames="train", read_images=False)
    source_stats = video_statistics(source.labels, source.lineage)
    simulator = DivisionSimulator.from_ctc(shared_data / "Fluo-N2DH-SIM+", frames="train")
    assert DivisionSimulator.from_ctc(shared_data / "Fluo-N2DH-SIM+").config == simulator.config  # eval frames stay unseen by default
    assert isinstance(simulator.config, DivisionConfig)
    assert simulator.config.radius_mean == pytest.approx(math.sqrt(source_stats["area_mean"] / (0.75 * math.pi)))
    assert simulator.config.cycle_mean == pytest.approx(math.log(2) / source_stats["division_rate"])
    height, width = source.labels.shape[1:]
    video = simulator.simulate(frames=45, height=height, width=width, seed=0)
    stats = video_statistics(video.labels, video.lineage)
    assert stats["area_mean"] == pytest.approx(source_stats["area_mean"], rel=0.3)
    assert stats["cells_per_10k_px"] == pytest.approx(source_stats["cells_per_10k_px"], rel=0.35)
    assert stats["speed_mean"] == pytest.approx(source_stats["speed_mean"], rel=0.3)
    assert stats["division_rate"] == pytest.approx(source_stats["division_rate"], rel=0.5)


@pytest.mark.parametrize("name", NAMES)
def test_streaming_gives_the_same_video(videos, name):
    stream = tganaug.get_simulator(name).simulate_stream(frames=40, height=96, width=112, seed=3)
    with pytest.raises(RuntimeError, match="only after every frame"):
        _ = stream.lineage
    frames = np.stack(list(stream))
    np.testing.assert_array_equal(frames, videos[name].labels)
    np.testing.assert_array_equal(stream.lineage, videos[name].lineage)
    with pytest.raises(RuntimeError, match="can be iterated once"):
        list(stream)
    np.testing.assert_array_equal(stream.lineage, videos[name].lineage)  # kept


def _rasterise_per_cell(config, cells, height, width):
    """Reference for CellSimulation._rasterise: the straightforward per-cell loop it replaced."""
    best = np.full((height, width), np.inf)
    owner = np.full((height, width), -1, dtype=np.int64)
    visible_fraction = np.zeros(len(cells))
    for index in range(len(cells)):
        cy, cx = cells.center[index]
        a = cells.radius[index] * math.sqrt(cells.aspect[index]) * config.paint_scale
        b = cells.radius[index] / math.sqrt(cells.aspect[index]) * config.paint_scale
        reach = a * (1.0 + 3 * config.jitter) + 1.0
        y0, y1 = int(math.floor(cy - reach)), int(math.ceil(cy + reach)) + 1
        x0, x1 = int(math.floor(cx - reach)), int(math.ceil(cx + reach)) + 1
        rows, cols = np.arange(y0, y1), np.arange(x0, x1)
        dy, dx = (rows + 0.5 - cy)[:, None], (cols + 0.5 - cx)[None, :]
        cos, sin = math.cos(cells.angle[index]), math.sin(cells.angle[index])
        u = (dx * cos + dy * sin) / a
        v = (dy * cos - dx * sin) / b
        radius = np.hypot(u, v)
        unit = (u + 1j * v) / np.where(radius > 0, radius, 1.0)
        unit[radius == 0] = 1.0
        c = cells.coeffs[index]
        power = unit * unit
        series = (c[0, 0] - 1j * c[0, 1]) * power
        for mode in range(1, len(c)):
            power = power * unit
            series += (c[mode, 0] - 1j * c[mode, 1]) * power
        rho = radius / (1.0 + series.real)
        inside = rho <= 1.0
        mine = inside & ((rows >= 0) & (rows < height))[:, None] & ((cols >= 0) & (cols < width))[None, :]
        visible_fraction[index] = mine.sum() / max(int(inside.sum()), 1)
        py, px = np.nonzero(mine)
        values = rho[py, px]
        py, px = py + y0, px + x0
        closer = values < best[py, px]  # strictly: on a tie the lower index keeps the pixel
        best[py[closer], px[closer]] = values[closer]
        owner[py[closer], px[closer]] = index
    return owner, visible_fraction


@pytest.mark.parametrize("batch_pixels", [None, 60])
def test_vectorised_rasteriser_matches_per_cell_loop(monkeypatch, batch_pixels):
    """Bit-identical owner maps and visible fractions: frame edges, overlaps, exact ties, big jitter."""
    from tganaug.simulation import cells as cell_module

    if batch_pixels is not None:  # tiny batches: every box cut into bands, many batches to merge
        monkeypatch.setattr(cell_module, "_RASTER_BATCH_PIXELS", batch_pixels)
    rng = np.random.default_rng(0)
    for trial in range(24):
        height, width = (int(n) for n in rng.integers(16, 70, 2))
        jitter = (0.0, 0.06, 0.2, 0.45)[trial % 4]
        config = cell_module.CellSimConfig(jitter=jitter, paint_scale=(1.0, 1.15)[trial % 2])
        count = int(rng.integers(1, 30))
        cells = cell_module._Cells()
        cells.append(
            ids=np.zeros(count, dtype=np.int64),
            parent=np.zeros(count, dtype=np.int64),
            center=rng.uniform(-12, [height + 12, width + 12], (count, 2)),  # some cut by the frame edge
            velocity=np.zeros((count, 2)),
            radius=rng.uniform(0.3, 14.0, count),
            aspect=rng.uniform(1.0, 2.5, count),
            angle=rng.uniform(0, 2 * math.pi, count),
            coeffs=rng.normal(0.0, 1.5 * jitter / math.sqrt(6), (count, 3, 2)),  # may reach past the box, or rho < 0
            age=np.zeros(count),
            cycle=np.full(count, np.inf),
            birth_radius=np.ones(count),
        )
        cells.center[: count // 3] = np.round(cells.center[: count // 3]) + 0.5  # centre on a pixel centre: rho = 0
        cells.angle[: count // 5] = (0.0, math.pi / 2)[trial % 2]
        for _ in range(count // 4):  # exact copies of other cells: identical rho, the lower index must win
            source, target = rng.integers(0, count, 2)
            for name in ("center", "radius", "aspect", "angle", "coeffs"):
                getattr(cells, name)[target] = getattr(cells, name)[source]
        simulation = cell_module.CellSimulation(config)
        owner, visible = simulation._rasterise(cells, height, width)
        expected_owner, expected_visible = _rasterise_per_cell(config, cells, height, width)
        np.testing.assert_array_equal(owner, expected_owner)
        assert owner.dtype == expected_owner.dtype and visible.tobytes() == expected_visible.tobytes()


def test_cycles_keep_their_mean_and_founders_do_not_shrink():
    """A fractional cycle used to run as ceil(cycle) frames (division rate low), and founders were drawn at adult size
    at frame 0 and shrank to the size of their age at frame 1."""
    still = dict(cycle_sd=0, speed=0, radius_mean=3, radius_sd=0, replenish=False, n_cells=4, packing=1.0)
    video = tganaug.get_simulator("division", cycle_mean=4.5, **still).simulate(26, 128, 128, seed=0)
    parents = set(video.lineage[:, 3].tolist()) - {0}
    lifetimes = [end - start + 1 for track, start, end, parent in video.lineage.tolist() if parent and track in parents]
    assert len(lifetimes) > 30 and set(lifetimes) == {4, 5} and abs(np.mean(lifetimes) - 4.5) < 0.25
    ratios = []
    for seed in range(3):
        labels = tganaug.get_simulator("division").simulate(2, 256, 256, seed=seed).labels
        for track in np.unique(labels[0])[1:]:
            if (labels[1] == track).any():
                ratios.append((labels[1] == track).sum() / (labels[0] == track).sum())
    assert 0.97 < np.median(ratios) < 1.1  # growing a little, not shrinking by a fifth


def test_colony_fitted_to_real_data_takes_its_division_rate(shared_data):
    """The colony's default cycle_mean is 0 (chosen per video), which made from_ctc ignore the data's division rate:
    its fit on E. coli divided 2.2x too often and was 12x too dense."""
    from tganaug.simulation.fit import video_statistics

    path = shared_data / "PhC-Ecoli-vanVliet"
    real = tganaug.read_ctc(path, frames="train", read_images=False)
    wanted = video_statistics(real.labels, real.lineage)
    simulator = tganaug.get_simulator("colony").from_ctc(path)
    assert simulator.config.cycle_mean == pytest.approx(math.log(2) / wanted["division_rate"])
    stats = [video_statistics(v.labels, v.lineage) for v in (simulator.simulate(*real.labels.shape, seed=s) for s in (0, 1))]
    for key in ("cells_per_10k_px", "area_mean", "division_rate"):
        assert 0.7 < np.mean([s[key] for s in stats]) / wanted[key] < 1.5, key
