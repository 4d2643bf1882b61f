"""Voice profiles: a reference speaker's WORLD features, prepared once and cached.

Preparation (:meth:`VoiceProfile.from_audio`): decode any audio/video with PyAV to 24 kHz mono,
keep speech only (energy voice-activity detection, 20 ms frames), reject unusable references
with :class:`~twintake.errors.VoiceError` (not audio, silent, under 5 s of speech, singing or
music), then analyse with WORLD (Harvest F0, CheapTrick envelope) and keep the coded envelopes
of voiced and unvoiced frames plus log-F0 statistics. Profiles are stored as
``<cache>/twintake/voices/<sha256 of the file>-v1.npz`` (``$XDG_CACHE_HOME`` or ``~/.cache``)
and reused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...errors import VoiceError
from ...hooks import ProgressHook
from ..analysis import resample
from .vad import VAD_FRAME_S as _VAD_FRAME_S
from .vad import speech_segments
from .world import FRAME_MS, N_CODED, VC_RATE, analyze, code, frame_classes

if TYPE_CHECKING:
    from .search import VoiceSearchResult

__all__ = [
    "PROFILE_VERSION",
    "MIN_SPEECH_S",
    "RECOMMENDED_SPEECH_S",
    "VoiceProfile",
    "load_voice_profile",
    "voice_cache_dir",
    "decode_audio",
    "speech_segments",
]

log = logging.getLogger(__name__)

PROFILE_VERSION = 1
MIN_SPEECH_S = 5.0
RECOMMENDED_SPEECH_S = 30.0
MAX_SPEECH_S = 90.0  # longer references are truncated (analysis time grows linearly)


def voice_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/twintake/voices`` (default ``~/.cache/twintake/voices``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "twintake" / "voices"


def decode_audio(path: str | Path, rate: int = VC_RATE) -> np.ndarray:
    """Decode the first audio stream of any media file to mono float32 (S,) at ``rate`` Hz
    (:func:`twintake.media.load_audio`, with its errors phrased for a voice reference).

    Raises:
        VoiceError: the file is missing, unreadable, or has no audio stream.
    """
    from ...errors import MediaError
    from ...media import load_audio

    p = Path(path)
    if not p.is_file():
        raise VoiceError(f"voice reference {p} does not exist")
    try:
        samples = load_audio(p, rate)
    except MediaError as exc:
        raise VoiceError(f"unusable voice reference: {exc}") from None
    if samples.size == 0:
        raise VoiceError(f"voice reference {p} has an empty audio stream")
    return samples


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_voice(f0: np.ndarray, speech_s: float, source: str) -> None:
    """Reject references that are not speech: too few voiced frames, or pitch held steady
    like sung/instrumental notes (speech F0 glides continuously)."""
    voiced = f0 > 0
    ratio = float(voiced.mean()) if voiced.size else 0.0
    if ratio < 0.15:
        raise VoiceError(
            f"voice reference {source} has almost no voiced speech ({ratio:.0%} of "
            f"{speech_s:.1f} s is voiced); use a recording of one person speaking"
        )
    lf0 = np.full(f0.shape, np.nan)
    lf0[voiced] = 12 * np.log2(f0[voiced])
    step = int(round(50 / FRAME_MS))
    d = np.abs(lf0[step:] - lf0[:-step])
    d = d[np.isfinite(d)]
    steady = float(np.mean(d < 0.25)) if d.size else 1.0
    if steady > 0.55:
        raise VoiceError(
            f"voice reference {source} looks like music or singing (pitch held steady in "
            f"{steady:.0%} of voiced frames); use a recording of plain speech"
        )


@dataclass
class VoiceProfile:
    """Features of a reference speaker for :func:`twintake.speech.voice.convert`.

    Attributes:
        voiced: (Nv, N_CODED) float32 coded WORLD envelopes of voiced reference frames.
        unvoiced: (Nu, N_CODED) float32 coded envelopes of unvoiced speech frames.
        lf0_mean, lf0_std: mean and standard deviation of natural-log F0 (voiced frames).
        f0_median_hz: median F0 in Hz.
        mean_logspec: (F,) float32 mean natural-log power envelope of voiced frames.
        mean, std: (N_CODED,) float32 statistics of all coded frames.
        speech_s: seconds of speech analysed.
        source: where it came from (file name), for messages.
        content_hash: sha256 of the source file ("" when built from samples).
        search: the Kokoro voice found for this speaker by :func:`.search.search_voice`
            (None: not searched; :func:`synthesize` then converts an F0-chosen built-in voice).
        voiced_cls, unvoiced_cls: (Nv,) / (Nu,) int8 broad phone class of every pooled frame
            (:data:`.world.PHONE_CLASSES`, -1 = none), from PocketSphinx allphone recognition of
            the reference (:func:`twintake.speech.phones.recognize_phones`); None when the
            profile was made without labels (the phone-class conversion then falls back to
            the global transform).
    """

    voiced: np.ndarray
    unvoiced: np.ndarray
    lf0_mean: float
    lf0_std: float
    f0_median_hz: float
    mean_logspec: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    speech_s: float
    source: str = ""
    content_hash: str = ""
    search: "VoiceSearchResult | None" = None
    voiced_cls: np.ndarray | None = None
    unvoiced_cls: np.ndarray | None = None

    @classmethod
    def from_samples(cls, samples: np.ndarray, rate: int, source: str = "<samples>", *,
                     phone_labels: bool | None = None) -> "VoiceProfile":
        """Build a profile from mono float samples (S,) at ``rate`` Hz (no caching).

        With ``phone_labels`` every pooled frame also gets its broad phone class from
        PocketSphinx allphone recognition of the kept speech (~0.45 CPU-s per second of
        speech, once per reference; recognizer failures leave the labels None). None
        (default): only when the default conversion method uses them (``method="phone"``).

        Raises:
            VoiceError: silent, under 5 s of speech, or not speech.
        """
        x = np.asarray(samples, np.float32).ravel()
        x = resample(x, int(rate), VC_RATE)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak < 10 ** (-60 / 20):
            raise VoiceError(f"voice reference {source} is silent")
        mask = speech_segments(x, VC_RATE)
        n = int(round(_VAD_FRAME_S * VC_RATE))
        speech = x[: len(mask) * n].reshape(len(mask), n)[mask].reshape(-1)
        speech_s = len(speech) / VC_RATE
        if speech_s < MIN_SPEECH_S:
            raise VoiceError(
                f"voice reference {source} has only {speech_s:.1f} s of speech; at least "
                f"{MIN_SPEECH_S:.0f} s are needed ({RECOMMENDED_SPEECH_S:.0f} s or more recommended)"
            )
        if speech_s > MAX_SPEECH_S:
            speech = speech[: int(MAX_SPEECH_S * VC_RATE)]
            speech_s = MAX_SPEECH_S
        if speech_s < RECOMMENDED_SPEECH_S:
            log.info("voice reference %s: %.1f s of speech; %.0f s or more give a closer voice",
                     source, speech_s, RECOMMENDED_SPEECH_S)
        feats = analyze(speech, VC_RATE, f0_method="harvest", with_ap=False)
        _check_voice(feats.f0, speech_s, source)
        # drop near-silent frames inside kept segments (energy below 40 dB under the median)
        energy = 10 * np.log10(feats.sp.sum(1) + 1e-20)
        keep = energy > np.median(energy) - 40
        voiced = (feats.f0 > 0) & keep
        unvoiced = (feats.f0 == 0) & keep
        coded = code(feats.sp, VC_RATE, N_CODED)
        lf0 = np.log(feats.f0[voiced])
        if phone_labels is None:
            phone_labels = _labels_wanted()
        labels = _phone_labels(speech, len(feats.f0), source) if phone_labels else None
        return cls(
            voiced=coded[voiced].astype(np.float32),
            unvoiced=coded[unvoiced].astype(np.float32),
            lf0_mean=float(lf0.mean()),
            lf0_std=float(lf0.std()),
            f0_median_hz=float(np.median(feats.f0[voiced])),
            mean_logspec=np.log(np.maximum(feats.sp[voiced], 1e-16)).mean(0).astype(np.float32),
            mean=coded[keep].mean(0).astype(np.float32),
            std=coded[keep].std(0).astype(np.float32),
            speech_s=float(speech_s),
            source=source,
            voiced_cls=None if labels is None else labels[voiced],
            unvoiced_cls=None if labels is None else labels[unvoiced],
        )

    @classmethod
    def from_audio(cls, path: str | Path, *, use_cache: bool = True,
                   phone_labels: bool | None = None) -> "VoiceProfile":
        """Profile of the speaker in any audio/video file, cached by file content.

        ``phone_labels``: label the pooled frames with broad phone classes (see
        :meth:`from_samples`); None (default): only when the default conversion method uses
        them (:data:`.convert.DEFAULT_METHOD` in :data:`.world.PHONE_METHODS`). A cached
        profile without labels is relabelled when they are wanted (its search is kept).

        Raises:
            VoiceError: missing/unreadable file, no audio, silent, under 5 s of speech, music.
        """
        p = Path(path)
        if not p.is_file():
            raise VoiceError(f"voice reference {p} does not exist")
        want_labels = _labels_wanted() if phone_labels is None else bool(phone_labels)
        digest = _file_hash(p)
        cache = voice_cache_dir() / f"{digest}-v{PROFILE_VERSION}.npz"
        found = None
        if use_cache and cache.is_file():
            try:
                prof = cls.load(cache)
                prof.source = p.name
                if prof.voiced_cls is not None or not want_labels:
                    return prof
                found = prof.search  # an entry made before phone labels: relabel, keep the search
            except Exception:  # a damaged cache entry is rebuilt
                log.warning("ignoring unreadable voice cache %s", cache)
        prof = cls.from_samples(decode_audio(p, VC_RATE), VC_RATE, source=p.name, phone_labels=want_labels)
        prof.content_hash = digest
        prof.search = found
        if use_cache:
            try:
                prof.save(cache)
            except OSError as exc:
                log.warning("cannot write voice cache %s: %s", cache, exc)
        return prof

    def save(self, path: str | Path) -> Path:
        """Write the profile as an ``.npz`` (atomically) and return its path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        # unique temp name: two processes building the same cached profile must not share it
        tmp = p.with_name(f"{p.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.npz")
        np.savez_compressed(
            tmp, version=PROFILE_VERSION, voiced=self.voiced, unvoiced=self.unvoiced,
            lf0=np.array([self.lf0_mean, self.lf0_std, self.f0_median_hz, self.speech_s]),
            mean_logspec=self.mean_logspec, mean=self.mean, std=self.std,
            source=np.array(self.source), content_hash=np.array(self.content_hash),
            **(self.search.to_arrays() if self.search is not None else {}),
            **({"voiced_cls": self.voiced_cls.astype(np.int8), "unvoiced_cls": self.unvoiced_cls.astype(np.int8)}
               if self.voiced_cls is not None and self.unvoiced_cls is not None else {}),
        )
        os.replace(tmp, p)
        return p

    @classmethod
    def load(cls, path: str | Path) -> "VoiceProfile":
        """Read a profile written by :meth:`save`.

        Raises:
            VoiceError: not a profile, or one of another format version.
        """
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                if int(z["version"]) != PROFILE_VERSION:
                    raise VoiceError(f"voice profile {path} has format v{int(z['version'])}; "
                                     f"v{PROFILE_VERSION} is needed (rebuild it from the audio)")
                lf0 = z["lf0"]
                from .search import VoiceSearchResult

                labelled = "voiced_cls" in z.files and "unvoiced_cls" in z.files
                return cls(z["voiced"], z["unvoiced"], float(lf0[0]), float(lf0[1]), float(lf0[2]),
                           z["mean_logspec"], z["mean"], z["std"], float(lf0[3]), str(z["source"]),
                           str(z["content_hash"]), VoiceSearchResult.from_arrays(z),
                           z["voiced_cls"] if labelled else None, z["unvoiced_cls"] if labelled else None)
        except VoiceError:
            raise
        except Exception as exc:
            raise VoiceError(f"{path} is not a twintake voice profile ({exc})") from exc


def _labels_wanted() -> bool:
    """Whether the default conversion method uses the reference's phone labels."""
    from .convert import default_uses_phone_classes

    return default_uses_phone_classes()


def _phone_labels(speech: np.ndarray, n_frames: int, source: str) -> np.ndarray | None:
    """(n_frames,) int8 broad phone class of each 5 ms WORLD frame of ``speech`` (24 kHz), from
    PocketSphinx allphone recognition; None if the recognizer fails."""
    from ...errors import BackendError, SpeechError
    from ..phones import recognize_phones

    try:
        phones = recognize_phones(np.asarray(speech, np.float32), VC_RATE)
    except (BackendError, SpeechError) as exc:
        log.warning("voice reference %s: no phone labels (%s); the conversion uses global statistics", source, exc)
        return None
    return frame_classes(phones, n_frames)


def load_voice_profile(path: str | Path, *, search: bool = True, hook: ProgressHook | None = None,
                       search_options: dict | None = None, phone_labels: bool | None = None) -> VoiceProfile:
    """A profile from a saved ``.npz`` profile or from any audio/video reference file.

    For an audio/video file the profile is cached by the file's sha256 (see
    :meth:`VoiceProfile.from_audio`); with ``search`` (default) the voice search
    (:func:`.search.search_voice`, about 1-3 min on 2 cores) runs once for that file and its
    result is stored in the same cache entry, so ``prepare`` and later ``--voice REF`` calls
    get it at once. A saved ``.npz`` is returned as stored (searched or not).

    Args:
        path: audio/video reference or a saved profile.
        search: run the voice search when the cached profile has no current one.
        hook: progress ``hook("voice_search", done, total)``.
        search_options: keywords for :func:`.search.search_voice` (``budget_s``, ``seed``, ...).
        phone_labels: label the reference's frames with phone classes (see
            :meth:`VoiceProfile.from_audio`; None: when the default conversion method uses them).
    Raises:
        VoiceError: see :meth:`VoiceProfile.from_audio` / :meth:`VoiceProfile.load`.
        Cancelled: the hook asked to stop.
    """
    p = Path(path)
    if p.suffix.lower() == ".npz":
        return VoiceProfile.load(p)
    prof = VoiceProfile.from_audio(p, phone_labels=phone_labels)
    from .search import SEARCH_VERSION, search_voice

    if not search or (prof.search is not None and prof.search.version == SEARCH_VERSION):
        return prof
    samples = decode_audio(p, VC_RATE)
    prof.search = search_voice(samples, VC_RATE, prof, hook=hook, **(search_options or {}))
    if prof.content_hash:
        cache = voice_cache_dir() / f"{prof.content_hash}-v{PROFILE_VERSION}.npz"
        try:
            prof.save(cache)
        except OSError as exc:
            log.warning("cannot write voice cache %s: %s", cache, exc)
    return prof
