"""Motion-compensated frame interpolation on the CPU (25 fps -> 50 / 100 fps).

Between every two consecutive frames ``A`` (time 0) and ``B`` (time 1) the interpolator makes
``factor - 1`` in-between frames at times ``t = k / factor``:

1. **Flow.** Dense optical flow both ways, ``F01`` (A -> B) and ``F10`` (B -> A), with OpenCV's
   DIS (Dense Inverse Search; Kroeger, Timofte, Dai and Van Gool, "Fast Optical Flow using Dense
   Inverse Search", ECCV 2016) on grey images downscaled by ``flow_scale``. Everything that
   follows on flow runs at that low resolution; only the final sampling maps and weights are
   upsampled to full resolution.
2. **Flow at time t.** A pixel ``x`` of the in-between frame came from the point ``p`` of A with
   ``p + t F01(p) = x``. ``p`` is found by a fixed-point step ``p <- x - t F01(p)`` started
   from the Super SloMo estimate ``F_t0 = -(1-t) t F01 + t^2 F10`` (Jiang et al., "Super SloMo",
   CVPR 2018); likewise ``q + (1-t) F10(q) = x`` in B. This inverts the flow without forward
   splatting, so every output pixel gets a sample (no holes), and moving edges (lips) land where
   they are at time t rather than where the background was.
3. **Backward warping.** ``A(p(x))`` and ``B(q(x))`` with :func:`cv2.remap` (bilinear).
4. **Occlusion-aware blending.** Forward-backward consistency (Sundaram, Brox and Keutzer,
   "Dense point trajectories by GPU-accelerated large displacement optical flow", ECCV 2010):
   a point ``p`` of A is visible in B when ``F01(p) + F10(p + F01(p)) ~ 0``. The consistency
   error gives a soft visibility ``v0(p)`` in [0, 1] (and ``v1(q)`` for B), and the output is
   ``((1-t) v0 A(p) + t v1 B(q)) / ((1-t) v0 + t v1)``: pixels uncovered or covered between the
   two frames (the inside of an opening mouth, the teeth) come from the one frame that shows
   them instead of being cross-faded into a ghost. The same idea, with learned visibility maps
   and depth, is behind DAIN (Bao et al., "Depth-Aware Video Frame Interpolation", CVPR 2019)
   and RIFE (Huang et al., "Real-Time Intermediate Flow Estimation for Video Frame
   Interpolation", ECCV 2022); this module is their classical, model-free CPU counterpart.
5. **Cuts.** When most of A has no consistent match in B (a scene cut, a ping-pong jump), the
   in-betweens repeat the nearer frame instead of cross-fading two unrelated images.

Frame-count convention (used by both interpolators): for ``N`` input frames at ``fps`` the
output has exactly ``factor * N`` frames at ``factor * fps``, so the duration is unchanged:
input frame ``i`` is output frame ``factor * i``, followed by the ``factor - 1`` in-betweens
toward frame ``i + 1``; the last input frame, having no successor, is held ``factor`` times
(exactly like its own display time of ``1 / fps`` at the higher rate).

Streaming: only the previous and current input frames (and their small flow-resolution grey
images) are held; output lags input by one frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction

import cv2
import numpy as np

from ..errors import MediaError

__all__ = [
    "FlowInterpolator",
    "AverageInterpolator",
    "interpolation_factor",
    "SUPPORTED_FACTORS",
]

#: Factors offered to users: 25 fps -> 50 or 100 fps.
SUPPORTED_FACTORS: tuple[int, ...] = (2, 4)

_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
#: Fixed-point steps that move the time-t flow onto the trajectory through each output pixel.
_FIXED_POINT_STEPS = 1
#: Mean visibility of A in B (and B in A) below which a pair counts as a cut.
_CUT_VISIBILITY = 0.35
#: Grey-level tolerance (0-255) of the brightness-constancy part of the visibility.
_GREY_SIGMA = 24.0


def interpolation_factor(source_fps: float | Fraction, target_fps: float | Fraction | None) -> int:
    """How many output frames per source frame turn ``source_fps`` into ``target_fps``.

    Args:
        source_fps: frame rate of the rendered frames (frames/s, > 0).
        target_fps: requested output rate (frames/s); ``None`` means "the source's rate".
    Returns:
        1 (no interpolation) or one of :data:`SUPPORTED_FACTORS` (2 or 4).
    Raises:
        MediaError: ``target_fps`` is not the source rate, 2x or 4x it; the message names the
            rates that work, e.g. ``--fps 60 is not a multiple of the source's 25 fps: use 25
            (no interpolation), 50 or 100``.
    """
    src = Fraction(source_fps).limit_denominator(100_000)
    if src <= 0:
        raise MediaError(f"the source frame rate must be positive, got {source_fps:g}")
    if target_fps is None:
        return 1
    tgt = Fraction(target_fps).limit_denominator(100_000)
    ratio = tgt / src
    for k in (1, *SUPPORTED_FACTORS):
        # tolerate rounding of NTSC-like rates (29.97 given as 59.94 or 60)
        if abs(float(ratio) - k) < 1e-3:
            return k
    ok = ", ".join(f"{float(src * k):g}" for k in SUPPORTED_FACTORS[:-1])
    usable = f"{float(src):g} (no interpolation), {ok} or {float(src * SUPPORTED_FACTORS[-1]):g}"
    if ratio < 1:
        why = f"is lower than the source's {float(src):g} fps (frames are never dropped)"
    elif ratio.denominator == 1:
        why = f"is {ratio.numerator}x the source's {float(src):g} fps (only 2x and 4x are offered)"
    else:
        why = f"is not a multiple of the source's {float(src):g} fps"
    raise MediaError(f"--fps {float(tgt):g} {why}: use {usable}")


def _check_factor(factor: int) -> int:
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be an integer >= 1, got {factor!r}")
    return int(factor)


def _check_frame(img: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise ValueError("frames must be uint8 numpy arrays, (H, W, 3) RGB or (H, W) grey")
    if shape is not None and img.shape != shape:
        raise ValueError(f"all frames must have the same shape: {shape} then {img.shape}")
    return img


class AverageInterpolator:
    """Baseline: in-betweens are plain cross-fades ``(1-t) A + t B`` (no motion compensation).

    Same API and frame-count convention as :class:`FlowInterpolator`.
    """

    def __init__(self, factor: int) -> None:
        """Args: factor: output frames per input frame (1 = pass-through)."""
        self.factor = _check_factor(factor)

    def interpolate(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Yield ``factor * N`` frames for ``N`` input frames (see the module docstring).

        Args:
            frames: (H, W, 3) or (H, W) uint8 images, all the same shape.
        Yields:
            uint8 images of the input shape; input frames are yielded as given (same objects).
        """
        prev: np.ndarray | None = None
        for img in frames:
            img = _check_frame(img, None if prev is None else prev.shape)
            if prev is not None:
                yield prev
                for k in range(1, self.factor):
                    t = k / self.factor
                    yield cv2.addWeighted(prev, 1.0 - t, img, t, 0.0)
            prev = img
        if prev is not None:
            for _ in range(self.factor):
                yield prev


class FlowInterpolator:
    """Motion-compensated interpolation with DIS optical flow and occlusion-aware blending.

    See the module docstring for the method and the frame-count convention. Speed (2 cores,
    1280x720, factor 2, ``flow_scale=0.5``, ``preset="fast"``): see ``docs/interpolation.md``.

    Attributes:
        factor: output frames per input frame.
        flow_scale: the flow is computed on images resized by this factor (0 < s <= 1).
        preset: DIS preset, ``"ultrafast"``, ``"fast"`` or ``"medium"``.
        cuts: number of frame pairs treated as cuts so far (in-betweens held, not blended).
    """

    def __init__(self, factor: int, *, flow_scale: float = 0.5, preset: str = "fast") -> None:
        """Args:
            factor: output frames per input frame (1 = pass-through, 2 = 25 -> 50 fps, ...).
            flow_scale: resize factor of the images the flow is computed on; 0.5 halves
                the cost of DIS roughly fourfold with little loss on faces >= 200 px.
            preset: DIS preset (speed/accuracy trade-off).
        Raises:
            ValueError: bad factor, flow_scale or preset.
        """
        self.factor = _check_factor(factor)
        if not (0.0 < float(flow_scale) <= 1.0):
            raise ValueError(f"flow_scale must be in (0, 1], got {flow_scale}")
        if preset not in _PRESETS:
            raise ValueError(f"preset must be one of {', '.join(_PRESETS)}, got {preset!r}")
        self.flow_scale = float(flow_scale)
        self.preset = preset
        self.cuts = 0
        self._dis = cv2.DISOpticalFlow_create(_PRESETS[preset])
        self._grid_full: np.ndarray | None = None
        self._grid_small: np.ndarray | None = None

    # -- helpers ---------------------------------------------------------------------------

    def _small_grey(self, img: np.ndarray) -> np.ndarray:
        """(H, W[, 3]) uint8 -> (h, w) uint8 grey at ``flow_scale``."""
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
        if self.flow_scale < 1.0:
            h, w = g.shape
            size = (max(8, round(w * self.flow_scale)), max(8, round(h * self.flow_scale)))
            g = cv2.resize(g, size, interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(g)

    @staticmethod
    def _grid(h: int, w: int) -> np.ndarray:
        """(h, w, 2) float32 pixel coordinates (x, y)."""
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        return np.dstack([xs, ys])

    @staticmethod
    def _sample(field: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Bilinear lookup of ``field`` (h, w, C) float32 at positions ``at`` (h, w, 2)."""
        return cv2.remap(field, at, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    @staticmethod
    def _visibility(f_ab: np.ndarray, f_ba: np.ndarray, ga: np.ndarray, gb: np.ndarray,
                    grid: np.ndarray) -> np.ndarray:
        """Soft visibility in B of each pixel of A, (h, w) float32 in [0, 1].

        Forward-backward test of Sundaram et al. 2010: ``d = F_ab(p) + F_ba(p + F_ab(p))`` is
        ~0 where p is visible in both frames; squared error is compared with
        ``0.01 (|F_ab|^2 + |F_ba|^2) + 0.5`` (low-resolution pixels). Multiplied by a
        brightness-constancy term ``exp(-(A(p) - B(p + F_ab(p)))^2 / 2 sigma^2)`` (grey levels,
        sigma = :data:`_GREY_SIGMA`, on 3x3-smoothed images), which also catches the smooth,
        self-consistent but wrong flow DIS returns between unrelated images.
        """
        at = cv2.add(grid, f_ab)
        back = FlowInterpolator._sample(f_ba, at)
        d = f_ab + back
        err = (d * d).sum(2)
        tol = 0.01 * ((f_ab * f_ab).sum(2) + (back * back).sum(2)) + 0.5
        a = cv2.blur(ga, (3, 3)).astype(np.float32)
        b = FlowInterpolator._sample(cv2.blur(gb, (3, 3)).astype(np.float32), at)
        photo = (a - b) ** 2 / np.float32(2 * _GREY_SIGMA**2)
        return np.exp(-(err / tol) - photo).astype(np.float32)

    def _time_maps(self, field: np.ndarray, init: np.ndarray, s: float,
                   grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Solve ``p + s flow(p) = x`` for every low-res pixel x.

        Args:
            field: (h, w, 3) float32: flow from this frame to the other one (low-res px) and
                the visibility of this frame's pixels in the other frame.
            init: (h, w, 2) float32 first guess of ``p - x``.
            s: fraction of the flow travelled by time t (``t`` for A, ``1 - t`` for B).
            grid: (h, w, 2) float32 low-res pixel coordinates.
        Returns:
            ``(p - x, vis(p))``: (h, w, 2) float32 displacement in low-res pixels, and
            (h, w) float32 visibility of the sampled point.
        """
        d = init
        vis = None
        for _ in range(max(1, _FIXED_POINT_STEPS)):  # 1 step measured as good as 2 or 3
            fv = self._sample(field, cv2.add(grid, d))
            d = fv[..., :2] * np.float32(-s)
            vis = fv[..., 2]
        assert vis is not None
        return d, vis

    def _prepare(self, shape: tuple[int, ...], small: tuple[int, int]) -> None:
        h, w = shape[:2]
        if self._grid_full is None or self._grid_full.shape[:2] != (h, w):
            self._grid_full = self._grid(h, w)
        if self._grid_small is None or self._grid_small.shape[:2] != small:
            self._grid_small = self._grid(*small)

    def _pair(self, a: np.ndarray, b: np.ndarray, ga: np.ndarray, gb: np.ndarray) -> list[np.ndarray]:
        """The ``factor - 1`` in-betweens of A (time 0) and B (time 1), uint8 like A."""
        self._prepare(a.shape, ga.shape)
        grid, full = self._grid_small, self._grid_full
        assert grid is not None and full is not None
        f01 = self._dis.calc(ga, gb, None)
        f10 = self._dis.calc(gb, ga, None)
        v0 = self._visibility(f01, f10, ga, gb, grid)
        v1 = self._visibility(f10, f01, gb, ga, grid)
        ts = [k / self.factor for k in range(1, self.factor)]
        if min(float(v0.mean()), float(v1.mean())) < _CUT_VISIBILITY:
            self.cuts += 1
            return [(a if t < 0.5 else b).copy() for t in ts]
        field0 = np.dstack([f01, v0])
        field1 = np.dstack([f10, v1])
        h, w = a.shape[:2]
        sx, sy = np.float32(w / ga.shape[1]), np.float32(h / ga.shape[0])
        scale = np.array([sx, sy, sx, sy, 1.0], np.float32)
        out = []
        for t in ts:
            # Super SloMo's linear-motion estimate of the flow from time t back to each frame
            d0, w0 = self._time_maps(field0, (-(1 - t) * t) * f01 + (t * t) * f10, t, grid)
            d1, w1 = self._time_maps(field1, ((1 - t) ** 2) * f01 - (t * (1 - t)) * f10, 1 - t, grid)
            # weight of A in the blend, (1-t) v0 / ((1-t) v0 + t v1), with a floor so that
            # pixels occluded in both frames fall back to the linear cross-fade
            wa = (1 - t) * (w0 + 1e-3)
            alpha = wa / (wa + t * (w1 + 1e-3))
            small = np.dstack([d0, d1, alpha]) * scale
            big = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
            map0 = cv2.add(big[..., 0:2], full)
            map1 = cv2.add(big[..., 2:4], full)
            alpha_big = np.ascontiguousarray(big[..., 4])
            wa_img = cv2.remap(a, map0, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            wb_img = cv2.remap(b, map1, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            out.append(cv2.blendLinear(wa_img, wb_img, alpha_big, 1.0 - alpha_big))
        return out

    # -- public ----------------------------------------------------------------------------

    def interpolate(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Yield ``factor * N`` frames for ``N`` input frames (see the module docstring).

        Args:
            frames: (H, W, 3) RGB (or BGR; only the grey level is used for the flow) or (H, W)
                grey uint8 images, all the same shape, at the source rate.
        Yields:
            uint8 images of the input shape at ``factor`` times the rate: input frame ``i``
            (the same object) at output index ``factor * i``, then its in-betweens; the last
            frame ``factor`` times. Output lags input by one frame.
        Raises:
            ValueError: a frame is not uint8 (H, W[, 3]) or changes shape.
        """
        prev: np.ndarray | None = None
        prev_g: np.ndarray | None = None
        for img in frames:
            img = _check_frame(img, None if prev is None else prev.shape)
            if self.factor == 1:
                yield img
                continue
            g = self._small_grey(img)
            if prev is not None:
                assert prev_g is not None
                yield prev
                yield from self._pair(prev, img, prev_g, g)
            prev, prev_g = img, g
        if prev is not None:
            for _ in range(self.factor):
                yield prev
