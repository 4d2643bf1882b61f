"""THE frame loop: the only loop over output frames in twintake.

Every render - a video, a photo, the evaluation's baselines - runs through :func:`render_stream`::

    for each block of the timeline (planner.blocks()):
        planner.speech_block(block)            # phones (when not given)      -> progress "speech"
        plan = planner.motion_block(block)     # mouth shapes, chosen mouths  -> progress "motion"
        for each output frame t of the block:
            base = next(base frames)           # the compositor's frame source (decode thread)
            frame = compositor.render(t, base, plan, i)                       -> progress "render"
            encoder thread <- frame
    encoder thread: enhancer -> interpolator -> frame filters -> H.264 with the speech's audio
                    interleaved, one frame's worth after each source-rate frame

The planner is the speech side (what the mouth does), the compositor the picture side (how a
frame is made from a base frame); both are small protocols below, implemented by
:mod:`twintake.render.video` and :mod:`twintake.render.photo`. Memory stays flat: frames are
decoded, composited, enhanced, encoded and dropped one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .._threads import StreamWorker, prefetch
from ..hooks import Progress
from ..media import VideoWriter, aac_rate
from ..speech.analysis import resample
from ..types import Speech
from .enhance import Enhancer, enhance_frame
from .interpolate import FlowInterpolator
from .region import BlendRegion

__all__ = ["Planner", "Compositor", "Rendered", "StreamOptions", "StreamResult", "AudioTrack", "render_stream"]

#: A frame filter: ``f(image (H, W, 3) uint8 RGB, output frame index) -> image``, applied last.
FrameFilter = Callable[[np.ndarray, int], np.ndarray]


class AudioTrack(Protocol):
    """Audio the stream writes in step with the frames; it may still be growing while the first
    frames are made (speech synthesized sentence by sentence), but the samples of a frame exist
    by the time the planner has planned that frame.

    Attributes:
        sample_rate_hz: an AAC rate (:data:`twintake.media.AAC_RATES`).
    """

    sample_rate_hz: int

    def read(self, start: int, stop: int | None = None) -> np.ndarray:
        """(S,) float32 samples ``start .. stop - 1`` (``stop`` None: all that is left)."""
        ...


class _SpeechAudio:
    """A whole :class:`Speech` as an :class:`AudioTrack` (resampled to 48 kHz when AAC does not
    take its rate)."""

    def __init__(self, speech: Speech) -> None:
        self.sample_rate_hz = aac_rate(speech.sample_rate_hz)
        self._x = (speech.samples if self.sample_rate_hz == speech.sample_rate_hz
                   else resample(speech.samples, speech.sample_rate_hz, self.sample_rate_hz))

    def read(self, start: int, stop: int | None = None) -> np.ndarray:
        return self._x[start:stop]


class Planner(Protocol):
    """The speech side of a render.

    Attributes:
        n_frames: T, output frames at the planning rate (an estimate while the speech is still
            arriving; exact once :meth:`blocks` is exhausted).
    """

    n_frames: int

    def blocks(self) -> Iterable[tuple[int, int]]:
        """[(start, stop), ...] covering 0 .. T, planned one after another (may be a generator
        that yields a block as soon as its speech exists)."""
        ...

    def speech_block(self, start: int, stop: int) -> None:
        """Speech analysis of frames ``start .. stop - 1`` (e.g. phone recognition)."""
        ...

    def motion_block(self, start: int, stop: int) -> Any:
        """The mouth of frames ``start .. stop - 1``; handed to :meth:`Compositor.render`."""
        ...


@dataclass
class Rendered:
    """One rendered frame and what the enhancer and the report need to know about it.

    Attributes:
        image: (H, W, 3) uint8 RGB rendered frame.
        base: (H, W, 3) uint8 RGB base frame before compositing.
        landmarks: (478, 2+) float pixels of the base frame's face, or None (no face).
        blend: where the new mouth was blended, or None.
        source_crop, base_crop: (Hc, Wc, 3) uint8 crops that set the enhancer's detail target.
        base_index: source frame under this output frame (-1 for a photo).
        mouth_index: source frame whose mouth was used (-1: none).
    """

    image: np.ndarray
    base: np.ndarray
    landmarks: np.ndarray | None = None
    blend: BlendRegion | None = None
    source_crop: np.ndarray | None = None
    base_crop: np.ndarray | None = None
    base_index: int = -1
    mouth_index: int = -1


class Compositor(Protocol):
    """The picture side of a render.

    Attributes:
        width, height: frame size in pixels (even).
    """

    width: int
    height: int

    def base_frames(self) -> Iterator[np.ndarray]:
        """(H, W, 3) uint8 RGB base frame of each output frame, in order (may be infinite)."""
        ...

    def render(self, t: int, base: np.ndarray, plan: Any, i: int) -> Rendered:
        """Output frame ``t`` from its base frame and row ``i`` of its block's ``plan``.

        A compositor that works in batches (a network) also has ``batch_size`` (int > 1) and
        ``render_batch(t0, bases, plan, i0) -> list[Rendered]``: frames ``t0 ..`` of one block
        from their base frames in one call; the stream then calls that instead."""
        ...


def _rendered(compositor: Compositor, frames: Iterator[np.ndarray], plan: Any, b0: int, b1: int, planner: Planner,
              progress: Progress) -> Iterator[tuple[int, Rendered]]:
    """``(t, rendered frame)`` of a block's frames, in order: one :meth:`Compositor.render` call
    per frame, or one ``render_batch`` call per ``batch_size`` frames when the compositor
    batches (a network)."""
    batch = int(getattr(compositor, "batch_size", 1))
    i = 0
    while i < b1 - b0:
        if batch <= 1:
            t = b0 + i
            base = next(frames)
            progress("render", t + 1, max(t + 1, planner.n_frames))
            yield t, compositor.render(t, base, plan, i)
            i += 1
            continue
        n = min(batch, b1 - b0 - i)
        bases = [next(frames) for _ in range(n)]
        for k, r in enumerate(compositor.render_batch(b0 + i, bases, plan, i)):
            t = b0 + i + k
            progress("render", t + 1, max(t + 1, planner.n_frames))
            yield t, r
        i += n


@dataclass
class StreamOptions:
    """How the stream encodes.

    Attributes:
        fps: rate of the planned/composited frames.
        factor: output frames per composited frame (1, 2 or 4; >1 interpolates).
        crf, preset: x264 quality and speed.
        enhance_mode: ``"mouth"`` or ``"face"``: the region the enhancer works on.
        enhancer: the enhancer backend, or None.
        frame_filters: applied to every output frame just before encoding, in order.
    """

    fps: float
    factor: int = 1
    crf: int = 18
    preset: str = "veryfast"
    enhance_mode: str = "mouth"
    enhancer: Enhancer | None = None
    frame_filters: Sequence[FrameFilter] = ()


@dataclass
class StreamResult:
    """What :func:`render_stream` did.

    Attributes:
        frames: composited frames T (output frames = T x factor).
        width, height: frame size written (even).
        base_frames, mouth_frames: (T,) per composited frame (see :class:`Rendered`).
        timings_s: ``phones``, ``motion``, ``render`` and ``enhance`` seconds.
        first_frame_s: seconds from the start until the first frame reached the encoder.
    """

    frames: int
    width: int
    height: int
    base_frames: list[int] = field(default_factory=list)
    mouth_frames: list[int] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    first_frame_s: float = 0.0


def render_stream(planner: Planner, compositor: Compositor, speech: Speech | AudioTrack, out: str | Path,
                  options: StreamOptions, progress: Progress | None = None) -> StreamResult:
    """Render ``planner``'s timeline with ``compositor`` and write an MP4 with ``speech``.

    Args:
        planner, compositor: the two sides (see the module docstring).
        speech: the audio, written in step with the frames: a :class:`Speech` (resampled to
            48 kHz when AAC does not take its rate) or an :class:`AudioTrack` still being
            written; the video has ``planner.n_frames / fps`` seconds, the audio's samples
            after the last frame are written at the end.
        out: the MP4 (temp file renamed when complete; nothing left behind on error).
        options: :class:`StreamOptions`.
        progress: reports ``speech`` and ``motion`` (frames planned so far / T) per block and
            ``render`` per frame; setting its cancel event stops the job.
    Returns:
        :class:`StreamResult`.
    Raises:
        OutputError: the file cannot be written. Cancelled: the job was cancelled.
    """
    progress = progress or Progress()
    o = options
    fps, factor = float(o.fps), int(o.factor)
    audio = speech if hasattr(speech, "read") else _SpeechAudio(speech)
    sr = audio.sample_rate_hz
    timings = {"phones": 0.0, "motion": 0.0}
    result = StreamResult(frames=0, width=compositor.width, height=compositor.height)
    t_start = time.perf_counter()
    with VideoWriter(out, fps * factor, compositor.width, compositor.height, crf=o.crf, preset=o.preset,
                     audio_sample_rate_hz=sr) as writer:

        def consume(items) -> None:
            stream = items
            if o.enhancer is not None:
                stream = o.enhancer.enhance(stream)
            if factor > 1:
                stream = FlowInterpolator(factor).interpolate(stream)
            written = 0
            for j, img in enumerate(stream):
                for f in o.frame_filters:
                    img = f(img, j)
                writer.write(img)
                if j % factor == factor - 1:  # the last output frame of composited frame t
                    t = j // factor
                    written = int(round((t + 1) * sr / fps))
                    writer.write_audio(audio.read(int(round(t * sr / fps)), written))
            writer.write_audio(audio.read(written))  # what the last frame's share left over

        encoder = StreamWorker(consume, depth=4)
        frames = prefetch(compositor.base_frames())
        t_render = time.perf_counter()
        try:
            for b0, b1 in planner.blocks():
                t0 = time.perf_counter()
                planner.speech_block(b0, b1)
                t1 = time.perf_counter()
                progress("speech", b1, max(b1, planner.n_frames))
                plan = planner.motion_block(b0, b1)
                t2 = time.perf_counter()
                progress("motion", b1, max(b1, planner.n_frames))
                timings["phones"] += t1 - t0
                timings["motion"] += t2 - t1
                for t, r in _rendered(compositor, frames, plan, b0, b1, planner, progress):
                    result.base_frames.append(r.base_index)
                    result.mouth_frames.append(r.mouth_index)
                    if o.enhancer is not None:
                        item = enhance_frame(o.enhance_mode, r.base, r.image, r.landmarks, r.blend, r.source_crop,
                                             r.base_crop)
                    else:
                        item = r.image
                    if t == 0:
                        result.first_frame_s = time.perf_counter() - t_start
                    encoder.submit(item)
                    result.frames += 1
            for stage in ("speech", "motion", "render"):  # the estimated totals end exact
                progress(stage, result.frames, result.frames)
        finally:
            frames.close()
            encoder.finish()
    timings["render"] = time.perf_counter() - t_render - timings["phones"] - timings["motion"]
    if o.enhancer is not None:
        timings["enhance"] = o.enhancer.seconds  # in the encoder thread, overlapping the render
    result.timings_s = timings
    result.width, result.height = compositor.width - compositor.width % 2, compositor.height - compositor.height % 2
    return result

