"""The ``procedural`` generator: contract, determinism, image model, streaming, fitting to real data."""

from __future__ import annotations

import numpy as np
import pytest

import tganaug
from tganaug.procedural import ProceduralConfig, ProceduralRenderer, estimate_config

FLAT = dict(background_sd=0.0, texture_sd=0.0, blur_sigma=0.0, noise_sd=0.0)


@pytest.fixture(scope="module")
def video():
    return tganaug.get_simulator("division").simulate(frames=6, height=64, width=64, seed=3)


def test_registered_and_contract(video):
    renderer = tganaug.get_generator("procedural", noise_sd=0.05)
    assert isinstance(renderer, ProceduralRenderer) and renderer.config.noise_sd == 0.05
    out = renderer.generate(video.labels, seed=1)
    assert out.shape == video.labels.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    assert out.std() > 0.01  # not a blank video


def test_deterministic_per_seed(video):
    renderer = ProceduralRenderer()
    a = renderer.generate(video.labels, seed=7)
    np.testing.assert_array_equal(a, renderer.generate(video.labels, seed=7))
    np.testing.assert_array_equal(renderer.generate(video.labels), renderer.generate(video.labels, seed=0))
    assert not np.array_equal(a, renderer.generate(video.labels, seed=8))


def test_cell_intensity_constant_over_track_and_background_exact(video):
    renderer = ProceduralRenderer(background_level=0.2, cell_mean=0.6, cell_sd=0.15, **FLAT)
    out = renderer.generate(video.labels, seed=2)
    labels = video.labels
    np.testing.assert_allclose(out[labels == 0], 0.2, atol=1e-6)
    per_track = {}
    for track_id in np.unique(labels[labels > 0]):
        values = out[labels == track_id]
        assert np.ptp(values) < 1e-6, f"track {track_id} changes intensity"  # one value over its whole life
        per_track[int(track_id)] = float(values[0])
    assert len(set(np.round(list(per_track.values()), 6))) == len(per_track)  # distinct cells look distinct
    # daughters of a division keep their own (different) identity intensity, all within [0, 1]
    assert all(0.0 <= v <= 1.0 for v in per_track.values())


def test_given_background_is_used(video):
    background = np.tile(np.linspace(0.1, 0.3, 64, dtype=np.float32), (64, 1))
    out = ProceduralRenderer(**FLAT).generate(video.labels, background=background, seed=0)
    np.testing.assert_allclose(out[0][video.labels[0] == 0], background[video.labels[0] == 0], atol=1e-6)
    with pytest.raises(ValueError, match="background has shape"):
        ProceduralRenderer().generate(video.labels, background=np.zeros((32, 64)))


def test_rim_brightens_the_outside_of_cells(video):
    labels = np.zeros((1, 48, 48), dtype=np.uint16)
    yy, xx = np.mgrid[:48, :48]
    labels[0][(yy - 24) ** 2 + (xx - 24) ** 2 < 100] = 1
    plain = ProceduralRenderer(**FLAT).generate(labels, seed=0)[0]
    halo = ProceduralRenderer(rim=True, rim_intensity=0.3, **FLAT).generate(labels, seed=0)[0]
    ring = (yy - 24) ** 2 + (xx - 24) ** 2
    just_outside = (ring >= 100) & (ring < 144)
    far = ring > 400
    assert halo[just_outside].mean() > plain[just_outside].mean() + 0.1
    np.testing.assert_allclose(halo[far], plain[far], atol=1e-3)


def test_streaming_matches_whole_video(video):
    renderer = ProceduralRenderer(rim=True)
    whole = renderer.generate(video.labels, seed=5)
    streamed = list(renderer.iter_frames((frame for frame in video.labels), seed=5))
    np.testing.assert_array_equal(np.stack(streamed), whole)
    state = renderer.start(64, 64, seed=5)
    np.testing.assert_array_equal(renderer.render_frame(state, video.labels[4], 4), whole[4])  # any frame alone


def test_bad_input_errors(video):
    renderer = ProceduralRenderer()
    with pytest.raises(ValueError, match=r"\(T, H, W\)"):
        renderer.generate(video.labels[0])
    with pytest.raises(ValueError, match="T = 0"):
        renderer.generate(np.zeros((0, 8, 8), dtype=np.uint16))
    with pytest.raises(TypeError, match="integer dtype"):
        renderer.generate(video.labels.astype(np.float32))
    with pytest.raises(ValueError, match="seed"):
        renderer.generate(video.labels, seed=-1)
    with pytest.raises(ValueError, match="0..65535"):
        renderer.generate(np.full((1, 8, 8), 70000, dtype=np.int64))
    with pytest.raises(ValueError, match="noise_sd must be >= 0"):
        ProceduralRenderer(noise_sd=-0.1)
    with pytest.raises(ValueError, match=r"unknown ProceduralConfig parameter\(s\) \['nois'\]"):
        ProceduralRenderer(nois=0.1)
    with pytest.raises(ValueError, match="cell_mean must lie in"):
        ProceduralConfig(cell_mean=1.5)


def test_estimate_recovers_known_parameters():
    sim = tganaug.get_simulator("division").simulate(frames=6, height=128, width=128, seed=11)
    truth = ProceduralRenderer(
        background_level=0.2, background_sd=0.0, cell_mean=0.55, cell_sd=0.08, texture_sd=0.0, blur_sigma=1.5, noise_sd=0.03
    )
    images = truth.generate(sim.labels, seed=4)
    est = estimate_config(images, sim.labels)
    assert est["blur_sigma"] == 1.5
    assert abs(est["noise_sd"] - 0.03) < 0.005
    assert abs(est["background_level"] - 0.2) < 0.01
    assert abs(est["cell_mean"] - 0.55) < 0.05  # blur pulls the edge pixels towards the background
    assert est["rim"] is False
    with_rim = ProceduralRenderer(**{**truth.config.to_dict(), "rim": True, "rim_intensity": 0.2}).generate(sim.labels, seed=4)
    est_rim = estimate_config(with_rim, sim.labels)
    assert est_rim["rim"] is True and abs(est_rim["rim_intensity"] - 0.2) < 0.06


def test_from_ctc_fits_real_data(shared_data):
    fluo = ProceduralRenderer.from_ctc(shared_data / "Fluo-N2DH-SIM+", frames="train", max_frames=3)
    cfg = fluo.config
    assert cfg.cell_mean > cfg.background_level + 0.1  # bright nuclei on a dark background
    assert 0.0 < cfg.noise_sd < 0.2 and cfg.rim is False
    phase = ProceduralRenderer.from_ctc(shared_data / "PhC-T98G-Usiigaci", frames="train", max_frames=3)
    assert phase.config.rim is True and phase.config.rim_intensity > 0.05  # phase-contrast halo found
    forced = ProceduralRenderer.from_ctc(shared_data / "PhC-T98G-Usiigaci", frames="train", max_frames=2, rim=False)
    assert forced.config.rim is False
    with pytest.raises(ValueError, match="sequence 02 of Fluo-N2DH-GOWT1 is evaluation-only"):
        ProceduralRenderer.from_ctc(shared_data / "Fluo-N2DH-GOWT1", frames="train", sequence="02")
