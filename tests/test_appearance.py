import json

import numpy as np
import pytest
import tifffile

import tganaug
from tganaug import get_generator, get_simulator
from tganaug.appearance import (AppearanceConfig, AppearanceGenerator, appearance_stats, estimate_look, load_appearance,
                                with_appearance)
from tganaug.cli import main
from tganaug.data.normalize import fit_normalization


@pytest.fixture(scope="module")
def labels():
    return get_simulator("division").simulate(6, 96, 96, seed=2).labels.astype(np.uint16)


def _disks(shape=(128, 128), seed=0, radius=9, count=14):
    """(H, W) uint16 labels of non-overlapping disks."""
    rng = np.random.default_rng(seed)
    lab = np.zeros(shape, np.uint16)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    k = 0
    for _ in range(400):
        cy, cx = rng.integers(radius + 2, shape[0] - radius - 2), rng.integers(radius + 2, shape[1] - radius - 2)
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
        if not lab[np.pad(disk, 0)].any() and not lab[(yy - cy) ** 2 + (xx - cx) ** 2 <= (radius + 3) ** 2].any():
            k += 1
            lab[disk] = k
        if k == count:
            break
    return lab


def _reference(seed=5, background=0.3, cell=0.55, noise=0.06, blur=1.5, n=2):
    """Raw uint16 frames of a recording with a known look: background, cells, Gaussian noise, blur, offset 1000."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        lab = _disks(seed=seed + k)
        clean = ndimage.gaussian_filter(np.where(lab > 0, cell, background).astype(np.float32), blur)
        frames.append(1000 + 20000 * (clean + noise * rng.standard_normal(clean.shape)))
    return np.clip(np.stack(frames), 0, 65535).astype(np.uint16)


# ------------------------------------------------------------------ determinism, labels
def test_same_seed_same_bytes_other_seed_differs(labels):
    gen = with_appearance(get_generator("procedural"), appearance="random")
    a, b = gen.generate(labels, seed=7), gen.generate(labels, seed=7)
    assert a.dtype == np.float32 and a.shape == labels.shape and 0 <= a.min() and a.max() <= 1
    assert a.tobytes() == b.tobytes()
    c = gen.generate(labels, seed=8)
    assert np.abs(a - c).mean() > 0.01
    # the look is one draw per video: frames share it (background median stays put), only the noise differs
    streamed = np.stack(list(gen.iter_frames(iter(labels), seed=7)))
    assert streamed.tobytes() == a.tobytes()


def test_look_is_constant_over_frames_and_labels_untouched(labels):
    before = labels.copy()
    gen = with_appearance(get_generator("procedural"), appearance="random")
    video = gen.generate(labels, seed=3)
    assert np.array_equal(labels, before)
    medians = [np.median(frame[lab == 0]) for frame, lab in zip(video, labels)]
    assert np.ptp(medians) < 0.02


def test_random_draws_cover_the_ranges():
    config = AppearanceConfig(read_noise=[0.01, 0.02], photons=[100, 100], cell_level=0.5)
    looks = [config.draw(seed) for seed in range(50)]
    noise = np.array([look.read_noise for look in looks])
    assert 0.01 <= noise.min() and noise.max() <= 0.02 and np.ptp(noise) > 0.005
    assert all(look.photons == pytest.approx(100) and look.cell_level == 0.5 for look in looks)
    assert config.draw(3) == config.draw(3) and config.draw(3) != config.draw(4)


def test_dataset_option_keeps_labels_and_records_appearance():
    plain = tganaug.SyntheticVideoDataset(num_videos=2, frames=3, size=64, seed=1)
    styled = tganaug.SyntheticVideoDataset(num_videos=2, frames=3, size=64, seed=1, appearance="random")
    again = tganaug.SyntheticVideoDataset(num_videos=2, frames=3, size=64, seed=1, appearance="random")
    for k in range(2):
        assert np.array_equal(plain[k]["label"].numpy(), styled[k]["label"].numpy())
        assert np.array_equal(plain[k]["lineage"].numpy(), styled[k]["lineage"].numpy())
        assert np.array_equal(styled[k]["image"].numpy(), again[k]["image"].numpy())
        assert not np.array_equal(plain[k]["image"].numpy(), styled[k]["image"].numpy())
    assert styled[0]["meta"]["generator"]["config"]["appearance"]["photons"] == [30.0, 10000.0]


def test_generate_batch_follows_the_wrapped_generator(labels):
    class Batched:
        name = "batched"

        def generate(self, labels, background=None, seed=None):
            return np.where(labels > 0, 0.7, 0.2).astype(np.float32)

        def generate_batch(self, labels, backgrounds, seeds):
            return np.stack([self.generate(lab) for lab in labels])

    plain = with_appearance(get_generator("procedural"), appearance="random")
    assert getattr(plain, "generate_batch", None) is None
    batched = with_appearance(Batched(), appearance="random")
    out = batched.generate_batch([labels, labels], [None, None], [1, 2])
    assert out.shape == (2, *labels.shape)
    assert out[0].tobytes() == batched.generate(labels, seed=1).tobytes()
    assert with_appearance(Batched()) .__class__ is Batched  # nothing asked: the generator itself


def test_frames_are_independent_arrays(labels):
    """Work arrays are reused from frame to frame; the frames handed out never are."""
    gen = with_appearance(get_generator("procedural"), appearance="random")
    frames = list(gen.iter_frames(iter(labels), seed=7))
    assert not any(np.shares_memory(a, b) for a, b in zip(frames, frames[1:]))
    assert np.stack(frames).tobytes() == gen.generate(labels, seed=7).tobytes()


def test_fast_helpers_equal_the_scipy_operations_they_replace():
    from scipy import ndimage

    from tganaug.appearance import _dilate, _erode, _gaussian, _label_medians

    lab = _disks(shape=(70, 90), seed=3)
    mask = lab > 0
    for iterations in (1, 2, 3):
        assert np.array_equal(_erode(mask, iterations), ndimage.binary_erosion(mask, iterations=iterations))
        assert np.array_equal(_dilate(mask, iterations), ndimage.binary_dilation(mask, iterations=iterations))
    image = np.random.default_rng(3).random((70, 90)).astype(np.float32)
    for sigma in (0.01, 0.4, 1.0, 1.5, 20.0):  # 20: a radius of 80 px, more than the 70 rows (several reflections)
        assert np.abs(_gaussian(image, sigma) - ndimage.gaussian_filter(image, sigma)).max() < 1e-6
    present = np.unique(lab[mask])
    assert np.array_equal(_label_medians(image[mask], lab[mask].astype(np.intp), present), ndimage.median(image, lab, present))


# ------------------------------------------------------------------ reference look
def test_estimate_look_recovers_a_known_look():
    frames = _reference(background=0.3, cell=0.55, noise=0.05, blur=1.5)
    look = estimate_look(frames)
    norm = fit_normalization(frames)
    to_units = lambda v: (1000 + 20000 * v - norm.offset) / norm.scale  # noqa: E731
    assert look.background_level == pytest.approx(to_units(0.3), abs=0.03)
    assert look.cell_level == pytest.approx(to_units(0.55), abs=0.03)
    total_noise = np.sqrt(look.read_noise**2 + (look.background_level / look.photons if look.photons else 0))
    assert total_noise == pytest.approx(0.05 * 20000 / norm.scale, rel=0.25)
    assert look.blur_sigma == pytest.approx(1.5, abs=0.8)


def test_reference_moves_the_look_toward_it():
    frames = _reference(background=0.3, cell=0.55, noise=0.06, blur=1.5)
    lab = np.stack([_disks(seed=40 + k) for k in range(3)])
    real = fit_normalization(frames)(_reference(seed=40, background=0.3, cell=0.55, noise=0.06, blur=1.5, n=3))
    target = appearance_stats(real, lab, normalise=False)
    generator = get_generator("procedural")  # default look: background 0.15, cells 0.6, noise 0.02
    before = appearance_stats(generator.generate(lab, seed=1), lab, normalise=False)
    after = appearance_stats(with_appearance(generator, reference=frames).generate(lab, seed=1), lab, normalise=False)
    for key, tolerance in (("background", 0.03), ("cells", 0.05), ("noise", 0.3 * target["noise"]), ("cnr", 0.3 * target["cnr"])):
        assert abs(after[key] - target[key]) <= tolerance, (key, after[key], target[key])
        assert abs(after[key] - target[key]) < abs(before[key] - target[key]), key


def test_reference_on_real_frames_brings_noise_and_contrast_near(shared_data):
    from tganaug.io import read_ctc

    real = read_ctc(shared_data / "Fluo-N2DH-SIM+", "01", frames=range(0, 3))
    images = real.images[:, 200:360, 200:360]
    lab = real.labels[:, 200:360, 200:360].astype(np.uint16)
    target = appearance_stats(fit_normalization(images[0])(images), lab, normalise=False)
    generator = get_generator("procedural")
    before = appearance_stats(generator.generate(lab, seed=0), lab, normalise=False)
    after = appearance_stats(with_appearance(generator, reference=images[0]).generate(lab, seed=0), lab, normalise=False)
    assert abs(after["noise"] - target["noise"]) < min(0.35 * target["noise"], abs(before["noise"] - target["noise"]))
    assert abs(np.log(after["cnr"] / target["cnr"])) < abs(np.log(before["cnr"] / target["cnr"]))
    assert abs(after["background"] - target["background"]) < 0.04


@pytest.mark.parametrize("frames, message", [
    (np.zeros((2, 2, 64, 64)), "one \\(H, W\\) frame or \\(N, H, W\\)"),
    (np.zeros(64), "one \\(H, W\\) frame or \\(N, H, W\\)"),
    (np.zeros((0, 64, 64)), "empty"),
    ([], "empty list"),
    (np.full((64, 64), 7.0), "frame 0 is constant"),
    (np.ones((16, 16)), "too small"),
    (np.where(np.eye(64) > 0, np.nan, 1.0), "frame\\(s\\) \\[0\\] contain NaN or Inf"),
    (np.stack([np.random.default_rng(0).random((64, 64)), np.full((64, 64), np.inf)]), "\\[1\\] contain NaN or Inf"),
    ([np.ones((64, 64)), np.ones((40, 40))], "differ in size"),
    (np.array([["a"] * 40] * 40), "real-valued"),
])
def test_bad_references_are_refused(frames, message):
    with pytest.raises(ValueError, match=message):
        with_appearance(get_generator("procedural"), reference=frames)


def test_reference_without_objects_is_refused():
    flat = np.random.default_rng(0).normal(100, 1, (64, 64))
    with pytest.raises(ValueError, match="cannot separate bright objects|no bright objects"):
        estimate_look(flat)


# ------------------------------------------------------------------ bad appearance configs
@pytest.mark.parametrize("values, message", [
    ({"speckle": [0, 1]}, "unknown AppearanceConfig parameter\\(s\\) \\['speckle'\\]"),
    ({"read_noise": [0.05, 0.01]}, "read_noise range is reversed"),
    ({"read_noise": [-0.01, 0.01]}, "read_noise range \\[-0.01, 0.01\\] is negative"),
    ({"photons": [0, 10]}, "photons range .* values must be > 0"),
    ({"cell_level": [0.5, 1.5]}, "cell_level range .* out of bounds"),
    ({"gamma": [1, 2, 3]}, "gamma must be a range"),
    ({"blur_sigma": ["a", 1]}, "blur_sigma must hold finite numbers"),
])
def test_bad_appearance_values(values, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        load_appearance(values)
    path = tmp_path / "look.json"
    path.write_text(json.dumps(values))
    with pytest.raises(ValueError, match=f"appearance file {path}"):
        load_appearance(path)


def test_bad_appearance_files(tmp_path):
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_appearance(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        load_appearance(tmp_path / "list.json")
    with pytest.raises(FileNotFoundError, match="'random' or a JSON file"):
        load_appearance(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="not both"):
        AppearanceGenerator(get_generator("procedural"), appearance="random", reference=_reference())


# ------------------------------------------------------------------ library and CLI
def test_library_generate(labels):
    frames = _reference()
    video = tganaug.generate(labels, "procedural", seed=2, reference=frames)
    assert video.shape == labels.shape and video.dtype == np.float32
    assert video.tobytes() == tganaug.generate(labels, "procedural", seed=2, reference=frames).tobytes()


def test_cli_reference_and_appearance(tmp_path, capsys):
    ref = tmp_path / "ref.tif"
    tifffile.imwrite(ref, _reference(n=1)[0])
    args = ["generate", "--generator", "procedural", "--frames", "3", "--height", "64", "--width", "64", "--quiet"]
    assert main([*args, "--reference", str(ref), "--out", str(tmp_path / "a")]) == 0
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["reference"] == [str(ref.absolute())] and config["appearance"] is None
    record = json.loads((tmp_path / "a" / "generator.json").read_text())
    assert record["name"] == "procedural" and record["config"]["reference"]["frames"].startswith("sha256:")
    look = tmp_path / "look.json"
    look.write_text(json.dumps({"read_noise": [0.01, 0.02]}))
    assert main([*args, "--appearance", str(look), "--out", str(tmp_path / "b")]) == 0
    assert json.loads((tmp_path / "b" / "generator.json").read_text())["config"]["appearance"]["read_noise"] == [0.01, 0.02]
    look.write_text(json.dumps({"read_noise": [0.02, 0.01]}))
    assert main([*args, "--appearance", str(look), "--out", str(tmp_path / "c")]) != 0
    assert "read_noise range is reversed" in capsys.readouterr().err and not (tmp_path / "c").exists()
