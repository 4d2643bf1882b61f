"""The invisible frame mark: a blind quantization-index mark in a low-resolution luma band.

The frame is seen as a 64 x 64 grid of cells (whatever its size or aspect). Each of the 108
coded payload bits (:mod:`.payload`) owns ~38 cells scattered over the whole frame, each with
a pseudo-random sign (chip). A bit's *projection* is the correlation of its chips with the
high-passed cell luma (each cell minus the mean of its 8 neighbours). The marker moves each
projection to the nearest point of the bit's lattice - multiples of :data:`STEP` (plus a
per-bit dither) for 0, the half-way points for 1 (spread-transform dither modulation) - by
adding a smooth luma offset to the bit's cells, most where the frame is textured (there the
encoder keeps small changes and the eye misses them), the same on R, G and B so chroma is
untouched. Because the frame's own content only decides which lattice point is nearest, it
cannot cancel or fake a bit. The pattern is rebuilt from the current frame every other frame;
in between, the cost is two saturating uint8 additions.

Detection is blind: the Y plane of each frame is area-averaged to the 64 x 64 grid (so any
rescale lands on the same cells), each bit's projection is compared with its two lattices
(``cos`` of its phase), the per-frame soft values are averaged over the frames, and the
Viterbi decoder of :mod:`.payload` turns them into the payload; it counts as found when the
twintake mark and the CRC decode exactly. See ``docs/provenance.md`` for the measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .payload import CODED_BITS, Decoded, decode, encode

__all__ = ["FrameMarker", "MarkDetector", "MarkReport", "luma_of_frame", "GRID", "STEP"]

GRID = 64
#: Lattice step of a bit's projection (luma levels x cells; one level on all ~38 cells of a bit
#: projects to ~19).
STEP = 80.0
#: Largest luma offset at a cell centre, in levels.
MAX_LEVEL = 5.0
#: Bounds of a cell's share of its bit's change, by its texture. (0.05, 3.0) - most change where
#: the frame is textured - survives re-encoding better but makes still backgrounds drift by ~3
#: levels as the mouth moves (every bit has cells there); uniform keeps them within ~1.5.
WEIGHT_RANGE = (1.0, 1.0)
#: Cell luma standard deviation that gets the mean share of a bit's change.
TEXTURE_LEVELS = 8.0
_SEED = 0x7A1E_0001


def _layout() -> tuple[np.ndarray, np.ndarray]:
    """(GRID*GRID,) bit index of each cell and (GRID*GRID,) chips (+-1)."""
    rng = np.random.default_rng(_SEED)
    cells = GRID * GRID
    owner = np.arange(cells) % CODED_BITS
    rng.shuffle(owner)
    chips = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), cells)
    return owner, chips


#: BT.709 luma weights: what the H.264 encoder (:class:`twintake.media.VideoWriter`) stores as Y.
_LUMA_709 = np.array([0.2126, 0.7152, 0.0722], np.float32)


def _grid_residual(g: np.ndarray) -> np.ndarray:
    """(GRID, GRID) luma cells -> each cell minus the mean of its 8 neighbours."""
    import cv2

    return g - (cv2.boxFilter(g, -1, (3, 3), normalize=False, borderType=cv2.BORDER_REFLECT) - g) / 8.0


def _to_grid(image: np.ndarray) -> np.ndarray:
    """(GRID, GRID) float32 mean luma of each cell of an (H, W, 3) RGB or (H, W) luma image
    (area average first - luma is linear in R, G, B, so the order does not matter - through a
    4 x GRID uint8 step for speed: its rounding averages out over the 16 pixels of a cell)."""
    import cv2

    if image.dtype == np.uint8 and min(image.shape[:2]) > 4 * GRID:
        image = cv2.resize(image, (4 * GRID, 4 * GRID), interpolation=cv2.INTER_AREA)
    g = cv2.resize(image.astype(np.float32), (GRID, GRID), interpolation=cv2.INTER_AREA)
    return g @ _LUMA_709 if g.ndim == 3 else g


def _grid_stats(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(GRID, GRID) mean luma and luma standard deviation of each cell (None when the texture
    weights are off: :data:`WEIGHT_RANGE` is a single value)."""
    import cv2

    if WEIGHT_RANGE[0] == WEIGHT_RANGE[1]:
        return _to_grid(image), None
    y = image.astype(np.float32) @ _LUMA_709 if image.ndim == 3 else image.astype(np.float32)
    mean = cv2.resize(y, (GRID, GRID), interpolation=cv2.INTER_AREA)
    sq = cv2.resize(y * y, (GRID, GRID), interpolation=cv2.INTER_AREA)
    return mean, np.sqrt(np.maximum(sq - mean * mean, 0.0))


def luma_of_frame(frame) -> np.ndarray:
    """(H, W) float32 full-range luma of a decoded ``av.VideoFrame``, read from its Y plane
    (no RGB round trip, so no colour-matrix guess; limited range mapped to 0-255)."""
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        frame = frame.reformat(format="yuv420p")
    y = np.asarray(frame.to_ndarray())[: frame.height, : frame.width].astype(np.float32)
    full = frame.format.name.startswith("yuvj") or int(getattr(frame, "color_range", 0) or 0) == 2
    return y if full else (y - 16.0) * (255.0 / 219.0)


class FrameMarker:
    """A frame filter ``marker(image, index) -> image`` that marks every frame with ``job_id``.

    Spread-transform dither modulation (STDM, a quantization-index watermark): bit k is the
    lattice its projection (the detector's correlation of the frame with its chips) is moved to
    - multiples of ``step`` (+ a per-bit dither) for 0, the half-way points for 1 - so the
    frame's own content cannot cancel or fake it. The pattern is rebuilt from the current frame
    every ``refresh`` frames.

    Args:
        job_id: the 24-bit job id carried with the twintake mark.
        step: the lattice step of a projection (default :data:`STEP`; the largest luma offset
            at a cell centre is about ``step / 40`` levels, the mean a third of that).
        refresh: frames between two rebuilds of the pattern.
    """

    def __init__(self, job_id: int, step: float = None, refresh: int = 2) -> None:
        self.job_id = int(job_id)
        self.step = float(step or STEP)
        self.refresh = max(1, int(refresh))
        self._shape: tuple[int, ...] | None = None
        self._count = 0
        self._add: np.ndarray | None = None
        self._sub: np.ndarray | None = None
        self._owner, self._chips = _layout()
        self._bits = encode(self.job_id)
        self._gain = np.ones(CODED_BITS)
        self._noise: np.ndarray | None = None

    def _response(self, grid_pattern: np.ndarray, w: int, h: int) -> np.ndarray:
        """(108,) detector response to a (GRID, GRID) cell pattern upsampled to w x h."""
        import cv2

        up = cv2.resize(grid_pattern, (w, h), interpolation=cv2.INTER_LINEAR)
        r = _grid_residual(cv2.resize(up, (GRID, GRID), interpolation=cv2.INTER_AREA)).reshape(-1)
        return np.bincount(self._owner, weights=self._chips * r, minlength=CODED_BITS)

    def _build(self, image: np.ndarray) -> None:
        import cv2

        h, w = image.shape[:2]
        if self._shape != image.shape:  # the response to one level depends only on the size
            self._gain = self._response(self._chips.reshape(GRID, GRID).astype(np.float32), w, h)
            self._shape = image.shape
        grid_luma, texture = _grid_stats(image)
        host = _projections(grid_luma)
        # (optionally) put the change where the frame is textured: there the encoder keeps small
        # changes (in flat areas it rounds them away) and the eye does not see them
        if texture is None:
            weight = np.full(GRID * GRID, WEIGHT_RANGE[0], np.float32)
        else:
            weight = np.clip(texture / TEXTURE_LEVELS, *WEIGHT_RANGE).reshape(-1).astype(np.float32)
        unit = self._gain / (GRID * GRID / CODED_BITS)  # response of one cell at one level
        gain = np.bincount(self._owner, weights=weight, minlength=CODED_BITS) * unit
        target = _nearest(host, self._bits, self.step)
        level = (target - host) / np.maximum(gain, 1e-6)
        grid = (self._chips * weight * level[self._owner]).reshape(GRID, GRID).astype(np.float32)
        np.clip(grid, -MAX_LEVEL, MAX_LEVEL, out=grid)  # a bit the frame fights hard may fall short
        # the offsets in 1/16 levels, positive and negative parts apart, upsampled as uint8 and
        # rounded with a fixed dither (keeps sub-level offsets), all in saturating uint8 ops
        if self._noise is None or self._noise.shape != (h, w):
            self._noise = np.random.default_rng(_SEED + 2).integers(0, 16, (h, w), dtype=np.uint8)
        sixteenths = np.rint(grid * 16.0)
        parts = []
        for part in (np.clip(sixteenths, 0, 255), np.clip(-sixteenths, 0, 255)):
            up = cv2.resize(part.astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
            level = cv2.convertScaleAbs(cv2.add(up, self._noise), alpha=1.0 / 16.0, beta=-0.5)
            parts.append(cv2.cvtColor(level, cv2.COLOR_GRAY2RGB) if image.ndim == 3 else level)
        self._add, self._sub = parts

    def __call__(self, image: np.ndarray, index: int = 0) -> np.ndarray:
        """Mark one (H, W, 3) uint8 RGB frame (a new array; the input is not changed)."""
        import cv2

        if self._shape != image.shape or self._count % self.refresh == 0:
            self._build(image)
        self._count += 1
        return cv2.subtract(cv2.add(image, self._add), self._sub)


def _dither() -> np.ndarray:
    return np.random.default_rng(_SEED + 1).random(CODED_BITS)


def _projections(grid: np.ndarray) -> np.ndarray:
    """(108,) correlation of each bit's chips with the high-passed (GRID, GRID) luma cells."""
    owner, chips = _layout()
    return np.bincount(owner, weights=chips * _grid_residual(grid).reshape(-1), minlength=CODED_BITS)


def _nearest(x: np.ndarray, signs: np.ndarray, step: float) -> np.ndarray:
    """Nearest point to ``x`` on bit k's lattice: (n + dither) * step for +1, + step/2 for -1."""
    off = (_dither() + np.where(signs > 0, 0.0, 0.5)) * step
    return np.round((x - off) / step) * step + off


@dataclass
class MarkReport:
    """What a watermark detector found.

    Attributes:
        found: the twintake mark decoded with a confidence over the threshold.
        bit_accuracy: fraction of coded bits agreeing with the decoded (or expected) payload.
        confidence: mean z-score along the decoded codeword (unmarked media: ~0-1.5).
        job_id: the decoded job id (meaningful only when ``found``).
        frames: frames (video) or seconds (audio) examined.
    """

    found: bool
    bit_accuracy: float
    confidence: float
    job_id: int | None
    frames: float

    @classmethod
    def from_decoded(cls, d: Decoded, threshold: float, frames: float) -> MarkReport:
        found = bool(d.magic_ok and d.confidence >= threshold)
        return cls(found, round(d.bit_accuracy, 4), round(d.confidence, 3), d.job_id if found else None, frames)


class MarkDetector:
    """Accumulates frames and decodes the frame mark (blind).

    Use: ``det.add(frame)`` for the frames to examine, then ``det.result()``.
    """

    #: confidence needed to report the mark found, besides the twintake mark and the CRC
    #: decoded exactly (24 checked bits; docs/provenance.md).
    THRESHOLD = 0.0

    def __init__(self, step: float | None = None) -> None:
        self._sum = np.zeros(CODED_BITS, np.float64)
        self._step = float(step or STEP)
        self.frames = 0

    def add(self, image: np.ndarray) -> None:
        """Add one frame: (H, W, 3) uint8 RGB or (H, W) full-range luma (:func:`luma_of_frame`),
        any size."""
        import cv2

        p = _projections(_to_grid(image))
        phase = 2 * np.pi * (p / self._step - _dither())
        self._sum += np.cos(phase)
        self.frames += 1

    def soft_bits(self) -> np.ndarray:
        """(108,) soft values of the coded bits in [-1, 1] (mean over frames; + = bit 0)."""
        return self._sum / max(self.frames, 1)

    def result(self, expected: int | None = None) -> MarkReport:
        """Decode what was added (``expected``: a job id to measure bit accuracy against)."""
        if self.frames == 0:
            return MarkReport(False, 0.0, 0.0, None, 0)
        return MarkReport.from_decoded(decode(self.soft_bits(), expected), self.THRESHOLD, self.frames)
