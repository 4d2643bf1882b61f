"""The two renders: a prepared video and a photo, each a planner + a compositor run through the one
frame loop, :func:`twintake.render.stream.render_stream`.

    render_video(prepared, speech, out, options)   # the person's own mouths on the source frames
    render_photo(photo, speech, out, options)      # the photo animated

The evaluation calls :func:`render_video` too, with a :class:`~twintake.render.video.FixedPlanner`
for its baselines, so a baseline differs from the product only in its mouth selection.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .errors import BackendError
from .face.tracker import invalid_ranges
from .hooks import Progress
from .media import check_output_path, iter_frames_at
from .options import LipsyncOptions
from .prepare import PreparedVideo
from .render.enhance import DEFAULT_ENHANCE, make_enhancer
from .render.interpolate import interpolation_factor
from .render.stream import Planner, StreamOptions, render_stream
from .render.neural import DEFAULT_LIPSYNC, make_lipsync
from .render.video import VideoCompositor, VideoPlanner, timeline_frames
from .render.video.timeline import base_timeline, loop_features
from .types import RenderResult, Speech, TimeRange

__all__ = ["render_video", "render_video_stream", "render_photo"]


def _stream_options(o: LipsyncOptions, fps: float, factor: int, filters) -> StreamOptions:
    enhancer = make_enhancer(o.enhance, fps, o.enhancer_model, o.detail)  # loads a checkpoint: fail early
    return StreamOptions(fps=fps, factor=factor, crf=o.crf, preset=o.preset, enhance_mode=o.enhance or DEFAULT_ENHANCE,
                         enhancer=enhancer, frame_filters=tuple(filters))


def render_video(prep: PreparedVideo, speech: Speech, out: str | Path, options: LipsyncOptions | None = None,
                 progress: Progress | None = None, *, exclude_radius: int | None = None,
                 planner: Planner | None = None, frame_filters=()) -> RenderResult:
    """Render a prepared source video speaking ``speech`` to ``out``.

    The output has the source's size and frame rate (or ``options.fps``, 2x/4x with interpolated
    frames) and exactly the speech's length: when the speech is longer than the video, the video
    is looped forward with cross-faded jumps between similar closed-mouth frames (video textures;
    back and forth only for sources under 2.5 s; :func:`~twintake.render.video.timeline.base_timeline`).

    Args:
        prep: the prepared source (:func:`twintake.prepare.prepare_video` or an avatar's).
        speech: the speech; phones are recognized block by block when it has none.
        out: the .mp4 to write.
        options: :class:`LipsyncOptions`.
        progress: progress/cancel wrapper (stages ``speech``, ``motion``, ``render``).
        exclude_radius: evaluation only: never take a mouth from within this many frames of the
            output frame's base frame (leave-segment-out; :mod:`twintake.evaluate.protocol`).
        planner: evaluation only: a plan to use instead of the product's (its ``n_frames``
            must be the speech's length in frames).
        frame_filters: callables ``f(image, index) -> image`` applied before encoding.
    Returns:
        :class:`RenderResult`.
    Raises:
        OutputError, BackendError (enhancer), Cancelled.
    """
    o = options or LipsyncOptions()
    n_out = max(1, int(round(speech.duration_s * prep.fps)))
    if planner is None and (o.lipsync_backend or DEFAULT_LIPSYNC) != DEFAULT_LIPSYNC:
        return _render_neural(prep, speech, n_out, out, o, progress, frame_filters, exclude_radius)

    def plan(base: np.ndarray):
        return planner or VideoPlanner(speech, prep.model, prep.shapes, prep.descriptors, prep.track.valid, prep.pose,
                                       base, prep.fps, driver=o.driver, select=o.select,
                                       exclude_radius=exclude_radius), speech

    return _render_prepared(prep, plan, n_out, out, o, progress, frame_filters)


def _render_neural(prep: PreparedVideo, speech: Speech, n_out: int, out, o: LipsyncOptions,
                   progress: Progress | None, frame_filters, exclude_radius: int | None) -> RenderResult:
    """:func:`render_video` with a neural lip-sync backend (``o.lipsync_backend``): its planner
    and compositor on the same base timeline, enhancer and encoder. With ``exclude_radius`` (the
    evaluation) each frame's identity reference is a source frame at least that far from it."""
    backend = make_lipsync(o.lipsync_backend, o.lipsync_checkpoint, o.device)  # loads: fails before any work

    def plan(base: np.ndarray):
        return backend.planner(speech, prep.fps, n_out), speech

    def compositor(timeline):
        frames = timeline_frames(prep.source, timeline.base, prep.fps, timeline.fade_from, timeline.fade_alpha)
        ref = ref_frames = None
        if exclude_radius is not None:
            ref = reference_frames(timeline.base, prep.track.valid, exclude_radius)
            ref_frames = (f.image for f in iter_frames_at(prep.source, ref, fps=prep.fps))
        return backend.compositor(frames, timeline.base, prep.track.landmarks, prep.track.valid, prep.track.width,
                                  prep.track.height, reference=ref, reference_frames=ref_frames)

    return _render_prepared(prep, plan, n_out, out, o, progress, frame_filters, compositor)


def reference_frames(base: np.ndarray, valid: np.ndarray, radius: int) -> np.ndarray:
    """(T,) int64: for each output frame, the valid source frame nearest to ``base[t] + radius +
    1`` (or before ``base[t] - radius``) that is more than ``radius`` frames away from it (the
    frame itself when no such frame exists)."""
    ok = np.flatnonzero(valid)
    out = np.asarray(base, np.int64).copy()
    for t, b in enumerate(out):
        far = ok[np.abs(ok - b) > radius]
        if len(far):
            out[t] = far[np.argmin(np.abs(far - (b + radius + 1)))]
    return out


def _render_prepared(prep: PreparedVideo, plan, n_base: int, out, o: LipsyncOptions, progress: Progress | None,
                     frame_filters, make_compositor=None) -> RenderResult:
    """The video render shared by :func:`render_video` and :func:`render_video_stream`: the base
    timeline laid out for ``n_base`` frames, ``plan(base) -> (planner, audio)``, the compositor
    (``make_compositor(timeline)``, default the retrieval one), the one frame loop, the result
    (as long as the frames the planner planned)."""
    progress = progress or Progress()
    out = check_output_path(out)
    fps = prep.fps  # motion and mouth selection run at the source's rate ...
    factor = 1 if o.fps is None else interpolation_factor(prep.fps, o.fps)  # ... output at factor x
    so = _stream_options(o, fps, factor, frame_filters)
    t0 = time.perf_counter()
    timeline = base_timeline(n_base, prep.openness, loop_features(prep.track.landmarks, prep.track.valid), fps)
    base = timeline.base
    planner, audio = plan(base)
    t_plan = time.perf_counter() - t0
    if make_compositor is not None:
        comp = make_compositor(timeline)
    else:
        comp = VideoCompositor(prep.source, base, fps, prep.track.landmarks, prep.track.valid, prep.transforms,
                               prep.descriptors, prep.bank, prep.box, prep.track.width, prep.track.height,
                               o.composite, fade_from=timeline.fade_from, fade_alpha=timeline.fade_alpha)
    res = render_stream(planner, comp, audio, out, so, progress)
    timings = dict(prep.timings_s)
    timings.update(res.timings_s)
    timings["motion"] += t_plan
    n_out = res.frames
    without = [TimeRange(a / fps, (b + 1) / fps) for a, b in invalid_ranges(prep.track.valid[base[:n_out]], fps)]
    return RenderResult(path=out, duration_s=n_out / fps, fps=fps * factor, frames=n_out * factor, width=res.width,
                        height=res.height, frames_without_face=without, timings_s=timings,
                        cache_hits=list(prep.cache_hits), base_frames=res.base_frames, mouth_frames=res.mouth_frames,
                        first_frame_s=res.first_frame_s)


def render_video_stream(prep: PreparedVideo, pieces, out: str | Path, options: LipsyncOptions | None = None,
                        progress: Progress | None = None, *, frame_filters=()) -> tuple[RenderResult, Speech]:
    """Render a prepared source video speaking speech that is still being synthesized.

    As :func:`render_video`, but the speech arrives piece by piece (a generator such as
    :func:`twintake.speech.synthesize.synthesize_stream`): the first frames are rendered and
    encoded after the first sentence, while the next ones are synthesized
    (:class:`twintake.render.chained.ChainPlanner`). The base timeline is the same forward
    loop, laid out for the longest speech allowed and cut where the speech ends.

    Args:
        prep: the prepared source.
        pieces: the speech pieces (samples at an AAC rate, phones in utterance time, start_s).
        out, options, progress, frame_filters: as :func:`render_video`.
    Returns:
        ``(RenderResult, the whole Speech)``.
    Raises:
        what the synthesizer raises (from the first piece, before the output is opened),
        OutputError, BackendError, Cancelled.
    """
    from .render.chained import ChainPlanner

    o = options or LipsyncOptions()
    n_max = max(1, int(round(o.max_duration_s * prep.fps)))
    chain: list[ChainPlanner] = []

    def plan(base: np.ndarray):
        def make(speech: Speech, f0: int, f1: int, previous: VideoPlanner | None) -> VideoPlanner:
            # the Viterbi selection continues from the mouth chosen last for the previous piece
            return VideoPlanner(speech, prep.model, prep.shapes, prep.descriptors, prep.track.valid, prep.pose,
                                base[f0:f1], prep.fps, driver=o.driver, select=o.select,
                                previous=None if previous is None else previous.previous)

        chain.append(ChainPlanner(pieces, prep.fps, make, max_frames=n_max))
        chain[0].start()  # the first sentence: bad text or voice fails before the file is opened
        return chain[0], chain[0].audio

    result = _render_prepared(prep, plan, n_max, out, o, progress, frame_filters)
    result.cut_at_s = chain[0].cut_at_s
    return result, chain[0].speech()


def render_photo(image_path: str | Path, speech: Speech, out: str | Path, options: LipsyncOptions | None = None,
                 progress: Progress | None = None, *, frame_filters=()) -> RenderResult:
    """Make a talking video of the face in one photo.

    Args:
        image_path: a photo or painted/AI portrait (jpg, png, webp...; any aspect ratio).
        speech: the speech; phones are recognized block by block when it has none.
        out: the .mp4 to write (temp file + rename; nothing is left behind on error).
        options: :class:`LipsyncOptions`: ``fps`` (default 25), ``size``, ``face_index``,
            ``crf``, ``preset``, ``enhance``/``enhancer_model``/``detail``, ``driver``, ``seed``
            (blinks and head motion); ``select``, ``composite`` and ``use_cache`` concern videos.
        progress: progress/cancel wrapper (stages ``face``, ``speech``, ``motion``, ``render``).
        frame_filters: callables ``f(image, index) -> image`` applied before encoding.
    Returns:
        :class:`RenderResult`; ``frames == round(speech.duration_s * fps)`` (at least 1).
    Raises:
        MediaError: the image cannot be read, or a bad ``size``.
        NoFaceError: no face, a face under ~40 px wide, a profile view, or no face number
            ``face_index``.
        OutputError, BackendError, Cancelled.
    """
    from .render.photo import PhotoCompositor, PhotoPlanner

    o = options or LipsyncOptions()
    if (o.lipsync_backend or DEFAULT_LIPSYNC) != DEFAULT_LIPSYNC:
        raise BackendError(f"--lipsync-backend {o.lipsync_backend} needs a talking video (or a video avatar); "
                           f"{Path(image_path).name} is a photo: use the default backend for photos")
    progress = progress or Progress()
    out = check_output_path(out)
    fps = float(o.fps or 25.0)
    so = _stream_options(o, fps, 1, frame_filters)
    t0 = time.perf_counter()
    comp = PhotoCompositor(image_path, size=o.size, face_index=o.face_index)
    t_face = time.perf_counter() - t0
    progress("face", 1, 1)
    t0 = time.perf_counter()
    planner = PhotoPlanner(speech, comp.animator, fps, driver=o.driver, seed=o.seed)
    t_plan = time.perf_counter() - t0
    res = render_stream(planner, comp, speech, out, so, progress)
    timings = {"face": t_face, **res.timings_s}
    timings["motion"] += t_plan
    n = planner.n_frames
    return RenderResult(path=out, duration_s=n / fps, fps=fps, frames=n, width=res.width, height=res.height,
                        timings_s=timings, first_frame_s=res.first_frame_s)

