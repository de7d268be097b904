"""Configuration of the tGAN networks, losses and training (one dataclass, saved as JSON).

Every size of every network comes from :class:`TGANConfig`. Three presets:

* ``tiny``: for tests; every forward pass takes milliseconds on a CPU.
* ``default``: trains on a 2-core CPU (widths 16-128, about 1.2 M generator parameters, 128x128
  low-resolution crops).
* ``paper``: the reference sizes of Zargari et al. 2024 (widths 64-1024, 128-d latent,
  256x384 low-res frames, RMSprop 1e-4, batch 2) for users with a GPU.

A config is saved as ``config.json`` beside every checkpoint; :meth:`TGANConfig.from_dict`
rejects unknown keys and wrong types with an error naming them.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tganaug.utils.config import ConfigMixin

#: how the SR decoder does its extra up-samplings (``sr_upsampling``; see :class:`~tganaug.models.style.StyleDecoder`)
UPSAMPLINGS = ("bilinear", "pixel_shuffle")
#: what the temporal-warp loss compares the generated warp residual with (training/losses.temporal_warp_loss)
TEMPORAL_TARGETS = ("still", "real")

__all__ = ["NETWORK_KEYS", "PRESETS", "TEMPORAL_TARGETS", "UPSAMPLINGS", "TGANConfig", "get_config", "load_config", "network_config_mismatch"]


@dataclass
class TGANConfig(ConfigMixin):
    """All sizes and hyper-parameters of tGAN (low-res generator, SR generator, D, FlowNet, training).

    ``to_dict``/``from_dict`` override :class:`ConfigMixin` to also turn tuples into JSON lists and
    to type-check every value.
    """

    name: str = "default"

    # --- data / normalisation -------------------------------------------------------------------
    #: low-resolution crop side used in low-res training (pixels of the low-res grid)
    crop_size: int = 128
    #: super-resolution factor: low-res grid = full-res frame downsampled by this (2 = one extra x2 block)
    sr_scale: int = 2
    #: number of current mask frames fed to the low-res generator (masks t-n+1 .. t)
    n_masks: int = 2
    #: per-video intensity percentiles mapped to 0 and 1 (network sees 2*x-1 in [-1, 1])
    norm_percentiles: tuple[float, float] = (1.0, 99.8)

    # --- low-resolution generator -----------------------------------------------------------------
    #: encoder widths, one per resolution level (level 0 = full low-res size); len-1 down-samplings
    g_channels: tuple[int, ...] = (16, 32, 64, 128)
    latent_dim: int = 64
    style_dim: int = 64
    mapping_layers: int = 3
    #: probability of style mixing (two latents, random crossover layer) during training
    style_mixing_prob: float = 0.5
    #: low-res output = reference background + decoder residual (see LowResGenerator); False in
    #: configs saved before the option existed, so their weights keep their meaning
    residual_background: bool = False

    # --- super-resolution generator ---------------------------------------------------------------
    sr_channels: tuple[int, ...] = (16, 32, 64)
    sr_crop_size: int = 128  # high-res crop side in SR training
    #: how the SR decoder reaches the output size: "bilinear" (extra blocks at the output size; configs
    #: saved before the option existed) or "pixel_shuffle" (sub-pixel output layer, cheaper; StyleDecoder)
    sr_upsampling: str = "bilinear"
    #: the SR stage also sees the full-resolution binary masks of the frame (folded onto the low-res grid
    #: with pixel_unshuffle: sr_scale**2 extra input channels), so cell outlines stay at the mask's
    #: pixels at any sr_scale; False in configs saved before the option existed (image-only SR, as in the paper)
    sr_mask_input: bool = False

    # --- discriminators -------------------------------------------------------------------------
    d_channels: int = 32
    d_layers: int = 3
    d_attention_heads: int = 2
    d_attention_dim_head: int = 16

    # --- FlowNet ---------------------------------------------------------------------------------
    flow_channels: tuple[int, ...] = (16, 32, 64)
    #: "shipped" (pre-trained weights in tganaug/weights when sizes match), a .pt path, or "none"
    flow_init: str = "shipped"
    flow_smoothness: float = 0.1
    #: weight of the supervised term on synthetically shifted real frames (known flow)
    flow_supervised: float = 1.0

    # --- perceptual feature network -------------------------------------------------------------
    #: "shipped" (small mask-predicting UNet encoder trained on the shared train frames),
    #: "vgg19:/path/to/vgg19.pth" (torchvision-format state dict), or "none"
    perceptual: str = "shipped"
    feature_channels: tuple[int, ...] = (16, 32, 64)

    # --- loss weights (paper: adv + 100 perc + 100 flow + 50 temporal; SR: adv + 50 perc + 25 L1) --
    w_adv: float = 1.0
    w_l1: float = 10.0
    w_perceptual: float = 10.0
    w_flow: float = 10.0
    w_temporal: float = 5.0
    #: what the temporal-warp loss compares the generated warp residual with (training/losses.temporal_warp_loss):
    #: "still" = zero (vid2vid; configs saved before the option) or "real" = the real frames' residual
    temporal_target: str = "still"
    #: weight of the structural term ``1 - SSIM(fake, real)`` on the low-res frames in [0, 1] (MONAI ``SSIMLoss``, 11 px
    #: Gaussian window, data range 1, as in the fidelity benchmark's SSIM); 0 (the default, and every shipped model) leaves it out
    w_ssim: float = 0.0
    sr_w_adv: float = 1.0
    sr_w_perceptual: float = 10.0
    sr_w_l1: float = 25.0
    #: when > 0, the SR content losses (L1 and perceptual) compare frames blurred by a Gaussian of this sigma
    #: (output pixels): they pin the content but hardly charge pixel noise, whose texture is left to the
    #: adversarial loss (both losses against a noisy target are smallest for a noise-free output, so at
    #: x4 the SR stage learned none); 0 = unblurred (configs saved before the option)
    sr_content_sigma: float = 0.0
    #: where the SR stage's training input comes from: "" = the real frame area-down-sampled by sr_scale
    #: (the paper; configs saved before the option), or the path of a trained low-res run (its folder or
    #: checkpoint.pt, same sr_scale) whose generator renders the input from the real masks t-n+1..t, the
    #: real frame t-1 and the reference background, one step: the SR stage then learns on what it gets
    #: at inference (generated low-res frames) instead of real ones
    sr_lowres_input: str = ""

    # --- optimisation ---------------------------------------------------------------------------
    optimizer: str = "adam"  # "adam" or "rmsprop" (paper)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    lr_flow: float = 1e-4
    batch_size: int = 2
    total_steps: int = 2000  # OneCycle length: the schedule ends exactly here
    onecycle_pct_start: float = 0.1
    max_clip_len: int = 10
    #: steps over which the clip length grows linearly 1 -> max_clip_len
    curriculum_steps: int = 1000
    #: probability that the first frame of a training clip gets the background as its previous frame
    #: (as at inference); otherwise the real previous frame
    p_first_from_background: float = 0.5
    detach_prev: bool = True
    #: False makes the per-frame baseline: the previous-frame input is always the reference
    #: background (no temporal information), in training and at inference
    use_previous_frame: bool = True
    p_video_aug: float = 0.2
    p_diff_aug: float = 0.2
    diff_aug_policy: tuple[str, ...] = ("brightness", "saturation", "contrast", "translation", "cutout")
    grad_clip: float = 10.0

    # --- logging --------------------------------------------------------------------------------
    log_every: int = 10
    sample_every: int = 200
    checkpoint_every: int = 200

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TGANConfig:
        """Build from a dict; unknown keys or wrong types raise ``ValueError`` naming them."""
        if not isinstance(data, dict):
            raise ValueError(f"config must be a JSON object, got {type(data).__name__}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown config key(s): {', '.join(unknown)}")
        defaults = cls()
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            expected = getattr(defaults, key)
            if isinstance(expected, tuple):
                if not isinstance(value, (list, tuple)):
                    raise ValueError(f"config key {key!r} must be a list, got {value!r}")
                value = tuple(value)
            elif isinstance(expected, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"config key {key!r} must be true/false, got {value!r}")
            elif isinstance(expected, float):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"config key {key!r} must be a number, got {value!r}")
                value = float(value)
            elif isinstance(expected, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"config key {key!r} must be an integer, got {value!r}")
            elif isinstance(expected, str) and not isinstance(value, str):
                raise ValueError(f"config key {key!r} must be a string, got {value!r}")
            kwargs[key] = value
        config = cls(**kwargs)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ``ValueError`` naming the key for a value of the wrong type, out of range or inconsistent."""
        self._validate_ranges()
        if self.sr_scale not in (1, 2, 4):
            raise ValueError(f"sr_scale must be 1, 2 or 4, got {self.sr_scale}")
        levels = len(self.g_channels)
        if levels < 2:
            raise ValueError("g_channels needs at least two levels")
        if self.crop_size % (2 ** (levels - 1)):
            raise ValueError(f"crop_size {self.crop_size} must be divisible by 2**{levels - 1}")
        if self.sr_crop_size % (self.sr_scale * 2 ** (len(self.sr_channels) - 1)):
            raise ValueError("sr_crop_size must be divisible by sr_scale * 2**(len(sr_channels)-1)")
        if self.n_masks < 1 or self.max_clip_len < 1 or self.batch_size < 1 or self.total_steps < 1:
            raise ValueError("n_masks, max_clip_len, batch_size and total_steps must be >= 1")
        if self.sr_upsampling not in UPSAMPLINGS:
            raise ValueError(f"sr_upsampling must be one of {', '.join(map(repr, UPSAMPLINGS))}, got {self.sr_upsampling!r}")
        weights = {name: getattr(self, name) for name in ("w_adv", "w_l1", "w_perceptual", "w_flow", "w_temporal", "w_ssim",
                                                           "sr_w_adv", "sr_w_perceptual", "sr_w_l1")}
        bad = {name: value for name, value in weights.items() if not (math.isfinite(value) and value >= 0)}
        if bad:
            raise ValueError(f"loss weights must be finite and >= 0, got {bad}")
        if self.sr_content_sigma < 0:
            raise ValueError(f"sr_content_sigma must be >= 0, got {self.sr_content_sigma}")
        if self.temporal_target not in TEMPORAL_TARGETS:
            raise ValueError(f"temporal_target must be one of {', '.join(map(repr, TEMPORAL_TARGETS))}, got {self.temporal_target!r}")
        if self.optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"optimizer must be 'adam' or 'rmsprop', got {self.optimizer!r}")
        unknown = set(self.diff_aug_policy) - {"brightness", "saturation", "contrast", "translation", "cutout"}
        if unknown:
            raise ValueError(f"unknown DiffAugment policy item(s): {sorted(unknown)}")

    def _validate_ranges(self) -> None:
        """Every number finite and in its range, every width a positive integer, the percentiles ordered."""
        def number(key: str, low: float, high: float = math.inf, *, integer: bool = False, low_open: bool = False) -> None:
            value = getattr(self, key)
            kinds = (int,) if integer else (int, float)
            if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
                raise ValueError(f"config key {key!r} must be a finite {'integer' if integer else 'number'}, got {value!r}")
            if value < low or (low_open and value == low) or value > high:
                bounds = f"{'>' if low_open else '>='} {low:g}" + (f" and <= {high:g}" if high < math.inf else "")
                raise ValueError(f"config key {key!r} must be {bounds}, got {value!r}")

        for key in ("crop_size", "sr_crop_size", "latent_dim", "style_dim", "mapping_layers", "d_channels", "d_layers",
                    "d_attention_heads", "d_attention_dim_head", "log_every", "sample_every", "checkpoint_every"):
            number(key, 1, integer=True)
        number("curriculum_steps", 0, integer=True)
        for key in ("style_mixing_prob", "p_first_from_background", "p_video_aug", "p_diff_aug"):
            number(key, 0, 1)
        number("onecycle_pct_start", 0, 1, low_open=True)
        for key in ("lr_g", "lr_d", "lr_flow"):
            number(key, 0, low_open=True)
        for key in ("grad_clip", "flow_smoothness", "flow_supervised"):  # grad_clip 0: no clipping
            number(key, 0)
        for key in ("g_channels", "sr_channels", "flow_channels", "feature_channels"):
            widths = getattr(self, key)
            if not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths):
                raise ValueError(f"config key {key!r} must list positive integer widths, got {list(widths)!r}")
        low_high = self.norm_percentiles
        if (len(low_high) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in low_high)
                or not 0 <= low_high[0] < low_high[1] <= 100):
            raise ValueError(f"config key 'norm_percentiles' must be two percentiles 0 <= low < high <= 100, got {list(low_high)!r}")

    def save(self, path: str | Path) -> None:
        """Write as indented JSON, atomically."""
        from tganaug.utils.fsutil import atomic_write_json

        atomic_write_json(path, self.to_dict())

    def replace(self, **changes: Any) -> TGANConfig:
        """A copy with some fields changed (validated)."""
        config = dataclasses.replace(self, **changes)
        config.validate()
        return config


PRESETS: dict[str, TGANConfig] = {
    "tiny": TGANConfig(
        name="tiny",
        crop_size=32,
        g_channels=(4, 8, 8),
        latent_dim=8,
        style_dim=8,
        mapping_layers=2,
        sr_channels=(4, 8),
        sr_crop_size=32,
        d_channels=4,
        d_layers=2,
        d_attention_heads=1,
        d_attention_dim_head=4,
        flow_channels=(4, 8, 8),
        flow_init="none",
        perceptual="none",
        feature_channels=(4, 8),
        total_steps=100,
        max_clip_len=3,
        curriculum_steps=4,
        log_every=1,
        sample_every=50,
        checkpoint_every=50,
    ),
    "default": TGANConfig(),
    "paper": TGANConfig(
        name="paper",
        crop_size=256,
        g_channels=(64, 128, 256, 512, 1024),
        latent_dim=128,
        style_dim=128,
        mapping_layers=8,
        style_mixing_prob=0.9,
        sr_channels=(64, 128, 256, 512),
        sr_crop_size=512,
        d_channels=64,
        d_layers=3,
        d_attention_heads=4,
        d_attention_dim_head=32,
        flow_channels=(32, 64, 128, 256),
        flow_init="none",
        w_l1=0.0,
        w_perceptual=100.0,
        w_flow=100.0,
        w_temporal=50.0,
        sr_w_perceptual=50.0,
        sr_w_l1=25.0,
        optimizer="rmsprop",
        lr_g=1e-4,
        lr_d=1e-4,
        lr_flow=1e-4,
        total_steps=100000,
        curriculum_steps=50000,
        p_video_aug=0.2,
        p_diff_aug=0.2,
        sample_every=1000,
        checkpoint_every=1000,
    ),
}

#: config keys that determine network shapes (or, ``residual_background``, what the output means), per network (used to name checkpoint mismatches)
NETWORK_KEYS: dict[str, tuple[str, ...]] = {
    "lowres": ("n_masks", "g_channels", "latent_dim", "style_dim", "mapping_layers", "residual_background"),
    "sr": ("sr_scale", "sr_channels", "latent_dim", "style_dim", "mapping_layers", "sr_upsampling", "sr_mask_input"),
    "discriminator": ("n_masks", "d_channels", "d_layers", "d_attention_heads", "d_attention_dim_head"),
    "flownet": ("flow_channels",),
}


def get_config(name_or_path: str | Path) -> TGANConfig:
    """A preset by name (``tiny``, ``default``, ``paper``) or a JSON file (missing keys take defaults)."""
    key = str(name_or_path)
    if key in PRESETS:
        return dataclasses.replace(PRESETS[key])
    path = Path(key)
    if not path.is_file():
        raise FileNotFoundError(f"config {key!r} is neither a preset ({', '.join(PRESETS)}) nor a file")
    return load_config(path)


def load_config(path: str | Path) -> TGANConfig:
    """Read a config JSON file; raise ``ValueError`` naming the file when it is not valid."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read config {path}: {error}") from error
    try:
        return TGANConfig.from_dict(data)
    except (TypeError, ValueError) as error:
        raise ValueError(f"invalid config {path}: {error}") from error


def network_config_mismatch(saved: TGANConfig, current: TGANConfig, network: str) -> list[str]:
    """Names and values of the shape-defining keys of ``network`` that differ between two configs."""
    diffs = []
    for key in NETWORK_KEYS[network]:
        a, b = getattr(saved, key), getattr(current, key)
        if a != b:
            diffs.append(f"{key}: checkpoint {list(a) if isinstance(a, tuple) else a!r} != config {list(b) if isinstance(b, tuple) else b!r}")
    return diffs


