"""Lip-sync backends from the user's own neural checkpoints (the ``neural`` extra).

twintake's own lip-sync (``--lipsync-backend twintake``, the default) retrieves and warps the
person's real mouths (:mod:`twintake.render.video`). A backend here replaces that planner +
compositor pair with a network, still rendered by the one frame loop
(:func:`twintake.render.stream.render_stream`) with the same base timeline, enhancer and
encoder:

* ``wav2lip``: a published Wav2Lip / Wav2Lip-GAN generator checkpoint (:mod:`.wav2lip`).

Backends are registered by name in :data:`LIPSYNC` as ``"module:attr"`` paths, so PyTorch is
imported only when one is used. Checkpoint licences are stated in ``docs/licenses.md`` and
returned once per user as a notice on first use (:func:`twintake.licences.first_use_notice`).
"""

from __future__ import annotations

from pathlib import Path

from ...errors import BackendError
from ...licences import first_use_notice
from ...registry import Registry

__all__ = ["LIPSYNC", "LIPSYNC_BACKENDS", "DEFAULT_LIPSYNC", "DEVICES", "check_lipsync", "make_lipsync",
           "first_use_notice"]

#: The default (built-in) backend, which needs no checkpoint.
DEFAULT_LIPSYNC = "twintake"
#: Neural lip-sync backends by name: ``factory(checkpoint=, device=) -> backend`` with
#: ``planner(speech, fps, n_frames)`` and ``compositor(frames, base, landmarks, valid, width, height, ...)``.
LIPSYNC: Registry = Registry("lip-sync backend")
LIPSYNC.register("wav2lip", "twintake.render.neural.wav2lip:Wav2LipBackend")
#: Every value ``--lipsync-backend`` takes.
LIPSYNC_BACKENDS = (DEFAULT_LIPSYNC, "wav2lip")
DEVICES = ("cpu", "cuda")

def check_lipsync(backend: str | None, checkpoint: str | Path | None, device: str | None) -> None:
    """Validate ``--lipsync-backend``, ``--checkpoint`` and ``--device`` (cheap: no loading).

    Raises:
        BackendError: an unknown backend or device, a neural backend without a checkpoint (or
            with one that is not an existing file), a checkpoint for the built-in backend.
    """
    name = backend or DEFAULT_LIPSYNC
    if name not in LIPSYNC_BACKENDS and name not in LIPSYNC:
        raise BackendError(f"unknown --lipsync-backend {name!r}: choose one of {', '.join(LIPSYNC_BACKENDS)}")
    if device is not None and device not in DEVICES and not device.startswith("cuda:"):
        raise BackendError(f"unknown --device {device!r}: choose cpu or cuda")
    if name == DEFAULT_LIPSYNC:
        if checkpoint is not None:
            raise BackendError("--checkpoint needs a neural lip-sync backend: add --lipsync-backend wav2lip")
        return
    if checkpoint is None:
        raise BackendError(f"--lipsync-backend {name} needs its checkpoint: give --checkpoint FILE "
                           f"(e.g. wav2lip_gan.pth; twintake downloads no weights)")
    p = Path(checkpoint)
    if not p.is_file():
        raise BackendError(f"{name} checkpoint {p} not found" + (" (it is a folder)" if p.is_dir() else "")
                           + f": give the path of a {name} .pth file (e.g. wav2lip_gan.pth)")


def make_lipsync(backend: str, checkpoint: str | Path, device: str | None = None):
    """Load a neural lip-sync backend (the checkpoint is loaded now: a bad file fails here).

    Raises:
        BackendError: see :func:`check_lipsync`; the missing extra; CUDA without a GPU; a file
            that is not a checkpoint of the backend's architecture.
    """
    check_lipsync(backend, checkpoint, device)
    return LIPSYNC.create(backend, checkpoint=checkpoint, device=device or "cpu")
