"""The invisible frame mark: a fixed spread-spectrum luma pattern, added to every frame, read
back blindly by correlation accumulated over the frames.

The frame is seen as a :data:`GRID` x :data:`GRID` grid of cells (whatever its size or aspect;
an area rescale lands on the same cells). The payload is the twintake mark, the low
:data:`FRAME_ID_BITS` = 16 bits of the job id and a CRC-8 (:mod:`.payload`; 92 coded bits - the
48-bit payload of the audio mark, 108 coded bits, left too few cells per bit after a half-size
re-encode). Each coded bit owns 100 or 101 cells scattered over the whole frame, each with a
random chip (+-1). The mark is one pattern per job: at a cell centre the luma offset is

    a_c = A * s_c * chip_c * bit_c          (levels; bit = +-1)

bilinear between cell centres (no block edges), the same on R, G and B (chroma untouched),
rounded to whole levels (a random dither would keep sub-level offsets exactly, but its
per-pixel noise cost 10-20 % more PSNR for no gain in robustness; measured). ``s_c`` shapes
the amplitude once, on the first frame, towards the cells the detector trusts most - flat ones:
``s`` grows as 1 / (local high-pass energy + :data:`SHAPE_E0`), clipped to [:data:`SHAPE_MIN`,
:data:`SHAPE_MAX`] and normalised to a mean square of 1 (a texture mask, the usual perceptual
choice, put the energy where the whitened detector weighs it least and lost the mark even
before any re-encode; measured). The pattern is rendered once per frame size into two uint8
images (positive and negative parts); marking a frame is two saturating uint8 operations, and
the same pixels get the same offset in every frame, so a still background stays still and an
H.264 encoder keeps the pattern through its reference frames.

The amplitude ``A`` (RMS over the cells) is set per video, on the first frame, from what the
mark costs through the product's own encoder (:func:`calibrate_amplitude`): a still clip of the
first frame is encoded by x264 at CRF 18 with and without the mark, and ``A`` is scaled from
:data:`AMPLITUDE` so that the mark costs :data:`COST_DB` of PSNR there (within
:data:`AMPLITUDE_RANGE`). A clean picture, which the encoder keeps almost exactly, gets a
weaker mark; a noisy or textured one, whose own coding error hides more, a stronger one. This
spends the PSNR budget evenly instead of by chance: at one fixed amplitude the cost ranged from
0.12 to 0.43 dB over the six benchmark videos (about 1 dB on the first frame alone of a clean
1080p one), and the videos that lost the mark after a half-size re-encode were the cheap ones.

This is the architecture of JAWS (Kalker, Depovere, Haitsma and Maes, "A video watermarking
system for broadcast monitoring", Proc. SPIE 3657, 1999: one spatial pattern for the whole
video, detection by accumulating frames and whitened correlation) with the spread-spectrum
chips of Cox, Kilian, Leighton and Shamoon (IEEE Trans. Image Process. 6(12), 1997) and
Hartung and Girod (Signal Processing 66(3), 1998) on a cell grid rather than on pixels.

Detection is blind. Each frame's Y plane is area-averaged to the grid; the host is removed by a
spatial high-pass (each cell minus the mean of its 8 neighbours: the picture's cell means vary
smoothly, the chips do not), and each cell's residual is divided by its local energy (the
3 x 3 mean of the squared residual + :data:`DETECT_E0`) - a locally whitened residual, so edges
and moving texture count little and flat cells much. These residuals are summed over the
frames (what is left of a still host stays, what is left of a moving one averages out), passed
through the adjoint of the bilinear spread and of the high-pass (a matched filter), multiplied by
the chips and summed per bit. A bit's soft value is that sum over the square root of the sum of
its cells' squared terms (a t-like value: about N(0, 1) on an unmarked video); the list Viterbi
decoder of :mod:`.payload` turns the 92 soft values into the payload (the first of the
:attr:`MarkDetector.LIST_SIZE` most likely codewords whose twintake mark and CRC check). It
counts as found when the twintake mark and the CRC decode exactly (24 checked bits) and the
confidence (the mean soft value along the decoded codeword; about 0.67 on unmarked video)
reaches :attr:`MarkDetector.THRESHOLD`. Measures: ``docs/provenance.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .payload import ID_BITS, Decoded, coded_bits, decode, encode

__all__ = ["FrameMarker", "MarkDetector", "MarkReport", "luma_of_frame", "GRID", "AMPLITUDE", "FRAME_ID_BITS",
           "COST_DB"]

#: Cells per side of the grid (100-101 cells per coded bit).
GRID = 96
#: Job id bits the frame mark carries (the low 16 of the 24-bit id; :mod:`.payload`).
FRAME_ID_BITS = 16
CODED_BITS = coded_bits(FRAME_ID_BITS)  # 92
#: RMS luma offset at the cell centres, levels (the shaped pattern has a mean square of 1),
#: before the calibration to :data:`COST_DB`; and the range the calibration may move it in.
AMPLITUDE = 0.9
AMPLITUDE_RANGE = (0.45, 1.45)
#: PSNR cost (dB) the amplitude is set to, measured on a still clip of the first frame
#: (CALIBRATION_FRAMES copies) through the product's own encoder (x264 CRF 18): the costly case,
#: a whole video costs 0.5-1.05 x this (docs/provenance.md).
COST_DB = 0.45
CALIBRATION_FRAMES = 4
#: Shaping on the first frame: s = 1 / (local high-pass energy + SHAPE_E0), levels^2 ...
SHAPE_E0 = 0.3
#: ... clipped to [SHAPE_MIN, SHAPE_MAX] times its RMS, then normalised to a mean square of 1
#: (so a cell centre gets a little over SHAPE_MAX * AMPLITUDE levels at most: 2.6-3.0 on the 6
#: benchmark videos, where 70-80 % of the cells get under half a level, which rounds away).
SHAPE_MIN, SHAPE_MAX = 0.3, 3.0
#: Detector: residual energy (levels^2) added to a cell's local energy before dividing by it.
DETECT_E0 = 0.1
_SEED = 0x7A1E_0005


def _layout() -> tuple[np.ndarray, np.ndarray]:
    """(GRID*GRID,) int64 bit index of each cell (balanced, shuffled) and (GRID*GRID,) float64
    chips (+-1)."""
    rng = np.random.default_rng(_SEED)
    owner = np.arange(GRID * GRID) % CODED_BITS
    rng.shuffle(owner)
    chips = rng.choice(np.array([-1.0, 1.0]), GRID * GRID)
    return owner, chips


_OWNER, _CHIPS = _layout()

#: BT.709 luma weights: what the H.264 encoder (:class:`twintake.media.VideoWriter`) stores as Y.
_LUMA_709 = np.array([0.2126, 0.7152, 0.0722], np.float32)


def _to_grid(image: np.ndarray) -> np.ndarray:
    """(GRID, GRID) float64 mean luma of each cell of an (H, W, 3) RGB or (H, W) luma image
    (area average; luma is linear in R, G, B, so the order does not matter; large uint8 images
    go through a 4 x GRID uint8 step for speed, whose rounding averages out over a cell)."""
    import cv2

    if image.dtype == np.uint8 and min(image.shape[:2]) > 4 * GRID:
        image = cv2.resize(image, (4 * GRID, 4 * GRID), interpolation=cv2.INTER_AREA)
    g = cv2.resize(np.asarray(image, np.float32), (GRID, GRID), interpolation=cv2.INTER_AREA)
    return (g @ _LUMA_709 if g.ndim == 3 else g).astype(np.float64)


def _high_pass(m: np.ndarray) -> np.ndarray:
    """(GRID, GRID) each cell minus the mean of its 8 neighbours (reflected at the border)."""
    import cv2

    return (m - cv2.blur(m, (3, 3), borderType=cv2.BORDER_REFLECT)) * (9.0 / 8.0)


def _local_energy(r: np.ndarray) -> np.ndarray:
    """(GRID, GRID) 3 x 3 mean of r^2."""
    import cv2

    return cv2.blur(r * r, (3, 3), borderType=cv2.BORDER_REFLECT)


def _transfer(pixels: int) -> np.ndarray:
    """(GRID, GRID) float64: mean of cell i (area average) after cell j's offset is bilinearly
    upsampled to ``pixels`` along one axis."""
    import cv2

    up = cv2.resize(np.eye(GRID, dtype=np.float32), (GRID, pixels), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(up, (GRID, GRID), interpolation=cv2.INTER_AREA).astype(np.float64)


def mark_pattern(job_id: int, first_frame: np.ndarray, amplitude: float = AMPLITUDE) -> np.ndarray:
    """(GRID, GRID) float32 luma offsets at the cell centres (levels) for ``job_id``, shaped on
    ``first_frame`` ((H, W, 3) uint8 RGB or (H, W) luma): ``amplitude * s * chip * bit`` with
    the shaping ``s`` of the module docstring (mean square 1; the local energy is that of the
    first frame with the unshaped mark on it, as the detector will see it)."""
    bits = encode(int(job_id), FRAME_ID_BITS).astype(np.float64)
    base = amplitude * (_CHIPS * bits[_OWNER]).reshape(GRID, GRID)
    t = _transfer(8 * GRID)
    w = 1.0 / (_local_energy(_high_pass(_to_grid(first_frame) + t @ base @ t.T)) + SHAPE_E0)
    s = np.clip(w / np.sqrt(np.mean(w * w)), SHAPE_MIN, SHAPE_MAX)
    s /= np.sqrt(np.mean(s * s))
    return (s * base).astype(np.float32)


def _render(pattern: np.ndarray, height: int, width: int) -> np.ndarray:
    """(height, width) float32 whole-level offsets: ``pattern`` bilinear between cell centres,
    rounded."""
    import cv2

    return np.rint(cv2.resize(pattern, (width, height), interpolation=cv2.INTER_LINEAR))


def _x264_mse(image: np.ndarray, reference: np.ndarray, frames: int = 1, crf: int = 18) -> float:
    """Mean squared error (levels^2, RGB) against ``reference`` of a still clip of ``frames``
    copies of one (H, W, 3) uint8 RGB frame through x264 at ``crf`` as
    :class:`twintake.media.VideoWriter` encodes it (:func:`twintake.media.encode.add_h264_stream`,
    :func:`~twintake.media.encode.to_yuv420p`) and back, over the decoded frames."""
    import io

    import av

    from ..media.encode import add_h264_stream, to_yuv420p

    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    ref = reference[:h, :w].astype(np.float64)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        vs = add_h264_stream(out, 25, w, h, crf=crf)
        frame = to_yuv420p(image[:h, :w])
        for _ in range(frames):
            frame.pts = None
            for p in vs.encode(frame):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    buf.seek(0)
    errors = []
    with av.open(buf) as inp:
        for got in inp.decode(video=0):
            back = got.reformat(format="rgb24", src_colorspace="ITU709", src_color_range="MPEG").to_ndarray()
            errors.append(float(np.mean((back.astype(np.float64) - ref) ** 2)))
    return float(np.mean(errors))


def calibrate_amplitude(pattern: np.ndarray, first_frame: np.ndarray, cost_db: float = COST_DB) -> float:
    """The factor (clipped to :data:`AMPLITUDE_RANGE` / :data:`AMPLITUDE`) to scale ``pattern``
    ((GRID, GRID) levels, made at :data:`AMPLITUDE`) by so that marking costs ``cost_db`` of
    PSNR on a still clip of ``first_frame`` ((H, W, 3) uint8 RGB; :data:`CALIBRATION_FRAMES`
    copies) through x264 at CRF 18, the product's encode. A still clip is the costly case: x264
    spends on its first frame what every later frame reuses, so the mark is kept whole; motion
    makes the encoder's own error larger and the mark relatively cheaper (measured on the
    shared videos: the whole video costs 0.5-1.05 x the still clip's figure). The unmarked
    and the marked clip are encoded once each; the mark's share of the error is taken to grow
    with the square of the amplitude (rounding to whole levels makes it grow a little faster).
    A clean, flat picture (little error of its own) gets less than :data:`AMPLITUDE`, a noisy
    or textured one more; (H, W) luma frames are not calibrated (factor 1)."""
    if first_frame.ndim != 3 or min(first_frame.shape[:2]) < 16:
        return 1.0
    h, w = first_frame.shape[:2]
    up = _render(pattern, h, w).astype(np.int16)
    marked = np.clip(first_frame.astype(np.int16) + up[..., None], 0, 255).astype(np.uint8)
    n = CALIBRATION_FRAMES
    e_plain, e_marked = _x264_mse(first_frame, first_frame, n), _x264_mse(marked, first_frame, n)
    excess = max(e_marked / max(e_plain, 1e-6) - 1.0, 1e-6)
    scale = np.sqrt((10 ** (cost_db / 10) - 1.0) / excess)
    return float(np.clip(scale, AMPLITUDE_RANGE[0] / AMPLITUDE, AMPLITUDE_RANGE[1] / AMPLITUDE))


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

    The pattern (:func:`mark_pattern`) is shaped and its amplitude calibrated
    (:func:`calibrate_amplitude`: two short x264 encodes, once) on the first frame and then fixed
    for the whole video: it is rendered once per frame size into two uint8 images (bilinear
    between cell centres, rounded to whole levels), and each frame costs two saturating uint8
    additions (about 0.3 ms CPU at 1280 x 854). A new frame size renders the same cell offsets
    at the new size.

    Args:
        job_id: the 24-bit job id (the mark carries its low :data:`FRAME_ID_BITS` bits).
        amplitude: a fixed RMS luma offset at the cell centres, levels (no calibration; the
            detector does not need it). Default: calibrated from :data:`AMPLITUDE`.
        cost_db: the PSNR cost the calibration aims at (default :data:`COST_DB`); None: no
            calibration, :data:`AMPLITUDE`.
    """

    def __init__(self, job_id: int, amplitude: float | None = None, cost_db: float | None = COST_DB) -> None:
        self.job_id = int(job_id)
        self.amplitude = float(AMPLITUDE if amplitude is None else amplitude)
        self.calibrate = cost_db is not None and amplitude is None
        self.cost_db = float(cost_db or 0.0)
        self.pattern: np.ndarray | None = None  # (GRID, GRID) float32 levels, set on the first frame
        self._shape: tuple[int, ...] | None = None
        self._add: np.ndarray | None = None
        self._sub: np.ndarray | None = None

    def _render(self, image: np.ndarray) -> None:
        """The pattern at the frame's size as two uint8 images (positive and negative parts),
        bilinear between cell centres and rounded to whole levels."""
        import cv2

        up = _render(self.pattern, *image.shape[:2])
        add, sub = np.clip(up, 0, 255).astype(np.uint8), np.clip(-up, 0, 255).astype(np.uint8)
        if image.ndim == 3:
            add, sub = cv2.cvtColor(add, cv2.COLOR_GRAY2RGB), cv2.cvtColor(sub, cv2.COLOR_GRAY2RGB)
        self._add, self._sub, self._shape = add, sub, image.shape

    def __call__(self, image: np.ndarray, index: int = 0) -> np.ndarray:
        """Mark one (H, W, 3) uint8 RGB frame (or an (H, W) uint8 luma plane); returns a new
        array of the same shape and dtype (the input is not changed). ``index`` is unused."""
        import cv2

        if self.pattern is None:
            pattern = mark_pattern(self.job_id, image, self.amplitude)
            if self.calibrate:
                pattern *= calibrate_amplitude(pattern, image, self.cost_db)
            self.pattern = pattern
        if self._shape != image.shape:
            self._render(image)
        out = cv2.add(image, self._add)
        return cv2.subtract(out, self._sub, dst=out)


@dataclass
class MarkReport:
    """What a watermark detector found.

    Attributes:
        found: the twintake mark decoded with a confidence over the threshold.
        bit_accuracy: fraction of coded bits agreeing with the decoded (or expected) payload.
        confidence: mean soft value along the decoded codeword (video: in noise units, about
            0.67 on an unmarked video; audio: a z-score).
        job_id: the decoded job id (meaningful only when ``found``): its low ``id_bits`` bits.
        frames: frames (video) or seconds (audio) examined.
        id_bits: how many low bits of the 24-bit job id the mark carries (video 16, audio 24;
            :func:`twintake.provenance.verify` completes a video id from the manifest's or the
            audio mark's when their low 16 bits agree).
    """

    found: bool
    bit_accuracy: float
    confidence: float
    job_id: int | None
    frames: float
    id_bits: int = ID_BITS

    @classmethod
    def from_decoded(cls, d: Decoded, threshold: float, frames: float, id_bits: int = ID_BITS) -> MarkReport:
        found = bool(d.magic_ok and d.confidence >= threshold)
        return cls(found, round(d.bit_accuracy, 4), round(d.confidence, 3), d.job_id if found else None, frames,
                   id_bits)

    def matches(self, job_id: int) -> bool:
        """The mark's job id agrees with the 24-bit ``job_id`` (on the bits it carries)."""
        return self.job_id is not None and self.job_id == int(job_id) & ((1 << self.id_bits) - 1)

    @property
    def job_text(self) -> str | None:
        """``tt-xxxxxx``, or ``tt-..xxxx`` for a 16-bit id not completed (None when not found)."""
        if self.job_id is None:
            return None
        return f"tt-{self.job_id:06x}" if self.id_bits >= ID_BITS else f"tt-..{self.job_id:04x}"


class MarkDetector:
    """Accumulates frames and decodes the frame mark (blind: no original needed).

    Use: ``det.add(frame)`` for the frames to examine (any number, any order, any size), then
    ``det.result()``.
    """

    #: confidence needed to report the mark found, besides the twintake mark and the CRC decoded
    #: exactly (24 checked bits). Unmarked video scores about 0.67 (docs/provenance.md).
    THRESHOLD = 0.75
    #: codewords tried, most likely first, until one passes the 24-bit check (CRC-aided list
    #: Viterbi decoding: rescues payloads one or two error events away from the best path; a
    #: random signal passes with probability up to LIST_SIZE * 2^-24, about 1e-6).
    LIST_SIZE = 16

    def __init__(self) -> None:
        self._acc = np.zeros((GRID, GRID))
        self.frames = 0

    def add(self, image: np.ndarray) -> None:
        """Add one frame: (H, W, 3) uint8 RGB or (H, W) float32 full-range luma
        (:func:`luma_of_frame`), any size."""
        r = _high_pass(_to_grid(image))
        self._acc += r / (_local_energy(r) + DETECT_E0)
        self.frames += 1

    def soft_bits(self) -> np.ndarray:
        """(92,) float64 soft values of the coded bits (+ = bit 0; about N(0, 1) each on an
        unmarked video): the accumulated whitened residual through the matched filter (adjoint
        of the bilinear spread and of the high-pass), times the chips, summed per bit, over the
        root of the sum of the squared terms."""
        t = _transfer(8 * GRID)
        y = _CHIPS * (t.T @ _high_pass(self._acc) @ t).reshape(-1)
        z = np.bincount(_OWNER, weights=y, minlength=CODED_BITS)
        return z / np.maximum(np.sqrt(np.bincount(_OWNER, weights=y * y, minlength=CODED_BITS)), 1e-12)

    def result(self, expected: int | None = None) -> MarkReport:
        """Decode what was added (``expected``: a job id to measure bit accuracy against)."""
        if self.frames == 0:
            return MarkReport(False, 0.0, 0.0, None, 0, FRAME_ID_BITS)
        return MarkReport.from_decoded(decode(self.soft_bits(), expected, self.LIST_SIZE, FRAME_ID_BITS), self.THRESHOLD,
                                       self.frames, FRAME_ID_BITS)
