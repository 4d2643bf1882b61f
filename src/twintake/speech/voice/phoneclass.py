"""Per-phone-class statistics of a Kokoro voice, for the phone-class conversion
(``method="phone"`` of :func:`.world.convert_features`).

The phone-class transform needs the *source* voice's mean mel-cepstrum per broad phone class,
pooled over many phones: a single sentence gives the mean of the few phones it happens to
contain, and mapping that onto the reference's class mean would pull each phone toward its
class average (measured: the WER rose, docs/speech.md "Phone-aware conversion"). The statistics
of a voice (a shipped name or a searched style pack) come from Kokoro reading
:data:`SOURCE_SENTENCES` once, with its own phone timings labelling the frames, and are cached on
disk by the pack's hash (``$XDG_CACHE_HOME/twintake/voices/srcclass-<sha1>-v1.npz``): the first
use of a voice costs ~8 Kokoro sentences (~10 CPU-s), later ones a file read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid

import numpy as np

__all__ = ["SOURCE_SENTENCES", "voice_class_stats", "stats_to_arrays", "stats_from_arrays"]

log = logging.getLogger(__name__)

#: Read by the source voice for its class statistics and for the shipped voices' log-F0 and
#: cepstral statistics (``benchmarks/bench_voice_search.py --stats``): the voice search's
#: sentences and three more (not the benchmarks' Harvard sentences).
SOURCE_SENTENCES = (
    "She sells fresh bread at the market.",
    "Why would anyone leave the gate open?",
    "My brother plays the guitar loudly.",
    "We walked along the quiet shore until noon.",
    "Could you bring the blue folder to my office, please?",
    "Many people enjoy a long walk after dinner.",
    "The train to the city leaves at seven.",
    "Please write your name at the top of the page.",
)
_VERSION = 1


def stats_to_arrays(stats: dict) -> dict[str, np.ndarray]:
    """:func:`.world.class_stats` output -> flat arrays ``keys`` (K, 2) int, ``mean``/``std``
    (K, D) float64, ``n`` (K,) int (for ``np.savez``)."""
    keys = sorted(stats)
    return {"keys": np.array([[int(f), k] for f, k in keys], np.int64).reshape(-1, 2),
            "mean": np.stack([stats[k][0] for k in keys]) if keys else np.zeros((0, 0)),
            "std": np.stack([stats[k][1] for k in keys]) if keys else np.zeros((0, 0)),
            "n": np.array([stats[k][2] for k in keys], np.int64)}


def stats_from_arrays(z) -> dict:
    """Inverse of :func:`stats_to_arrays` (``z`` a mapping of those arrays)."""
    return {(bool(f), int(k)): (np.asarray(m, np.float64), np.asarray(s, np.float64), int(n))
            for (f, k), m, s, n in zip(z["keys"], z["mean"], z["std"], z["n"])}


def voice_class_stats(voice: str | np.ndarray, *, use_cache: bool = True) -> dict:
    """Per (voicing, broad phone class) mel-cepstral statistics of a Kokoro voice.

    Args:
        voice: a shipped voice name (``"jm_kumo"``) or a style pack (510, 1, 256) float32.
        use_cache: read / write the on-disk cache.
    Returns:
        ``{(voiced_flag, class): (mean (60,), std (60,), n_frames)}`` as
        :func:`.world.class_stats`, over the active frames of :data:`SOURCE_SENTENCES` read by
        the voice, each frame labelled by Kokoro's own phone timings.
    Raises:
        SpeechError: unknown voice name; BackendError: Kokoro or pyworld missing.
    """
    from ...errors import SpeechError
    from .profile import voice_cache_dir
    from .style import shipped_packs, style_chunks
    from .world import N_CODED, VC_RATE, active_frames, analyze, class_stats, code, frame_classes

    if isinstance(voice, str):
        packs = shipped_packs()
        if voice not in packs:
            raise SpeechError(f"unknown Kokoro voice {voice!r}")
        pack = np.asarray(packs[voice], np.float32)
    else:
        pack = np.asarray(voice, np.float32)
    digest = hashlib.sha1(pack.tobytes() + "\n".join(SOURCE_SENTENCES).encode()).hexdigest()[:20]
    path = voice_cache_dir() / f"srcclass-{digest}-v{_VERSION}.npz"
    if use_cache and path.is_file():
        try:
            with np.load(path) as z:
                return stats_from_arrays(z)
        except Exception:  # a damaged entry is rebuilt
            log.warning("ignoring unreadable class statistics %s", path)
    coded, voiced, classes, active = [], [], [], []
    for chunk in style_chunks(list(SOURCE_SENTENCES), "en", pack):
        f = analyze(chunk.samples, VC_RATE, with_ap=False)
        coded.append(code(f.sp, VC_RATE, N_CODED))
        voiced.append(f.f0 > 0)
        classes.append(frame_classes(chunk.phones, len(f.f0)))
        active.append(active_frames(f.sp))
    stats = class_stats(np.concatenate(coded), np.concatenate(voiced), np.concatenate(classes),
                        np.concatenate(active))
    if use_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.npz")
            np.savez_compressed(tmp, **stats_to_arrays(stats))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("cannot write class statistics %s: %s", path, exc)
    return stats
