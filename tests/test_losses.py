"""Losses and augmentation of tGAN training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tganaug.models.feature_net import _VGG19, MaskFeatureNet, VGG19Features
from tganaug.models.flownet import FlowNet, warp
from tganaug.training.augment import diff_augment
from tganaug.training.data import clip_length, downsample_mask, video_augment
from tganaug.training.losses import (
    PerceptualLoss,
    flow_loss,
    flow_training_loss,
    gaussian_blur,
    lsgan_loss,
    photometric_loss,
    random_smooth_flow,
    shipped_weights_path,
    smoothness_loss,
    temporal_warp_loss,
)

torch.set_num_threads(1)
POLICY = ("brightness", "saturation", "contrast", "translation", "cutout")


class ConstantFlow(torch.nn.Module):
    """Stub flow estimator returning a fixed flow (isolates the loss arithmetic from FlowNet quality)."""

    def __init__(self, dx: float, dy: float) -> None:
        super().__init__()
        self.d = (dx, dy)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        flow = torch.zeros(a.shape[0], 2, *a.shape[-2:])
        flow[:, 0], flow[:, 1] = self.d
        return flow


def _texture(batch: int = 2, size: int = 24, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.interpolate(torch.rand(batch, 1, size // 4, size // 4, generator=g), size=(size, size), mode="bicubic", align_corners=False) * 2 - 1


def test_lsgan_loss_values() -> None:
    ones, zeros = [torch.ones(2, 1, 4, 4)], [torch.zeros(2, 1, 4, 4)]
    assert float(lsgan_loss(ones, True, True)) == 0.0
    assert float(lsgan_loss(zeros, True, True)) == pytest.approx(1.0)
    assert float(lsgan_loss(zeros, False, True)) == 0.0
    assert float(lsgan_loss(torch.full((2, 1, 3, 3), 0.5), True, False)) == pytest.approx(0.25)


def test_blurred_content_keeps_misplaced_content_costly_and_pixel_noise_cheap() -> None:
    g = torch.Generator().manual_seed(0)
    clean = torch.full((2, 1, 48, 48), -0.8)
    clean[..., 12:30, 14:34] = 0.6
    target = clean + 0.06 * torch.randn(clean.shape, generator=g)  # a noisy real frame
    noisy = clean + 0.06 * torch.randn(clean.shape, generator=g)  # an output with noise of the real level
    shifted = torch.roll(clean, 3, dims=-1)  # a smooth output with the content 3 px off
    assert gaussian_blur(noisy, 0.0) is noisy
    blurred = gaussian_blur(noisy, 2.0)
    assert blurred.shape == noisy.shape and (blurred - gaussian_blur(clean, 2.0)).std() < 0.06 / 4  # noise averaged away

    def cost(output: torch.Tensor, sigma: float) -> float:
        return float(F.l1_loss(gaussian_blur(output, sigma), gaussian_blur(target, sigma)))

    # unblurred, the realistic noise costs more than a smooth output; blurred, a fraction of that, while
    # misplaced content stays costly
    noise_plain, noise_blurred = cost(noisy, 0.0) - cost(clean, 0.0), cost(noisy, 2.0) - cost(clean, 2.0)
    assert noise_plain > 0.015 and 0 < noise_blurred < noise_plain / 4
    assert cost(shifted, 2.0) - cost(clean, 2.0) > 5 * noise_blurred
    fake = noisy.clone().requires_grad_(True)
    F.l1_loss(gaussian_blur(fake, 2.0), target).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_perceptual_loss_shipped_and_none() -> None:
    real = _texture(2, 32)
    none = PerceptualLoss("none")
    assert float(none(real, real + 1)) == 0.0
    assert shipped_weights_path("feature_net.pt").is_file(), "tganaug/weights/feature_net.pt must ship"
    loss = PerceptualLoss("shipped")
    assert float(loss(real, real)) == pytest.approx(0.0, abs=1e-6)
    small, large = float(loss(real + 0.05, real)), float(loss(-real, real))
    assert 0 < small < large
    fake = real.clone().requires_grad_(True)
    loss(fake * 0.5, real).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in loss.parameters())  # frozen
    assert float(loss(_texture(1, 30), _texture(1, 30, seed=1))) > 0  # odd size is padded
    with pytest.raises(ValueError, match="perceptual"):
        PerceptualLoss("resnet")


def test_shipped_feature_net_segments_cells() -> None:
    """The shipped feature net learned the task it was trained on (foreground masks)."""
    from tganaug.io import read_ctc
    from tganaug.training.data import downsample_image, normalize_video

    state = torch.load(shipped_weights_path("feature_net.pt"), map_location="cpu", weights_only=True)
    net = MaskFeatureNet(tuple(state["info"]["channels"]))
    net.load_state_dict(state["model"])
    net.eval()
    seq = read_ctc("/work/shared/data/Fluo-N2DH-SIM+", frames=range(50, 51))  # eval frame
    image = downsample_image(torch.from_numpy(normalize_video(seq.images)[0]) * 2 - 1, 2)[:, :336, :312]
    truth = downsample_mask(torch.from_numpy((seq.labels > 0).astype(np.float32)), 2)[:, :336, :312]
    with torch.no_grad():
        predicted = net(image[None]) > 0
    truth = truth[None].bool()
    iou = float((predicted & truth).sum()) / float((predicted | truth).sum())
    assert iou > 0.6, f"foreground IoU {iou:.2f}"


def test_vgg19_option_loads_a_user_state_dict(tmp_path) -> None:
    torch.manual_seed(0)
    layers, c_in = [], 3
    for item in _VGG19[:15]:  # up to conv4_4: the four taps
        if item == "M":
            layers.append(torch.nn.MaxPool2d(2))
        else:
            layers += [torch.nn.Conv2d(c_in, int(item), 3, padding=1), torch.nn.ReLU()]
            c_in = int(item)
    state = {f"features.{k}": v for k, v in torch.nn.Sequential(*layers).state_dict().items()}
    torch.save(state, tmp_path / "vgg19.pth")
    loss = PerceptualLoss(f"vgg19:{tmp_path / 'vgg19.pth'}")
    real = _texture(1, 32)
    assert float(loss(real, real)) == pytest.approx(0.0, abs=1e-6) and float(loss(-real, real)) > 0
    torch.save({"other.0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="VGG19"):
        VGG19Features(str(tmp_path / "bad.pth"))


def test_flow_loss_is_zero_for_the_real_frame_and_reaches_the_fake() -> None:
    torch.manual_seed(0)
    net = FlowNet((4, 8))
    torch.nn.init.normal_(net.head.weight, std=0.5)
    prev, real = _texture(2, 16, 0), _texture(2, 16, 1)
    assert float(flow_loss(net, prev, real, real).detach()) == pytest.approx(0.0, abs=1e-7)
    fake = torch.zeros_like(real, requires_grad=True)
    loss = flow_loss(net, prev, real, fake)
    loss.backward()
    assert float(loss.detach()) > 0 and fake.grad is not None and fake.grad.abs().sum() > 0


def test_temporal_warp_loss_rewards_motion_that_follows_the_real_flow() -> None:
    prev = _texture(1, 24)
    flow = ConstantFlow(2.0, 0.0)  # flow(real t, real t-1) = +2 px: content moves 2 px left
    moved = warp(prev, torch.full((1, 2, 24, 24), 0.0).index_fill_(1, torch.tensor([0]), 2.0))
    assert float(temporal_warp_loss(flow, prev, moved, prev, moved)) == pytest.approx(0.0, abs=1e-6)
    assert float(temporal_warp_loss(flow, prev, moved, prev, prev)) > 0.01  # a static fake is penalised


def test_temporal_warp_loss_against_the_real_residual_charges_a_frozen_fake_for_the_real_change() -> None:
    """``target="real"``: the generated residual is compared with the real one, so a fake that copies its previous
    frame where the real video changes (a ghost) pays exactly the real change, and copying the real change costs 0;
    ``"still"`` (vid2vid) rewards the frozen fake instead."""
    still = ConstantFlow(0.0, 0.0)
    prev = _texture(1, 24, 0)
    real = prev.clone()
    real[..., 8:16, 8:16] += 0.5  # a cell brightens in place: change the motion does not explain
    assert float(temporal_warp_loss(still, prev, real, prev, prev, "still")) == pytest.approx(0.0, abs=1e-7)
    frozen = float(temporal_warp_loss(still, prev, real, prev, prev, "real"))
    assert frozen == pytest.approx(0.5 * 64 / 24**2, rel=1e-5)
    fake_prev = _texture(1, 24, 1)  # another texture making the same change
    fake = fake_prev.clone()
    fake[..., 8:16, 8:16] += 0.5
    assert float(temporal_warp_loss(still, prev, real, fake_prev, fake, "real")) == pytest.approx(0.0, abs=1e-6)
    assert float(temporal_warp_loss(still, prev, real, fake_prev, fake, "still")) == pytest.approx(frozen, rel=1e-5)
    # with motion: the real residual under the flow is what counts
    moving = ConstantFlow(2.0, 0.0)
    moved = warp(prev, torch.zeros(1, 2, 24, 24).index_fill_(1, torch.tensor([0]), 2.0))
    assert float(temporal_warp_loss(moving, prev, moved, prev, moved, "real")) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="temporal target must be one of 'still', 'real', got 'zero'"):
        temporal_warp_loss(still, prev, real, prev, prev, "zero")


def test_photometric_and_smoothness() -> None:
    b = _texture(2, 20)
    truth = torch.zeros(2, 2, 20, 20)
    truth[:, 0], truth[:, 1] = 1.0, -2.0
    a = warp(b, truth)
    assert float(photometric_loss(a, b, truth)) == pytest.approx(0.0, abs=1e-6)
    assert float(photometric_loss(a, b, torch.zeros_like(truth))) > 0.01
    assert float(smoothness_loss(truth)) == 0.0
    f = random_smooth_flow(3, 20, 20, 4.0, torch.Generator().manual_seed(0))
    assert f.shape == (3, 2, 20, 20) and f.abs().max() <= 6.0 + 1e-5 and float(smoothness_loss(f)) > 0


def test_flownet_training_reduces_flow_error() -> None:
    """A few optimiser steps of the FlowNet loss lower its error on known flows (it is trainable)."""
    torch.manual_seed(0)
    net = FlowNet((8, 16))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    frames = _texture(8, 24, 3)
    truth = random_smooth_flow(8, 24, 24, 2.0, torch.Generator().manual_seed(9))
    a = warp(frames, truth)

    def error() -> float:
        with torch.no_grad():
            return float((net(a, frames) - truth)[..., 4:-4, 4:-4].abs().mean())

    before = error()
    before_params = [p.detach().clone() for p in net.parameters()]
    g = torch.Generator().manual_seed(1)
    for _ in range(40):
        # self-supervised terms of the training loss on the pair + the supervised term on these known flows
        loss, _ = flow_training_loss(net, a, frames, smoothness=0.01, supervised=0.0, generator=g)
        loss = loss + F.l1_loss(net(a, frames), truth)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(not torch.equal(p0, p) for p0, p in zip(before_params, net.parameters()))
    assert error() < 0.7 * before, (before, error())


def test_diff_augment() -> None:
    x = torch.rand(4, 4, 16, 16)
    assert torch.equal(diff_augment(x, POLICY, 0.0, torch.Generator().manual_seed(0)), x)
    a = diff_augment(x, POLICY, 1.0, torch.Generator().manual_seed(0))
    b = diff_augment(x, POLICY, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and not torch.equal(a, x)  # seeded, and it does something
    # cutout zeroes a square of a quarter of the area in every sample
    cut = diff_augment(torch.ones(3, 2, 16, 16), ["cutout"], 1.0, torch.Generator().manual_seed(2))
    assert torch.all((cut == 0).float().mean(dim=(1, 2, 3)) == 0.25)
    # brightness adds the same offset to every pixel and channel of a sample
    bright = diff_augment(x, ["brightness"], 1.0, torch.Generator().manual_seed(3)) - x
    assert torch.allclose(bright, bright[:, :1, :1, :1].expand_as(bright), atol=1e-6)
    # translation moves the whole sample (all channels alike)
    moved = diff_augment(x, ["translation"], 1.0, torch.Generator().manual_seed(4))
    assert torch.allclose(moved[:, 0] == 0, moved[:, 1] == 0)
    y = x.clone().requires_grad_(True)
    diff_augment(y, POLICY, 1.0, torch.Generator().manual_seed(0)).sum().backward()
    assert y.grad is not None and y.grad.abs().sum() > 0  # differentiable
    with pytest.raises(ValueError, match="unknown DiffAugment"):
        diff_augment(x, ["hue"], 1.0)


def test_video_augment_is_identical_across_frames_masks_and_background() -> None:
    masks = torch.zeros(4, 12, 12)
    for t in range(4):
        masks[t, 1 + t : 4 + t, 2:5] = 1
    images = masks * 2 - 1  # image bright exactly where the mask is
    background = torch.linspace(-1, 1, 144).view(1, 12, 12)
    seen_change = False
    for seed in range(12):
        im, mk, bg = video_augment(images, masks, background, 1.0, torch.Generator().manual_seed(seed))
        bright = im > im.mean()
        assert torch.equal(bright, mk.bool())  # same geometry for images and masks, every frame
        # background gets the same geometric transform: its gradient direction follows
        ref = video_augment(images, masks, background, 1.0, torch.Generator().manual_seed(seed))[2]
        assert torch.equal(bg, ref)
        seen_change |= not torch.equal(mk, masks)
    assert seen_change
    im, mk, bg = video_augment(images, masks, background, 0.0, torch.Generator().manual_seed(0))
    assert torch.equal(im, images) and torch.equal(mk, masks) and torch.equal(bg, background)


def test_curriculum_clip_length() -> None:
    from tganaug.models.config import TGANConfig

    config = TGANConfig(max_clip_len=10, curriculum_steps=90)
    lengths = [clip_length(step, config) for step in (0, 9, 10, 45, 89, 90, 1000)]
    assert lengths == [1, 1, 2, 5, 9, 10, 10]
