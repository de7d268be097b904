"""Small mask-predicting UNet whose encoder gives the features of the perceptual loss.

No pretrained VGG can be downloaded here, so the perceptual features come from a small UNet
trained to predict cell foreground masks from the shared *train* frames (by ``train_feature_net`` of
the training package's ``pretrain`` module, ``benchmarks/train_aux_nets.py``); its weights ship in
``tganaug/weights``. Inference never imports training code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tganaug.models.encoder import ConvEncoder

__all__ = ["MaskFeatureNet", "VGG19Features"]


# Not monai.networks.nets.UNet: its nested skip structure does not expose per-level encoder
# features, which the perceptual loss needs; the encoder here is the MONAI-based ConvEncoder.
class MaskFeatureNet(nn.Module):
    """UNet: image -> foreground logits; :meth:`features` returns the encoder's per-level maps.

    Shapes: ``x (B, 1, H, W)`` float in [-1, 1] -> logits ``(B, 1, H, W)``;
    ``features(x)`` -> ``[(B, channels[i], H/2**i, W/2**i)]``. H, W divisible by ``2**(len(channels)-1)``.
    """

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64)) -> None:
        super().__init__()
        self.channels = tuple(channels)
        self.encoder = ConvEncoder(1, self.channels)
        self.up = nn.ModuleList(
            nn.Sequential(nn.Conv2d(self.channels[i + 1] + self.channels[i], self.channels[i], 3, padding=1), nn.LeakyReLU(0.2))
            for i in range(len(self.channels) - 2, -1, -1)
        )
        self.head = nn.Conv2d(self.channels[0], 1, 1)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder feature maps, level 0 first."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encoder(x)
        y = feats[-1]
        for block, skip in zip(self.up, reversed(feats[:-1])):
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([y, skip], dim=1))
        return self.head(y)


#: torchvision VGG19 ``features`` layout ("M" = max-pool); indices match torchvision state-dict keys
_VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


class VGG19Features(nn.Module):
    """VGG19 feature extractor loading a user-supplied torchvision-format state dict (no download).

    Returns relu1_2, relu2_2, relu3_4, relu4_4 features. Grey input in [-1, 1] is repeated to RGB
    and ImageNet-normalised. Shapes: ``(B, 1, H, W) -> list of (B, C_i, H/2**i, W/2**i)``.
    """

    _TAPS = (3, 8, 17, 26)

    def __init__(self, weights_path: str) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for item in _VGG19:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c_in, int(item), 3, padding=1), nn.ReLU(inplace=False)]
                c_in = int(item)
        self.features_seq = nn.Sequential(*layers[: self._TAPS[-1] + 1])
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        feats = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
        missing = [k for k in self.features_seq.state_dict() if k not in feats]
        if missing:
            raise ValueError(f"{weights_path}: not a torchvision VGG19 state dict (missing {missing[:3]})")
        self.features_seq.load_state_dict({k: feats[k] for k in self.features_seq.state_dict()})
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """VGG19 activations at the four taps."""
        x = ((x.repeat(1, 3, 1, 1) + 1) / 2 - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features_seq):
            x = layer(x)
            if i in self._TAPS:
                out.append(x)
        return out
