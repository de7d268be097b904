"""Opt-in reduced-precision tGAN inference (``precision="bfloat16"``); float32 stays the default.

Tolerances were measured on this CPU (Xeon, AMX): tiny random model, 3 frames 37x29, seeds 0-3: mean
|bf16 - fp32| 0.0005-0.0006, max 0.004; shipped fluo-nuclei model, 4 simulated frames at 64², seeds 0-3:
mean 0.0008-0.0014, max 0.007. The bounds below leave about 2-4x room.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from _tiny_tgan import tiny_tgan, two_box_masks

import tganaug
from tganaug.cli import main
from tganaug.data import SyntheticVideoDataset
from tganaug.data.seeding import video_seeds
from tganaug.io import read_ctc
from tganaug.models.tgan import PRECISIONS, TGAN

TINY_MEAN_TOL, TINY_MAX_TOL = 0.002, 0.02
SHIPPED_MEAN_TOL, SHIPPED_MAX_TOL = 0.003, 0.03


_UNSET = object()


def _tiny(precision: object = _UNSET, with_sr: bool = True) -> TGAN:
    return tiny_tgan(with_sr, **({} if precision is _UNSET else {"precision": precision}))


@pytest.fixture(scope="module")
def shipped() -> dict[str, object]:
    torch.set_num_threads(1)
    return {p: tganaug.get_generator("tgan", model="fluo-nuclei", precision=p) for p in ("float32", "bfloat16")}


def test_float32_is_the_default_and_unchanged() -> None:
    default, explicit = _tiny(), _tiny("float32")
    assert default.precision == "float32" and default.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in default.lowres.parameters())
    labels = two_box_masks()
    video = default.generate(labels, seed=5)
    assert video.tobytes() == explicit.generate(labels, seed=5).tobytes()
    assert video.tobytes() == _tiny("float32").generate(labels, seed=5).tobytes()


@pytest.mark.parametrize("with_sr", [True, False])
def test_bfloat16_output_contract_and_closeness(with_sr: bool) -> None:
    labels = two_box_masks()
    model = _tiny("bfloat16", with_sr)
    assert all(p.dtype == torch.bfloat16 for p in model.lowres.parameters())
    video = model.generate(labels, seed=5)
    assert video.dtype == np.float32 and video.shape == labels.shape
    assert np.isfinite(video).all() and video.min() >= 0.0 and video.max() <= 1.0 and video.std() > 0
    reference = _tiny("float32", with_sr).generate(labels, seed=5)
    diff = np.abs(video - reference)
    assert diff.mean() < TINY_MEAN_TOL and diff.max() < TINY_MAX_TOL
    assert not np.array_equal(video, reference)  # really computed in bfloat16


def test_bfloat16_same_seed_same_bytes() -> None:
    model, labels = _tiny("bfloat16"), two_box_masks()
    video = model.generate(labels, seed=7)
    assert video.tobytes() == model.generate(labels, seed=7).tobytes()
    assert video.tobytes() == _tiny("bfloat16").generate(labels, seed=7).tobytes()  # a fresh model too
    assert np.array_equal(np.stack(list(model.iter_frames(labels, seed=7))), video)
    assert not np.array_equal(video, model.generate(labels, seed=8))


@pytest.mark.parametrize("bad", ["fp8", "bf16", "FLOAT32", "", None, torch.bfloat16])
def test_unknown_precision_names_the_allowed_values(bad) -> None:
    with pytest.raises(ValueError, match="precision must be one of 'float32', 'bfloat16', 'float16'"):
        _tiny(bad)
    assert PRECISIONS == ("float32", "bfloat16", "float16")


def test_float16_is_refused_on_cpu_and_plugin_passes_errors_on() -> None:
    with pytest.raises(ValueError, match="'float16' is only supported on CUDA"):
        _tiny("float16")
    with pytest.raises(ValueError, match="precision must be one of"):
        tganaug.get_generator("tgan", precision="half")


def test_shipped_model_bfloat16_close_to_float32(shipped) -> None:
    labels = tganaug.get_simulator("division").simulate(4, 64, 64, seed=1).labels
    fp32 = shipped["float32"].generate(labels, seed=1)
    bf16 = shipped["bfloat16"].generate(labels, seed=1)
    assert bf16.dtype == np.float32 and np.isfinite(bf16).all() and 0.0 <= bf16.min() and bf16.max() <= 1.0
    diff = np.abs(bf16 - fp32)
    assert diff.mean() < SHIPPED_MEAN_TOL and diff.max() < SHIPPED_MAX_TOL and diff.max() > 0
    weights = shipped["bfloat16"].config.pop("weights_sha256")
    assert weights == shipped["float32"].config["weights_sha256"] and len(weights) == 64
    assert shipped["bfloat16"].config == {"model": "fluo-nuclei", "device": "cpu", "use_sr": True, "precision": "bfloat16",
                                          "background_default": "reference", "reference_rendering": "remnants removed, grain restored",
                                          "edge_margin": 32, "background_guard": 2}
    shipped["bfloat16"].config["weights_sha256"] = weights
    assert shipped["float32"].config["precision"] == "float32"


def test_precision_reaches_the_generator_through_generator_config(shipped) -> None:
    torch.set_num_threads(1)
    dataset = SyntheticVideoDataset("division", "tgan", num_videos=1, frames=3, size=64,
                                    generator_config={"model": "fluo-nuclei", "precision": "bfloat16"})
    assert dataset.factory.generator.model.dtype == torch.bfloat16
    item = dataset[0]
    generator_meta = item["meta"]["generator"]
    assert generator_meta == {"name": "tgan", "config": {"model": "fluo-nuclei", "device": "cpu", "use_sr": True, "precision": "bfloat16",
                                                        "background_default": "reference",
                                                        "reference_rendering": "remnants removed, grain restored", "edge_margin": 32,
                                                        "background_guard": 2,
                                                        "weights_sha256": shipped["bfloat16"].config["weights_sha256"]}}
    # the item is exactly the bf16 rendering of its labels with its seed
    expected = shipped["bfloat16"].generate(item["label"], seed=item["meta"]["generator_seed"])
    assert np.array_equal(item["image"][:, 0], expected)


def test_cli_precision_flag_and_generator_param_reach_the_generator(tmp_path, shipped) -> None:
    args = ["generate", "--generator", "tgan", "--model", "fluo-nuclei", "--frames", "3", "--height", "64", "--width", "64", "--quiet"]
    flag, param = tmp_path / "flag", tmp_path / "param"
    assert main([*args, "--precision", "bfloat16", "--out", str(flag)]) == 0
    assert main([*args, "--generator-param", "precision=bfloat16", "--out", str(param)]) == 0
    for out in (flag, param):
        config = json.loads((out / "config.json").read_text())
        assert config["generator_config"] == {"model": "fluo-nuclei", "precision": "bfloat16"}
    images = read_ctc(flag, sequence="01").images
    assert np.array_equal(images, read_ctc(param, sequence="01").images)
    labels = read_ctc(flag, sequence="01", read_images=False).labels
    seed = video_seeds(0, 0).generator
    for precision, same in (("bfloat16", True), ("float32", False)):
        rendered = (np.clip(shipped[precision].generate(labels, seed=seed), 0, 1) * 65535).round().astype(np.uint16)
        assert np.array_equal(images, rendered) is same


def test_cli_rejects_unknown_precision(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["generate", "--generator", "tgan", "--precision", "fp8", "--out", str(tmp_path / "x")])
    assert "invalid choice: 'fp8'" in capsys.readouterr().err
