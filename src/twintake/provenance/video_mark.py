"""The invisible frame mark: a blind per-cell quantization-index mark on a coarse luma grid,
held still where the picture is still.

The frame is seen as a 32 x 32 grid of cells (whatever its size or aspect; an area rescale lands
on the same cells). Each of the 108 coded payload bits (:mod:`.payload`) owns 9 or 10 cells
scattered over the frame. Every cell carries its bit times its chip (+-1, balanced per bit) by
dither modulation (a quantization-index mark, Chen & Wornell, IEEE Trans. Inf. Theory 47(4),
2001): its mean luma is moved to the nearest point of one of two interleaved lattices of step
:data:`STEP` levels (a per-cell dither, plus half a step for -1) by a smooth luma offset
(bilinear between cell centres, the same on R, G and B, so chroma is untouched).

The offsets are **held**: fitted on the first frame, then changed only for a cell whose own
content changed by more than :data:`NOISE_LEVELS` since its offset was set and pushed it more
than :data:`DRIFT` off its lattice point (looked at every :data:`REFIT_FRAMES` frames). A still
background therefore carries exactly the same offsets in every frame - it cannot shimmer - and
an H.264 encoder keeps an unchanging pattern through its reference frames (measured on a real
clip: a fixed 32 x 32 pattern keeps ~88 % of its amplitude through a CRF 28 re-encode, the same
pattern redrawn every other frame ~28 %; docs/provenance.md). Moving cells take up changes
where the motion masks them.

Detection is blind: the Y plane of each frame is area-averaged to the grid; each cell's ``cos``
of its phase on its lattice is averaged over the frames; a bit's soft value is the mean of its
cells' values times their chips, each cell weighted by how still its luma was over the frames
(moving content keeps little of a mark through a re-encode); the Viterbi decoder of
:mod:`.payload` turns the 108 soft values into the payload. It counts as found when the
twintake mark and the CRC decode exactly and the confidence reaches
:attr:`MarkDetector.THRESHOLD`. See ``docs/provenance.md`` for the measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .payload import CODED_BITS, Decoded, decode, encode

__all__ = ["FrameMarker", "MarkDetector", "MarkReport", "luma_of_frame", "GRID", "STEP"]

GRID = 32
#: Lattice step of a cell's mean luma, in levels (a cell moves by at most half of it).
STEP = 2.0
#: Largest luma offset at a cell centre, in levels.
MAX_LEVEL = 4.0
#: How far (levels) moving content may push a cell's mean off its lattice point before its
#: offset is refitted.
DRIFT = STEP / 8
#: Change of a cell's mean luma (levels) counted as noise, not motion: such cells keep their offsets.
NOISE_LEVELS = 0.3
#: Frames between two looks for moved content.
REFIT_FRAMES = 4
#: Temporal variance of a cell's mean luma (levels^2) at which the detector halves its weight.
STILL_VAR = 1.0
_SEED = 0x7A1E_0002


def _layout() -> tuple[np.ndarray, np.ndarray]:
    """(GRID*GRID,) bit index of each cell and (GRID*GRID,) float32 chips (+-1, balanced per bit)."""
    rng = np.random.default_rng(_SEED)
    cells = GRID * GRID
    owner = np.arange(cells) % CODED_BITS
    rng.shuffle(owner)
    order = np.argsort(owner, kind="stable")
    rank = np.empty(cells, np.int64)
    starts = np.searchsorted(owner[order], np.arange(CODED_BITS))
    rank[order] = np.arange(cells) - starts[owner[order]]
    first = rng.choice(np.array([-1.0, 1.0]), CODED_BITS)
    chips = (first[owner] * np.where(rank % 2 == 0, 1.0, -1.0)).astype(np.float32)
    return owner, chips


_OWNER, _CHIPS = _layout()

#: BT.709 luma weights: what the H.264 encoder (:class:`twintake.media.VideoWriter`) stores as Y.
_LUMA_709 = np.array([0.2126, 0.7152, 0.0722], np.float32)


def _to_grid(image: np.ndarray) -> np.ndarray:
    """(GRID, GRID) float32 mean luma of each cell of an (H, W, 3) RGB or (H, W) luma image
    (area average first - luma is linear in R, G, B, so the order does not matter - through a
    4 x GRID uint8 step for speed: its rounding averages out over the 16 pixels of a cell)."""
    import cv2

    if image.dtype == np.uint8 and min(image.shape[:2]) > 4 * GRID:
        image = cv2.resize(image, (4 * GRID, 4 * GRID), interpolation=cv2.INTER_AREA)
    g = cv2.resize(image.astype(np.float32), (GRID, GRID), interpolation=cv2.INTER_AREA)
    return g @ _LUMA_709 if g.ndim == 3 else g


def _transfer(pixels: int) -> np.ndarray:
    """(GRID, GRID) float32: mean of cell i (area average) after cell j's offset is bilinearly
    upsampled to ``pixels`` along one axis."""
    import cv2

    up = cv2.resize(np.eye(GRID, dtype=np.float32), (GRID, pixels), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(up, (GRID, GRID), interpolation=cv2.INTER_AREA)


def _cell_offsets(bits: np.ndarray) -> np.ndarray:
    """(GRID*GRID,) where each cell's lattice starts, in steps: a fixed per-cell dither, plus a
    half step where the cell carries -1 (its bit times its chip)."""
    dither = np.random.default_rng(_SEED + 1).random(GRID * GRID)
    return dither + np.where(bits[_OWNER] * _CHIPS > 0, 0.0, 0.5)


def _nearest(x: np.ndarray, start: np.ndarray, step: float) -> np.ndarray:
    """Nearest point to ``x`` on each cell's lattice ``(n + start) * step``."""
    return np.round(x / step - start) * step + start * step


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

    Dither modulation per grid cell (a quantization-index watermark; Chen & Wornell, IEEE
    Trans. Inf. Theory 47(4), 2001) with held offsets: fitted on the first frame, then refitted
    only for cells whose own content changed and drifted more than :data:`DRIFT` off their
    lattice point. Frames must come in order (one marker per output video); a new frame size
    starts a new fit. The offset at a cell centre is at most :data:`MAX_LEVEL` levels (pixels
    change by at most that plus one); a frame costs two saturating uint8 additions, plus a
    grid average every :data:`REFIT_FRAMES` frames and a redraw when some cell was refitted.

    Args:
        job_id: the 24-bit job id carried with the twintake mark.
        step: the lattice step of a cell's mean luma, levels (default :data:`STEP`; the
            detector must use the same).

    Attributes:
        refits: frames on which some offsets changed after the first frame.
    """

    def __init__(self, job_id: int, step: float | None = None) -> None:
        self.job_id = int(job_id)
        self.step = float(step or STEP)
        self._bits = encode(self.job_id)
        self._start = _cell_offsets(self._bits).reshape(GRID, GRID)
        self._shape: tuple[int, ...] | None = None
        self._offsets = np.zeros((GRID, GRID), np.float32)  # levels at the cell centres
        self._target = np.zeros((GRID, GRID))
        self._ref = np.zeros((GRID, GRID), np.float32)  # host cell luma when each cell was last fitted
        self._add: np.ndarray | None = None
        self._sub: np.ndarray | None = None
        self._noise: np.ndarray | None = None
        self.refits = 0  # frames on which some offsets changed (after the first)

    def _setup(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        self._ty, self._tx = _transfer(h), _transfer(w)
        self._self_gain = np.outer(np.diag(self._ty), np.diag(self._tx)).astype(np.float32)
        self._noise = np.random.default_rng(_SEED + 2).integers(0, 16, (h, w), dtype=np.uint8)
        self._add = None
        self._shape = image.shape

    def _response(self, offsets: np.ndarray) -> np.ndarray:
        """(GRID, GRID) change of the detector's cell means made by (GRID, GRID) offsets."""
        return self._ty @ offsets @ self._tx.T

    def _fit(self, host: np.ndarray) -> None:
        """First frame: every cell to the lattice point nearest its content."""
        self._target = _nearest(host, self._start, self.step)
        o = np.zeros((GRID, GRID), np.float32)
        for _ in range(4):  # the bilinear spread leaks into neighbouring cells: Jacobi steps
            o = np.clip(o + (self._target - host - self._response(o)) / self._self_gain, -MAX_LEVEL, MAX_LEVEL)
        self._offsets = o.astype(np.float32)
        self._ref = host.copy()

    def _refit(self, host: np.ndarray) -> np.ndarray | None:
        """Refit the cells whose own content moved them off their lattice point; returns the
        (GRID, GRID) bool of the cells refitted, or None. A cell whose content did not change
        keeps its offset (a still background stays still), even when a neighbour's new offset
        leaks into it."""
        resp = self._response(self._offsets)
        bad = np.abs(host + resp - self._target) > DRIFT * self.step / STEP
        bad &= np.abs(host - self._ref) > NOISE_LEVELS
        if not bad.any():
            return None
        target = _nearest(host, self._start, self.step)  # the point nearest the new content: least offset
        leak = resp - self._self_gain * self._offsets
        new = np.clip((target - host - leak) / self._self_gain, -MAX_LEVEL, MAX_LEVEL)
        self._offsets = np.where(bad, new, self._offsets).astype(np.float32)
        self._target = np.where(bad, target, self._target)
        self._ref = np.where(bad, host, self._ref)
        return bad

    def _render(self, image: np.ndarray) -> None:
        """The offsets as two full-size uint8 images (positive and negative parts): bilinear
        between cell centres in 1/16 levels, rounded with a fixed dither (keeps sub-level
        offsets), all in saturating uint8 OpenCV operations."""
        import cv2

        h, w = image.shape[:2]
        sixteenths = np.rint(self._offsets * 16.0)
        parts = []
        for part in (np.clip(sixteenths, 0, 255), np.clip(-sixteenths, 0, 255)):
            up = cv2.resize(part.astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
            level = cv2.convertScaleAbs(cv2.add(up, self._noise), alpha=1.0 / 16.0, beta=-0.5)
            parts.append(cv2.cvtColor(level, cv2.COLOR_GRAY2RGB) if image.ndim == 3 else level)
        self._add, self._sub = parts

    def __call__(self, image: np.ndarray, index: int = 0) -> np.ndarray:
        """Mark one (H, W, 3) uint8 RGB frame (or an (H, W) uint8 luma plane); returns a new
        array of the same shape and dtype (the input is not changed). ``index`` is unused:
        frames are taken to come in order."""
        import cv2

        if self._shape != image.shape:
            host = _to_grid(image)
            self._setup(image)
            self._fit(host)
            self._render(image)
            self._count = 0
        else:
            self._count += 1
            if self._count % REFIT_FRAMES == 0:
                changed = self._refit(_to_grid(image))
                if changed is not None:
                    self.refits += 1
                    self._render(image)
        return cv2.subtract(cv2.add(image, self._add), self._sub)


@dataclass
class MarkReport:
    """What a watermark detector found.

    Attributes:
        found: the twintake mark decoded with a confidence over the threshold.
        bit_accuracy: fraction of coded bits agreeing with the decoded (or expected) payload.
        confidence: mean soft value along the decoded codeword (video: in [-1, 1]; audio: a
            z-score).
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
    """Accumulates frames and decodes the frame mark (blind: no original needed).

    Use: ``det.add(frame)`` for the frames to examine, then ``det.result()``.
    """

    #: confidence needed to report the mark found, besides the twintake mark and the CRC
    #: decoded exactly (24 checked bits; docs/provenance.md).
    THRESHOLD = 0.0

    def __init__(self, step: float | None = None) -> None:
        """``step``: the marker's lattice step (default :data:`STEP`)."""
        self._step = float(step or STEP)
        self._phase = np.random.default_rng(_SEED + 1).random(GRID * GRID)  # per-cell dither
        self._cos = np.zeros(GRID * GRID)
        self._sum = np.zeros(GRID * GRID)
        self._sq = np.zeros(GRID * GRID)
        self.frames = 0

    def add(self, image: np.ndarray) -> None:
        """Add one frame: (H, W, 3) uint8 RGB or (H, W) float32 full-range luma
        (:func:`luma_of_frame`), any size."""
        g = _to_grid(image).reshape(-1).astype(np.float64)
        self._cos += np.cos(2 * np.pi * (g / self._step - self._phase))
        self._sum += g
        self._sq += g * g
        self.frames += 1

    def soft_bits(self) -> np.ndarray:
        """(108,) soft values of the coded bits in [-1, 1] (+ = bit 0): each cell's mean
        ``cos`` over the frames times its chip, averaged over the bit's cells, each weighted by
        how still it was (moving content carries little of the mark through a re-encode)."""
        n = max(self.frames, 1)
        mean = self._sum / n
        var = np.maximum(self._sq / n - mean * mean, 0.0)
        w = 1.0 / (1.0 + var / STILL_VAR)
        num = np.bincount(_OWNER, weights=w * _CHIPS * self._cos / n, minlength=CODED_BITS)
        return num / np.maximum(np.bincount(_OWNER, weights=w, minlength=CODED_BITS), 1e-9)

    def result(self, expected: int | None = None) -> MarkReport:
        """Decode what was added (``expected``: a job id to measure bit accuracy against)."""
        if self.frames == 0:
            return MarkReport(False, 0.0, 0.0, None, 0)
        return MarkReport.from_decoded(decode(self.soft_bits(), expected), self.THRESHOLD, self.frames)
