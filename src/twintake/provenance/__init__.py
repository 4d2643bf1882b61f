"""Provenance: every twintake video says what it is.

* a signed C2PA manifest (:mod:`.manifest`): claim generator ``twintake/<version>``, action
  ``c2pa.created`` with digital source type ``trainedAlgorithmicMedia``, the hashed ingredients;
* an invisible mark in the frames (:mod:`.video_mark`) and an inaudible one in the sound
  (:mod:`.audio_mark`), both carrying the twintake mark and the job id, surviving re-encoding;
* :func:`verify` reads all three back (:mod:`.verify`).

A job uses :class:`Provenance`::

    prov = Provenance.start()                       # or Provenance.start(cert, key)
    speech = prov.mark_speech(speech)               # before the render
    render(..., frame_filters=[prov.frame_marker])  # each output frame
    prov.sign(finished_temp_file, ingredients)      # before it is renamed onto the output
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..types import Speech
from .audio_mark import detect_audio, mark_audio
from .manifest import Ingredient, SigningKey, load_key, local_key, read_manifest, sha256_bytes, sha256_file, sign_mp4
from .payload import new_job_id
from .verify import VerifyReport, verify
from .video_mark import FrameMarker, MarkDetector, MarkReport

__all__ = ["Provenance", "Ingredient", "VerifyReport", "verify", "FrameMarker", "MarkDetector", "MarkReport",
           "mark_audio", "detect_audio", "read_manifest", "sign_mp4", "local_key", "load_key", "SigningKey",
           "ingredient_of_file", "ingredient_of_speech", "ingredient_of_text", "job_ingredients"]


def ingredient_of_file(role: str, path: str | Path) -> Ingredient:
    """An ingredient for a file: its name and SHA-256."""
    return Ingredient(role, Path(path).name, sha256_file(path))


def ingredient_of_text(text: str) -> Ingredient:
    """An ingredient for a spoken text: its SHA-256 (UTF-8); the text itself is not stored."""
    return Ingredient("text", f"text ({len(text)} characters)", sha256_bytes(text.encode("utf-8")))


def ingredient_of_speech(speech: Speech, name: str = "speech") -> Ingredient:
    """An ingredient for speech samples given in memory: the SHA-256 of the float32 samples."""
    import numpy as np

    data = np.ascontiguousarray(speech.samples, dtype=np.float32).tobytes()
    return Ingredient("speech", f"{name} ({speech.duration_s:.2f} s at {speech.sample_rate_hz} Hz)",
                      sha256_bytes(data))


@dataclass
class Provenance:
    """The provenance of one job: its id, its frame marker and its signing key.

    Attributes:
        job_id: 24-bit id carried by both marks and written in the manifest.
        key: the signing key (the local one unless a certificate was given).
        ingredients: what the video was made from (filled by the job).
    """

    job_id: int
    key: SigningKey
    frame_marker: FrameMarker
    ingredients: list[Ingredient] = field(default_factory=list)

    @classmethod
    def start(cls, sign_cert: str | Path | None = None, sign_key: str | Path | None = None) -> Provenance:
        """A new job's provenance; ``sign_cert`` and ``sign_key`` (PEM) together, or neither
        for this machine's local key (made on first use).

        Raises:
            OutputError: only one of the two given, or unreadable.
        """
        from ..errors import OutputError

        if (sign_cert is None) != (sign_key is None):
            raise OutputError("give both --sign-cert and --sign-key (PEM files), or neither for the local key")
        key = load_key(sign_cert, sign_key) if sign_cert is not None else local_key()
        job_id = new_job_id()
        return cls(job_id=job_id, key=key, frame_marker=FrameMarker(job_id))

    @property
    def job_label(self) -> str:
        """The job id as written in the manifest (``tt-`` and six hex digits)."""
        return f"tt-{self.job_id:06x}"

    def mark_speech(self, speech: Speech, offset: int = 0) -> Speech:
        """``speech`` with the audio mark added (a new :class:`Speech` of the same class; phones
        kept); ``offset``: where it starts in the whole utterance, samples (streamed pieces)."""
        return dataclasses.replace(speech, samples=mark_audio(speech.samples, speech.sample_rate_hz, self.job_id,
                                                              offset=offset))

    def sign(self, path: str | Path) -> None:
        """Embed the signed manifest in the finished MP4 ``path`` (rewritten in place)."""
        sign_mp4(path, self.ingredients, self.job_label, self.key)


def job_ingredients(source: str | Path | None, *, text: str | None = None, audio: object = None,
                    voice: object = None, speech: Speech | None = None) -> list[Ingredient]:
    """The ingredients of a job: the source file, the speech (file or samples) or the text, and
    the voice reference (a file; a voice profile is named only)."""
    out: list[Ingredient] = []
    if source is not None and Path(source).is_file():
        out.append(ingredient_of_file("source", source))
    if text is not None:
        out.append(ingredient_of_text(text))
    elif isinstance(audio, (str, Path)) and Path(audio).is_file():
        out.append(ingredient_of_file("speech", audio))
    elif speech is not None:
        out.append(ingredient_of_speech(speech))
    if isinstance(voice, (str, Path)) and Path(voice).is_file():
        out.append(ingredient_of_file("voice", voice))
    elif voice is not None and not isinstance(voice, (str, Path)):
        out.append(Ingredient("voice", f"voice profile {getattr(voice, 'name', type(voice).__name__)}", ""))
    return out
