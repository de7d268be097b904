"""tGAN losses: LSGAN (MONAI), L1, perceptual (shipped feature net or user VGG19), flow, temporal warp."""

from __future__ import annotations


import torch
import torch.nn.functional as F
from monai.losses import PatchAdversarialLoss
from torch import nn

from tganaug.models.config import TEMPORAL_TARGETS
from tganaug.models.feature_net import MaskFeatureNet, VGG19Features
from tganaug.models.flownet import FlowNet, warp
from tganaug.utils.weights import shipped_weights_path

__all__ = [
    "PerceptualLoss",
    "flow_loss",
    "flow_training_loss",
    "gaussian_blur",
    "lsgan_loss",
    "photometric_loss",
    "random_smooth_flow",
    "shipped_weights_path",
    "smoothness_loss",
    "temporal_warp_loss",
]

_ADV = PatchAdversarialLoss(criterion="least_squares")


def lsgan_loss(d_out: list[torch.Tensor] | torch.Tensor, target_is_real: bool, for_discriminator: bool) -> torch.Tensor:
    """LSGAN (MSE to 1 / 0) on the LAST element of a MONAI discriminator output list (the patch logits)."""
    logits = d_out[-1] if isinstance(d_out, list) else d_out
    return _ADV(logits, target_is_real=target_is_real, for_discriminator=for_discriminator)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``(B, C, H, W)`` frames blurred by a Gaussian of ``sigma`` pixels (MONAI :class:`~monai.networks.layers.GaussianFilter`,
    zero padding at the edges; differentiable); ``sigma == 0`` returns ``x`` itself.

    The SR trainer compares blurred frames in its content losses (``sr_content_sigma``): blurring averages
    independent pixel noise away (its standard deviation shrinks about ``2 sqrt(pi) sigma`` times) and keeps
    the content, so a noisy output costs almost what a smooth one does there.
    """
    if sigma == 0:
        return x
    from monai.networks.layers import GaussianFilter

    return GaussianFilter(2, sigma).to(x.device)(x)


# Not monai.losses.PerceptualLoss: it downloads its networks (torch hub / lpips / torchvision) at run time.
class PerceptualLoss(nn.Module):
    """Mean L1 distance between the per-level features of a frozen feature network.

    Args:
        spec: ``"shipped"`` (the :class:`MaskFeatureNet` trained on the shared train frames,
            ``tganaug/weights/feature_net.pt``), ``"vgg19:/path.pth"`` (torchvision VGG19 state dict
            supplied by the user) or ``"none"`` (loss is 0).
        channels: widths of the shipped net (must match its file).

    Shapes: ``fake, real (B, 1, H, W)`` in [-1, 1] -> scalar. Features are divided by their
    channel-wise RMS over the real batch so every level counts alike.
    """

    def __init__(self, spec: str = "shipped", channels: tuple[int, ...] = (16, 32, 64)) -> None:
        super().__init__()
        self.spec = spec
        self.net: nn.Module | None
        if spec == "none":
            self.net = None
        elif spec == "shipped":
            path = shipped_weights_path("feature_net.pt")
            if not path.is_file():
                raise FileNotFoundError(f"shipped feature network weights missing: {path}; set perceptual='none' or train them")
            net = MaskFeatureNet(channels)
            state = torch.load(path, map_location="cpu", weights_only=True)
            try:
                net.load_state_dict(state["model"])
            except RuntimeError as error:
                raise ValueError(f"{path} does not match feature_channels={list(channels)}: {error}") from error
            self.net = net
        elif spec.startswith("vgg19:"):
            self.net = VGG19Features(spec[len("vgg19:") :])
        else:
            raise ValueError(f"perceptual must be 'shipped', 'vgg19:PATH' or 'none', got {spec!r}")
        if self.net is not None:
            self.net.eval()
            for p in self.net.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True) -> PerceptualLoss:  # the feature net stays in eval mode
        super().train(mode)
        if self.net is not None:
            self.net.eval()
        return self

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        if self.net is None:
            return fake.new_zeros(())
        div = 2 ** (len(getattr(self.net, "channels", (0, 0, 0, 0, 0))) - 1)
        h, w = fake.shape[-2:]
        pad = (0, (-w) % div, 0, (-h) % div)
        if any(pad):
            fake, real = F.pad(fake, pad, mode="replicate"), F.pad(real, pad, mode="replicate")
        loss = fake.new_zeros(())
        feats_f, feats_r = self.net.features(fake), self.net.features(real)
        for f, r in zip(feats_f, feats_r):
            scale = r.detach().pow(2).mean(dim=(0, 2, 3), keepdim=True).sqrt() + 1e-3
            loss = loss + F.l1_loss(f / scale, r / scale)
        return loss / len(feats_f)


def flow_loss(flownet: FlowNet, real_prev: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """L1 between ``flow(real t-1, real t)`` (target, no grad) and ``flow(real t-1, fake t)``.

    Gradients reach ``fake`` through the FlowNet (whose own parameters this loss does not train).
    Shapes: ``(B, 1, H, W)`` each -> scalar.
    """
    with torch.no_grad():
        target = flownet(real_prev, real)
    return F.l1_loss(flownet(real_prev, fake), target)


def temporal_warp_loss(flownet: FlowNet, real_prev: torch.Tensor, real: torch.Tensor, fake_prev: torch.Tensor, fake: torch.Tensor,
                       target: str = "still") -> torch.Tensor:
    """L1 on the warp residual ``fake t - warp(fake t-1)`` under the real motion ``flow(real t, real t-1)``.

    ``target="still"``: the residual against zero (vid2vid's loss: all change beyond the motion is charged, so
    it rewards copying the previous frame: too static a video, ghosts where cells change shape);
    ``"real"``: against the real frames' own residual ``real t - warp(real t-1)`` under the same flow (the
    generated video should change, beyond the motion, where and as much as the real one does).
    Only pixels whose source position falls inside the frame count. Shapes: ``(B, 1, H, W)`` -> scalar.
    """
    if target not in TEMPORAL_TARGETS:
        raise ValueError(f"temporal target must be one of {', '.join(map(repr, TEMPORAL_TARGETS))}, got {target!r}")
    with torch.no_grad():
        flow = flownet(real, real_prev)
        valid = _inside(flow)
        goal = real - warp(real_prev, flow) if target == "real" else torch.zeros_like(real)
    residual = fake - warp(fake_prev, flow)
    return (valid * (residual - goal).abs()).sum() / valid.sum().clamp_min(1.0)


def _inside(flow: torch.Tensor) -> torch.Tensor:
    height, width = flow.shape[-2:]
    from tganaug.models.flownet import pixel_grid

    pos = pixel_grid(height, width, flow.device, flow.dtype) + flow
    ok = (pos[:, 0] >= 0) & (pos[:, 0] <= width - 1) & (pos[:, 1] >= 0) & (pos[:, 1] <= height - 1)
    return ok.unsqueeze(1).to(flow.dtype)


def photometric_loss(a: torch.Tensor, b: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Mean |a - warp(b, flow)| over pixels whose source lies inside the frame."""
    valid = _inside(flow).detach()
    return (valid * (a - warp(b, flow)).abs()).sum() / valid.sum().clamp_min(1.0)


def smoothness_loss(flow: torch.Tensor) -> torch.Tensor:
    """First-order smoothness: mean absolute spatial gradient of the flow ``(B, 2, H, W)``."""
    return (flow[..., 1:, :] - flow[..., :-1, :]).abs().mean() + (flow[..., :, 1:] - flow[..., :, :-1]).abs().mean()


def random_smooth_flow(batch: int, height: int, width: int, max_shift: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random smooth flow ``(B, 2, H, W)`` in pixels: a global shift up to ``max_shift`` plus a
    low-frequency field up to ``max_shift / 2`` (bilinear up-sampling of a 4x4 random grid)."""
    shift = (torch.rand(batch, 2, 1, 1, generator=generator) * 2 - 1) * max_shift
    coarse = (torch.rand(batch, 2, 4, 4, generator=generator) * 2 - 1) * (max_shift / 2)
    field = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)
    return shift + field


def flow_training_loss(
    flownet: FlowNet,
    prev: torch.Tensor,
    current: torch.Tensor,
    *,
    smoothness: float,
    supervised: float,
    max_shift: float = 4.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Self-supervised FlowNet loss on a real frame pair plus a supervised term on a synthetic pair.

    * real pair: photometric ``|prev - warp(current, flow(prev, current))|`` + ``smoothness`` x smoothness;
    * synthetic pair (weight ``supervised``): ``a = warp(current, F)`` for a random smooth ``F``,
      so ``flow(a, current)`` must equal ``F`` exactly: L1 to ``F`` + photometric.

    Shapes: ``prev, current (B, 1, H, W)`` -> (scalar, scalars for logging).
    """
    flow = flownet(prev, current)
    photo = photometric_loss(prev, current, flow)
    smooth = smoothness_loss(flow)
    loss = photo + smoothness * smooth
    logs = {"flow_photo": float(photo.detach()), "flow_smooth": float(smooth.detach())}
    if supervised > 0:
        truth = random_smooth_flow(current.shape[0], current.shape[-2], current.shape[-1], max_shift, generator).to(current)
        warped = warp(current, truth)
        predicted = flownet(warped, current)
        sup = F.l1_loss(predicted, truth)
        loss = loss + supervised * (sup + photometric_loss(warped, current, predicted))
        logs["flow_sup"] = float(sup.detach())
    return loss, logs
