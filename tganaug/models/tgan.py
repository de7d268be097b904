"""tGAN inference: masks -> synthetic video, low-res video-to-video generator then super-resolution.

Input contract of :meth:`TGAN.generate`:

* ``masks``: ``(T, H, W)`` with ``T >= 1``; bool, integer instance labels (0 = background,
  ids kept by the caller for the annotation; they are binarised here as ``label > 0``), or float
  holding only 0 and 1. Anything else (NaN, non-binary floats, negative labels, other ndim,
  complex/object dtype) raises ``ValueError``/``TypeError``.
* Any ``H, W``: the frame is rendered inside a margin of ``edge_margin`` px on every side (default two
  units of ``sr_scale * 2**(levels-1)`` px: 32 px for ``sr_scale`` 2, 64 px for 4), masks and background
  mirrored into it, then padded at the bottom/right to a multiple of that unit; the output is cropped back
  to ``H, W``. The networks pad their convolutions with zeros (as in training) and shade a band along
  the canvas border (``phase-contrast``, empty masks on the flat background: the last 35 rows down to half
  the background level), which segmenters find as dark objects without a mask; the margin keeps that band
  outside the frame (``benchmarks/results/unlabelled_objects.md``). ``edge_margin=0`` renders as before
  the margin existed (masks zero-padded and the background replicated at the bottom/right only).
* ``background``: ``(H, W)`` float in [0, 1] (the output units; see :func:`background_from_video`),
  or ``None`` for the model's default (``background_default``, :data:`BACKGROUND_DEFAULTS`):
  ``"reference"`` (default) takes a seeded crop (random offset and flips; mirrored where the frame
  is larger) of one of the reference backgrounds saved with the model, i.e. estimated from its
  training videos (:func:`reference_crop`), with its cell-sized remnants removed first
  (:func:`tganaug.models.reference.remove_remnants`: the generator turns them into nuclei without
  a mask); ``"flat"``, or a model saved without any, a flat background at the median background
  level of the training data.
* Background guard (``background_guard``, default :data:`tganaug.models.guard.DEFAULT_GUARD_PX` = 2 px; ``0``:
  off, the frames of earlier versions): beyond twice that distance from every mask the frame's cell-scale
  structure is replaced by the reference background's (at the frame's own level, keeping its grain), so that no
  cell-like object appears without a mask (:mod:`tganaug.models.guard`); within it the frame is as rendered.
* The first frame has no previous frame: its previous-frame input is the reference background
  (cells "appear" on the empty background) and its missing earlier masks repeat mask 0. Every
  later frame gets the previous generated low-res frame.
* Output: ``(T, H, W) float32`` in [0, 1], where 0 and 1 are the 1st and 99.8th intensity
  percentiles of the training videos (``config.norm_percentiles``).
* Frames are generated one at a time (:meth:`TGAN.iter_frames` yields them), so working memory
  does not grow with ``T``.
* ``precision`` (:data:`PRECISIONS`): ``"float32"`` (default; the output every result is judged
  on) or, opt-in, ``"bfloat16"`` (faster on CPUs with AMX / avx512_bf16, numerically different:
  ``benchmarks/results/precision_check.md``); ``"float16"`` only on CUDA (not tested here). The
  output is float32 in [0, 1] either way; the same seed with the same precision gives the same bytes.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tganaug.models.background import background_from_video
from tganaug.models.checkpoint import CheckpointError, load_checkpoint, load_network_state, resolve_checkpoint
from tganaug.models.config import TGANConfig, network_config_mismatch
from tganaug.models.downsample import downsample_image, downsample_mask
from tganaug.models.guard import DEFAULT_GUARD_PX, guard_background
from tganaug.models.lowres_generator import LowResGenerator
from tganaug.models.sr_generator import SRGenerator
from tganaug.models.style import NoiseSource
from tganaug.utils import malloc
from tganaug.utils.device import check_device
from tganaug.utils.weights import resolve_weights

__all__ = ["BACKGROUND_DEFAULTS", "PRECISIONS", "SHIPPED_MODELS", "SIMULATOR_FILE", "TGAN", "fitted_simulator", "background_from_video", "check_background",
           "check_masks", "check_precision", "load_lowres_generator", "reference_crop", "resolve_model"]

#: shipped model name -> folder in ``tganaug/weights`` holding ``lowres/`` and ``sr/`` (see MODEL_CARD.md there)
SHIPPED_MODELS = {"fluo-nuclei": "tgan-fluo-nuclei", "phase-contrast": "tgan-phase-contrast", "fluo-nuclei-fast": "tgan-fluo-nuclei-fast",
                  "fluo-nuclei-x4": "tgan-fluo-nuclei-x4", "phase-contrast-u373": "tgan-phase-contrast-u373",
                  "phase-contrast-psc": "tgan-phase-contrast-psc", "dic-hela": "tgan-dic-hela",
                  "fluo-nuclei-hela": "tgan-fluo-nuclei-hela"}

#: inference precisions accepted by :class:`TGAN` (``precision=``); float32 is the default
PRECISIONS = ("float32", "bfloat16", "float16")

#: what :class:`TGAN` renders on when no background is given (``background_default=``); "reference" is the default
BACKGROUND_DEFAULTS = ("reference", "flat")


#: the file beside a model's ``lowres/`` and ``sr/`` naming the simulator fitted to its training data
#: (``{"simulator": NAME, "config": {...}}``, written by ``tganaug fit``): the model's default simulator config
SIMULATOR_FILE = "simulator.json"


def fitted_simulator(model: str | Path) -> dict | None:
    """The simulator fitted with a model (``{"simulator": NAME, "config": {...}}`` from :data:`SIMULATOR_FILE` in the
    model folder, the one holding ``lowres/``; a shipped name: its folder), or None when it has none (the shipped
    models not made by ``tganaug fit``, bare checkpoints). ``ValueError`` naming the file when it is not such a JSON object."""
    if str(model) in SHIPPED_MODELS:
        model = resolve_model(str(model))
    folder = Path(model) if Path(model).is_dir() else None
    if folder is None or not (folder / "lowres").is_dir() or not (folder / SIMULATOR_FILE).is_file():
        return None
    file = folder / SIMULATOR_FILE
    try:
        saved = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{file} is not valid JSON: {error}") from None
    if not (isinstance(saved, dict) and isinstance(saved.get("simulator"), str) and isinstance(saved.get("config"), dict)):
        raise ValueError(f'{file} must hold {{"simulator": NAME, "config": {{...}}}}')
    return {"simulator": saved["simulator"], "config": saved["config"]}


def check_precision(precision: object, device: torch.device) -> torch.dtype:
    """The torch dtype of an inference ``precision`` name; ``ValueError`` naming the allowed values."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(repr(p) for p in PRECISIONS)}, got {precision!r}")
    if precision == "float16" and device.type != "cuda":
        # measured on a Xeon with avx512_fp16 (torch 2.13 CPU, 256², 2 threads): 45.6 vs 31.8 ms per frame in float32
        raise ValueError(f"precision 'float16' is only supported on CUDA (on {device.type} it is slower than float32); "
                         "use 'bfloat16' or 'float32'")
    return getattr(torch, precision)


def resolve_model(model: str | Path) -> Path:
    """A shipped model name or a path -> the folder / checkpoint to load (error names both options)."""
    return resolve_weights(model, SHIPPED_MODELS, what="tGAN model", is_valid=Path.exists, expected="an existing path")


def reference_crop(background: np.ndarray, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``(height, width) float32`` view of a reference ``background (h, w)``: mirrored
    (``numpy.pad`` ``"symmetric"``, seamless) up to the frame size where it is smaller, then a crop at
    a random offset, flipped up-down and left-right each with probability 1/2, all drawn from ``rng``."""
    h, w = background.shape
    tiled = np.pad(background, ((0, max(0, height - h)), (0, max(0, width - w))), mode="symmetric")
    top = int(rng.integers(0, tiled.shape[0] - height + 1))
    left = int(rng.integers(0, tiled.shape[1] - width + 1))
    crop = tiled[top:top + height, left:left + width]
    flip_y, flip_x = rng.integers(0, 2, 2)
    return np.ascontiguousarray(crop[:: -1 if flip_y else 1, :: -1 if flip_x else 1], dtype=np.float32)


def check_masks(masks: object) -> np.ndarray:
    """Validate a ``(T, H, W)`` mask video and return it binarised as ``bool``."""
    if isinstance(masks, torch.Tensor):
        masks = masks.detach().cpu().numpy()
    if not isinstance(masks, np.ndarray):
        raise TypeError(f"masks must be a numpy array or torch tensor, got {type(masks).__name__}")
    if masks.ndim != 3:
        raise ValueError(f"masks must be (T, H, W), got {masks.ndim} dimension(s) with shape {masks.shape}")
    if masks.shape[0] == 0:
        raise ValueError("masks hold no frames (T = 0)")
    if masks.shape[1] == 0 or masks.shape[2] == 0:
        raise ValueError(f"masks have an empty frame size {masks.shape[1:]}")
    if masks.dtype == bool:
        return masks
    if np.issubdtype(masks.dtype, np.integer):
        if np.issubdtype(masks.dtype, np.signedinteger) and masks.min() < 0:
            raise ValueError("integer masks must be >= 0 (0 = background, >0 = cell id)")
        return masks > 0
    if np.issubdtype(masks.dtype, np.floating):
        if np.isnan(masks).any():
            raise ValueError("masks contain NaN")
        if not np.isin(masks, (0.0, 1.0)).all():
            raise ValueError("float masks must be binary (only 0 and 1); pass instance labels as an integer array")
        return masks > 0.5
    raise TypeError(f"masks must be bool, integer or 0/1 float, got dtype {masks.dtype}")


def _iter_mask_frames(masks: object) -> Iterator[np.ndarray]:
    """Binarised ``(H, W)`` frames of a mask video (array/tensor, checked whole) or of an iterable of frames."""
    if isinstance(masks, (np.ndarray, torch.Tensor)):
        yield from check_masks(masks)
        return
    if not hasattr(masks, "__iter__"):
        raise TypeError(f"masks must be a numpy array, torch tensor or iterable of frames, got {type(masks).__name__}")
    for t, frame in enumerate(masks):
        if not isinstance(frame, (np.ndarray, torch.Tensor)):
            raise TypeError(f"mask frame {t} must be a numpy array or torch tensor, got {type(frame).__name__}")
        if frame.ndim != 2:
            raise ValueError(f"mask frame {t} must be (H, W), got shape {tuple(frame.shape)}")
        yield check_masks(frame[None])[0]


def check_background(background: object, height: int, width: int) -> np.ndarray:
    """Validate a reference background ``(H, W)`` float in [0, 1]; returns float32."""
    if isinstance(background, torch.Tensor):
        background = background.detach().cpu().numpy()
    if not isinstance(background, np.ndarray):
        raise TypeError(f"background must be a numpy array or torch tensor, got {type(background).__name__}")
    if background.shape != (height, width):
        raise ValueError(f"background must be (H, W) = {(height, width)}, got shape {background.shape}")
    if not (np.issubdtype(background.dtype, np.floating) or np.issubdtype(background.dtype, np.integer)):
        raise TypeError(f"background must be a real array, got dtype {background.dtype}")
    background = background.astype(np.float32)
    if not np.isfinite(background).all():
        raise ValueError("background contains NaN or infinite values")
    if background.min() < 0 or background.max() > 1:
        raise ValueError("background must be in [0, 1] (output units; use background_from_video on a real video)")
    return background


class TGAN:
    """Two-stage tGAN generator for inference (see the module docstring for the input contract).

    Args:
        lowres: trained :class:`LowResGenerator`.
        config: the config it was trained with.
        sr: trained :class:`SRGenerator`, or ``None`` (bilinear up-sampling by ``sr_scale`` instead).
        default_background: flat background level in [0, 1] (median background of the training data).
        reference_backgrounds: ``(h, w)`` float arrays in [0, 1] estimated from the training videos
            (any size; kept as given in ``reference_backgrounds``); with ``background_default="reference"``
            a video given no background is rendered on a seeded crop (:func:`reference_crop`) of one of
            them with its cell-sized remnants removed (``rendered_reference``).
        background_default: ``"reference"`` (default; flat when there are no reference backgrounds)
            or ``"flat"`` (:data:`BACKGROUND_DEFAULTS`); unknown names raise ``ValueError``.
        device: torch device.
        precision: ``"float32"`` (default, unchanged output), ``"bfloat16"`` (opt-in, faster on
            CPUs with AMX / avx512_bf16, numerically different) or ``"float16"`` (CUDA only; on
            CPU it was slower than float32 and is refused). The networks are cast to it in place
            (``lowres`` and ``sr`` are modified); the output stays float32 in [0, 1]. Unknown
            names raise ``ValueError``.
        keep_freed_memory: opt-in: before rendering a video, ask glibc to keep freed memory for
            reuse (:func:`tganaug.utils.malloc.keep_freed_memory`; process-wide, output unchanged,
            fewer page faults: 0-20 % faster depending on the process's allocation history).
            ``tganaug generate`` applies it to its own process.
        edge_margin: px of mirrored masks and background rendered around the frame and cropped off (module
            docstring); ``None`` (default): two units (:attr:`unit`); ``0``: none (the bytes of earlier
            versions). A negative or non-integer value raises ``ValueError``.
        background_guard: px from a mask beyond which (blending out to twice that) the frame shows the reference
            background's structure (module docstring); ``None`` (default): ``DEFAULT_GUARD_PX``; ``0``: no guard.
            A negative or non-integer value raises ``ValueError``.
    """

    def __init__(
        self,
        lowres: LowResGenerator,
        config: TGANConfig,
        sr: SRGenerator | None = None,
        *,
        default_background: float = 0.1,
        reference_backgrounds: Sequence[np.ndarray] = (),
        background_default: str = "reference",
        device: str | torch.device = "cpu",
        precision: str = "float32",
        keep_freed_memory: bool = False,
        edge_margin: int | None = None,
        background_guard: int | None = None,
    ) -> None:
        if background_default not in BACKGROUND_DEFAULTS:
            raise ValueError(f"background_default must be one of {', '.join(map(repr, BACKGROUND_DEFAULTS))}, got {background_default!r}")
        self.config = config
        self.keep_freed_memory = bool(keep_freed_memory)
        self.device = check_device(device)
        # The weights are cast, not torch.autocast: shipped fluo-nuclei model, 256², Xeon with AMX, both in
        # the same processes, bfloat16 weights ran 1.37-1.41x (2 torch threads) / 1.21-1.37x (1 thread) faster
        # than float32, autocast only 1.06-1.13x / 1.02-1.05x (it converts the activations to bfloat16 and back
        # around every convolution). Later end-to-end runs gave 1.15x (benchmarks/results/precision_check.md):
        # float32 times on that VM varied by ~25 % between processes.
        self.dtype = check_precision(precision, self.device)
        self.precision = precision
        self.lowres = lowres.to(self.device, self.dtype).eval()
        self.sr = sr.to(self.device, self.dtype).eval() if sr is not None else None
        #: frame sides are padded to a multiple of this many px (``sr_scale`` x the networks' size divisor)
        self.unit = config.sr_scale * max(self.lowres.divisor, self.sr.divisor if self.sr is not None else 1)
        #: px of mirrored masks and background rendered around every frame and cropped off (see the module docstring)
        self.edge_margin = 2 * self.unit if edge_margin is None else int(edge_margin)
        for name, value in (("edge_margin", edge_margin), ("background_guard", background_guard)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0):
                raise ValueError(f"{name} must be None or an integer >= 0, got {value!r}")
        #: px from a mask beyond which the background guard acts (0: off; see the module docstring)
        self.background_guard = DEFAULT_GUARD_PX if background_guard is None else int(background_guard)
        self.default_background = float(default_background)
        self.reference_backgrounds = [_check_reference(bg, k) for k, bg in enumerate(reference_backgrounds)]
        self._rendered_references: dict[int, np.ndarray] = {}
        self.background_default = background_default
        #: the simulator fitted with the model (:func:`fitted_simulator`; set by :meth:`from_pretrained`), or None
        self.simulator_defaults: dict | None = None

    def rendered_reference(self, index: int) -> np.ndarray:
        """Reference background ``index`` as videos given no background are rendered on it: ``(h, w) float32`` in
        [0, 1], :func:`tganaug.models.reference.remove_remnants` of ``reference_backgrounds[index]`` (computed
        once, under a second for 700 x 700 px). Its remnants, halo ghosts of bright training cells a few
        hundredths of the range high, became nuclei without masks (``benchmarks/results/unlabelled_objects.md``)."""
        if index not in self._rendered_references:
            from tganaug.models.reference import reference_for_rendering

            self._rendered_references[index] = reference_for_rendering(self.reference_backgrounds[index])
        return self._rendered_references[index]

    def default_background_image(self, height: int, width: int, seed: int) -> np.ndarray:
        """The ``(height, width) float32`` background in [0, 1] a video of seed ``seed`` gets when none is given:
        a seeded :func:`reference_crop` of one of the reference backgrounds (:meth:`rendered_reference`), or flat
        (see ``background_default``)."""
        if self.background_default == "flat" or not self.reference_backgrounds:
            return np.full((height, width), self.default_background, np.float32)
        rng = np.random.default_rng([int(seed) % 2**64, _BACKGROUND_STREAM])  # torch seeds may be negative
        choice = self.rendered_reference(int(rng.integers(0, len(self.reference_backgrounds))))
        return reference_crop(choice, height, width, rng)

    @classmethod
    def from_pretrained(cls, path: str | Path, sr_path: str | Path | None = None, *, device: str | torch.device = "cpu",
                        precision: str = "float32", keep_freed_memory: bool = False, background_default: str = "reference",
                        edge_margin: int | None = None, background_guard: int | None = None) -> TGAN:
        """Load trained networks, for inference on ``device`` in ``precision`` (see :class:`TGAN`:
        ``"float32"`` default, ``"bfloat16"`` opt-in, ``"float16"`` CUDA only; ``keep_freed_memory``;
        ``background_default``; ``edge_margin``; ``background_guard``). The reference backgrounds are the low-res checkpoint's
        ``reference_backgrounds`` (training-video name -> ``(h, w)`` float16 tensor in [0, 1]), when present; the
        simulator fitted with the model (:data:`SIMULATOR_FILE` in the folder) becomes :attr:`simulator_defaults`.

        ``path`` is a folder holding ``lowres/`` (and optionally ``sr/``) run directories, a low-res
        run directory, or a low-res ``checkpoint.pt``; ``sr_path`` an SR run directory or checkpoint.
        Loads with ``torch.load(weights_only=True)``. A ``config.json`` beside a checkpoint that
        disagrees with the checkpoint, or weights that do not fit the network, raise
        :class:`~tganaug.models.checkpoint.CheckpointError` naming the mismatch.
        """
        path = Path(path)
        simulator_defaults = fitted_simulator(path)
        if path.is_dir() and (path / "lowres").is_dir():
            if sr_path is None and (path / "sr").is_dir():
                sr_path = path / "sr"
            path = path / "lowres"
        lowres, config, data = _load_lowres(path)
        sr = None
        if sr_path is not None:
            sr_data, sr_config = _load_generator_checkpoint(Path(sr_path), "sr")
            if sr_config.sr_scale != config.sr_scale:
                raise ValueError(f"SR model scale {sr_config.sr_scale} != low-res model's sr_scale {config.sr_scale}")
            sr = SRGenerator.from_config(sr_config)
            load_network_state(sr, sr_data["models"]["generator"], what=f"SR generator {sr_path}")
        references = data.get("reference_backgrounds", {})
        if not isinstance(references, dict) or not all(isinstance(v, torch.Tensor) for v in references.values()):
            raise CheckpointError(f"{path}: reference_backgrounds must map video names to tensors")
        try:
            backgrounds = [_check_reference(v.float().numpy(), name) for name, v in references.items()]
        except ValueError as error:
            raise CheckpointError(f"{path}: {error}") from error
        model = cls(lowres, config, sr, default_background=float(data.get("default_background", 0.1)), reference_backgrounds=backgrounds,
                    background_default=background_default, device=device, precision=precision, keep_freed_memory=keep_freed_memory,
                    edge_margin=edge_margin, background_guard=background_guard)
        model.simulator_defaults = simulator_defaults
        return model

    # ------------------------------------------------------------------------------------------
    def canvas(self, height: int, width: int, unit: int | None = None) -> tuple[int, int, int]:
        """How a ``height x width`` frame is rendered: ``(margin, bottom, right)``, the px added above and left of it
        (mirrored, :attr:`edge_margin`) and below and right of it (the margin and the padding to a multiple of
        ``unit``, default :attr:`unit`). ``ValueError`` when the frame is too small for the networks."""
        s = self.config.sr_scale
        padded_h, padded_w = height + (-height) % self.unit, width + (-width) % self.unit
        for divisor in (s * self.lowres.divisor, self.sr.divisor if self.sr is not None else 1):
            if padded_h // divisor * (padded_w // divisor) < 2:  # instance norm needs 2+ pixels at the deepest level (margin or not)
                raise ValueError(f"frames of {height} x {width} px are too small for this model: make one side longer than {self.unit} px")
        margin, unit = self.edge_margin, unit or self.unit
        return margin, margin + (-(height + 2 * margin)) % unit, margin + (-(width + 2 * margin)) % unit

    def _pad_frames(self, frames: np.ndarray, margin: int, bottom: int, right: int, *, masks: bool) -> np.ndarray:
        """``(..., H, W)`` frames on the rendering canvas: mirrored into the margin (``numpy.pad`` ``"symmetric"``),
        or without a margin as before it existed: masks zero-padded, images replicated at the bottom/right."""
        widths = [(0, 0)] * (frames.ndim - 2) + [(margin, bottom), (margin, right)]
        if not (margin or bottom or right):
            return frames
        if margin:
            return np.pad(frames, widths, mode="symmetric")
        return np.pad(frames, widths, mode="constant") if masks else np.pad(frames, widths, mode="edge")

    def _prepare(self, height: int, width: int, background: object | None, seed: int) -> tuple[np.ndarray, torch.Tensor]:
        """The reference background of a video: ``(H, W) float32`` in [0, 1] as given (or the default), and its low-res
        version ``(1, 1, h, w)`` on the rendering canvas (:meth:`canvas`) on the device."""
        margin, bottom, right = self.canvas(height, width)
        bg = self.default_background_image(height, width, seed) if background is None else check_background(background, height, width)
        bg_t = torch.from_numpy(np.ascontiguousarray(self._pad_frames(bg, margin, bottom, right, masks=False)))[None, None] * 2 - 1
        return np.asarray(bg, np.float32), downsample_image(bg_t, self.config.sr_scale).to(self.device, self.dtype)

    @torch.no_grad()
    def iter_frames(self, masks: object, background: object | None = None, seed: int | None = None, *, use_sr: bool = True) -> Iterator[np.ndarray]:
        """Yield the generated frames ``(H, W) float32`` in [0, 1] one at a time (same arguments as :meth:`generate`),
        computed in the model's ``precision``.

        ``masks`` may also be any iterable of ``(H, W)`` mask frames (e.g. a simulator stream): each
        frame is checked and consumed only when its image is generated, so memory does not grow with T.
        """
        frames = _iter_mask_frames(masks)
        first = next(frames, None)
        if first is None:
            raise ValueError("masks hold no frames (T = 0)")
        seed = _check_seed(seed) if seed is not None else int(torch.seed())
        for batch in self._iter_batch([itertools.chain([first], frames)], first.shape, [background], [seed], use_sr):
            yield batch[0]

    @torch.no_grad()
    def generate_batch(self, masks: Sequence[object], backgrounds: Sequence[object | None] | None = None, seeds: Sequence[int] | None = None,
                       *, use_sr: bool = True) -> np.ndarray:
        """Render ``B`` mask videos of one shape together, batched through the networks: ``(B, T, H, W) float32`` in [0, 1].

        ``masks``: ``B`` videos ``(T, H, W)`` as for :meth:`generate` (or one ``(B, T, H, W)`` array); ``backgrounds``:
        ``B`` backgrounds or ``None`` each (default: all ``None``); ``seeds``: ``B`` seeds (default ``0 .. B-1``).
        Video ``b`` draws its styles, noise and default background from its own seeded generator, in the order
        :meth:`generate` draws them, so it is ``generate(masks[b], backgrounds[b], seeds[b])`` up to float rounding:
        batched convolutions sum in another order (``tests/test_models.py`` bounds the difference). The same
        arguments give the same bytes. On CPU small models gain most (fewer, larger operations).
        """
        videos = [check_masks(m) for m in masks]
        if not videos:
            raise ValueError("generate_batch needs at least one video")
        if any(v.shape != videos[0].shape for v in videos):
            raise ValueError(f"all videos must have one shape (T, H, W), got {sorted({v.shape for v in videos})}")
        count = len(videos)
        backgrounds = [None] * count if backgrounds is None else list(backgrounds)
        seeds = list(range(count)) if seeds is None else [_check_seed(seed) for seed in seeds]
        if len(backgrounds) != count or len(seeds) != count:
            raise ValueError(f"{count} videos need {count} backgrounds and seeds, got {len(backgrounds)} and {len(seeds)}")
        out = np.empty((count, *videos[0].shape), np.float32)
        for t, frames in enumerate(self._iter_batch([iter(v) for v in videos], videos[0].shape[1:], backgrounds, seeds, use_sr)):
            out[:, t] = frames
        return out

    def _iter_batch(self, videos: list[Iterator[np.ndarray]], size: tuple[int, int], backgrounds: list[object | None], seeds: list[int],
                    use_sr: bool) -> Iterator[np.ndarray]:
        """Yield ``(B, H, W) float32`` frames of ``B`` binarised mask videos of frame ``size`` (iterators of ``(H, W)`` bool
        frames), video ``b`` with ``backgrounds[b]`` and its own generator seeded with ``seeds[b]``; ``B = 1`` runs
        every operation as before batching existed (same bytes)."""
        if self.keep_freed_memory:
            malloc.keep_freed_memory()  # per video, not at import: also applies in DataLoader workers, whatever their start method
        height, width = size
        prepared = [self._prepare(height, width, background, seed) for background, seed in zip(backgrounds, seeds)]
        full_bgs = [bg for bg, _ in prepared]
        lr_bg = torch.cat([low for _, low in prepared])
        margin, bottom, right = self.canvas(height, width)
        generators = [torch.Generator(device=self.device).manual_seed(seed) for seed in seeds]
        noise: NoiseSource = generators[0] if len(generators) == 1 else generators
        styles = torch.cat([self.lowres.styles(1, generator=g) for g in generators])
        # fixed for the whole video: the reference's encoding and the decoders' modulated weights
        background_features = self.lowres.encode_background(lr_bg)
        lr_weights = self.lowres.decoder.modulate(styles)
        sr_styles = torch.cat([self.sr.styles(1, generator=g) for g in generators]) if (self.sr is not None and use_sr) else None
        sr_weights = self.sr.decoder.modulate(sr_styles) if sr_styles is not None else None  # type: ignore[union-attr]
        s = self.config.sr_scale
        n = self.config.n_masks
        low: list[torch.Tensor] = []  # the last n low-res masks
        prev = lr_bg
        for t, masks in enumerate(zip(*videos)):
            for mask in masks:
                if mask.shape != (height, width):
                    raise ValueError(f"mask frame {t} has shape {mask.shape}, the first frame {(height, width)}")
            m = torch.from_numpy(np.ascontiguousarray(self._pad_frames(np.stack(masks).astype(np.float32), margin, bottom, right, masks=True)))[:, None]
            low.append(downsample_mask(m, s).to(self.device, self.dtype))
            low = low[-n:]
            stack = torch.cat([low[0]] * (n - len(low)) + low, dim=1)
            frame = self.lowres(stack, prev, lr_bg, None, noise, background_features=background_features, decoder_weights=lr_weights)
            if self.config.use_previous_frame:
                prev = frame
            if sr_styles is not None:
                full = self._run_sr(frame, m, noise, sr_weights)  # type: ignore[arg-type]
            else:
                full = F.interpolate(frame, scale_factor=s, mode="bilinear", align_corners=False) if s > 1 else frame
            frames = _output_frames(full, height, width, margin)
            if self.background_guard:
                for b, mask in enumerate(masks):
                    frames[b] = guard_background(frames[b], mask, full_bgs[b], self.background_guard)
            yield frames

    def _run_sr(self, low: torch.Tensor, masks: torch.Tensor, generator: NoiseSource, weights: list[torch.Tensor]) -> torch.Tensor:
        """The SR stage on low-res frames ``(B, 1, h, w)`` on the device; ``masks (B, 1, H, W)`` float {0, 1} (padded,
        any device; used by an SR stage with ``mask_input``); ``weights`` its decoder's modulated weights for the videos."""
        sr_masks = masks.to(self.device, self.dtype) if self.sr.mask_input else None  # type: ignore[union-attr]
        return self.sr(low, None, generator, masks=sr_masks, decoder_weights=weights)  # type: ignore[misc]

    @torch.no_grad()
    def super_resolve(self, images: np.ndarray, masks: object, seed: int = 0) -> np.ndarray:
        """The SR stage alone on the area down-sampling (by ``sr_scale``) of given full-resolution frames.

        A diagnostic: rendering a real video's own low-res frames shows how close to real the SR stage
        gets when the low-res stage is perfect, i.e. how much of a gap comes from each stage.
        ``images (T, H, W)`` float in [0, 1]; ``masks (T, H, W)`` as for :meth:`generate` (used by an SR
        stage with ``mask_input``). Returns ``(T, H, W) float32`` in [0, 1]; same seed, same output.
        """
        if self.sr is None:
            raise ValueError("this model has no SR stage")
        binary = check_masks(masks)
        frames = np.asarray(images, dtype=np.float32)
        if frames.shape != binary.shape:
            raise ValueError(f"images have shape {frames.shape}, the masks {binary.shape}")
        if not np.isfinite(frames).all() or frames.min() < 0 or frames.max() > 1:
            raise ValueError("images must be finite and in [0, 1]")
        height, width = frames.shape[1:]
        margin, bottom, right = self.canvas(height, width, unit=self.config.sr_scale * self.sr.divisor)
        generator = torch.Generator(device=self.device)
        generator.manual_seed(int(seed))
        weights = self.sr.decoder.modulate(self.sr.styles(1, generator=generator))
        out = np.empty(frames.shape, np.float32)
        for t in range(frames.shape[0]):
            full = torch.from_numpy(np.ascontiguousarray(self._pad_frames(frames[t], margin, bottom, right, masks=False)))[None, None] * 2 - 1
            m = torch.from_numpy(np.ascontiguousarray(self._pad_frames(binary[t].astype(np.float32), margin, bottom, right, masks=True)))[None, None]
            low = downsample_image(full, self.config.sr_scale).to(self.device, self.dtype)
            out[t] = _output_frames(self._run_sr(low, m, generator, weights), height, width, margin)[0]
        return out

    def generate(self, masks: object, background: object | None = None, seed: int | None = None, *, use_sr: bool = True) -> np.ndarray:
        """Generate a video for ``masks (T, H, W)``; returns ``(T, H, W) float32`` in [0, 1].

        ``background``: ``(H, W)`` float in [0, 1] or None; ``seed``: same seed, same output;
        ``use_sr=False`` skips the SR stage (bilinear up-sampling instead). Computed in the model's
        ``precision`` (set at construction); the result is float32 in any precision.
        """
        binary = check_masks(masks)
        out = np.empty(binary.shape, np.float32)
        for t, frame in enumerate(self.iter_frames(binary, background, seed, use_sr=use_sr)):
            out[t] = frame
        return out


def _output_frames(full: torch.Tensor, height: int, width: int, margin: int = 0) -> np.ndarray:
    """Network outputs ``(B, 1, H', W')`` in [-1, 1] (the canvas) -> the ``(B, height, width) float32`` frames in [0, 1]
    that start ``margin`` px from its top left.

    Cast to float32 before the affine map (a no-op in float32: same bytes as before the precision option)."""
    return ((full[:, 0, margin:margin + height, margin:margin + width].float().clamp(-1, 1) + 1) / 2).cpu().numpy()


#: the numpy random stream of the default-background choice (apart from the torch noise of the same seed)
_BACKGROUND_STREAM = 0xB6


def _check_seed(seed: object) -> int:
    """``seed`` as int; ``ValueError`` unless an integer in 0 .. 2**64 - 1 (what ``torch.Generator`` takes)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an integer in 0 .. 2**64 - 1 or None, got {seed!r}")
    return int(seed)


def _check_reference(background: object, name: object) -> np.ndarray:
    """A reference background as ``(h, w) float32`` in [0, 1]; ``ValueError`` naming it otherwise."""
    array = np.asarray(background, dtype=np.float32)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"reference background {name!r} must be a non-empty (h, w) array, got shape {array.shape}")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise ValueError(f"reference background {name!r} must be finite and in [0, 1]")
    return array


def load_lowres_generator(path: str | Path) -> tuple[LowResGenerator, TGANConfig]:
    """A trained :class:`LowResGenerator` (in eval mode, on the CPU) and its config from a low-res run directory or
    ``checkpoint.pt`` (loaded with ``weights_only=True``; mismatches raise
    :class:`~tganaug.models.checkpoint.CheckpointError` as in :meth:`TGAN.from_pretrained`)."""
    lowres, config, _ = _load_lowres(Path(path))
    return lowres.eval(), config


def _load_lowres(path: Path) -> tuple[LowResGenerator, TGANConfig, dict]:
    data, config = _load_generator_checkpoint(path, "lowres")
    lowres = LowResGenerator.from_config(config)
    load_network_state(lowres, data["models"]["generator"], what=f"low-res generator {path}")
    return lowres, config, data


def _load_generator_checkpoint(path: Path, mode: str) -> tuple[dict, TGANConfig]:
    file = resolve_checkpoint(path)
    data = load_checkpoint(file)
    if data["mode"] != mode:
        raise CheckpointError(f"{file} is a {data['mode']!r} checkpoint, expected {mode!r}")
    config: TGANConfig = data["config_obj"]
    beside = file.parent / "config.json"
    if beside.is_file():
        try:
            side = TGANConfig.from_dict(json.loads(beside.read_text()))
        except (ValueError, json.JSONDecodeError) as error:
            raise CheckpointError(f"{beside}: invalid config: {error}") from error
        diffs = network_config_mismatch(config, side, "lowres" if mode == "lowres" else "sr")
        if diffs:
            raise CheckpointError(f"{beside} does not match the checkpoint {file}: {'; '.join(diffs)}")
    return data, config
