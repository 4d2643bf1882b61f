"""Recognize a source's phones in a child process: ``python -m twintake._phones_child FILE``.

``python -m twintake._phones_child --backend NAME FILE`` uses another registered recognizer
(registered at import of :mod:`twintake.speech.phones`: a backend registered at run time in the
parent process is unknown to the child).

Used by :mod:`twintake.prepare` to run PocketSphinx (which holds the GIL) beside face tracking.
A plain interpreter started with ``-m`` imports only this module's few dependencies (about
0.1 s) and never re-runs the caller's ``__main__`` script, unlike ``multiprocessing``'s spawn
start method. Prints the phones as JSON ``[[symbol, start_s, end_s], ...]`` on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .errors import MediaError
from .types import Phone


def recognize_source_phones(path: str | Path, backend: str = "pocketsphinx") -> list[Phone]:
    """Phones of a file's audio track (empty if it has none, is silent or under 0.1 s).

    Args:
        path: any audio or video file FFmpeg can read.
        backend: name of a registered phone recognizer.
    Returns:
        phones covering the audio (see :func:`twintake.speech.phones.recognize_phones`).
    Raises:
        SpeechError: decoder failure.
        BackendError: unknown backend.
    """
    from .media import load_audio
    from .speech.analysis import is_silent
    from .speech.phones import recognize_phones

    try:
        samples = load_audio(Path(path), 16000)
    except MediaError:
        return []
    if len(samples) < 1600 or is_silent(samples, 16000):
        return []
    return recognize_phones(samples, 16000, backend=backend)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    backend = "pocketsphinx"
    if len(args) == 3 and args[0] == "--backend":
        backend, args = args[1], args[2:]
    if len(args) != 1:
        print("usage: python -m twintake._phones_child [--backend NAME] FILE", file=sys.stderr)
        return 2
    phones = recognize_source_phones(args[0], backend)
    json.dump([[p.symbol, p.start_s, p.end_s] for p in phones], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
