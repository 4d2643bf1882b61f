"""``twintake verify``: what a file says about itself - its C2PA manifest, and the twintake marks
in its picture and its sound (found even when the manifest was stripped by re-encoding)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MediaError
from .manifest import ManifestReport, config_dir, read_manifest
from .payload import ID_BITS
from .video_mark import MarkDetector, MarkReport, luma_of_frame

__all__ = ["VerifyReport", "verify"]

#: Frames examined at most (spread evenly over the video).
MAX_FRAMES = 300


@dataclass
class VerifyReport:
    """What :func:`verify` found.

    Attributes:
        path: the file.
        c2pa: the manifest (present / valid / trusted and its claims).
        video, audio: the marks (None: the file has no such stream).
        notes: remarks (e.g. the marks' job id differs from the manifest's).
    """

    path: Path
    c2pa: ManifestReport
    video: MarkReport | None
    audio: MarkReport | None
    notes: list[str] = field(default_factory=list)

    @property
    def ai_generated(self) -> bool:
        """A valid twintake manifest or a twintake mark in the picture or the sound."""
        return bool((self.c2pa.valid and (self.c2pa.claim_generator or "").startswith("twintake"))
                    or (self.video and self.video.found) or (self.audio and self.audio.found))

    def to_json(self) -> dict:
        """Nested plain types; keys ``c2pa.valid``, ``watermark.video.found``, ... ."""
        def mark(m: MarkReport | None) -> dict:
            if m is None:
                return {"found": False, "bit_accuracy": None, "confidence": None, "job_id": None, "stream": False}
            d = dataclasses.asdict(m)
            d["job_id"] = m.job_text
            d["stream"] = True
            return d

        return {"file": str(self.path), "ai_generated": self.ai_generated, "c2pa": dataclasses.asdict(self.c2pa),
                "watermark": {"video": mark(self.video), "audio": mark(self.audio)}, "notes": list(self.notes)}

    def lines(self) -> list[str]:
        """The report for a person, one fact a line."""
        c = self.c2pa
        out = [f"file: {self.path}", f"c2pa: {c.message}"]
        if c.present and c.claim_generator:
            acts = ", ".join(f"{a.get('action')} ({str(a.get('digitalSourceType', '')).rsplit('/', 1)[-1]})"
                             for a in c.actions)
            out.append(f"  claim generator {c.claim_generator}; actions: {acts or 'none'}; job {c.job_id}")
            for i in c.ingredients:
                out.append(f"  ingredient {i.get('role')}: {i.get('name')} sha256 {str(i.get('sha256'))[:16]}...")
        for name, m in (("video", self.video), ("audio", self.audio)):
            if m is None:
                out.append(f"watermark {name}: no {name} stream")
            elif m.found:
                out.append(f"watermark {name}: FOUND, job {m.job_text}, bit accuracy "
                           f"{m.bit_accuracy:.1%}, confidence {m.confidence:.2f}")
            else:
                out.append(f"watermark {name}: not found (confidence {m.confidence:.2f})")
        out.append("verdict: " + ("AI-generated (made by twintake)" if self.ai_generated
                                  else "no twintake manifest or mark found"))
        return out + [f"note: {n}" for n in self.notes]


def _video_mark(path: Path, expected_frames: int) -> MarkReport:
    import av
    import av.error

    det = MarkDetector()
    stride = max(1, -(-expected_frames // MAX_FRAMES))
    decoded = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                decoded += 1
                if i % stride == 0:
                    det.add(luma_of_frame(frame))
    except av.error.FFmpegError as e:
        raise MediaError(f"{path} is damaged or truncated: its video cannot be decoded ({e})") from e
    if expected_frames > 5 and decoded < 0.9 * expected_frames:
        raise MediaError(f"{path} is truncated: {decoded} of {expected_frames} video frames decode")
    return det.result()


def verify(path: str | Path, *, trust: str | Path | None = None) -> VerifyReport:
    """Check a video (or audio) file for a twintake manifest and marks.

    Args:
        path: the file.
        trust: a PEM certificate whose manifests count as ours; default: this machine's
            local signing certificate (when one was ever made).
    Returns:
        :class:`VerifyReport` (a missing or invalid manifest, or no mark, is reported, not raised).
    Raises:
        MediaError: the file does not exist, is not a media file, or is truncated/damaged.
    """
    from ..media import load_audio, probe

    p = Path(path)
    info = probe(p)  # MediaError for a missing / non-media / broken file
    anchor = Path(trust) if trust is not None else config_dir() / "signing" / "signer.pem"
    anchor_pem = anchor.read_bytes() if anchor.is_file() else None
    report = VerifyReport(p, read_manifest(p, anchor_pem), None, None)
    if info.video is not None:
        if info.is_image:
            det = MarkDetector()
            from ..media import iter_frames

            for fr in iter_frames(p):
                det.add(fr.image)
            report.video = det.result()
        else:
            report.video = _video_mark(p, info.video.frame_count)
    if info.audio is not None:
        from .audio_mark import detect_audio

        report.audio = detect_audio(load_audio(p, 16000), 16000)
    c = report.c2pa
    if c.present and c.valid and not c.trusted:
        report.notes.append(f"the manifest is signed by {c.signer or 'an unknown signer'}, not by this machine's "
                            "twintake key: its claims are only as good as that signer")
    _reconcile_job_ids(report)
    return report


def _reconcile_job_ids(report: VerifyReport) -> None:
    """The frame mark carries the low 16 bits of the job id: complete it from the valid
    manifest's or the audio mark's 24-bit id when the low bits agree (a different id is left as
    it is); add a note when a mark's id differs from the manifest's."""
    v, a, c = report.video, report.audio, report.c2pa
    manifest_id = _job_number(c.job_id)
    if v is not None and v.found and v.id_bits < ID_BITS:
        candidates = [a.job_id] if a is not None and a.found and a.id_bits >= ID_BITS else []
        if c.valid and manifest_id is not None:
            candidates.insert(0, manifest_id)
        full = next((f for f in candidates if v.matches(f)), None)
        if full is not None:
            v.job_id, v.id_bits = full, ID_BITS
    marks = [m for m in (v, a) if m is not None and m.found]
    if manifest_id is not None and any(not m.matches(manifest_id) for m in marks):
        report.notes.append(f"the marks' job id ({', '.join(sorted({m.job_text for m in marks}))}) differs from the "
                            f"manifest's ({c.job_id})")


def _job_number(text: str | None) -> int | None:
    """The number of a ``tt-xxxxxx`` job id (None when absent or malformed)."""
    try:
        return int(text[3:], 16) if text and text.startswith("tt-") else None
    except ValueError:
        return None
