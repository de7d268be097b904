"""The ``procedural`` generator: a transparent, parameter-driven renderer of instance-label videos.

The baseline every learned generator must beat and the fast default for tests. Each frame is, in
this order (all intensities in the ``[0, 1]`` output scale)::

    clean  = background                                   # given (H, W), or a smooth random field
           + [cell] (cell_intensity[id] - background_level) # per-track contrast, constant over its life
           + [cell] texture_sd * texture(id, y - cy, x - cx) # smooth noise that moves with the cell
           + [outside / between cells] halo                 # optional bright rim (phase contrast)
    frame  = clip(Poisson?(G_blur * clean) + N(0, noise_sd^2), 0, 1)

Everything random is drawn from ``numpy.random.default_rng`` seeded by ``(seed, purpose, t)``, so
a video is a pure function of ``(labels, background, seed, config)``, and any frame can be
rendered alone (:meth:`ProceduralRenderer.render_frame`): memory does not grow with ``T``.
:meth:`ProceduralRenderer.from_ctc` estimates every parameter from real CTC frames (normalised
exactly as :class:`tganaug.data.CTCVideoDataset` normalises them), so it is a fair baseline.

Modules: :mod:`~tganaug.procedural.config` (:class:`ProceduralConfig`), :mod:`~tganaug.procedural.renderer`
(:class:`ProceduralRenderer`, :class:`ProceduralState`), :mod:`~tganaug.procedural.halo` (:func:`halo_map`),
:mod:`~tganaug.procedural.estimate` (:func:`estimate_config`, :func:`estimate_background`). The plugin
``tganaug_plugins.generators.procedural`` registers :class:`ProceduralRenderer` as ``procedural``.
"""

from tganaug.procedural.config import ProceduralConfig
from tganaug.procedural.estimate import estimate_background, estimate_config
from tganaug.procedural.halo import cell_edges, halo_map
from tganaug.procedural.renderer import ProceduralRenderer, ProceduralState

__all__ = ["ProceduralConfig", "ProceduralRenderer", "ProceduralState", "cell_edges", "estimate_background", "estimate_config", "halo_map"]
