"""Sources that never talk: a video whose mouth barely moves gives a mouth bank with no open
mouths and an opening range (the 2nd-98th percentile of its frames,
:attr:`twintake.motion.shapes.MouthModel.open_range`) too small to show speech.

Measured with the face mesh on the shared videos (inner-lip opening, inter-ocular units): the 12
talking videos span 0.165-0.377 (median 0.21; the smallest real one 0.179, an AI avatar 0.165),
the silent ones 0.022 (musetalk_sun, a smiling woman who never speaks) and 0.030
(musetalk_yongen, an anime man). :data:`MIN_SPEAKING_SPAN_IOD` = 0.08 lies below half of the
smallest talking span and above 2.5 x the largest silent one.

The opposite case: liveportrait_d18 (expressions without speech) spans 0.81 - it is closed in
most frames and shouts in a third of them (0.56-0.81), so loud syllables are driven to a shout.
:data:`MAX_SPEAKING_SPAN_IOD` = 0.5 (1.3 x the widest talking span) marks such a source; the job
says so (:func:`wide_source_note`), the render is unchanged.
"""

from __future__ import annotations

__all__ = ["MIN_SPEAKING_SPAN_IOD", "MAX_SPEAKING_SPAN_IOD", "SPEAKING_SPAN_IOD", "opening_span", "is_silent_source",
           "silent_source_note", "wide_source_note"]

#: Opening span (inter-ocular units) under which a source is treated as one that never talks.
MIN_SPEAKING_SPAN_IOD = 0.08
#: Opening span (inter-ocular units) over which a source's widest mouths are not speech (shouts,
#: yawns): the widest talking video spans 0.377.
MAX_SPEAKING_SPAN_IOD = 0.5
#: A generic speaking span (inter-ocular units): the median over the 12 shared talking videos.
SPEAKING_SPAN_IOD = 0.21


def opening_span(open_range: tuple[float, float]) -> float:
    """Width of a person's opening range, inter-ocular units.

    Args:
        open_range: (closed, widest) inner-lip opening, inter-ocular units
            (:attr:`~twintake.motion.shapes.MouthModel.open_range`).
    Returns:
        ``widest - closed`` (float, >= 0).
    """
    lo, hi = (float(v) for v in open_range)
    return max(hi - lo, 0.0)


def is_silent_source(open_range: tuple[float, float]) -> bool:
    """True when the source's opening span is under :data:`MIN_SPEAKING_SPAN_IOD`: its own
    mouths cannot show speech."""
    return opening_span(open_range) < MIN_SPEAKING_SPAN_IOD


def silent_source_note(open_range: tuple[float, float], opened: bool = False) -> str | None:
    """A note for the user when the source never opens its mouth, else None.

    Args:
        open_range: the source's (closed, widest) opening, inter-ocular units.
        opened: the render opened the mouth beyond the source's own range (a generic interior
            was painted) instead of keeping to it.
    Returns:
        The note (one sentence) or None for a talking source.
    """
    if not is_silent_source(open_range):
        return None
    found = (f"the source video never opens its mouth (opening range {opening_span(open_range):.2f} of the eye "
             f"distance; people talking open {SPEAKING_SPAN_IOD:.2f})")
    if opened:
        return (f"{found}: the mouth was opened further than the video ever shows it, the inside of the mouth "
                "painted in; for the person's own mouth use a video of them talking")
    return f"{found}: the lips can only move a little; use a video of the person talking, or a photo"


def wide_source_note(open_range: tuple[float, float]) -> str | None:
    """A note for the user when the source's mouth opens far wider than speech (its widest
    frames are shouts or yawns: span over :data:`MAX_SPEAKING_SPAN_IOD`), else None.

    Args:
        open_range: the source's (closed, widest) opening, inter-ocular units.
    """
    span = opening_span(open_range)
    if span <= MAX_SPEAKING_SPAN_IOD:
        return None
    return (f"the source video opens its mouth far wider than speech does (opening range {span:.2f} of the eye "
            f"distance; people talking open {SPEAKING_SPAN_IOD:.2f}): loud syllables may look like shouting; "
            "use a video of the person talking")
