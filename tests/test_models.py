"""tGAN networks and inference API (tiny config; each test well under a few seconds on CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from _tiny_tgan import TINY, tiny_tgan, two_box_masks

from tganaug.models.config import (
    PRESETS,
    TGANConfig,
    get_config,
    network_config_mismatch,
)
from tganaug.models.discriminator import AttentionPatchDiscriminator, LinearAttention
from tganaug.models.encoder import AttentionFusion, ConvEncoder
from tganaug.models.flownet import FlowNet, warp
from tganaug.models.lowres_generator import LowResGenerator
from tganaug.models.sr_generator import SRGenerator
from tganaug.models.style import (
    CHANNELS_LAST_UPSAMPLING_MAX_PIXELS,
    MappingNetwork,
    ModulatedConv2d,
    NoiseInjection,
    StyleConvBlock,
    upsample_bilinear,
)
from tganaug.models.tgan import SHIPPED_MODELS, background_from_video, check_masks

torch.set_num_threads(1)


def _n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _grads_everywhere(module: torch.nn.Module, loss: torch.Tensor) -> list[str]:
    module.zero_grad(set_to_none=True)
    loss.backward()
    return [name for name, p in module.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]


# --- shapes ---------------------------------------------------------------------------------------
def test_lowres_generator_shapes_and_range() -> None:
    torch.manual_seed(0)
    g = LowResGenerator.from_config(TINY)
    out = g(torch.randint(0, 2, (2, 2, 32, 24)).float(), torch.rand(2, 1, 32, 24) * 2 - 1, torch.rand(2, 1, 32, 24) * 2 - 1)
    assert out.shape == (2, 1, 32, 24) and out.dtype == torch.float32
    assert out.abs().max() <= 1.0 and out.std() > 0
    assert g.decoder.n_styles == 2 * (len(TINY.g_channels) - 1) + 1
    with pytest.raises(ValueError, match="multiples of 4"):
        g(torch.zeros(1, 2, 30, 32), torch.zeros(1, 1, 30, 32), torch.zeros(1, 1, 30, 32))
    with pytest.raises(ValueError, match="2 mask channels"):
        g(torch.zeros(1, 3, 32, 32), torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 32, 32))


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_sr_generator_shapes(scale: int) -> None:
    torch.manual_seed(0)
    sr = SRGenerator(scale, (4, 8), 8, 8, 2)
    x = torch.rand(2, 1, 12, 16) * 2 - 1
    out = sr(x)
    assert out.shape == (2, 1, 12 * scale, 16 * scale)
    assert out.abs().max() <= 1.0
    # residual design: the output stays close to the bilinear up-sampling of the input at init
    up = torch.nn.functional.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False) if scale > 1 else x
    assert (out - up).abs().mean() < 1.0


@pytest.mark.parametrize("scale", [2, 4])
def test_pixel_shuffle_sr_interleaves_sub_pixel_maps_with_per_pixel_noise(scale: int) -> None:
    torch.manual_seed(0)
    sr = SRGenerator(scale, (4, 8), 8, 8, 2, upsampling="pixel_shuffle")
    decoder = sr.decoder
    assert decoder.shuffle == scale and decoder.to_image.out_channels == scale**2
    x = torch.rand(2, 1, 12, 16) * 2 - 1
    out = sr(x)
    assert out.shape == (2, 1, 12 * scale, 16 * scale) and out.abs().max() <= 1.0
    # no feature map at the output size: every decoder block runs on the input grid
    sizes = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: sizes.append(tuple(o.shape[-2:]))) for m in decoder.modules()
             if isinstance(m, StyleConvBlock)]
    sr(x)
    for hook in hooks:
        hook.remove()
    assert sizes and max(sizes) == (12, 16)
    # the output layer's sub-pixel map k lands at offset (k // scale, k % scale) of every output block
    styles = sr.styles(1, generator=torch.Generator().manual_seed(1))
    features = sr.encoder(x[:1])
    with torch.no_grad():
        decoder.to_image_bias.zero_()
        decoder.to_image_bias[0, scale + 1] = 5.0  # sub-pixel (1, 1) saturates
        raw = decoder(features, styles, torch.Generator().manual_seed(2))
    assert (raw[0, 0, 1::scale, 1::scale] > 0.99).all() and (raw[0, 0, 0::scale, 0::scale] < 0.99).all()
    # per-sub-pixel noise: the same seed gives the same frame, noise scales decorrelate neighbouring output pixels
    with torch.no_grad():
        decoder.to_image_bias.zero_()
        decoder.subpixel_noise.fill_(0.0)
        quiet = decoder(features, styles, torch.Generator().manual_seed(3))
        decoder.subpixel_noise.fill_(0.5)
        noisy = decoder(features, styles, torch.Generator().manual_seed(3))
        again = decoder(features, styles, torch.Generator().manual_seed(3))
    assert torch.equal(noisy, again) and not torch.equal(noisy, quiet)
    diff = (noisy - quiet)[0, 0]
    assert diff[0::scale, 0::scale].std() > 0.05 and not torch.allclose(diff[0::scale, 0::scale], diff[0::scale, 1::scale])
    with pytest.raises(ValueError, match="upsampling must be one of 'bilinear', 'pixel_shuffle'"):
        SRGenerator(scale, (4, 8), 8, 8, 2, upsampling="nearest")


@pytest.mark.parametrize("scale", [2, 4])
def test_mask_conditioned_sr_sees_the_full_resolution_masks(scale: int) -> None:
    torch.manual_seed(0)
    sr = SRGenerator(scale, (4, 8), 8, 8, 2, upsampling="pixel_shuffle", mask_input=True).eval()
    assert sr.encoder.stages[0][0].conv.in_channels == 1 + scale**2
    x = torch.rand(1, 1, 8, 12) * 2 - 1
    masks = torch.zeros(1, 1, 8 * scale, 12 * scale)
    masks[..., 5 : 5 + 3 * scale, 7 : 7 + 4 * scale] = 1
    styles = sr.styles(1, generator=torch.Generator().manual_seed(1))

    def run(m: torch.Tensor) -> torch.Tensor:
        return sr(x, styles, torch.Generator().manual_seed(2), masks=m)

    out = run(masks)
    assert out.shape == (1, 1, 8 * scale, 12 * scale) and out.abs().max() <= 1.0
    assert torch.equal(out, run(masks))  # same seed, same frame
    # a one-pixel change of the full-resolution mask, invisible after area down-sampling, reaches the output
    moved = masks.clone()
    moved[..., 5, 7] = 0
    assert torch.equal((torch.nn.functional.avg_pool2d(moved, scale) >= 0.5), (torch.nn.functional.avg_pool2d(masks, scale) >= 0.5))
    assert not torch.allclose(out, run(moved), atol=1e-6)
    # the encoder input is the low-res frame followed by the masks' sub-pixel planes (pixel_unshuffle layout)
    seen = []
    hook = sr.encoder.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    run(masks)
    hook.remove()
    assert torch.equal(seen[0][:, :1], x)
    assert torch.equal(seen[0][0, 1 + scale + 1], masks[0, 0, 1::scale, 1::scale])  # plane k = sub-pixel (k // s, k % s)
    with pytest.raises(ValueError, match=rf"needs the full-resolution masks \(1, 1, {8 * scale}, {12 * scale}\), got none"):
        sr(x, styles)
    with pytest.raises(ValueError, match=r"got \(1, 1, 8, 12\)"):
        sr(x, styles, masks=torch.zeros(1, 1, 8, 12))
    with pytest.raises(ValueError, match="built without mask_input: it takes no masks"):
        SRGenerator(scale, (4, 8), 8, 8, 2)(x, masks=masks)


def test_discriminator_shapes_and_attention_position() -> None:
    torch.manual_seed(0)
    d = AttentionPatchDiscriminator.from_config(TINY, in_channels=4)
    outs = d(torch.rand(3, 4, 32, 32))
    assert isinstance(outs, list) and outs[-1].shape[:2] == (3, 1)
    assert outs[0].shape == (3, TINY.d_channels, 16, 16)  # initial conv (stride 2) then attention
    assert len(outs) == TINY.d_layers + 2
    attention = LinearAttention(8, 2, 4)
    x = torch.rand(2, 8, 5, 7)
    attention.gamma.data.zero_()
    assert torch.equal(attention(x), x)  # residual: gamma = 0 is the identity


def test_flownet_shapes_any_size_and_zero_init() -> None:
    net = FlowNet((4, 8, 8))
    a, b = torch.rand(2, 1, 30, 21), torch.rand(2, 1, 30, 21)
    flow = net(a, b)
    assert flow.shape == (2, 2, 30, 21)
    assert torch.all(flow == 0)  # zero-initialised head: identity flow before training


def test_style_blocks() -> None:
    torch.manual_seed(0)
    mapping = MappingNetwork(8, 6, 3)
    assert mapping(torch.randn(5, 8)).shape == (5, 6)
    conv = ModulatedConv2d(4, 3, 3, 6)
    x, w = torch.randn(2, 4, 9, 9), torch.randn(2, 6)
    out = conv(x, w)
    assert out.shape == (2, 3, 9, 9)
    # demodulation: scaling the whole style vector's modulation leaves the output unchanged
    conv.affine.bias.data *= 3.0
    conv.affine.weight.data *= 3.0
    assert torch.allclose(conv(x, w), out, atol=1e-4)
    # per-sample weights: sample 0 does not depend on sample 1's style
    w2 = w.clone()
    w2[1] += 5
    assert torch.allclose(conv(x, w2)[0], conv(x, w)[0])
    assert torch.allclose(conv(x[1:], w[1:]), conv(x, w)[1:], atol=1e-6)  # batch-1 path == grouped path
    # a skip input is a channel concatenation: split convolution (batch 1) and concatenation (batch 2) agree with it
    for batch in (1, 2):
        part, skip = x[:batch, :3], x[:batch, 3:]
        assert torch.allclose(conv(part, w[:batch], skip=skip), conv(x[:batch], w[:batch]), atol=1e-5)
    with pytest.raises(ValueError, match="expects 4 input channels, got 3"):
        conv(x[:1, :3], w[:1])
    with pytest.raises(ValueError, match="needs a style w or a modulated weight"):
        conv(x)
    noise = NoiseInjection(3)
    y = torch.zeros(1, 3, 4, 4)
    assert torch.equal(noise(y), y)  # zero-initialised scale
    noise.weight.data.fill_(1.0)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(noise(y, g1), noise(y, g2)) and noise(y, g1).abs().sum() > 0


@pytest.mark.parametrize("size", [8, 32, 48])
def test_upsample_bilinear_matches_interpolate_on_both_layout_paths(size: int) -> None:
    """Small maps go through channels-last, larger ones not; either way the values and gradients of F.interpolate, contiguous."""
    assert (size * size <= CHANNELS_LAST_UPSAMPLING_MAX_PIXELS) == (size <= 32)
    x = torch.randn(2, 16, size, size, requires_grad=True)
    target = (2 * size, 2 * size + 4)
    out = upsample_bilinear(x, target)
    expected = torch.nn.functional.interpolate(x, size=target, mode="bilinear", align_corners=False)
    assert out.shape == (2, 16, *target) and out.is_contiguous()
    assert torch.allclose(out, expected, atol=1e-6)
    grad, grad_ref = (torch.autograd.grad((y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum(), x)[0] for y in (out, expected))
    assert torch.allclose(grad, grad_ref, atol=1e-5)


def test_style_conv_block_in_place_path_matches_the_plain_formula() -> None:
    """The in-place noise/bias/LeakyReLU equals act(conv + s*noise + b), values and gradients, batch 1 and 3."""
    torch.manual_seed(0)
    block = StyleConvBlock(4, 5, 6)
    block.noise.weight.data.normal_()
    block.bias.data.normal_()
    for batch in (1, 3):
        x = torch.randn(batch, 4, 8, 8, requires_grad=True)
        w = torch.randn(batch, 6)
        out = block(x, w, torch.Generator().manual_seed(1))
        noise = torch.randn((batch, 1, 8, 8), generator=torch.Generator().manual_seed(1))
        expected = torch.nn.functional.leaky_relu(block.conv(x, w) + block.noise.weight * noise + block.bias, 0.2)
        assert torch.allclose(out, expected, atol=1e-6)
        grads = torch.autograd.grad(out.square().sum(), [x, block.bias, block.noise.weight])
        grads_ref = torch.autograd.grad(expected.square().sum(), [x, block.bias, block.noise.weight])
        assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(grads, grads_ref))


def test_precomputed_background_features_give_the_same_frame() -> None:
    torch.manual_seed(0)
    g = LowResGenerator.from_config(TINY).eval()
    masks, prev, bg = torch.randint(0, 2, (1, 2, 32, 32)).float(), torch.rand(1, 1, 32, 32) * 2 - 1, torch.rand(1, 1, 32, 32) * 2 - 1
    styles = g.styles(1, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        direct = g(masks, prev, bg, styles, torch.Generator().manual_seed(1))
        cached = g(masks, prev, bg, styles, torch.Generator().manual_seed(1), background_features=g.encode_background(bg))
        assert torch.equal(direct, cached)
        with pytest.raises(ValueError, match="background feature maps"):
            g(masks, prev, bg, styles, background_features=g.encode_background(bg)[:-1])
        with pytest.raises(ValueError, match="background has size"):
            g(masks, prev, bg[..., :16], styles)



@pytest.mark.parametrize("upsampling", ["bilinear", "pixel_shuffle"])
def test_precomputed_decoder_weights_give_the_same_frames(upsampling: str) -> None:
    """Modulating once per video (inference) equals modulating in every call, for both generators and batch sizes."""
    torch.manual_seed(0)
    g = LowResGenerator.from_config(TINY).eval()
    sr = SRGenerator(2, (4, 8), 8, 8, 2, upsampling=upsampling).eval()
    for module in (g, sr):  # non-zero noise scales, so the seeded noise draws must line up too
        for name, p in module.named_parameters():
            if "noise" in name:
                p.data.normal_()
    for batch in (1, 2):
        masks, prev, bg = torch.randint(0, 2, (batch, 2, 32, 32)).float(), torch.rand(batch, 1, 32, 32) * 2 - 1, torch.rand(batch, 1, 32, 32) * 2 - 1
        styles = g.styles(batch, generator=torch.Generator().manual_seed(0))
        sr_styles = sr.styles(batch, generator=torch.Generator().manual_seed(0))
        weights, sr_weights = g.decoder.modulate(styles), sr.decoder.modulate(sr_styles)
        assert len(weights) == g.decoder.n_styles and len(sr_weights) == sr.decoder.n_styles
        assert weights[0].shape == (batch, *g.decoder.convs()[0].weight.shape)
        with torch.no_grad():
            direct = g(masks, prev, bg, styles, torch.Generator().manual_seed(1))
            cached = g(masks, prev, bg, None, torch.Generator().manual_seed(1), decoder_weights=weights)
            assert torch.equal(direct, cached)
            assert torch.equal(sr(direct, sr_styles, torch.Generator().manual_seed(2)),
                               sr(direct, None, torch.Generator().manual_seed(2), decoder_weights=sr_weights))
            with pytest.raises(ValueError, match="modulated weights, got"):
                g(masks, prev, bg, None, decoder_weights=weights[:-1])
            with pytest.raises(ValueError, match="modulated weight has shape"):
                g(masks, prev, bg, None, decoder_weights=[w[:1].expand(batch + 1, *w.shape[1:]) for w in weights])
    with pytest.raises(ValueError, match="styles per sample"):
        g.decoder.modulate(styles[:, :-1])
    with pytest.raises(ValueError, match="needs styles or modulated weights"):
        g.decoder(g.mask_encoder(masks), None)

def test_residual_background_adds_the_decoder_output_to_the_reference() -> None:
    torch.manual_seed(0)
    plain = LowResGenerator.from_config(TINY).eval()
    residual = LowResGenerator.from_config(TINY.replace(residual_background=True)).eval()
    residual.load_state_dict(plain.state_dict())  # same weights: only the output head differs
    masks, prev = torch.randint(0, 2, (2, 2, 32, 32)).float(), torch.rand(2, 1, 32, 32) * 2 - 1
    bg = torch.linspace(-1, 1, 32).view(1, 1, 1, 32).expand(2, 1, 32, 32).contiguous()
    styles = plain.styles(2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        decoded = plain(masks, prev, bg, styles, torch.Generator().manual_seed(1))
        out = residual(masks, prev, bg, styles, torch.Generator().manual_seed(1))
    assert torch.equal(out, torch.clamp(bg + decoded, -1, 1))
    assert out.min() >= -1 and out.max() <= 1 and not torch.equal(out, decoded)


def test_attention_fusion_is_a_convex_combination() -> None:
    torch.manual_seed(0)
    fusion = AttentionFusion(6, 3)
    a = torch.randn(2, 6, 5, 5)
    assert torch.allclose(fusion(a, a, a), a, atol=1e-6)  # weights sum to 1
    out = fusion(a, torch.zeros_like(a), torch.ones_like(a))
    assert fusion.last_weights is not None and fusion.last_weights.shape == (2, 3, 5, 5)
    assert torch.allclose(fusion.last_weights.sum(1), torch.ones(2, 5, 5), atol=1e-6)
    lo = torch.minimum(torch.minimum(a, torch.zeros_like(a)), torch.ones_like(a))
    hi = torch.maximum(torch.maximum(a, torch.zeros_like(a)), torch.ones_like(a))
    assert torch.all(out >= lo - 1e-6) and torch.all(out <= hi + 1e-6)
    assert len(ConvEncoder(1, (4, 8, 8))(torch.zeros(1, 1, 16, 16))) == 3


# --- defects of the reference code ------------------------------------------------------------------
def test_three_encoders_are_separate_and_all_receive_gradients() -> None:
    torch.manual_seed(0)
    g = LowResGenerator.from_config(TINY)
    enc = [g.mask_encoder, g.prev_encoder, g.background_encoder]
    ids = [{id(p) for p in e.parameters()} for e in enc]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2]) and not (ids[0] & ids[2])  # no shared weights
    masks = torch.randint(0, 2, (2, 2, 32, 32)).float()
    out = g(masks, torch.rand(2, 1, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1)
    dead = _grads_everywhere(g, (out * torch.randn_like(out)).sum())
    assert dead == [], f"parameters without gradient: {dead}"


def test_background_input_changes_output_and_masks_drive_it() -> None:
    torch.manual_seed(0)
    g = LowResGenerator.from_config(TINY).eval()
    masks, prev = torch.zeros(1, 2, 32, 32), torch.zeros(1, 1, 32, 32)
    styles = g.styles(1, generator=torch.Generator().manual_seed(0))

    def run(m: torch.Tensor, bg: torch.Tensor) -> torch.Tensor:
        return g(m, prev, bg, styles, torch.Generator().manual_seed(1))

    base = run(masks, torch.full((1, 1, 32, 32), -0.5))
    assert not torch.allclose(base, run(masks, torch.full((1, 1, 32, 32), 0.5)), atol=1e-4)
    masks2 = masks.clone()
    masks2[..., 8:16, 8:16] = 1
    assert not torch.allclose(base, run(masks2, torch.full((1, 1, 32, 32), -0.5)), atol=1e-4)


@pytest.mark.parametrize("net", ["sr", "sr-pixel-shuffle", "sr-masks", "d", "flow"])
def test_gradients_reach_every_parameter(net: str) -> None:
    torch.manual_seed(0)
    if net.startswith("sr"):
        config = {"sr": TINY, "sr-pixel-shuffle": TINY.replace(sr_upsampling="pixel_shuffle"),
                  "sr-masks": TINY.replace(sr_upsampling="pixel_shuffle", sr_scale=4, sr_mask_input=True)}[net]
        module = SRGenerator.from_config(config)
        if config.sr_upsampling == "pixel_shuffle":
            torch.nn.init.normal_(module.decoder.subpixel_noise, std=0.1)  # zero-initialised: no gradient reaches the blocks' noise otherwise
        masks = (torch.rand(2, 1, 64, 64) > 0.5).float() if config.sr_mask_input else None
        out = module(torch.rand(2, 1, 16, 16) * 2 - 1, masks=masks)
    elif net == "d":
        module = AttentionPatchDiscriminator.from_config(TINY, 4)
        out = module(torch.rand(2, 4, 32, 32))[-1]
    else:
        module = FlowNet(TINY.flow_channels)
        torch.nn.init.normal_(module.head.weight, std=0.1)  # the zero head would block the rest at init
        out = module(torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16))
    dead = _grads_everywhere(module, (out * torch.randn_like(out)).sum())
    assert dead == [], f"parameters without gradient: {dead}"


def test_warp_moves_content_by_exactly_the_flow() -> None:
    torch.manual_seed(0)
    image = torch.rand(2, 3, 16, 20)
    flow = torch.zeros(2, 2, 16, 20)
    assert torch.allclose(warp(image, flow), image, atol=1e-6)  # zero flow = identity
    flow[:, 0] = 3.0  # out(x) = image(x + 3): content moves 3 px left
    out = warp(image, flow)
    assert torch.allclose(out[..., :, :-3], image[..., :, 3:], atol=1e-5)
    flow = torch.zeros(2, 2, 16, 20)
    flow[:, 1] = -2.0  # rows: content moves 2 px down
    out = warp(image, flow)
    assert torch.allclose(out[..., 2:, :], image[..., :-2, :], atol=1e-5)
    flow = torch.zeros(2, 2, 16, 20)
    flow[:, 0] = 0.5  # half a pixel: bilinear average of neighbours
    out = warp(image, flow)
    assert torch.allclose(out[..., :, :-1], 0.5 * (image[..., :, :-1] + image[..., :, 1:]), atol=1e-5)


def test_shipped_flownet_estimates_a_known_shift() -> None:
    """The shipped FlowNet (pre-trained on SIM+/T98G/E. coli train frames) recovers a known shift."""
    from tganaug.training.losses import shipped_weights_path

    path = shipped_weights_path("flownet.pt")
    assert path.is_file(), "tganaug/weights/flownet.pt must ship"
    state = torch.load(path, map_location="cpu", weights_only=True)
    net = FlowNet(tuple(state["info"]["channels"]))
    net.load_state_dict(state["model"])
    net.eval()
    from tganaug.io import read_ctc
    from tganaug.models.downsample import downsample_image
    from tganaug.models.normalize import normalize_video

    seq = read_ctc("/work/shared/data/Fluo-N2DH-SIM+", frames=range(45, 46))  # an eval frame: never trained on
    image = torch.from_numpy(normalize_video(seq.images)[0]) * 2 - 1  # (1, H, W)
    image = downsample_image(image, 2)[:, 40:168, 40:168]  # (1, 128, 128), cells in view
    image = image[None]
    for dx, dy in [(2.0, -1.0), (-3.0, 1.5)]:
        truth = torch.zeros(1, 2, 128, 128)
        truth[:, 0], truth[:, 1] = dx, dy
        a = warp(image, truth)  # a(x) = image(x + d)
        with torch.no_grad():
            flow = net(a, image)
        inner = flow[0, :, 16:-16, 16:-16]
        error = (inner - torch.tensor([dx, dy]).view(2, 1, 1)).abs().median()
        assert error < 0.75, f"median flow error {error:.2f} px for shift ({dx}, {dy})"


# --- config ----------------------------------------------------------------------------------------
def test_config_json_roundtrip_and_errors(tmp_path) -> None:
    for name, config in PRESETS.items():
        assert TGANConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config, name
    path = tmp_path / "c.json"
    PRESETS["tiny"].save(path)
    assert get_config(path) == PRESETS["tiny"]
    with pytest.raises(ValueError, match="unknown config key.*bogus"):
        TGANConfig.from_dict({"bogus": 1})
    with pytest.raises(ValueError, match="g_channels"):
        TGANConfig.from_dict({"g_channels": 16})
    with pytest.raises(FileNotFoundError):
        get_config("nonexistent-preset")
    diffs = network_config_mismatch(TINY, TINY.replace(g_channels=(4, 8, 16)), "lowres")
    assert len(diffs) == 1 and "g_channels" in diffs[0]
    # the residual head changes what the low-res weights mean: a mismatch, and off in configs saved without it
    diffs = network_config_mismatch(TINY, TINY.replace(residual_background=True), "lowres")
    assert len(diffs) == 1 and "residual_background" in diffs[0]
    legacy = {k: v for k, v in TINY.to_dict().items() if k != "residual_background"}
    assert TGANConfig.from_dict(legacy).residual_background is False
    # so does the SR up-sampling; configs saved before it existed are bilinear
    diffs = network_config_mismatch(TINY, TINY.replace(sr_upsampling="pixel_shuffle"), "sr")
    assert len(diffs) == 1 and "sr_upsampling" in diffs[0]
    assert TGANConfig.from_dict({k: v for k, v in TINY.to_dict().items() if k != "sr_upsampling"}).sr_upsampling == "bilinear"
    with pytest.raises(ValueError, match="sr_upsampling must be one of 'bilinear', 'pixel_shuffle', got 'bicubic'"):
        TINY.replace(sr_upsampling="bicubic")
    # and whether the SR stage sees the masks; configs saved before it existed are image-only
    diffs = network_config_mismatch(TINY, TINY.replace(sr_mask_input=True), "sr")
    assert len(diffs) == 1 and "sr_mask_input: checkpoint False != config True" in diffs[0]
    assert TGANConfig.from_dict({k: v for k, v in TINY.to_dict().items() if k != "sr_mask_input"}).sr_mask_input is False
    with pytest.raises(ValueError, match="'sr_mask_input' must be true/false"):
        TGANConfig.from_dict({"sr_mask_input": 1})
    # the SR content blur is a loss setting, not a network key; a negative one is refused
    assert network_config_mismatch(TINY, TINY.replace(sr_content_sigma=2.0), "sr") == []
    with pytest.raises(ValueError, match="sr_content_sigma must be >= 0, got -1.0"):
        TINY.replace(sr_content_sigma=-1.0)
    # the temporal-loss target likewise: a loss setting, old configs read as "still", an unknown one refused
    assert network_config_mismatch(TINY, TINY.replace(temporal_target="real"), "lowres") == []
    assert TGANConfig.from_dict({k: v for k, v in TINY.to_dict().items() if k != "temporal_target"}).temporal_target == "still"
    with pytest.raises(ValueError, match="temporal_target must be one of 'still', 'real', got 'zero'"):
        TINY.replace(temporal_target="zero")


def test_preset_sizes() -> None:
    n_default = _n_params(LowResGenerator.from_config(PRESETS["default"]))
    n_paper = _n_params(LowResGenerator.from_config(PRESETS["paper"]))
    assert 1e6 < n_default < 5e6  # trains on a 2-core CPU
    assert 55e6 < n_paper < 90e6  # the reference generator has about 70 M parameters
    assert _n_params(LowResGenerator.from_config(TINY)) < 20_000


# --- inference API ----------------------------------------------------------------------------------
def test_generate_contract_and_determinism() -> None:
    model = tiny_tgan()
    labels = two_box_masks()
    video = model.generate(labels, seed=5)
    assert video.shape == labels.shape and video.dtype == np.float32
    assert video.min() >= 0.0 and video.max() <= 1.0 and video.std() > 0
    assert np.array_equal(video, model.generate(labels, seed=5))  # same seed, same output
    assert not np.array_equal(video, model.generate(labels, seed=6))
    assert np.array_equal(video, model.generate(labels > 0, seed=5))  # instance ids are binarised
    assert np.array_equal(video, model.generate((labels > 0).astype(np.float32), seed=5))
    frames = list(model.iter_frames(labels, seed=5))
    assert len(frames) == 3 and np.array_equal(np.stack(frames), video)  # streaming = batch
    single = model.generate(labels[:1], seed=5)
    assert np.array_equal(single[0], video[0])  # frame 0 does not depend on later frames
    no_sr = tiny_tgan(with_sr=False).generate(labels, seed=5)
    assert no_sr.shape == labels.shape


def _noisy(model):
    """``model`` with every noise scale non-zero (they start at zero), so a video given the wrong noise shows."""
    with torch.no_grad():
        for name, parameter in [*model.lowres.named_parameters(), *model.sr.named_parameters()]:
            if name.endswith("noise.weight") or name.endswith("subpixel_noise"):
                parameter.fill_(0.3)
    return model


@pytest.mark.parametrize("variant", ["tiny", "x4-masks-pixel-shuffle"])
def test_generate_batch_renders_each_video_as_generate_does(variant: str) -> None:
    """Video b of a batch gets its own styles, noise and background: ``generate(masks[b], backgrounds[b], seeds[b])``
    up to float rounding, and the same bytes for the same arguments."""
    from tganaug.models.tgan import TGAN

    if variant == "tiny":
        model = _noisy(tiny_tgan())
    else:
        config = TINY.replace(sr_scale=4, sr_upsampling="pixel_shuffle", sr_mask_input=True)
        torch.manual_seed(0)
        model = _noisy(TGAN(LowResGenerator.from_config(config), config, SRGenerator.from_config(config), default_background=0.2))
    rng = np.random.default_rng(0)
    videos = [two_box_masks(3), two_box_masks(3)[:, ::-1].copy(), np.roll(two_box_masks(3), 4, axis=2)]
    backgrounds = [None, rng.uniform(0.2, 0.4, (37, 29)).astype(np.float32), None]
    seeds = [5, 6, 7]
    batch = model.generate_batch(videos, backgrounds, seeds)
    assert batch.shape == (3, 3, 37, 29) and batch.dtype == np.float32
    singles = np.stack([model.generate(v, background=bg, seed=seed) for v, bg, seed in zip(videos, backgrounds, seeds)])
    assert np.abs(batch - singles).max() < 1e-5
    assert min(np.abs(batch[a] - batch[b]).mean() for a, b in [(0, 1), (0, 2), (1, 2)]) > 1e-3  # three different videos
    assert np.array_equal(batch, model.generate_batch(videos, backgrounds, seeds))
    swapped = model.generate_batch([videos[0], videos[0]], [None, None], [6, 5])  # the seeds go with their videos
    assert np.abs(swapped[1] - singles[0]).max() < 1e-5 and np.abs(swapped[0] - singles[0]).mean() > 1e-3
    assert np.array_equal(model.generate_batch(videos[:1], [None], [5])[0], singles[0])  # a batch of one: the same bytes
    with pytest.raises(ValueError, match="one shape"):
        model.generate_batch([videos[0], videos[0][:2]])
    with pytest.raises(ValueError, match="3 videos need 3 backgrounds and seeds, got 3 and 2"):
        model.generate_batch(videos, backgrounds, seeds[:2])
    with pytest.raises(ValueError, match="at least one video"):
        model.generate_batch([])


def test_noise_like_draws_each_sample_from_its_own_generator() -> None:
    from tganaug.models.style import noise_like

    generators = [torch.Generator().manual_seed(seed) for seed in (1, 2)]
    noise = noise_like((2, 1, 4, 4), generators, torch.device("cpu"), torch.float32)
    for b, seed in enumerate((1, 2)):
        assert torch.equal(noise[b:b + 1], torch.randn((1, 1, 4, 4), generator=torch.Generator().manual_seed(seed)))
    with pytest.raises(ValueError, match="2 noise generators for a batch of 3"):
        noise_like((3, 1, 4, 4), generators, torch.device("cpu"), torch.float32)


def test_generate_background_changes_output() -> None:
    model = tiny_tgan()
    labels = two_box_masks()
    dark = model.generate(labels, background=np.full(labels.shape[1:], 0.1, np.float32), seed=1)
    bright = model.generate(labels, background=np.full(labels.shape[1:], 0.9, np.float32), seed=1)
    assert np.abs(dark - bright).mean() > 1e-3


@pytest.mark.parametrize(
    ("masks", "error", "match"),
    [
        (np.zeros((0, 8, 8), np.uint16), ValueError, "T = 0"),
        (np.zeros((8, 8), np.uint16), ValueError, r"\(T, H, W\)"),
        (np.full((2, 8, 8), 0.5, np.float32), ValueError, "binary"),
        (np.full((2, 8, 8), np.nan, np.float32), ValueError, "NaN"),
        (np.full((2, 8, 8), -1, np.int32), ValueError, ">= 0"),
        (np.zeros((2, 8, 8), np.complex64), TypeError, "dtype"),
        ([[[0, 1]]], TypeError, "numpy array"),
    ],
)
def test_generate_rejects_bad_masks(masks, error, match) -> None:
    with pytest.raises(error, match=match):
        tiny_tgan().generate(masks)


def test_generate_rejects_bad_background() -> None:
    model = tiny_tgan()
    labels = two_box_masks()
    with pytest.raises(ValueError, match="NaN"):
        model.generate(labels, background=np.full(labels.shape[1:], np.nan, np.float32))
    with pytest.raises(ValueError, match="shape"):
        model.generate(labels, background=np.zeros((5, 5), np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.generate(labels, background=np.full(labels.shape[1:], 300.0, np.float32))
    assert check_masks(np.array([[[0, 2]]], np.uint8)).dtype == bool


def test_super_resolve_runs_the_sr_stage_on_the_area_down_sampled_frames() -> None:
    from tganaug.models.tgan import TGAN
    from tganaug.models.downsample import downsample_image

    model = tiny_tgan()
    rng = np.random.default_rng(0)
    images = rng.uniform(0.1, 0.9, (2, 37, 29)).astype(np.float32)
    masks = two_box_masks(2)
    out = model.super_resolve(images, masks, seed=0)
    assert out.shape == images.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert np.array_equal(out, model.super_resolve(images, masks, seed=0))
    # with a zero residual the SR output is the bilinear up-sampling of its input: the area down-sampling
    with torch.no_grad():
        model.sr.decoder.to_image.weight.zero_()
        model.sr.decoder.to_image_bias.zero_()
    flat = model.super_resolve(images, masks, seed=0)
    padded = torch.nn.functional.pad(torch.from_numpy(images)[:, None] * 2 - 1, (0, 3, 0, 3), mode="replicate")  # to 40 x 32
    expected = torch.nn.functional.interpolate(downsample_image(padded, 2), scale_factor=2, mode="bilinear", align_corners=False)
    assert np.allclose(flat, ((expected[:, 0, :37, :29] + 1) / 2).numpy(), atol=1e-6)
    # an image-only SR stage ignores the masks; one with mask_input sees them
    assert np.array_equal(out, tiny_tgan().super_resolve(images, np.zeros_like(masks), seed=0))
    torch.manual_seed(0)
    with_masks = TGAN(LowResGenerator.from_config(TINY), TINY, SRGenerator.from_config(TINY.replace(sr_mask_input=True)))
    torch.nn.init.normal_(with_masks.sr.decoder.to_image.weight, std=0.5)
    assert not np.array_equal(with_masks.super_resolve(images, masks), with_masks.super_resolve(images, np.zeros_like(masks)))
    with pytest.raises(ValueError, match=r"images have shape \(2, 37, 30\), the masks \(2, 37, 29\)"):
        model.super_resolve(np.zeros((2, 37, 30), np.float32), masks)
    with pytest.raises(ValueError, match=r"finite and in \[0, 1\]"):
        model.super_resolve(images * 2, masks)
    with pytest.raises(ValueError, match="no SR stage"):
        tiny_tgan(with_sr=False).super_resolve(images, masks)


def test_background_from_video_recovers_the_background() -> None:
    rng = np.random.default_rng(0)
    background = rng.uniform(100, 200, (20, 24))
    images = np.repeat(background[None], 6, axis=0)
    labels = np.zeros((6, 20, 24), np.uint16)
    for t in range(6):
        labels[t, 2:8, 2 + 3 * t : 8 + 3 * t] = 1
        images[t][labels[t] > 0] = 1000  # bright cell moving right
    from tganaug.models.background import background_from_video as raw_bg

    estimate = raw_bg(images.astype(np.uint16), labels, percentiles=None, dilate=0)
    assert np.allclose(estimate, background.astype(np.uint16), atol=0.5)
    normalised = background_from_video(images.astype(np.uint16), labels)
    assert normalised.shape == (20, 24) and normalised.dtype == np.float32
    assert 0 <= normalised.min() and normalised.max() <= 1
    with pytest.raises(ValueError, match="same shape"):
        background_from_video(images[:, :5], labels)


def test_weights_fingerprint_tells_retrained_models_apart(tmp_path) -> None:
    import shutil

    import tganaug
    from tganaug.models.tgan import resolve_model
    from tganaug.utils.weights import weights_fingerprint

    shipped = resolve_model("fluo-nuclei")
    copy = tmp_path / "copy"
    shutil.copytree(shipped, copy)
    assert weights_fingerprint(copy) == weights_fingerprint(shipped)  # same files, same fingerprint
    assert weights_fingerprint(copy / "sr" / "checkpoint.pt") != weights_fingerprint(copy / "lowres" / "checkpoint.pt")
    # "retrain" the SR stage: another model's SR weights under the same folder name
    shutil.copy(resolve_model("phase-contrast") / "sr" / "checkpoint.pt", copy / "sr" / "checkpoint.pt")
    assert weights_fingerprint(copy) != weights_fingerprint(shipped)
    original = tganaug.get_generator("tgan", model=str(shipped)).config
    retrained = tganaug.get_generator("tgan", model=str(copy)).config
    assert original["weights_sha256"] == weights_fingerprint(shipped)
    assert retrained["weights_sha256"] != original["weights_sha256"]  # a cache made with one is not reused for the other


def _two_cells() -> tuple[np.ndarray, np.ndarray]:
    """``(3, 64, 64)`` uint16 labels of two still square cells, and the ``(64, 64)`` bool pixels >= 8 px from both."""
    from scipy import ndimage

    labels = np.zeros((3, 64, 64), np.uint16)
    labels[:, 12:28, 12:28] = 1
    labels[:, 36:52, 30:46] = 2
    return labels, ~ndimage.binary_dilation(labels[0] > 0, iterations=8)


def _shipped(name: str):
    from tganaug.models.tgan import TGAN, resolve_model

    return TGAN.from_pretrained(resolve_model(name))


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_shipped_models_render_the_cells(name: str) -> None:
    """Every shipped tGAN loads offline by name, renders finite frames, the same for the same seed, with cells that stand out."""
    model, (labels, far) = _shipped(name), _two_cells()
    reference = np.full((64, 64), 0.1, np.float32)
    video = model.generate(labels, background=reference, seed=0)
    assert video.shape == labels.shape and video.dtype == np.float32 and np.isfinite(video).all()
    assert np.array_equal(video, model.generate(labels, background=reference, seed=0))
    cells, background = video[:, labels[0] > 0].mean(), video[:, far].mean()
    assert abs(cells - background) > 0.05, (name, cells, background)


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_shipped_models_follow_the_reference_background_level(name: str) -> None:
    """A flat reference's level comes through (earlier models, trained without ``residual_background``,
    rendered the same background for any flat reference: their encoders' instance norms remove its mean).
    Measured 16 px or more from the cells, in a frame whose edges are far from them: the bright halo of a
    ``phase-contrast`` cell reaches about 15 px, and the cells are mirrored into the margin around the frame."""
    from scipy import ndimage

    labels = np.zeros((3, 128, 128), np.uint16)
    labels[:, 44:60, 44:60] = 1
    labels[:, 68:84, 62:78] = 2
    far = ~ndimage.binary_dilation(labels[0] > 0, iterations=16)
    model = _shipped(name)
    dark, bright = (model.generate(labels, background=np.full((128, 128), level, np.float32), seed=0) for level in (0.1, 0.4))
    assert abs(np.median(dark[:, far]) - 0.1) < 0.03
    assert abs(np.median(bright[:, far]) - 0.4) < 0.03
