"""tGAN networks and everything inference needs (one job per module), MONAI networks/nets style.

The training package imports from here; nothing here imports training code.

* :class:`~tganaug.models.lowres_generator.LowResGenerator`: three-encoder video-to-video style UNet
* :class:`~tganaug.models.sr_generator.SRGenerator`: super-resolution style UNet
* :class:`~tganaug.models.discriminator.AttentionPatchDiscriminator`: PatchGAN + linear attention
* :class:`~tganaug.models.flownet.FlowNet` and :func:`~tganaug.models.flownet.warp`
* :class:`~tganaug.models.feature_net.MaskFeatureNet`: perceptual-loss features
* :class:`~tganaug.models.tgan.TGAN`: inference (``from_pretrained``, ``generate``)
* :class:`~tganaug.models.config.TGANConfig` and presets ``tiny``, ``default``, ``paper``
* :mod:`~tganaug.models.checkpoint`: reading checkpoints (``weights_only=True``), :class:`~tganaug.models.checkpoint.CheckpointError`
* :mod:`~tganaug.models.background`: :func:`~tganaug.models.background.background_from_video`
* :mod:`~tganaug.models.normalize`: :func:`~tganaug.models.normalize.normalize_video` (the tGAN intensity scale)
* :mod:`~tganaug.models.downsample`: :func:`~tganaug.models.downsample.downsample_image`, ``downsample_mask``
"""

from tganaug.models.config import PRESETS, TGANConfig, get_config
from tganaug.models.discriminator import AttentionPatchDiscriminator
from tganaug.models.feature_net import MaskFeatureNet
from tganaug.models.flownet import FlowNet, warp
from tganaug.models.lowres_generator import LowResGenerator
from tganaug.models.sr_generator import SRGenerator
from tganaug.models.tgan import TGAN, background_from_video

__all__ = [
    "PRESETS",
    "TGAN",
    "AttentionPatchDiscriminator",
    "FlowNet",
    "LowResGenerator",
    "MaskFeatureNet",
    "SRGenerator",
    "TGANConfig",
    "background_from_video",
    "get_config",
    "warp",
]
