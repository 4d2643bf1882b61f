"""Enhancement stage: restore the fine detail a rendered mouth loses in warping.

Backends, registered by name in :data:`ENHANCERS` (``factory(mode=, fps=, model=, options=)``):

* ``detail`` (default): guided-filter detail layer with a temporally consistent gain
  (:mod:`.detail`);
* ``gfpgan``: a user-supplied GFPGAN v1.3/v1.4 checkpoint (:mod:`.gfpgan`; needs the ``neural``
  extra), chosen when ``--enhancer-model`` is given.

Modes (``--enhance``): ``none``, ``mouth`` (the blended region), ``face`` (the whole face).
"""

from __future__ import annotations

from pathlib import Path

from ...errors import BackendError
from ...registry import Registry
from .base import DEFAULT_ENHANCE, ENHANCE_MODES, EnhanceFrame, Enhancer, enhance_frame, face_region
from .detail import DetailEnhancer, DetailOptions, guided_filter

__all__ = ["ENHANCE_MODES", "DEFAULT_ENHANCE", "ENHANCERS", "DetailOptions", "EnhanceFrame", "Enhancer",
           "DetailEnhancer", "check_enhance", "enhance_frame", "face_region", "guided_filter", "make_enhancer"]

#: Enhancer backends by name.
ENHANCERS: Registry[Enhancer] = Registry("enhancer")


def _detail(*, mode: str, fps: float, model: str | Path | None = None,
            options: DetailOptions | None = None) -> Enhancer:
    return DetailEnhancer(fps, options)


def _gfpgan(*, mode: str, fps: float, model: str | Path | None = None,
            options: DetailOptions | None = None) -> Enhancer:
    from .gfpgan import GFPGANEnhancer

    if model is None:
        raise BackendError("the gfpgan enhancer needs a checkpoint: give --enhancer-model PATH")
    return GFPGANEnhancer(model)


ENHANCERS.register("detail", _detail)
ENHANCERS.register("gfpgan", _gfpgan)


def check_enhance(mode: str | None, model: str | Path | None = None) -> None:
    """Validate an ``--enhance`` mode and an ``--enhancer-model`` path (cheap: no loading).

    Raises:
        BackendError: unknown mode (the message lists the valid ones), a model with mode
            ``none``, or a model path that is not an existing file.
    """
    if mode is not None and mode not in ENHANCE_MODES:
        raise BackendError(f"unknown --enhance {mode!r}: choose one of {', '.join(ENHANCE_MODES)}")
    if model is not None:
        if mode == "none":
            raise BackendError("--enhancer-model needs --enhance mouth or face (it was none)")
        p = Path(model)
        if not p.is_file():
            raise BackendError(f"enhancer checkpoint {p} not found" + (" (it is a folder)" if p.is_dir() else "")
                               + ": give the path of a GFPGAN .pth file")


def make_enhancer(mode: str | None, fps: float, model: str | Path | None = None,
                  options: DetailOptions | None = None, backend: str | None = None) -> Enhancer | None:
    """The enhancer for a mode: None for ``none``; the ``gfpgan`` backend when ``model`` (a
    local checkpoint) is given, else ``detail`` (or the registered ``backend`` named).

    Args:
        mode: one of :data:`ENHANCE_MODES`; None = :data:`DEFAULT_ENHANCE`.
        fps: frame rate of the stream, frames per second.
        model: path of a neural restorer checkpoint, or None.
        options: :class:`DetailOptions` of the ``detail`` backend.
        backend: a name in :data:`ENHANCERS` (None = chosen as above).
    Raises:
        BackendError: see :func:`check_enhance`; an unknown backend; and, for a model, torch
            missing (names the ``neural`` extra) or a checkpoint of the wrong architecture.
    """
    mode = DEFAULT_ENHANCE if mode is None else mode
    check_enhance(mode, model)
    if mode == "none":
        return None
    name = backend or ("gfpgan" if model is not None else "detail")
    return ENHANCERS.create(name, mode=mode, fps=fps, model=model, options=options)
