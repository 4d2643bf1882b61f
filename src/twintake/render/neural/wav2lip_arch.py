"""The Wav2Lip generator network (Prajwal, Mukhopadhyay, Namboodiri and Jawahar, "A Lip Sync
Expert Is All You Need for Speech to Lip Generation In the Wild", ACM MM 2020), written for
twintake so the published ``wav2lip.pth`` / ``wav2lip_gan.pth`` checkpoints load into it: the
parameter names and shapes are those of the public ``models/wav2lip.py``.

Layout (channel widths of the published model in brackets; :class:`Wav2LipConfig` holds them so
a tiny model of the same layout can be built for tests, and :func:`config_from_state_dict` reads
them back from a checkpoint's tensor shapes)::

    face encoder  7 blocks, (B, 6, 96, 96) -> (B, 512, 1, 1)        [16, 32, 64, 128, 256, 512, 512]
    audio encoder (B, 1, 80, 16) mel window -> (B, 512, 1, 1)       [32, 64, 128, 256, 512]
    decoder       7 blocks from the audio embedding up to 96 x 96,
                  each concatenated with the face encoder's skip      [512, 512, 512, 384, 256, 128, 64]
    output        conv + 1x1 conv to 3 channels, sigmoid              [32]

Every conv is Conv2d + BatchNorm + ReLU, optionally residual. Needs PyTorch (the ``neural``
extra); only :mod:`twintake.render.neural.wav2lip` imports this module, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["Wav2LipConfig", "Wav2Lip", "config_from_state_dict", "REAL_CONFIG"]


@dataclass(frozen=True)
class Wav2LipConfig:
    """Channel widths of a Wav2Lip generator.

    Attributes:
        face: (7,) output channels of the face encoder blocks (96 -> 1 px).
        audio: (5,) output channels of the audio encoder's stages.
        decoder: (7,) output channels of the decoder blocks (1 -> 96 px).
        out: channels of the output block's first conv.
    """

    face: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 512)
    audio: tuple[int, ...] = (32, 64, 128, 256, 512)
    decoder: tuple[int, ...] = (512, 512, 512, 384, 256, 128, 64)
    out: int = 32


#: The published model.
REAL_CONFIG = Wav2LipConfig()


class Conv(nn.Module):
    """Conv2d + BatchNorm2d + ReLU (``residual``: the input added before the ReLU)."""

    def __init__(self, cin: int, cout: int, k: int, stride=1, padding=1, residual: bool = False) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_block(x)
        return self.act(y + x if self.residual else y)


class UpConv(nn.Module):
    """ConvTranspose2d + BatchNorm2d + ReLU."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, padding: int, output_padding: int = 0) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.ConvTranspose2d(cin, cout, k, stride, padding, output_padding),
                                        nn.BatchNorm2d(cout))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def _res(c: int, n: int) -> list[nn.Module]:
    return [Conv(c, c, 3, 1, 1, residual=True) for _ in range(n)]


class Wav2Lip(nn.Module):
    """The generator. ``forward(mel, face)``: mel (B, 1, 80, 16) float32 windows, face (B, 6, 96,
    96) float32 in [0, 1] (channels: the BGR frame crop with its lower half zeroed, then the
    unmasked BGR reference crop) -> (B, 3, 96, 96) float32 BGR in [0, 1]."""

    def __init__(self, cfg: Wav2LipConfig = REAL_CONFIG) -> None:
        super().__init__()
        self.cfg = cfg
        f, a, d = cfg.face, cfg.audio, cfg.decoder
        n_res = (0, 2, 3, 2, 2, 1)  # residual convs after each strided face-encoder conv
        blocks = [nn.Sequential(Conv(6, f[0], 7, 1, 3))]
        for i in range(1, 6):
            blocks.append(nn.Sequential(Conv(f[i - 1], f[i], 3, 2, 1), *_res(f[i], n_res[i])))
        blocks.append(nn.Sequential(Conv(f[5], f[6], 3, 1, 0), Conv(f[6], f[6], 1, 1, 0)))
        self.face_encoder_blocks = nn.ModuleList(blocks)

        self.audio_encoder = nn.Sequential(
            Conv(1, a[0], 3, 1, 1), *_res(a[0], 2),
            Conv(a[0], a[1], 3, (3, 1), 1), *_res(a[1], 2),
            Conv(a[1], a[2], 3, 3, 1), *_res(a[2], 2),
            Conv(a[2], a[3], 3, (3, 2), 1), *_res(a[3], 1),
            Conv(a[3], a[4], 3, 1, 0), Conv(a[4], a[4], 1, 1, 0))

        dec = [nn.Sequential(Conv(a[4], d[0], 1, 1, 0))]
        dec.append(nn.Sequential(UpConv(d[0] + f[6], d[1], 3, 1, 0), *_res(d[1], 1)))
        for k in range(2, 7):
            dec.append(nn.Sequential(UpConv(d[k - 1] + f[7 - k], d[k], 3, 2, 1, 1), *_res(d[k], 2)))
        self.face_decoder_blocks = nn.ModuleList(dec)
        self.output_block = nn.Sequential(Conv(d[6] + f[0], cfg.out, 3, 1, 1), nn.Conv2d(cfg.out, 3, 1, 1, 0),
                                          nn.Sigmoid())

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        feats = []
        x = face
        for block in self.face_encoder_blocks:
            x = block(x)
            feats.append(x)
        x = self.audio_encoder(mel)
        for block in self.face_decoder_blocks:
            x = torch.cat((block(x), feats.pop()), dim=1)
        return self.output_block(x)


#: Tensors whose shapes give the widths: (key, dim, config field, index).
_WIDTH_KEYS = ([(f"face_encoder_blocks.{i}.0.conv_block.0.weight", 0, "face", i) for i in range(7)]
               + [(f"audio_encoder.{j}.conv_block.0.weight", 0, "audio", i) for i, j in enumerate((0, 3, 6, 9, 11))]
               + [("face_decoder_blocks.0.0.conv_block.0.weight", 0, "decoder", 0)]
               + [(f"face_decoder_blocks.{i}.0.conv_block.0.weight", 1, "decoder", i) for i in range(1, 7)]
               + [("output_block.0.conv_block.0.weight", 0, "out", 0)])


def config_from_state_dict(sd: dict) -> Wav2LipConfig:
    """The :class:`Wav2LipConfig` whose parameters have the shapes of ``sd`` (keys without the
    ``module.`` prefix).

    Raises:
        KeyError: a tensor that sets a width is missing (the message is its key).
        ValueError: such a tensor is not 4-D.
    """
    widths: dict[str, list[int]] = {"face": [0] * 7, "audio": [0] * 5, "decoder": [0] * 7, "out": [0]}
    for key, dim, name, i in _WIDTH_KEYS:
        if key not in sd:
            raise KeyError(key)
        shape = tuple(sd[key].shape)
        if len(shape) != 4:
            raise ValueError(f"{key} has shape {shape}, expected a 4-D convolution weight")
        widths[name][i] = int(shape[dim])
    return Wav2LipConfig(face=tuple(widths["face"]), audio=tuple(widths["audio"]),
                         decoder=tuple(widths["decoder"]), out=widths["out"][0])
