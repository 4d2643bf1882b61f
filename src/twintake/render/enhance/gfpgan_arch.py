"""The GFPGAN v1 "clean" network (GFPGANv1Clean), written for twintake with the parameter names
of the official release, so its checkpoints (``GFPGANv1.3.pth``, ``GFPGANv1.4.pth``) load with
``load_state_dict(strict=True)``.

Method: Wang, Li, Zhang and Shan, "Towards Real-World Blind Face Restoration with Generative
Facial Prior", CVPR 2021 (GFP-GAN): a U-Net encoder gives a latent code and multi-scale
features; a StyleGAN2 decoder (Karras et al., "Analyzing and Improving the Image Quality of
StyleGAN", CVPR 2020) generates the face from the code, its features modulated by the U-Net's
through spatial feature transforms (SFT, Wang et al. CVPR 2018). Parameter layout follows
TencentARC/GFPGAN ``gfpgan/archs/gfpganv1_clean_arch.py`` (Apache-2.0); this is an independent
implementation of the forward pass for inference only (no training paths, no noise mixing).

Widths are given per resolution, so the same class builds the official 512 px model and the
tiny random models of the tests. Pure network: imports torch at module level; import it only
from :mod:`twintake.render.enhance.gfpgan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["GFPGANConfig", "GFPGANv1Clean", "official_config"]


@dataclass
class GFPGANConfig:
    """Shape of a GFPGANv1Clean network.

    Attributes:
        out_size: input and output size in pixels (a power of 2, >= 8).
        num_style_feat: width of the style code.
        num_mlp: layers of the style MLP.
        decoder: resolution -> channels of the StyleGAN2 decoder (4 .. out_size).
        unet: resolution -> channels of the U-Net (4 .. out_size); half the decoder's.
        different_w: one style code per decoder layer (official: True).
        sft_half: SFT modulates half of the decoder channels (official: True).
        input_is_latent: the code is already a W latent, skip the style MLP (official: True).
    """

    out_size: int
    num_style_feat: int
    num_mlp: int
    decoder: dict[int, int] = field(default_factory=dict)
    unet: dict[int, int] = field(default_factory=dict)
    different_w: bool = True
    sft_half: bool = True
    input_is_latent: bool = True

    @property
    def log_size(self) -> int:
        return int(math.log2(self.out_size))


def official_config(out_size: int = 512, channel_multiplier: int = 2, narrow: float = 1.0,
                    num_style_feat: int = 512, num_mlp: int = 8) -> GFPGANConfig:
    """The configuration of the released GFPGAN v1.3/v1.4 models (defaults), or a narrowed one
    (``narrow`` < 1 scales every width, as the official ``narrow`` argument)."""
    base = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * channel_multiplier, 128: 128 * channel_multiplier,
            256: 64 * channel_multiplier, 512: 32 * channel_multiplier, 1024: 16 * channel_multiplier}
    res = [2**i for i in range(2, int(math.log2(out_size)) + 1)]
    return GFPGANConfig(out_size=out_size, num_style_feat=num_style_feat, num_mlp=num_mlp,
                        decoder={r: int(base[r] * narrow) for r in res},
                        unet={r: int(base[r] * narrow * 0.5) for r in res})


# ------------------------------------------------------------------------ StyleGAN2 parts


class NormStyleCode(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(torch.mean(x * x, dim=1, keepdim=True) + 1e-8)


class ModulatedConv2d(nn.Module):
    """StyleGAN2 modulated convolution (no bias): weights scaled per input channel by the style,
    optionally demodulated; bilinear x2 up-sampling before the convolution when ``upsample``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, num_style_feat: int, demodulate: bool = True,
                 upsample: bool = False) -> None:
        super().__init__()
        self.c_out, self.kernel, self.demodulate, self.upsample = c_out, kernel, demodulate, upsample
        self.modulation = nn.Linear(num_style_feat, c_in, bias=True)
        self.weight = nn.Parameter(torch.randn(1, c_out, c_in, kernel, kernel) / math.sqrt(c_in * kernel * kernel))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        b, c, _, _ = x.shape
        w = self.weight * self.modulation(style).view(b, 1, c, 1, 1)  # (b, c_out, c_in, k, k)
        if self.demodulate:
            w = w * torch.rsqrt(w.pow(2).sum([2, 3, 4]) + 1e-8).view(b, self.c_out, 1, 1, 1)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        h, wd = x.shape[2:]
        out = F.conv2d(x.reshape(1, b * c, h, wd), w.reshape(b * self.c_out, c, self.kernel, self.kernel),
                       padding=self.kernel // 2, groups=b)
        return out.view(b, self.c_out, *out.shape[2:])


class StyleConv(nn.Module):
    """Modulated 3x3 convolution + scaled noise + bias + leaky ReLU."""

    def __init__(self, c_in: int, c_out: int, num_style_feat: int, upsample: bool = False) -> None:
        super().__init__()
        self.modulated_conv = ModulatedConv2d(c_in, c_out, 3, num_style_feat, True, upsample)
        self.weight = nn.Parameter(torch.zeros(1))  # noise strength
        self.bias = nn.Parameter(torch.zeros(1, c_out, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        out = self.modulated_conv(x, style) * 2**0.5
        return F.leaky_relu(out + self.weight * noise + self.bias, 0.2)


class ToRGB(nn.Module):
    def __init__(self, c_in: int, num_style_feat: int, upsample: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.modulated_conv = ModulatedConv2d(c_in, 3, 1, num_style_feat, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.modulated_conv(x, style) + self.bias
        if skip is not None:
            if self.upsample:
                skip = F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
            out = out + skip
        return out


class ConstantInput(nn.Module):
    def __init__(self, channels: int, size: int = 4) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, channels, size, size))


class StyleGAN2GeneratorCSFT(nn.Module):
    """StyleGAN2 decoder whose features are modulated by SFT conditions (scale, shift)."""

    def __init__(self, cfg: GFPGANConfig) -> None:
        super().__init__()
        nsf, ch = cfg.num_style_feat, cfg.decoder
        layers: list[nn.Module] = [NormStyleCode()]
        for _ in range(cfg.num_mlp):
            layers += [nn.Linear(nsf, nsf, bias=True), nn.LeakyReLU(0.2)]
        self.style_mlp = nn.Sequential(*layers)
        self.constant_input = ConstantInput(ch[4])
        self.style_conv1 = StyleConv(ch[4], ch[4], nsf)
        self.to_rgb1 = ToRGB(ch[4], nsf, upsample=False)
        self.num_layers = (cfg.log_size - 2) * 2 + 1
        self.noises = nn.Module()
        for i in range(self.num_layers):
            r = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise{i}", torch.randn(1, 1, r, r))
        self.style_convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        c_in = ch[4]
        for i in range(3, cfg.log_size + 1):
            c_out = ch[2**i]
            self.style_convs.append(StyleConv(c_in, c_out, nsf, upsample=True))
            self.style_convs.append(StyleConv(c_out, c_out, nsf))
            self.to_rgbs.append(ToRGB(c_out, nsf))
            c_in = c_out
        self.sft_half = cfg.sft_half

    def forward(self, latent: torch.Tensor, conditions: list[torch.Tensor]) -> torch.Tensor:
        """latent: (B, num_latent, nsf) W+ codes; conditions: [scale, shift] per level from 8 px
        up. Uses the stored noise (deterministic: the same input gives the same face)."""
        noise = [getattr(self.noises, f"noise{i}") for i in range(self.num_layers)]
        out = self.constant_input.weight.repeat(latent.shape[0], 1, 1, 1)
        out = self.style_conv1(out, latent[:, 0], noise[0])
        skip = self.to_rgb1(out, latent[:, 1])
        i = 1
        for conv1, conv2, n1, n2, to_rgb in zip(self.style_convs[::2], self.style_convs[1::2], noise[1::2],
                                                noise[2::2], self.to_rgbs):
            out = conv1(out, latent[:, i], n1)
            if i < len(conditions):
                if self.sft_half:
                    same, sft = torch.split(out, out.size(1) // 2, dim=1)
                    out = torch.cat([same, sft * conditions[i - 1] + conditions[i]], dim=1)
                else:
                    out = out * conditions[i - 1] + conditions[i]
            out = conv2(out, latent[:, i + 1], n2)
            skip = to_rgb(out, latent[:, i + 2], skip)
            i += 2
        return skip


# ------------------------------------------------------------------------------ U-Net


class ResBlock(nn.Module):
    """Residual block with bilinear x2 down- or up-sampling."""

    def __init__(self, c_in: int, c_out: int, mode: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_in, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.scale = 0.5 if mode == "down" else 2.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.leaky_relu(self.conv1(x), 0.2)
        out = F.interpolate(out, scale_factor=self.scale, mode="bilinear", align_corners=False)
        out = F.leaky_relu(self.conv2(out), 0.2)
        x = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return out + self.skip(x)


class GFPGANv1Clean(nn.Module):
    """GFPGAN v1 clean: U-Net + StyleGAN2 decoder with SFT (see the module docstring).

    Args:
        cfg: :class:`GFPGANConfig` (:func:`official_config` for the released models).
    """

    def __init__(self, cfg: GFPGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        u, size, log = cfg.unet, cfg.out_size, cfg.log_size
        self.conv_body_first = nn.Conv2d(3, u[size], 1)
        self.conv_body_down = nn.ModuleList(
            [ResBlock(u[2**i], u[2 ** (i - 1)], "down") for i in range(log, 2, -1)])
        self.final_conv = nn.Conv2d(u[4], u[4], 3, 1, 1)
        self.conv_body_up = nn.ModuleList([ResBlock(u[2 ** (i - 1)], u[2**i], "up") for i in range(3, log + 1)])
        self.toRGB = nn.ModuleList([nn.Conv2d(u[2**i], 3, 1) for i in range(3, log + 1)])
        n_w = (log * 2 - 2) * cfg.num_style_feat if cfg.different_w else cfg.num_style_feat
        self.final_linear = nn.Linear(u[4] * 4 * 4, n_w)
        self.stylegan_decoder = StyleGAN2GeneratorCSFT(cfg)
        self.condition_scale = nn.ModuleList()
        self.condition_shift = nn.ModuleList()
        for i in range(3, log + 1):
            c = u[2**i]
            c_sft = c if cfg.sft_half else 2 * c
            for lst in (self.condition_scale, self.condition_shift):
                lst.append(nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(c, c_sft, 3, 1, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Restore faces.

        Args:
            x: (B, 3, S, S) float32 RGB in [-1, 1], faces aligned to the FFHQ template
                (``S = cfg.out_size``).
        Returns:
            (B, 3, S, S) float32 RGB, nominally in [-1, 1].
        """
        feat = F.leaky_relu(self.conv_body_first(x), 0.2)
        skips = []
        for block in self.conv_body_down:
            feat = block(feat)
            skips.insert(0, feat)
        feat = F.leaky_relu(self.final_conv(feat), 0.2)
        code = self.final_linear(feat.flatten(1))
        nsf = self.cfg.num_style_feat
        n_latent = self.cfg.log_size * 2 - 2
        if self.cfg.different_w:
            code = code.view(code.size(0), -1, nsf)
        if not self.cfg.input_is_latent:
            code = self.stylegan_decoder.style_mlp(code.reshape(-1, nsf)).view(code.shape)
        latent = code if code.ndim == 3 else code.unsqueeze(1).repeat(1, n_latent, 1)
        conditions = []
        for i, block in enumerate(self.conv_body_up):
            feat = block(feat + skips[i])
            conditions += [self.condition_scale[i](feat), self.condition_shift[i](feat)]
        return self.stylegan_decoder(latent, conditions)
