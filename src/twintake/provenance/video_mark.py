"""The invisible frame mark: a blind quantization-index mark on a coarse luma grid, held still
where the picture is still and carried by the moving cells where it moves.

The frame is seen as a 32 x 32 grid of cells (whatever its size or aspect; an area rescale lands
on the same cells). Each of the 108 coded payload bits (:mod:`.payload`) owns 9 or 10 cells
scattered over the frame, each with a chip (+-1, balanced per bit). Two marks share the cells
(dither modulation, a quantization-index mark; Chen & Wornell, IEEE Trans. Inf. Theory 47(4),
2001), both by a smooth luma offset (bilinear between cell centres, the same on R, G and B, so
chroma is untouched):

* **per cell, held** - a still cell's mean luma sits on one of two interleaved lattices of step
  :data:`STEP` (a per-cell dither, plus half a step where its bit times its chip is -1). Its
  offset is fitted on the first frame and then held: refitted only when the cell's own content
  changed by more than :data:`NOISE_LEVELS` and pushed it more than :data:`DRIFT` off its
  lattice point. A still background therefore carries exactly the same offsets in every frame
  (it cannot shimmer), and an H.264 encoder keeps an unchanging pattern through its reference
  frames (~88 % of a fixed 32 x 32 pattern through CRF 28; docs/provenance.md).
* **per bit, carried by the movers** - a cell whose content moved more than
  :data:`MOVE_LEVELS` from the first frame becomes a *mover* for good. Where at least
  :data:`GROUP_SHARE` of a bit's cells are movers, the movers are refitted every
  :data:`REFIT_FRAMES` frames so that the bit's *group projection* - the mean of chip x cell
  luma over all its cells, held ones included - sits on the bit's lattice of step
  :data:`GROUP_STEP` (spread-transform dither modulation). Averaging over the cells before
  quantizing is what survives a re-encode of moving content: x264 re-codes moving blocks with
  errors of a level or more per cell, which a per-cell lattice of 2 levels cannot take, but
  which averages down over a bit's cells. The held cells keep their offsets; motion masks the
  movers' changes.

Detection is blind: the Y plane of each frame is area-averaged to the grid; per cell, the
``cos`` of its phase on its lattice is averaged over the frames; per bit, the ``cos`` of its
group projection's phase is averaged too. A bit's soft value is a weighted mean of its cells'
values times their chips (each weighted by how still its luma was over the frames) and of its
group value (weighted by how much of the bit moved); the Viterbi decoder of :mod:`.payload`
turns the 108 soft values into the payload. It counts as found when the twintake mark and the
CRC decode exactly and the confidence reaches :attr:`MarkDetector.THRESHOLD`. See
``docs/provenance.md`` for the measures.
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
#: Frames between two looks for moved content (and two refits of the movers).
REFIT_FRAMES = 2
#: Temporal variance of a cell's mean luma (levels^2) at which the detector halves its weight.
STILL_VAR = 1.0
#: Lattice step of a bit's group projection (mean of chip x cell luma over its cells), levels.
GROUP_STEP = 2.0
#: Change of a cell's mean luma from the first frame (levels) that makes it a mover for good.
MOVE_LEVELS = 2.0
#: Share of a bit's cells that must be movers before they carry its group projection (fewer
#: movers would need offsets over :data:`MOVER_LEVEL`).
GROUP_SHARE = 0.5
#: Largest offset of a mover at its cell centre, levels.
MOVER_LEVEL = 2.5
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
_SIZE = np.bincount(_OWNER, minlength=CODED_BITS).astype(np.float64)  # cells per bit
#: Where each bit's group lattice starts, in steps (for a 0 bit; a 1 bit adds half a step).
_GROUP_DITHER = np.random.default_rng(_SEED + 3).random(CODED_BITS)


def _group_projection(cells: np.ndarray) -> np.ndarray:
    """(108,) mean of chip x value over each bit's cells, for (GRID*GRID,) cell values."""
    return np.bincount(_OWNER, weights=_CHIPS * cells, minlength=CODED_BITS) / _SIZE

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

    Two dither-modulation marks on the grid (module docstring): per cell, with offsets fitted on
    the first frame and held (refitted only for cells whose own content changed and drifted more
    than :data:`DRIFT` off their lattice point); and per bit, a group projection carried by the
    cells that moved (refitted every :data:`REFIT_FRAMES` frames). Frames must come in order
    (one marker per output video); a new frame size starts a new fit. Offsets are at most
    :data:`MAX_LEVEL` levels at a cell centre (:data:`MOVER_LEVEL` for movers); a frame costs
    two saturating uint8 additions, plus a grid average every :data:`REFIT_FRAMES` frames and a
    redraw when some offset changed.

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
        self._group_start = _GROUP_DITHER + np.where(self._bits > 0, 0.0, 0.5)
        self._shape: tuple[int, ...] | None = None
        self._offsets = np.zeros((GRID, GRID), np.float32)  # levels at the cell centres
        self._target = np.zeros((GRID, GRID))
        self._ref = np.zeros((GRID, GRID), np.float32)  # host cell luma when each cell was last fitted
        self._first = np.zeros((GRID, GRID), np.float32)  # host cell luma on the first frame
        self._moving = np.zeros((GRID, GRID), bool)  # cells that moved more than MOVE_LEVELS
        self._carry = np.zeros((GRID, GRID), bool)  # movers carrying their bit's group projection
        self._add: np.ndarray | None = None
        self._sub: np.ndarray | None = None
        self._noise: np.ndarray | None = None
        self._count = 0
        self.refits = 0  # frames on which some offsets changed (after the first)

    def _setup(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        self._ty, self._tx = _transfer(h), _transfer(w)
        self._self_gain = np.outer(np.diag(self._ty), np.diag(self._tx)).astype(np.float32)
        self._noise = np.random.default_rng(_SEED + 2).integers(0, 16, (h, w), dtype=np.uint8)
        self._add, self._sub = np.empty(image.shape, np.uint8), np.empty(image.shape, np.uint8)
        self._up, self._level = np.empty((h, w), np.uint8), np.empty((h, w), np.uint8)
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
        self._first = host.copy()
        self._moving = np.zeros((GRID, GRID), bool)
        self._carry = np.zeros((GRID, GRID), bool)

    def _carry_groups(self, host: np.ndarray) -> bool:
        """Refit the movers of the bits with enough of them so that each such bit's group
        projection (held cells included) sits on the bit's lattice point nearest to where it
        would be without the movers' offsets; returns whether any offset was set."""
        mv = self._moving.reshape(-1)
        mv = mv & (np.bincount(_OWNER, weights=mv, minlength=CODED_BITS) >= GROUP_SHARE * _SIZE)[_OWNER]
        self._carry = mv.reshape(GRID, GRID)
        if not mv.any():
            return False
        movers = np.maximum(np.bincount(_OWNER, weights=mv, minlength=CODED_BITS), 1.0)
        gain, h = self._self_gain.reshape(-1), host.reshape(-1)
        o = np.where(mv, 0.0, self._offsets.reshape(-1))
        target = None
        for _ in range(3):  # Jacobi steps again (the movers' offsets leak into their neighbours)
            p = _group_projection(h + self._response(o.reshape(GRID, GRID)).reshape(-1))
            if target is None:
                target = (np.round(p / GROUP_STEP - self._group_start) + self._group_start) * GROUP_STEP
            share = (target - p) * _SIZE / movers  # each mover's part of the bit's correction
            o = np.where(mv, np.clip(o + _CHIPS * share[_OWNER] / gain, -MOVER_LEVEL, MOVER_LEVEL), o)
        self._offsets = o.reshape(GRID, GRID).astype(np.float32)
        return True

    def _refit(self, host: np.ndarray) -> bool:
        """Carry the movers' groups, then refit the other cells whose own content moved them
        off their lattice point; returns whether any offset changed. A cell whose content did
        not change keeps its offset (a still background stays still), even when a neighbour's
        new offset leaks into it."""
        self._moving |= np.abs(host - self._first) > MOVE_LEVELS
        carried = self._carry_groups(host)
        resp = self._response(self._offsets)
        bad = np.abs(host + resp - self._target) > DRIFT * self.step / STEP
        bad &= (np.abs(host - self._ref) > NOISE_LEVELS) & ~self._carry
        if not bad.any():
            return carried
        target = _nearest(host, self._start, self.step)  # the point nearest the new content: least offset
        leak = resp - self._self_gain * self._offsets
        new = np.clip((target - host - leak) / self._self_gain, -MAX_LEVEL, MAX_LEVEL)
        self._offsets = np.where(bad, new, self._offsets).astype(np.float32)
        self._target = np.where(bad, target, self._target)
        self._ref = np.where(bad, host, self._ref)
        return True

    def _render(self, image: np.ndarray) -> None:
        """The offsets as two full-size uint8 images (positive and negative parts): bilinear
        between cell centres in 1/16 levels, rounded with a fixed dither (keeps sub-level
        offsets), all in saturating uint8 OpenCV operations into buffers kept between frames
        (a fresh full-size array per operation costs more than the operation)."""
        import cv2

        h, w = image.shape[:2]
        sixteenths = np.rint(self._offsets * 16.0)
        for part, dst in ((np.clip(sixteenths, 0, 255), self._add), (np.clip(-sixteenths, 0, 255), self._sub)):
            cv2.resize(part.astype(np.uint8), (w, h), dst=self._up, interpolation=cv2.INTER_LINEAR)
            cv2.add(self._up, self._noise, dst=self._up)
            if image.ndim == 3:
                cv2.convertScaleAbs(self._up, dst=self._level, alpha=1.0 / 16.0, beta=-0.5)
                cv2.cvtColor(self._level, cv2.COLOR_GRAY2RGB, dst=dst)
            else:
                cv2.convertScaleAbs(self._up, dst=dst, alpha=1.0 / 16.0, beta=-0.5)

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
                if self._refit(_to_grid(image)):
                    self.refits += 1
                    self._render(image)
        out = cv2.add(image, self._add)
        return cv2.subtract(out, self._sub, dst=out)


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
        self._group_cos = np.zeros(CODED_BITS)
        self._sum = np.zeros(GRID * GRID)
        self._sq = np.zeros(GRID * GRID)
        self.frames = 0

    def add(self, image: np.ndarray) -> None:
        """Add one frame: (H, W, 3) uint8 RGB or (H, W) float32 full-range luma
        (:func:`luma_of_frame`), any size."""
        g = _to_grid(image).reshape(-1).astype(np.float64)
        self._cos += np.cos(2 * np.pi * (g / self._step - self._phase))
        self._group_cos += np.cos(2 * np.pi * (_group_projection(g) / GROUP_STEP - _GROUP_DITHER))
        self._sum += g
        self._sq += g * g
        self.frames += 1

    def soft_bits(self) -> np.ndarray:
        """(108,) soft values of the coded bits in [-1, 1] (+ = bit 0): each cell's mean
        ``cos`` over the frames times its chip, weighted by how still it was (w = 1 / (1 +
        variance / :data:`STILL_VAR`): a still cell keeps its lattice through a re-encode), and
        the bit's mean group ``cos``, weighted by how much of the bit moved (the sum of 1 - w
        over its cells: the movers carry it)."""
        n = max(self.frames, 1)
        mean = self._sum / n
        var = np.maximum(self._sq / n - mean * mean, 0.0)
        w = 1.0 / (1.0 + var / STILL_VAR)
        moved = np.bincount(_OWNER, weights=1.0 - w, minlength=CODED_BITS)
        num = np.bincount(_OWNER, weights=w * _CHIPS * self._cos / n, minlength=CODED_BITS)
        num += moved * self._group_cos / n
        return num / np.maximum(np.bincount(_OWNER, weights=w, minlength=CODED_BITS) + moved, 1e-9)

    def result(self, expected: int | None = None) -> MarkReport:
        """Decode what was added (``expected``: a job id to measure bit accuracy against)."""
        if self.frames == 0:
            return MarkReport(False, 0.0, 0.0, None, 0)
        return MarkReport.from_decoded(decode(self.soft_bits(), expected), self.THRESHOLD, self.frames)
