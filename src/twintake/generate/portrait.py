"""Stable Diffusion portraits from a local checkpoint, filtered to one usable frontal face.

Accepted (twintake downloads nothing):

* a diffusers folder (``model_index.json`` + ``unet/``, ``vae/``, ``text_encoder/``,
  ``tokenizer/``, ``scheduler/``): Stable Diffusion 1.x/2.x, SD-Turbo, SDXL, SDXL-Turbo;
* a single ``.safetensors`` / ``.ckpt`` file, through diffusers' ``from_single_file`` (offline it
  needs the architecture's config cached locally; otherwise use a diffusers folder).

Turbo models (a name or scheduler config saying "turbo", or ``steps <= 4``) run without
classifier-free guidance, as they were distilled to.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..devices import check_device
from ..errors import BackendError
from ..face import landmarks as L
from ..face.tracker import detect_faces
from ..render.photo.face import MIN_PHOTO_FACE_PX, _yaw_ratio

__all__ = ["Portrait", "check_sd_model", "load_sd_pipeline", "generate_portraits", "rank_portraits", "sd_family"]

log = logging.getLogger(__name__)
_INSTALL = 'pip install "twintake[neural]"'
_PIPELINES = ("StableDiffusionPipeline", "StableDiffusionXLPipeline", "AutoPipelineForText2Image")
_FOLDER_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
#: A kept face is at least this frontal (nose-to-eye-corner ratio, 1 = frontal).
MIN_FRONTAL = 0.5


@dataclass
class Portrait:
    """One generated image and how usable its face is.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        seed: the seed it was generated with.
        faces: number of faces found.
        face_width_px: cheek-to-cheek width of the face (0 when not exactly one).
        frontal: frontalness in [0, 1] (see ``render.photo.face``).
        usable: exactly one face, at least ``MIN_PHOTO_FACE_PX`` wide and ``MIN_FRONTAL`` frontal.
        score: ranking of usable portraits (face width x frontalness); 0 when not usable.
    """

    image: np.ndarray
    seed: int
    faces: int = 0
    face_width_px: float = 0.0
    frontal: float = 0.0
    usable: bool = False
    score: float = 0.0


def check_sd_model(path: str | Path) -> Path:
    """Check a Stable Diffusion checkpoint path without loading it (cheap).

    Raises:
        BackendError: missing; a folder without ``model_index.json`` or with one that is not a
            text-to-image Stable Diffusion pipeline, or missing one of its parts; a file that is
            not ``.safetensors``/``.ckpt`` or is empty.
    """
    p = Path(path)
    if not p.exists():
        raise BackendError(f"Stable Diffusion model {p} not found: give a local diffusers folder "
                           "(model_index.json, unet/, vae/, ...) or a .safetensors file")
    if p.is_file():
        if p.suffix.lower() not in (".safetensors", ".ckpt") or p.stat().st_size == 0:
            raise BackendError(f"{p} is not a Stable Diffusion checkpoint file: expected a non-empty "
                               ".safetensors or .ckpt (or a diffusers folder)")
        return p
    index = p / "model_index.json"
    try:
        cls = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError, AttributeError):
        raise BackendError(f"{index} is missing or unreadable: a diffusers Stable Diffusion folder has "
                           "model_index.json") from None
    if cls not in _PIPELINES:
        raise BackendError(f"{index} describes a {cls}, not a text-to-image Stable Diffusion pipeline "
                           f"(expected {' or '.join(_PIPELINES[:2])})")
    for part in _FOLDER_PARTS:
        if not (p / part).is_dir():
            raise BackendError(f"{p / part} is missing: a Stable Diffusion folder holds {', '.join(_FOLDER_PARTS)}")
    return p


def sd_family(path: str | Path) -> str:
    """The licence family of a checkpoint: ``"sd-turbo"`` (SD-Turbo / SDXL-Turbo) or ``"sd"``."""
    p = Path(path)
    text = p.name.lower()
    if p.is_dir():
        for f in ("model_index.json", "scheduler/scheduler_config.json"):
            try:
                text += (p / f).read_text(encoding="utf-8").lower()
            except OSError:
                pass
    return "sd-turbo" if "turbo" in text else "sd"


def _device(device: str) -> str:
    """``device`` checked against this machine (:func:`twintake.devices.check_device`)."""
    return check_device(device)


@functools.lru_cache(maxsize=1)
def load_sd_pipeline(path: str, device: str = "cpu"):
    """The diffusers text-to-image pipeline of a local checkpoint (cached; safety checker off:
    portraits are checked by the face filter instead), on ``device``.

    Raises:
        BackendError: see :func:`check_sd_model`; the missing extra; CUDA without a GPU; a
            truncated or wrong-shaped part (names the part and diffusers' reason).
    """
    p = check_sd_model(path)
    try:
        import torch  # noqa: F401

        from ..speech.tts.xtts import _import_torchaudio

        _import_torchaudio()  # diffusers imports torchaudio when installed (its PyPI wheel is the CUDA build)
        import diffusers  # noqa: F401
    except ImportError as e:
        raise BackendError(f"avatar create needs diffusers and PyTorch ({e}): {_INSTALL}") from None
    device = _device(device)
    from diffusers import AutoPipelineForText2Image, StableDiffusionPipeline
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.disable_progress_bar()

    try:
        if p.is_file():
            pipe = StableDiffusionPipeline.from_single_file(str(p), local_files_only=True)
        else:
            pipe = AutoPipelineForText2Image.from_pretrained(str(p), local_files_only=True, safety_checker=None,
                                                             requires_safety_checker=False)
    except Exception as e:  # noqa: BLE001 - diffusers raises many kinds for a bad file
        msg = " ".join(str(e).split())[:220] or type(e).__name__
        raise BackendError(f"{p} cannot be loaded as a Stable Diffusion checkpoint ({msg})") from None
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def generate_portraits(pipe, prompt: str, *, count: int = 4, steps: int = 1, seed: int = 0,
                       size: int = 512, turbo: bool = True, cancel=None, hook=None) -> list[Portrait]:
    """``count`` images of ``prompt`` (seeds ``seed``, ``seed + 1``, ...), each ``size`` pixels
    square, ``steps`` denoising steps; ``turbo`` runs without classifier-free guidance.

    ``hook("generate", done, count)`` reports progress (and may raise Cancelled)."""
    import torch

    out: list[Portrait] = []
    for i in range(count):
        if hook is not None:
            hook("generate", i, count)
        g = torch.Generator("cpu").manual_seed(seed + i)
        res = pipe(prompt, num_inference_steps=steps, guidance_scale=0.0 if turbo else 7.0, generator=g,
                   height=size, width=size, output_type="np")
        img = np.clip(np.asarray(res.images[0]) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        out.append(Portrait(image=img, seed=seed + i))
    if hook is not None:
        hook("generate", count, count)
    return out


def rank_portraits(portraits: list[Portrait]) -> list[Portrait]:
    """Rate each portrait's face (MediaPipe face mesh) in place; the usable ones, best first."""
    for p in portraits:
        faces = detect_faces(p.image, max_faces=4)
        p.faces = len(faces)
        if len(faces) == 1:
            p.face_width_px = float(L.face_width_px(faces[0]))
            p.frontal = float(_yaw_ratio(faces[0]))
            p.usable = p.face_width_px >= MIN_PHOTO_FACE_PX and p.frontal >= MIN_FRONTAL
            p.score = p.face_width_px * p.frontal if p.usable else 0.0
    return sorted((p for p in portraits if p.usable), key=lambda p: -p.score)
