"""A learned linker: a small MLP scores candidate links between the detections of nearby frames.

The tracker API hands a tracker instance labels only, so every feature comes from the masks:

* candidates: for a detection ``i`` of frame ``t`` and ``j`` of frame ``t + dt`` (``dt`` = 1, or 2
  for gap closing), the pair is a candidate when the masks overlap or the centroids are at most
  ``radius`` typical cell radii apart (the typical radius ``r = sqrt(median area / pi)`` of the two
  frames, so the features do not depend on the pixel size), keeping each ``i``'s ``max_candidates``
  nearest;
* features (:data:`FEATURES`): centroid displacement and distance in units of ``r``, IoU, the
  overlap as a fraction of each mask, the log area ratio, both log areas relative to the median,
  both elongations, the rank of the pair among ``i``'s and ``j``'s candidates and how much farther
  it is than their nearest candidate, ``i``'s candidate count, and a "sister" context for divisions
  (the other candidate ``j'`` of ``i`` whose midpoint with ``j`` is closest to ``i``: the area of
  ``j + j'`` relative to ``i``, the midpoint's distance to ``i`` and the ``j``-``j'`` distance);
* classes: 0 = no link, 1 = continuation (the same cell, also across a gap), 2 = mother -> daughter.

Linking (:func:`link_video`): per pair of consecutive frames, Hungarian assignment
(``scipy.optimize.linear_sum_assignment``) on ``-log(p_continuation + p_daughter)`` for one-to-one
links above ``link_threshold``; a matched or unmatched detection then gets daughters among the
detections left unmatched when the geometric mean of the two mother -> daughter probabilities
reaches ``division_threshold``. Finally, tracks that end are joined to tracks that start two frames
later when ``p_continuation`` at ``dt = 2`` reaches ``gap_threshold`` (again one-to-one, Hungarian).
The edges become CTC tracks through :class:`tganaug.tracking.base.LinkingTracker` /
:func:`tganaug.tracking.graph.tracks_from_edges`.

Training (:func:`train_linker`): label videos with their lineage (real GT from
:func:`tganaug.read_ctc`, or simulator output); positives are GT continuations (the same id at ``t``
and ``t + dt``) and parent -> daughter links, every other candidate is a negative.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn
from tqdm import tqdm

from tganaug.tracking.base import LinkingTracker
from tganaug.tracking.graph import Edge, check_label_video
from tganaug.tracking.matching import frame_overlap
from tganaug.utils.config import ConfigMixin
from tganaug.utils.weights import load_weights, resolve_weights, save_weights

__all__ = [
    "CHECKPOINT_FORMAT",
    "FEATURES",
    "SHIPPED_LINKERS",
    "LearnedLinker",
    "LinkerCheckpointError",
    "LinkerConfig",
    "LinkerNet",
    "LinkerTrackerConfig",
    "PairFeatures",
    "frame_properties",
    "link_video",
    "load_linker",
    "pair_features",
    "save_linker",
    "train_linker",
    "training_examples",
]

CHECKPOINT_FORMAT = "tganaug-linker-v1"
#: shipped model name -> checkpoint file in ``tganaug/weights`` (see its model card)
SHIPPED_LINKERS = {
    "fluo-nuclei": "linker-fluo-nuclei.pt",
    "phase-contrast": "linker-phase-contrast.pt",
}
#: names of the columns of :attr:`PairFeatures.features`, in order
FEATURES = (
    "gap",  # dt - 1
    "dy",  # centroid displacement (rows) / r
    "dx",  # centroid displacement (columns) / r
    "distance",  # centroid distance / r
    "iou",
    "overlap_i",  # intersection / area_i
    "overlap_j",  # intersection / area_j
    "log_area_ratio",  # log(area_j / area_i)
    "log_area_i",  # log(area_i / median area)
    "log_area_j",
    "elongation_i",  # log(major / minor axis), from second moments
    "elongation_j",
    "rank_i",  # rank of j among i's candidates by distance (0 = nearest), capped at 4, / 4
    "rank_j",  # rank of i among j's candidates
    "excess_i",  # (distance - distance to i's nearest candidate) / r
    "excess_j",
    "candidates_i",  # number of candidates of i / max_candidates
    "sister_log_area",  # log((area_j + area_j') / area_i), 0 without a sister
    "sister_midpoint",  # distance from i to the midpoint of j and j' / r (radius without a sister)
    "sister_distance",  # distance between j and j' / r (radius without a sister)
    "has_sister",
)
NO_LINK, CONTINUATION, DAUGHTER = 0, 1, 2


class LinkerCheckpointError(ValueError):
    """A linker checkpoint is missing, corrupt, not a tganaug linker checkpoint, or does not fit its config."""


@dataclass
class LinkerConfig(ConfigMixin):
    """Candidate rule and network size of the learned linker (saved with the weights).

    Attributes:
        radius: candidate radius in typical cell radii (``sqrt(median area / pi)`` of the two frames).
        max_candidates: at most this many nearest candidates per detection of the earlier frame.
        max_gap: largest frame step the model is trained for (1 = no gap closing, 2 = one missed frame).
        hidden: widths of the hidden layers of the MLP.
    """

    radius: float = 4.0
    max_candidates: int = 6
    max_gap: int = 2
    hidden: tuple[int, ...] = (32, 32)

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        if not (math.isfinite(self.radius) and self.radius > 0):
            raise ValueError(f"LinkerConfig.radius must be a positive number, got {self.radius}")
        if self.max_candidates < 1:
            raise ValueError(f"LinkerConfig.max_candidates must be >= 1, got {self.max_candidates}")
        if self.max_gap not in (1, 2):
            raise ValueError(f"LinkerConfig.max_gap must be 1 or 2, got {self.max_gap}")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"LinkerConfig.hidden needs positive widths, got {self.hidden}")


class LinkerNet(nn.Module):
    """``(N, len(FEATURES))`` float32 features -> ``(N, 3)`` logits (no link / continuation / daughter).

    Features are standardised inside with the training set's mean and sd (buffers, saved with the weights).
    """

    def __init__(self, config: LinkerConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = len(FEATURES)
        for hidden in config.hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, 3))
        self.mlp = nn.Sequential(*layers)
        self.register_buffer("mean", torch.zeros(len(FEATURES)))
        self.register_buffer("scale", torch.ones(len(FEATURES)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp((features - self.mean) / self.scale)


@dataclass(frozen=True)
class FrameProperties:
    """Per-instance properties of one ``(H, W)`` label frame; every array is ``(N,)``, sorted by id.

    ``ids`` int64; ``area`` float64 pixels; ``y``/``x`` float64 centroid; ``elongation`` float64
    ``log(major / minor)`` axis ratio from the second central moments (0 for a disc).
    """

    ids: np.ndarray
    area: np.ndarray
    y: np.ndarray
    x: np.ndarray
    elongation: np.ndarray


def frame_properties(frame: np.ndarray) -> FrameProperties:
    """Ids, areas, centroids and elongations of the instances of an ``(H, W)`` integer label frame."""
    flat = np.asarray(frame).ravel().astype(np.int64)
    counts = np.bincount(flat)
    ids = np.nonzero(counts)[0]
    ids = ids[ids != 0]
    if ids.size == 0:
        empty = np.zeros(0)
        return FrameProperties(ids.astype(np.int64), empty, empty, empty, empty)
    rows, cols = np.indices(np.asarray(frame).shape)
    rows, cols = rows.ravel().astype(np.float64), cols.ravel().astype(np.float64)
    area = counts[ids].astype(np.float64)

    def mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=values, minlength=counts.size)[ids] / area

    y, x = mean(rows), mean(cols)
    # second central moments (+1/12: a pixel is a unit square, so a 1-pixel object is not degenerate)
    syy = mean(rows**2) - y**2 + 1 / 12
    sxx = mean(cols**2) - x**2 + 1 / 12
    sxy = mean(rows * cols) - x * y
    half_trace, root = (syy + sxx) / 2, np.sqrt(((syy - sxx) / 2) ** 2 + sxy**2)
    major, minor = half_trace + root, np.maximum(half_trace - root, 1e-6)
    elongation = 0.5 * np.log(np.maximum(major, 1e-6) / minor)
    return FrameProperties(ids.astype(np.int64), area, y, x, elongation)


@dataclass(frozen=True)
class PairFeatures:
    """Candidate links between two frames.

    Attributes:
        i / j: ``(P,)`` int64 indices into the earlier / later frame's :class:`FrameProperties`.
        features: ``(P, len(FEATURES))`` float32.
        n_a / n_b: number of detections in the earlier / later frame.
    """

    i: np.ndarray
    j: np.ndarray
    features: np.ndarray
    n_a: int
    n_b: int


def _rank(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Rank (0 = smallest) of each value within its group."""
    order = np.lexsort((values, groups))
    ranks = np.empty(values.size, dtype=np.int64)
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    position = np.arange(values.size) - np.repeat(starts, np.diff(np.r_[starts, values.size]))
    ranks[order] = position
    return ranks


def pair_features(a: np.ndarray, b: np.ndarray, dt: int, config: LinkerConfig,
                  props: tuple[FrameProperties, FrameProperties] | None = None) -> PairFeatures:
    """Candidates and their features between ``(H, W)`` label frames ``a`` (time t) and ``b`` (t + dt).

    ``props`` may pass precomputed :func:`frame_properties` of ``a`` and ``b``.
    """
    pa, pb = props if props is not None else (frame_properties(a), frame_properties(b))
    n_a, n_b = pa.ids.size, pb.ids.size
    empty = PairFeatures(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(FEATURES)), np.float32), n_a, n_b)
    if n_a == 0 or n_b == 0:
        return empty
    overlap = frame_overlap(a, b)
    inter = overlap.intersection.astype(np.float64)
    median_area = float(np.median(np.r_[pa.area, pb.area]))
    r = math.sqrt(median_area / math.pi)
    dy = (pb.y[None, :] - pa.y[:, None]) / r
    dx = (pb.x[None, :] - pa.x[:, None]) / r
    dist = np.hypot(dy, dx)
    allowed = (dist <= config.radius) | (inter > 0)
    # keep each i's max_candidates nearest (overlapping pairs first)
    key = np.where(allowed, dist - 1e3 * (inter > 0), np.inf)
    keep_rank = np.argsort(np.argsort(key, axis=1, kind="stable"), axis=1, kind="stable")
    allowed &= keep_rank < config.max_candidates
    i, j = np.nonzero(allowed)
    if i.size == 0:
        return empty
    d = dist[i, j]
    union = pa.area[i] + pb.area[j] - inter[i, j]
    rank_i, rank_j = _rank(d, i), _rank(d, j)
    nearest_i = np.full(n_a, np.inf)
    np.minimum.at(nearest_i, i, d)
    nearest_j = np.full(n_b, np.inf)
    np.minimum.at(nearest_j, j, d)
    count_i = np.bincount(i, minlength=n_a)
    # sister: the other candidate j' of i whose midpoint with j is closest to i
    sister_log_area = np.zeros(i.size)
    sister_mid = np.full(i.size, config.radius)
    sister_dist = np.full(i.size, config.radius)
    has_sister = np.zeros(i.size)
    by_i: dict[int, list[int]] = {}
    for index, row in enumerate(i.tolist()):
        by_i.setdefault(row, []).append(index)
    for row, members in by_i.items():
        if len(members) < 2:
            continue
        cols = j[members]
        my = (pb.y[cols][:, None] + pb.y[cols][None, :]) / 2
        mx = (pb.x[cols][:, None] + pb.x[cols][None, :]) / 2
        mid = np.hypot(my - pa.y[row], mx - pa.x[row]) / r
        np.fill_diagonal(mid, np.inf)
        best = np.argmin(mid, axis=1)
        for k, index in enumerate(members):
            other = cols[best[k]]
            sister_log_area[index] = math.log((pb.area[cols[k]] + pb.area[other]) / pa.area[row])
            sister_mid[index] = min(mid[k, best[k]], config.radius)
            sister_dist[index] = min(math.hypot(pb.y[cols[k]] - pb.y[other], pb.x[cols[k]] - pb.x[other]) / r, 2 * config.radius)
            has_sister[index] = 1.0
    columns = [
        np.full(i.size, dt - 1.0), dy[i, j], dx[i, j], d, inter[i, j] / union, inter[i, j] / pa.area[i],
        inter[i, j] / pb.area[j], np.log(pb.area[j] / pa.area[i]), np.log(pa.area[i] / median_area),
        np.log(pb.area[j] / median_area), pa.elongation[i], pb.elongation[j], np.minimum(rank_i, 4) / 4,
        np.minimum(rank_j, 4) / 4, d - nearest_i[i], d - nearest_j[j], count_i[i] / config.max_candidates,
        sister_log_area, sister_mid, sister_dist, has_sister,
    ]
    return PairFeatures(i.astype(np.int64), j.astype(np.int64), np.stack(columns, 1).astype(np.float32), n_a, n_b)


def _lineage_maps(lineage: np.ndarray) -> tuple[dict[int, int], dict[int, int]]:
    """``parent`` of each daughter id and the number of children of each id."""
    parent = {int(row[0]): int(row[3]) for row in np.asarray(lineage).reshape(-1, 4) if row[3] > 0}
    children: dict[int, int] = {}
    for mother in parent.values():
        children[mother] = children.get(mother, 0) + 1
    return parent, children


def training_examples(labels: np.ndarray, lineage: np.ndarray, config: LinkerConfig) -> tuple[np.ndarray, np.ndarray]:
    """Features and classes of every candidate link of a GT label video.

    Args:
        labels: ``(T, H, W)`` integer labels whose ids are track ids (CTC GT or simulator output).
        lineage: ``(N, 4)`` id, start, end, parent.

    Returns:
        ``(features (P, len(FEATURES)) float32, classes (P,) int64)``: 1 when the two detections are
        the same track (at ``dt = 1`` or ``2``), 2 when the later one is a daughter of the earlier
        one (a track with two or more children), 1 for a parent with a single child (a gap in the
        CTC convention), 0 otherwise.
    """
    labels = check_label_video(labels)
    parent, children = _lineage_maps(lineage)
    props = [frame_properties(frame) for frame in labels]
    features, classes = [], []
    for dt in range(1, config.max_gap + 1):
        for t in range(labels.shape[0] - dt):
            pairs = pair_features(labels[t], labels[t + dt], dt, config, (props[t], props[t + dt]))
            if pairs.i.size == 0:
                continue
            id_a, id_b = props[t].ids[pairs.i], props[t + dt].ids[pairs.j]
            mother = np.array([parent.get(int(b), 0) for b in id_b])
            is_child = (mother == id_a) & (mother > 0)
            divides = np.array([children.get(int(m), 0) >= 2 for m in mother], dtype=bool)
            cls = np.where(id_a == id_b, CONTINUATION, np.where(is_child, np.where(divides, DAUGHTER, CONTINUATION), NO_LINK))
            features.append(pairs.features)
            classes.append(cls.astype(np.int64))
    if not features:
        return np.zeros((0, len(FEATURES)), np.float32), np.zeros(0, np.int64)
    return np.concatenate(features), np.concatenate(classes)


def save_linker(path: str | Path, config: LinkerConfig, network: LinkerNet, meta: dict[str, Any] | None = None) -> Path:
    """Write a linker checkpoint atomically, with its config and metadata as JSON beside it (``.json``)."""
    return save_weights(path, CHECKPOINT_FORMAT, config.to_dict(), network, dict(meta or {}))


def load_linker(model: str | Path) -> tuple[LinkerConfig, LinkerNet, dict[str, Any]]:
    """A shipped name (:data:`SHIPPED_LINKERS`), a checkpoint file or a folder holding ``linker.pt``
    -> ``(config, network in eval mode, metadata)``; loads with ``torch.load(weights_only=True)``.

    Raises :class:`LinkerCheckpointError` naming the file for an unknown name, a missing, corrupt or
    foreign file, or weights that do not fit the saved config.
    """
    path = resolve_weights(model, SHIPPED_LINKERS, what="linker model", error=LinkerCheckpointError, default_file="linker.pt")

    def build(saved: dict) -> tuple[LinkerConfig, LinkerNet]:
        config = LinkerConfig.from_dict(saved)
        return config, LinkerNet(config)

    return load_weights(path, CHECKPOINT_FORMAT, build, what="linker", error=LinkerCheckpointError)


def _as_video(item: Any) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(item, "labels") and hasattr(item, "lineage"):
        labels, lineage = item.labels, item.lineage
    else:
        labels, lineage = item
    if labels is None or lineage is None:
        raise ValueError("every training video needs labels and a lineage (read_ctc with read_labels=True)")
    return check_label_video(labels, "training labels"), np.asarray(lineage, dtype=np.int64).reshape(-1, 4)


def train_linker(
    videos: Iterable[Any],
    out: str | Path,
    steps: int = 1500,
    seed: int = 0,
    config: LinkerConfig | None = None,
    batch_size: int = 512,
    learning_rate: float = 3e-3,
    meta: dict[str, Any] | None = None,
    progress: bool = True,
) -> Path:
    """Train a linker on GT label videos and save it atomically to ``out`` (a ``.pt`` file + ``.json``).

    Args:
        videos: items with ``.labels`` ``(T, H, W)`` int and ``.lineage`` ``(N, 4)`` (``CTCSequence``,
            ``SimulatedVideo``) or ``(labels, lineage)`` tuples.
        out: checkpoint path (``.pt``); a folder means ``out/linker.pt``.
        steps / batch_size / learning_rate: AdamW on the class-weighted cross entropy (weights
            ``1 / sqrt(class frequency)``, so the rare mother -> daughter links count).
        seed: seeds the initialisation and the mini-batch draws: the same seed gives the same weights.

    Returns the checkpoint path. Raises ``ValueError`` when the videos hold no positive link.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be >= 1, got {steps} and {batch_size}")
    config = config or LinkerConfig()
    started = time.perf_counter()
    features, classes = [], []
    n_videos = 0
    for item in videos:
        labels, lineage = _as_video(item)
        f, c = training_examples(labels, lineage, config)
        features.append(f)
        classes.append(c)
        n_videos += 1
    x = np.concatenate(features) if features else np.zeros((0, len(FEATURES)), np.float32)
    y = np.concatenate(classes) if classes else np.zeros(0, np.int64)
    counts = np.bincount(y, minlength=3)
    if counts[CONTINUATION] == 0:
        raise ValueError(f"the {n_videos} training video(s) hold no continuation link between frames to learn from")
    torch.manual_seed(seed)
    network = LinkerNet(config)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    network.mean.copy_(x_t.mean(0))
    network.scale.copy_(x_t.std(0).clamp_min(1e-3) if len(x_t) > 1 else torch.ones(len(FEATURES)))
    weights = torch.tensor([1.0 / math.sqrt(max(c, 1)) for c in counts], dtype=torch.float32)
    weights = weights / weights[counts > 0].mean()
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    optimizer = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    rng = np.random.default_rng(seed)
    network.train()
    loss_value = float("nan")
    bar = tqdm(range(steps), desc="linker", unit="step", disable=not progress)
    for _ in bar:
        index = torch.from_numpy(rng.integers(0, len(y), min(batch_size, len(y))))
        loss = loss_fn(network(x_t[index]), y_t[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_value = loss.item()
        bar.set_postfix(loss=f"{loss_value:.3f}")
    network.eval()
    with torch.no_grad():
        predicted = network(x_t).argmax(1).numpy()
    recall = {name: float(np.mean(predicted[y == c] == c)) if counts[c] else None
              for c, name in ((NO_LINK, "no_link"), (CONTINUATION, "continuation"), (DAUGHTER, "daughter"))}
    info = {**(meta or {}), "steps": steps, "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed,
            "videos": n_videos, "examples": {"no_link": int(counts[0]), "continuation": int(counts[1]), "daughter": int(counts[2])},
            "train_recall": recall, "final_loss": round(loss_value, 4),
            "parameters": sum(p.numel() for p in network.parameters()),
            "cpu_seconds": round(time.perf_counter() - started, 1)}
    out = Path(out)
    if out.suffix != ".pt":
        out = out / "linker.pt"
    return save_linker(out, config, network, info)


@torch.no_grad()
def _probabilities(network: LinkerNet, pairs: PairFeatures) -> np.ndarray:
    """``(P, 3)`` float64 class probabilities of the candidate pairs."""
    if pairs.i.size == 0:
        return np.zeros((0, 3))
    return torch.softmax(network(torch.from_numpy(pairs.features)), 1).double().numpy()


def _hungarian(score: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """One-to-one pairs maximising the summed ``log(score)`` among entries ``>= threshold``."""
    if score.size == 0 or not (score >= threshold).any():
        return []
    ok = score >= threshold
    cost = np.where(ok, -np.log(np.maximum(score, 1e-12)), 1e6)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if ok[r, c]]


def link_video(labels: np.ndarray, network: LinkerNet, config: LinkerConfig, link_threshold: float = 0.5,
               division_threshold: float = 0.5, gap_threshold: float = 0.5, max_gap: int | None = None,
               progress: Callable[[int], None] | None = None) -> list[Edge]:
    """Edges ``((t, label), (t + dt, label'))`` between the detections of a ``(T, H, W)`` label video (see module doc);
    ``progress(t)`` is called once frame ``t`` is linked to frame ``t + 1``."""
    labels = check_label_video(labels)
    max_gap = config.max_gap if max_gap is None else min(max_gap, config.max_gap)
    props = [frame_properties(frame) for frame in labels]
    edges: list[Edge] = []
    has_successor = [np.zeros(p.ids.size, bool) for p in props]
    has_predecessor = [np.zeros(p.ids.size, bool) for p in props]
    for t in range(labels.shape[0] - 1):
        pairs = pair_features(labels[t], labels[t + 1], 1, config, (props[t], props[t + 1]))
        if pairs.i.size == 0:
            continue
        prob = _probabilities(network, pairs)
        link = np.zeros((pairs.n_a, pairs.n_b))
        daughter = np.zeros((pairs.n_a, pairs.n_b))
        link[pairs.i, pairs.j] = prob[:, CONTINUATION] + prob[:, DAUGHTER]
        daughter[pairs.i, pairs.j] = prob[:, DAUGHTER]
        matched = _hungarian(link, link_threshold)
        successor = {i: j for i, j in matched}
        taken = {j for _, j in matched}
        links = list(matched)
        # divisions: a mother keeps its matched daughter (if any) and gets one more among the unmatched
        proposals = []
        for i in range(pairs.n_a):
            free = [j for j in np.flatnonzero(daughter[i] > 0).tolist() if j not in taken]
            if i in successor:
                j1 = successor[i]
                proposals += [(math.sqrt(daughter[i, j1] * daughter[i, j2]), i, [j2]) for j2 in free]
            elif len(free) >= 2:
                best = sorted(free, key=lambda j: -daughter[i, j])[:2]
                proposals.append((math.sqrt(daughter[i, best[0]] * daughter[i, best[1]]), i, best))
        divided: set[int] = set()
        for score, i, extra in sorted(proposals, key=lambda p: -p[0]):
            if score < division_threshold:
                break
            if i in divided or any(j in taken for j in extra):
                continue
            links += [(i, j) for j in extra]
            taken.update(extra)
            divided.add(i)
        for i, j in links:
            edges.append(((t, int(props[t].ids[i])), (t + 1, int(props[t + 1].ids[j]))))
            has_successor[t][i] = True
            has_predecessor[t + 1][j] = True
        if progress is not None:
            progress(t)
    if max_gap >= 2:
        for t in range(labels.shape[0] - 2):
            ends, starts = ~has_successor[t], ~has_predecessor[t + 2]
            if not ends.any() or not starts.any():
                continue
            pairs = pair_features(labels[t], labels[t + 2], 2, config, (props[t], props[t + 2]))
            if pairs.i.size == 0:
                continue
            prob = _probabilities(network, pairs)
            cont = np.zeros((pairs.n_a, pairs.n_b))
            cont[pairs.i, pairs.j] = prob[:, CONTINUATION]
            cont[~ends, :] = 0
            cont[:, ~starts] = 0
            for i, j in _hungarian(cont, gap_threshold):
                edges.append(((t, int(props[t].ids[i])), (t + 2, int(props[t + 2].ids[j]))))
                has_successor[t][i] = True
                has_predecessor[t + 2][j] = True
    return edges


@dataclass
class LinkerTrackerConfig(ConfigMixin):
    """Settings of :class:`LearnedLinker` (the ``linker`` tracker plugin).

    Attributes:
        model: a shipped name (:data:`SHIPPED_LINKERS`), a checkpoint file or a folder with ``linker.pt``.
        link_threshold: smallest ``p(continuation) + p(daughter)`` of a one-to-one link.
        division_threshold: smallest geometric mean of the two mother -> daughter probabilities.
        gap_threshold: smallest ``p(continuation)`` across one missed frame.
        max_gap: 1 = consecutive frames only, 2 = also close one-frame gaps (if the model was trained for it).
    """

    model: str = "fluo-nuclei"
    link_threshold: float = 0.5
    division_threshold: float = 0.5
    gap_threshold: float = 0.5
    max_gap: int = 2

    def __post_init__(self) -> None:
        self.model = str(self.model)
        for name in ("link_threshold", "division_threshold", "gap_threshold"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 < value < 1.0):
                raise ValueError(f"LinkerTrackerConfig.{name} must be in (0, 1), got {value!r}")
        if self.max_gap not in (1, 2):
            raise ValueError(f"LinkerTrackerConfig.max_gap must be 1 or 2, got {self.max_gap!r}")


class LearnedLinker(LinkingTracker):
    """The ``linker`` tracker: a trained :class:`LinkerNet` scores candidate links (see module doc)."""

    name = "linker"

    def __init__(self, **config: Any) -> None:
        self.config = LinkerTrackerConfig.from_dict(config)
        self.model_config, self.network, self.meta = load_linker(self.config.model)

    def link(self, labels: np.ndarray, progress: Callable[[int], None] | None = None) -> list[Edge]:
        """Links between the detections of a checked ``(T, H, W)`` label video; ``progress(t)``: see :func:`link_video`."""
        c = self.config
        return link_video(labels, self.network, self.model_config, c.link_threshold, c.division_threshold,
                          c.gap_threshold, c.max_gap, progress=progress)

