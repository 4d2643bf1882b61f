"""``twintake avatar create``: a photo avatar made from a text prompt with the user's own Stable
Diffusion checkpoint (extra ``neural``)::

    from twintake.avatar_create import create_avatar
    result = create_avatar("studio portrait of a smiling woman, looking at the camera",
                           "models/sd-turbo", "avatars/ada", count=4, steps=1, seed=0)
    result.avatar.say("Hello!", out="hello.mp4")

``count`` portraits are generated, those without exactly one usable frontal face are dropped
(:func:`twintake.generate.rank_portraits`), and the best is prepared as a photo avatar exactly as
``twintake prepare PHOTO`` does (the image is its ``source.png``). Nothing is written when no
image qualifies.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .avatar import Avatar
from .errors import AvatarError, NoFaceError, SpeechError
from .hooks import Progress, ProgressHook

__all__ = ["CreatedAvatar", "create_avatar"]


@dataclass
class CreatedAvatar:
    """What :func:`create_avatar` made.

    Attributes:
        avatar: the prepared photo avatar.
        seed: the seed of the chosen image.
        generated: images generated; kept: how many had one usable frontal face.
        notes: remarks for the user (the licence notice on first use).
    """

    avatar: Avatar
    seed: int
    generated: int
    kept: int
    notes: list[str] = field(default_factory=list)


def create_avatar(prompt: str, model: str | Path, out: str | Path, *, count: int = 4, steps: int | None = None,
                  seed: int = 0, size: int = 512, device: str = "cpu", voice: str | Path | None = None,
                  force: bool = False, hook: ProgressHook | None = None,
                  cancel: threading.Event | None = None) -> CreatedAvatar:
    """Generate ``count`` portraits of ``prompt`` with the checkpoint ``model`` and prepare the best
    as a photo avatar in ``out``.

    Args:
        prompt: the description; "portrait photo, looking at the camera" is added unless the
            prompt says portrait.
        model: a local diffusers folder or ``.safetensors`` file (SD 1.x/2.x, SD-Turbo, SDXL).
        count: images to generate (1-16). steps: denoising steps (None: 1 for turbo models, 25 else).
        seed: seed of the first image (the others use the next seeds).
        size: image side in pixels (multiple of 64, 256-1024).
        device: ``"cpu"`` or ``"cuda"``. voice: optional voice reference, as for ``prepare``.
        force: replace an existing ``out``.
    Raises:
        AvatarError: ``out`` exists (without ``force``). SpeechError: empty prompt or bad numbers.
        BackendError: the checkpoint or extra (before any generation). NoFaceError: no image had
            one usable frontal face (nothing written). Cancelled.
    """
    from .generate import check_sd_model, generate_portraits, load_sd_pipeline, rank_portraits, sd_family
    from .licences import first_use_notice

    if not isinstance(prompt, str) or not prompt.strip():
        raise SpeechError("the prompt is empty: describe the person to draw")
    if not 1 <= int(count) <= 16 or not (steps is None or 1 <= int(steps) <= 150) or size % 64 or not 256 <= size <= 1024:
        raise SpeechError("--count must be 1-16, --steps 1-150 and --size a multiple of 64 from 256 to 1024")
    out = Path(out)
    if out.exists() and not force:
        raise AvatarError(f"{out} already exists: choose another name or use --force to replace it")
    check_sd_model(model)
    family = sd_family(model)
    turbo = family == "sd-turbo" or (steps is not None and steps <= 4)
    steps = int(steps if steps is not None else (1 if turbo else 25))
    text = prompt if "portrait" in prompt.lower() else f"{prompt.strip()}, portrait photo, looking at the camera"
    progress = Progress(hook, cancel)
    pipe = load_sd_pipeline(str(Path(model).resolve()), device)
    notice = first_use_notice(family)
    portraits = generate_portraits(pipe, text, count=int(count), steps=steps, seed=int(seed), size=int(size),
                                   turbo=turbo, hook=progress)
    ranked = rank_portraits(portraits)
    if not ranked:
        raise NoFaceError(f"none of the {len(portraits)} generated images shows one usable frontal face: try "
                          "another --seed, a higher --count, or a prompt like 'head and shoulders portrait, "
                          "looking at the camera'")
    best = ranked[0]
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix=".twintake-create-") as tmp:
        png = Path(tmp) / "portrait.png"
        Image.fromarray(best.image).save(png)
        avatar = Avatar.prepare(png, out, voice=voice, force=force, hook=hook, cancel=cancel)
    return CreatedAvatar(avatar=avatar, seed=best.seed, generated=len(portraits), kept=len(ranked),
                         notes=[notice] if notice else [])
