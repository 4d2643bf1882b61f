"""What the page says about a job, next to its Generate and Cancel buttons: the place in the
queue with the expected wait, the stage with a progress bar, and at the end the queue time apart
from the run time. Also the built-in voices' labels and the web limits' checks."""

from __future__ import annotations

import html

from .session import _duration

__all__ = ["job_status", "done_status", "error_status", "voice_label", "voice_choices", "ordinal", "CHARS_PER_S"]

#: Characters of text per second of speech, to judge a text's length before it is spoken.
CHARS_PER_S = 15.0

_LANGUAGES = {"a": "American English", "b": "British English", "j": "Japanese", "z": "Mandarin",
              "e": "Spanish", "f": "French", "h": "Hindi", "i": "Italian", "p": "Portuguese"}
_GENDERS = {"f": "female", "m": "male"}
#: Measured English intelligibility (docs/speech.md): the voices that are hard to follow.
_NOTES = {"jf_gongitsune": "clearest", "jf_alpha": "hard to understand in English"}


def voice_label(name: str) -> str:
    """``"Gongitsune - Japanese-trained voice, female, speaks English (clearest)"`` from a Kokoro
    voice name (first letter = language it was trained on, second = gender)."""
    lang = _LANGUAGES.get(name[:1], "unknown-language")
    gender = _GENDERS.get(name[1:2], "unknown gender")
    short = name.split("_", 1)[-1].capitalize()
    trained = "" if lang.endswith("English") else ", speaks English"
    note = f" ({_NOTES[name]})" if name in _NOTES else ""
    return f"{short} - {lang}-trained voice, {gender}{trained}{note}"


def voice_choices(names) -> list[tuple[str, str]]:
    """``(label, name)`` pairs for the page's menu."""
    return [(voice_label(n), n) for n in names]


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _bar(fraction: float | None) -> str:
    if fraction is None:  # waiting: an indeterminate bar
        return '<progress id="job-progress" max="1"></progress>'
    pct = max(0.0, min(1.0, fraction))
    return (f'<progress id="job-progress" max="1" value="{pct:.3f}"></progress>'
            f'<span class="pct">{pct * 100:.0f} %</span>')


def job_status(job, jobs, now: float) -> str:
    """HTML of a queued, running or finished :class:`~twintake.web.jobs.WebJob` (``now`` is
    ``time.monotonic()``)."""
    if job.state == "queued":
        pos = jobs.position(job)
        wait = jobs.expected_wait_s(job)
        where = "next in line" if pos == 1 else f"{ordinal(pos)} in line"
        return (f'<div class="st queued"><b>Waiting in the queue: {where}</b> (<span id="queue-pos">{pos}</span>)'
                f' · about {_duration(wait)} before it starts · waited {_duration(job.queue_s(now))}'
                f'{_bar(None)}</div>')
    if job.state == "running":
        t = job.tracker
        if job.cancel.is_set():
            return f'<div class="st running"><b>Cancelling…</b>{_bar(t.fraction)}</div>'
        what = "an avatar" if job.kind == "avatar" else "the video"
        return (f'<div class="st running"><b>Making {what}: <span id="job-stage">{html.escape(t.label)}</span>'
                f'</b> · running {_duration(job.run_s(now))} (waited {_duration(job.queue_s(now))} in the queue)'
                f'{_bar(t.fraction)}</div>')
    if job.state == "cancelled":
        who = "by the operator" if job.cancel_by == "operator" else ""
        what = "no avatar was made" if job.kind == "avatar" else "no video was written"
        return f'<div class="st">Cancelled {who}: {what}.</div>'.replace(" :", ":")
    if job.state == "failed":
        return error_status(job.error or "the job failed")
    return ""


def done_status(job, result) -> str:
    """The finished job's summary: queue time and run time apart, then what was made."""
    r = result.render
    lines = [f"<b>Done</b>: made in {_duration(job.run_s())} after {_duration(job.queue_s())} in the queue: "
             f"{r.duration_s:.2f} s of video, {r.frames} frames at {r.fps:g} fps, {r.width}x{r.height}.",
             "<b id=\"ai-label\">AI-generated</b> - this video is labelled as such (C2PA manifest and invisible "
             "marks; check it with <code>twintake verify</code>)."]
    if r.frames_without_face:
        lines.append(f"No face in {len(r.frames_without_face)} stretch(es); those frames are unchanged.")
    lines += [f"Note: {html.escape(str(n))}" for n in result.notes]
    return '<div class="st done">' + "<br>".join(lines) + "</div>"


def error_status(message: str) -> str:
    return f'<div class="st"><span class="error">Error: {html.escape(str(message))}</span></div>'
