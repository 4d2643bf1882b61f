"""GFPGAN face restoration as a twintake enhancer (``--enhancer-model GFPGANv1.4.pth``).

Optional: needs the ``neural`` extra (``pip install "twintake[neural]"``, PyTorch CPU) and a
checkpoint the user downloaded themselves (twintake never downloads weights). The released
GFPGAN v1.3 / v1.4 checkpoints (GFPGANv1Clean architecture, Apache-2.0, TencentARC) load; the
architecture's size is read from the checkpoint's tensor shapes.

Per frame: the face is aligned to the FFHQ 5-point template that GFPGAN was trained on (eye
centres, nose tip and mouth corners from the face mesh; similarity fitted by least median of
squares, as facexlib does), restored, warped back, and blended into the frame with the
enhancement region's weights (the compositor's mouth mask for ``--enhance mouth``, the face
mask for ``face``); pixels of weight 0 stay bit-exact. The decoder's stored noise is used, so the
same face gives the same output (no noise flicker); a GAN restorer can still flicker where its
input changes, which the ``detail`` enhancer does not.

Reference: Wang, Li, Zhang and Shan, "Towards Real-World Blind Face Restoration with Generative
Facial Prior", CVPR 2021.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from ...errors import BackendError
from .base import EnhanceFrame

__all__ = ["FFHQ_TEMPLATE_512", "GFPGANEnhancer", "load_gfpgan", "five_points", "config_from_state_dict"]

#: Eye centres, nose tip, mouth corners (image left first) of the FFHQ-aligned 512 px face
#: (the template of facexlib's FaceRestoreHelper, used to train and run GFPGAN).
FFHQ_TEMPLATE_512 = np.array([[192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935],
                              [201.26117, 371.41043], [313.08905, 371.15118]], np.float32)
_INSTALL = 'pip install "twintake[neural]"'
_ARCH = "GFPGANv1Clean (GFPGAN v1.3 / v1.4)"


def _torch():
    try:
        import torch
    except ImportError:
        raise BackendError(f"the gfpgan enhancer needs PyTorch, which is not installed: {_INSTALL}") from None
    return torch


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """(478, 2+) MediaPipe face-mesh landmarks -> (5, 2) float32 points in the order of
    :data:`FFHQ_TEMPLATE_512`: image-left eye centre, image-right eye centre, nose tip,
    image-left and image-right mouth corners (pixels)."""
    p = np.asarray(landmarks, np.float32)[:, :2]
    return np.stack([(p[33] + p[133]) / 2, (p[362] + p[263]) / 2, p[1], p[61], p[291]])


def config_from_state_dict(sd: dict, path: Path):
    """The :class:`~twintake.render.enhance.gfpgan_arch.GFPGANConfig` whose parameters have the shapes
    of ``sd``.

    Raises:
        BackendError: a key the architecture needs is missing (not a GFPGANv1Clean checkpoint).
    """
    from .gfpgan_arch import GFPGANConfig

    def shape(key: str) -> tuple[int, ...]:
        if key not in sd:
            raise BackendError(f"{path} is not a {_ARCH} checkpoint (it has no {key!r}); other architectures "
                               "(GFPGANv1 original, GPEN, CodeFormer, RestoreFormer) are not supported")
        return tuple(sd[key].shape)

    n_down = len({k.split(".")[1] for k in sd if k.startswith("conv_body_down.")})
    log = n_down + 2
    if n_down < 1:
        shape("conv_body_down.0.conv1.weight")  # raises
    nsf = shape("stylegan_decoder.style_mlp.1.weight")[0]
    num_mlp = len([k for k in sd if k.startswith("stylegan_decoder.style_mlp.") and k.endswith(".weight")])
    decoder = {4: shape("stylegan_decoder.constant_input.weight")[1]}
    unet = {2**log: shape("conv_body_first.weight")[0], 4: shape("final_conv.weight")[0]}
    for j, i in enumerate(range(3, log + 1)):
        decoder[2**i] = shape(f"stylegan_decoder.style_convs.{2 * j}.modulated_conv.weight")[1]
        unet[2**i] = shape(f"conv_body_up.{j}.conv2.weight")[0]
    n_w = shape("final_linear.weight")[0]
    sft = shape("condition_scale.0.2.weight")[0] == shape("condition_scale.0.0.weight")[0]
    return GFPGANConfig(out_size=2**log, num_style_feat=nsf, num_mlp=num_mlp, decoder=decoder, unet=unet,
                        different_w=n_w != nsf, sft_half=sft, input_is_latent=True)


def load_gfpgan(path: str | Path):
    """Load a GFPGANv1Clean checkpoint on the CPU (the last one loaded is kept: a second call
    for the same unchanged file returns the same network at once).

    Args:
        path: a ``.pth`` file: ``{"params_ema": state_dict}`` (the released files),
            ``{"params": state_dict}`` or a bare state dict.
    Returns:
        The network in eval mode (:class:`~twintake.render.enhance.gfpgan_arch.GFPGANv1Clean`).
    Raises:
        BackendError: the file is missing; PyTorch is not installed (names the extra to
            install); the file is not a readable PyTorch checkpoint; or its keys / shapes are
            not those of a GFPGANv1Clean network.
    """
    path = Path(path)
    if not path.is_file():
        raise BackendError(f"enhancer checkpoint {path} not found: give the path of a GFPGAN .pth file "
                           "(e.g. GFPGANv1.4.pth, downloaded from the GFPGAN releases)")
    st = path.stat()
    return _load(str(path.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=1)
def _load(path_str: str, _mtime_ns: int, _size: int):
    path = Path(path_str)
    torch = _torch()
    from .gfpgan_arch import GFPGANv1Clean

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise BackendError(f"cannot read {path} as a PyTorch checkpoint of tensors ({type(e).__name__}): "
                           "give a GFPGAN .pth file such as GFPGANv1.4.pth") from None
    sd = ckpt
    if isinstance(ckpt, dict):
        for key in ("params_ema", "params", "state_dict"):
            if isinstance(ckpt.get(key), dict):
                sd = ckpt[key]
                break
    if not isinstance(sd, dict) or not sd or not all(hasattr(v, "shape") for v in sd.values()):
        raise BackendError(f"{path} is not a {_ARCH} checkpoint (no state dict of tensors inside)")
    cfg = config_from_state_dict(sd, path)
    try:
        net = GFPGANv1Clean(cfg)
        net.load_state_dict(sd, strict=True)
    except (RuntimeError, KeyError, ValueError) as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()][1:4]
        raise BackendError(f"{path} is not a {_ARCH} checkpoint: its tensors do not fit the architecture "
                           f"({'; '.join(lines)[:300]})") from None
    return net.eval()


class GFPGANEnhancer:
    """Enhancer backed by a GFPGAN checkpoint (see the module docstring).

    Args:
        path: the checkpoint (:func:`load_gfpgan`).
        weight: blend of the restored face with the input, 0..1 (1 = fully restored).
    Raises:
        BackendError: see :func:`load_gfpgan`.
    """

    name = "gfpgan"

    def __init__(self, path: str | Path, weight: float = 1.0) -> None:
        self.net = load_gfpgan(path)
        self.size = self.net.cfg.out_size
        self.template = FFHQ_TEMPLATE_512 * (self.size / 512.0)
        self.weight = float(weight)
        self.seconds = 0.0

    def restore(self, face: np.ndarray) -> np.ndarray:
        """Restore one aligned face.

        Args:
            face: (S, S, 3) uint8 RGB, aligned to the FFHQ template, S = the model's size.
        Returns:
            (S, S, 3) uint8 RGB restored face.
        """
        torch = _torch()
        x = torch.from_numpy(np.ascontiguousarray(face)).permute(2, 0, 1)[None].float() / 127.5 - 1.0
        with torch.inference_mode():
            y = self.net(x)[0].clamp(-1, 1)
        return ((y.permute(1, 2, 0).numpy() + 1.0) * 127.5 + 0.5).astype(np.uint8)

    def enhance_one(self, f: EnhanceFrame) -> np.ndarray:
        """``f.image`` ((H, W, 3) uint8 RGB) with the face restored inside ``f.region``, written
        in place (unchanged when the frame has no face or no region)."""
        if f.region is None or f.landmarks is None:
            return f.image
        m, _ = cv2.estimateAffinePartial2D(five_points(f.landmarks), self.template, method=cv2.LMEDS)
        if m is None:
            return f.image
        s = self.size
        face = cv2.warpAffine(f.image, m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        restored = self.restore(face)
        x0, y0, x1, y1 = f.region.box
        back = cv2.invertAffineTransform(m)
        back[:, 2] -= (x0, y0)
        size = (x1 - x0, y1 - y0)
        roi_new = cv2.warpAffine(restored, back, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = cv2.warpAffine(np.ones((s, s), np.float32), back, size, flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        g = f.region.alpha * inside * self.weight
        roi = f.image[y0:y1, x0:x1]
        r32 = roi.astype(np.float32)
        new = np.clip(r32 + g[..., None] * (roi_new.astype(np.float32) - r32) + 0.5, 0, 255).astype(np.uint8)
        keep = g <= 0
        new[keep] = roi[keep]
        roi[...] = new  # in place, like every enhancer
        return f.image

    def enhance(self, frames: Iterable[EnhanceFrame]) -> Iterator[np.ndarray]:
        """Yield each frame's (H, W, 3) uint8 RGB restored image, in order (no look-ahead)."""
        for f in frames:
            t0 = time.perf_counter()
            out = self.enhance_one(f if isinstance(f, EnhanceFrame) else EnhanceFrame(image=f))
            self.seconds += time.perf_counter() - t0
            yield out
