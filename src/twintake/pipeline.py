"""The main job: source video + speech -> lip-synced MP4.

    prepare source (cached) -> speech + phones -> mouth trajectory -> base timeline
    -> mouth selection (Viterbi) -> composite frame by frame -> encode + mux

Everything after preparation streams: base frames are decoded, composited, encoded and dropped
one at a time, so memory stays flat however long the speech is.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path

import numpy as np

from ._threads import StreamWorker, prefetch
from .errors import MediaError, OutputError, SpeechError
from .face.align import apply_affine
from .face.landmarks import MID_FACE
from .face.tracker import invalid_ranges
from .hooks import Progress, ProgressHook
from .media import VideoWriter, iter_frames_at, load_audio, probe
from .motion.driver import VisemeDriver
from .motion.shapes import opening
from .options import LipsyncOptions
from .prepare import PreparedVideo, prepare_video
from .render.composite import Compositor
from .render.enhance import DEFAULT_ENHANCE, enhance_frame, make_enhancer
from .render.interpolate import FlowInterpolator, interpolation_factor
from .render.select import select_frames
from .speech.analysis import resample
from .render.timeline import pingpong_indices
from .types import RenderResult, Speech, TimeRange

#: Sample rates AAC accepts; other rates are resampled to 48 kHz.
_AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def check_output_path(out: str | Path) -> Path:
    """Raise :class:`OutputError` unless ``out`` can be written (checked before any work)."""
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    if out.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        raise OutputError(f"cannot write {out}: the output must be an .mp4 file")
    if not parent.is_dir():
        raise OutputError(f"cannot write {out}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {out}: folder {parent} is not writable")
    if out.is_dir():
        raise OutputError(f"cannot write {out}: it is a folder")
    return out


def load_speech(audio: str | Path, max_duration_s: float = 1800.0) -> Speech:
    """Read a speech file (wav/mp3/m4a/flac or a video's audio track) as mono float32.

    Raises:
        MediaError: not a media file, or no audio stream.
        SpeechError: silent, or longer than ``max_duration_s``.
    """
    from .speech.analysis import is_silent

    info = probe(audio)
    if info.audio is None:
        raise MediaError(f"{audio} has no audio stream: give a speech file (wav, mp3, m4a, flac) "
                         "or a video with sound")
    if info.audio.duration_s > max_duration_s:
        raise SpeechError(f"{audio} is {info.audio.duration_s / 60:.1f} min long, over the "
                          f"{max_duration_s / 60:.0f} min limit: split it or raise --max-duration")
    rate = info.audio.sample_rate_hz if info.audio.sample_rate_hz in _AAC_RATES else 48000
    samples = load_audio(audio, rate)
    if len(samples) == 0 or is_silent(samples, rate):
        raise SpeechError(f"{audio} is silent: there is no speech to lip-sync to")
    if len(samples) / rate > max_duration_s:
        raise SpeechError(f"{audio} is over the {max_duration_s / 60:.0f} min limit")
    return Speech(samples=samples, sample_rate_hz=rate)


def speech_blocks(amount: np.ndarray, fps: float, n_out: int, first_s: float = 2.0,
                  block_s: float = 8.0) -> list[tuple[int, int]]:
    """Cut the output timeline into blocks planned one after another (streaming).

    The first block is short so the first frame comes out quickly; every cut is put at the
    quietest frame (smallest articulation) within a second of its nominal place, so phone
    recognition and coarticulation are rarely cut mid-word.

    Args:
        amount: (T,) articulation per frame (0 in silence).
    Returns:
        [(start, stop), ...] covering 0 .. n_out.
    """
    cuts = [0]
    length = first_s
    while cuts[-1] + int(length * fps) < n_out - int(fps):
        nominal = cuts[-1] + int(length * fps)
        lo, hi = max(cuts[-1] + 1, nominal - int(fps)), min(n_out - 1, nominal + int(fps))
        cuts.append(lo + int(np.argmin(amount[lo:hi])) if hi > lo else nominal)
        length = block_s
    cuts.append(n_out)
    return list(zip(cuts[:-1], cuts[1:]))


def _recognize_block(speech: Speech, start_s: float, end_s: float, mode: str) -> list:
    """Phones of ``speech`` between ``start_s`` and ``end_s`` (times in the whole file)."""
    from .speech.phones import recognize_phones
    from .types import Phone

    sr = speech.sample_rate_hz
    part = speech.samples[int(round(start_s * sr)):int(round(end_s * sr))]
    if len(part) < sr // 50:
        return [Phone("SIL", start_s, end_s)]
    phones = recognize_phones(resample(part, sr, 16000), 16000, mode=mode)
    return [Phone(p.symbol, p.start_s + start_s, p.end_s + start_s) for p in phones]


def ensure_phones(speech: Speech) -> Speech:
    """Fill ``speech.phones`` by recognizing them from the audio when they are not known."""
    if not speech.phones:
        from .speech.phones import recognize_phones

        mode = "accurate" if speech.duration_s <= 30 else "fast"
        speech.phones = recognize_phones(resample(speech.samples, speech.sample_rate_hz, 16000), 16000,
                                         mode=mode)
    return speech


def selection_features(descriptors: np.ndarray, opening_weight: float) -> np.ndarray:
    """(N, 114) mouth points -> (N, 115) selection features: the points plus the weighted
    inner-lip opening."""
    return np.concatenate([descriptors, opening_weight * opening(descriptors)[:, None]], 1).astype(np.float32)


def render(prep: PreparedVideo, speech: Speech, out: str | Path, options: LipsyncOptions | None = None,
           progress: Progress | None = None, exclude_radius: int | None = None) -> RenderResult:
    """Render a prepared source speaking ``speech`` to ``out`` (see :func:`lipsync`).

    ``exclude_radius`` (frames, evaluation only): never take a mouth from within this many frames
    of the output frame's base frame (leave-segment-out; see :mod:`twintake.evaluate.protocol`)."""
    o = options or LipsyncOptions()
    progress = progress or Progress()
    out = check_output_path(out)
    timings = dict(prep.timings_s)
    fps = prep.fps  # motion and mouth selection run at the source's rate ...
    enhancer = make_enhancer(o.enhance, fps, o.enhancer_model, o.detail)  # loads a checkpoint: fail early
    enhance_mode = o.enhance or DEFAULT_ENHANCE
    factor = 1 if o.fps is None else interpolation_factor(prep.fps, o.fps)  # ... output at factor x
    n_out = max(1, int(round(speech.duration_s * fps)))
    speech = dataclasses.replace(speech, phones=list(speech.phones))  # filled block by block below
    driver = VisemeDriver(o.driver)
    t0 = time.perf_counter()
    scale = driver.articulation_scale(speech, fps, n_out)
    base = pingpong_indices(n_out, prep.openness, fps)
    blocks = speech_blocks(scale[0], fps, n_out)
    timings["motion"] = time.perf_counter() - t0
    timings["phones"] = 0.0
    known_phones = bool(speech.phones)
    # the triphone ("accurate") recognizer costs ~0.3-0.5x real time, as much as rendering; past
    # 30 s of speech the context-independent one (~0.05x) keeps the whole job near real time
    recognizer_mode = "accurate" if speech.duration_s <= 30 else "fast"
    k = o.select.opening_weight
    bank_features = selection_features(prep.descriptors, k)

    def plan_block(b0: int, b1: int, previous: int | None):
        """Phones, target shapes and chosen source frames of output frames b0 .. b1 - 1."""
        t_start = time.perf_counter()
        if not known_phones:
            speech.phones.extend(_recognize_block(speech, b0 / fps, b1 / fps, recognizer_mode))
        t_mid = time.perf_counter()
        traj = driver.drive(speech, prep.model, prep.shapes, fps, n_out, start=b0, stop=b1, scale=scale)
        target = prep.model.decode(traj.coeffs)
        sel = select_frames(selection_features(target, k), bank_features, prep.track.valid,
                            base_pose=prep.pose[base[b0:b1]], bank_pose=prep.pose, options=o.select,
                            exclude_radius=exclude_radius, base_index=base[b0:b1], previous=previous)
        timings["phones"] += t_mid - t_start
        timings["motion"] += time.perf_counter() - t_mid
        return target, sel

    progress("speech", 1, 1)
    progress("motion", 1, 1)
    t0 = time.perf_counter()
    comp = Compositor(prep.box, o.composite)
    valid = prep.track.valid
    sr = speech.sample_rate_hz
    h, w = prep.track.height, prep.track.width
    with VideoWriter(out, fps * factor, w, h, crf=o.crf, preset=o.preset, audio_sample_rate_hz=sr) as writer:

        def consume(items) -> None:
            stream = (img for _, img in items)
            if enhancer is not None:
                stream = enhancer.enhance(stream)
            if factor > 1:
                stream = FlowInterpolator(factor).interpolate(stream)
            for j, img in enumerate(stream):
                writer.write(img)
                if j % factor == factor - 1:  # the last output frame of source-rate frame t
                    t = j // factor
                    a0, a1 = int(round(t * sr / fps)), int(round((t + 1) * sr / fps))
                    writer.write_audio(speech.samples[a0:(len(speech.samples) if t == n_out - 1 else a1)])

        encoder = StreamWorker(consume, depth=4)
        frames = prefetch(iter_frames_at(prep.source, base, fps=fps))
        try:
            previous = None
            for b0, b1 in blocks:
                target, sel = plan_block(b0, b1, previous)
                previous = int(sel[-1])
                for i in range(b1 - b0):
                    t = b0 + i
                    frame = next(frames)
                    progress("render", t + 1, n_out)
                    b = int(base[t])
                    img, blend, s = frame.image, None, -1
                    if valid[b]:
                        s = int(sel[i])
                        mid = apply_affine(prep.box.pixel_to_crop(prep.transforms[s]),
                                           prep.track.landmarks[s, MID_FACE, :2])
                        img, blend = comp.composite_blend(img, prep.transforms[b], prep.track.landmarks[b],
                                                          np.asarray(prep.bank[s]), prep.descriptors[s], target[i],
                                                          mid)
                    if enhancer is not None:  # detail target: the chosen crop vs the base frame's own
                        img = enhance_frame(enhance_mode, frame.image, img,
                                            prep.track.landmarks[b] if valid[b] else None, blend,
                                            prep.bank[s] if s >= 0 else None, prep.bank[b] if s >= 0 else None)
                    encoder.submit((t, img))
        finally:
            frames.close()
            encoder.finish()
    timings["render"] = time.perf_counter() - t0 - timings["phones"] - timings["motion"]
    if enhancer is not None:
        timings["enhance"] = enhancer.seconds  # in the encoder thread, overlapping the render
    without = [TimeRange(a / fps, (b + 1) / fps) for a, b in invalid_ranges(valid[base], fps)]
    return RenderResult(path=out, duration_s=n_out / fps, fps=fps * factor, frames=n_out * factor, width=w - w % 2,
                        height=h - h % 2, frames_without_face=without, timings_s=timings,
                        cache_hits=list(prep.cache_hits))


def lipsync(video: str | Path, audio: str | Path | Speech, out: str | Path,
            options: LipsyncOptions | None = None, *, hook: ProgressHook | None = None,
            cancel: threading.Event | None = None) -> RenderResult:
    """Lip-sync the face in ``video`` to ``audio`` and write an MP4.

    Args:
        video: a talking video (any container PyAV reads; rotation and VFR handled), or a
            portrait photo (jpg/png/webp...), animated at 25 fps (or ``options.fps``).
        audio: speech file (wav/mp3/m4a/flac, or a video whose audio track is used), or a
            :class:`Speech` (e.g. from :func:`twintake.synthesize`).
        out: the .mp4 to write (written to a temp file and renamed when complete).
        options: :class:`LipsyncOptions`.
        hook: progress hook ``hook(stage, completed, total)``; stages ``track``, ``bank``,
            ``speech``, ``motion``, ``render``.
        cancel: set this event to stop the job (raises :class:`Cancelled`, no file left).
    Returns:
        :class:`RenderResult` (path, duration_s, fps, frames, frames_without_face, timings_s).
    Raises:
        MediaError, NoFaceError, SpeechError, OutputError, Cancelled.
    """
    o = options or LipsyncOptions()
    progress = Progress(hook, cancel)
    check_output_path(out)
    speech = audio if isinstance(audio, Speech) else load_speech(audio, o.max_duration_s)
    if speech.duration_s > o.max_duration_s:
        raise SpeechError(f"the speech is {speech.duration_s / 60:.1f} min long, over the "
                          f"{o.max_duration_s / 60:.0f} min limit")
    if probe(video).is_image:
        from .render.photo import render_photo

        return render_photo(video, speech, out, fps=float(o.fps or 25.0), size=o.size, face_index=o.face_index,
                            crf=o.crf, preset=o.preset, progress=progress)
    if o.enhancer_model is not None:  # a wrong checkpoint fails before the face tracking (load is cached)
        make_enhancer(o.enhance, 25.0, o.enhancer_model, o.detail)
    prep = prepare_video(video, face_index=o.face_index, progress=progress, use_cache=o.use_cache)
    return render(prep, speech, out, o, progress)
