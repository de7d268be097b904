"""``tgan``: the trained two-stage tGAN as a generator plugin.

Factory: ``tgan(model="fluo-nuclei", device="cpu", use_sr=True, precision="float32", background_default="reference", edge_margin=None, background_guard=None)``.
``model`` is a shipped model
name (:data:`tganaug.models.tgan.SHIPPED_MODELS`, weights in ``tganaug/weights``, loaded offline)
or a path: a folder holding ``lowres/`` (and optionally ``sr/``) run directories, or a low-res run
directory / ``checkpoint.pt`` (see :meth:`tganaug.models.tgan.TGAN.from_pretrained`).
``precision``: ``"float32"`` (default, the output all results are judged on) or, opt-in,
``"bfloat16"`` (faster on CPUs with AMX, numerically different; ``"float16"`` on CUDA only),
e.g. ``generator_config={"precision": "bfloat16"}`` or ``tganaug generate --precision bfloat16``.
``background_default``: what a video given no background is rendered on: ``"reference"`` (default)
a seeded crop of one of the model's training-video backgrounds (shipped in its low-res checkpoint),
``"flat"`` the flat training median (e.g. ``--generator-param background_default=flat``).
``edge_margin``: px of mirrored masks and background rendered around each frame and cropped off (default two
size units of the model; ``0``: none, the frames of earlier versions; see :class:`tganaug.models.tgan.TGAN`).
``background_guard``: px from a mask beyond which the frame shows the reference background's structure, so that no
cell appears without a mask (default 2; ``0``: off, the frames of earlier versions; :mod:`tganaug.models.guard`).
``config`` (model, device, use_sr, precision, background_default, edge_margin, background_guard and a sha256 of the
weight files)
is recorded in dataset item metadata.

Contract: ``generate(labels (T, H, W) int, background=None, seed=None) -> (T, H, W) float32 in
[0, 1]``, where 0/1 are the 1st/99.8th intensity percentiles of the training videos; labels are
binarised (``> 0``); ``background`` is ``(H, W)`` float in [0, 1] or None (``background_default``).
``iter_frames`` streams the same frames from any iterable of label frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tganaug.hookspecs import hookimpl

__all__ = ["TGANGenerator", "tganaug_generators"]


class TGANGenerator:
    """Plugin wrapper around :class:`tganaug.models.tgan.TGAN` (loaded once at construction).

    Args:
        model: shipped model name or path (see the module docstring).
        device: torch device.
        use_sr: run the SR stage (else bilinear up-sampling).
        precision: ``"float32"`` (default), ``"bfloat16"`` (opt-in) or ``"float16"`` (CUDA only);
            see :class:`tganaug.models.tgan.TGAN`. Unknown names raise ``ValueError``.
        keep_freed_memory: opt-in: let glibc keep freed memory for reuse while rendering
            (process-wide, output unchanged; :func:`tganaug.utils.malloc.keep_freed_memory`).
        background_default: ``"reference"`` (default) or ``"flat"``: the background of a video given none
            (:data:`tganaug.models.tgan.BACKGROUND_DEFAULTS`); unknown names raise ``ValueError``.
        edge_margin: px rendered around each frame and cropped off (``None``: the model's default; ``0``: none).
        background_guard: px from a mask beyond which the background guard acts (``None``: 2; ``0``: off).
    """

    name = "tgan"

    def __init__(self, model: str | Path = "fluo-nuclei", device: str = "cpu", use_sr: bool = True, precision: str = "float32",
                 keep_freed_memory: bool = False, background_default: str = "reference", edge_margin: int | None = None,
                 background_guard: int | None = None) -> None:
        from tganaug.models.tgan import TGAN, resolve_model
        from tganaug.utils.weights import weights_fingerprint

        self.model_path = resolve_model(model)
        self.model = TGAN.from_pretrained(self.model_path, device=device, precision=precision, keep_freed_memory=keep_freed_memory,
                                          background_default=background_default, edge_margin=edge_margin,
                                          background_guard=background_guard)
        self.use_sr = use_sr
        #: the simulator fitted with the model (``{"simulator", "config"}``, from its ``simulator.json``; None for shipped
        #: models): ``tganaug generate`` and ``SyntheticVideoDataset`` use it when given no simulator parameters
        self.simulator_defaults = self.model.simulator_defaults
        #: how the frames are made (JSON-friendly; :func:`tganaug.plugin_objects.describe` puts it in item metadata,
        #: and a cached dataset is only reused when it matches, weights included)
        self.config = {"model": str(model), "device": str(device), "use_sr": bool(use_sr), "precision": self.model.precision,
                       "background_default": self.model.background_default, "weights_sha256": weights_fingerprint(self.model_path),
                       # how the default background is prepared from the stored references: a cache of videos rendered
                       # on the stored references as they are (bright remnants became nuclei without masks) is not reused
                       "reference_rendering": "remnants removed, grain restored",
                       # frames rendered inside a mirrored margin (0: at the canvas edge, with the dark band of zero padding)
                       "edge_margin": self.model.edge_margin,
                       # away from the masks the frame shows the reference background (0: off; earlier versions)
                       "background_guard": self.model.background_guard}

    def generate(self, labels: np.ndarray, background: np.ndarray | None = None, seed: int | None = None) -> np.ndarray:
        """``labels (T, H, W)`` int -> ``(T, H, W) float32`` in [0, 1]."""
        return self.model.generate(labels, background=background, seed=seed, use_sr=self.use_sr)

    def generate_batch(self, labels: Sequence[np.ndarray], backgrounds: Sequence[np.ndarray | None], seeds: Sequence[int]) -> np.ndarray:
        """``B`` label videos ``(T, H, W)`` of one shape, rendered together -> ``(B, T, H, W) float32`` in [0, 1]
        (:meth:`tganaug.models.tgan.TGAN.generate_batch`: video ``b`` is ``generate(labels[b], backgrounds[b], seeds[b])``
        up to float rounding); ``SyntheticVideoDataset(..., render_batch=B)`` uses it."""
        return self.model.generate_batch(labels, backgrounds, seeds, use_sr=self.use_sr)

    def iter_frames(self, labels: Iterable[np.ndarray], background: np.ndarray | None = None, seed: int | None = None) -> Iterator[np.ndarray]:
        """Frame-by-frame :meth:`generate` over any iterable of ``(H, W)`` label frames."""
        return self.model.iter_frames(labels, background=background, seed=seed, use_sr=self.use_sr)


@hookimpl
def tganaug_generators() -> dict[str, Callable[..., Any]]:
    """Register ``tgan``."""
    return {"tgan": TGANGenerator}
