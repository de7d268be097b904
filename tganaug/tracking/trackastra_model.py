"""Trackastra (Gallusser & Weigert, ECCV 2024) as a tganaug tracker: loading, training and linking.

Trackastra's transformer scores associations between the objects of a sliding window of frames from
their region features (``wrfeat``: centroid, area, intensity, inertia tensor, border distance); a greedy
(or ILP) solver turns the scores into links. Here:

* :func:`load_trackastra` reads a model **from disk only** (never downloads): a shipped name
  (:data:`SHIPPED_TRACKASTRA`, a small model trained here on Fluo-N2DH-SIM+ 01 train frames), a tganaug
  checkpoint written by :func:`save_trackastra` (``.pt`` + ``.json``), or a folder in trackastra's own layout
  (``model.pt`` + ``config.yaml`` + ``train_config.yaml``, e.g. an unpacked pretrained model). Weights load
  with ``torch.load(weights_only=True)`` and the YAML files with ``yaml.safe_load``.
* :func:`train_trackastra` trains a :class:`trackastra.model.TrackingTransformer` from scratch on tracked
  ``(T, H, W)`` label videos with trackastra's features, windows, augmentations, padding and block-causal
  normalisation. trackastra's own training script (lightning, kornia) is not part of the installed package
  and its ``CTCData`` imports kornia, so the loop is written here, modelled on that script: BCE on the
  normalised association matrix plus 0.01 x BCE on the logits, over next-frame pairs, divisions up-weighted.
* :class:`TrackastraTracker` is the ``trackastra`` tracker plugin: ``track(labels)`` links the objects with
  the model and builds CTC tracks (:class:`~tganaug.tracking.LinkingTracker`).

The tracker contract hands a tracker only the labels, so the shipped model is a *masks-only* model: its
"image" is the binary foreground of the labels (``input: "masks"`` in its config). ``track(labels,
images=...)`` uses real frames instead, which only suits a model trained on images.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tganaug.lineage import as_lineage, validate_tracks
from tganaug.tracking.base import LinkingTracker
from tganaug.tracking.graph import Edge, check_label_video
from tganaug.utils.config import ConfigMixin
from tganaug.utils.weights import WEIGHTS_DIR, load_weights, resolve_weights, save_weights

__all__ = [
    "CHECKPOINT_FORMAT",
    "SHIPPED_TRACKASTRA",
    "TrackastraCheckpointError",
    "TrackastraModelConfig",
    "TrackastraTrainConfig",
    "TrackastraTrackerConfig",
    "TrackastraTracker",
    "association_targets",
    "load_trackastra",
    "foreground_images",
    "save_trackastra",
    "shipped_path",
    "train_trackastra",
]

CHECKPOINT_FORMAT = "tganaug-trackastra-v1"
#: shipped model name -> checkpoint file in ``tganaug/weights`` (see its model card / JSON beside it)
SHIPPED_TRACKASTRA = {"fluo-nuclei": "trackastra-fluo-nuclei.pt"}
#: what a trackastra model folder holds (trackastra's ``TrackingTransformer.save`` layout)
_FOLDER_FILES = ("model.pt", "config.yaml")


class TrackastraCheckpointError(ValueError):
    """A trackastra model that cannot be used: unknown name, missing, corrupt or foreign file."""


@contextlib.contextmanager
def _quiet_trackastra() -> Iterator[None]:
    """Import trackastra without its side effects: its ``model_api`` calls ``logging.basicConfig(level=INFO)``
    on import (every library's INFO messages would print); the root logger is restored and trackastra's
    own loggers are kept at WARNING."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        for name in list(logging.root.manager.loggerDict):
            if name.startswith("trackastra"):
                logging.getLogger(name).setLevel(logging.WARNING)


def _trackastra() -> Any:
    try:
        with _quiet_trackastra():
            import trackastra.model  # noqa: PLC0415  (heavy: numba, dask, networkx)
            import trackastra.model.model_api  # noqa: F401, PLC0415
    except ImportError as error:
        raise ImportError(f"the trackastra tracker needs the trackastra package ({error}): pip install "
                          "'tganaug[trackastra]' && pip install --no-deps 'trackastra>=0.5' (without --no-deps, pip adds "
                          "PyPI's torchvision, which breaks a CPU-only torch)") from error
    return trackastra


def _silent(iterable: Any, *args: Any, **kwargs: Any) -> Any:
    """A ``progbar_class`` for trackastra that shows nothing."""
    return iterable


@dataclass
class TrackastraModelConfig(ConfigMixin):
    """Size of a :class:`trackastra.model.TrackingTransformer` (saved with the weights).

    Attributes:
        window: frames per window the transformer sees.
        d_model / nhead / num_encoder_layers / num_decoder_layers: transformer width and depth.
        pos_embed_per_dim: Fourier features per coordinate (time, y, x).
        feat_embed_per_dim: Fourier features per region feature (1 = the raw features).
        spatial_pos_cutoff: pixels; objects farther apart are never associated.
        dropout: dropout inside the attention and feed-forward blocks.
        input: ``"masks"`` (the image is the binary foreground of the labels) or ``"images"``.
    """

    window: int = 4
    d_model: int = 64
    nhead: int = 4
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    pos_embed_per_dim: int = 16
    feat_embed_per_dim: int = 1
    spatial_pos_cutoff: int = 128
    dropout: float = 0.0
    input: str = "masks"

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ValueError(f"TrackastraModelConfig.window must be >= 2, got {self.window}")
        if self.d_model % self.nhead or self.d_model <= 0:
            raise ValueError(f"d_model {self.d_model} must be a positive multiple of nhead {self.nhead}")
        if self.input not in ("masks", "images"):
            raise ValueError(f"TrackastraModelConfig.input must be 'masks' or 'images', got {self.input!r}")

    def transformer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``TrackingTransformer`` for 2D ``wrfeat`` features (7 per object)."""
        return dict(
            coord_dim=2, feat_dim=7, d_model=self.d_model, nhead=self.nhead,
            num_encoder_layers=self.num_encoder_layers, num_decoder_layers=self.num_decoder_layers,
            dropout=self.dropout, pos_embed_per_dim=self.pos_embed_per_dim, feat_embed_per_dim=self.feat_embed_per_dim,
            window=self.window, spatial_pos_cutoff=self.spatial_pos_cutoff, attn_positional_bias="rope",
            causal_norm="quiet_softmax",
        )


def _build_transformer(config: TrackastraModelConfig) -> Any:
    ta = _trackastra()
    return ta.model.TrackingTransformer(**config.transformer_kwargs())


def save_trackastra(path: str | Path, config: TrackastraModelConfig, transformer: Any, meta: dict | None = None) -> Path:
    """Write a trackastra checkpoint atomically (``{"format", "config", "state_dict", "meta"}``, loadable with
    ``torch.load(weights_only=True)``), with its config and metadata as JSON beside it (``.json``)."""
    return save_weights(path, CHECKPOINT_FORMAT, config.to_dict(), transformer, dict(meta or {}))


def _is_model(path: Path) -> bool:
    return path.is_file() or (path.is_dir() and all((path / name).is_file() for name in _FOLDER_FILES))


def load_trackastra(model: str | Path) -> tuple[Any, str, dict[str, Any]]:
    """A shipped name, a tganaug trackastra checkpoint or a trackastra model folder -> ``(transformer in eval
    mode, features name, metadata)``. Nothing is downloaded.

    Raises :class:`TrackastraCheckpointError` naming the path for an unknown name, a missing, corrupt or
    foreign file, a folder without ``model.pt`` + ``config.yaml``, or weights that do not fit their config.
    """
    expected = "a tganaug trackastra checkpoint (.pt) or a trackastra model folder (model.pt + config.yaml)"
    path = resolve_weights(model, SHIPPED_TRACKASTRA, what="trackastra model", error=TrackastraCheckpointError,
                           is_valid=_is_model, expected=expected)
    if path.is_dir():
        return _load_folder(path)

    def build(saved: dict) -> tuple[TrackastraModelConfig, Any]:
        config = TrackastraModelConfig.from_dict(saved)
        return config, _build_transformer(config)

    config, transformer, meta = load_weights(path, CHECKPOINT_FORMAT, build, what="trackastra",
                                             error=TrackastraCheckpointError)
    meta["input"] = config.input
    return transformer, "wrfeat", meta


def _load_folder(folder: Path) -> tuple[Any, str, dict[str, Any]]:
    """trackastra's folder layout, read without pickle: ``yaml.safe_load`` (trackastra's own ``from_folder`` uses
    ``yaml.FullLoader``) and ``torch.load(weights_only=True)``."""
    import torch  # noqa: PLC0415
    import yaml  # noqa: PLC0415

    def read_yaml(name: str) -> dict:
        file = folder / name
        try:
            data = yaml.safe_load(file.read_text())
        except (OSError, yaml.YAMLError) as failure:
            raise TrackastraCheckpointError(f"cannot read {file}: {failure}") from failure
        if not isinstance(data, dict):
            raise TrackastraCheckpointError(f"{file} is not a mapping of settings")
        return data

    config = read_yaml("config.yaml")
    train_args = read_yaml("train_config.yaml") if (folder / "train_config.yaml").is_file() else {}
    features = str(train_args.get("features", "wrfeat"))
    if features not in ("wrfeat", "none"):
        raise TrackastraCheckpointError(f"{folder}: features {features!r} are not supported (only 'wrfeat' and 'none')")
    ta = _trackastra()
    try:
        transformer = ta.model.TrackingTransformer.create(config)
    except (TypeError, ValueError, ImportError) as failure:
        raise TrackastraCheckpointError(f"{folder}/config.yaml does not describe a TrackingTransformer: {failure}") from failure
    try:
        state = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    except Exception as failure:  # corrupt/truncated file, pickle payload refused by weights_only
        raise TrackastraCheckpointError(f"cannot load {folder / 'model.pt'} (corrupt, truncated or not a torch "
                                        f"file): {type(failure).__name__}: {failure}") from failure
    if isinstance(state, dict) and "state_dict" in state:  # a lightning checkpoint: strip the "model." prefix
        state = {key[6:]: value for key, value in state["state_dict"].items() if key.startswith("model.")}
    try:
        transformer.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as failure:
        raise TrackastraCheckpointError(f"{folder / 'model.pt'}: weights do not fit {folder / 'config.yaml'}: {failure}") from failure
    return transformer.eval(), features, {"input": "images", "source": str(folder)}


def foreground_images(labels: np.ndarray) -> np.ndarray:
    """``(T, H, W) float32`` binary foreground of ``(T, H, W)`` labels: the "image" of a masks-only model."""
    return (np.asarray(labels) > 0).astype(np.float32)


def _features(labels: np.ndarray, images: np.ndarray, features: str) -> list:
    """trackastra's per-frame region features (``WRFeatures``) of ``(T, H, W)`` labels, on normalised images
    (as ``Trackastra.track`` normalises them)."""
    _trackastra()
    from trackastra.data import get_features  # noqa: PLC0415
    from trackastra.utils import normalize  # noqa: PLC0415

    return list(get_features(detections=labels.astype(np.int32), imgs=normalize(images.astype(np.float32)),
                             features=features, ndim=2, progbar_class=_silent))


def association_targets(labels: np.ndarray, timepoints: np.ndarray, lineage: np.ndarray) -> np.ndarray:
    """Trackastra's association target of one window: ``(N, N) bool``, ``True`` where object ``j`` is object ``i``
    itself later or earlier, or one of its ancestors or descendants (its sisters and their offspring are not).

    ``labels`` / ``timepoints``: ``(N,)`` track ids and frames of the window's objects (ids are track ids of a
    tracked video); ``lineage``: ``(M, 4)`` id/start/end/parent of those tracks.
    """
    parents = {int(row[0]): int(row[3]) for row in as_lineage(lineage)}

    def ancestors(track: int) -> set[int]:
        found: set[int] = set()
        while parents.get(track, 0) and track not in found:
            track = parents[track]
            found.add(track)
        return found

    ids = np.asarray(labels, dtype=np.int64)
    family = {int(i): ancestors(int(i)) | {int(i)} for i in np.unique(ids)}
    related = np.array([[b in family[a] or a in family[b] for b in ids.tolist()] for a in ids.tolist()], dtype=bool)
    return related.reshape(len(ids), len(ids))


@dataclass
class TrackastraTrainConfig(ConfigMixin):
    """How :func:`train_trackastra` trains.

    Attributes:
        epochs: passes over all windows of all videos.
        batch_size: windows per step (padded to the longest).
        learning_rate: AdamW, cosine-decayed to 10 % over the run.
        division_weight: weight of a mother -> daughter association in the loss (divisions are rare).
        augment: trackastra's wrfeat augmentations (random flip, affine, small offsets) on training windows.
        seed: seeds the initialisation, the window order and the augmentations.
    """

    epochs: int = 40
    batch_size: int = 4
    learning_rate: float = 1e-3
    division_weight: float = 10.0
    augment: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if not self.learning_rate > 0 or self.division_weight < 1:
            raise ValueError("learning_rate must be > 0 and division_weight >= 1")


def _windows(videos: Sequence[tuple[np.ndarray, np.ndarray]], window: int) -> list[dict]:
    """trackastra windows (WRFeatures of ``window`` consecutive frames) and the lineage they need."""
    _trackastra()
    from trackastra.data import WRFeatures  # noqa: PLC0415

    out = []
    for index, (labels, lineage) in enumerate(videos):
        labels = np.asarray(labels)
        if labels.ndim != 3 or labels.shape[0] < window:
            raise ValueError(f"training video {index}: need a (T, H, W) label video with T >= window {window}, got {labels.shape}")
        validate_tracks(labels, lineage)
        feats = _features(labels, foreground_images(labels), "wrfeat")
        for t in range(labels.shape[0] - window + 1):
            out.append({"feat": WRFeatures.concat(feats[t:t + window]), "lineage": as_lineage(lineage)})
    return out


def _augmenter(seed: int) -> Any:
    from trackastra.data import wrfeat  # noqa: PLC0415

    steps = [wrfeat.WRRandomFlip(p=0.5), wrfeat.WRRandomAffine(p=0.8, degrees=180, scale=(0.8, 1.25), shear=(0.05, 0.05)),
             wrfeat.WRRandomOffset(p=0.8, offset=(-2, 2))]
    for k, step in enumerate(steps):  # trackastra seeds them from the OS; seeded here for reproducible training
        step._rng = np.random.RandomState(seed * 7919 + k)
    return wrfeat.WRAugmentationPipeline(steps)


def _sample(window: dict, augmenter: Any | None) -> dict:
    import torch  # noqa: PLC0415

    feat = window["feat"]
    if augmenter is not None:
        feat = augmenter(feat)
    return {
        "coords": torch.from_numpy(np.asarray(feat.coords, dtype=np.float32)),
        "features": torch.from_numpy(np.asarray(feat.features_stacked, dtype=np.float32)),
        "timepoints": torch.from_numpy(np.asarray(feat.timepoints, dtype=np.int64)),
        "labels": torch.from_numpy(np.asarray(feat.labels, dtype=np.int64)),
        "assoc_matrix": torch.from_numpy(association_targets(feat.labels, feat.timepoints, window["lineage"]).astype(np.float32)),
    }


def _loss(transformer: Any, batch: dict, division_weight: float) -> Any:
    """The training loss of one padded batch (see module doc)."""
    import torch  # noqa: PLC0415
    import torch.nn.functional as F  # noqa: N812, PLC0415
    from trackastra.utils import blockwise_causal_norm, blockwise_sum  # noqa: PLC0415

    timepoints = batch["timepoints"].long()
    padding = batch["padding_mask"].bool()
    target = batch["assoc_matrix"]
    coords = torch.cat((timepoints.unsqueeze(2).float(), batch["coords"]), dim=2)
    logits = transformer(coords, features=batch["features"], padding_mask=padding)
    invalid = padding.unsqueeze(1) | padding.unsqueeze(2)
    logits = logits.masked_fill(invalid, 0.0)
    soft = torch.stack([blockwise_causal_norm(a, t, mode="quiet_softmax", mask_invalid=m)
                        for a, t, m in zip(logits, timepoints, invalid)])
    loss = F.binary_cross_entropy(soft, target, reduction="none") \
        + 0.01 * F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    dt = timepoints.unsqueeze(1) - timepoints.unsqueeze(2)  # dt[b, i, j] = t_j - t_i
    scored = (dt == 1) & ~invalid  # next-frame associations, as the tracker uses them (delta_t = 1)
    with torch.no_grad():
        nexts = target * scored
        # a mother has two next-frame associations: weight those entries
        children = torch.stack([blockwise_sum(a, t, dim=-1, reduce="sum") for a, t in zip(nexts, timepoints)])
        weight = torch.where((nexts > 0) & (children > 1), torch.full_like(nexts, division_weight), torch.ones_like(nexts))
    return (loss * weight)[scored].sum() / scored.sum().clamp(min=1)


def train_trackastra(
    videos: Sequence[tuple[np.ndarray, np.ndarray]],
    model_config: TrackastraModelConfig | None = None,
    train_config: TrackastraTrainConfig | None = None,
    *,
    progress: Callable[[int, float], None] | None = None,
    state: dict | None = None,
    checkpoint: Callable[[dict], None] | None = None,
    checkpoint_every: int = 10,
) -> tuple[Any, dict[str, Any]]:
    """Train a trackastra transformer from scratch on tracked label videos (masks-only input).

    Args:
        videos: ``(labels (T, H, W) integer track ids, lineage (N, 4))`` pairs, e.g. GT of train frames.
        model_config / train_config: network size and schedule (defaults: ~171k parameters, 0.7 MB; 40 epochs).
        progress: called as ``progress(epoch, mean loss)`` after every epoch (1-based).
        state: to resume, a dict given to ``checkpoint`` earlier (``{"epoch", "model", "optimizer", "losses"}``);
            training continues after ``state["epoch"]``. The window order and augmentations are seeded per epoch,
            so a resumed run draws what an uninterrupted one would.
        checkpoint: called with that state dict (tensors, numbers and lists only: ``torch.save`` it and read it
            back with ``weights_only=True``) after every ``checkpoint_every``-th and after the last epoch.

    Returns ``(transformer in eval mode, record)``: ``record`` has ``losses`` (per epoch), ``cpu_seconds`` (of
    this call), ``windows`` and ``parameters``.
    """
    import torch  # noqa: PLC0415

    model_config = model_config or TrackastraModelConfig()
    train_config = train_config or TrackastraTrainConfig()
    if model_config.input != "masks":
        raise ValueError("train_trackastra trains masks-only models (input='masks')")
    _trackastra()
    from trackastra.data import collate_sequence_padding  # noqa: PLC0415

    torch.manual_seed(train_config.seed)
    windows = _windows(videos, model_config.window)
    if not windows:
        raise ValueError("no training windows: give at least one video")
    transformer = _build_transformer(model_config)
    optimizer = torch.optim.AdamW(transformer.parameters(), lr=train_config.learning_rate, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(windows) / train_config.batch_size)
    total = steps_per_epoch * train_config.epochs
    first, losses = 0, []
    if state:
        transformer.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])  # holds each group's "initial_lr" for the schedule below
        first, losses = int(state["epoch"]), [float(x) for x in state.get("losses", [])]
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(step, total) / total)),
        last_epoch=first * steps_per_epoch - 1)
    start = time.process_time()
    for epoch in range(first, train_config.epochs):
        transformer.train()
        # seeded per epoch: a resumed run draws the same windows and augmentations as an uninterrupted one
        augmenter = _augmenter(train_config.seed * 100003 + epoch) if train_config.augment else None
        order = np.random.default_rng([train_config.seed, epoch]).permutation(len(windows))
        total_loss = 0.0
        for b in range(steps_per_epoch):
            chosen = order[b * train_config.batch_size:(b + 1) * train_config.batch_size]
            batch = collate_sequence_padding([_sample(windows[i], augmenter) for i in chosen])
            loss = _loss(transformer, batch, train_config.division_weight)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(transformer.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            total_loss += float(loss.detach())
        losses.append(total_loss / steps_per_epoch)
        if progress is not None:
            progress(epoch + 1, losses[-1])
        if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == train_config.epochs):
            checkpoint({"epoch": epoch + 1, "model": transformer.state_dict(), "optimizer": optimizer.state_dict(),
                        "losses": list(losses)})
    transformer.eval()
    record = {
        "losses": losses, "cpu_seconds": round(time.process_time() - start, 1), "windows": len(windows),
        "parameters": int(sum(p.numel() for p in transformer.parameters())),
    }
    return transformer, record


@dataclass
class TrackastraTrackerConfig(ConfigMixin):
    """Settings of :class:`TrackastraTracker` (the ``trackastra`` tracker plugin).

    Attributes:
        model: a shipped name (:data:`SHIPPED_TRACKASTRA`), a tganaug trackastra checkpoint (``.pt``), or a
            trackastra model folder (``model.pt`` + ``config.yaml`` [+ ``train_config.yaml``]). Never downloaded.
        mode: trackastra's solver: ``greedy`` (with divisions), ``greedy_nodiv`` or ``ilp`` (needs motile + a solver).
        max_distance: pixels; candidate links longer than this are dropped.
    """

    model: str = "fluo-nuclei"
    mode: str = "greedy"
    max_distance: float = 128.0

    def __post_init__(self) -> None:
        self.model = str(self.model)
        if self.mode not in ("greedy", "greedy_nodiv", "ilp"):
            raise ValueError(f"TrackastraTrackerConfig.mode must be greedy, greedy_nodiv or ilp, got {self.mode!r}")
        if not self.max_distance > 0:
            raise ValueError(f"TrackastraTrackerConfig.max_distance must be positive, got {self.max_distance!r}")


class TrackastraTracker(LinkingTracker):
    """The ``trackastra`` tracker: a trackastra transformer scores links, trackastra's solver picks them."""

    name = "trackastra"

    def __init__(self, **config: Any) -> None:
        self.config = TrackastraTrackerConfig.from_dict(config)
        self.transformer, self.features, self.meta = load_trackastra(self.config.model)
        self._images: np.ndarray | None = None

    def track(self, labels: np.ndarray, images: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Track a ``(T, H, W)`` integer label video; ``images``: optional ``(T, H, W)`` raw frames for a model
        trained on images (default: the labels' binary foreground). Returns ``(tracked (T, H, W) uint16, lineage
        (N, 4) int64)`` (see :meth:`LinkingTracker.track`)."""
        if images is not None and np.shape(images) != np.shape(labels):
            raise ValueError(f"images {np.shape(images)} and labels {np.shape(labels)} differ in shape")
        self._images = None if images is None else np.asarray(images, dtype=np.float32)
        try:
            return super().track(labels)
        finally:
            self._images = None

    def link(self, labels: np.ndarray) -> list[Edge]:
        """Links found by trackastra between the detections of a checked ``(T, H, W)`` label video."""
        labels = check_label_video(labels)
        if labels.shape[0] < 2:
            return []
        from scipy.sparse import SparseEfficiencyWarning  # noqa: PLC0415

        ta = _trackastra()
        images = self._images if self._images is not None else foreground_images(labels)
        # trackastra's candidate-graph step draws its own tqdm bar: kept off the terminal
        with _quiet_trackastra(), contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", SparseEfficiencyWarning)  # trackastra's sparse weight accumulation
            model = ta.model.Trackastra(self.transformer, train_args={"features": self.features}, device="cpu")
            graph, _ = model.track(images, labels.astype(np.int32), mode=self.config.mode, progbar_class=_silent,
                                   max_distance=self.config.max_distance)
        nodes = graph.nodes
        edges: list[Edge] = []
        for a, b in graph.edges:
            ta_, tb = int(nodes[a]["time"]), int(nodes[b]["time"])
            first, second = ((ta_, int(nodes[a]["label"])), (tb, int(nodes[b]["label"])))
            edges.append((first, second) if ta_ < tb else (second, first))
        return edges


def shipped_path(name: str = "fluo-nuclei") -> Path:
    """Where the shipped model ``name`` lives (it may be absent from a source checkout)."""
    return WEIGHTS_DIR / SHIPPED_TRACKASTRA[name]
